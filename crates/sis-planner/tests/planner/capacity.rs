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
    assert!(text.contains("CPU 2000 of 1600 millicores"), "{text}");
    assert!(text.contains("set its nodes to at most 320"), "{text}");
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
    let (spec, observed) = grown(300, 60_000_000_000);
    let text = render_text(&plan(&spec, &observed).expect("300 fit"));
    assert!(
        text.contains("note: capacity of host local: 300 nodes need CPU 1500 of 1600 millicores"),
        "{text}"
    );
    assert!(
        text.contains("the host holds up to 320 (CPU limits first)"),
        "{text}"
    );
}
