//! Saved plans against the real engine: applied unchanged they converge; when the hosts or
//! the spec changed since, apply refuses and does nothing. The runs report in
//! `--output jsonl`, each line checked against the documented schema.

use crate::events::checked_events;
use crate::support::{docker, sis, Cluster};
use crate::{assert_all_ready, path};

#[test]
fn a_saved_plan_applies_as_reviewed_and_is_refused_when_the_hosts_or_the_spec_changed() {
    let c = Cluster::new("saved");
    let spec = c.spec(2, 1, "");
    let saved = c.dir.join("plan.json");

    // Made, then applied unchanged: exactly that plan, and the hosts match the spec.
    let plan = sis(&["plan", path(&spec), "--out", path(&saved)]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(plan.stdout.contains("Saved plan:"), "{plan:?}");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    assert_eq!(
        (doc["format"].as_str(), doc["version"].as_u64()),
        (Some("sis-plan"), Some(1))
    );
    let apply = sis(&["apply", path(&saved), "--output", "jsonl"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let events = checked_events(&apply.stdout);
    assert_eq!(events[0]["saved_plan"], true);
    let end = events.last().unwrap();
    assert_eq!(end["ending"], "converged", "{end}");
    assert_eq!(end["more_passes_needed"], false, "{end}");
    assert!(events.iter().any(|e| e["event"] == "action_finished"));
    assert_all_ready(&c, 2);
    let before = c.node_ids();

    // The hosts changed in between (a node removed by hand): refused, nothing done.
    let spec = c.spec(3, 1, "");
    let plan = sis(&["plan", path(&spec), "--out", path(&saved)]);
    assert_eq!(plan.code, 0, "{plan:?}");
    let victim = format!("{}.local-2", c.name);
    docker(&["rm", "-f", "-v", &victim]);
    let after_rm = c.node_ids();
    let apply = sis(&["apply", path(&saved)]);
    assert_eq!(apply.code, 3, "{apply:?}");
    assert!(apply.stderr.contains("stale plan"), "{apply:?}");
    assert!(
        apply.stderr.contains(&format!("container {victim}: gone")),
        "names what changed: {apply:?}"
    );
    assert_eq!(c.node_ids(), after_rm, "a stale plan changed the hosts");
    assert_eq!(after_rm.len(), before.len() - 1);

    // The spec changed since the plan was made: refused, nothing done.
    let plan = sis(&["plan", path(&spec), "--out", path(&saved)]);
    assert_eq!(plan.code, 0, "{plan:?}");
    c.spec(4, 1, "");
    let apply = sis(&["apply", path(&saved), "--output", "jsonl"]);
    assert_eq!(apply.code, 3, "{apply:?}");
    assert!(
        apply.stderr.contains("changed since the plan was made"),
        "{apply:?}"
    );
    let events = checked_events(&apply.stdout);
    assert_eq!(events.last().unwrap()["ending"], "stale");
    assert_eq!(c.node_ids(), after_rm, "a stale plan changed the hosts");

    // destroy reports in events too.
    let destroy = sis(&["destroy", path(&spec), "--output", "jsonl"]);
    assert_eq!(destroy.code, 0, "{destroy:?}");
    let events = checked_events(&destroy.stdout);
    assert_eq!(events[0]["command"], "destroy");
    assert_eq!(events.last().unwrap()["ending"], "converged");
    assert!(c.leftovers().is_empty(), "left: {:?}", c.leftovers());
}
