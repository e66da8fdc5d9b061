//! The disk floor: a spec that keeps more free than a host has gets no node there, and the
//! refusal names the host and the numbers; `sis status` shows the floor and the node volumes.

use crate::path;
use crate::support::{sis, Cluster};

#[test]
fn a_disk_floor_above_the_free_space_refuses_plan_and_apply_and_creates_nothing() {
    let c = Cluster::new("disk");
    // More than any test machine has: the host cannot keep it free.
    let spec = c.spec(3, 1, "capacity:\n  disk_floor: 1000TB\n");

    let status = sis(&["status", path(&spec)]);
    assert_eq!(status.code, 0, "{status:?}");
    let disk = status.stdout.lines().find(|l| l.starts_with("  disk: "));
    assert!(
        disk.is_some_and(|l| l.contains(" free in /var/lib/docker")
            && l.ends_with(", keeping 1000.0 TB free (disk_floor)")),
        "{status:?}"
    );

    for command in ["plan", "apply"] {
        let run = sis(&[command, path(&spec)]);
        assert_eq!(run.code, 1, "{command}: {run:?}");
        for part in [
            "host `local` cannot hold 3 nodes (disk exceeded)",
            "free (new nodes × 1.0 MB, managers + 130.0 MB, keeping 1000.0 TB free (disk_floor))",
            "the host holds up to 0 (disk limits first)",
            "free disk space on it or lower its disk_floor",
        ] {
            assert!(run.stderr.contains(part), "{command}: no `{part}`: {run:?}");
        }
    }
    assert_eq!(c.leftovers(), Vec::<String>::new());

    // With the default floor the nodes come, and status measures their volumes: the
    // manager's holds swarm2's raft log.
    let spec = c.spec(2, 1, "");
    let apply = sis(&["apply", path(&spec)]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let status = sis(&["status", path(&spec)]);
    assert_eq!(status.code, 0, "{status:?}");
    let volumes = status
        .stdout
        .lines()
        .find(|l| l.starts_with("  node volumes: "))
        .unwrap_or_else(|| panic!("no node volumes: {status:?}"));
    let manager = format!("largest: {}.local-1 ", c.name);
    assert!(
        volumes.contains(" in 2; ") && volumes.contains(&manager),
        "{status:?}"
    );
    assert!(
        status.stdout.contains("keeping 2.0 GB free (disk_floor)"),
        "{status:?}"
    );
}
