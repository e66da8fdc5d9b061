//! `sis destroy`: remove everything that carries the cluster's label, and with `--swarm1`
//! swarm1 when sis made it for the cluster.

use sis_executor::{execute_until, observe, Event, ExecOptions, Progress};
use sis_planner::{plan_destroy, DestroyOptions};
use sis_types::{labels, Action, Plan};

use crate::cli::{DestroyArgs, RunOutput};
use crate::exit::{self, CliError, CliResult};
use crate::jsonl::Jsonl;
use crate::output::print_json;
use crate::progress::Reporter;
use crate::signals::interrupt_on_signals;
use crate::spec::load_spec;

pub async fn destroy(args: DestroyArgs) -> CliResult {
    let spec = load_spec(&args.file)?;
    let hosts = crate::hosts::connect(&spec, &args.file)?;
    let cancel = interrupt_on_signals();
    let jsonl = (args.output == RunOutput::Jsonl)
        .then(|| Jsonl::start("destroy", &spec.name, &args.file, false));
    let lock = match crate::apply_lock::take(&spec, &hosts, "destroy").await {
        Ok(lock) => lock,
        Err(e) => {
            if let Some(j) = &jsonl {
                j.end("error", exit::ERROR, serde_json::json!({ "error": e }));
            }
            return Err(CliError::new(e));
        }
    };
    let reporter = Events {
        reporter: Reporter::new(args.quiet),
        jsonl: jsonl.as_ref(),
    };
    reporter.event(&Event::Observing { pass: 1 });
    let observed = observe(&spec, &hosts).await;
    reporter.event(&Event::Observed {
        pass: 1,
        observed: &observed,
    });
    let options = DestroyOptions {
        swarm1: args.swarm1,
    };
    let plan = plan_destroy(&spec, &observed, options);
    if args.output == RunOutput::Text && !args.quiet {
        print!("{}", sis_planner::render_text(&plan));
    }
    reporter.event(&Event::Planned {
        pass: 1,
        plan: &plan,
    });
    let deadline = tokio::time::Instant::now() + args.timeout;
    let (report, timed_out) = execute_until(
        &plan,
        &spec.name,
        &spec.network.name,
        &hosts,
        &ExecOptions::default(),
        &reporter,
        &cancel,
        deadline,
    )
    .await;

    // The fault markers of `sis chaos` go last, once the nodes they describe are gone: while
    // a node is left, its marker is what `sis chaos heal` needs to unpause or start it.
    let mut markers_removed = 0;
    let mut marker_errors = Vec::new();
    if report.failures().count() == 0 && timed_out.is_none() {
        (markers_removed, marker_errors) = sis_executor::chaos::remove_markers(&spec, &hosts).await;
        if markers_removed > 0 && args.output == RunOutput::Text && !args.quiet {
            eprintln!("removed {markers_removed} fault marker(s) of sis chaos");
        }
    }

    // Look again: what still carries the label is what the user must know about. Swarm
    // networks disappear from a host a moment after their removal, so look a few times.
    let mut left = leftovers(&spec, &plan, &observe(&spec, &hosts).await);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !left.is_empty() && std::time::Instant::now() < deadline && report.failures().count() == 0
    {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        left = leftovers(&spec, &plan, &observe(&spec, &hosts).await);
    }
    left.extend(marker_errors);
    if let Err(e) = crate::apply_lock::release(&hosts, &lock).await {
        left.push(format!("the apply lock ({e})"));
    }
    let mut failures: Vec<String> = report
        .failures()
        .map(|(a, o)| format!("{}: {o:?}", a.action.describe()))
        .collect();
    if let Some(running) = &timed_out {
        failures.push(format!(
            "--timeout {} s passed; no action was started after it, and these were still \
             running (they were let finish): {}",
            args.timeout.as_secs(),
            running.join("; ")
        ));
    }
    let removed = report
        .outcomes
        .iter()
        .filter(|(_, o, _)| *o == sis_executor::Outcome::Done)
        .count();
    let ok = left.is_empty() && failures.is_empty();
    match args.output {
        RunOutput::Jsonl => {
            if let Some(j) = &jsonl {
                let ending = if ok { "converged" } else { "failed" };
                let code = if ok { exit::OK } else { exit::ERROR };
                j.end(
                    ending,
                    code,
                    serde_json::json!({
                        "done": {"add": 0, "change": 0, "remove": removed},
                        "passes": 1,
                        "left": left,
                        "failures": failures,
                    }),
                );
            }
        }
        RunOutput::Json => print_json(&serde_json::json!({
            "cluster": spec.name,
            "removed": removed,
            "fault_markers_removed": markers_removed,
            "failures": failures,
            "left": left,
            "notes": plan.notes,
        })),
        RunOutput::Text => {
            for f in &failures {
                eprintln!("error: {f}");
            }
            if left.is_empty() {
                println!(
                    "Destroy complete: nothing of cluster {} is left.",
                    spec.name
                );
            } else {
                println!("Destroy incomplete; still there:");
                for l in &left {
                    println!("  {l}");
                }
            }
        }
    }
    // What failed and what is left are printed above; only the exit code is left to give.
    if ok {
        Ok(())
    } else {
        Err(CliError::code(exit::ERROR))
    }
}

/// Progress on stderr, and events on stdout with `--output jsonl`.
struct Events<'a> {
    reporter: Reporter,
    jsonl: Option<&'a Jsonl>,
}

impl Progress for Events<'_> {
    fn event(&self, event: &Event<'_>) {
        self.reporter.event(event);
        if let Some(j) = self.jsonl {
            j.event(event);
        }
    }
}

/// What of the cluster is still on the hosts (the lock excepted, which destroy holds), and
/// the hosts the plan made leave swarm1 that are still in it.
fn leftovers(spec: &sis_spec::Spec, plan: &Plan, after: &sis_types::Observed) -> Vec<String> {
    let mut left = Vec::new();
    for a in plan.actions() {
        if let Action::LeaveSwarm1 { host, .. } = &a.action {
            let facts = after.hosts.get(host).and_then(|o| o.facts());
            if facts.is_some_and(|f| f.swarm1.is_active()) {
                left.push(format!("host {host} in swarm1"));
            }
        }
    }
    for (host, o) in &after.hosts {
        match o.facts() {
            Some(f) => {
                for c in &f.containers {
                    if c.label(labels::ROLE) != Some(labels::ROLE_LOCK) {
                        left.push(format!("container {} on host {host}", c.name));
                    }
                }
                for n in &f.networks {
                    if n.labels.get(labels::CLUSTER) == Some(&spec.name) {
                        left.push(format!("network {} on host {host}", n.name));
                    }
                }
            }
            None => left.push(format!("host {host} could not be checked (unreachable)")),
        }
    }
    left
}
