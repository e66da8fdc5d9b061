//! `sis doctor`'s checks on the fake engine: each limit that blocks is found, with its fix.

use std::sync::Arc;

use sis_engine::fake::FakeHost;
use sis_executor::doctor::{doctor, DoctorReport, Status};
use sis_executor::Hosts;

fn spec(nodes: u32, extra: &str) -> sis_spec::Spec {
    let yaml = format!(
        "version: 1\nname: demo\nhosts:\n  - name: local\n    nodes: {nodes}\n\
         network:\n  name: ring2net\n  subnet: 10.9.0.0/16\nswarm2:\n  image: sis-node:test\n{extra}"
    );
    sis_spec::parse_str("cluster.yaml", &yaml).unwrap()
}

fn run(spec: &sis_spec::Spec, host: FakeHost) -> DoctorReport {
    let hosts: Hosts<FakeHost> = [("local".to_string(), Arc::new(host))].into();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(doctor(spec, &hosts))
}

/// The blocker named `name`, with its fix.
fn blocker<'a>(report: &'a DoctorReport, name: &str) -> (&'a str, &'a str) {
    let check = report
        .checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name}: {report:#?}"));
    assert_eq!(check.status, Status::Blocker, "{check:#?}");
    (check.need.as_str(), check.fix.as_deref().expect("a fix"))
}

#[test]
fn a_small_spec_on_a_stock_host_has_no_blocker() {
    let report = run(&spec(3, ""), FakeHost::new("fake://local"));
    assert_eq!(report.blockers().count(), 0, "{report:#?}");
    for name in [
        "kernel.pid_max",
        "fs.inotify.max_user_instances",
        "net.ipv4.neigh.default.gc_thresh3",
        "kernel.keys.root_maxkeys",
        "vm.max_map_count",
        "cores",
        "memory",
        "disk",
        "inodes",
        "capabilities",
        "engine",
    ] {
        assert!(
            report.checks.iter().any(|c| c.name == name),
            "{name} is checked"
        );
    }
}

#[test]
fn each_sysctl_short_of_the_need_is_a_blocker_with_its_sysctl_line() {
    let host = FakeHost::new("fake://local");
    {
        let mut state = host.state();
        let limits = &mut state.limits;
        limits.cgroup_version = "2".into();
        for (name, value) in [
            ("kernel.pid_max", 1000),
            ("fs.inotify.max_user_instances", 128),
            ("net.ipv4.neigh.default.gc_thresh3", 100),
            ("kernel.keys.root_maxkeys", 100),
            ("fs.file-max", 10_000),
        ] {
            limits.sysctls.insert(name.into(), value);
        }
    }
    let report = run(&spec(200, ""), host);
    let (need, fix) = blocker(&report, "kernel.pid_max");
    assert!(
        need.starts_with("6400: 200 containers × 32 tasks"),
        "{need}"
    );
    assert_eq!(
        fix,
        "sysctl -w kernel.pid_max=16384 (and in /etc/sysctl.d/ to keep it)"
    );
    let (need, fix) = blocker(&report, "fs.inotify.max_user_instances");
    assert!(
        need.starts_with("200: 200 containers × 1 (cgroup v2"),
        "{need}"
    );
    assert!(
        fix.starts_with("sysctl -w fs.inotify.max_user_instances=512"),
        "{fix}"
    );
    let (need, fix) = blocker(&report, "net.ipv4.neigh.default.gc_thresh3");
    assert!(
        need.starts_with("40201: 40201 entries: the 200 nodes of this host × (199 swarm2 peers (gossip) + 1) in their own namespaces, + 201 on ring2net"),
        "{need}"
    );
    assert!(
        fix.starts_with("sysctl -w net.ipv4.neigh.default.gc_thresh3=524288"),
        "{fix}"
    );
    blocker(&report, "kernel.keys.root_maxkeys");
    blocker(&report, "fs.file-max");
}

#[test]
fn too_many_nodes_for_the_cores_or_the_disk_is_a_blocker() {
    let host = FakeHost::new("fake://local");
    host.state().limits.disk.as_mut().unwrap().free_bytes = 100_000_000;
    let report = run(&spec(400, ""), host);
    let (need, fix) = blocker(&report, "cores");
    assert!(need.starts_with("2400 of 800 millicores"), "{need}");
    assert_eq!(
        fix,
        "set nodes of host local to at most 133 in the spec (or add a host and spread them)"
    );
    let (_, fix) = blocker(&report, "disk");
    assert!(
        fix.starts_with("free space in /var/lib/docker or set nodes of host local to at most"),
        "{fix}"
    );
}

#[test]
fn a_neighbour_table_swarm2_outgrows_is_named_before_its_nodes_fail() {
    // The kernel's defaults: 400 nodes that gossip with each other need 160,401 entries in
    // the one table of the host; past gc_thresh3 (65,536) new neighbours fail.
    let stock = || {
        let host = FakeHost::new("fake://local");
        for (name, value) in [
            ("net.ipv4.neigh.default.gc_thresh1", 8192),
            ("net.ipv4.neigh.default.gc_thresh2", 49152),
            ("net.ipv4.neigh.default.gc_thresh3", 65536),
        ] {
            host.state().limits.sysctls.insert(name.into(), value);
        }
        host
    };
    let report = run(&spec(400, ""), stock());
    let (need, fix) = blocker(&report, "net.ipv4.neigh.default.gc_thresh3");
    assert!(
        need.starts_with(
            "160401: 160401 entries: the 400 nodes of this host × (399 swarm2 peers (gossip) + 1)"
        ),
        "{need}"
    );
    assert!(need.ends_with("past it new neighbours fail"), "{need}");
    assert!(
        fix.starts_with("sysctl -w net.ipv4.neigh.default.gc_thresh3=2097152"),
        "{fix}"
    );
    // 100 nodes fit the table, past gc_thresh1: a warning that says what it costs.
    let report = run(&spec(100, ""), stock());
    let check = report
        .checks
        .iter()
        .find(|c| c.name == "net.ipv4.neigh.default.gc_thresh1")
        .unwrap();
    assert_eq!(check.status, Status::Warning, "{check:#?}");
    assert!(
        check
            .need
            .starts_with("10101: 10101 entries (as for gc_thresh3)"),
        "{}",
        check.need
    );
    assert!(
        check
            .need
            .contains("broadcasts an ARP request to every node"),
        "{}",
        check.need
    );
    assert_eq!(
        check.fix.as_deref(),
        Some(
            "sysctl -w net.ipv4.neigh.default.gc_thresh1=32768 (and in /etc/sysctl.d/ to keep it)"
        )
    );
    for name in [
        "net.ipv4.neigh.default.gc_thresh2",
        "net.ipv4.neigh.default.gc_thresh3",
    ] {
        let check = report.checks.iter().find(|c| c.name == name).unwrap();
        assert_eq!(check.status, Status::Ok, "{check:#?}");
    }
}

#[test]
fn privileged_on_a_host_lacking_capabilities_is_a_blocker() {
    let host = FakeHost::new("fake://local");
    host.state().cap_bnd = Some(0x1fffeffffff);
    let report = run(&spec(2, "  privileged: true\n"), host);
    let (_, fix) = blocker(&report, "capabilities");
    assert!(fix.contains("swarm2.privileged: auto"), "{fix}");
}

#[test]
fn classic_mode_needs_an_engine_before_23_in_the_nodes() {
    let host = FakeHost::new("fake://local");
    host.state().limits.node_engine_version = Some("24.0.7".into());
    let report = run(
        &spec(2, "  mode: classic\nkvstore: {kind: consul, host: local}\n"),
        host,
    );
    let (need, fix) = blocker(&report, "engine");
    assert!(
        need.contains("--cluster-store was removed in 23.0"),
        "{need}"
    );
    assert!(fix.contains("swarm2.mode: swarm"), "{fix}");
}

#[test]
fn every_sysctl_set_to_one_is_flagged_with_its_own_sysctl_line() {
    let host = FakeHost::new("fake://local");
    {
        let mut state = host.state();
        state.limits.cgroup_version = "2".into();
        for value in state.limits.sysctls.values_mut() {
            *value = 1;
        }
        state.limits.disk.as_mut().unwrap().free_inodes = Some(10);
    }
    let report = run(&spec(10, ""), host);
    for name in sis_types::DOCTOR_SYSCTLS
        .iter()
        .filter(|n| **n != "net.ipv4.neigh.default.gc_thresh1")
    {
        let check = report.checks.iter().find(|c| c.name == *name).unwrap();
        assert_ne!(check.status, Status::Ok, "{check:#?}");
        let fix = check.fix.as_deref().unwrap_or_default();
        assert!(fix.starts_with(&format!("sysctl -w {name}=")), "{check:#?}");
    }
    let (_, fix) = blocker(&report, "inodes");
    assert!(fix.starts_with("free inodes in /var/lib/docker"), "{fix}");
}
