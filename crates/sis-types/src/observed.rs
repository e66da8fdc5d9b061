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
    /// Running nodes' own swarm state (`docker info` in them), by container name: of every
    /// running node when no manager answered with swarm2's node list, else of those none of
    /// whose entries is ready (empty in older recordings). It tells a swarm2 that is there but
    /// cannot answer from none, and a member waiting from a new container under an old name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub swarm2_locals: BTreeMap<String, Swarm2LocalObservation>,
    /// Running nodes whose own swarm state was to be read (see `swarm2_locals`) but did not
    /// come in time: a loaded host, a dockerd still starting. Until they answer, nobody can
    /// tell that none of them holds swarm2's state, so swarm2 is not initialised anew.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub swarm2_unread: BTreeSet<String>,
    /// swarm2 in classic mode (`swarm2.mode: classic`): what its manager reports, or why it
    /// could not be asked. `None` in other modes and before the manager exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classic: Option<ClassicObservation>,
    /// The K/V store as a probe through one running node saw it (health, key count, the
    /// latency of a write, a read and a delete). Only `sis status` and `sis watch` probe
    /// it; `None` elsewhere, when the spec has no K/V store, or when no node runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kvstore: Option<KvStoreProbe>,
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
    /// The kernel's boot ID, read with the disk: hosts that report the same one share one
    /// machine (lab hosts) and its cores. `None` when it could not be probed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
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
    /// The IPv4 range Docker's IPAM hands out from (`IPRange` of its IPAM config); `None`
    /// when it hands out the whole subnet (a network made before sis fixed addresses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<Ipv4Net>,
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
    /// A dind node of the cluster (`sis.role=node`).
    pub fn is_node(&self) -> bool {
        self.label(crate::labels::ROLE) == Some(crate::labels::ROLE_NODE)
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

/// classic Swarm's manager's view (`docker info` of the manager), asked from a node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassicObservation {
    /// The node container the manager was asked from.
    pub via: String,
    /// The nodes the manager lists, in its order.
    #[serde(default)]
    pub nodes: Vec<ClassicNode>,
    /// Why the manager could not be asked (it is not up yet, or is not reachable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The node image's engine version when it has no `--cluster-store` (Docker 23 and
    /// later): classic mode cannot work with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsupported_engine: Option<String>,
}

/// The K/V store, probed over ring2net from inside a running node: its health endpoint
/// (etcd's `/health`, consul's `/v1/status/leader`), its key count (etcd's v2 tree, consul's
/// `/v1/kv/?keys`), and a write, a read and a delete of a key under `sis-probe/`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvStoreProbe {
    /// `etcd` or `consul`.
    pub kind: String,
    /// The store's API address on ring2net (`10.9.0.2:2379`).
    pub address: String,
    /// The node container the probe ran in.
    pub via: String,
    /// The store answered its health endpoint as healthy, and the probe key could be
    /// written, read back and deleted.
    pub healthy: bool,
    /// Why it is not healthy (the first failing step), if it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The number of keys (leaves; etcd: in the v2 tree the engines use), before the probe
    /// key was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<u64>,
    /// Microseconds of the write, the read and the delete, each one HTTP request on a new
    /// connection, timed inside the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_us: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_us: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_us: Option<u64>,
}

/// One node as classic Swarm's manager lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassicNode {
    /// The node's name as the manager knows it (its hostname, or `(unknown)` while pending).
    pub name: String,
    /// The address the agent announced (`ADDR:2375`).
    pub addr: String,
    /// `Healthy`, `Pending` or `Unhealthy`, as the manager says.
    pub status: String,
    /// The manager's error for the node, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ClassicObservation {
    /// Nodes the manager lists as `Healthy`.
    pub fn healthy(&self) -> usize {
        self.nodes.iter().filter(|n| n.status == "Healthy").count()
    }
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

/// A node's own view of its swarm membership, as `docker info` in it tells.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Swarm2LocalObservation {
    /// `inactive`, `pending`, `active`, `error` or `locked`.
    pub state: LocalNodeState,
    /// Whether the node is a manager (`ControlAvailable`).
    #[serde(default)]
    pub manager: bool,
    /// The swarm's ID; dockerd tells it to managers that reach a leader only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    /// dockerd's error, e.g. `rpc error: code = DeadlineExceeded …` of a manager with no leader.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
    /// The managers the node knows (`ADDR:PORT`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remote_managers: Vec<String>,
    /// The newest modification time (Unix seconds) of a manager's raft log files: the
    /// freshest surviving manager is the one to rebuild swarm2 from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raft_time: Option<i64>,
}

impl Swarm2LocalObservation {
    /// The node holds swarm state: initialising swarm2 anew would make a second swarm2.
    pub fn holds_state(&self) -> bool {
        matches!(
            self.state,
            LocalNodeState::Active
                | LocalNodeState::Pending
                | LocalNodeState::Error
                | LocalNodeState::Locked
        )
    }

    /// A manager that is in a swarm with no leader: quorum is lost, and only
    /// `swarm init --force-new-cluster` on a surviving manager brings swarm2 back.
    pub fn lost_quorum(&self) -> bool {
        self.state == LocalNodeState::Active
            && self.manager
            && !self.error.is_empty()
            && self.cluster_id.is_none()
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
