//! A host's kernel limits and disk, as read by a short-lived probe container
//! (`sis doctor`, and the free disk the planner's capacity estimate counts on).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Free space of the filesystem where the engine keeps containers and volumes (its
/// `DockerRootDir`): the nodes' writable layers and their `/var/lib/docker` volumes go there.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskSpace {
    /// The engine's `DockerRootDir`, e.g. `/var/lib/docker`.
    pub path: String,
    pub free_bytes: u64,
    /// Free inodes; `None` when the filesystem does not count them (e.g. btrfs reports 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_inodes: Option<u64>,
}

/// What the probe read on a host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostLimits {
    /// Sysctl name (dotted, e.g. `kernel.pid_max`) → value, for those the probe could read.
    pub sysctls: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk: Option<DiskSpace>,
    /// The engine's cgroup version (`1` or `2`; empty when not reported).
    #[serde(default)]
    pub cgroup_version: String,
    /// The version of dockerd in the node image (`dockerd --version` in the probe), when the
    /// probe ran from the spec's node image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_engine_version: Option<String>,
    /// The kernel's boot ID: engines that report the same one run on one machine (lab hosts)
    /// and share its cores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
}

/// The sysctls `sis doctor` reads. None of them needs the probe in the host's pid namespace
/// except `kernel.pid_max` (per pid namespace since Linux 6.14: a container sees its own);
/// the `net.*` ones exist only in the host's network namespace (a container's has no
/// `gc_thresh*`), so the probe runs with the host's pid and network namespaces.
pub const DOCTOR_SYSCTLS: &[&str] = &[
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
];

/// One reading of how busy a host's machine is, taken by the engine's long-lived sampler
/// (a container printing the kernel's counters every second) and the time the engine's API
/// took to answer a ping. Lab hosts on one machine read the same kernel: the same
/// `machine` (the kernel's boot ID) tells the executor they share one budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadSample {
    /// The kernel's boot ID (`/proc/sys/kernel/random/boot_id`): equal for every engine on
    /// one machine, nested ones included.
    pub machine: String,
    /// Cores of the machine (`nproc` of the sampler, which has no CPU limit).
    pub cpus: u32,
    /// `some avg10` of `/proc/pressure/cpu` (percent of the last 10 s in which a task waited
    /// for a CPU); `None` on kernels without pressure stall information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_pressure: Option<f64>,
    /// The 1-minute load average.
    pub load1: f64,
    /// Tasks runnable at the moment of the sample (`/proc/loadavg`'s fourth field, before
    /// the slash): what the load average averages, without its minute-long lag.
    #[serde(default)]
    pub runnable: u32,
    /// How long the engine took to answer a ping (milliseconds).
    pub api_millis: u64,
    /// The machine's CPU time so far (the first line of `/proc/stat`), for the share of the
    /// cores in use between two samples; `None` when the sampler could not read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_time: Option<CpuTime>,
}

/// Cumulative CPU time of a machine, all cores together, in the kernel's ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuTime {
    /// Ticks the cores spent on anything but idling and waiting for I/O.
    pub busy: u64,
    /// All ticks.
    pub total: u64,
}

impl CpuTime {
    /// Parses `cpu  user nice system idle iowait irq softirq steal …` (the first line of
    /// `/proc/stat`). Guest time is part of user time there, so it is not added again.
    pub fn parse(line: &str) -> Option<CpuTime> {
        let mut words = line.split_whitespace();
        if words.next()? != "cpu" {
            return None;
        }
        let ticks: Vec<u64> = words
            .take(8)
            .map(|w| w.parse().ok())
            .collect::<Option<_>>()?;
        if ticks.len() < 5 {
            return None;
        }
        let total: u64 = ticks.iter().sum();
        let idle = ticks[3] + ticks[4];
        Some(CpuTime {
            busy: total - idle,
            total,
        })
    }

    /// The share of the cores in use from `earlier` to `self` (0 to 1); `None` when no tick
    /// passed or the counters went back (another boot).
    pub fn busy_since(&self, earlier: &CpuTime) -> Option<f64> {
        let total = self.total.checked_sub(earlier.total).filter(|t| *t > 0)?;
        let busy = self.busy.checked_sub(earlier.busy)?;
        Some((busy as f64 / total as f64).min(1.0))
    }
}
