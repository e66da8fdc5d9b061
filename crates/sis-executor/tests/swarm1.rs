//! swarm1 from its making to `sis destroy --swarm1`, against the in-memory fake: sis marks the
//! swarm it initialises, and leaves only such a swarm. The real engines are covered by
//! tests/e2e (a lab host).

use std::collections::BTreeMap;
use std::sync::Arc;

use sis_engine::fake::{FakeHost, Op};
use sis_engine::HostEngine;
use sis_executor::{execute, observe, ExecOptions, Hosts, PassReport, Silent};
use sis_planner::{plan, plan_destroy, render_text, DestroyOptions};
use sis_spec::Spec;
use sis_types::Plan;
use tokio::sync::watch;

fn spec() -> Spec {
    sis_spec::parse_str(
        "cluster.yaml",
        "version: 1\nname: demo\nhosts:\n  - {name: h1, endpoint: 'tcp://10.0.0.1:2375', nodes: 0}\n  \
         - {name: h2, endpoint: 'tcp://10.0.0.2:2375', nodes: 0}\n\
         network: {name: ring2net, subnet: 10.9.0.0/16}\nswarm2: {image: sis-node:test}\n",
    )
    .expect("valid spec")
}

fn hosts() -> Hosts<FakeHost> {
    ["h1", "h2"]
        .into_iter()
        .map(|h| {
            let host = FakeHost::new(&format!("fake://{h}"));
            host.add_image("sis-node:test");
            (h.to_string(), Arc::new(host))
        })
        .collect()
}

async fn run(plan: &Plan, spec: &Spec, hosts: &Hosts<FakeHost>) -> PassReport {
    let (_tx, cancel) = watch::channel(false);
    let report = execute(
        plan,
        &spec.name,
        &spec.network.name,
        hosts,
        &ExecOptions::default(),
        &Silent,
        &cancel,
    )
    .await;
    assert_eq!(report.failures().count(), 0, "{report:?}");
    report
}

#[tokio::test]
async fn destroy_with_swarm1_leaves_the_swarm_sis_made_workers_first() {
    let spec = spec();
    let hosts = hosts();
    let made = plan(&spec, &observe(&spec, &hosts).await).unwrap();
    run(&made, &spec, &hosts).await;
    let observed = observe(&spec, &hosts).await;
    let h1 = observed.hosts["h1"].facts().unwrap();
    assert_eq!(h1.swarm1.created_by.as_deref(), Some("demo"));

    // Without the option swarm1 stays.
    let kept = plan_destroy(&spec, &observed, DestroyOptions::default());
    assert!(kept
        .actions()
        .all(|a| !a.action.describe().contains("swarm1")));

    let destroy = plan_destroy(&spec, &observed, DestroyOptions { swarm1: true });
    let report = run(&destroy, &spec, &hosts).await;
    let order: Vec<String> = report
        .outcomes
        .iter()
        .map(|(a, _, _)| a.action.describe())
        .filter(|d| d.contains("leaves swarm1"))
        .collect();
    assert_eq!(
        order,
        ["host h2 leaves swarm1", "host h1 leaves swarm1 (--force)"],
        "{}",
        render_text(&destroy)
    );
    for (name, host) in &hosts {
        assert_eq!(host.state().swarm1.state, "inactive", "host {name}");
    }
}

#[tokio::test]
async fn destroy_with_swarm1_keeps_a_swarm_sis_did_not_make() {
    let spec = spec();
    let hosts = hosts();
    // Made by hand: no label.
    hosts["h1"]
        .swarm1_init(Some("10.0.0.1"), BTreeMap::new())
        .await
        .unwrap();
    let observed = observe(&spec, &hosts).await;
    let destroy = plan_destroy(&spec, &observed, DestroyOptions { swarm1: true });
    assert!(destroy.is_empty(), "{}", render_text(&destroy));
    assert_eq!(
        destroy.notes,
        ["swarm1 was not created by sis for cluster demo (no reachable swarm1 manager carries sis.swarm1-created-by=demo); leaving it in place"]
    );
    run(&destroy, &spec, &hosts).await;
    assert_eq!(hosts["h1"].state().swarm1.state, "active");
    assert!(hosts["h1"].calls_of(Op::Swarm1Leave).is_empty());
}
