//! Restarts are normal: nodes keep their fixed ring2net address and their swarm2 state across
//! `docker restart`, a stop and start, and a restart of their whole host, and swarm2 comes back
//! by itself under its cluster ID with its node IDs; the next plan has nothing to do. Each test
//! prints its recovery time (`--nocapture` shows it).

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::lab::Lab;
use crate::path;
use crate::support::{docker, sis, Cluster};

/// How long swarm2 may take to come back by itself.
const RECOVERY: Duration = Duration::from_secs(240);

/// What swarm2 looks like from one of its managers: cluster ID and hostname → (node ID,
/// status).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Swarm2 {
    cluster_id: String,
    nodes: BTreeMap<String, (String, String)>,
}

/// Runs `docker ARGS` inside a node and returns its stdout, or `None` when it fails (the node
/// is restarting, its dockerd not answering yet, swarm2 has no leader).
type InNode<'a> = dyn Fn(&str, &[&str]) -> Option<String> + 'a;

fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// swarm2 as `manager` sees it, if it answers.
fn swarm2_of(in_node: &InNode, manager: &str) -> Option<Swarm2> {
    let cluster_id = in_node(manager, &["info", "--format", "{{.Swarm.Cluster.ID}}"])?;
    let list = in_node(
        manager,
        &[
            "node",
            "ls",
            "--format",
            "{{.Hostname}} {{.ID}} {{.Status}}",
        ],
    )?;
    let nodes = list
        .lines()
        .filter_map(|l| {
            let mut f = l.split(' ');
            let host = f.next()?.to_string();
            let id = f.next()?.to_string();
            let status = f.next()?.to_string();
            Some((host, (id, status)))
        })
        .collect();
    (!cluster_id.is_empty()).then_some(Swarm2 { cluster_id, nodes })
}

/// The managers of swarm2, as `manager` lists them.
fn managers_of(in_node: &InNode, manager: &str) -> Vec<String> {
    let list = in_node(
        manager,
        &[
            "node",
            "ls",
            "--filter",
            "role=manager",
            "--format",
            "{{.Hostname}}",
        ],
    )
    .expect("swarm2's managers");
    let mut managers: Vec<String> = list.lines().map(str::to_string).collect();
    managers.sort();
    managers
}

/// Waits until some manager of `managers` shows swarm2 as `before`, every node Ready; returns
/// the time since `since`. Fails after [`RECOVERY`] with what it saw last.
fn wait_recovered(
    what: &str,
    in_node: &InNode,
    managers: &[String],
    before: &Swarm2,
    since: Instant,
) -> Duration {
    let mut last = None;
    let mut delay = Duration::from_millis(100);
    loop {
        for m in managers {
            let Some(now) = swarm2_of(in_node, m) else {
                continue;
            };
            let back = now.cluster_id == before.cluster_id
                && now.nodes.len() == before.nodes.len()
                && now.nodes.iter().all(|(host, (id, status))| {
                    status == "Ready" && before.nodes.get(host).map(|(i, _)| i) == Some(id)
                });
            if back {
                return since.elapsed();
            }
            last = Some(now);
        }
        assert!(
            since.elapsed() < RECOVERY,
            "swarm2 did not come back after {what} within {} s: before {before:?}, last seen {last:?}",
            RECOVERY.as_secs()
        );
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_secs(1));
    }
}

/// `sis plan --detailed-exitcode` finds nothing to do.
fn assert_no_changes(spec: &std::path::Path) {
    let plan = sis(&["plan", path(spec), "--detailed-exitcode"]);
    assert_eq!(
        plan.code, 0,
        "the plan after recovery is not empty: {plan:?}"
    );
}

/// Each node's ring2net address on the local engine.
fn addresses(c: &Cluster) -> BTreeMap<String, String> {
    let format = format!(
        "{{{{with index .NetworkSettings.Networks \"{}\"}}}}{{{{.IPAddress}}}}{{{{end}}}}",
        c.network()
    );
    c.node_ids()
        .into_iter()
        .map(|(name, _)| {
            let ip = docker(&["inspect", "--format", &format, &name]);
            (name, ip.trim().to_string())
        })
        .collect()
}

fn local_in_node(node: &str, args: &[&str]) -> Option<String> {
    output(
        Command::new("docker")
            .args(["exec", node, "docker"])
            .args(args),
    )
}

/// Applies `nodes` nodes with `managers` managers on the local engine; returns the spec and
/// swarm2's managers.
fn applied(c: &Cluster, nodes: u32, managers: u32) -> (std::path::PathBuf, Vec<String>) {
    let spec = c.spec(nodes, managers, "");
    let run = sis(&["apply", path(&spec)]);
    assert_eq!(run.code, 0, "{run:?}");
    let first = format!("{}.local-1", c.name);
    let managers = managers_of(&local_in_node, &first);
    (spec, managers)
}

/// `docker restart` (or stop, then start) of `names` on the local engine; swarm2 comes back
/// as it was with the same addresses, and the next plan is empty.
fn survives_local(
    c: &Cluster,
    spec: &std::path::Path,
    managers: &[String],
    what: &str,
    act: impl FnOnce(),
) {
    let first = &managers[0];
    let before = swarm2_of(&local_in_node, first).expect("swarm2 before");
    let ips = addresses(c);
    let since = Instant::now();
    act();
    let took = wait_recovered(what, &local_in_node, managers, &before, since);
    eprintln!("recovery after {what}: {:.1} s", took.as_secs_f64());
    assert_eq!(addresses(c), ips, "addresses changed");
    assert_eq!(
        managers_of(&local_in_node, first),
        managers,
        "roles changed"
    );
    assert_no_changes(spec);
}

#[test]
fn restarting_the_only_manager_brings_swarm2_back() {
    let c = Cluster::new("rs1");
    let (spec, managers) = applied(&c, 3, 1);
    assert_eq!(managers.len(), 1, "{managers:?}");
    let m = managers[0].clone();
    survives_local(
        &c,
        &spec,
        &managers,
        "docker restart of the only manager",
        || {
            docker(&["restart", &m]);
        },
    );
}

#[test]
fn restarting_all_three_managers_at_once_brings_swarm2_back() {
    let c = Cluster::new("rs3");
    let (spec, managers) = applied(&c, 5, 3);
    assert_eq!(managers.len(), 3, "{managers:?}");
    let what = "docker restart of all 3 managers at once";
    survives_local(&c, &spec, &managers, what, || {
        let mut args = vec!["restart"];
        args.extend(managers.iter().map(String::as_str));
        docker(&args);
    });
}

#[test]
fn stopping_and_starting_a_hosts_nodes_brings_swarm2_back() {
    let c = Cluster::new("rss");
    let (spec, managers) = applied(&c, 3, 1);
    let names: Vec<String> = c.node_ids().into_iter().map(|(n, _)| n).collect();
    let what = "docker stop, then docker start, of all the host's nodes";
    survives_local(&c, &spec, &managers, what, || {
        let mut stop = vec!["stop"];
        stop.extend(names.iter().map(String::as_str));
        docker(&stop);
        let mut start = vec!["start"];
        start.extend(names.iter().map(String::as_str));
        docker(&start);
    });
}

#[test]
fn restarting_the_lab_host_that_carries_the_manager_brings_swarm2_back() {
    let lab = Lab::new("rsh");
    let run = lab.up(2, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let written = std::fs::read_to_string(lab.spec()).unwrap();
    let spec_text: String = written
        .lines()
        .map(|l| match l.trim_start() {
            t if t.starts_with("nodes: ") => "    nodes: 2".to_string(),
            t if t.starts_with("managers: ") => "  managers: 1".to_string(),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    let spec = lab.dir.join("cluster.yaml");
    std::fs::write(&spec, spec_text).unwrap();
    let apply = sis(&["apply", path(&spec)]);
    assert_eq!(apply.code, 0, "{apply:?}");

    // Nodes are reached through their host: node `<lab>.hN-i` lives on host N.
    let lab_ref = &lab;
    let in_node = move |node: &str, args: &[&str]| -> Option<String> {
        let host: u32 = node.rsplit_once(".h")?.1.split_once('-')?.0.parse().ok()?;
        let endpoint = format!("tcp://{}:2375", lab_ref.ip(host));
        output(
            Command::new("docker")
                .args(["-H", &endpoint, "exec", node, "docker"])
                .args(args),
        )
    };
    let first = format!("{}.h1-1", lab.name);
    let managers = managers_of(&in_node, &first);
    assert_eq!(
        managers,
        std::slice::from_ref(&first),
        "the manager is h1's first node"
    );
    let before = swarm2_of(&in_node, &first).expect("swarm2 before");

    let host_container = sis_lab::host_container_name(&lab.name, 1);
    let since = Instant::now();
    docker(&["restart", &host_container]);
    let what = format!("docker restart of lab host {host_container}, which carries the manager");
    let took = wait_recovered(&what, &in_node, &managers, &before, since);
    eprintln!("recovery after {what}: {:.1} s", took.as_secs_f64());
    assert_eq!(managers_of(&in_node, &first), managers, "roles changed");
    assert_no_changes(&spec);
}
