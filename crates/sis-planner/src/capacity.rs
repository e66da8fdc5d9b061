//! What a host's share of the spec costs, from per-node costs measured on a real engine, and
//! whether it fits the host: the planner refuses a spec that cannot fit (unless told to
//! ignore it) and notes the estimate per host; `sis doctor` shows the same numbers.

use sis_types::HostFacts;

/// Idle CPU of one dind node in swarm2, the whole machine's share of it (the node, its shim
/// and the host's engine and kernel; millicores). It grows with the cluster: swarm2's
/// nodes gossip with each other, and each node's network namespace keeps an ARP entry for
/// every peer, all in the kernel's one neighbour table. Measured on a 2-core machine (busy
/// share of `/proc/stat` over 60 s, idle cluster): 100 nodes 5.1, 150 nodes 6.9 with the
/// default `gc_thresh1` of 8192 (past it the kernel collects the entries and every gossip
/// probe broadcasts an ARP request to all nodes), 3.9 at 150 with `gc_thresh1` above the
/// table (`sis doctor` says when). 6 is the untuned machine near its limit.
pub const NODE_IDLE_MILLICORES: u64 = 6;

/// The share of a host's cores idle nodes may take (percent): the rest is for starting
/// nodes (1 to 2 CPU-seconds each), swarm2's raft and gossip, and the host's own engine.
/// Measured on the 2-core machine: 150 idle nodes kept 52 % of the cores busy and a grow
/// to 160 tipped it (the cores saturated, swarm2's gossip probes and heartbeats timed out,
/// and every node suspected, retried and re-registered at once); 200 nodes at 60 % tipped
/// on a grow of 5; 150 at 44 % grew to 154 and, with a window that read 36 %, on to 173,
/// and tipped. 40 leaves room for the noise of a 10 s reading. Pacing stops creating
/// nodes when a rest measurement reaches this share ([`crate::capacity`] is its estimate).
pub const CPU_SHARE_PERCENT: u64 = 40;

/// Memory of one idle dind node: 31 to 33 MiB measured with `docker stats` on ten fresh
/// nodes of `sis-node:test`, 39 MiB once in a swarm; 50 MB rounds up for a manager.
pub const NODE_MEMORY_BYTES: u64 = 50_000_000;

/// The share of a host's memory nodes may take (percent); the rest is for the host.
pub const MEMORY_SHARE_PERCENT: u64 = 90;

/// Disk of one node on the host: measured on a fresh `sis-node:test` node, its writable
/// layer (`docker ps -s`: 1 kB) plus its anonymous `/var/lib/docker` volume (`du`: 352 kB,
/// 53 files), rounded up.
pub const NODE_DISK_BYTES: u64 = 1_000_000;

/// Extra disk of a swarm2 manager: after `swarm init` the node's volume held 125 MB more,
/// all of it under `swarm/` (raft's preallocated write-ahead log).
pub const MANAGER_DISK_BYTES: u64 = 130_000_000;

/// Inodes of one node's volume and layer (53 files measured), rounded up.
pub const NODE_INODES: u64 = 100;

/// One host's estimate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Estimate {
    /// Nodes the spec wants on the host.
    pub nodes: u32,
    /// Idle CPU they need, and what the host gives them ([`CPU_SHARE_PERCENT`] of its cores).
    pub cpu_millicores: u64,
    pub cpu_available: u64,
    /// Memory they need, and what the host gives them ([`MEMORY_SHARE_PERCENT`] of its memory).
    pub memory_bytes: u64,
    pub memory_available: u64,
    /// Disk the nodes still to create need, and the free disk (when known).
    pub disk_bytes: u64,
    pub disk_free: Option<u64>,
    /// The free disk the host keeps (the spec's `disk_floor`): the nodes get what is above it.
    pub disk_floor: u64,
    /// The most nodes the host holds by each resource: (resource, count).
    pub fits: Vec<(&'static str, u32)>,
}

impl Estimate {
    /// The largest node count that fits every resource.
    pub fn largest_fit(&self) -> u32 {
        self.fits.iter().map(|(_, n)| *n).min().unwrap_or(u32::MAX)
    }

    /// The resource that runs out first.
    pub fn first_limit(&self) -> &'static str {
        self.fits
            .iter()
            .min_by_key(|(_, n)| *n)
            .map_or("nothing", |(r, _)| *r)
    }

    /// The resources the spec's count exceeds.
    pub fn exceeded(&self) -> Vec<&'static str> {
        self.fits
            .iter()
            .filter(|(_, n)| *n < self.nodes)
            .map(|(r, _)| *r)
            .collect()
    }

    /// One line for people: need against available, per resource, and the largest count.
    /// The free disk changes between two observations of the same host, so a plan's note
    /// leaves it out (`with_free_disk: false`): the same state plans to the same text.
    pub fn describe(&self, with_free_disk: bool) -> String {
        let mut parts = vec![
            format!(
                "CPU {} of {} millicores ({} idle × {NODE_IDLE_MILLICORES}; {CPU_SHARE_PERCENT} % of the cores)",
                self.cpu_millicores, self.cpu_available, self.nodes
            ),
            format!(
                "memory {} of {} ({} × {}; {MEMORY_SHARE_PERCENT} % of it)",
                size(self.memory_bytes),
                size(self.memory_available),
                self.nodes,
                size(NODE_MEMORY_BYTES)
            ),
        ];
        if let Some(free) = self.disk_free {
            let of_free = if with_free_disk {
                format!(" of {} free", size(free))
            } else {
                String::new()
            };
            let floor = if self.disk_floor > 0 {
                format!(", keeping {} free (disk_floor)", size(self.disk_floor))
            } else {
                String::new()
            };
            parts.push(format!(
                "disk {}{of_free} (new nodes × {}, managers + {}{floor})",
                size(self.disk_bytes),
                size(NODE_DISK_BYTES),
                size(MANAGER_DISK_BYTES)
            ));
        }
        format!(
            "{} node{} need{} {}; the host holds up to {} ({} limits first)",
            self.nodes,
            if self.nodes == 1 { "" } else { "s" },
            if self.nodes == 1 { "s" } else { "" },
            parts.join(", "),
            self.largest_fit(),
            self.first_limit()
        )
    }
}

/// Sizes for people, in decimal units as `df -H` prints them.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The estimate for `nodes` nodes on a host with `facts`, of which `new_nodes` are still to
/// create, `new_managers` of them swarm2 managers, keeping `disk_floor` bytes of its disk
/// free; `None` when the engine did not report its cores or memory (an old recording).
pub fn estimate(
    facts: &HostFacts,
    nodes: u32,
    new_nodes: u32,
    new_managers: u32,
    disk_floor: u64,
) -> Option<Estimate> {
    if facts.cpus == 0 || facts.memory_bytes == 0 {
        return None;
    }
    let cpu_available = u64::from(facts.cpus) * 1000 * CPU_SHARE_PERCENT / 100;
    let memory_available = facts.memory_bytes / 100 * MEMORY_SHARE_PERCENT;
    let count = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    let mut fits = vec![
        ("CPU", count(cpu_available / NODE_IDLE_MILLICORES)),
        ("memory", count(memory_available / NODE_MEMORY_BYTES)),
    ];
    let disk_bytes =
        u64::from(new_nodes) * NODE_DISK_BYTES + u64::from(new_managers) * MANAGER_DISK_BYTES;
    let disk_free = facts.disk.as_ref().map(|d| d.free_bytes);
    if let Some(free) = disk_free {
        let existing = nodes.saturating_sub(new_nodes);
        let for_nodes = free
            .saturating_sub(disk_floor)
            .saturating_sub(u64::from(new_managers) * MANAGER_DISK_BYTES);
        fits.push((
            "disk",
            count(u64::from(existing) + for_nodes / NODE_DISK_BYTES),
        ));
    }
    Some(Estimate {
        nodes,
        cpu_millicores: u64::from(nodes) * NODE_IDLE_MILLICORES,
        cpu_available,
        memory_bytes: u64::from(nodes) * NODE_MEMORY_BYTES,
        memory_available,
        disk_bytes,
        disk_free,
        disk_floor,
        fits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(cpus: u32, memory_gb: u64, disk_gb: Option<u64>) -> HostFacts {
        HostFacts {
            cpus,
            memory_bytes: memory_gb * 1_000_000_000,
            disk: disk_gb.map(|gb| sis_types::DiskSpace {
                path: "/var/lib/docker".into(),
                free_bytes: gb * 1_000_000_000,
                free_inodes: None,
            }),
            ..HostFacts::default()
        }
    }

    #[test]
    fn two_cores_hold_133_idle_nodes() {
        let e = estimate(&facts(2, 24, Some(60)), 400, 400, 3, 0).unwrap();
        assert_eq!(e.largest_fit(), 133);
        assert_eq!(e.exceeded(), ["CPU"]);
        assert_eq!(e.cpu_millicores, 2400);
        let fits = estimate(&facts(2, 24, Some(60)), 133, 133, 3, 0).unwrap();
        assert!(fits.exceeded().is_empty());
    }

    #[test]
    fn memory_and_disk_limit_too() {
        let e = estimate(&facts(64, 4, Some(1)), 100, 100, 3, 0).unwrap();
        assert_eq!(e.exceeded(), ["memory"]);
        assert_eq!(e.largest_fit(), 72);
        let e = estimate(&facts(64, 64, Some(1)), 1000, 1000, 3, 0).unwrap();
        assert_eq!(e.exceeded(), ["disk"]);
        // Nodes that exist already need no more disk.
        let e = estimate(&facts(64, 64, Some(1)), 1000, 0, 3, 0).unwrap();
        assert!(e.exceeded().is_empty());
    }

    #[test]
    fn the_disk_floor_is_kept_free() {
        // 5 GB free, a 2 GB floor: 3 GB for the nodes, 130 MB of it for the new manager.
        let e = estimate(&facts(64, 1000, Some(5)), 4000, 4000, 1, 2_000_000_000).unwrap();
        assert_eq!(e.exceeded(), ["disk"]);
        assert_eq!(e.largest_fit(), 2870);
        assert!(e
            .describe(true)
            .contains("keeping 2.0 GB free (disk_floor)"));
        // A host already below its floor holds the nodes it has, and no new one.
        let e = estimate(&facts(64, 64, Some(1)), 10, 1, 0, 2_000_000_000).unwrap();
        assert_eq!(e.exceeded(), ["disk"]);
        assert_eq!(e.largest_fit(), 9);
        let e = estimate(&facts(64, 64, Some(1)), 10, 0, 0, 2_000_000_000).unwrap();
        assert!(e.exceeded().is_empty());
    }

    #[test]
    fn unknown_cores_give_no_estimate() {
        assert!(estimate(&facts(0, 0, None), 10, 10, 1, 0).is_none());
    }
}
