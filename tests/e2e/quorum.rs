//! swarm2's quorum against the real engine: a deliberate quorum loss repaired on request, and
//! manager counts changed both ways without losing it.

use std::time::{Duration, Instant};

use crate::support::{docker, sis, wait_for, Cluster};
use crate::{assert_all_ready, ids_by_name, path};

fn node(c: &Cluster, index: u32) -> String {
    format!("{}.local-{index}", c.name)
}

/// swarm2's cluster ID as manager `node` reports it.
fn cluster_id(node: &str) -> String {
    docker(&[
        "exec",
        node,
        "docker",
        "info",
        "--format",
        "{{.Swarm.Cluster.ID}}",
    ])
    .trim()
    .to_string()
}

fn manager_count(c: &Cluster) -> usize {
    c.swarm2_nodes()
        .iter()
        .filter(|(_, _, m)| !m.is_empty())
        .count()
}

#[test]
fn a_lost_quorum_is_repaired_only_on_request_and_keeps_swarm2() {
    let c = Cluster::new("quorum");
    let spec = c.spec(5, 3, "");
    let run = sis(&["apply", path(&spec)]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_all_ready(&c, 5);
    let first = node(&c, 1);
    let id = cluster_id(&first);
    assert!(!id.is_empty());
    docker(&[
        "exec",
        &first,
        "docker",
        "service",
        "create",
        "--detach",
        "--replicas",
        "0",
        "--no-resolve-image",
        "--name",
        "probe",
        "sis-workload:test",
    ]);

    // Two of the three managers go: the one left has no quorum.
    docker(&["rm", "-f", "-v", &node(&c, 2), &node(&c, 3)]);
    let plan = wait_for(
        "the plan to propose the repair",
        Duration::from_secs(90),
        || {
            let run = sis(&["plan", path(&spec)]);
            run.stdout
                .contains("! repair swarm2 on node")
                .then_some(run)
        },
    );
    assert!(plan.stdout.contains(&first), "{plan:?}");
    assert!(!plan.stdout.contains("init swarm2"), "{plan:?}");
    let status = sis(&["status", path(&spec)]);
    assert!(status.stdout.contains("lost quorum"), "{status:?}");
    let json = sis(&["plan", path(&spec), "--output", "json"]);
    assert!(json.stdout.contains("\"repair\": true"), "{json:?}");

    // Without --repair: refused, nothing changed.
    let before = ids_by_name(&c);
    let refused = sis(&["apply", path(&spec)]);
    assert_ne!(refused.code, 0, "{refused:?}");
    assert!(refused.stderr.contains("sis apply --repair"), "{refused:?}");
    assert_eq!(
        ids_by_name(&c),
        before,
        "apply without --repair changed nodes"
    );

    let started = Instant::now();
    let run = sis(&["apply", "--repair", path(&spec)]);
    let took = started.elapsed();
    assert_eq!(run.code, 0, "{run:?}");
    println!(
        "swarm2 repaired and converged in {:.1} s",
        took.as_secs_f64()
    );
    // Workers reconnect to the rebuilt swarm2 on their own (its manager kept its address);
    // until then they are `Unknown`, which sis waits for rather than acts on.
    wait_for(
        "every node Ready after the repair",
        Duration::from_secs(90),
        || {
            let nodes = c.swarm2_nodes();
            (nodes.len() == 5 && nodes.iter().all(|(_, s, _)| s == "Ready")).then_some(())
        },
    );
    println!(
        "swarm2 repaired, every node Ready, in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_all_ready(&c, 5);
    assert_eq!(manager_count(&c), 3, "{:?}", c.swarm2_nodes());
    assert_eq!(cluster_id(&first), id, "swarm2 is the same swarm");
    let services = docker(&[
        "exec",
        &first,
        "docker",
        "service",
        "ls",
        "--format",
        "{{.Name}}",
    ]);
    assert!(services.lines().any(|l| l == "probe"), "{services}");
    let again = sis(&["plan", path(&spec), "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{again:?}");
}

#[test]
fn managers_go_from_three_to_one_and_back_without_losing_quorum() {
    let c = Cluster::new("managers");
    let run = sis(&["apply", path(&c.spec(5, 3, ""))]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_all_ready(&c, 5);
    assert_eq!(manager_count(&c), 3);
    let id = cluster_id(&node(&c, 1));

    let one = c.spec(5, 1, "");
    let run = sis(&["apply", path(&one)]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_all_ready(&c, 5);
    assert_eq!(manager_count(&c), 1, "{:?}", c.swarm2_nodes());

    let three = c.spec(5, 3, "");
    let run = sis(&["apply", path(&three)]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_all_ready(&c, 5);
    assert_eq!(manager_count(&c), 3, "{:?}", c.swarm2_nodes());
    assert_eq!(cluster_id(&node(&c, 1)), id);
    let again = sis(&["plan", path(&three), "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{again:?}");
}
