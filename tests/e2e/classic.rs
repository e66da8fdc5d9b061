//! Classic mode (`swarm2.mode: classic`) against the local engine: etcd as the K/V store,
//! `swarm manage` published on a free host port, one `swarm join` agent per node. The
//! manager's own `docker info` is the oracle.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::support::{docker, docker_quiet, sis, wait_for, Cluster};

/// Offline images built by tests/engine-up.sh.
const SWARM_IMAGE: &str = "sis-swarm:test";
const ETCD_IMAGE: &str = "sis-etcd:test";

/// Nodes start dockerd with a plain TCP listener (15 s of start-up delay each) and agents
/// register every 10 s, so the manager needs a while; bounded all the same.
const SETTLE: Duration = Duration::from_secs(240);

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn spec(c: &Cluster, nodes: u32, port: u16) -> PathBuf {
    let extra = format!(
        "  mode: classic\n  publish: {port}\n  preload: [sis-workload:test]\n  classic:\n    image: {SWARM_IMAGE}\n\
         kvstore:\n  kind: etcd\n  host: local\n  image: {ETCD_IMAGE}\n"
    );
    c.spec(nodes, 1, &extra)
}

/// `(name, status)` of every node the manager lists.
fn manager_nodes(port: u16) -> Vec<(String, String)> {
    let out = docker_quiet(&[
        "-H",
        &format!("tcp://127.0.0.1:{port}"),
        "info",
        "--format",
        "{{json .SystemStatus}}",
    ]);
    let rows: Vec<[String; 2]> = serde_json::from_str(out.trim()).unwrap_or_default();
    let mut nodes: Vec<(String, String)> = Vec::new();
    for [key, value] in rows {
        if key.trim_start().starts_with('└') {
            if key.contains("Status") {
                if let Some(last) = nodes.last_mut() {
                    last.1 = value;
                }
            }
        } else if key.starts_with(' ') {
            nodes.push((key.trim().to_string(), String::new()));
        }
    }
    nodes
}

fn wait_healthy(port: u16, n: usize) -> Vec<(String, String)> {
    wait_for(
        &format!("the manager to list exactly {n} nodes, all Healthy"),
        SETTLE,
        || {
            let nodes = manager_nodes(port);
            (nodes.len() == n && nodes.iter().all(|(_, s)| s == "Healthy")).then_some(nodes)
        },
    )
}

/// The `kvstore …` line of `sis status`.
fn kvstore_line(status: &str) -> String {
    status
        .lines()
        .find(|l| l.starts_with("kvstore "))
        .unwrap_or_else(|| panic!("no kvstore line in:\n{status}"))
        .to_string()
}

/// The key count of a `kvstore …: healthy, N keys, …` line.
fn keys_of(line: &str) -> u64 {
    line.split(", ")
        .find_map(|part| part.strip_suffix(" keys")?.parse().ok())
        .unwrap_or_else(|| panic!("no key count in {line}"))
}

fn status_json(c: &Cluster, nodes: u32, port: u16) -> serde_json::Value {
    let run = sis(&[
        "status",
        spec(c, nodes, port).to_str().unwrap(),
        "--output",
        "json",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

fn node_names(c: &Cluster) -> Vec<String> {
    c.node_ids().into_iter().map(|(n, _)| n).collect()
}

#[test]
fn classic_swarm_over_etcd_grows_shrinks_and_is_destroyed() {
    let c = Cluster::new("classic");
    let port = free_port();

    let start = Instant::now();
    let run = sis(&["apply", spec(&c, 6, port).to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    let applied = start.elapsed();
    wait_healthy(port, 6);
    eprintln!(
        "classic: sis apply of 6 nodes took {:.1} s, 6 Healthy after {:.1} s",
        applied.as_secs_f64(),
        start.elapsed().as_secs_f64()
    );

    // Re-apply changes nothing.
    let run = sis(&["apply", spec(&c, 6, port).to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("No changes."), "{run:?}");

    // sis status reports the manager's view and the K/V store's health, keys and latency.
    let run = sis(&["status", spec(&c, 6, port).to_str().unwrap()]);
    assert!(
        run.stdout.contains("swarm2 (classic): 6 nodes: 6 healthy"),
        "{run:?}"
    );
    let kv = kvstore_line(&run.stdout);
    assert!(kv.contains(": healthy, "), "{kv}");
    assert!(keys_of(&kv) > 0, "no key after 6 nodes registered: {kv}");
    assert!(
        kv.contains(" write ") && kv.contains(" ms read ") && !kv.contains("? ms"),
        "{kv}"
    );
    let json = status_json(&c, 6, port);
    assert_eq!(json["kvstore"]["healthy"], true, "{json}");
    assert_eq!(json["kvstore"]["kind"], "etcd", "{json}");
    assert!(json["kvstore"]["keys"].as_u64().unwrap() > 0, "{json}");
    for field in ["write_us", "read_us", "delete_us"] {
        assert!(json["kvstore"][field].as_u64().is_some(), "{field}: {json}");
    }

    // An overlay network made through the manager is global on every node.
    let net = format!("{}-app", c.name);
    let manager = format!("tcp://127.0.0.1:{port}");
    docker(&["-H", &manager, "network", "create", "-d", "overlay", &net]);
    for node in node_names(&c) {
        let scope = wait_for(&format!("{net} on {node}"), Duration::from_secs(30), || {
            let out = docker_quiet(&[
                "exec",
                &node,
                "docker",
                "network",
                "inspect",
                "--format",
                "{{.Scope}}",
                &net,
            ]);
            (!out.trim().is_empty()).then(|| out.trim().to_string())
        });
        assert_eq!(scope, "global", "node {node}");
    }

    // 12 workload containers through the manager spread over the nodes and reach each other.
    let mut names = Vec::new();
    for i in 1..=12 {
        let name = format!("{}-w{i}", c.name);
        docker(&[
            "-H",
            &manager,
            "run",
            "-d",
            "--name",
            &name,
            "--net",
            &net,
            "sis-workload:test",
            "sleep",
            "600",
        ]);
        names.push(name);
    }
    let placed = docker(&["-H", &manager, "ps", "--format", "{{.Names}}"]);
    let nodes_used: std::collections::BTreeSet<&str> = placed
        .lines()
        .filter_map(|l| l.split_once('/').map(|(n, _)| n))
        .collect();
    assert!(nodes_used.len() >= 4, "placed on {nodes_used:?}: {placed}");
    let ping = docker(&[
        "-H", &manager, "exec", &names[0], "ping", "-c", "1", "-W", "5", &names[11],
    ]);
    assert!(
        ping.contains("1 packets received") || ping.contains("1 received"),
        "{ping}"
    );
    for name in &names {
        docker_quiet(&["-H", &manager, "rm", "-f", name]);
    }
    docker_quiet(&["-H", &manager, "network", "rm", &net]);

    // Grow to 8, then shrink to 4: node and agent move together, the manager follows.
    let run = sis(&["apply", spec(&c, 8, port).to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    wait_healthy(port, 8);
    let run = sis(&["apply", spec(&c, 4, port).to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    wait_healthy(port, 4);
    let agents = docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("label=sis.cluster={}", c.name),
        "--filter",
        "label=sis.role=agent",
        "--format",
        "{{.Names}}",
    ]);
    assert_eq!(agents.lines().count(), 4, "{agents}");

    // A stopped K/V store is unhealthy in sis status, with the reason; started again, every
    // node is Healthy again.
    let kvstore = format!("{}.kvstore", c.name);
    docker(&["stop", &kvstore]);
    let run = sis(&["status", spec(&c, 4, port).to_str().unwrap()]);
    let kv = kvstore_line(&run.stdout);
    assert!(
        kv.contains("UNHEALTHY: no connection to ")
            && kv.contains(&format!("container {kvstore} exited")),
        "{kv}"
    );
    let json = status_json(&c, 4, port);
    assert_eq!(json["kvstore"]["healthy"], false, "{json}");
    assert!(
        json["kvstore"]["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("no connection to ")),
        "{json}"
    );
    docker(&["start", &kvstore]);
    wait_healthy(port, 4);
    let run = sis(&["status", spec(&c, 4, port).to_str().unwrap()]);
    assert!(kvstore_line(&run.stdout).contains(": healthy, "), "{run:?}");

    // A killed K/V store is started again by the next apply, not replaced: the overlay
    // networks made through the manager live in it and are still there.
    let kept = format!("{}-kept", c.name);
    docker(&["-H", &manager, "network", "create", "-d", "overlay", &kept]);
    docker(&["kill", &format!("{}.kvstore", c.name)]);
    let run = sis(&["apply", spec(&c, 4, port).to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("start K/V store") && run.stdout.contains("0 added"),
        "{run:?}"
    );
    wait_healthy(port, 4);
    let listed = docker(&["-H", &manager, "network", "ls", "--format", "{{.Name}}"]);
    assert!(listed.lines().any(|l| l == kept), "{listed}");
    docker_quiet(&["-H", &manager, "network", "rm", &kept]);

    // Destroy leaves nothing of the cluster.
    let run = sis(&["destroy", spec(&c, 4, port).to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(c.leftovers(), Vec::<String>::new());
}
