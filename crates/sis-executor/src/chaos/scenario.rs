//! Scenario files: timed faults, checked with file:line:column like the spec.
//!
//! ```yaml
//! seed: 7                  # optional: random selectors and shapes
//! steps:
//!   - at: 0s
//!     fault: kill
//!     target: leader
//!   - at: 30s
//!     fault: partition
//!     shape: isolate
//!     target: random:1
//!     duration: 20s
//!   - at: 60s
//!     fault: netem
//!     target: workers
//!     loss: 20%
//!     rate: 1mbit
//!     duration: 30s
//! ```

use std::time::Duration;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

use super::plan::{FaultKind, FaultRequest, NetemOptions, Shape};

/// One timed fault.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// From the start of the run.
    pub at: Duration,
    pub request: FaultRequest,
    /// Where the step starts in the file (1-based).
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub seed: Option<u64>,
    /// In the order they start.
    pub steps: Vec<Step>,
}

/// Parses and checks a scenario; the error lists every problem as `FILE:LINE:COLUMN: …`.
pub fn parse(text: &str, file: &str) -> Result<Scenario, Vec<String>> {
    let mut problems = Vec::new();
    let mut at = |pos: (usize, usize), msg: String| {
        problems.push(format!("{file}:{}:{}: {msg}", pos.0, pos.1))
    };
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, false) {
        let m = e.marker();
        at((m.line(), m.col() + 1), format!("not YAML: {}", e.info()));
        return Err(problems);
    }
    let Some(root) = builder.done else {
        at((1, 1), "empty scenario: it needs `steps:`".to_string());
        return Err(problems);
    };
    let Value::Map(entries) = &root.value else {
        at(
            root.pos,
            "a scenario is a mapping with `steps:` (and `seed:`)".to_string(),
        );
        return Err(problems);
    };
    let mut seed = None;
    let mut steps = Vec::new();
    let mut saw_steps = false;
    for (k, v) in entries {
        match k.text() {
            Some("seed") => match v.text().and_then(|t| t.parse::<u64>().ok()) {
                Some(s) => seed = Some(s),
                None => at(v.pos, "seed: a whole number".to_string()),
            },
            Some("steps") => {
                saw_steps = true;
                match &v.value {
                    Value::Seq(items) if !items.is_empty() => {
                        for item in items {
                            if let Some(step) = parse_step(item, &mut at) {
                                steps.push(step);
                            }
                        }
                    }
                    _ => at(v.pos, "steps: a list of at least one step".to_string()),
                }
            }
            Some(other) => at(
                k.pos,
                format!("unknown key {other:?}: a scenario has seed and steps"),
            ),
            None => at(k.pos, "keys are plain words".to_string()),
        }
    }
    if !saw_steps {
        at(root.pos, "missing `steps:`".to_string());
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    steps.sort_by_key(|s| s.at);
    Ok(Scenario { seed, steps })
}

const STEP_KEYS: &str = "at, fault, target, from, shape, duration, loss, rate, delay, jitter";

fn parse_step(item: &Node, at: &mut impl FnMut((usize, usize), String)) -> Option<Step> {
    let Value::Map(entries) = &item.value else {
        at(item.pos, format!("a step is a mapping of {STEP_KEYS}"));
        return None;
    };
    let mut ok = true;
    let get = |key: &str| {
        entries
            .iter()
            .find(|(k, _)| k.text() == Some(key))
            .map(|(_, v)| v)
    };
    for (k, _) in entries {
        let known = k
            .text()
            .is_some_and(|t| STEP_KEYS.split(", ").any(|s| s == t));
        if !known {
            at(
                k.pos,
                format!(
                    "unknown step key {:?}: use {STEP_KEYS}",
                    k.text().unwrap_or("")
                ),
            );
            ok = false;
        }
    }
    let text = |key: &str,
                at: &mut dyn FnMut((usize, usize), String)|
     -> Option<(String, (usize, usize))> {
        let v = get(key)?;
        match v.text() {
            Some(t) => Some((t.to_string(), v.pos)),
            None => {
                at(v.pos, format!("{key}: a single value"));
                None
            }
        }
    };
    let duration =
        |key: &str, t: &(String, (usize, usize)), at: &mut dyn FnMut((usize, usize), String)| {
            match parse_duration(&t.0) {
                Some(d) => Some(d),
                None => {
                    at(
                        t.1,
                        format!("{key}: {:?} is not a duration: use e.g. 0s, 90s, 5m", t.0),
                    );
                    None
                }
            }
        };
    let at_text = text("at", at);
    let start = match &at_text {
        None => {
            at(item.pos, "a step needs `at:` (e.g. at: 30s)".to_string());
            ok = false;
            Duration::ZERO
        }
        Some(t) => duration("at", t, at).unwrap_or_else(|| {
            ok = false;
            Duration::ZERO
        }),
    };
    let kind = match text("fault", at) {
        None => {
            at(
                item.pos,
                "a step needs `fault:` (kill, stop, pause, restart, partition, netem)".to_string(),
            );
            ok = false;
            FaultKind::Kill
        }
        Some((t, pos)) => FaultKind::parse(&t).unwrap_or_else(|| {
            at(
                pos,
                format!("unknown fault {t:?}: use kill, stop, pause, restart, partition or netem"),
            );
            ok = false;
            FaultKind::Kill
        }),
    };
    let shape = match text("shape", at) {
        None => None,
        Some((t, pos)) => match Shape::parse(&t) {
            Some(s) if kind == FaultKind::Partition => Some(s),
            Some(_) => {
                at(pos, "shape belongs to partition".to_string());
                ok = false;
                None
            }
            None => {
                at(
                    pos,
                    format!("unknown shape {t:?}: use isolate, halves or majorities-ring"),
                );
                ok = false;
                None
            }
        },
    };
    let target = text("target", at);
    let needs_target = !(kind == FaultKind::Partition
        && matches!(shape, Some(Shape::Halves | Shape::MajoritiesRing)));
    if target.is_none() && needs_target {
        at(
            item.pos,
            format!(
                "a {} step needs `target:` (a selector, e.g. leader)",
                kind.as_str()
            ),
        );
        ok = false;
    }
    if let Some((t, pos)) = &target {
        if let Err(e) = super::select::parse(t) {
            at(*pos, e);
            ok = false;
        }
    }
    let from = text("from", at);
    if let Some((t, pos)) = &from {
        if kind != FaultKind::Partition {
            at(*pos, "from belongs to partition".to_string());
            ok = false;
        } else if let Err(e) = super::select::parse(t) {
            at(*pos, e);
            ok = false;
        }
    }
    let dur = match text("duration", at) {
        None => None,
        Some(t) => match duration("duration", &t, at) {
            Some(d) if !d.is_zero() => Some(d),
            _ => {
                ok = false;
                None
            }
        },
    };
    let mut netem = NetemOptions::default();
    for key in ["loss", "rate", "delay", "jitter"] {
        let Some((t, pos)) = text(key, at) else {
            continue;
        };
        if kind != FaultKind::Netem {
            at(pos, format!("{key} belongs to netem"));
            ok = false;
            continue;
        }
        match key {
            "loss" => {
                let value = match t.strip_suffix('%') {
                    Some(p) => p.parse::<f64>().ok().map(|p| p / 100.0),
                    None => t.parse::<f64>().ok(),
                };
                match value.filter(|v| (0.0..=1.0).contains(v)) {
                    Some(v) => netem.loss = Some(v),
                    None => {
                        at(
                            pos,
                            format!("loss: {t:?} is not a probability: use e.g. 0.3 or 30%"),
                        );
                        ok = false;
                    }
                }
            }
            "rate" => netem.rate = Some(t),
            "delay" => netem.delay = Some(t),
            _ => netem.jitter = Some(t),
        }
    }
    if kind == FaultKind::Netem
        && netem.loss.is_none()
        && netem.rate.is_none()
        && netem.delay.is_none()
    {
        at(
            item.pos,
            "a netem step needs loss, rate or delay".to_string(),
        );
        ok = false;
    }
    ok.then(|| Step {
        at: start,
        request: FaultRequest {
            kind,
            target: target.map(|t| t.0),
            from: from.map(|t| t.0),
            shape,
            netem,
            duration: dur,
        },
        line: item.pos.0,
    })
}

/// `90`, `90s`, `5m`, `1h`.
fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let n: u64 = text[..split].parse().ok()?;
    let factor = match &text[split..] {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return None,
    };
    Some(Duration::from_secs(n * factor))
}

/// A small positioned tree: scalars, sequences and mappings, each with its line and column.
#[derive(Debug)]
struct Node {
    pos: (usize, usize),
    value: Value,
}

#[derive(Debug)]
enum Value {
    Scalar(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    fn text(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s) => Some(s),
            _ => None,
        }
    }
}

#[derive(Default)]
struct Builder {
    stack: Vec<(Node, Option<Node>)>,
    done: Option<Node>,
}

impl Builder {
    fn push(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => {
                if self.done.is_none() {
                    self.done = Some(node);
                }
            }
            Some((open, key)) => match &mut open.value {
                Value::Seq(items) => items.push(node),
                Value::Map(entries) => match key.take() {
                    None => *key = Some(node),
                    Some(k) => entries.push((k, node)),
                },
                Value::Scalar(_) => {}
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let pos = (mark.line(), mark.col() + 1);
        match ev {
            Event::Scalar(text, ..) => self.push(Node {
                pos,
                value: Value::Scalar(text),
            }),
            Event::SequenceStart(..) => self.stack.push((
                Node {
                    pos,
                    value: Value::Seq(Vec::new()),
                },
                None,
            )),
            Event::MappingStart(..) => self.stack.push((
                Node {
                    pos,
                    value: Value::Map(Vec::new()),
                },
                None,
            )),
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((mut node, _)) = self.stack.pop() {
                    // A mapping's mark falls after its first key; the key is where people look.
                    if let Value::Map(entries) = &node.value {
                        if let Some((k, _)) = entries.first() {
                            node.pos = k.pos;
                        }
                    }
                    self.push(node);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "seed: 7\nsteps:\n  - at: 30s\n    fault: partition\n    shape: isolate\n    target: random:1\n    duration: 20s\n  - at: 0s\n    fault: kill\n    target: leader\n  - at: 1m\n    fault: netem\n    target: workers\n    loss: 20%\n    rate: 1mbit\n";

    #[test]
    fn a_good_scenario_reads_in_start_order() {
        let s = parse(GOOD, "s.yaml").unwrap();
        assert_eq!(s.seed, Some(7));
        let kinds: Vec<_> = s
            .steps
            .iter()
            .map(|s| (s.at.as_secs(), s.request.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                (0, FaultKind::Kill),
                (30, FaultKind::Partition),
                (60, FaultKind::Netem)
            ]
        );
        assert_eq!(s.steps[1].request.duration, Some(Duration::from_secs(20)));
        assert_eq!(s.steps[1].request.shape, Some(Shape::Isolate));
        assert_eq!(s.steps[2].request.netem.loss, Some(0.2));
        assert_eq!(s.steps[0].line, 8);
    }

    #[test]
    fn every_problem_has_its_place() {
        let bad = "steps:\n  - at: soon\n    fault: explode\n    target: leaders\n  - at: 5s\n    fault: kill\n    loss: 10%\n    colour: red\n  - fault: netem\n    target: all\n";
        let problems = parse(bad, "s.yaml").unwrap_err();
        let expect = [
            "s.yaml:2:9: at: \"soon\" is not a duration",
            "s.yaml:3:12: unknown fault \"explode\"",
            "s.yaml:4:13: unknown selector \"leaders\"",
            "s.yaml:8:5: unknown step key \"colour\"",
            "s.yaml:7:11: loss belongs to netem",
            "s.yaml:5:5: a kill step needs `target:`",
            "s.yaml:9:5: a step needs `at:`",
            "s.yaml:9:5: a netem step needs loss, rate or delay",
        ];
        for e in expect {
            assert!(
                problems.iter().any(|p| p.starts_with(e)),
                "missing {e:?} in {problems:#?}"
            );
        }
        assert_eq!(problems.len(), expect.len(), "{problems:#?}");
    }

    #[test]
    fn shape_of_the_document() {
        assert!(parse("", "s.yaml").unwrap_err()[0].contains("empty scenario"));
        assert!(parse("- a\n", "s.yaml").unwrap_err()[0]
            .starts_with("s.yaml:1:1: a scenario is a mapping"));
        assert!(parse("seed: x\n", "s.yaml")
            .unwrap_err()
            .iter()
            .any(|p| p.contains("missing `steps:`")));
        assert!(parse("steps: [\n", "s.yaml").unwrap_err()[0].contains("not YAML"));
    }
}
