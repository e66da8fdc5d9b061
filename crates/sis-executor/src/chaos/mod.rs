//! Fault injection: break a cluster on purpose, inside its own containers only, and heal it
//! from what is found on the hosts.
//!
//! - [`select`]: which containers a fault acts on (`leader`, `managers`, `random:2`, …),
//! - [`plan_fault`]: a fault resolved against the observed cluster, printable, changing nothing,
//! - [`inject`], [`heal`], [`list`]: acting on the hosts.
//!
//! Every fault leaves a record on the hosts, so any machine can list and heal it, even after
//! the process that injected it was killed: a marker container per fault (created, never
//! started, like the apply lock) and, for network faults, the comment `sis-fault:ID` on every
//! iptables rule and the handle `5151:` on every qdisc sis puts into a node's namespace.
//! Nothing is ever changed on the hosts' own network stacks.

mod act;
mod plan;
pub mod scenario;
pub mod select;

pub use act::{heal, inject, list, remove_markers, FaultRecord, HealReport};
pub use plan::{plan_fault, FaultKind, FaultRequest, NetemOptions, PlannedFault, Shape};

/// Label of fault markers: the cluster. Not `sis.cluster`, so that planning and destroying
/// never count a marker among the cluster's containers.
pub const FAULT_CLUSTER: &str = "sis.fault-cluster";
pub const FAULT_ID: &str = "sis.fault-id";
pub const FAULT_KIND: &str = "sis.fault-kind";
pub const FAULT_TARGETS: &str = "sis.fault-targets";
pub const FAULT_DETAIL: &str = "sis.fault-detail";
/// Seconds since the epoch when the fault is due to end (absent: until healed).
pub const FAULT_UNTIL: &str = "sis.fault-until";
/// The comment prefix of sis's iptables rules.
pub const RULE_COMMENT: &str = "sis-fault:";
/// The handle of sis's root qdiscs (`tc qdisc … handle 5151:`).
pub const QDISC_HANDLE: &str = "5151:";

/// The marker container of fault `id`.
pub fn marker_name(cluster: &str, id: &str) -> String {
    format!("{cluster}{}sis-fault-{id}", sis_types::labels::SEPARATOR)
}

/// A new fault ID: short, unique enough across machines (time and process).
pub fn new_fault_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mixed = select::Rng::new(nanos as u64 ^ (u64::from(std::process::id()) << 32)).next_u64();
    format!("f{:08x}", mixed as u32)
}

/// Seconds since the epoch.
pub fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
