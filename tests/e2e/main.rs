//! End-to-end tests of the `sis` binary against the local Docker engine.
//! Run them with tests/run.sh (it starts the engine and builds the node image first).

mod chaos;
mod classic;
mod classic_lab;
mod cli;
mod disk;
mod doctor;
mod events;
mod lab;
mod multihost;
mod ownership;
mod pacing;
mod quorum;
mod restarts;
mod saved_plan;
mod ssh;
mod status;
mod support;
mod survive;
mod swarm1;
mod target;

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use support::{docker, docker_quiet, sis, sis_command, wait_for, Cluster};

fn path(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

fn assert_all_ready(c: &Cluster, expected: usize) {
    let nodes = c.swarm2_nodes();
    assert_eq!(nodes.len(), expected, "swarm2 node list: {nodes:?}");
    for (host, status, _) in &nodes {
        assert_eq!(status, "Ready", "node {host} in {nodes:?}");
    }
}

fn ids_by_name(c: &Cluster) -> BTreeMap<String, String> {
    c.node_ids().into_iter().collect()
}

#[test]
fn lifecycle_apply_reapply_grow_shrink_replace_destroy() {
    let c = Cluster::new("life");

    // apply 6 → swarm2 has 6 Ready nodes
    let spec = c.spec(6, 1, "");
    let run = sis(&["apply", path(&spec)]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("Apply complete"), "{run:?}");
    assert_all_ready(&c, 6);
    let first = ids_by_name(&c);
    assert_eq!(first.len(), 6);

    // re-apply → no changes, same containers
    let run = sis(&["apply", path(&spec)]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("No changes."), "{run:?}");
    assert_eq!(ids_by_name(&c), first);

    // grow to 9 → the 6 old containers untouched
    let spec = c.spec(9, 1, "");
    let run = sis(&["apply", path(&spec)]);
    assert_eq!(run.code, 0, "{run:?}");
    let grown = ids_by_name(&c);
    assert_eq!(grown.len(), 9);
    for (name, id) in &first {
        assert_eq!(grown.get(name), Some(id), "node {name} was replaced");
    }
    assert_all_ready(&c, 9);

    // shrink to 4 → exactly 4 nodes, all Ready, the lowest-numbered kept
    let spec = c.spec(4, 1, "");
    let run = sis(&["apply", path(&spec)]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_all_ready(&c, 4);
    let shrunk = ids_by_name(&c);
    let kept: Vec<_> = (1..=4).map(|i| format!("{}.local-{i}", c.name)).collect();
    assert_eq!(shrunk.keys().cloned().collect::<Vec<_>>(), kept);
    for name in &kept {
        assert_eq!(shrunk.get(name), first.get(name));
    }

    // a node removed by hand → replaced, and its old swarm2 entry (a ghost) removed
    let victim = format!("{}.local-3", c.name);
    docker(&["rm", "-f", "-v", &victim]);
    let run = sis(&["apply", path(&spec)]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_all_ready(&c, 4);
    let replaced = ids_by_name(&c);
    assert_ne!(replaced.get(&victim), first.get(&victim));

    // destroy → nothing with the label, and the nodes' volumes are gone too
    let volumes: Vec<String> = replaced
        .values()
        .map(|id| {
            docker(&[
                "inspect",
                "--format",
                "{{range .Mounts}}{{.Name}} {{end}}",
                id,
            ])
        })
        .flat_map(|s| s.split_whitespace().map(String::from).collect::<Vec<_>>())
        .collect();
    assert_eq!(volumes.len(), 4, "each node has its /var/lib/docker volume");
    let run = sis(&["destroy", path(&spec)]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(c.leftovers().is_empty(), "left: {:?}", c.leftovers());
    for v in &volumes {
        let out = docker_quiet(&["volume", "ls", "-q", "--filter", &format!("name={v}")]);
        assert!(out.trim().is_empty(), "volume {v} is still there");
    }
}

#[test]
fn plan_changes_nothing_and_has_a_detailed_exit_code() {
    let c = Cluster::new("plan");
    let spec = c.spec(3, 1, "");
    let run = sis(&["plan", path(&spec), "--detailed-exitcode"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stdout
            .contains(&format!("create node {}.local-3", c.name)),
        "{run:?}"
    );
    assert!(run.stdout.contains("Plan: "), "{run:?}");
    assert!(
        c.leftovers().is_empty(),
        "plan changed something: {:?}",
        c.leftovers()
    );

    // The recorded observation plans the same offline.
    let status = sis(&["status", path(&spec), "--output", "json"]);
    assert_eq!(status.code, 0, "{status:?}");
    let state = c.dir.join("state.json");
    std::fs::write(&state, &status.stdout).unwrap();
    let offline = sis(&["plan", path(&spec), "--observed", path(&state)]);
    assert_eq!(offline.code, 0, "{offline:?}");
    assert_eq!(offline.stdout, run.stdout);
}

#[test]
fn unreachable_host_fails_before_any_change() {
    let c = Cluster::new("unreach");
    let spec = c.dir.join("two-hosts.yaml");
    std::fs::write(
        &spec,
        format!(
            "version: 1\nname: {}\nhosts:\n  - {{name: local, nodes: 1}}\n  - {{name: gone, endpoint: 'unix:///nonexistent/docker.sock', nodes: 1}}\n\
             network: {{name: {}, subnet: {}}}\nswarm2: {{image: {}}}\n",
            c.name,
            c.network(),
            c.subnet,
            support::NODE_IMAGE
        ),
    )
    .unwrap();
    let run = sis(&["apply", path(&spec)]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("gone"), "names the host: {run:?}");
    assert!(run.stderr.contains("/nonexistent/docker.sock"), "{run:?}");
    assert!(
        c.leftovers().is_empty(),
        "changed something: {:?}",
        c.leftovers()
    );
}

#[test]
fn missing_image_fails_clearly_then_reapply_converges() {
    let c = Cluster::new("noimg");
    let spec = c.spec_with_image(1, 1, "sis-test-no-such-image:v0", "");
    let run = sis(&["apply", path(&spec), "--timeout", "120s"]);
    assert_eq!(run.code, 1, "{run:?}");
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains("sis-test-no-such-image:v0"),
        "names the image: {run:?}"
    );
    assert!(
        c.node_ids().is_empty(),
        "no half-made node: {:?}",
        c.node_ids()
    );

    let spec = c.spec(1, 1, "");
    let run = sis(&["apply", path(&spec)]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_all_ready(&c, 1);
}

#[test]
fn overlapping_subnet_is_a_clear_error() {
    let c = Cluster::new("overlap");
    let other = format!("{}-other", c.name);
    docker(&[
        "network",
        "create",
        "--label",
        &format!("sis.cluster={}", c.name),
        "--subnet",
        &c.subnet,
        &other,
    ]);
    let spec = c.spec(1, 1, "");
    let run = sis(&["apply", path(&spec), "--timeout", "60s"]);
    assert_eq!(run.code, 1, "{run:?}");
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(all.contains(&c.subnet), "names the subnet: {run:?}");
    assert!(
        all.to_lowercase().contains("overlap"),
        "says it overlaps: {run:?}"
    );
}

#[test]
fn privileged_on_a_host_that_refuses_it_says_why_and_reapply_recovers() {
    // This machine's kernel lacks CAP_SYS_RESOURCE: privileged containers cannot start.
    let c = Cluster::new("priv");
    let spec = c.spec(1, 1, "  privileged: true\n");
    let run = sis(&["apply", path(&spec), "--timeout", "60s"]);
    assert_eq!(run.code, 1, "{run:?}");
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(all.contains("privileged"), "{run:?}");
    assert!(all.contains("capabilit"), "{run:?}");

    let spec = c.spec(1, 1, "  privileged: auto\n");
    let run = sis(&["apply", path(&spec)]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_all_ready(&c, 1);
}

#[test]
fn a_second_apply_refuses_while_the_first_holds_the_lock() {
    let c = Cluster::new("lock");
    let spec = c.spec(2, 1, "");
    let mut first = sis_command(&["apply", path(&spec), "--quiet"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lock = format!("{}.sis-lock", c.name);
    wait_for(
        "the first apply to take the lock",
        Duration::from_secs(60),
        || {
            let out = docker_quiet(&["ps", "-aq", "--filter", &format!("name=^{lock}$")]);
            (!out.trim().is_empty()).then_some(())
        },
    );
    let second = sis(&["apply", path(&spec)]);
    let status = first.wait().unwrap();
    assert_eq!(second.code, 1, "{second:?}");
    assert!(second.stderr.contains("locked by"), "{second:?}");
    assert!(second.stderr.contains("sis apply"), "says who: {second:?}");
    assert!(status.success(), "the first apply failed");
    assert_all_ready(&c, 2);
}

#[test]
fn ctrl_c_stops_cleanly_and_reapply_converges() {
    let c = Cluster::new("intr");
    let spec = c.spec(3, 1, "");
    let child = sis_command(&["apply", path(&spec)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.wait_for_first_node();
    let pid = child.id().to_string();
    std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The apply may have finished just before the signal; then it converged.
    let code = out.status.code().unwrap_or(-1);
    assert!(code == 130 || code == 0, "exit {code}\n{stdout}\n{stderr}");
    if code == 130 {
        assert!(stdout.contains("Interrupted"), "{stdout}\n{stderr}");
    }
    let lock = format!("{}.sis-lock", c.name);
    let out = docker_quiet(&["ps", "-aq", "--filter", &format!("name=^{lock}$")]);
    assert!(out.trim().is_empty(), "the lock was left behind");

    let run = sis(&["apply", path(&spec)]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_all_ready(&c, 3);
}
