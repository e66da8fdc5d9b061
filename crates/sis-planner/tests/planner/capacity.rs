//! The capacity estimate: a note per host, a refusal for a host that cannot hold its nodes,
//! and `--ignore-capacity`.

use sis_planner::{plan, plan_with, render_text, PlanOptions};
use sis_types::{DiskSpace, HostObservation, Phase};

use crate::cases;

/// The `grow` fixture (one 2-core, 24 GiB host) asked for `nodes` nodes, with `free` bytes of disk.
fn grown(nodes: u32, free: u64) -> (sis_spec::Spec, sis_types::Observed) {
    let mut spec = cases::spec("grow");
    spec.hosts[0].nodes = nodes;
    let mut observed = cases::observed("grow");
    let Some(HostObservation::Reachable(facts)) = observed.hosts.get_mut("local") else {
        panic!("local is reachable in the fixture")
    };
    facts.disk = Some(DiskSpace {
        path: "/var/lib/docker".into(),
        free_bytes: free,
        free_inodes: None,
    });
    (spec, observed)
}

#[test]
fn a_host_that_cannot_hold_its_nodes_is_refused_with_the_numbers() {
    let (spec, observed) = grown(400, 60_000_000_000);
    let error = plan(&spec, &observed).expect_err("400 idle nodes exceed 2 cores");
    let text = error.to_string();
    assert!(
        text.contains("host `local` cannot hold 400 nodes (CPU exceeded)"),
        "{text}"
    );
    assert!(text.contains("CPU 2400 of 800 millicores"), "{text}");
    assert!(text.contains("set its nodes to at most 133"), "{text}");
    assert!(text.contains("--ignore-capacity"), "{text}");
}

#[test]
fn too_little_disk_is_refused_too() {
    // 10 nodes of which 3 exist (the manager among them): 2.5 MB above the default 2 GB
    // floor hold 2 more.
    let (spec, observed) = grown(10, 2_002_500_000);
    let text = plan(&spec, &observed).expect_err("no disk").to_string();
    assert!(text.contains("(disk exceeded)"), "{text}");
    assert!(text.contains("at most 5"), "{text}");
    assert!(text.contains("lower its disk_floor"), "{text}");
}

#[test]
fn a_disk_floor_above_the_free_space_refuses_new_nodes_with_the_numbers() {
    let (mut spec, observed) = grown(10, 60_000_000_000);
    spec.hosts[0].disk_floor = Some("100GB".into());
    let text = plan(&spec, &observed)
        .expect_err("below the floor")
        .to_string();
    assert!(
        text.contains("host `local` cannot hold 10 nodes (disk exceeded)"),
        "{text}"
    );
    assert!(
        text.contains("disk 7.0 MB of 60.0 GB free (new nodes × 1.0 MB, managers + 130.0 MB, keeping 100.0 GB free (disk_floor))"),
        "{text}"
    );
    // The nodes there stay; none is added.
    assert!(text.contains("at most 3"), "{text}");
    // The default floor (2 GB) leaves room for them; a floor of 0 keeps nothing back.
    spec.hosts[0].disk_floor = None;
    assert!(plan(&spec, &observed).is_ok());
    let (mut spec, observed) = grown(10, 7_500_000);
    spec.capacity.disk_floor = Some("0".into());
    assert!(plan(&spec, &observed).is_ok());
}

#[test]
fn ignore_capacity_plans_anyway_and_warns() {
    let (spec, observed) = grown(400, 60_000_000_000);
    let options = PlanOptions {
        ignore_capacity: true,
    };
    let p = plan_with(&spec, &observed, &options).expect("planned anyway");
    assert!(p.phases.iter().any(|ph| ph.phase == Phase::Nodes));
    let text = render_text(&p);
    assert!(
        text.contains("warning: host local does not fit its nodes (CPU exceeded), planned anyway (--ignore-capacity)"),
        "{text}"
    );
}

#[test]
fn a_plan_that_fits_notes_the_estimate_per_host() {
    let (spec, observed) = grown(133, 60_000_000_000);
    let text = render_text(&plan(&spec, &observed).expect("133 fit"));
    assert!(
        text.contains("note: capacity of host local: 133 nodes need CPU 798 of 800 millicores"),
        "{text}"
    );
    assert!(
        text.contains("the host holds up to 133 (CPU limits first)"),
        "{text}"
    );
}

/// The `three-hosts` fixture with `nodes` nodes per host, all three on one machine when
/// `one_machine` (lab hosts: the same kernel boot ID).
fn three_hosts(nodes: u32, one_machine: bool) -> (sis_spec::Spec, sis_types::Observed) {
    let mut spec = cases::spec("three-hosts");
    for h in &mut spec.hosts {
        h.nodes = nodes;
    }
    let mut observed = cases::observed("three-hosts");
    for (name, host) in observed.hosts.iter_mut() {
        let HostObservation::Reachable(facts) = host else {
            panic!("{name} is reachable in the fixture")
        };
        facts.machine = Some(if one_machine {
            "boot-1".to_string()
        } else {
            format!("boot-{name}")
        });
    }
    (spec, observed)
}

#[test]
fn hosts_on_one_machine_share_its_cores() {
    use sis_planner::capacity::{CPU_SHARE_PERCENT, NODE_IDLE_MILLICORES};
    // Per host the CPU holds this many; three hosts on one machine hold it in all.
    let per_machine = (2000 * CPU_SHARE_PERCENT / 100 / NODE_IDLE_MILLICORES) as u32;
    let nodes = per_machine / 3 + 10;
    let (spec, observed) = three_hosts(nodes, false);
    plan(&spec, &observed).expect("three machines hold them");
    let (spec, observed) = three_hosts(nodes, true);
    let text = plan(&spec, &observed)
        .expect_err("one machine does not")
        .to_string();
    assert!(
        text.contains(&format!(
            "hosts `a`, `b`, `c` run on one machine and share its cores: together they cannot hold {} nodes (CPU exceeded)",
            3 * nodes
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "at most {per_machine} nodes in all (e.g. {} per host)",
            per_machine / 3
        )),
        "{text}"
    );
    // When they fit, the note is the machine's.
    let (spec, observed) = three_hosts(per_machine / 3 - 1, true);
    let p = plan(&spec, &observed).expect("fits");
    let text = render_text(&p);
    assert!(
        text.contains("capacity of host a, b, c (one machine): "),
        "{text}"
    );
}
