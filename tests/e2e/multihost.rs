//! A cluster across three simulated hosts (`sis lab`): images the hosts lack come by copy from
//! another host (no registry), the workload image is preloaded into every node and runs as a
//! swarm2 service spread over all of them, one host grows, an unreachable host stops plan and
//! apply before any change, and destroy leaves the hosts clean.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::lab::{path, Lab};
use crate::support::{docker, docker_quiet, require_engine, sis, wait_for, NODE_IMAGE};

/// The workload image built by tests/workload-image/build.sh.
use sis_test_support::WORKLOAD_IMAGE;

/// Node containers on host `index` of the cluster, name → (ID, ring2net address).
pub(crate) fn nodes_on(lab: &Lab, index: u32) -> BTreeMap<String, (String, String)> {
    let label = format!("label=sis.cluster={}", lab.name);
    lab.on_host(
        index,
        &[
            "ps",
            "-a",
            "--filter",
            &label,
            "--filter",
            "label=sis.role=node",
            "--format",
            "{{.Names}} {{.ID}}",
        ],
    )
    .lines()
    .filter_map(|l| l.split_once(' '))
    .map(|(name, id)| {
        let ip = lab.on_host(
            index,
            &[
                "inspect",
                "--format",
                "{{with index .NetworkSettings.Networks \"ring2net\"}}{{.IPAddress}}{{end}}",
                name,
            ],
        );
        (name.to_string(), (id.to_string(), ip.trim().to_string()))
    })
    .collect()
}

/// `docker ARGS` run inside node `node` of host `index` (nodes have no TCP API).
pub(crate) fn in_node(lab: &Lab, index: u32, node: &str, args: &[&str]) -> String {
    let mut all = vec!["exec", node, "docker"];
    all.extend(args);
    lab.on_host(index, &all)
}

/// swarm2's nodes as (hostname, status, manager status), asked on the first node of h1.
fn swarm2(lab: &Lab) -> Vec<(String, String, String)> {
    let first = format!("{}.h1-1", lab.name);
    let mut nodes: Vec<_> = in_node(
        lab,
        1,
        &first,
        &[
            "node",
            "ls",
            "--format",
            "{{.Hostname}} {{.Status}} {{.ManagerStatus}}",
        ],
    )
    .lines()
    .map(|l| {
        let mut f = l.split(' ');
        let mut next = || f.next().unwrap_or("").to_string();
        (next(), next(), next())
    })
    .collect();
    nodes.sort();
    nodes
}

/// Rewrites the spec's `nodes:` counts, host by host.
pub(crate) fn with_counts(spec: &str, counts: &[u32]) -> String {
    let mut counts = counts.iter();
    spec.lines()
        .map(|l| match l.trim_start().strip_prefix("nodes: ") {
            Some(_) => format!("    nodes: {}", counts.next().expect("a count per host")),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// The ID of `image` on host `index`, if it has it.
fn image_on_host(lab: &Lab, index: u32, image: &str) -> Option<String> {
    let endpoint = format!("tcp://{}:2375", lab.ip(index));
    let out = Command::new("docker")
        .args(["-H", &endpoint, "image", "inspect", "-f", "{{.Id}}", image])
        .output()
        .expect("run docker");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `docker save IMAGE | docker -H HOST load`: how a user puts an image on one host by hand.
pub(crate) fn load_on_host(lab: &Lab, index: u32, image: &str) {
    let endpoint = format!("tcp://{}:2375", lab.ip(index));
    let mut save = Command::new("docker")
        .args(["save", image])
        .stdout(Stdio::piped())
        .spawn()
        .expect("run docker save");
    let load = Command::new("docker")
        .args(["-H", &endpoint, "load", "--quiet"])
        .stdin(save.stdout.take().expect("piped"))
        .output()
        .expect("run docker load");
    assert!(save.wait().unwrap().success(), "docker save {image}");
    assert!(
        load.status.success(),
        "docker load on host h{index}: {}",
        String::from_utf8_lossy(&load.stderr)
    );
}

#[test]
fn a_cluster_across_three_lab_hosts_gets_images_by_copy_runs_a_service_grows_and_destroys() {
    require_engine();
    let node_image = docker(&["image", "inspect", "-f", "{{.Id}}", NODE_IMAGE]);
    let workload = docker_quiet(&["image", "inspect", "-f", "{{.Id}}", WORKLOAD_IMAGE]);
    assert!(
        !workload.trim().is_empty(),
        "this test needs the image {WORKLOAD_IMAGE}: run tests/engine-up.sh, which builds it \
         (tests/workload-image/build.sh)"
    );
    let (node_image, workload) = (node_image.trim(), workload.trim());
    let lab = Lab::new("3h");
    let start = Instant::now();
    let run = lab.up(3, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    eprintln!("lab up --hosts 3: {:?}\n{}", start.elapsed(), run.stderr);

    // h3 loses the node image (nothing there uses it yet); only h1 gets the workload image,
    // loaded by hand. No host can pull: the others must get them by copy.
    lab.on_host(3, &["rmi", NODE_IMAGE]);
    load_on_host(&lab, 1, WORKLOAD_IMAGE);

    let written = std::fs::read_to_string(lab.spec()).unwrap();
    assert!(written.contains("managers: 3"), "{written}");
    assert!(
        written.trim_end().ends_with("privileged: auto"),
        "swarm2 is the spec's last block: {written}"
    );
    let preload = format!("  preload: [{WORKLOAD_IMAGE}]\n");
    let spec_text = |counts: &[u32]| with_counts(&written, counts) + &preload;
    let spec = lab.dir.join("cluster.yaml");
    std::fs::write(&spec, spec_text(&[3, 3, 2])).unwrap();

    let plan = sis(&["plan", path(&spec)]);
    assert_eq!(plan.code, 0, "{plan:?}");
    for copy in [
        format!("copy image {NODE_IMAGE} from host h1 to host h3"),
        format!("copy image {WORKLOAD_IMAGE} from host h1 to host h2"),
        format!("copy image {WORKLOAD_IMAGE} from host h1 to host h3"),
    ] {
        assert!(plan.stdout.contains(&copy), "no `{copy}`: {plan:?}");
    }
    assert!(!plan.stdout.contains("pull image"), "{plan:?}");

    let start = Instant::now();
    let apply = sis(&["apply", path(&spec)]);
    assert_eq!(apply.code, 0, "{apply:?}");
    eprintln!("apply 3+3+2 with copies and preload: {:?}", start.elapsed());
    let copied: Vec<&str> = apply
        .stderr
        .lines()
        .filter(|l| l.contains(" copied from host "))
        .collect();
    assert_eq!(copied.len(), 3, "{apply:?}");
    eprintln!("{}", copied.join("\n"));
    for i in 1..=3 {
        assert_eq!(
            image_on_host(&lab, i, NODE_IMAGE).as_deref(),
            Some(node_image)
        );
        assert_eq!(
            image_on_host(&lab, i, WORKLOAD_IMAGE).as_deref(),
            Some(workload)
        );
    }

    let nodes = swarm2(&lab);
    assert_eq!(nodes.len(), 8, "{nodes:?}");
    assert!(nodes.iter().all(|(_, s, _)| s == "Ready"), "{nodes:?}");
    let manager_hosts: BTreeSet<String> = nodes
        .iter()
        .filter(|(_, _, m)| !m.is_empty())
        .map(|(h, _, _)| h.rsplit_once('-').unwrap().0.to_string())
        .collect();
    let expected: BTreeSet<String> = (1..=3).map(|i| format!("{}.h{i}", lab.name)).collect();
    assert_eq!(manager_hosts, expected, "managers: {nodes:?}");

    let before: Vec<_> = (1..=3).map(|i| nodes_on(&lab, i)).collect();
    for (i, (on_host, wanted)) in before.iter().zip([3, 3, 2]).enumerate() {
        assert_eq!(on_host.len(), wanted, "host h{}: {on_host:?}", i + 1);
        for (name, (_, ip)) in on_host {
            assert!(
                name.starts_with(&format!("{}.h{}-", lab.name, i + 1)),
                "{name} runs on host h{}",
                i + 1
            );
            assert!(
                ip.starts_with("10.9."),
                "{name} has ring2net address {ip:?}"
            );
        }
    }

    // 40 replicas of the preloaded image on swarm2. By ID: a tag makes every node try a
    // pull first, and there is no registry.
    let manager = format!("{}.h1-1", lab.name);
    let start = Instant::now();
    in_node(
        &lab,
        1,
        &manager,
        &[
            "service",
            "create",
            "--detach",
            "--no-resolve-image",
            "--name",
            "work",
            "--replicas",
            "40",
            workload,
        ],
    );
    let spread = wait_for(
        "40 running tasks of the service",
        Duration::from_secs(300),
        || {
            let tasks = in_node(
                &lab,
                1,
                &manager,
                &[
                    "service",
                    "ps",
                    "work",
                    "--filter",
                    "desired-state=running",
                    "--format",
                    "{{.Node}} {{.CurrentState}}",
                ],
            );
            let running: Vec<&str> = tasks
                .lines()
                .filter(|l| l.split(' ').nth(1) == Some("Running"))
                .filter_map(|l| l.split(' ').next())
                .collect();
            (running.len() == 40).then(|| {
                running
                    .into_iter()
                    .map(String::from)
                    .collect::<BTreeSet<_>>()
            })
        },
    );
    eprintln!("40 tasks running in {:?}", start.elapsed());
    let all: BTreeSet<String> = nodes.iter().map(|(h, _, _)| h.clone()).collect();
    assert_eq!(spread, all, "the tasks run on every node");
    in_node(&lab, 1, &manager, &["service", "rm", "work"]);

    // One more node on h3: only h3 changes, and the new node has the workload image too.
    std::fs::write(&spec, spec_text(&[3, 3, 3])).unwrap();
    let apply = sis(&["apply", path(&spec)]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(!apply.stderr.contains(" copied from host "), "{apply:?}");
    let after: Vec<_> = (1..=3).map(|i| nodes_on(&lab, i)).collect();
    assert_eq!(after[0], before[0]);
    assert_eq!(after[1], before[1]);
    assert_eq!(after[2].len(), 3, "{:?}", after[2]);
    for (name, node) in &before[2] {
        assert_eq!(after[2].get(name), Some(node), "node {name} changed");
    }
    assert_eq!(swarm2(&lab).len(), 9);
    let newest = format!("{}.h3-3", lab.name);
    let inside = in_node(
        &lab,
        3,
        &newest,
        &["image", "inspect", "-f", "{{.Id}}", WORKLOAD_IMAGE],
    );
    assert_eq!(inside.trim(), workload);

    // h3 unreachable (nothing listens on that loopback port): plan and apply stop before any
    // change, naming the host, though the spec asks for more nodes on h1.
    let gone =
        spec_text(&[4, 3, 3]).replace(&format!("tcp://{}:2375", lab.ip(3)), "tcp://127.0.0.1:1");
    let gone_spec = lab.dir.join("unreachable.yaml");
    std::fs::write(&gone_spec, gone).unwrap();
    for command in ["plan", "apply"] {
        let run = sis(&[command, path(&gone_spec)]);
        assert_eq!(run.code, 1, "{command}: {run:?}");
        assert!(
            run.stderr.contains("h3"),
            "{command} names the host: {run:?}"
        );
        assert!(run.stderr.contains("127.0.0.1:1"), "{command}: {run:?}");
    }
    assert_eq!(nodes_on(&lab, 1), before[0], "apply changed host h1");

    let destroy = sis(&["destroy", path(&spec)]);
    assert_eq!(destroy.code, 0, "{destroy:?}");
    let label = format!("label=sis.cluster={}", lab.name);
    for i in 1..=3 {
        let left = lab.on_host(i, &["ps", "-aq", "--filter", &label]);
        assert_eq!(left.trim(), "", "containers left on host h{i}");
        let networks = lab.on_host(i, &["network", "ls", "-q", "--filter", &label]);
        assert_eq!(networks.trim(), "", "networks left on host h{i}");
    }
}
