//! `DockerHost` against a real Docker engine (dockerd 20.10 here). Run with
//! `cargo test -p sis-engine`; `tests/engine-up.sh` provides the engine and the node image.

mod ownership;
mod support;
mod swarm2;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use sis_engine::{ContainerSpec, EngineError, HostEngine, LockOutcome};
use sis_types::{labels, NodeProfile, Role};

use support::{
    engine, ensure_swarm1, in_subnet24, local_cap_bnd, local_caps_missing, net, Scratch, NODE_IMAGE,
};

const READY: Duration = Duration::from_secs(60);
const EXEC: Duration = Duration::from_secs(30);

fn node_spec(scratch: &Scratch, name: &str, profile: NodeProfile) -> ContainerSpec {
    ContainerSpec {
        name: name.to_string(),
        hostname: name.to_string(),
        image: NODE_IMAGE.to_string(),
        cmd: vec![],
        labels: scratch.labels(),
        network: None,
        profile: Some(profile),
        publish: vec![],
        ipv4_address: None,
        restart_unless_stopped: false,
    }
}

/// The profile that works on this host: all capabilities but the ones it lacks.
fn capability_profile() -> NodeProfile {
    NodeProfile::Capabilities {
        cap_drop: local_caps_missing(),
    }
}

#[tokio::test]
async fn observe_of_a_host_without_the_cluster_shows_the_engine_and_nothing_of_it() {
    let host = engine().await;
    let scratch = Scratch::new("empty", 4);
    let facts = host
        .observe(&scratch.cluster, &scratch.name("net"))
        .await
        .unwrap();
    assert!(facts.containers.is_empty(), "{:?}", facts.containers);
    // Only the host's own networks with an IPv4 subnet (its bridges), none of the cluster's.
    let net = scratch.name("net");
    assert!(
        facts
            .networks
            .iter()
            .all(|n| n.name != net && !n.subnets.is_empty()),
        "{:?}",
        facts.networks
    );
    assert!(
        facts.version.contains('.'),
        "engine version {:?}",
        facts.version
    );
    assert!(
        facts.api_version.starts_with("1."),
        "{:?}",
        facts.api_version
    );
    assert!(facts.cpus >= 1 && facts.memory_bytes > 0);
    assert!(facts.images.contains(NODE_IMAGE));
    assert!(facts.images.iter().any(|i| i.starts_with("sha256:")));
    // The probe reads the same bounding set as this process sees for pid 1.
    assert_eq!(facts.cap_bnd, Some(local_cap_bnd()));
    assert_eq!(facts.caps_missing, local_caps_missing());
}

#[tokio::test]
async fn a_capability_profile_node_runs_on_ring2net_answers_exec_and_is_removed_with_its_volume() {
    let host = engine().await;
    ensure_swarm1(&host).await;
    // A second init of a manager is a no-op: the swarm gets no label either.
    let claim = BTreeMap::from([(
        labels::SWARM1_CREATED_BY.to_string(),
        "sis-t-not-the-creator".to_string(),
    )]);
    host.swarm1_init(Some("127.0.0.1"), claim).await.unwrap();
    let swarm1 = host.observe("sis-t-node", "none").await.unwrap().swarm1;
    assert!(swarm1.is_manager, "{swarm1:?}");
    assert_ne!(
        swarm1.created_by.as_deref(),
        Some("sis-t-not-the-creator"),
        "an init of a manager changed its swarm's labels"
    );
    let scratch = Scratch::new("node", 0);
    let network = scratch.name("ring2net");
    host.create_network(&network, net(&scratch.subnet).into(), scratch.labels())
        .await
        .unwrap();
    let name = scratch.name("1");
    let spec = ContainerSpec {
        network: Some(network.clone()),
        ..node_spec(&scratch, &name, capability_profile())
    };

    let started = Instant::now();
    host.run_container(&spec).await.unwrap();
    let created = started.elapsed();
    host.wait_node_ready(&name, READY).await.unwrap();
    println!(
        "run_container {:.2} s, then wait_node_ready: ready {:.2} s after the run began",
        created.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    // Running it again leaves it as it is.
    host.run_container(&spec).await.unwrap();

    let info = host
        .exec(&name, vec!["docker".into(), "info".into()], EXEC)
        .await
        .unwrap();
    assert_eq!(info.exit_code, 0, "docker info in the node: {info:?}");
    assert!(info.stdout.contains("Server Version"), "{}", info.stdout);
    let failing = host
        .exec(
            &name,
            vec!["sh".into(), "-c".into(), "echo oops >&2; exit 3".into()],
            EXEC,
        )
        .await
        .unwrap();
    assert_eq!((failing.exit_code, failing.stderr.as_str()), (3, "oops\n"));
    let slow = host
        .exec(
            &name,
            vec!["sleep".into(), "5".into()],
            Duration::from_millis(300),
        )
        .await
        .unwrap_err();
    assert!(matches!(slow, EngineError::Timeout { .. }), "{slow}");

    // A restarted node is ready only once its new dockerd is: its log still holds the
    // ready line of the first run.
    let docker = bollard::Docker::connect_with_local_defaults().unwrap();
    docker.stop_container(&name, None).await.unwrap();
    host.start_container(&name).await.unwrap();
    host.wait_node_ready(&name, READY).await.unwrap();
    let info = host
        .exec(&name, vec!["docker".into(), "info".into()], EXEC)
        .await
        .unwrap();
    assert_eq!(info.exit_code, 0, "docker info after the restart: {info:?}");

    let facts = host.observe(&scratch.cluster, &network).await.unwrap();
    let [node] = facts.containers.as_slice() else {
        panic!("one container expected: {:?}", facts.containers)
    };
    assert_eq!(node.name, name);
    assert!(node.is_running(), "{node:?}");
    assert_eq!(node.label(labels::ROLE), Some(labels::ROLE_NODE));
    let ip = node.ring2net_ip.clone().expect("an address on ring2net");
    assert!(
        in_subnet24(&ip, &scratch.subnet),
        "{ip} in {}",
        scratch.subnet
    );
    assert_eq!(host.container_ip(&name, &network).await.unwrap(), Some(ip));
    let named: Vec<_> = facts
        .networks
        .iter()
        .filter(|n| n.name == network)
        .collect();
    let [ring2net] = named.as_slice() else {
        panic!("the network expected: {:?}", facts.networks)
    };
    assert_eq!(
        (ring2net.driver.as_str(), ring2net.attachable),
        ("overlay", true)
    );
    assert_eq!(ring2net.subnets, vec![net(&scratch.subnet)]);

    let inspected = docker.inspect_container(&name, None).await.unwrap();
    let host_config = inspected.host_config.unwrap();
    assert_eq!(host_config.masked_paths, Some(vec![]));
    assert_eq!(host_config.privileged, Some(false));
    let volume = inspected
        .mounts
        .unwrap_or_default()
        .into_iter()
        .find(|m| m.destination.as_deref() == Some("/var/lib/docker"))
        .and_then(|m| m.name)
        .expect("an anonymous volume on /var/lib/docker");

    host.remove_container(&name).await.unwrap();
    host.remove_container(&name).await.unwrap();
    let gone = docker.inspect_volume(&volume).await.unwrap_err();
    assert!(format!("{gone}").contains("404"), "volume {volume}: {gone}");
    let facts = host.observe(&scratch.cluster, &network).await.unwrap();
    assert!(facts.containers.is_empty());
    host.remove_network(&network).await.unwrap();
    host.remove_network(&network).await.unwrap();
}

#[tokio::test]
async fn a_node_whose_dockerd_exits_fails_the_wait_with_its_last_log_lines() {
    let host = engine().await;
    let scratch = Scratch::new("exits", 4);
    let name = scratch.name("1");
    let spec = ContainerSpec {
        cmd: vec!["--no-such-flag".into()],
        ..node_spec(&scratch, &name, capability_profile())
    };
    host.run_container(&spec).await.unwrap();
    let e = host.wait_node_ready(&name, READY).await.unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("stopped before its dockerd was ready"),
        "{text}"
    );
    assert!(text.contains("no-such-flag"), "{text}");
}

#[tokio::test]
async fn the_lock_goes_to_one_taker_at_a_time() {
    let host = engine().await;
    let scratch = Scratch::new("lock", 4);
    let name = scratch.name("lock");
    let labels = BTreeMap::from([
        (labels::CLUSTER.to_string(), scratch.cluster.clone()),
        (labels::ROLE.to_string(), labels::ROLE_LOCK.to_string()),
    ]);
    let first = host.acquire_lock(&name, "first", labels.clone()).await;
    let LockOutcome::Acquired { id: first } = first.unwrap() else {
        panic!("the lock was free")
    };
    match host
        .acquire_lock(&name, "second", labels.clone())
        .await
        .unwrap()
    {
        LockOutcome::Held(held) => {
            assert_eq!(held.owner, "first");
            assert_eq!(held.id, first);
            assert!(held.since.starts_with("20"), "since {:?}", held.since);
            assert_eq!(held.labels.get(labels::CLUSTER), Some(&scratch.cluster));
        }
        LockOutcome::Acquired { .. } => panic!("the lock was taken twice"),
    }
    let holder = host.lock_holder(&name).await.unwrap().expect("held");
    assert_eq!(holder.owner, "first");
    host.release_lock(&first).await.unwrap();
    host.release_lock(&first).await.unwrap();
    assert_eq!(host.lock_holder(&name).await.unwrap(), None);

    // Taken by exactly one of many concurrent takers.
    let takers = (0..8).map(|i| {
        let host = host.clone();
        let (name, labels) = (name.clone(), labels.clone());
        tokio::spawn(async move {
            host.acquire_lock(&name, &format!("taker {i}"), labels)
                .await
        })
    });
    let mut acquired = Vec::new();
    for taker in takers {
        if let LockOutcome::Acquired { id } = taker.await.unwrap().unwrap() {
            acquired.push(id);
        }
    }
    assert_eq!(acquired.len(), 1);
    host.release_lock(&acquired[0]).await.unwrap();
    let LockOutcome::Acquired { id: after } =
        host.acquire_lock(&name, "after", labels).await.unwrap()
    else {
        panic!("the lock was released")
    };
    // Releasing a lock object that is gone leaves the new one alone.
    host.release_lock(&acquired[0]).await.unwrap();
    assert_eq!(host.lock_holder(&name).await.unwrap().unwrap().id, after);
    host.release_lock(&after).await.unwrap();
}

#[tokio::test]
async fn creating_the_network_again_is_fine_but_not_with_another_or_overlapping_subnet() {
    let host = engine().await;
    ensure_swarm1(&host).await;
    let scratch = Scratch::new("net", 1);
    let network = scratch.name("ring2net");
    host.create_network(&network, net(&scratch.subnet).into(), scratch.labels())
        .await
        .unwrap();
    host.create_network(&network, net(&scratch.subnet).into(), scratch.labels())
        .await
        .unwrap();

    let other = support::subnet(2);
    let e = host
        .create_network(&network, net(&other).into(), scratch.labels())
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains(&scratch.subnet) && text.contains(&other),
        "{text}"
    );
    assert!(!e.is_transient());

    let inside = scratch.subnet.replace(".0/24", ".128/25");
    let e = host
        .create_network(
            &scratch.name("other"),
            net(&inside).into(),
            scratch.labels(),
        )
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(text.contains(&inside) && text.contains(&network), "{text}");
    assert!(text.contains("choose another"), "{text}");
}

#[tokio::test]
async fn a_missing_image_is_named_with_the_host() {
    let host = engine().await;
    let scratch = Scratch::new("noimage", 4);
    let spec = ContainerSpec {
        image: "sis-missing:never".into(),
        ..node_spec(&scratch, &scratch.name("1"), capability_profile())
    };
    let e = host.run_container(&spec).await.unwrap_err();
    let text = e.to_string();
    assert!(text.contains("sis-missing:never"), "{text}");
    assert!(text.contains(host.endpoint()), "{text}");
    assert!(text.contains("docker save"), "{text}");
    assert!(!e.is_transient());

    // A pull from a registry that is not there (on loopback) says what to do instead.
    let e = host
        .pull_image("127.0.0.1:9/sis-missing:never")
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("127.0.0.1:9/sis-missing:never"), "{text}");
    assert!(text.contains("swarm2.image"), "{text}");
    assert!(!e.is_transient(), "{text}");
}

#[tokio::test]
async fn privileged_nodes_run_only_on_hosts_with_every_capability() {
    let host = engine().await;
    let scratch = Scratch::new("privileged", 4);
    let name = scratch.name("1");
    let result = host
        .run_container(&node_spec(&scratch, &name, NodeProfile::Privileged))
        .await;
    let missing = local_caps_missing();
    if missing.is_empty() {
        result.unwrap();
        host.wait_node_ready(&name, READY).await.unwrap();
        return;
    }
    let e = result.unwrap_err();
    let text = e.to_string();
    assert!(text.contains("unable to apply caps"), "{text}");
    assert!(text.contains("privileged: auto"), "{text}");
    assert!(!e.is_transient());
    // The container that can never start is not left behind.
    let facts = host.observe(&scratch.cluster, "none").await.unwrap();
    assert!(facts.containers.is_empty(), "{:?}", facts.containers);
}

#[tokio::test]
async fn swarm1_join_of_an_engine_already_in_that_swarm_is_done() {
    let host = engine().await;
    ensure_swarm1(&host).await;
    let facts = host.observe("sis-t-swarm1", "none").await.unwrap();
    assert!(
        facts.swarm1.is_active() && facts.swarm1.is_manager,
        "{:?}",
        facts.swarm1
    );
    let token = host.swarm1_join_token(Role::Worker).await.unwrap();
    assert!(token.starts_with("SWMTKN-"));
    let manager = facts.swarm1.node_addr.clone().expect("the node's address");
    host.swarm1_join(vec![manager], token, None).await.unwrap();
}

/// The workload image built by `tests/workload-image/build.sh` (~2 MB).
use sis_test_support::WORKLOAD_IMAGE;

/// `export_image` of this engine, as `docker load` input.
fn archive(
    host: &sis_engine::DockerHost,
    image: &str,
) -> futures::stream::BoxStream<'static, Result<bytes::Bytes, std::io::Error>> {
    use futures::StreamExt;
    host.export_image(image)
        .map(|chunk| chunk.map_err(|e| std::io::Error::other(e.to_string())))
        .boxed()
}

#[tokio::test]
async fn an_exported_image_loads_into_a_node_and_a_broken_archive_is_refused() {
    use futures::StreamExt;
    let host = engine().await;
    let id = host
        .image_id(WORKLOAD_IMAGE)
        .await
        .unwrap()
        .unwrap_or_else(|| {
            panic!(
                "no image {WORKLOAD_IMAGE} on the engine: run tests/engine-up.sh, which builds it"
            )
        });
    let scratch = Scratch::new("load", 4);
    let name = scratch.name("1");
    host.run_container(&node_spec(&scratch, &name, capability_profile()))
        .await
        .unwrap();
    host.wait_node_ready(&name, READY).await.unwrap();

    // The archive breaks off after its first chunk: the load fails, says why, and ends.
    let broken = archive(&host, WORKLOAD_IMAGE)
        .take(1)
        .chain(futures::stream::once(async {
            Err(std::io::Error::other("the source went away"))
        }));
    let e = host
        .load_image_in_container(&name, broken, EXEC)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("the source went away"), "{e}");
    let inside = |args: &[&str]| {
        let cmd = args.iter().map(|a| a.to_string()).collect();
        let host = host.clone();
        let name = name.clone();
        async move { host.exec(&name, cmd, EXEC).await.unwrap() }
    };
    let none = inside(&["docker", "image", "inspect", WORKLOAD_IMAGE]).await;
    assert_ne!(
        none.exit_code, 0,
        "a broken archive left an image: {none:?}"
    );

    let start = Instant::now();
    host.load_image_in_container(&name, archive(&host, WORKLOAD_IMAGE), EXEC)
        .await
        .unwrap();
    eprintln!(
        "loaded {WORKLOAD_IMAGE} into a node in {:?}",
        start.elapsed()
    );
    let loaded = inside(&[
        "docker",
        "image",
        "inspect",
        "-f",
        "{{.Id}}",
        WORKLOAD_IMAGE,
    ])
    .await;
    assert_eq!(loaded.stdout.trim(), id, "{loaded:?}");

    // An image the engine does not have: the export's own error, naming the image.
    let e = host
        .load_image_in_container(&name, archive(&host, "sis-absent:1"), EXEC)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("sis-absent:1"), "{e}");
}

/// A container of the workload image on `network`, at `ip` if given.
fn workload_spec(
    scratch: &Scratch,
    name: &str,
    network: &str,
    ip: Option<std::net::Ipv4Addr>,
) -> ContainerSpec {
    ContainerSpec {
        image: WORKLOAD_IMAGE.to_string(),
        network: Some(network.to_string()),
        profile: None,
        ipv4_address: ip,
        restart_unless_stopped: true,
        ..node_spec(scratch, name, capability_profile())
    }
}

#[tokio::test]
async fn a_fixed_address_survives_a_restart_and_docker_hands_out_only_the_range() {
    let host = engine().await;
    ensure_swarm1(&host).await;
    let scratch = Scratch::new("fixed", 3);
    let network = scratch.name("ring2net");
    let subnet = net(&scratch.subnet);
    let at = |offset: u32| std::net::Ipv4Addr::from(u32::from(subnet.network()) + offset);
    let range: ipnet::Ipv4Net = ipnet::Ipv4Net::new(at(128), 25).unwrap();
    let addressing = sis_engine::NetworkAddressing {
        subnet,
        ip_range: Some(range),
        gateway: Some(at(1)),
    };
    host.create_network(&network, addressing, scratch.labels())
        .await
        .unwrap();
    let facts = host.observe(&scratch.cluster, &network).await.unwrap();
    let observed = facts.networks.iter().find(|n| n.name == network).unwrap();
    assert_eq!(observed.ip_range, Some(range));

    let fixed = scratch.name("fixed");
    host.run_container(&workload_spec(&scratch, &fixed, &network, Some(at(16))))
        .await
        .unwrap();
    let dynamic = scratch.name("dynamic");
    host.run_container(&workload_spec(&scratch, &dynamic, &network, None))
        .await
        .unwrap();
    let ip = |name: String| {
        let host = &host;
        let network = &network;
        async move { host.container_ip(&name, network).await.unwrap().unwrap() }
    };
    assert_eq!(ip(fixed.clone()).await, at(16).to_string());
    let handed: std::net::Ipv4Addr = ip(dynamic.clone()).await.parse().unwrap();
    assert!(range.contains(&handed), "{handed} is not in {range}");

    // A taken address is refused, by dockerd itself.
    let twin = scratch.name("twin");
    let e = host
        .run_container(&workload_spec(&scratch, &twin, &network, Some(at(16))))
        .await
        .unwrap_err();
    assert!(e.to_string().contains(&twin), "{e}");

    let docker = |args: &[&str]| {
        let out = std::process::Command::new("docker")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "docker {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let policy = docker(&[
        "inspect",
        "-f",
        "{{.HostConfig.RestartPolicy.Name}}",
        &fixed,
    ]);
    assert_eq!(policy, "unless-stopped");
    docker(&["restart", &fixed]);
    assert_eq!(ip(fixed.clone()).await, at(16).to_string());
}

fn file(path: &str, text: &str, mode: u32) -> sis_engine::ContainerFile {
    sis_engine::ContainerFile {
        path: path.to_string(),
        contents: text.as_bytes().to_vec(),
        mode,
    }
}

/// Files kept in a never-started container are read back as written; files given to a
/// container it finds before it starts, with their modes; and a second keep under the same
/// name leaves the first files (a CA is never overwritten).
#[tokio::test]
async fn files_are_kept_read_back_and_put_into_a_container_before_it_starts() {
    let host = engine().await;
    let scratch = Scratch::new("files", 3);
    let keeper = scratch.name("ca");
    let mut keep_labels = scratch.labels();
    keep_labels.insert(labels::ROLE.to_string(), labels::ROLE_CA.to_string());
    let kept = [
        file("/tls/ca.pem", "the certificate\n", 0o644),
        file("/tls/client/key.pem", "a key\n", 0o600),
    ];
    host.keep_files(&keeper, keep_labels.clone(), &kept)
        .await
        .unwrap();
    let other = [file("/tls/ca.pem", "another certificate\n", 0o644)];
    host.keep_files(&keeper, keep_labels, &other).await.unwrap();
    let mut read = host.read_files(&keeper, "/tls").await.unwrap();
    read.sort_by(|a, b| a.path.cmp(&b.path));
    assert_eq!(read, kept);

    let name = scratch.name("c");
    let spec = node_spec(&scratch, &name, capability_profile());
    let given = [
        file("/etc/sis/tls/cert.pem", "mine\n", 0o644),
        file("/etc/sis/tls/key.pem", "secret\n", 0o600),
    ];
    host.run_container_with_files(&spec, &given).await.unwrap();
    let out = host
        .exec(
            &name,
            vec!["cat".into(), "/etc/sis/tls/cert.pem".into()],
            EXEC,
        )
        .await
        .unwrap();
    assert_eq!(out.stdout, "mine\n");
    let mode = host
        .exec(
            &name,
            vec![
                "stat".into(),
                "-c".into(),
                "%a".into(),
                "/etc/sis/tls/key.pem".into(),
            ],
            EXEC,
        )
        .await
        .unwrap();
    assert_eq!(mode.stdout.trim(), "600");
}
