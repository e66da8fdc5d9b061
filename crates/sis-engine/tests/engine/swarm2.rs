//! swarm2's operations in real nodes: two nodes on ring2net form a swarm.

use sis_engine::{ContainerSpec, HostEngine, JoinOutcome};
use sis_types::{NodeProfile, Role};

use crate::support::{engine, ensure_swarm1, local_caps_missing, net, Scratch, NODE_IMAGE};
use crate::READY;

#[tokio::test]
async fn two_nodes_form_swarm2_and_the_join_token_is_on_no_command_line() {
    let host = engine().await;
    ensure_swarm1(&host).await;
    let since = format!("{}", unix_now());
    let scratch = Scratch::new("swarm2", 2);
    let network = scratch.name("ring2net");
    host.create_network(&network, net(&scratch.subnet).into(), scratch.labels())
        .await
        .unwrap();
    let (a, b) = (scratch.name("1"), scratch.name("2"));
    for name in [&a, &b] {
        let spec = ContainerSpec {
            name: name.clone(),
            hostname: name.clone(),
            image: NODE_IMAGE.to_string(),
            cmd: vec![],
            labels: scratch.labels(),
            network: Some(network.clone()),
            profile: Some(NodeProfile::Capabilities {
                cap_drop: local_caps_missing(),
            }),
            publish: vec![],
            ipv4_address: None,
            restart_unless_stopped: false,
        };
        host.run_container(&spec).await.unwrap();
    }
    for name in [&a, &b] {
        host.wait_node_ready(name, READY).await.unwrap();
    }
    let ip = |name: &str| {
        let host = &host;
        let network = &network;
        let name = name.to_string();
        async move { host.container_ip(&name, network).await.unwrap().unwrap() }
    };
    let (addr_a, addr_b) = (ip(&a).await, ip(&b).await);

    assert_eq!(host.swarm2_local_state(&a).await.unwrap().state, "inactive");
    host.swarm2_init(&a, &addr_a).await.unwrap();
    host.swarm2_init(&a, &addr_a).await.unwrap();
    let token = host.swarm2_join_token(&a, Role::Worker).await.unwrap();
    assert!(token.starts_with("SWMTKN-"), "not a join token");
    let join = || host.swarm2_join(&b, &token, &addr_a, &addr_b);
    assert_eq!(join().await.unwrap(), JoinOutcome::Joined);
    // Again: dockerd refuses, and the node's own state says it is in that swarm, as the ID
    // the manager lists.
    let JoinOutcome::Member { node_id, manager } = join().await.unwrap() else {
        panic!("a second join is refused with the node's own ID");
    };
    assert!(!manager);
    let listed = host.swarm2_node_list(&a).await.unwrap();
    assert!(listed.iter().any(|e| e.id == node_id), "{listed:?}");

    let local_a = host.swarm2_local_state(&a).await.unwrap();
    assert!(local_a.control_available && local_a.cluster_id.is_some());
    let local_b = host.swarm2_local_state(&b).await.unwrap();
    assert!(local_b.is_member_via(&addr_a), "{local_b:?}");
    let list = host.swarm2_node_list(&a).await.unwrap();
    let shown: Vec<_> = list
        .iter()
        .map(|n| (n.hostname.as_str(), n.manager_status.as_str()))
        .collect();
    assert_eq!(shown, [(a.as_str(), "leader"), (b.as_str(), "")]);
    assert!(host.swarm2_node_list(&b).await.is_err(), "a worker");

    // The token was in the joins' environment only: dockerd's events, which name the
    // command of every exec, show it nowhere.
    let until = format!("{}", unix_now() + 1);
    let events = std::process::Command::new("docker")
        .args(["events", "--since", &since, "--until", &until])
        .args([
            "--filter",
            &format!("container={b}"),
            "--format",
            "{{.Action}}",
        ])
        .output()
        .expect("docker events");
    let events = String::from_utf8_lossy(&events.stdout);
    assert!(events.contains("swarm join --token"), "{events}");
    assert!(!events.contains(&token), "an exec shows the token");

    host.swarm2_set_role(&a, &b, Role::Manager).await.unwrap();
    // The list shows a promotion once the new manager has taken part (seconds).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let list = host.swarm2_node_list(&a).await.unwrap();
        if list.iter().all(|n| n.is_manager()) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{list:?}");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    host.swarm2_set_role(&a, &b, Role::Worker).await.unwrap();

    assert!(host.swarm2_ingress(&a).await.unwrap());
    host.swarm2_set_ingress(&a, false).await.unwrap();
    assert!(!host.swarm2_ingress(&a).await.unwrap());

    host.swarm2_leave(&b).await.unwrap();
    host.swarm2_leave(&b).await.unwrap();
    // A refused join does not quote the token.
    let wrong = format!("{token}x");
    let e = host
        .swarm2_join(&b, &wrong, &addr_a, &addr_b)
        .await
        .unwrap_err();
    assert!(!format!("{e:?}").contains(&wrong), "{e:?}");

    let gone = host.swarm2_node_list(&a).await.unwrap();
    let entry = gone.iter().find(|n| n.hostname == b).unwrap().id.clone();
    host.swarm2_node_rm(&a, &entry).await.unwrap();
    host.swarm2_node_rm(&a, &entry).await.unwrap();
    let left: Vec<_> = host.swarm2_node_list(&a).await.unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
