//! swarm2 that lost its quorum, on the in-memory fake: `apply` stops before changing anything
//! unless the repair is asked for; with it, swarm2 is rebuilt on the freshest manager and
//! the next passes make the spec's managers managers again.

use std::sync::Arc;

use sis_engine::fake::{FakeHost, Op, SharedSwarm2};
use sis_executor::{converge, ConvergeOptions, ConvergeReport, Ending, Hosts, Silent};
use tokio::sync::watch;

fn spec() -> sis_spec::Spec {
    sis_spec::parse_str(
        "cluster.yaml",
        "version: 1\nname: demo\nhosts:\n  - {name: h1, endpoint: 'tcp://10.0.0.1:2375', nodes: 4}\n\
         network: {name: ring2net, subnet: 10.9.0.0/16}\nswarm2: {image: sis-node:test, managers: 3}\n",
    )
    .expect("valid spec")
}

async fn run(hosts: &Hosts<FakeHost>, repair: bool) -> ConvergeReport {
    let opts = ConvergeOptions {
        repair,
        ..ConvergeOptions::default()
    };
    let (_tx, cancel) = watch::channel(false);
    converge(&spec(), hosts, &opts, &Silent, &cancel)
        .await
        .expect("plans")
}

fn managers(swarm2: &SharedSwarm2) -> Vec<String> {
    let s = swarm2.lock().unwrap();
    s.entries
        .values()
        .filter(|e| e.manager && e.status == "ready")
        .map(|e| e.hostname.clone())
        .collect()
}

#[tokio::test]
async fn a_lost_quorum_is_repaired_only_when_asked_on_the_freshest_manager() {
    let swarm2 = SharedSwarm2::default();
    let host = FakeHost::new("fake://h1").with_swarm2(swarm2.clone());
    host.add_image("sis-node:test");
    let host = Arc::new(host);
    let hosts: Hosts<FakeHost> = [("h1".to_string(), host.clone())].into();
    assert_eq!(run(&hosts, false).await.ending, Ending::Converged);
    assert_eq!(managers(&swarm2), ["demo.h1-1", "demo.h1-2", "demo.h1-3"]);
    let cluster = swarm2.lock().unwrap().cluster_id.clone();

    {
        let mut s = swarm2.lock().unwrap();
        s.quorum_lost = true;
        s.raft_times = [("demo.h1-1", 10), ("demo.h1-2", 30), ("demo.h1-3", 20)]
            .map(|(n, t)| (n.to_string(), t))
            .into();
    }
    // Two of the three managers are gone for good (their containers removed): the one left
    // answers without a leader, and is fewer than a majority.
    for gone in ["demo.h1-1", "demo.h1-3"] {
        host.state().containers.remove(gone);
    }
    let refused = run(&hosts, false).await;
    assert_eq!(refused.ending, Ending::NeedsRepair, "{refused:?}");
    assert!(refused.passes.is_empty(), "nothing ran: {refused:?}");
    assert!(refused.first_plan.needs_repair());
    assert!(host.calls_of(Op::Swarm2Repair).is_empty());
    assert!(host.calls_of(Op::Swarm2Init).len() == 1, "no second init");

    let repaired = run(&hosts, true).await;
    assert_eq!(repaired.ending, Ending::Converged, "{repaired:?}");
    assert_eq!(
        host.calls_of(Op::Swarm2Repair),
        ["demo.h1-2"],
        "the survivor"
    );
    assert_eq!(host.calls_of(Op::Swarm2Init).len(), 1, "no second init");
    let s = swarm2.lock().unwrap();
    assert_eq!(s.cluster_id, cluster);
    assert!(!s.quorum_lost);
    drop(s);
    assert_eq!(managers(&swarm2), ["demo.h1-1", "demo.h1-2", "demo.h1-3"]);
}
