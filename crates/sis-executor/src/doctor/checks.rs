//! The checks of one host, from its facts and probed limits.
//!
//! Per-node costs measured on a 2-core VM (Linux 6.18, cgroup v1, Docker 20.10) with ten
//! fresh `sis-node:test` nodes, before and after: tasks (`ps -eL`), open files
//! (`/proc/sys/fs/file-nr`), the host engine's descriptors (`/proc/PID/fd`) and root's keys
//! (`/proc/key-users`).

use sis_planner::capacity::{self, size, Estimate};
use sis_spec::{Privileged, Spec, Swarm2Mode};
use sis_types::{HostFacts, HostLimits};

use super::{Check, Status};

/// Tasks (pids) of one node: its dockerd (9 threads) and containerd (8), and its
/// containerd-shim on the host (11); measured 31.3 a node system-wide.
const PIDS_PER_NODE: u64 = 32;
/// Open files of one node, system-wide: measured 132.
const FILES_PER_NODE: u64 = 140;
/// Descriptors the host's dockerd (6) and containerd (4) hold per node: `fs.nr_open` caps
/// one process's.
const ENGINE_FDS_PER_NODE: u64 = 10;
/// Root's keys and key bytes per node (runc's session keyring): measured 1 and 70.
const KEYS_PER_NODE: u64 = 1;
const KEY_BYTES_PER_NODE: u64 = 70;
/// inotify instances (and watches) per node on cgroup v2: the node's containerd-shim on the
/// host watches its `memory.events` for OOM kills (containerd's cgroup v2 code). Measured 0
/// on cgroup v1, where neither the nodes' engines nor the shims hold one.
const INOTIFY_PER_NODE_CGROUP2: u64 = 1;
/// Connection-tracking entries per node: an estimate, not measured: a session to each
/// swarm2 manager (raft, dispatcher) both ways, and memberlist's gossip flows (UDP and TCP
/// 7946 to a few peers every 200 ms, each kept 30 s to 5 days).
const CONNTRACK_PER_NODE: u64 = 20;
/// Memory maps of one process: a node's dockerd maps 154 (measured); `vm.max_map_count` is
/// per process, so it does not grow with the node count.
const MAPS_PER_PROCESS: u64 = 1000;

/// Every check of host `host` of `spec`. `shared`: the other hosts on the same machine
/// (lab hosts), whose nodes `host.nodes` counts too: they share the kernel and the cores.
pub fn host_checks(
    spec: &Spec,
    host: &sis_spec::Host,
    facts: &HostFacts,
    limits: &HostLimits,
    shared: &[String],
) -> Vec<Check> {
    let nodes = u64::from(host.nodes);
    let kv_here = spec.kvstore.as_ref().is_some_and(|kv| kv.host == host.name);
    let containers = nodes + u64::from(kv_here);
    let on_ring2net =
        u64::from(spec.total_nodes()) + u64::from(spec.kvstore.is_some()) + spec.hosts.len() as u64;
    let managers = u64::from(spec.swarm2.managers.min(spec.total_nodes()));
    let (neighbours, table) = neighbour_table(spec, host, shared, on_ring2net);
    let cgroup2 = limits.cgroup_version == "2";
    let inotify = if cgroup2 { INOTIFY_PER_NODE_CGROUP2 } else { 0 };
    let c = Ctx { host, limits };
    let n = format!("{containers} containers");
    let mut checks = vec![
        c.sysctl("kernel.pid_max", containers * PIDS_PER_NODE, format!("{n} × {PIDS_PER_NODE} tasks (dockerd, containerd and the shim of a node)"), Status::Blocker),
        c.sysctl("kernel.threads-max", containers * PIDS_PER_NODE, format!("{n} × {PIDS_PER_NODE} threads"), Status::Blocker),
        c.sysctl("fs.inotify.max_user_instances", containers * inotify, format!("{n} × {inotify} (cgroup v{}: the host's shim of each node watches its memory.events on cgroup v2; none on v1); every engine in the nodes runs as root, one user", if cgroup2 { 2 } else { 1 }), Status::Blocker),
        c.sysctl("fs.inotify.max_user_watches", containers * inotify, format!("{n} × {inotify}"), Status::Blocker),
        c.sysctl("fs.file-max", containers * FILES_PER_NODE, format!("{n} × {FILES_PER_NODE} open files"), Status::Blocker),
        c.sysctl("fs.nr_open", containers * ENGINE_FDS_PER_NODE, format!("{n} × {ENGINE_FDS_PER_NODE} descriptors of the host's dockerd and containerd"), Status::Blocker),
        c.sysctl("net.ipv4.neigh.default.gc_thresh1", neighbours, format!("{neighbours} entries (as for gc_thresh3); above it, entries unused for a minute are collected, and each gossip probe to a collected peer broadcasts an ARP request to every node (150 idle nodes on 2 cores: 52 % of the cores busy with it at 8192, 30 % with it above the table)"), Status::Warning),
        c.sysctl("net.ipv4.neigh.default.gc_thresh2", neighbours, format!("{neighbours} entries (as for gc_thresh3); above it entries are collected after 5 s"), Status::Warning),
        c.sysctl("net.ipv4.neigh.default.gc_thresh3", neighbours, format!("{table}; past it new neighbours fail"), Status::Blocker),
        c.sysctl("net.netfilter.nf_conntrack_max", containers * (CONNTRACK_PER_NODE + 2 * managers), format!("{n} × ({CONNTRACK_PER_NODE} + 2 × {managers} managers) flows (an estimate)"), Status::Warning),
        c.sysctl("kernel.keys.root_maxkeys", containers * KEYS_PER_NODE, format!("{n} × {KEYS_PER_NODE} key"), Status::Blocker),
        c.sysctl("kernel.keys.root_maxbytes", containers * KEY_BYTES_PER_NODE, format!("{n} × {KEY_BYTES_PER_NODE} bytes"), Status::Blocker),
        c.sysctl("vm.max_map_count", MAPS_PER_PROCESS, "per process: a node's dockerd maps about 150".to_string(), Status::Blocker),
    ];
    checks.extend(resources(spec, host, facts, limits, shared));
    checks.push(capabilities(spec, host, facts));
    checks.push(engine(spec, host, facts, limits));
    checks
}

/// Entries the kernel's neighbour (ARP) table of this host's machine holds: one table for
/// every network namespace. Each node keeps an entry for each container it talks to on
/// ring2net, in its own namespace: in swarm mode that is every other swarm2 node (gossip
/// probes go to all of them in turn), in classic mode the K/V store and the manager. Plus
/// ring2net's own entries on the host. Measured: 100 nodes in swarm mode on one host held
/// 9,496 entries, 150 held 22,278.
fn neighbour_table(
    spec: &Spec,
    host: &sis_spec::Host,
    shared: &[String],
    on_ring2net: u64,
) -> (u64, String) {
    let here: u64 = spec
        .hosts
        .iter()
        .filter(|h| h.name == host.name || shared.contains(&h.name))
        .map(|h| u64::from(h.nodes))
        .sum();
    let peers = match spec.swarm2.mode {
        Swarm2Mode::Swarm => u64::from(spec.total_nodes()).saturating_sub(1),
        Swarm2Mode::Classic => 2,
    };
    // The gateway, and the K/V store when there is one.
    let others = 1 + u64::from(spec.kvstore.is_some());
    let entries = here * (peers + others) + on_ring2net;
    let whose = if shared.is_empty() {
        "this host".to_string()
    } else {
        format!("this machine (with {})", shared.join(", "))
    };
    let what = match spec.swarm2.mode {
        Swarm2Mode::Swarm => "swarm2 peers (gossip)",
        Swarm2Mode::Classic => "K/V store and manager",
    };
    (
        entries,
        format!(
            "{entries} entries: the {here} nodes of {whose} × ({peers} {what} + {others}) in their own namespaces, + {on_ring2net} on {} — the kernel's table is one for all namespaces",
            spec.network.name
        ),
    )
}

struct Ctx<'a> {
    host: &'a sis_spec::Host,
    limits: &'a HostLimits,
}

impl Ctx<'_> {
    /// `name` must be at least `need`; below it the check is `severity`.
    fn sysctl(&self, name: &str, need: u64, formula: String, severity: Status) -> Check {
        let host = self.host.name.clone();
        let Some(&value) = self.limits.sysctls.get(name) else {
            return Check {
                host,
                name: name.to_string(),
                value: "not readable".into(),
                need: format!("{need}: {formula}"),
                status: Status::Warning.min(severity),
                fix: Some(format!("check `sysctl {name}` on the host")),
            };
        };
        let short = value < need;
        Check {
            host,
            name: name.to_string(),
            value: value.to_string(),
            need: format!("{need}: {formula}"),
            status: if short { severity } else { Status::Ok },
            fix: short.then(|| {
                format!(
                    "sysctl -w {name}={} (and in /etc/sysctl.d/ to keep it)",
                    suggested(name, need)
                )
            }),
        }
    }
}

/// Twice the need, rounded up to a power of two; `kernel.pid_max` at most its 64-bit maximum;
/// the neighbour table's thresholds in their order (the second twice the first, the third
/// twice that), as the kernel's defaults are.
fn suggested(name: &str, need: u64) -> u64 {
    let value = need.saturating_mul(2).max(1).next_power_of_two();
    match name {
        "kernel.pid_max" => value.min(4_194_304),
        "net.ipv4.neigh.default.gc_thresh2" => value.saturating_mul(2),
        "net.ipv4.neigh.default.gc_thresh3" => value.saturating_mul(4),
        _ => value,
    }
}

/// Cores, memory, disk and inodes against the planner's estimate.
fn resources(
    spec: &Spec,
    host: &sis_spec::Host,
    facts: &HostFacts,
    limits: &HostLimits,
    shared: &[String],
) -> Vec<Check> {
    let name = host.name.clone();
    // As the planner counts: node slots without a container are new, managers among them.
    let existing: std::collections::BTreeSet<u32> = facts
        .containers
        .iter()
        .filter(|c| c.is_node())
        .filter_map(|c| c.label(sis_types::labels::INDEX)?.parse().ok())
        .collect();
    let new_nodes = (1..=host.nodes).filter(|i| !existing.contains(i)).count() as u32;
    let managers = sis_planner::manager_slots(spec)
        .iter()
        .filter(|(h, i)| *h == host.name && !existing.contains(i))
        .count() as u32;
    let mut facts = facts.clone();
    if facts.disk.is_none() {
        facts.disk = limits.disk.clone();
    }
    let floor = spec.disk_floor(&host.name);
    let Some(e) = capacity::estimate(&facts, host.nodes, new_nodes, managers, floor) else {
        return Vec::new();
    };
    let fit = |resource: &str| e.fits.iter().find(|(r, _)| *r == resource).map(|(_, n)| *n);
    let fix = |resource: &str| {
        fit(resource).filter(|n| *n < host.nodes).map(|n| {
            if shared.is_empty() {
                format!(
                    "set nodes of host {} to at most {n} in the spec (or add a host and spread them)",
                    host.name
                )
            } else {
                let k = shared.len() as u32 + 1;
                format!(
                    "give hosts {}, {} at most {n} nodes in all (they run on one machine and share its cores: e.g. {} each)",
                    host.name,
                    shared.join(", "),
                    n / k
                )
            }
        })
    };
    let status = |resource: &str| {
        if fix(resource).is_some() {
            Status::Blocker
        } else {
            Status::Ok
        }
    };
    let mut checks = vec![
        Check {
            host: name.clone(),
            name: "cores".into(),
            value: format!("{} CPUs", facts.cpus),
            need: format!(
                "{} of {} millicores: {} nodes × {} idle, at most {} % of the cores",
                e.cpu_millicores,
                e.cpu_available,
                host.nodes,
                capacity::NODE_IDLE_MILLICORES,
                capacity::CPU_SHARE_PERCENT
            ) + &if shared.is_empty() {
                String::new()
            } else {
                format!(" (the nodes of {} too: one machine)", shared.join(", "))
            },
            status: status("CPU"),
            fix: fix("CPU"),
        },
        Check {
            host: name.clone(),
            name: "memory".into(),
            value: size(facts.memory_bytes),
            need: format!(
                "{}: {} nodes × {}, at most {} % of it",
                size(e.memory_bytes),
                host.nodes,
                size(capacity::NODE_MEMORY_BYTES),
                capacity::MEMORY_SHARE_PERCENT
            ),
            status: status("memory"),
            fix: fix("memory"),
        },
    ];
    checks.extend(disk(&name, &e, new_nodes, limits, fix("disk")));
    checks
}

/// Free disk and inodes where the nodes' layers and volumes go.
fn disk(
    host: &str,
    e: &Estimate,
    new_nodes: u32,
    limits: &HostLimits,
    fix: Option<String>,
) -> Vec<Check> {
    let Some(d) = &limits.disk else {
        return vec![Check {
            host: host.to_string(),
            name: "disk".into(),
            value: "not probed".into(),
            need: size(e.disk_bytes),
            status: Status::Warning,
            fix: Some("check `df -h` of the engine's DockerRootDir on the host".into()),
        }];
    };
    let mut checks = vec![Check {
        host: host.to_string(),
        name: "disk".into(),
        value: format!("{} free in {}", size(d.free_bytes), d.path),
        need: format!(
            "{}: {new_nodes} new nodes × {} (writable layer and /var/lib/docker volume of a fresh node) + {} a new swarm2 manager (raft log), keeping {} free (disk_floor)",
            size(e.disk_bytes),
            size(capacity::NODE_DISK_BYTES),
            size(capacity::MANAGER_DISK_BYTES),
            size(e.disk_floor)
        ),
        status: if fix.is_some() { Status::Blocker } else { Status::Ok },
        fix: fix.map(|f| format!("free space in {} or {f}", d.path)),
    }];
    if let Some(free) = d.free_inodes {
        let need = u64::from(new_nodes) * capacity::NODE_INODES;
        checks.push(Check {
            host: host.to_string(),
            name: "inodes".into(),
            value: format!("{free} free in {}", d.path),
            need: format!("{need}: {new_nodes} new nodes × {}", capacity::NODE_INODES),
            status: if free < need {
                Status::Blocker
            } else {
                Status::Ok
            },
            fix: (free < need).then(|| {
                format!(
                    "free inodes in {} (remove unused images and volumes: `docker system prune`)",
                    d.path
                )
            }),
        });
    }
    checks
}

/// Whether the nodes can run as the spec says: privileged needs a full bounding set.
fn capabilities(spec: &Spec, host: &sis_spec::Host, facts: &HostFacts) -> Check {
    let name = host.name.clone();
    let value = match facts.cap_bnd {
        None => "unknown".to_string(),
        Some(bnd) if facts.caps_missing.is_empty() => format!("{bnd:#x}, full"),
        Some(bnd) => format!("{bnd:#x}, lacks {}", facts.caps_missing.join(", ")),
    };
    let (status, need, fix) = match (spec.swarm2.privileged, facts.cap_bnd) {
        (Privileged::Fixed(true), Some(_)) if !facts.caps_missing.is_empty() => (
            Status::Blocker,
            "every capability: privileged: true".to_string(),
            Some(
                "set swarm2.privileged: auto in the spec (nodes then drop what the host lacks)"
                    .to_string(),
            ),
        ),
        (_, None) => (
            Status::Warning,
            "the set, to choose the node profile".to_string(),
            Some(format!(
                "pull {} on host {} so sis can probe it",
                spec.swarm2.image, host.name
            )),
        ),
        (Privileged::Fixed(true), _) => (
            Status::Ok,
            "every capability: privileged: true".into(),
            None,
        ),
        (Privileged::Fixed(false), _) => (
            Status::Ok,
            "none beyond the profile: privileged: false".into(),
            None,
        ),
        (Privileged::Auto, _) => (
            Status::Ok,
            "privileged: auto drops what the host lacks".into(),
            None,
        ),
    };
    Check {
        host: name,
        name: "capabilities".into(),
        value,
        need,
        status,
        fix,
    }
}

/// The engine, and the engine in the nodes for what the spec's swarm2 mode asks.
fn engine(spec: &Spec, host: &sis_spec::Host, facts: &HostFacts, limits: &HostLimits) -> Check {
    let node = limits.node_engine_version.as_deref();
    let value = format!(
        "{} (API {}), nodes: {}",
        facts.version,
        facts.api_version,
        node.unwrap_or("unknown")
    );
    let (status, need, fix) = match spec.swarm2.mode {
        Swarm2Mode::Swarm => (Status::Ok, "swarm mode: any engine".to_string(), None),
        Swarm2Mode::Classic => {
            let major = node.and_then(|v| v.split('.').next()?.parse::<u32>().ok());
            let need =
                "classic mode: dockerd < 23 in the nodes (--cluster-store was removed in 23.0)"
                    .to_string();
            match major {
                Some(m) if m < 23 => (Status::Ok, need, None),
                Some(_) => (Status::Blocker, need, Some("use a node image with dockerd 20.10 or 22.06 (swarm2.image), or swarm2.mode: swarm".to_string())),
                None => (Status::Warning, need, Some(format!("pull {} on host {} so sis can read its dockerd version", spec.swarm2.image, host.name))),
            }
        }
    };
    Check {
        host: host.name.clone(),
        name: "engine".into(),
        value,
        need,
        status,
        fix,
    }
}
