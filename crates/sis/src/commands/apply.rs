//! `sis apply`: lock, converge, unlock, report.

use serde_json::json;
use sis_executor::{
    converge, ConvergeOptions, ConvergeReport, Ending, Event, ExecOptions, Outcome, Progress,
};
use sis_types::Mark;

use crate::cli::{ApplyArgs, Output};
use crate::exit::{self, CliError, CliResult};
use crate::output::print_json;
use crate::progress::Reporter;
use crate::signals::interrupt_on_signals;
use crate::spec::load_spec;
use crate::timeline::Timeline;

/// Prints the first pass's plan on stdout (text output), shows progress, keeps the timeline.
struct ApplyProgress {
    reporter: Reporter,
    timeline: Timeline,
    print_plan: bool,
}

impl Progress for ApplyProgress {
    fn event(&self, event: &Event<'_>) {
        if let Event::Planned { pass: 1, plan } = event {
            if self.print_plan {
                print!("{}", sis_planner::render_text(plan));
            }
        }
        self.reporter.event(event);
        self.timeline.event(event);
    }
}

pub async fn apply(args: ApplyArgs) -> CliResult {
    let spec = load_spec(&args.file)?;
    let hosts = crate::hosts::connect(&spec, &args.file)?;
    let cancel = interrupt_on_signals();
    let lock = crate::apply_lock::take(&spec, &hosts, "apply").await?;
    let progress = ApplyProgress {
        reporter: Reporter::new(args.quiet),
        timeline: Timeline::new(),
        print_plan: args.output == Output::Text && !args.quiet,
    };
    let result = converge(&spec, &hosts, &options(&args), &progress, &cancel).await;
    let unlocked = crate::apply_lock::release(&hosts, &lock).await;
    let report = result.map_err(|e| {
        let mut text = String::from("cannot plan (nothing was changed by this pass):");
        for p in &e.problems {
            text.push_str(&format!("\n  {p}"));
        }
        text
    })?;
    if let Err(e) = unlocked {
        eprintln!(
            "warning: could not remove the apply lock: {e}; run `sis unlock {}`",
            args.file.display()
        );
    }
    let timeline = progress.timeline.report();
    if let Some(path) = &args.report {
        let text = serde_json::to_string_pretty(&timeline).expect("the report serializes");
        std::fs::write(path, text + "\n")
            .map_err(|e| format!("cannot write the report {}: {e}", path.display()))?;
    }
    match args.output {
        Output::Json => {
            let mut doc = report_json(&report);
            doc["timeline"] = serde_json::to_value(&timeline).expect("the report serializes");
            print_json(&doc)
        }
        Output::Text => {
            print_summary(&report, &args);
            if !args.quiet {
                print!("{}", timeline.render());
            }
        }
    }
    // The summary above has said how it ended; only the exit code is left to give.
    match report.ending {
        Ending::Converged => Ok(()),
        Ending::Interrupted => Err(CliError::code(exit::INTERRUPTED)),
        Ending::Failed | Ending::TimedOut => Err(CliError::code(exit::ERROR)),
    }
}

/// The arguments as the executor's options.
fn options(args: &ApplyArgs) -> ConvergeOptions {
    ConvergeOptions {
        timeout: args.timeout,
        exec: ExecOptions {
            per_host: args.per_host,
            joins: args.joins,
            ..ExecOptions::default()
        },
        plan: sis_planner::PlanOptions {
            ignore_capacity: args.ignore_capacity,
        },
    }
}

/// Actions done over all passes, by mark.
fn done_counts(report: &ConvergeReport) -> (usize, usize, usize) {
    let mut counts = (0, 0, 0);
    for pass in &report.passes {
        for (a, o, _) in &pass.outcomes {
            if *o == Outcome::Done {
                match a.action.mark() {
                    Mark::Add => counts.0 += 1,
                    Mark::Change => counts.1 += 1,
                    Mark::Remove => counts.2 += 1,
                }
            }
        }
    }
    counts
}

fn print_summary(report: &ConvergeReport, args: &ApplyArgs) {
    let (add, change, remove) = done_counts(report);
    let passes = report.passes.len();
    let secs = report.elapsed.as_secs_f64();
    let done = format!("{add} added, {change} changed, {remove} removed");
    match report.ending {
        Ending::Converged if passes == 0 => {}
        Ending::Converged => println!(
            "Apply complete in {secs:.1} s: {done} ({passes} pass{}).",
            if passes == 1 { "" } else { "es" }
        ),
        Ending::Interrupted => println!(
            "Interrupted after {secs:.1} s: {done}. Running actions finished; nothing is half-made. \
             Run `sis apply {}` again to finish.",
            args.file.display()
        ),
        Ending::TimedOut => println!(
            "Not converged after {secs:.1} s (--timeout {} s): {done}. Run `sis plan {}` to see what is left.",
            args.timeout.as_secs(),
            args.file.display()
        ),
        Ending::Failed => println!("Apply failed after {secs:.1} s: {done}."),
    }
    if !report.running_at_timeout.is_empty() {
        eprintln!(
            "error: --timeout {} s passed during a pass; no action was started after it, and \
             these were still running (they were let finish): {}",
            args.timeout.as_secs(),
            report.running_at_timeout.join("; ")
        );
    }
    if let Some(last) = report.passes.last() {
        for (a, o) in last.failures() {
            if let Outcome::Failed { error, .. } = o {
                eprintln!("error: {}: {error}", a.action.describe());
            }
        }
    }
}

fn outcome_json(o: &Outcome) -> serde_json::Value {
    match o {
        Outcome::Done => json!({"outcome": "done"}),
        Outcome::Pending(why) => json!({"outcome": "pending", "detail": why}),
        Outcome::Failed { error, transient } => {
            json!({"outcome": "failed", "error": error, "transient": transient})
        }
        Outcome::Skipped(why) => json!({"outcome": "skipped", "detail": why}),
    }
}

fn report_json(report: &ConvergeReport) -> serde_json::Value {
    let (add, change, remove) = done_counts(report);
    let passes: Vec<_> = report
        .passes
        .iter()
        .map(|p| {
            let actions: Vec<_> = p
                .outcomes
                .iter()
                .map(|(a, o, d)| {
                    let mut v = serde_json::to_value(a).expect("actions serialize");
                    let obj = v.as_object_mut().expect("an action is an object");
                    if let serde_json::Value::Object(extra) = outcome_json(o) {
                        obj.extend(extra);
                    }
                    obj.insert("elapsed_seconds".into(), json!(d.as_secs_f64()));
                    v
                })
                .collect();
            json!({ "actions": actions })
        })
        .collect();
    json!({
        "cluster": report.first_plan.cluster,
        "ending": format!("{:?}", report.ending).to_lowercase(),
        "elapsed_seconds": report.elapsed.as_secs_f64(),
        "done": {"add": add, "change": change, "remove": remove},
        "plan": report.first_plan,
        "passes": passes,
        "running_at_timeout": report.running_at_timeout,
    })
}
