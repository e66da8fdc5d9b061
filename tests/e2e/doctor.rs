//! `sis doctor` against the local engine: every check printed, and the limit that blocks a
//! spec too big for this machine named, with exit 1.

use crate::path;
use std::time::Duration;

use crate::support::{docker, sis, wait_for, Cluster};

/// Every check `sis doctor` prints for a host.
const CHECKS: &[&str] = &[
    "kernel.pid_max",
    "kernel.threads-max",
    "fs.inotify.max_user_instances",
    "fs.inotify.max_user_watches",
    "fs.file-max",
    "fs.nr_open",
    "net.ipv4.neigh.default.gc_thresh1",
    "net.ipv4.neigh.default.gc_thresh2",
    "net.ipv4.neigh.default.gc_thresh3",
    "net.netfilter.nf_conntrack_max",
    "kernel.keys.root_maxkeys",
    "kernel.keys.root_maxbytes",
    "vm.max_map_count",
    "cores",
    "memory",
    "disk",
    "capabilities",
    "engine",
];

fn probes_left() -> String {
    docker(&[
        "ps",
        "-a",
        "--filter",
        "label=sis.role=limits-probe",
        "--format",
        "{{.Names}}",
    ])
}

#[test]
fn doctor_passes_a_small_spec_and_prints_every_check() {
    let c = Cluster::new("doc");
    let spec = c.spec(3, 1, "");
    let run = sis(&["doctor", path(&spec)]);
    assert_eq!(run.code, 0, "{run:?}");
    for check in CHECKS {
        let line = run
            .stdout
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(*check))
            .unwrap_or_else(|| panic!("no line for {check}: {run:?}"));
        assert!(line.contains("(needs "), "{line}");
    }
    assert!(run.stdout.contains(" 0 blockers"), "{run:?}");
    // Read from the host: the root dir's free space and the host's own pid_max, not a
    // container's (pid_max is per pid namespace on new kernels).
    let host_pid_max = std::fs::read_to_string("/proc/sys/kernel/pid_max").unwrap();
    assert!(
        run.stdout.contains(&format!(
            "kernel.pid_max                     {}",
            host_pid_max.trim()
        )),
        "{run:?}"
    );
    let json = sis(&["doctor", path(&spec), "--output", "json"]);
    assert_eq!(json.code, 0, "{json:?}");
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert!(report["checks"].as_array().unwrap().len() >= CHECKS.len());
    // The probes remove themselves (another test's may still run: wait for it).
    wait_for(
        "the limits probes to be gone",
        Duration::from_secs(60),
        || probes_left().trim().is_empty().then_some(()),
    );
}

#[test]
fn doctor_names_what_blocks_400_nodes_on_a_small_machine() {
    let c = Cluster::new("doc400");
    // 400 addresses need more than the /24 the test clusters get; nothing is created.
    let spec = c.dir.join("cluster400.yaml");
    let yaml = std::fs::read_to_string(c.spec(400, 3, ""))
        .unwrap()
        .replace(&c.subnet, "10.199.0.0/16");
    std::fs::write(&spec, yaml).unwrap();
    let cpus: u32 = docker(&["info", "--format", "{{.NCPU}}"])
        .trim()
        .parse()
        .unwrap();
    let run = sis(&["doctor", path(&spec)]);
    if cpus > 6 {
        // 400 idle nodes take 2.4 cores at 6 millicores each: a bigger machine may hold them.
        eprintln!("{cpus} CPUs: 400 nodes may fit here; not asserting the blocker");
        return;
    }
    // On 2 cores, 400 × 6 millicores exceed the 40 % idle nodes may take: CPU blocks.
    assert_eq!(run.code, 1, "{run:?}");
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains("BLOCKER") && l.contains("cores"))
        .unwrap_or_else(|| panic!("cores block: {run:?}"));
    assert!(
        line.contains(&format!("2400 of {} millicores", cpus * 400)),
        "{line}"
    );
    if cpus == 2 {
        assert!(
            run.stdout
                .contains("fix: set nodes of host local to at most 133"),
            "{run:?}"
        );
    }
    // 400 nodes that gossip with each other keep 160,401 entries in the host's one
    // neighbour table: past gc_thresh3 new neighbours fail.
    let thresh3: u64 = std::fs::read_to_string("/proc/sys/net/ipv4/neigh/default/gc_thresh3")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    if thresh3 < 160_401 {
        let line = run
            .stdout
            .lines()
            .find(|l| l.contains("net.ipv4.neigh.default.gc_thresh3"))
            .unwrap_or_else(|| panic!("no gc_thresh3 check: {run:?}"));
        assert!(line.contains("BLOCKER"), "{line}");
        assert!(line.contains("needs 160401: 160401 entries"), "{line}");
    }
    let plan = sis(&["plan", path(&spec)]);
    assert_eq!(plan.code, 1, "{plan:?}");
    assert!(
        plan.stderr.contains("cannot hold 400 nodes (CPU exceeded)"),
        "{plan:?}"
    );
}
