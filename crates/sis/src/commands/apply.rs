//! `sis apply`: lock, converge, unlock, report. A saved plan given instead of a spec is
//! carried out once by `apply_saved`.

use std::path::Path;

use serde_json::json;
use sis_executor::{
    converge_targeted, ConvergeOptions, ConvergeReport, Ending, Event, ExecOptions, Outcome,
    Progress,
};
use sis_types::{Mark, Summary};

use crate::cli::{ApplyArgs, RunOutput};
use crate::exit::{self, CliError, CliResult};
use crate::jsonl::Jsonl;
use crate::output::print_json;
use crate::progress::Reporter;
use crate::saved_plan::SavedPlan;
use crate::signals::interrupt_on_signals;
use crate::spec::load_spec;
use crate::timeline::Timeline;

/// Prints the first pass's plan on stdout (text output), shows progress, keeps the timeline,
/// and writes events as lines (`--output jsonl`).
pub(super) struct ApplyProgress {
    reporter: Reporter,
    pub(super) timeline: Timeline,
    print_plan: bool,
    pub(super) jsonl: Option<Jsonl>,
}

impl ApplyProgress {
    pub(super) fn new(args: &ApplyArgs, cluster: &str, saved_plan: bool) -> ApplyProgress {
        ApplyProgress {
            reporter: Reporter::new(args.quiet),
            timeline: Timeline::new(),
            print_plan: args.output == RunOutput::Text && !args.quiet,
            jsonl: (args.output == RunOutput::Jsonl)
                .then(|| Jsonl::start("apply", cluster, &args.file, saved_plan)),
        }
    }

    /// An error that ends the run: the `end` event says it too.
    pub(super) fn error(&self, error: impl Into<String>, exit_code: u8) -> CliError {
        let error = error.into();
        if let Some(j) = &self.jsonl {
            let ending = if exit_code == exit::STALE {
                "stale"
            } else {
                "error"
            };
            j.end(ending, exit_code, json!({ "error": error }));
        }
        CliError {
            error: Some(error),
            exit_code,
        }
    }
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
        if let Some(j) = &self.jsonl {
            j.event(event);
        }
    }
}

pub async fn apply(args: ApplyArgs) -> CliResult {
    if let Some(saved) = SavedPlan::read(&args.file)? {
        return super::apply_saved::apply_saved(args, saved).await;
    }
    let spec = load_spec(&args.file)?;
    let targets = crate::spec::targets(&spec, &args.targets)?;
    let hosts = crate::hosts::connect(&spec, &args.file)?;
    let cancel = interrupt_on_signals();
    let progress = ApplyProgress::new(&args, &spec.name, false);
    let lock = crate::apply_lock::take(&spec, &hosts, "apply")
        .await
        .map_err(|e| progress.error(e, exit::ERROR))?;
    let result = converge_targeted(
        &spec,
        &hosts,
        &options(&args),
        &progress,
        &cancel,
        targets.as_ref(),
    )
    .await;
    let unlocked = crate::apply_lock::release(&hosts, &lock).await;
    let report = result.map_err(|e| {
        let mut text = String::from("cannot plan (nothing was changed by this pass):");
        for p in &e.problems {
            text.push_str(&format!("\n  {p}"));
        }
        progress.error(text, exit::ERROR)
    })?;
    if let Err(e) = unlocked {
        eprintln!(
            "warning: could not remove the apply lock: {e}; run `sis unlock {}`",
            args.file.display()
        );
    }
    finish(&args, &args.file, &progress, &report, None)
}

/// Reports a finished apply (report file, summary or JSON or the `end` event) and gives the
/// exit code. `left` is for a saved plan: what a fresh plan still holds (`None`: nothing).
pub(super) fn finish(
    args: &ApplyArgs,
    spec_file: &Path,
    progress: &ApplyProgress,
    report: &ConvergeReport,
    left: Option<Option<Summary>>,
) -> CliResult {
    let timeline = progress.timeline.report();
    if let Some(path) = &args.report {
        let ending = format!("{:?}", report.ending).to_lowercase();
        let records = progress.timeline.run_records(
            &spec_file.display().to_string(),
            &ending,
            report.passes.len(),
        );
        crate::runlog::append_all(path, &report.first_plan.cluster, records)
            .map_err(|e| format!("cannot write the report {e}"))?;
    }
    let more = left.flatten();
    let exit_code = match report.ending {
        Ending::Converged => exit::OK,
        Ending::Interrupted => exit::INTERRUPTED,
        Ending::Failed
        | Ending::TimedOut
        | Ending::NeedsRepair
        | Ending::NeedsReplaceAll
        | Ending::NoHeadroom => exit::ERROR,
    };
    match args.output {
        RunOutput::Json => {
            let mut doc = report_json(report);
            doc["timeline"] = serde_json::to_value(&timeline).expect("the report serializes");
            if left.is_some() {
                doc["saved_plan"] = json!(true);
                doc["more_passes_needed"] = json!(more.is_some());
            }
            print_json(&doc)
        }
        RunOutput::Jsonl => {
            let (add, change, remove) = done_counts(report);
            let mut ending = format!("{:?}", report.ending).to_lowercase();
            if report.ending == Ending::Converged && more.is_some() {
                ending = "done".into();
            }
            let mut extra = json!({
                "done": {"add": add, "change": change, "remove": remove},
                "passes": report.passes.len(),
            });
            if left.is_some() {
                extra["more_passes_needed"] = json!(more.is_some());
            }
            if let Some(j) = &progress.jsonl {
                j.end(&ending, exit_code, extra);
            }
        }
        RunOutput::Text => {
            print_summary(report, spec_file, args.timeout);
            if let Some(left) = left {
                print_left(left, spec_file);
            }
            if !args.quiet {
                print!("{}", timeline.render());
            }
        }
    }
    // The summary above has said how it ended; only the exit code is left to give.
    match exit_code {
        exit::OK => Ok(()),
        code => Err(CliError::code(code)),
    }
}

/// After a saved plan: whether the hosts match the spec now.
fn print_left(left: Option<Summary>, spec_file: &Path) {
    match left {
        None => println!("The hosts match the spec now."),
        Some(s) => println!(
            "More passes are needed: a fresh plan has {} to add, {} to change, {} to remove. \
             Run `sis apply {}` to converge.",
            s.add,
            s.change,
            s.remove,
            spec_file.display()
        ),
    }
}

/// The arguments as the executor's options.
pub(super) fn options(args: &ApplyArgs) -> ConvergeOptions {
    ConvergeOptions {
        timeout: args.timeout,
        exec: ExecOptions {
            per_host: args.per_host,
            joins: args.joins,
            pacing: (!args.no_pacing).then(|| sis_executor::pacing::PaceConfig {
                max: args.per_host,
                rest_limit: args.rest_limit / 100.0,
                ..Default::default()
            }),
            ..ExecOptions::default()
        },
        repair: args.repair,
        allow_replace_all: args.allow_replace_all,
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
                    Mark::Change | Mark::Repair => counts.1 += 1,
                    Mark::Remove => counts.2 += 1,
                }
            }
        }
    }
    counts
}

fn print_summary(report: &ConvergeReport, spec_file: &Path, timeout: std::time::Duration) {
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
            spec_file.display()
        ),
        Ending::TimedOut => println!(
            "Not converged after {secs:.1} s (--timeout {} s): {done}. Run `sis plan {}` to see what is left.",
            timeout.as_secs(),
            spec_file.display()
        ),
        Ending::Failed => println!("Apply failed after {secs:.1} s: {done}."),
        Ending::NoHeadroom => eprintln!(
            "error: stopped creating nodes after {secs:.1} s ({done}): {}",
            report.no_headroom.as_deref().unwrap_or("no headroom left")
        ),
        Ending::NeedsRepair => eprintln!(
            "error: stopped before {} changed anything: swarm2 lost its quorum and the plan repairs it \
             (swarm init --force-new-cluster). `sis plan {file}` shows the repair; \
             `sis apply --repair {file}` runs it.",
            if passes == 0 { "apply" } else { "the last pass" },
            file = spec_file.display()
        ),
        Ending::NeedsReplaceAll => eprintln!(
            "error: stopped before {} changed anything: the plan replaces (removes and creates \
             again) every swarm2 manager or more than half of the nodes, which loses swarm2's \
             state. `sis plan {file}` shows it; `sis apply --allow-replace-all {file}` runs it.",
            if passes == 0 { "apply" } else { "the last pass" },
            file = spec_file.display()
        ),
    }
    if !report.running_at_timeout.is_empty() {
        eprintln!(
            "error: --timeout {} s passed during a pass; no action was started after it, and \
             these were still running (they were let finish): {}",
            timeout.as_secs(),
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
                    if let serde_json::Value::Object(extra) = crate::jsonl::outcome_fields(o) {
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
