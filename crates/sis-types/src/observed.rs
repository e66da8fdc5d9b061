//! What sis saw on the hosts: plain, serializable data, no handles.
//!
//! `sis status --output json` prints an [`Observed`]; `sis plan --observed FILE` reads one back,
//! so a reviewer can plan with no access to the hosts.

use std::collections::{BTreeMap, BTreeSet};

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::{Availability, ContainerState, LocalNodeState, ManagerStatus, NodeStatus};

/// Everything observed for one cluster, over all of the spec's hosts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    /// The cluster name the containers were listed by (`sis.cluster` label).
    pub cluster: String,
    /// Per host (by the spec's host name).
    pub hosts: BTreeMap<String, HostObservation>,
    /// swarm2 in swarm mode (`swarm2.mode: swarm`), as seen from one of its managers; `None`
    /// when no node is in a swarm yet, and in other modes.
    ///
    /// Each swarm2 mode records its observation in a field of its own, beside this one
    /// (classic mode's comes with its planner), rather than in an enum under this key: a
    /// recording made before modes existed carries no tag saying which mode it holds, so an
    /// enum would have to be untagged, and serde's untagged errors ("did not match any
    /// variant") would replace the line:column message `sis plan --observed` gives for a
    /// damaged file. With a field per mode, every existing recording loads as it is, the
    /// JSON says which mode it saw by its key, and the planner reads the field of the
    /// spec's mode only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swarm2: Option<Swarm2Observation>,
}

/// One host: reachable with its facts, or the error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum HostObservation {
    Reachable(Box<HostFacts>),
    Unreachable { endpoint: String, error: String },
}

impl HostObservation {
    /// The facts of a reachable host.
    pub fn facts(&self) -> Option<&HostFacts> {
        match self {
            HostObservation::Reachable(f) => Some(f),
            HostObservation::Unreachable { .. } => None,
        }
    }
}

/// What a reachable host's engine told.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostFacts {
    pub endpoint: String,
    /// Engine version, e.g. `20.10.24`.
    pub version: String,
    /// Negotiated API version, e.g. `1.41`.
    pub api_version: String,
    /// The engine's ID (`docker info` → `ID`): one engine reached through two endpoints shows
    /// the same ID. `None` in recordings made before it was observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_id: Option<String>,
    pub cpus: u32,
    pub memory_bytes: u64,
    /// The engine's capability bounding set (`CapBnd` of its pid 1), when it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap_bnd: Option<u64>,
    /// Capability names the host lacks (empty when the set is full or unknown).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caps_missing: Vec<String>,
    pub swarm1: Swarm1Membership,
    /// Free space where the engine keeps the nodes' layers and volumes; `None` when it could
    /// not be probed, and in recordings made before it was observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk: Option<crate::DiskSpace>,
    /// Image references present on the host (`repo:tag`, plus `sha256:` IDs).
    pub images: BTreeSet<String>,
    /// Networks on the host that matter to the cluster (at least the spec's network name, if present).
    pub networks: Vec<NetworkObservation>,
    /// Containers that carry this cluster's `sis.cluster` label.
    pub containers: Vec<ContainerObservation>,
}

/// The host engine's place in swarm1.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Swarm1Membership {
    /// `inactive`, `pending`, `active`, `error` or `locked`, as Docker reports it.
    pub state: LocalNodeState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    /// The swarm's cluster ID (same for every host of one swarm).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    /// Whether this engine is a swarm1 manager.
    #[serde(default)]
    pub is_manager: bool,
    /// The address the engine uses in the swarm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_addr: Option<String>,
    /// Addresses of swarm1's managers (`host:port`), as the engine reports them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managers: Vec<String>,
    /// The cluster sis initialised this swarm for (the swarm's `sis.swarm1-created-by`
    /// label). Only managers can read it; `None` on workers and for swarms sis did not make.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

impl Swarm1Membership {
    pub fn is_active(&self) -> bool {
        self.state == LocalNodeState::Active
    }
}

/// A network on a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkObservation {
    pub id: String,
    pub name: String,
    pub driver: String,
    /// `local` or `swarm`.
    pub scope: String,
    pub attachable: bool,
    /// IPv4 subnets of its IPAM config.
    pub subnets: Vec<Ipv4Net>,
    pub labels: BTreeMap<String, String>,
}

/// A container with this cluster's label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerObservation {
    pub id: String,
    /// Name without the leading `/`.
    pub name: String,
    pub image: String,
    /// Docker's state: `created`, `running`, `paused`, `restarting`, `removing`, `exited`, `dead`.
    pub state: ContainerState,
    pub labels: BTreeMap<String, String>,
    /// The container's address on the spec's network, without prefix length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ring2net_ip: Option<String>,
}

impl ContainerObservation {
    pub fn is_running(&self) -> bool {
        self.state == ContainerState::Running
    }
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }
}

/// swarm2 in swarm mode, as reported by one of its managers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Swarm2Observation {
    /// The node container (name) that answered.
    pub via: String,
    /// swarm2's cluster ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    /// The node list (`docker node ls`).
    pub nodes: Vec<Swarm2Node>,
    /// Whether swarm2 has its `ingress` network; `None` when not known (older recordings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<bool>,
}

/// One entry of swarm2's node list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Swarm2Node {
    pub id: String,
    /// The node's hostname; sis sets it to the container name. Empty for some ghosts.
    pub hostname: String,
    /// `ready`, `down`, `unknown` or `disconnected` (lower case).
    pub status: NodeStatus,
    /// `active`, `pause` or `drain`.
    pub availability: Availability,
    /// `leader`, `reachable`, `unreachable`, or empty for a worker.
    #[serde(default)]
    pub manager_status: ManagerStatus,
}

impl Swarm2Node {
    pub fn is_manager(&self) -> bool {
        self.manager_status != ManagerStatus::None
    }
    pub fn is_ready(&self) -> bool {
        self.status == NodeStatus::Ready
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A recording of swarm mode made before swarm2 modes were told apart (no ingress, no
    /// mode anywhere) loads, and is written back under the same key.
    #[test]
    fn a_swarm_mode_recording_keeps_its_swarm2_key() {
        let text = r#"{"cluster": "demo", "hosts": {}, "swarm2": {"via": "demo-local-1",
            "nodes": [{"id": "x1", "hostname": "demo-local-1", "status": "ready",
                       "availability": "active", "manager_status": "leader"}]}}"#;
        let observed: Observed = serde_json::from_str(text).unwrap();
        let swarm2 = observed.swarm2.as_ref().unwrap();
        assert_eq!(
            (swarm2.via.as_str(), swarm2.ingress),
            ("demo-local-1", None)
        );
        let back = serde_json::to_value(&observed).unwrap();
        assert_eq!(back["swarm2"]["nodes"][0]["manager_status"], "leader");
    }
}
