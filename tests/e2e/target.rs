//! `apply --target host:NAME` on two lab hosts: both grow in the spec, only the targeted one
//! changes; the other host's containers are the same ones, as many as before. The targeted
//! apply reports in `--output jsonl`, checked against the schema.

use crate::events::checked_events;
use crate::lab::{path, Lab};
use crate::multihost::{nodes_on, with_counts};
use crate::support::sis;

#[test]
fn apply_with_a_target_changes_only_that_hosts_nodes() {
    let lab = Lab::new("tgt");
    let run = lab.up(2, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let written = std::fs::read_to_string(lab.spec()).unwrap();
    let written: String = written
        .lines()
        .map(|l| match l.trim_start().starts_with("managers: ") {
            true => "  managers: 1".to_string(),
            false => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    let spec = lab.dir.join("cluster.yaml");
    std::fs::write(&spec, with_counts(&written, &[1, 1])).unwrap();
    let apply = sis(&["apply", path(&spec)]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let before = [nodes_on(&lab, 1), nodes_on(&lab, 2)];
    assert_eq!((before[0].len(), before[1].len()), (1, 1), "{before:?}");

    std::fs::write(&spec, with_counts(&written, &[2, 2])).unwrap();
    let plan = sis(&["plan", path(&spec), "--target", "host:h1"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(plan.stdout.contains("on other hosts left out"), "{plan:?}");
    assert!(!plan.stdout.contains(".h2-2"), "{plan:?}");
    let apply = sis(&[
        "apply",
        path(&spec),
        "--target",
        "host:h1",
        "--output",
        "jsonl",
    ]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let events = checked_events(&apply.stdout);
    assert_eq!(events.last().unwrap()["ending"], "converged");
    let hosts: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "action_finished")
        .filter_map(|e| e["host"].as_str())
        .collect();
    assert!(!hosts.is_empty() && !hosts.contains(&"h2"), "{hosts:?}");
    let after = [nodes_on(&lab, 1), nodes_on(&lab, 2)];
    assert_eq!(after[1], before[1], "host h2 changed");
    assert_eq!(after[0].len(), 2, "{:?}", after[0]);
    for (name, node) in &before[0] {
        assert_eq!(after[0].get(name), Some(node), "node {name} changed");
    }

    // Without the target, h2 follows.
    let apply = sis(&["apply", path(&spec)]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert_eq!(nodes_on(&lab, 2).len(), 2);
    let unknown = sis(&["plan", path(&spec), "--target", "host:h9"]);
    assert_eq!(unknown.code, 1, "{unknown:?}");
    assert!(unknown.stderr.contains("no host \"h9\""), "{unknown:?}");
}
