//! What the planner refuses to take for the cluster's: a network it did not make, and one
//! engine listed as two hosts.

use sis_planner::{plan, plan_destroy, DestroyOptions};
use sis_types::{labels, HostFacts, HostObservation, Observed, Phase, Plan};

use crate::cases;

fn facts_mut<'a>(o: &'a mut Observed, host: &str) -> &'a mut HostFacts {
    match o.hosts.get_mut(host) {
        Some(HostObservation::Reachable(f)) => f,
        _ => panic!("{host} is reachable in the fixture"),
    }
}

fn removes_network(p: &Plan) -> bool {
    p.phases.iter().any(|ph| ph.phase == Phase::NetworkRemove)
}

/// The converged fixture with its ring2net carrying `labels` instead of the cluster's.
fn with_network_labels(labels_: &[(&str, &str)]) -> Observed {
    let mut o = cases::observed("converged");
    facts_mut(&mut o, "local").networks[0].labels = labels_
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    o
}

fn external(mut spec: sis_spec::Spec) -> sis_spec::Spec {
    spec.network.external = true;
    spec
}

#[test]
fn an_unlabelled_network_of_the_spec_s_name_is_refused_with_the_ways_out() {
    let e = plan(&cases::spec("converged"), &with_network_labels(&[])).unwrap_err();
    assert_eq!(
        texts(&e),
        ["network `ring2net` on host `local` carries no sis.cluster label: sis did not make it, \
          not cluster demo's, so sis neither uses nor removes it; set `network.external: true` \
          in the spec to use it as it is (sis then never removes it), remove it (`docker network \
          rm ring2net` on host local) so sis makes its own labelled sis.cluster=demo, or set \
          another network.name"]
    );
}

#[test]
fn another_cluster_s_network_is_refused_naming_the_cluster() {
    let o = with_network_labels(&[(labels::CLUSTER, "other")]);
    let e = plan(&cases::spec("converged"), &o).unwrap_err();
    assert_eq!(e.problems.len(), 1, "{e}");
    assert!(
        texts(&e)[0].starts_with(
            "network `ring2net` on host `local` carries sis.cluster=other: cluster other's, not cluster demo's"
        ),
        "{e}"
    );
}

#[test]
fn an_external_network_is_used_as_it_is() {
    let p = plan(
        &external(cases::spec("converged")),
        &with_network_labels(&[]),
    )
    .unwrap();
    assert!(p.is_empty(), "{p:?}");
}

#[test]
fn destroy_removes_only_the_cluster_s_labelled_network() {
    let spec = cases::spec("converged");
    let labelled = plan_destroy(
        &spec,
        &cases::observed("converged"),
        DestroyOptions::default(),
    );
    assert!(removes_network(&labelled));

    // Same name and subnet, but not labelled: a user's, or another tool's.
    let p = plan_destroy(&spec, &with_network_labels(&[]), DestroyOptions::default());
    assert!(!removes_network(&p));
    assert!(
        p.notes.iter().any(|n| n
            == "network `ring2net` on host `local` carries no sis.cluster label: sis did not make it, not cluster demo's; it stays"),
        "{:?}",
        p.notes
    );

    let other = with_network_labels(&[(labels::CLUSTER, "other")]);
    assert!(!removes_network(&plan_destroy(
        &spec,
        &other,
        DestroyOptions::default()
    )));
}

#[test]
fn destroy_never_removes_an_external_network_even_one_with_the_cluster_s_label() {
    let spec = external(cases::spec("converged"));
    let p = plan_destroy(
        &spec,
        &cases::observed("converged"),
        DestroyOptions::default(),
    );
    assert!(!removes_network(&p));
    assert!(p
        .notes
        .contains(&"network ring2net is external (network.external: true); it stays".to_string()));
    assert_eq!(
        p.phases
            .iter()
            .find(|ph| ph.phase == Phase::NodesRemove)
            .map(|ph| ph.actions.len()),
        Some(3),
        "the nodes go all the same"
    );
}

#[test]
fn one_engine_listed_as_two_hosts_is_refused_naming_both() {
    let spec = cases::spec("three-hosts");
    let mut o = cases::observed("three-hosts");
    for host in ["a", "c"] {
        facts_mut(&mut o, host).engine_id = Some("3VKJ:FTEH".into());
    }
    facts_mut(&mut o, "b").engine_id = Some("OTHER".into());
    let e = plan(&spec, &o).unwrap_err();
    assert_eq!(
        texts(&e),
        [
            "hosts `a` (tcp://172.20.0.11:2375) and `c` (tcp://172.20.0.13:2375) are one Docker \
          engine (engine ID 3VKJ:FTEH); list each engine once in the spec, with the nodes of all \
          of them on that one host"
        ]
    );
}

#[test]
fn hosts_with_distinct_or_unknown_engine_ids_plan_as_before() {
    let spec = cases::spec("three-hosts");
    let before = plan(&spec, &cases::observed("three-hosts")).unwrap();
    let mut o = cases::observed("three-hosts");
    facts_mut(&mut o, "a").engine_id = Some("A".into());
    facts_mut(&mut o, "b").engine_id = Some("B".into());
    // c was recorded before engine IDs were observed.
    assert_eq!(plan(&spec, &o).unwrap(), before);
}

/// The problems as the user reads them.
fn texts(e: &sis_planner::PlanError) -> Vec<String> {
    e.problems.iter().map(ToString::to_string).collect()
}
