//! Classic mode (`swarm2.mode: classic`) planned against the model of the hosts: converging,
//! growing, shrinking, a dead agent, and re-applying.

use sis_planner::{plan, plan_destroy, DestroyOptions};
use sis_types::{labels, Action, ContainerState, Observed, Phase, Plan};

use crate::{cases, model};

fn converge(spec: &sis_spec::Spec, mut state: Observed) -> Observed {
    for _ in 0..4 {
        let p = plan(spec, &state).unwrap();
        if p.is_empty() {
            return state;
        }
        state = model::apply(&state, &p).unwrap();
    }
    panic!("not converged: {:#?}", plan(spec, &state).unwrap());
}

fn with_nodes(nodes: u32) -> sis_spec::Spec {
    let text = std::fs::read_to_string(cases::fixture_dir("classic-empty").join("spec.yaml"))
        .unwrap()
        .replace("nodes: 3", &format!("nodes: {nodes}"));
    cases::spec_from(&text)
}

fn described(p: &Plan, phase: Phase) -> Vec<String> {
    p.phases
        .iter()
        .filter(|x| x.phase == phase)
        .flat_map(|x| x.actions.iter().map(|a| a.action.describe()))
        .collect()
}

fn containers(state: &Observed, role: &str) -> Vec<String> {
    let mut names: Vec<String> = state.hosts["local"]
        .facts()
        .unwrap()
        .containers
        .iter()
        .filter(|c| c.label(labels::ROLE) == Some(role))
        .map(|c| c.name.clone())
        .collect();
    names.sort();
    names
}

#[test]
fn the_converged_recording_is_what_the_model_converges_to() {
    let spec = cases::spec("classic-empty");
    let state = converge(&spec, cases::observed("classic-empty"));
    assert_eq!(containers(&state, labels::ROLE_AGENT).len(), 3);
    assert_eq!(containers(&state, labels::ROLE_MANAGER), ["demo.manager"]);
    let path = cases::fixture_dir("classic-converged").join("observed.json");
    let recorded: Observed =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_default())
            .unwrap_or_default();
    if std::env::var_os("SIS_UPDATE_FIXTURES").is_some() {
        let text = serde_json::to_string_pretty(&state).unwrap() + "\n";
        std::fs::write(&path, text).unwrap();
    } else {
        assert!(
            plan(&spec, &recorded).unwrap().is_empty(),
            "stale: SIS_UPDATE_FIXTURES=1"
        );
    }
}

fn spec_text() -> String {
    std::fs::read_to_string(cases::fixture_dir("classic-empty").join("spec.yaml")).unwrap()
}

fn plain() -> sis_spec::Spec {
    cases::spec_from(&spec_text().replace(
        "  classic:\n    image: sis-swarm:test\n",
        "  classic:\n    image: sis-swarm:test\n    tls: false\n",
    ))
}

fn node_args_and_agent(p: &Plan) -> (Vec<String>, String, Vec<String>) {
    let node = p
        .actions()
        .find_map(|a| match &a.action {
            Action::CreateNode { args, address, .. } => Some((args.clone(), address.to_string())),
            _ => None,
        })
        .unwrap();
    let agent = p
        .actions()
        .find_map(|a| match &a.action {
            Action::CreateClassicAgent { cmd, .. } => Some(cmd.clone()),
            _ => None,
        })
        .unwrap();
    (node.0, node.1, agent)
}

#[test]
fn nodes_carry_the_cluster_store_and_agents_their_fixed_addresses() {
    let p = plan(&plain(), &cases::observed("classic-empty")).unwrap();
    let (args, address, agent) = node_args_and_agent(&p);
    assert_eq!(
        args,
        [
            "--cluster-store=etcd://10.9.0.2:2379",
            "--cluster-advertise=eth0:2375",
            "-H",
            "tcp://0.0.0.0:2375"
        ]
    );
    assert_eq!(address, "10.9.0.16");
    assert_eq!(
        agent,
        [
            "join",
            "--heartbeat=10s",
            "--ttl=30s",
            "--addr=10.9.0.16:2375",
            "etcd://10.9.0.2:2379/swarm"
        ]
    );
    assert!(described(&p, Phase::KvStore)
        .iter()
        .all(|a| !a.contains("CA")));
}

#[test]
fn with_tls_a_ca_comes_first_and_nodes_and_the_manager_get_certificates_for_their_names() {
    let p = plan(
        &cases::spec("classic-empty"),
        &cases::observed("classic-empty"),
    )
    .unwrap();
    assert!(described(&p, Phase::KvStore)
        .contains(&"make the cluster's CA, kept in demo.sis-ca on host local".to_string()));
    let (args, _, agent) = node_args_and_agent(&p);
    assert_eq!(
        args,
        [
            "--cluster-store=etcd://10.9.0.2:2379",
            "--cluster-advertise=eth0:2376",
            "-H",
            "tcp://0.0.0.0:2376",
            "--tlsverify",
            "--tlscacert=/etc/sis/tls/ca.pem",
            "--tlscert=/etc/sis/tls/cert.pem",
            "--tlskey=/etc/sis/tls/key.pem"
        ]
    );
    assert_eq!(agent[3], "--addr=10.9.0.16:2376");
    for a in p.actions() {
        match &a.action {
            Action::CreateNode { name, tls, .. } if name == "demo.local-1" => {
                let tls = tls.as_ref().unwrap();
                assert_eq!(
                    (tls.ca_host.as_str(), tls.ca.as_str()),
                    ("local", "demo.sis-ca")
                );
                assert_eq!(tls.names, ["10.9.0.16", "demo.local-1"]);
            }
            Action::CreateClassicManager { cmd, tls, .. } => {
                assert!(cmd.contains(&"--tlsverify".to_string()), "{cmd:?}");
                let names = &tls.as_ref().unwrap().names;
                assert_eq!(
                    names[..4],
                    ["10.9.0.3", "demo.manager", "127.0.0.1", "localhost"]
                );
            }
            _ => {}
        }
    }
}

#[test]
fn a_lost_ca_is_made_again_and_what_the_old_one_signed_is_replaced() {
    let spec = with_nodes(2);
    let mut state = converge(&spec, cases::observed("classic-empty"));
    assert_eq!(containers(&state, labels::ROLE_CA), ["demo.sis-ca"]);
    match state.hosts.get_mut("local").unwrap() {
        sis_types::HostObservation::Reachable(f) => f
            .containers
            .retain(|c| c.label(labels::ROLE) != Some(labels::ROLE_CA)),
        _ => unreachable!(),
    }
    let p = plan(&spec, &state).unwrap();
    let reasons: Vec<String> = p
        .actions()
        .filter(|a| {
            matches!(
                a.action,
                Action::RemoveNode { .. } | Action::RemoveClassicManager { .. }
            )
        })
        .map(|a| a.reason.clone())
        .collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(
        reasons
            .iter()
            .all(|r| r.contains("which no host keeps any more")),
        "{reasons:?}"
    );
    let state = converge(&spec, model::apply(&state, &p).unwrap());
    assert!(plan(&spec, &state).unwrap().is_empty());
}

#[test]
fn turning_tls_off_replaces_the_nodes_and_removes_the_ca() {
    let state = converge(&with_nodes(2), cases::observed("classic-empty"));
    let p = plan(&plain(), &state).unwrap();
    assert!(p.replaces_most, "apply asks for --allow-replace-all");
    let removed = described(&p, Phase::NodesRemove);
    for want in [
        "remove node demo.local-1 on host local",
        "remove classic swarm manager demo.manager on host local",
        "remove the cluster's CA demo.sis-ca on host local",
    ] {
        assert!(removed.contains(&want.to_string()), "{want}: {removed:?}");
    }
    let state = converge(&plain(), state);
    assert!(containers(&state, labels::ROLE_CA).is_empty());
}

#[test]
fn grow_and_shrink_move_node_and_agent_pairs() {
    let state = converge(&with_nodes(3), cases::observed("classic-empty"));
    let grow = plan(&with_nodes(5), &state).unwrap();
    assert_eq!(
        described(&grow, Phase::Swarm2Join),
        [
            "create swarm agent demo.local-4.agent of node demo.local-4 on host local",
            "create swarm agent demo.local-5.agent of node demo.local-5 on host local"
        ]
    );
    let state = converge(&with_nodes(5), state);
    let shrink = plan(&with_nodes(2), &state).unwrap();
    let mut removed = described(&shrink, Phase::NodesRemove);
    removed.sort();
    assert_eq!(
        removed,
        [
            "remove node demo.local-3 on host local",
            "remove node demo.local-4 on host local",
            "remove node demo.local-5 on host local",
            "remove swarm agent demo.local-3.agent on host local",
            "remove swarm agent demo.local-4.agent on host local",
            "remove swarm agent demo.local-5.agent on host local",
        ]
    );
    assert!(shrink.phases.iter().all(|x| x.phase != Phase::Swarm2Shrink));
    let state = converge(&with_nodes(2), state);
    assert_eq!(
        containers(&state, labels::ROLE_AGENT),
        ["demo.local-1.agent", "demo.local-2.agent"]
    );
}

#[test]
fn a_dead_agent_is_replaced_and_its_node_kept() {
    let spec = with_nodes(3);
    let mut state = converge(&spec, cases::observed("classic-empty"));
    let facts = match state.hosts.get_mut("local").unwrap() {
        sis_types::HostObservation::Reachable(f) => f,
        _ => unreachable!(),
    };
    let agent = facts
        .containers
        .iter_mut()
        .find(|c| c.name == "demo.local-2.agent")
        .unwrap();
    agent.state = ContainerState::Exited;
    let p = plan(&spec, &state).unwrap();
    assert_eq!(
        p.actions().map(|a| a.action.describe()).collect::<Vec<_>>(),
        [
            "remove swarm agent demo.local-2.agent on host local",
            "create swarm agent demo.local-2.agent of node demo.local-2 on host local"
        ]
    );
}

#[test]
fn destroy_takes_agents_and_the_manager_too() {
    let spec = with_nodes(2);
    let state = converge(&spec, cases::observed("classic-empty"));
    let p = plan_destroy(&spec, &state, DestroyOptions::default());
    let after = model::apply(&state, &p).unwrap();
    // The CA's container too.
    assert!(after.hosts["local"].facts().unwrap().containers.is_empty());
}

#[test]
fn swarm_mode_removes_what_classic_mode_left() {
    let state = converge(&with_nodes(2), cases::observed("classic-empty"));
    let text = std::fs::read_to_string(cases::fixture_dir("classic-empty").join("spec.yaml"))
        .unwrap()
        .replace("  mode: classic\n", "")
        .replace("  classic:\n    image: sis-swarm:test\n", "");
    let p = plan(&cases::spec_from(&text), &state).unwrap();
    let removed = described(&p, Phase::NodesRemove);
    assert!(
        removed.contains(&"remove classic swarm manager demo.manager on host local".to_string()),
        "{removed:?}"
    );
    assert!(removed.contains(&"remove swarm agent demo.local-1.agent on host local".to_string()));
}

#[test]
fn the_kvstore_command_follows_its_image() {
    let cmd = |kind: &str, image: &str| {
        let text = std::fs::read_to_string(cases::fixture_dir("classic-empty").join("spec.yaml"))
            .unwrap()
            .replace("kind: etcd", &format!("kind: {kind}"))
            .replace("image: sis-etcd:test", &format!("image: {image}"));
        let p = plan(&cases::spec_from(&text), &cases::observed("classic-empty")).unwrap();
        let found = p
            .actions()
            .find_map(|a| match &a.action {
                Action::CreateKvStore { cmd, address, .. } => {
                    assert_eq!(address.to_string(), "10.9.0.2");
                    Some(cmd.join(" "))
                }
                _ => None,
            })
            .unwrap();
        found
    };
    assert_eq!(cmd("consul", "progrium/consul"), "-server -bootstrap");
    assert_eq!(
        cmd("consul", "hashicorp/consul:1.20"),
        "agent -server -bootstrap-expect=1 -client=0.0.0.0"
    );
    let etcd = "--enable-v2 --listen-client-urls http://0.0.0.0:2379 --advertise-client-urls http://10.9.0.2:2379";
    assert_eq!(cmd("etcd", "sis-etcd:test"), etcd);
    assert_eq!(
        cmd("etcd", "quay.io/coreos/etcd:v3.5.17"),
        format!("etcd {etcd}")
    );
}
