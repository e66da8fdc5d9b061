//! Classic mode (`swarm2.mode: classic`) against the local engine: etcd as the K/V store,
//! `swarm manage` published on a free host port, one `swarm join` agent per node. The
//! manager's own `docker info` is the oracle. With TLS (the default) the test reaches the
//! manager as a user does: with the client certificate copied out of the CA's container.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::{docker, docker_quiet, sis, wait_for, Cluster};

/// Offline images built by tests/engine-up.sh.
const SWARM_IMAGE: &str = "sis-swarm:test";
const ETCD_IMAGE: &str = "sis-etcd:test";

/// Without TLS nodes start dockerd with a plain TCP listener (15 s of start-up delay each) and
/// agents register every 10 s, so the manager needs a while; bounded all the same.
const SETTLE: Duration = Duration::from_secs(240);

pub(crate) fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn spec(c: &Cluster, nodes: u32, port: u16, tls: bool) -> PathBuf {
    let extra = format!(
        "  mode: classic\n  publish: {port}\n  preload: [sis-workload:test]\n  classic:\n    image: {SWARM_IMAGE}\n    tls: {tls}\n\
         kvstore:\n  kind: etcd\n  host: local\n  image: {ETCD_IMAGE}\n"
    );
    c.spec(nodes, 1, &extra)
}

/// How the docker CLI reaches the manager: its endpoint, with the client certificate's
/// directory when the manager wants TLS.
pub(crate) struct Manager {
    pub endpoint: String,
    pub certs: Option<PathBuf>,
}

impl Manager {
    pub(crate) fn plain(port: u16) -> Manager {
        Manager {
            endpoint: format!("tcp://127.0.0.1:{port}"),
            certs: None,
        }
    }

    /// `-H ENDPOINT` and, with TLS, `--tlsverify` and the certificate files, then `args`.
    pub(crate) fn args<'a>(&'a self, args: &[&'a str]) -> Vec<String> {
        let mut all = Vec::new();
        if let Some(dir) = &self.certs {
            all.push("--tlsverify".to_string());
            for (flag, file) in [
                ("--tlscacert", "ca.pem"),
                ("--tlscert", "cert.pem"),
                ("--tlskey", "key.pem"),
            ] {
                all.push(format!("{flag}={}", dir.join(file).display()));
            }
        }
        all.extend(["-H".to_string(), self.endpoint.clone()]);
        all.extend(args.iter().map(|a| a.to_string()));
        all
    }

    pub(crate) fn docker(&self, args: &[&str]) -> String {
        let all = self.args(args);
        docker(&all.iter().map(String::as_str).collect::<Vec<_>>())
    }

    fn docker_quiet(&self, args: &[&str]) -> String {
        let all = self.args(args);
        docker_quiet(&all.iter().map(String::as_str).collect::<Vec<_>>())
    }
}

/// Copies the client certificate out of the cluster's CA container (`docker cp`, through
/// `docker_prefix`: `[]` for the local engine, `["-H", HOST]` for a lab host) into `dir`.
pub(crate) fn client_certs(docker_prefix: &[&str], cluster: &str, dir: &Path) -> PathBuf {
    let source = format!("{cluster}.sis-ca:/tls/client");
    let target = dir.join("client");
    let _ = std::fs::remove_dir_all(&target);
    let mut args = docker_prefix.to_vec();
    args.extend(["cp", &source, target.to_str().unwrap()]);
    docker(&args);
    for file in ["ca.pem", "cert.pem", "key.pem"] {
        assert!(
            target.join(file).is_file(),
            "no {file} in {}",
            target.display()
        );
    }
    target
}

/// `(name, status)` of every node the manager lists.
pub(crate) fn manager_nodes(manager: &Manager) -> Vec<(String, String)> {
    let out = manager.docker_quiet(&["info", "--format", "{{json .SystemStatus}}"]);
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

pub(crate) fn wait_healthy(manager: &Manager, n: usize) -> Vec<(String, String)> {
    wait_for(
        &format!("the manager to list exactly {n} nodes, all Healthy"),
        SETTLE,
        || {
            let nodes = manager_nodes(manager);
            (nodes.len() == n && nodes.iter().all(|(_, s)| s == "Healthy")).then_some(nodes)
        },
    )
}

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

fn status_json(spec: &Path) -> serde_json::Value {
    let run = sis(&["status", spec.to_str().unwrap(), "--output", "json"]);
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
    let spec = |nodes| spec(&c, nodes, port, false);
    let m = Manager::plain(port);

    let start = Instant::now();
    let run = sis(&["apply", spec(6).to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    let applied = start.elapsed();
    wait_healthy(&m, 6);
    eprintln!(
        "classic: sis apply of 6 nodes took {:.1} s, 6 Healthy after {:.1} s",
        applied.as_secs_f64(),
        start.elapsed().as_secs_f64()
    );

    // Re-apply changes nothing.
    let run = sis(&["apply", spec(6).to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("No changes."), "{run:?}");

    // sis status reports the manager's view and the K/V store's health, keys and latency.
    let run = sis(&["status", spec(6).to_str().unwrap()]);
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
    let json = status_json(&spec(6));
    assert_eq!(json["kvstore"]["healthy"], true, "{json}");
    assert_eq!(json["kvstore"]["kind"], "etcd", "{json}");
    assert!(json["kvstore"]["keys"].as_u64().unwrap() > 0, "{json}");
    for field in ["write_us", "read_us", "delete_us"] {
        assert!(json["kvstore"][field].as_u64().is_some(), "{field}: {json}");
    }

    // An overlay network made through the manager is global on every node.
    let net = format!("{}-app", c.name);
    m.docker(&["network", "create", "-d", "overlay", &net]);
    for node in node_names(&c) {
        assert_network_global(&[], &node, &net);
    }

    // 12 workload containers through the manager spread over the nodes and reach each other.
    let mut names = Vec::new();
    for i in 1..=12 {
        let name = format!("{}-w{i}", c.name);
        m.docker(&[
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
    let placed = m.docker(&["ps", "--format", "{{.Names}}"]);
    let nodes_used: std::collections::BTreeSet<&str> = placed
        .lines()
        .filter_map(|l| l.split_once('/').map(|(n, _)| n))
        .collect();
    assert!(nodes_used.len() >= 4, "placed on {nodes_used:?}: {placed}");
    let ping = m.docker(&["exec", &names[0], "ping", "-c", "1", "-W", "5", &names[11]]);
    assert!(
        ping.contains("1 packets received") || ping.contains("1 received"),
        "{ping}"
    );
    for name in &names {
        m.docker_quiet(&["rm", "-f", name]);
    }
    m.docker_quiet(&["network", "rm", &net]);

    // Grow to 8, then shrink to 4: node and agent move together, the manager follows.
    let run = sis(&["apply", spec(8).to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    wait_healthy(&m, 8);
    let run = sis(&["apply", spec(4).to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    wait_healthy(&m, 4);
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

    // Restarting the K/V store: every node Healthy again.
    docker(&["restart", &format!("{}.kvstore", c.name)]);
    wait_healthy(&m, 4);

    // A stopped K/V store is unhealthy in sis status, with the reason; started again, every
    // node is Healthy again.
    let kvstore = format!("{}.kvstore", c.name);
    docker(&["stop", &kvstore]);
    let run = sis(&["status", spec(4).to_str().unwrap()]);
    let kv = kvstore_line(&run.stdout);
    assert!(
        kv.contains("UNHEALTHY: no connection to ")
            && kv.contains(&format!("container {kvstore} exited")),
        "{kv}"
    );
    let json = status_json(&spec(4));
    assert_eq!(json["kvstore"]["healthy"], false, "{json}");
    assert!(
        json["kvstore"]["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("no connection to ")),
        "{json}"
    );
    docker(&["start", &kvstore]);
    wait_healthy(&m, 4);
    let run = sis(&["status", spec(4).to_str().unwrap()]);
    assert!(kvstore_line(&run.stdout).contains(": healthy, "), "{run:?}");

    // A killed K/V store is started again by the next apply, not replaced: the overlay
    // networks made through the manager live in it and are still there.
    let kept = format!("{}-kept", c.name);
    m.docker(&["network", "create", "-d", "overlay", &kept]);
    docker(&["kill", &kvstore]);
    let run = sis(&["apply", spec(4).to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("start K/V store") && run.stdout.contains("0 added"),
        "{run:?}"
    );
    wait_healthy(&m, 4);
    let listed = m.docker(&["network", "ls", "--format", "{{.Name}}"]);
    assert!(listed.lines().any(|l| l == kept), "{listed}");
    m.docker_quiet(&["network", "rm", &kept]);

    // Destroy leaves nothing of the cluster.
    let run = sis(&["destroy", spec(4).to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(c.leftovers(), Vec::<String>::new());
}

/// Runs `docker ARGS`, which must fail; returns what it said.
pub(crate) fn docker_fails(args: &[&str]) -> String {
    let out = std::process::Command::new("docker")
        .args(args)
        .output()
        .expect("run docker");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "docker {args:?} succeeded: {said}");
    said
}

#[test]
fn classic_with_tls_lists_every_node_healthy_and_refuses_plain_connections() {
    let mut c = Cluster::new("ctls");
    c.subnet = format!("10.203.{}.0/24", 16 + std::process::id() % 200);
    let port = free_port();
    let path = spec(&c, 6, port, true);
    let path = path.to_str().unwrap();

    let plan = sis(&["plan", path]);
    assert!(
        plan.stdout
            .contains(&format!("make the cluster's CA, kept in {}.sis-ca", c.name)),
        "{plan:?}"
    );
    assert!(
        plan.stdout.contains("with TLS (client certificate"),
        "{plan:?}"
    );

    // Keys are made and copied during the apply: none in its logs at -vv or its JSON.
    let start = Instant::now();
    let run = crate::survive::sis_default_log(&["-vv", "apply", path, "--output", "json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let applied = start.elapsed();
    assert!(
        run.stderr.lines().count() > 10,
        "-vv logs something: {run:?}"
    );
    for (what, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(
            !text.contains("PRIVATE KEY"),
            "a private key in apply's {what}"
        );
    }
    let m = Manager {
        endpoint: format!("tcp://127.0.0.1:{port}"),
        certs: Some(client_certs(&[], &c.name, &c.dir)),
    };
    wait_healthy(&m, 6);
    eprintln!(
        "classic with TLS: sis apply of 6 nodes took {:.1} s, 6 Healthy after {:.1} s",
        applied.as_secs_f64(),
        start.elapsed().as_secs_f64()
    );

    // Without a client certificate the manager serves no one.
    docker_fails(&["-H", &m.endpoint, "info"]);

    // A node's API is TLS only: a plain request to 2376 is refused, 2375 is closed, and a
    // client with a certificate of the cluster's CA gets in.
    let nodes = node_names(&c);
    let address = docker(&[
        "inspect",
        "--format",
        &format!(
            "{{{{with index .NetworkSettings.Networks \"{}\"}}}}{{{{.IPAddress}}}}{{{{end}}}}",
            c.network()
        ),
        &nodes[1],
    ]);
    let address = address.trim();
    let from_first = |target: &str, tls: bool| {
        let mut args = vec!["exec".to_string(), nodes[0].clone(), "docker".to_string()];
        if tls {
            args.push("--tlsverify".to_string());
            for (flag, file) in [
                ("--tlscacert", "ca.pem"),
                ("--tlscert", "cert.pem"),
                ("--tlskey", "key.pem"),
            ] {
                args.push(format!("{flag}=/etc/sis/tls/{file}"));
            }
        }
        args.extend([
            "-H".to_string(),
            format!("tcp://{target}"),
            "version".to_string(),
            "--format".to_string(),
            "{{.Server.Version}}".to_string(),
        ]);
        args
    };
    let plain = from_first(&format!("{address}:2376"), false);
    let said = docker_fails(&plain.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(said.contains("HTTPS"), "{said}");
    let closed = from_first(&format!("{address}:2375"), false);
    docker_fails(&closed.iter().map(String::as_str).collect::<Vec<_>>());
    let with_cert = from_first(&format!("{address}:2376"), true);
    let version = docker(&with_cert.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(version.trim().starts_with("20."), "{version}");

    // sis status asks the manager with a node's certificate.
    let run = sis(&["status", path]);
    assert!(
        run.stdout.contains("swarm2 (classic): 6 nodes: 6 healthy"),
        "{run:?}"
    );

    // An overlay network made through the manager is global on every node.
    let net = format!("{}-app", c.name);
    m.docker(&["network", "create", "-d", "overlay", &net]);
    for node in &nodes {
        assert_network_global(&[], node, &net);
    }
    m.docker(&["network", "rm", &net]);

    // Re-apply changes nothing: the CA kept on the host signs nothing new.
    let run = sis(&["apply", path]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("No changes."), "{run:?}");

    let run = sis(&["destroy", path]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(c.leftovers(), Vec::<String>::new());
}

/// Waits until network `net` shows in node container `node` (reached through `docker` with
/// `via` first, e.g. `-H` and a lab host's address) and asserts that it is global: made
/// through classic Swarm's manager, it spans every node.
pub fn assert_network_global(via: &[&str], node: &str, net: &str) {
    let scope = wait_for(&format!("{net} on {node}"), Duration::from_secs(30), || {
        let mut args = via.to_vec();
        args.extend([
            "exec",
            node,
            "docker",
            "network",
            "inspect",
            "--format",
            "{{.Scope}}",
            net,
        ]);
        let out = docker_quiet(&args);
        (!out.trim().is_empty()).then(|| out.trim().to_string())
    });
    assert_eq!(scope, "global", "{net} on node {node} ({via:?})");
}
