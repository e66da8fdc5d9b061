//! What sis owns on an engine it shares: clusters whose names run together, a user's
//! container with a node's name, and one engine listed twice.

use std::path::PathBuf;

use crate::path;
use crate::support::{docker, docker_quiet, require_engine, sis, Cluster, NODE_IMAGE};

/// A spec for `c` with one host of the local engine named `host`, 2 nodes, 1 manager.
fn spec_on(c: &Cluster, host: &str) -> PathBuf {
    let path = c.dir.join("cluster.yaml");
    let yaml = format!(
        "version: 1\nname: {name}\nhosts:\n  - name: {host}\n    endpoint: unix:///var/run/docker.sock\n    nodes: 2\n\
         network:\n  name: {net}\n  subnet: {subnet}\n\
         swarm2:\n  managers: 1\n  image: {NODE_IMAGE}\n",
        name = c.name,
        net = c.network(),
        subnet = c.subnet,
    );
    std::fs::write(&path, yaml).unwrap();
    path
}

/// Node containers of cluster `c` as `name id`, sorted.
fn nodes_of(c: &Cluster) -> Vec<String> {
    let out = docker(&[
        "ps",
        "--filter",
        &format!("label=sis.cluster={}", c.name),
        "--filter",
        "label=sis.role=node",
        "--format",
        "{{.Names}} {{.ID}}",
    ]);
    let mut nodes: Vec<String> = out.lines().map(str::to_string).collect();
    nodes.sort();
    nodes
}

/// swarm2's Ready nodes, asked on `manager`.
fn ready_in_swarm2(manager: &str) -> Vec<String> {
    let out = docker(&[
        "exec",
        manager,
        "docker",
        "node",
        "ls",
        "--format",
        "{{.Hostname}} {{.Status}}",
    ]);
    let mut ready: Vec<String> = out
        .lines()
        .filter_map(|l| l.strip_suffix(" Ready"))
        .map(str::to_string)
        .collect();
    ready.sort();
    ready
}

/// Removes a container that is not labelled (so no cluster cleanup finds it), even when the
/// test fails.
struct Foreign(String);

impl Drop for Foreign {
    fn drop(&mut self) {
        docker_quiet(&["rm", "-f", "-v", &self.0]);
    }
}

#[test]
fn clusters_whose_names_run_together_coexist_and_destroy_only_their_own() {
    // Cluster `X` with host `b-c` and cluster `X-b` with host `c`: with `-` between cluster
    // and host both would name a node `X-b-c-1`.
    let a = Cluster::new("oa");
    let other = Cluster::new("ob");
    let b = Cluster {
        name: format!("{}-b", a.name),
        subnet: other.subnet.clone(),
        dir: other.dir.join("b"),
    };
    std::fs::create_dir_all(&b.dir).unwrap();
    b.cleanup();
    let spec_a = spec_on(&a, "b-c");
    let spec_b = spec_on(&b, "c");

    for spec in [&spec_a, &spec_b] {
        let run = sis(&["apply", path(spec)]);
        assert_eq!(run.code, 0, "{run:?}");
    }
    let names = |nodes: &[String]| -> Vec<String> {
        nodes
            .iter()
            .map(|l| l.split(' ').next().unwrap().to_string())
            .collect()
    };
    let a_nodes = nodes_of(&a);
    let b_nodes = nodes_of(&b);
    assert_eq!(
        names(&a_nodes),
        [format!("{}.b-c-1", a.name), format!("{}.b-c-2", a.name)]
    );
    assert_eq!(
        names(&b_nodes),
        [format!("{}.c-1", b.name), format!("{}.c-2", b.name)]
    );
    let b_manager = format!("{}.c-1", b.name);
    assert_eq!(ready_in_swarm2(&b_manager), names(&b_nodes));
    assert_eq!(
        ready_in_swarm2(&format!("{}.b-c-1", a.name)),
        names(&a_nodes)
    );

    let run = sis(&["destroy", path(&spec_a)]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(nodes_of(&a), Vec::<String>::new());
    assert_eq!(nodes_of(&b), b_nodes, "cluster {}'s nodes changed", b.name);
    docker(&["network", "inspect", &b.network()]);
    assert_eq!(ready_in_swarm2(&b_manager), names(&b_nodes));
    let run = sis(&["plan", path(&spec_b)]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("No changes."), "{run:?}");
}

#[test]
fn a_user_s_container_with_a_node_s_name_is_neither_started_adopted_nor_removed() {
    let c = Cluster::new("ou");
    let spec = spec_on(&c, "local");
    let name = format!("{}.local-1", c.name);
    let _guard = Foreign(name.clone());
    let id = docker(&["create", "--name", &name, NODE_IMAGE])
        .trim()
        .to_string();

    let run = sis(&["apply", path(&spec), "--timeout", "120s"]);
    assert_ne!(run.code, 0, "{run:?}");
    let said = format!("{}{}", run.stdout, run.stderr);
    assert!(
        said.contains(&format!("container {name}")) && said.contains("not made by sis"),
        "{run:?}"
    );
    let state = docker(&[
        "inspect",
        "--format",
        "{{.Id}} {{.State.Status}} {{json .Config.Labels}}",
        &name,
    ]);
    let state = state.trim();
    assert!(
        state.starts_with(&format!("{id} created ")) && !state.contains("sis.cluster"),
        "the user's container changed: {state}"
    );
    eprintln!("{said}");
    assert!(
        nodes_of(&c)
            .iter()
            .all(|l| !l.starts_with(&format!("{name} "))),
        "{:?}",
        nodes_of(&c)
    );
}

#[test]
fn one_engine_listed_under_two_endpoints_is_refused_naming_both_hosts() {
    require_engine();
    if !std::path::Path::new("/run/docker.sock").exists() {
        eprintln!("skipped: /run/docker.sock does not exist on this machine");
        return;
    }
    let c = Cluster::new("oe");
    let spec = c.dir.join("cluster.yaml");
    std::fs::write(
        &spec,
        format!(
            "version: 1\nname: {name}\nhosts:\n  - name: one\n    endpoint: unix:///var/run/docker.sock\n    nodes: 1\n\
             \x20 - name: two\n    endpoint: unix:///run/docker.sock\n    nodes: 1\n\
             network:\n  name: {net}\n  subnet: {subnet}\n\
             swarm2:\n  managers: 1\n  image: {NODE_IMAGE}\n",
            name = c.name,
            net = c.network(),
            subnet = c.subnet,
        ),
    )
    .unwrap();
    let run = sis(&["plan", path(&spec)]);
    assert_ne!(run.code, 0, "{run:?}");
    assert_ne!(run.code, 2, "a refusal, not a plan: {run:?}");
    let said = format!("{}{}", run.stdout, run.stderr);
    assert!(
        said.contains(
            "hosts `one` (unix:///var/run/docker.sock) and `two` (unix:///run/docker.sock) are one Docker engine"
        ),
        "{run:?}"
    );
}
