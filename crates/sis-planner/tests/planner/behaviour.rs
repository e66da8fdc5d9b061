//! Single decisions of the planner, each on a fixture changed in one place.

use sis_planner::{plan, plan_destroy, render_text, DestroyOptions};
use sis_types::{
    labels, Action, HostFacts, HostObservation, Observed, Phase, Plan, Swarm1Membership,
};

use crate::{cases, model};

fn facts_mut<'a>(o: &'a mut Observed, host: &str) -> &'a mut HostFacts {
    match o.hosts.get_mut(host) {
        Some(HostObservation::Reachable(f)) => f,
        _ => panic!("{host} is reachable in the fixture"),
    }
}

fn phase(p: &Plan, phase: Phase) -> Vec<String> {
    p.phases
        .iter()
        .filter(|ph| ph.phase == phase)
        .flat_map(|ph| ph.actions.iter().map(|a| a.action.describe()))
        .collect()
}

fn problems(spec: &sis_spec::Spec, o: &Observed) -> String {
    plan(spec, o).expect_err("the plan is refused").to_string()
}

#[test]
fn images_are_found_under_their_normalised_names() {
    let yaml = std::fs::read_to_string(cases::fixture_dir("converged").join("spec.yaml")).unwrap();
    let spec = cases::spec_from(&format!("{yaml}kvstore: {{kind: consul, host: local}}\n"));
    let mut o = cases::observed("converged");
    let f = facts_mut(&mut o, "local");
    f.images = ["docker.io/library/sis-node:test", "progrium/consul:latest"]
        .map(String::from)
        .into();
    let p = plan(&spec, &o).unwrap();
    assert!(phase(&p, Phase::Images).is_empty(), "{}", render_text(&p));

    facts_mut(&mut o, "local").images = ["sis-node:other".to_string()].into();
    let p = plan(&spec, &o).unwrap();
    assert_eq!(
        phase(&p, Phase::Images),
        [
            "pull image sis-node:test on host local",
            "pull image progrium/consul on host local"
        ]
    );
}

#[test]
fn nodes_are_ordered_by_number_not_by_text() {
    let spec = cases::spec_from(
        &std::fs::read_to_string(cases::fixture_dir("empty").join("spec.yaml"))
            .unwrap()
            .replace("nodes: 3", "nodes: 11"),
    );
    let p = plan(&spec, &cases::observed("empty")).unwrap();
    let created = phase(&p, Phase::Nodes);
    assert_eq!(
        created[8],
        "create node demo.local-9 on host local at 10.9.0.24"
    );
    assert_eq!(
        created[9],
        "create node demo.local-10 on host local at 10.9.0.25"
    );
    assert_eq!(
        created[10],
        "create node demo.local-11 on host local at 10.9.0.26"
    );
}

#[test]
fn a_crowded_host_gets_a_warning_not_a_refusal() {
    let spec = cases::spec("empty");
    let mut o = cases::observed("empty");
    let f = facts_mut(&mut o, "local");
    f.cpus = 0;
    f.memory_bytes = 100_000_000;
    let p = plan(&spec, &o).unwrap();
    assert_eq!(
        p.warnings,
        ["host local has 0.1 GiB of memory and may not hold 3 nodes calmly (an idle node takes about 50 MB: 0.1 GiB)"]
    );

    let spec = cases::spec_from(
        &std::fs::read_to_string(cases::fixture_dir("empty").join("spec.yaml"))
            .unwrap()
            .replace("nodes: 3", "nodes: 140"),
    );
    // Past the estimate too: planned only with --ignore-capacity, and warned both ways.
    let options = sis_planner::PlanOptions {
        ignore_capacity: true,
    };
    let p = sis_planner::plan_with(&spec, &cases::observed("empty"), &options).unwrap();
    assert!(
        p.warnings.contains(&"host local has 2 CPUs and may not hold 140 nodes calmly (sis counts on about 66 idle nodes per CPU)".to_string()),
        "{:?}",
        p.warnings
    );
    let text = render_text(&p);
    assert!(text.contains("\nwarning: host local has 2 CPUs"), "{text}");
}

#[test]
fn an_observation_of_another_cluster_is_refused() {
    let mut o = cases::observed("converged");
    o.cluster = "other".into();
    let e = problems(&cases::spec("converged"), &o);
    assert!(e.contains("observed state is of cluster `other`"), "{e}");
}

#[test]
fn hosts_half_way_into_a_swarm_are_refused_with_advice() {
    let spec = cases::spec("drift");
    let mut o = cases::observed("drift");
    facts_mut(&mut o, "b").swarm1.state = "pending".into();
    let e = problems(&spec, &o);
    assert!(
        e.contains("host `b` (tcp://172.20.0.12:2375) is still joining a swarm"),
        "{e}"
    );
    assert!(e.contains("docker swarm leave --force"), "{e}");
}

#[test]
fn a_worker_of_another_swarm_is_told_apart_by_its_managers() {
    let spec = cases::spec("drift");
    let mut o = cases::observed("drift");
    facts_mut(&mut o, "b").swarm1.managers = vec!["10.1.1.1:2377".into()];
    let e = problems(&spec, &o);
    assert!(
        e.contains(
            "host `b` (tcp://172.20.0.12:2375) is in another swarm (managers 10.1.1.1:2377)"
        ),
        "{e}"
    );
}

#[test]
fn workers_without_a_manager_host_are_refused() {
    let spec = cases::spec("drift");
    let mut o = cases::observed("drift");
    let s = &mut facts_mut(&mut o, "a").swarm1;
    s.is_manager = false;
    s.cluster_id = None;
    let e = problems(&spec, &o);
    assert!(
        e.contains("hosts a, b are swarm1 workers, but no spec host is a swarm1 manager"),
        "{e}"
    );
}

#[test]
fn the_network_is_judged_by_managers_not_workers() {
    // In the drift fixture, worker b does not list ring2net: nothing to create.
    let p = plan(&cases::spec("drift"), &cases::observed("drift")).unwrap();
    assert!(phase(&p, Phase::Network).is_empty());
    // When no manager lists it, it is created through the manager.
    let mut o = cases::observed("drift");
    facts_mut(&mut o, "a").networks.clear();
    let p = plan(&cases::spec("drift"), &o).unwrap();
    assert_eq!(
        phase(&p, Phase::Network),
        ["create network ring2net 10.9.0.0/16 (Docker hands out 10.9.128.0/17) via host a"]
    );
}

#[test]
fn stray_node_containers_are_removed() {
    let mut o = cases::observed("converged");
    let f = facts_mut(&mut o, "local");
    let mut renamed_host = f.containers[2].clone();
    renamed_host.id = "stray1".into();
    renamed_host.name = "demo.old-1".into();
    renamed_host
        .labels
        .insert(labels::HOST.into(), "old".into());
    let mut no_index = f.containers[2].clone();
    no_index.id = "stray2".into();
    no_index.name = "demo.local-x".into();
    no_index.labels.insert(labels::INDEX.into(), "x".into());
    f.containers.extend([renamed_host, no_index]);
    let p = plan(&cases::spec("converged"), &o).unwrap();
    let removed: Vec<_> = p
        .actions()
        .filter(|a| matches!(a.action, Action::RemoveNode { .. }))
        .map(|a| format!("{}  ({})", a.action.describe(), a.reason))
        .collect();
    assert_eq!(
        removed,
        [
            "remove node demo.local-x on host local  (no valid sis.index label (x))",
            "remove node demo.old-1 on host local  (made for host old, which is not in the spec)",
        ]
    );
}

#[test]
fn an_exited_kvstore_is_started_with_its_data_a_dead_one_replaced_an_unwanted_one_removed() {
    let yaml = std::fs::read_to_string(cases::fixture_dir("converged").join("spec.yaml")).unwrap();
    let with_kv = cases::spec_from(&format!("{yaml}kvstore: {{kind: consul, host: local}}\n"));
    let three = cases::observed("three-hosts");
    let kv = three.hosts["a"]
        .facts()
        .unwrap()
        .containers
        .iter()
        .find(|c| c.label(labels::ROLE) == Some(labels::ROLE_KVSTORE))
        .unwrap()
        .clone();
    let with_state = |state: &str| {
        let mut o = cases::observed("converged");
        let f = facts_mut(&mut o, "local");
        f.images.insert("progrium/consul".into());
        f.containers.push(sis_types::ContainerObservation {
            state: state.into(),
            ..kv.clone()
        });
        o
    };
    let kv_actions = |o: &Observed| -> Vec<String> {
        plan(&with_kv, o)
            .unwrap()
            .actions()
            .map(|a| format!("{}  ({})", a.action.describe(), a.reason))
            .collect()
    };
    // Stopped (killed, or its host restarted without it): started again, its data kept.
    assert_eq!(
        kv_actions(&with_state("exited")),
        ["start K/V store demo.kvstore on host local  (container is exited; started again with its data)"]
    );
    // Paused (sis chaos pause) or restarting: left alone.
    assert!(kv_actions(&with_state("paused")).is_empty());
    assert!(kv_actions(&with_state("restarting")).is_empty());
    // Dead: it cannot start as it is, so it is made again.
    assert_eq!(
        kv_actions(&with_state("dead")),
        [
            "remove K/V store demo.kvstore on host local  (container is dead)",
            "create consul K/V store demo.kvstore on host local at 10.9.0.2  (replaces the removed one (container is dead))",
        ]
    );
    let p = plan(&cases::spec("converged"), &with_state("exited")).unwrap();
    assert_eq!(
        p.actions().map(|a| a.reason.as_str()).collect::<Vec<_>>(),
        ["the spec has no K/V store"]
    );
}

#[test]
fn a_host_network_overlapping_the_spec_subnet_is_refused() {
    let spec = cases::spec("converged");
    let mut o = cases::observed("converged");
    let f = facts_mut(&mut o, "local");
    let mut bridge = f.networks[0].clone();
    bridge.id = "b1".into();
    bridge.name = "lan".into();
    bridge.driver = "bridge".into();
    bridge.scope = "local".into();
    bridge.labels.clear();
    bridge.subnets = vec!["10.9.4.0/24".parse().unwrap()];
    f.networks.push(bridge.clone());
    let want = spec.network.subnet;
    assert_eq!(
        problems(&spec, &o),
        format!("network.subnet {want} of network `{}` overlaps network `lan` (10.9.4.0/24) on host `local`; set another network.subnet in the spec, or remove network lan (`docker network rm lan` on host local)", spec.network.name)
    );
    // A network clear of the spec's subnet is no concern.
    facts_mut(&mut o, "local").networks[1].subnets = vec!["172.17.0.0/16".parse().unwrap()];
    assert!(plan(&spec, &o).is_ok());
}

#[test]
fn destroy_leaves_networks_that_are_not_the_clusters() {
    let mut o = cases::observed("converged");
    let net = &mut facts_mut(&mut o, "local").networks[0];
    net.labels.clear();
    net.subnets = vec!["10.8.0.0/16".parse().unwrap()];
    let p = plan_destroy(&cases::spec("converged"), &o, DestroyOptions::default());
    assert!(phase(&p, Phase::NetworkRemove).is_empty());
    assert_eq!(phase(&p, Phase::NodesRemove).len(), 3);
}

#[test]
fn destroy_with_swarm1_after_an_apply_from_scratch_leaves_the_hosts_out_of_any_swarm() {
    let spec = cases::spec("three-hosts");
    let mut state = cases::observed("three-hosts");
    state.swarm2 = None;
    for host in ["a", "b", "c"] {
        let f = facts_mut(&mut state, host);
        f.swarm1 = Swarm1Membership {
            state: "inactive".into(),
            ..Swarm1Membership::default()
        };
        f.containers.clear();
        f.networks.clear();
    }
    for _ in 0..4 {
        let p = plan(&spec, &state).unwrap();
        if p.is_empty() {
            break;
        }
        state = model::apply(&state, &p).unwrap();
    }
    assert!(plan(&spec, &state).unwrap().is_empty(), "not converged");
    assert_eq!(
        facts_mut(&mut state, "a").swarm1.created_by.as_deref(),
        Some("demo")
    );

    let p = plan_destroy(&spec, &state, DestroyOptions { swarm1: true });
    assert_eq!(
        phase(&p, Phase::Swarm1Leave),
        [
            "host b leaves swarm1",
            "host c leaves swarm1",
            "host a leaves swarm1 (--force)"
        ]
    );
    let mut after = model::apply(&state, &p).unwrap();
    for host in ["a", "b", "c"] {
        let f = facts_mut(&mut after, host);
        assert_eq!(f.swarm1.state, "inactive", "host {host}");
        assert!(f.containers.is_empty(), "host {host}: {:?}", f.containers);
        assert!(f.networks.is_empty(), "host {host}: {:?}", f.networks);
    }
}

#[test]
fn destroy_with_swarm1_keeps_a_swarm1_made_for_another_cluster_and_hosts_of_another_swarm() {
    let spec = cases::spec("swarm1-made-by-sis");
    let mut o = cases::observed("swarm1-made-by-sis");
    for host in ["a", "c"] {
        facts_mut(&mut o, host).swarm1.created_by = Some("other".into());
    }
    let p = plan_destroy(&spec, &o, DestroyOptions { swarm1: true });
    assert!(phase(&p, Phase::Swarm1Leave).is_empty());
    assert_eq!(
        p.notes,
        ["swarm1 was created by sis for cluster other, not demo; leaving it in place"]
    );

    // Host b is a worker of a swarm whose managers are elsewhere: it stays there.
    let mut o = cases::observed("swarm1-made-by-sis");
    facts_mut(&mut o, "b").swarm1.managers = vec!["192.0.2.9:2377".into()];
    let p = plan_destroy(&spec, &o, DestroyOptions { swarm1: true });
    assert_eq!(
        phase(&p, Phase::Swarm1Leave),
        [
            "host c leaves swarm1 (--force)",
            "host a leaves swarm1 (--force)"
        ]
    );
    assert_eq!(
        p.notes,
        ["host b is in another swarm than the one sis made for cluster demo; it stays there"]
    );

    // No host in a swarm: nothing to leave, and the plan says why.
    for host in ["a", "b", "c"] {
        facts_mut(&mut o, host).swarm1 = Swarm1Membership {
            state: "inactive".into(),
            ..Swarm1Membership::default()
        };
    }
    let p = plan_destroy(&spec, &o, DestroyOptions { swarm1: true });
    assert!(phase(&p, Phase::Swarm1Leave).is_empty());
    assert_eq!(
        p.notes,
        ["no reachable host of the spec is in a swarm; no swarm1 to leave"]
    );
}

#[test]
fn an_empty_plan_says_so_after_its_notes() {
    let p = plan(&cases::spec("converged"), &cases::observed("converged")).unwrap();
    assert!(p.is_empty());
    assert!(render_text(&p).ends_with(")\n\nNo changes. The hosts match the spec.\n"));
    let bare = Plan::default();
    assert_eq!(
        render_text(&bare),
        "No changes. The hosts match the spec.\n"
    );
}

#[test]
fn nodes_of_a_host_that_could_not_be_probed_wait_for_its_image() {
    // Host c has no image at all, so its capability bounding set could not be read.
    let spec = cases::spec("three-hosts");
    let mut o = cases::observed("three-hosts");
    facts_mut(&mut o, "c").cap_bnd = None;
    facts_mut(&mut o, "c").caps_missing.clear();
    let p = plan(&spec, &o).unwrap();
    let text = render_text(&p);
    assert!(
        phase(&p, Phase::Images).contains(&"copy image sis-node:test from host a to host c".into()),
        "{text}"
    );
    assert!(
        p.notes
            .iter()
            .any(|n| n.starts_with("nodes on host c are created in a later pass")),
        "{text}"
    );
    assert!(!p.notes.iter().any(|n| n.contains("unknown")), "{text}");
    let on_c = |a: &&sis_types::PlannedAction| matches!(&a.action, Action::CreateNode { host, .. } | Action::JoinSwarm2 { host, .. } if host == "c");
    assert_eq!(p.actions().filter(on_c).count(), 0, "{text}");
    assert_eq!(
        phase(&p, Phase::Nodes).len(),
        2,
        "b's nodes are created: {text}"
    );

    // Once the image is there, the host is probed and its nodes are planned.
    let f = facts_mut(&mut o, "c");
    f.images.insert("sis-node:test".into());
    f.cap_bnd = Some(((1u64 << 41) - 1) & !(1 << 24));
    f.caps_missing = vec!["SYS_RESOURCE".into()];
    let p = plan(&spec, &o).unwrap();
    assert_eq!(p.actions().filter(on_c).count(), 4, "{}", render_text(&p));
}

#[test]
fn swarm2_waits_when_its_first_manager_must() {
    // One host, fresh and without any image: nothing to init swarm2 on yet.
    let spec = cases::spec("empty");
    let mut o = cases::observed("empty");
    facts_mut(&mut o, "local").cap_bnd = None;
    facts_mut(&mut o, "local").caps_missing.clear();
    let p = plan(&spec, &o).unwrap();
    let text = render_text(&p);
    assert!(phase(&p, Phase::Nodes).is_empty(), "{text}");
    assert!(phase(&p, Phase::Swarm2Init).is_empty(), "{text}");
    assert!(phase(&p, Phase::Swarm2Join).is_empty(), "{text}");
    assert_eq!(
        phase(&p, Phase::Images),
        [
            "pull image sis-node:test on host local",
            "pull image progrium/consul on host local"
        ],
        "{text}"
    );
}

#[test]
fn a_network_that_hands_out_every_address_is_refused() {
    // Made by an older sis: Docker could hand a node's fixed address to another container.
    let mut o = cases::observed("converged");
    facts_mut(&mut o, "local").networks[0].ip_range = None;
    assert_eq!(
        problems(&cases::spec("converged"), &o),
        "network `ring2net` on host `local` hands out every address of its subnet, but sis gives nodes fixed addresses in the lower half and needs Docker to hand out 10.9.128.0/17 only, else nodes could be handed each other's addresses; it was made by an older sis: run `sis destroy` and `sis apply` again, so sis makes it anew"
    );
}

#[test]
fn a_running_node_away_from_its_fixed_address_is_replaced() {
    let mut o = cases::observed("converged");
    facts_mut(&mut o, "local").containers[1].ring2net_ip = Some("10.9.200.7".into());
    let p = plan(&cases::spec("converged"), &o).unwrap();
    let created: Vec<_> = p
        .actions()
        .filter(|a| matches!(a.action, Action::CreateNode { .. }))
        .map(|a| format!("{}  ({})", a.action.describe(), a.reason))
        .collect();
    assert_eq!(
        created,
        ["create node demo.local-2 on host local at 10.9.0.17  (its address on ring2net is 10.9.200.7, not its fixed 10.9.0.17)"]
    );
}

#[test]
fn swarm2_joins_carry_the_fixed_addresses() {
    let p = plan(&cases::spec("empty"), &cases::observed("empty")).unwrap();
    let swarm2: Vec<_> = p
        .actions()
        .filter_map(|a| match &a.action {
            Action::InitSwarm2 { address, .. } => Some(format!("init {address}")),
            Action::JoinSwarm2 {
                address,
                manager_address,
                ..
            } => Some(format!("join {address} via {manager_address}")),
            _ => None,
        })
        .collect();
    assert_eq!(
        swarm2,
        [
            "init 10.9.0.16",
            "join 10.9.0.17 via 10.9.0.16",
            "join 10.9.0.18 via 10.9.0.16"
        ]
    );
}
