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

/// `sis watch` and `sis chaos` with `--output jsonl` on a small cluster: every line checked;
/// the fault's start and end, the samples and the heal come as events.
#[test]
fn chaos_and_watch_stream_checked_events() {
    use crate::path;
    use crate::support::{sis, Cluster};

    let c = Cluster::new("evchaos");
    let spec = c.spec(2, 1, "");
    let apply = sis(&["apply", path(&spec), "--quiet"]);
    assert_eq!(apply.code, 0, "{apply:?}");

    let no_out = sis(&["watch", path(&spec)]);
    assert_eq!(no_out.code, 1, "{no_out:?}");
    assert!(no_out.stderr.contains("--out FILE"), "{no_out:?}");

    let watch = sis(&[
        "watch",
        path(&spec),
        "--output",
        "jsonl",
        "--interval",
        "1s",
        "--for",
        "1s",
    ]);
    assert_eq!(watch.code, 0, "{watch:?}");
    let events = checked_events(&watch.stdout);
    assert_eq!(events[0]["command"], "watch");
    let sample = events
        .iter()
        .find(|e| e["event"] == "sample")
        .unwrap_or_else(|| panic!("no sample: {}", watch.stdout));
    assert_eq!(sample["managers"], 1, "{sample}");
    assert_eq!(sample["hosts"]["local"]["running"], 2, "{sample}");
    let end = events.last().unwrap();
    assert_eq!(end["ending"], "done", "{end}");
    assert!(end["samples"].as_u64() >= Some(1), "{end}");

    // --output after the subcommand: the option is the chaos command's, for all of them.
    let worker = format!("{}.local-2", c.name);
    let target = format!("node:{worker}");
    let pause = sis(&[
        "chaos",
        path(&spec),
        "pause",
        "--target",
        &target,
        "--duration",
        "1s",
        "--output",
        "jsonl",
    ]);
    assert_eq!(pause.code, 0, "{pause:?}");
    let events = checked_events(&pause.stdout);
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(
        kinds,
        ["start", "fault_planned", "fault_start", "fault_end", "end"],
        "{}",
        pause.stdout
    );
    assert_eq!(events[0]["action"], "pause");
    assert_eq!(events[1]["targets"][0], worker.as_str());
    assert_eq!(events[1]["duration_seconds"], 1.0);
    assert_eq!(events[2]["id"], events[3]["id"]);
    assert_eq!(events[4]["ending"], "done");

    let list = sis(&["chaos", path(&spec), "--output", "jsonl", "list"]);
    assert_eq!(list.code, 0, "{list:?}");
    let events = checked_events(&list.stdout);
    assert!(
        events.iter().all(|e| e["event"] != "fault"),
        "the fault was healed: {}",
        list.stdout
    );
    let heal = sis(&["chaos", path(&spec), "-o", "jsonl", "heal"]);
    assert_eq!(heal.code, 0, "{heal:?}");
    let events = checked_events(&heal.stdout);
    assert_eq!(events[1]["event"], "healed", "{}", heal.stdout);
    assert_eq!(events[1]["unpaused"], serde_json::json!([]));
}
