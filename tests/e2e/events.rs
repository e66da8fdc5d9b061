//! `--output jsonl`: every line of stdout checked against docs/events.schema.json (the
//! event's branch, its required fields and their JSON types).

use serde_json::Value;

fn schema() -> Value {
    let text = include_str!("../../docs/events.schema.json");
    serde_json::from_str(text).expect("docs/events.schema.json parses")
}

/// The events of a run's stdout, each checked; the first must be `start` naming the format
/// and version, the last `end`.
pub(crate) fn checked_events(stdout: &str) -> Vec<Value> {
    let schema = schema();
    let events: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    for e in &events {
        sis_test_support::check_event(&schema, e).unwrap_or_else(|why| panic!("{why}: {e}"));
    }
    let first = events.first().expect("at least one event");
    assert_eq!(first["event"], "start", "{first}");
    assert_eq!(first["format"], "sis-events", "{first}");
    assert_eq!(first["version"], 1, "{first}");
    assert_eq!(events.last().unwrap()["event"], "end");
    events
}
