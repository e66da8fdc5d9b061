//! `sis plan`.

use serde::Serialize;
use sis_types::{Observed, Plan, Summary};

use crate::cli::{Output, PlanArgs};
use crate::exit::{self, CliError, CliResult};
use crate::output::print_json;
use crate::saved_plan::SavedPlan;
use crate::spec::load_spec;

/// A plan as printed with `--output json`.
#[derive(Serialize)]
pub struct PlanOutput<'a> {
    #[serde(flatten)]
    pub plan: &'a Plan,
    pub summary: Summary,
    /// The plan holds a repair, which only `sis apply --repair` runs.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub repair: bool,
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
    let targets = crate::spec::targets(&spec, &args.targets)?;
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
    let plan = match &targets {
        Some(t) => t.restrict(plan),
        None => plan,
    };
    if let Some(out) = &args.out {
        SavedPlan::new(&spec, &args.file, &observed, &args.targets, &plan)?.write(out)?;
    }
    match args.output {
        Output::Text => {
            print!("{}", sis_planner::render_text(&plan));
            if let Some(out) = &args.out {
                println!(
                    "\nSaved plan: {}. `sis apply {}` carries out exactly this plan, or refuses \
                     when the hosts or the spec changed since.",
                    out.display(),
                    out.display()
                );
            }
        }
        Output::Json => print_json(&PlanOutput {
            plan: &plan,
            summary: plan.summary(),
            repair: plan.needs_repair(),
        }),
    }
    if args.detailed_exitcode && !plan.is_empty() {
        return Err(CliError::code(exit::CHANGES));
    }
    Ok(())
}
