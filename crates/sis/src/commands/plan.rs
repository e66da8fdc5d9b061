//! `sis plan`.

use serde::Serialize;
use sis_types::{Observed, Plan, Summary};

use crate::cli::{Output, PlanArgs};
use crate::exit::{self, CliError, CliResult};
use crate::output::print_json;
use crate::spec::load_spec;

/// A plan as printed with `--output json`.
#[derive(Serialize)]
pub struct PlanOutput<'a> {
    #[serde(flatten)]
    pub plan: &'a Plan,
    pub summary: Summary,
}

pub async fn plan(args: PlanArgs) -> CliResult {
    let spec = load_spec(&args.file)?;
    let observed = match &args.observed {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read observed state {}: {e}", path.display()))?;
            let observed: Observed = serde_json::from_str(&text).map_err(|e| {
                format!(
                    "{}:{}:{}: not an observed state (write one with `sis status FILE --output json`): {e}",
                    path.display(),
                    e.line(),
                    e.column()
                )
            })?;
            if observed.cluster != spec.name {
                return Err(CliError::new(format!(
                    "{} observes cluster {:?} but the spec is for cluster {:?}",
                    path.display(),
                    observed.cluster,
                    spec.name
                )));
            }
            observed
        }
        None => {
            let hosts = crate::hosts::connect(&spec, &args.file)?;
            sis_executor::observe(&spec, &hosts).await
        }
    };
    let options = sis_planner::PlanOptions {
        ignore_capacity: args.ignore_capacity,
    };
    let plan = sis_planner::plan_with(&spec, &observed, &options).map_err(|e| {
        let mut text = String::from("cannot plan:");
        for p in &e.problems {
            text.push_str(&format!("\n  {p}"));
        }
        text
    })?;
    match args.output {
        Output::Text => print!("{}", sis_planner::render_text(&plan)),
        Output::Json => print_json(&PlanOutput {
            plan: &plan,
            summary: plan.summary(),
        }),
    }
    if args.detailed_exitcode && !plan.is_empty() {
        return Err(CliError::code(exit::CHANGES));
    }
    Ok(())
}
