//! `--output jsonl`: one JSON event per line on stdout as it happens, for scripts that follow
//! a run. The first line names the format and its version; the last is `end`. The schema of
//! every line is docs/events.schema.json; fields are only ever added within a version.

use std::io::Write;
use std::time::Instant;

use serde_json::{json, Value};
use sis_executor::{Event, Milestone, Outcome, Progress};
use sis_types::PlannedAction;

/// The format's name and version, in the `start` event.
pub const FORMAT: &str = "sis-events";
pub const VERSION: u32 = 1;

/// Writes events as lines on stdout.
pub struct Jsonl {
    started: Instant,
}

impl Jsonl {
    /// Starts the stream with its `start` line.
    pub fn start(command: &str, cluster: &str, file: &std::path::Path, saved_plan: bool) -> Jsonl {
        Jsonl::start_with(command, cluster, file, json!({ "saved_plan": saved_plan }))
    }

    /// Starts the stream with its `start` line, with the fields the command adds.
    pub fn start_with(command: &str, cluster: &str, file: &std::path::Path, extra: Value) -> Jsonl {
        let out = Jsonl {
            started: Instant::now(),
        };
        out.emit(merge(
            json!({
                "event": "start",
                "format": FORMAT,
                "version": VERSION,
                "command": command,
                "cluster": cluster,
                "file": file.display().to_string(),
            }),
            extra,
        ));
        out
    }

    /// Writes one event, adding `seconds` since the start; a closed stdout is not an error
    /// of the run.
    pub fn emit(&self, mut event: Value) {
        event["seconds"] = json!(self.started.elapsed().as_secs_f64());
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{event}");
        let _ = out.flush();
    }

    /// The last line: how the run ended and its exit code, with what the command adds.
    pub fn end(&self, ending: &str, exit_code: u8, extra: Value) {
        let mut event = json!({"event": "end", "ending": ending, "exit_code": exit_code});
        if let (Some(e), Value::Object(extra)) = (event.as_object_mut(), extra) {
            e.extend(extra);
        }
        self.emit(event);
    }
}

/// A run-file record (crate::runlog: `type`, as `sis watch` and `sis chaos --events` write
/// it) as an event (`event`): the same names and fields.
pub fn record_event(mut record: Value) -> Value {
    if let Some(map) = record.as_object_mut() {
        if let Some(kind) = map.remove("type") {
            map.insert("event".into(), kind);
        }
    }
    record
}

/// The fields every action event has.
fn action_fields(phase: sis_types::Phase, a: &PlannedAction) -> Value {
    let kind = serde_json::to_value(&a.action)
        .ok()
        .and_then(|v| v.get("action").cloned())
        .unwrap_or(Value::Null);
    json!({
        "phase": phase,
        "action": a.action.describe(),
        "kind": kind,
        "mark": a.action.mark(),
        "host": a.action.host(),
    })
}

pub fn outcome_fields(o: &Outcome) -> Value {
    match o {
        Outcome::Done => json!({"outcome": "done"}),
        Outcome::Pending(why) => json!({"outcome": "pending", "detail": why}),
        Outcome::Failed { error, transient } => {
            json!({"outcome": "failed", "error": error, "transient": transient})
        }
        Outcome::Skipped(why) => json!({"outcome": "skipped", "detail": why}),
    }
}

fn merge(mut a: Value, b: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

/// The line of an executor event.
pub fn event_json(event: &Event<'_>) -> Value {
    match event {
        Event::Observing { pass } => json!({"event": "pass", "pass": pass}),
        Event::Observed { pass, observed } => {
            let hosts: serde_json::Map<String, Value> = observed
                .hosts
                .iter()
                .map(|(h, o)| {
                    let state = if o.facts().is_some() {
                        "reachable"
                    } else {
                        "unreachable"
                    };
                    (h.clone(), json!(state))
                })
                .collect();
            json!({"event": "observed", "pass": pass, "hosts": hosts})
        }
        Event::Planned { pass, plan } => json!({
            "event": "planned",
            "pass": pass,
            "summary": plan.summary(),
            "plan": plan,
        }),
        Event::PhaseStarted { phase, actions } => {
            json!({"event": "phase_started", "phase": phase, "actions": actions})
        }
        Event::ActionStarted { phase, action } => merge(
            json!({"event": "action_started"}),
            action_fields(*phase, action),
        ),
        Event::ActionFinished {
            phase,
            action,
            outcome,
            elapsed,
            attempts,
        } => merge(
            merge(
                json!({
                    "event": "action_finished",
                    "elapsed_seconds": elapsed.as_secs_f64(),
                    "attempts": attempts,
                }),
                action_fields(*phase, action),
            ),
            outcome_fields(outcome),
        ),
        Event::PhaseFinished { phase, elapsed } => json!({
            "event": "phase_finished",
            "phase": phase,
            "elapsed_seconds": elapsed.as_secs_f64(),
        }),
        Event::Milestone { node, milestone } => {
            let milestone = match milestone {
                Milestone::Started => "started",
                Milestone::DockerdReady => "dockerd_ready",
                Milestone::Joined => "joined",
            };
            json!({"event": "milestone", "node": node, "milestone": milestone})
        }
        Event::Transfer {
            image,
            from,
            to,
            bytes,
            elapsed,
            done,
        } => json!({
            "event": "transfer",
            "image": image,
            "from": from,
            "to": to,
            "bytes": bytes,
            "elapsed_seconds": elapsed.as_secs_f64(),
            "done": done,
        }),
        Event::Waiting { why, delay } => json!({
            "event": "waiting",
            "why": why,
            "delay_seconds": delay.as_secs_f64(),
        }),
        Event::Pacing { hosts, message } => json!({
            "event": "pacing",
            "hosts": hosts,
            "message": message,
        }),
    }
}

impl Progress for Jsonl {
    fn event(&self, event: &Event<'_>) {
        self.emit(event_json(event));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sis_types::{Action, Observed, Phase, Plan};
    use std::time::Duration;

    #[test]
    fn every_event_matches_the_documented_schema() {
        let schema: Value =
            serde_json::from_str(include_str!("../../../docs/events.schema.json")).unwrap();
        let action = PlannedAction {
            action: Action::StartNode {
                host: "local".into(),
                name: "demo.local-1".into(),
            },
            reason: "container is exited".into(),
        };
        let plan = Plan::default();
        let observed = Observed::default();
        let failed = Outcome::Failed {
            error: "no".into(),
            transient: false,
        };
        let hosts = vec!["local".to_string()];
        let events = [
            Event::Observing { pass: 1 },
            Event::Observed {
                pass: 1,
                observed: &observed,
            },
            Event::Planned {
                pass: 1,
                plan: &plan,
            },
            Event::PhaseStarted {
                phase: Phase::Nodes,
                actions: 1,
            },
            Event::ActionStarted {
                phase: Phase::Nodes,
                action: &action,
            },
            Event::ActionFinished {
                phase: Phase::Nodes,
                action: &action,
                outcome: &failed,
                elapsed: Duration::from_millis(5),
                attempts: 1,
            },
            Event::PhaseFinished {
                phase: Phase::Nodes,
                elapsed: Duration::from_millis(5),
            },
            Event::Milestone {
                node: "demo.local-1",
                milestone: Milestone::Joined,
            },
            Event::Transfer {
                image: "sis-node:test",
                from: "h1",
                to: "h2",
                bytes: 10,
                elapsed: Duration::from_secs(1),
                done: true,
            },
            Event::Waiting {
                why: "1 action(s) pending".into(),
                delay: Duration::from_millis(500),
            },
            Event::Pacing {
                hosts: &hosts,
                message: "at rest 120 node(s) keep 30 % of the 2 cores busy",
            },
        ];
        let mut lines: Vec<Value> = events.iter().map(event_json).collect();
        lines.push(
            json!({"event": "start", "format": FORMAT, "version": VERSION,
            "command": "apply", "cluster": "demo", "file": "c.yaml"}),
        );
        lines.push(json!({"event": "end", "ending": "converged", "exit_code": 0}));
        // chaos and watch: their run-file records are events of the same names.
        lines.push(record_event(
            json!({"type": "fault_start", "id": "f1", "kind": "kill",
            "targets": ["demo.local-1"], "detail": "kill 1 container"}),
        ));
        lines.push(record_event(
            json!({"type": "fault_end", "id": "f1", "seen": "marker"}),
        ));
        lines.push(record_event(
            json!({"type": "leader_change", "from": null, "to": "n1"}),
        ));
        lines.push(record_event(
            json!({"type": "sample", "hosts": {}, "managers": 1,
            "managers_reachable": 1, "leader": "n1",
            "api_ms": {"p50": 1.0, "p99": 2.0, "n": 1}, "swarm2_ms": 3.0}),
        ));
        for mut line in lines {
            line["seconds"] = json!(0.5);
            sis_test_support::check_event(&schema, &line).unwrap_or_else(|e| panic!("{e}: {line}"));
        }
        let bad = json!({"event": "pass", "seconds": 1.0});
        assert!(sis_test_support::check_event(&schema, &bad).is_err());
    }
}
