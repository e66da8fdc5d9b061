//! Per-node timestamps and per-phase wall times of an apply, for the end-of-run summary
//! (p50/p90/p99 of create → dockerd ready → joined → Ready), the `timeline` of
//! `--output json`, and `--report FILE.jsonl`: the same as records of the run file that
//! `sis watch` writes and `sis report` draws (one `phase` record a phase, one `node` record a
//! node milestone, one `apply` record for the whole run).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;
use serde_json::{json, Value};
use sis_executor::{Event, Milestone, Progress};
use sis_types::Action;

/// Seconds since the apply started, per step of one node. `None`: not reached in this run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NodeTimes {
    /// The create (or start) action began.
    pub create: Option<f64>,
    /// The container runs.
    pub started: Option<f64>,
    /// Its dockerd answers.
    pub dockerd_ready: Option<f64>,
    /// `swarm init`/`join` returned.
    pub joined: Option<f64>,
    /// First observed Ready in swarm2's node list.
    pub ready: Option<f64>,
}

/// One phase of one pass.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseTime {
    pub pass: u32,
    pub phase: String,
    pub actions: usize,
    pub start: f64,
    pub seconds: f64,
}

#[derive(Default)]
struct Data {
    pass: u32,
    nodes: BTreeMap<String, NodeTimes>,
    phases: Vec<PhaseTime>,
}

/// Collects the timeline from executor events.
pub struct Timeline {
    start: Instant,
    /// `start` in seconds since the epoch: the run file's time axis.
    epoch: f64,
    data: Mutex<Data>,
}

/// The two ends of a step of a node's timeline.
type Span = fn(&NodeTimes) -> Option<(f64, f64)>;

/// p50, p90, p99 and max of a latency, over the nodes that have both ends.
#[derive(Debug, Clone, Serialize)]
pub struct Percentiles {
    pub step: &'static str,
    pub nodes: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

/// The `timeline` of `--output json`.
#[derive(Debug, Serialize)]
pub struct Report {
    pub phases: Vec<PhaseTime>,
    pub latency: Vec<Percentiles>,
    pub nodes: BTreeMap<String, NodeTimes>,
}

impl Timeline {
    pub fn new() -> Timeline {
        Timeline {
            start: Instant::now(),
            epoch: sis_executor::chaos::now_secs(),
            data: Mutex::new(Data::default()),
        }
    }

    fn now(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    /// The run as records of the run file (`crate::runlog`), in time order: `apply` (its
    /// start, length, ending), a `phase` per phase of each pass and a `node` per milestone of
    /// each node (`create`, `started`, `dockerd_ready`, `joined`, `ready`), each with `t` in
    /// seconds since the epoch.
    pub fn run_records(&self, file: &str, ending: &str, passes: usize) -> Vec<Value> {
        let data = self.data.lock().expect("timeline lock");
        let at = |secs: f64| round_ms(self.epoch + secs);
        let mut records = vec![json!({
            "type": "apply",
            "t": at(0.0),
            "seconds": round_ms(self.now()),
            "file": file,
            "ending": ending,
            "passes": passes,
        })];
        for p in &data.phases {
            records.push(json!({
                "type": "phase",
                "t": at(p.start),
                "pass": p.pass,
                "phase": p.phase,
                "actions": p.actions,
                "seconds": round_ms(p.seconds),
            }));
        }
        for (node, times) in &data.nodes {
            for (milestone, when) in [
                ("create", times.create),
                ("started", times.started),
                ("dockerd_ready", times.dockerd_ready),
                ("joined", times.joined),
                ("ready", times.ready),
            ] {
                if let Some(when) = when {
                    records.push(json!({
                        "type": "node",
                        "t": at(when),
                        "node": node,
                        "milestone": milestone,
                    }));
                }
            }
        }
        let t = |r: &Value| r["t"].as_f64().unwrap_or(0.0);
        records.sort_by(|a, b| t(a).total_cmp(&t(b)));
        records
    }

    pub fn report(&self) -> Report {
        let data = self.data.lock().expect("timeline lock");
        let steps: [(&str, Span); 4] = [
            ("create → dockerd ready", |t| {
                Some((t.create?, t.dockerd_ready?))
            }),
            ("dockerd ready → joined", |t| {
                Some((t.dockerd_ready?, t.joined?))
            }),
            ("joined → Ready", |t| Some((t.joined?, t.ready?))),
            ("create → Ready", |t| Some((t.create?, t.ready?))),
        ];
        let latency = steps
            .iter()
            .filter_map(|(step, span)| {
                let mut d: Vec<f64> = data
                    .nodes
                    .values()
                    .filter_map(span)
                    .map(|(a, b)| b - a)
                    .collect();
                percentiles(step, &mut d)
            })
            .collect();
        Report {
            phases: data.phases.clone(),
            latency,
            nodes: data.nodes.clone(),
        }
    }
}

/// Milliseconds are plenty, and keep the lines short.
fn round_ms(secs: f64) -> f64 {
    (secs * 1000.0).round() / 1000.0
}

fn percentiles(step: &'static str, d: &mut [f64]) -> Option<Percentiles> {
    if d.is_empty() {
        return None;
    }
    d.sort_by(f64::total_cmp);
    let at = |q: f64| d[((q * d.len() as f64).ceil() as usize).clamp(1, d.len()) - 1];
    Some(Percentiles {
        step,
        nodes: d.len(),
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        max: d[d.len() - 1],
    })
}

impl Report {
    /// The end-of-run table, like Docker's 2015 scale-test table.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if self.phases.is_empty() {
            return out;
        }
        // The node → swarm2 phases overlap: each runs from its start to its last action's end.
        let _ = writeln!(out, "\nphase                   pass  actions   wall s");
        for p in &self.phases {
            let _ = writeln!(
                out,
                "{:<22} {:>5} {:>8} {:>8.1}",
                p.phase, p.pass, p.actions, p.seconds
            );
        }
        if !self.latency.is_empty() {
            let _ = writeln!(
                out,
                "\nper node (s)              nodes     p50     p90     p99     max"
            );
            for l in &self.latency {
                let _ = writeln!(
                    out,
                    "{:<24} {:>6} {:>7.2} {:>7.2} {:>7.2} {:>7.2}",
                    l.step, l.nodes, l.p50, l.p90, l.p99, l.max
                );
            }
        }
        out
    }
}

impl Progress for Timeline {
    fn event(&self, event: &Event<'_>) {
        let now = self.now();
        let mut data = self.data.lock().expect("timeline lock");
        match event {
            Event::Observing { pass } => data.pass = *pass,
            Event::Observed { observed, .. } => {
                for entry in observed.swarm2.iter().flat_map(|s| &s.nodes) {
                    if entry.is_ready() {
                        if let Some(t) = data.nodes.get_mut(&entry.hostname) {
                            t.ready.get_or_insert(now);
                        }
                    }
                }
            }
            Event::PhaseStarted { phase, actions } => {
                let pass = data.pass.max(1);
                data.phases.push(PhaseTime {
                    pass,
                    phase: phase.title().to_string(),
                    actions: *actions,
                    start: now,
                    seconds: 0.0,
                });
            }
            Event::PhaseFinished { phase, elapsed } => {
                let title = phase.title();
                if let Some(p) = data.phases.iter_mut().rev().find(|p| p.phase == title) {
                    p.seconds = elapsed.as_secs_f64();
                }
            }
            Event::ActionStarted { action, .. } => {
                if let Action::CreateNode { name, .. } | Action::StartNode { name, .. } =
                    &action.action
                {
                    // A node made anew starts a new timeline.
                    data.nodes.insert(
                        name.clone(),
                        NodeTimes {
                            create: Some(now),
                            ..NodeTimes::default()
                        },
                    );
                }
            }
            Event::Milestone { node, milestone } => {
                let t = data.nodes.entry(node.to_string()).or_default();
                let slot = match milestone {
                    Milestone::Started => &mut t.started,
                    Milestone::DockerdReady => &mut t.dockerd_ready,
                    Milestone::Joined => &mut t.joined,
                };
                *slot = Some(now);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_nearest_ranks() {
        let mut d: Vec<f64> = (1..=100).map(f64::from).collect();
        let p = percentiles("x", &mut d).unwrap();
        assert_eq!((p.p50, p.p90, p.p99, p.max), (50.0, 90.0, 99.0, 100.0));
        let mut one = vec![2.5];
        let p = percentiles("x", &mut one).unwrap();
        assert_eq!((p.p50, p.p99), (2.5, 2.5));
        assert!(percentiles("x", &mut []).is_none());
    }
}
