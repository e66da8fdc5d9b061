//! `sis chaos`: inject a fault, list the active ones, heal them, run a scenario. Text for
//! people, or with `--output jsonl` one event per line (docs/events.schema.json).

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sis_engine::DockerHost;
use sis_executor::chaos::{
    self, heal, inject, list, plan_fault, scenario, select, FaultKind, FaultRequest, NetemOptions,
    PlannedFault, Shape,
};
use sis_executor::Hosts;
use sis_spec::Spec;

use crate::cli::{ChaosAction, ChaosArgs, CommonArgs, FaultArgs, StreamOutput};
use crate::exit::{self, CliError, CliResult};
use crate::jsonl::Jsonl;
use crate::spec::load_spec;

pub async fn chaos(args: ChaosArgs) -> CliResult {
    let spec = load_spec(&args.file)?;
    let hosts = crate::hosts::connect(&spec, &args.file)?;
    let say = Say((args.output == StreamOutput::Jsonl).then(|| {
        Jsonl::start_with(
            "chaos",
            &spec.name,
            &args.file,
            json!({ "action": action_name(&args.action) }),
        )
    }));
    let result = act(&spec, &hosts, args.action, &say).await;
    say.end(&result);
    result
}

/// The subcommand's name, for the `start` event.
fn action_name(action: &ChaosAction) -> &'static str {
    match action {
        ChaosAction::Kill(_) => "kill",
        ChaosAction::Stop(_) => "stop",
        ChaosAction::Pause(_) => "pause",
        ChaosAction::Restart(_) => "restart",
        ChaosAction::Partition(_) => "partition",
        ChaosAction::Netem(_) => "netem",
        ChaosAction::Heal => "heal",
        ChaosAction::List => "list",
        ChaosAction::Run(_) => "run",
    }
}

/// Where chaos says what it does: lines of text for people, or events (`--output jsonl`).
struct Say(Option<Jsonl>);

impl Say {
    /// Prints `text` for people, or writes `event` for scripts (nothing when `None`).
    fn say(&self, text: impl std::fmt::Display, event: Option<Value>) {
        match (&self.0, event) {
            (None, _) => print!("{text}"),
            (Some(j), Some(e)) => j.emit(e),
            (Some(_), None) => {}
        }
    }

    /// The `end` event: done, interrupted (130) or failed, with the error.
    fn end(&self, result: &CliResult) {
        let Some(j) = &self.0 else { return };
        match result {
            Ok(()) => j.end("done", exit::OK, json!({})),
            Err(e) if e.exit_code == exit::INTERRUPTED => {
                j.end("interrupted", e.exit_code, json!({}))
            }
            Err(e) => j.end("failed", e.exit_code, json!({ "error": e.to_string() })),
        }
    }
}

/// A planned fault as an event: what it targets, and when `sis chaos run` starts it.
fn planned_event(fault: &PlannedFault, seed: u64, at: Option<(Duration, usize)>) -> Value {
    let targets: Vec<&str> = fault.targets.iter().map(|m| m.name.as_str()).collect();
    let mut e = json!({
        "event": "fault_planned",
        "id": fault.id,
        "kind": fault.kind.as_str(),
        "targets": targets,
        "detail": fault.detail,
        "duration_seconds": fault.duration.map(|d| d.as_secs_f64()),
        "seed": seed,
    });
    if let Some((at, line)) = at {
        e["at_seconds"] = json!(at.as_secs_f64());
        e["line"] = json!(line);
    }
    e
}

async fn act(spec: &Spec, hosts: &Hosts<DockerHost>, action: ChaosAction, say: &Say) -> CliResult {
    let (request, common) = match action {
        ChaosAction::Heal => return heal_all(spec, hosts, say).await,
        ChaosAction::List => return list_faults(spec, hosts, say).await,
        ChaosAction::Run(run) => return run_scenario(spec, hosts, &run, say).await,
        ChaosAction::Kill(f) => (simple(FaultKind::Kill, &f), f.common),
        ChaosAction::Stop(f) => (simple(FaultKind::Stop, &f), f.common),
        ChaosAction::Pause(f) => (simple(FaultKind::Pause, &f), f.common),
        ChaosAction::Restart(f) => (simple(FaultKind::Restart, &f), f.common),
        ChaosAction::Partition(p) => {
            let mut r = simple(FaultKind::Partition, &p.fault);
            r.from = p.from;
            r.shape = p.shape.as_deref().and_then(Shape::parse);
            (r, p.fault.common)
        }
        ChaosAction::Netem(n) => {
            let mut r = simple(FaultKind::Netem, &n.fault);
            r.netem = NetemOptions {
                loss: n.loss,
                rate: n.rate,
                delay: n.delay,
                jitter: n.jitter,
            };
            (r, n.fault.common)
        }
    };
    one_fault(spec, hosts, request, &common, say).await
}

fn simple(kind: FaultKind, f: &FaultArgs) -> FaultRequest {
    FaultRequest {
        kind,
        target: f.target.clone(),
        from: None,
        shape: None,
        netem: NetemOptions::default(),
        duration: f.common.duration,
    }
}

fn seed_or_new(seed: Option<u64>) -> u64 {
    seed.unwrap_or_else(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        u64::from(nanos) ^ u64::from(std::process::id())
    })
}

/// Who injects, for the marker.
fn owner(what: &str) -> String {
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    format!(
        "sis chaos {what} (pid {} on {})",
        std::process::id(),
        host.trim()
    )
}

async fn plan_now(
    spec: &Spec,
    hosts: &Hosts<DockerHost>,
    request: &FaultRequest,
    rng: &mut select::Rng,
) -> Result<PlannedFault, String> {
    let observed = sis_executor::observe(spec, hosts).await;
    let members = select::members(spec, &observed);
    plan_fault(chaos::new_fault_id(), request, &members, &spec.name, rng)
}

async fn one_fault(
    spec: &Spec,
    hosts: &Hosts<DockerHost>,
    request: FaultRequest,
    common: &CommonArgs,
    say: &Say,
) -> CliResult {
    let seed = seed_or_new(common.seed);
    let mut rng = select::Rng::new(seed);
    let fault = plan_now(spec, hosts, &request, &mut rng).await?;
    say.say(
        format!("seed {seed}\n{}", fault.describe()),
        Some(planned_event(&fault, seed, None)),
    );
    if common.plan {
        say.say("(--plan: nothing changed)\n", None);
        return Ok(());
    }
    start(spec, hosts, &fault, common.events.as_deref(), say).await?;
    match fault.duration {
        None => {
            say.say(
                format!(
                    "fault {} is active; `sis chaos FILE heal` removes it (and every other fault)\n",
                    fault.id
                ),
                None,
            );
            Ok(())
        }
        Some(d) => {
            let interrupted = wait_or_signal(d).await;
            end(spec, hosts, &fault.id, common.events.as_deref(), say).await?;
            if interrupted {
                return Err(CliError::code(exit::INTERRUPTED));
            }
            Ok(())
        }
    }
}

/// Injects; on failure heals what was done, so no half-made fault is left behind.
async fn start(
    spec: &Spec,
    hosts: &Hosts<DockerHost>,
    fault: &PlannedFault,
    events: Option<&Path>,
    say: &Say,
) -> Result<(), String> {
    if let Err(e) = inject(spec, hosts, fault, &owner(fault.kind.as_str())).await {
        let report = heal(spec, hosts, Some(&fault.id)).await;
        let undo = if report.errors.is_empty() {
            "what was done is undone".to_string()
        } else {
            format!(
                "undoing failed too ({}); run `sis chaos FILE heal`",
                report.errors.join("; ")
            )
        };
        return Err(format!("fault {} failed: {e}; {undo}", fault.id));
    }
    let targets: Vec<&str> = fault.targets.iter().map(|m| m.name.as_str()).collect();
    let record = json!({"type": "fault_start", "id": fault.id, "kind": fault.kind.as_str(),
                        "targets": targets, "detail": fault.detail});
    say.say(
        format!("fault {} injected\n", fault.id),
        Some(crate::jsonl::record_event(record.clone())),
    );
    if let Some(path) = events {
        crate::runlog::append(path, &spec.name, record)?;
    }
    Ok(())
}

async fn end(
    spec: &Spec,
    hosts: &Hosts<DockerHost>,
    id: &str,
    events: Option<&Path>,
    say: &Say,
) -> Result<(), String> {
    let report = heal(spec, hosts, Some(id)).await;
    if let Some(path) = events {
        crate::runlog::append(path, &spec.name, json!({"type": "fault_end", "id": id}))?;
    }
    if !report.errors.is_empty() {
        return Err(format!(
            "healing fault {id}: {}; run `sis chaos FILE heal`",
            report.errors.join("; ")
        ));
    }
    say.say(
        format!("fault {id} healed\n"),
        Some(json!({"event": "fault_end", "id": id})),
    );
    Ok(())
}

/// Sleeps `d`; true when Ctrl-C, SIGTERM or SIGHUP came first.
async fn wait_or_signal(d: Duration) -> bool {
    let mut stop = crate::signals::interrupt_on_signals();
    tokio::select! {
        _ = tokio::time::sleep(d) => false,
        _ = stop.changed() => true,
    }
}

async fn heal_all(spec: &Spec, hosts: &Hosts<DockerHost>, say: &Say) -> CliResult {
    let r = heal(spec, hosts, None).await;
    let mut text = format!(
        "healed: {} rule(s) and {} qdisc(s) removed, {} unpaused, {} started, {} fault record(s) removed\n",
        r.rules_removed,
        r.qdiscs_removed,
        r.unpaused.len(),
        r.started.len(),
        r.markers_removed
    );
    for n in &r.unpaused {
        text += &format!("  unpaused {n}\n");
    }
    for n in &r.started {
        text += &format!("  started {n}\n");
    }
    say.say(
        text,
        Some(json!({
            "event": "healed",
            "rules_removed": r.rules_removed,
            "qdiscs_removed": r.qdiscs_removed,
            "unpaused": r.unpaused,
            "started": r.started,
            "markers_removed": r.markers_removed,
            "errors": r.errors,
        })),
    );
    if r.errors.is_empty() {
        Ok(())
    } else {
        Err(CliError::new(format!(
            "not everything healed (the records stay; run heal again):\n  {}",
            r.errors.join("\n  ")
        )))
    }
}

async fn list_faults(spec: &Spec, hosts: &Hosts<DockerHost>, say: &Say) -> CliResult {
    let (records, errors) = list(spec, hosts).await;
    if records.is_empty() {
        say.say(format!("no active faults in cluster {}\n", spec.name), None);
    }
    let now = chaos::now_secs() as i64;
    for r in &records {
        let age = if r.started > 0 {
            format!("since {} s", now - r.started)
        } else {
            "unrecorded".to_string()
        };
        let until = match r.until {
            Some(u) if u >= now => format!(", ends in {} s", u - now),
            Some(u) => format!(", overdue by {} s (its run is gone: heal it)", now - u),
            None => String::new(),
        };
        let mut text = format!("{} {}: {} ({age}{until})\n", r.id, r.kind, r.detail);
        if !r.targets.is_empty() {
            text += &format!("  targets: {}\n", r.targets.join(" "));
        }
        for (node, n) in &r.rules {
            text += &format!("  {n} rule(s) in {node}\n");
        }
        say.say(
            text,
            Some(json!({
                "event": "fault",
                "id": r.id,
                "kind": r.kind,
                "detail": r.detail,
                "targets": r.targets,
                "started": r.started,
                "until": r.until,
                "rules": r.rules,
            })),
        );
    }
    for e in &errors {
        eprintln!("warning: {e}");
        say.say("", Some(json!({"event": "warning", "message": e})));
    }
    Ok(())
}

async fn run_scenario(
    spec: &Spec,
    hosts: &Hosts<DockerHost>,
    run: &crate::cli::RunArgs,
    say: &Say,
) -> CliResult {
    let text = std::fs::read_to_string(&run.scenario)
        .map_err(|e| format!("{}: {e}", run.scenario.display()))?;
    let file = run.scenario.display().to_string();
    let sc = scenario::parse(&text, &file).map_err(|problems| {
        format!(
            "{file} is not a valid scenario ({} problem{}):\n  {}",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" },
            problems.join("\n  ")
        )
    })?;
    let seed = seed_or_new(sc.seed);
    say.say(format!("seed {seed}\n"), None);
    let mut rng = select::Rng::new(seed);
    if run.plan {
        for step in &sc.steps {
            let fault = plan_now(spec, hosts, &step.request, &mut rng).await?;
            say.say(
                format!(
                    "at {} s (line {}): {}",
                    step.at.as_secs(),
                    step.line,
                    fault.describe()
                ),
                Some(planned_event(&fault, seed, Some((step.at, step.line)))),
            );
        }
        say.say(
            "(--plan: targets as the cluster is now; nothing changed)\n",
            None,
        );
        return Ok(());
    }
    let begin = Instant::now();
    let mut stop = crate::signals::interrupt_on_signals();
    // (due, id) of faults to heal.
    let mut pending: Vec<(Instant, String)> = Vec::new();
    let mut steps = sc.steps.iter().peekable();
    let events = run.events.as_deref();
    loop {
        let next_step = steps.peek().map(|s| begin + s.at);
        let next_heal = pending.iter().map(|(t, _)| *t).min();
        let Some(due) = [next_step, next_heal].into_iter().flatten().min() else {
            break;
        };
        tokio::select! {
            _ = tokio::time::sleep_until(due.into()) => {}
            _ = stop.changed() => {
                eprintln!("interrupted: healing the run's faults");
                for (_, id) in &pending {
                    end(spec, hosts, id, events, say).await?;
                }
                return Err(CliError::code(exit::INTERRUPTED));
            }
        }
        let now = Instant::now();
        let (ready, later): (Vec<_>, Vec<_>) = pending.into_iter().partition(|(t, _)| *t <= now);
        pending = later;
        for (_, id) in ready {
            end(spec, hosts, &id, events, say).await?;
        }
        while let Some(step) = steps.next_if(|s| begin + s.at <= now) {
            let fault = plan_now(spec, hosts, &step.request, &mut rng).await?;
            say.say(
                format!("at {} s: {}", begin.elapsed().as_secs(), fault.describe()),
                Some(planned_event(&fault, seed, Some((step.at, step.line)))),
            );
            start(spec, hosts, &fault, events, say).await?;
            if let Some(d) = fault.duration {
                pending.push((Instant::now() + d, fault.id.clone()));
            }
        }
    }
    say.say(
        format!("scenario done in {} s\n", begin.elapsed().as_secs()),
        None,
    );
    Ok(())
}
