//! Actions and plans: every value resolved, each action with the reason it is needed.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use sis_spec::ImageRef;

/// The phases of a plan, in execution order. Removals run first and bottom-up
/// (swarm2 entries, then containers, then the network, then — in `sis destroy --swarm1`
/// only — swarm1); then everything is built top-down (swarm1 → images → ring2net →
/// K/V store → nodes → swarm2).
/// The executor finishes a phase before it starts the next; the actions of one
/// phase are independent of each other and may run concurrently, except in the phases
/// where [`Phase::is_sequential`] holds, which run in plan order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Rebuild swarm2 from its freshest surviving manager after quorum is lost
    /// (`swarm init --force-new-cluster`). Run only when asked (`sis apply --repair`).
    Swarm2Repair,
    /// Promote replacements first (quorum), then demote, leave and remove swarm2 entries
    /// of nodes that go away, and remove ghost entries. Not independent: run in plan order.
    Swarm2Shrink,
    /// Remove node containers (extra, drifted or dead) with their volumes.
    NodesRemove,
    /// Remove the K/V store container.
    KvStoreRemove,
    /// Remove ring2net.
    NetworkRemove,
    /// Make the hosts leave swarm1 (`sis destroy --swarm1`, and only for a swarm1 that sis
    /// initialised for the cluster). Not independent: workers leave first, then managers,
    /// the host sis initialised swarm1 on last.
    Swarm1Leave,
    /// Init or join swarm1 on the hosts. Not independent: the `InitSwarm1`, when there is
    /// one, is first and must finish before the `JoinSwarm1`s, which go through that host.
    Swarm1,
    /// Put the node (and K/V store) images on the hosts.
    Images,
    /// Create ring2net.
    Network,
    /// Create the K/V store, and classic mode's CA.
    KvStore,
    /// Create or start node containers and wait for their dockerd.
    Nodes,
    /// `swarm init` on the first swarm2 manager, then its ingress network as the spec says
    /// (in plan order).
    Swarm2Init,
    /// Join nodes to swarm2, promote nodes that must become managers.
    Swarm2Join,
}

impl Phase {
    pub const ALL: [Phase; 13] = [
        Phase::Swarm2Repair,
        Phase::Swarm2Shrink,
        Phase::NodesRemove,
        Phase::KvStoreRemove,
        Phase::NetworkRemove,
        Phase::Swarm1Leave,
        Phase::Swarm1,
        Phase::Images,
        Phase::Network,
        Phase::KvStore,
        Phase::Nodes,
        Phase::Swarm2Init,
        Phase::Swarm2Join,
    ];

    /// Whether the actions of this phase must run one after another, in plan order: swarm1
    /// is initialised before hosts join it, swarm2 before its ingress is set, in swarm2's
    /// shrink promotions precede demotions precede removals (quorum), and swarm1's managers
    /// leave after its workers. The actions of every other phase are independent and may run
    /// concurrently.
    pub fn is_sequential(self) -> bool {
        matches!(
            self,
            Phase::Swarm1
                | Phase::Swarm2Repair
                | Phase::Swarm2Init
                | Phase::Swarm2Shrink
                | Phase::Swarm1Leave
        )
    }

    /// Heading used in the printed plan.
    pub fn title(self) -> &'static str {
        match self {
            Phase::Swarm2Repair => "swarm2 (repair)",
            Phase::Swarm2Shrink => "swarm2 (shrink)",
            Phase::NodesRemove => "dind nodes (remove)",
            Phase::KvStoreRemove => "K/V store (remove)",
            Phase::NetworkRemove => "network (remove)",
            Phase::Swarm1Leave => "swarm1 (leave)",
            Phase::Swarm1 => "swarm1",
            Phase::Images => "images",
            Phase::Network => "network",
            Phase::KvStore => "K/V store",
            Phase::Nodes => "dind nodes",
            Phase::Swarm2Init => "swarm2 (init)",
            Phase::Swarm2Join => "swarm2 (join)",
        }
    }
}

/// swarm1 or swarm2 role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Manager,
    Worker,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Manager => "manager",
            Role::Worker => "worker",
        })
    }
}

/// How a node container is allowed to run dockerd.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NodeProfile {
    /// `--privileged`.
    Privileged,
    /// All capabilities but `cap_drop`; seccomp, apparmor and system paths unconfined;
    /// every device allowed by the device cgroup.
    Capabilities { cap_drop: Vec<String> },
}

impl std::fmt::Display for NodeProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodeProfile::Privileged => f.write_str("privileged"),
            NodeProfile::Capabilities { cap_drop } if cap_drop.is_empty() => {
                f.write_str("capability profile")
            }
            NodeProfile::Capabilities { cap_drop } => {
                write!(f, "capability profile without {}", cap_drop.join(", "))
            }
        }
    }
}

/// Classic mode with TLS: the certificate a node or the manager gets, signed by the CA kept
/// in container `ca` on `ca_host`. The key is made by the executor and never part of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassicTls {
    pub ca_host: String,
    pub ca: String,
    /// The addresses and names clients dial (the certificate's subject alternative names).
    pub names: Vec<String>,
}

/// One change to the hosts. Every value is resolved: the executor makes no choices.
/// Secrets (swarm join tokens) are never part of an action; the executor fetches them
/// when it runs the action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// `docker swarm init` on a host engine.
    InitSwarm1 {
        host: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        advertise_addr: Option<String>,
    },
    /// `docker swarm join` of a host engine to swarm1, through `manager_host`.
    JoinSwarm1 {
        host: String,
        manager_host: String,
        role: Role,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        advertise_addr: Option<String>,
    },
    /// `docker swarm leave` of a host engine (`--force` for a manager, which dockerd requires).
    /// Planned only by `sis destroy --swarm1`, for a swarm1 that sis initialised for the
    /// cluster.
    LeaveSwarm1 { host: String, force: bool },
    /// Pull an image from its registry onto a host. Planned only when no host of the spec
    /// has the image.
    PullImage { host: String, image: ImageRef },
    /// Stream an image from one host's engine to another's (`docker save` → `docker load`,
    /// no file in between). Planned instead of a pull whenever a host of the spec has the
    /// image: the copy is the image the other hosts run, and needs no registry.
    CopyImage {
        from_host: String,
        host: String,
        image: ImageRef,
    },
    /// Create the attachable overlay network through a swarm1 manager host. Docker's IPAM
    /// hands out addresses of `ip_range` only (the upper half of the subnet); the lower half
    /// holds the fixed addresses of nodes and the K/V store (see `sis_spec::addresses`).
    CreateNetwork {
        host: String,
        name: String,
        subnet: Ipv4Net,
        ip_range: Ipv4Net,
        gateway: Ipv4Addr,
    },
    /// Remove the network.
    RemoveNetwork { host: String, name: String },
    /// Create and start the K/V store container on the network.
    CreateKvStore {
        host: String,
        name: String,
        kind: sis_spec::KvKind,
        image: ImageRef,
        /// The arguments given to the image's entrypoint (Docker `Cmd`), resolved for `kind`.
        cmd: Vec<String>,
        network: String,
        /// Its fixed address on the network.
        address: Ipv4Addr,
    },
    /// Start the stopped K/V store container again, keeping its data (the discovery
    /// entries and the overlay networks made through the classic manager).
    StartKvStore { host: String, name: String },
    /// Remove the K/V store container.
    RemoveKvStore { host: String, name: String },
    /// Create and start a dind node, wait until its dockerd answers and load the preloaded
    /// images into it.
    CreateNode {
        host: String,
        name: String,
        index: u32,
        image: ImageRef,
        profile: NodeProfile,
        network: String,
        /// Its fixed address on the network, kept across restarts.
        address: Ipv4Addr,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        args: Vec<String>,
        /// Images loaded into the node from its host's engine once its dockerd answers, before
        /// it joins swarm2 (`swarm2.preload`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        preload: Vec<ImageRef>,
        /// Hash of the spec parts the node is made from (`sis.spec-hash` label).
        spec_hash: String,
        /// Classic mode with TLS: the certificate the node's dockerd serves.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tls: Option<ClassicTls>,
    },
    /// Classic mode with TLS: make the cluster's CA and keep it on `host` in a container that
    /// is created and never started, with a client certificate beside it.
    CreateClassicCa { host: String, name: String },
    /// Remove the container that keeps classic mode's CA.
    RemoveClassicCa { host: String, name: String },
    /// Create and start classic Swarm's manager (`swarm manage`), published on its host.
    CreateClassicManager {
        host: String,
        name: String,
        image: ImageRef,
        /// The arguments given to the image's entrypoint (`swarm`).
        cmd: Vec<String>,
        network: String,
        address: Ipv4Addr,
        /// Host port of the manager's API (container port 2375).
        publish: u16,
        /// `sis.spec-hash` of the container.
        spec_hash: String,
        /// With TLS: the certificate the manager serves its API with and shows the nodes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tls: Option<ClassicTls>,
    },
    /// Remove classic Swarm's manager container.
    RemoveClassicManager { host: String, name: String },
    /// Create and start the `swarm join` agent of `node`, beside it on the network.
    CreateClassicAgent {
        host: String,
        name: String,
        node: String,
        /// The node's index on its host.
        index: u32,
        image: ImageRef,
        /// The arguments given to the image's entrypoint (`swarm`).
        cmd: Vec<String>,
        network: String,
        /// `sis.spec-hash` of the container.
        spec_hash: String,
    },
    /// Remove the agent of a node.
    RemoveClassicAgent { host: String, name: String },
    /// Start an existing, stopped node and wait until its dockerd answers.
    StartNode { host: String, name: String },
    /// Remove a node container together with its anonymous volume.
    RemoveNode { host: String, name: String },
    /// `docker swarm init` inside the node, advertising and listening on its fixed ring2net
    /// address.
    InitSwarm2 {
        host: String,
        node: String,
        address: Ipv4Addr,
    },
    /// `docker swarm init --force-new-cluster` inside a surviving manager of a swarm2 that
    /// lost its quorum, advertising and listening on its fixed ring2net address: swarm2 (its
    /// ID, services, entries) continues with that manager as its only one. A repair: run only
    /// when asked.
    RepairSwarm2 {
        host: String,
        node: String,
        address: Ipv4Addr,
    },
    /// Remove (`enabled: false`) or create swarm2's `ingress` network (the routing mesh), on
    /// `manager`. Removing it before nodes join spares each of them the ingress sandbox.
    SetSwarm2Ingress {
        manager: String,
        manager_host: String,
        enabled: bool,
    },
    /// `docker swarm join` inside the node, with a token fetched from `manager`, advertising
    /// and listening on the node's fixed ring2net address, joining `manager` at its own.
    JoinSwarm2 {
        host: String,
        node: String,
        role: Role,
        manager: String,
        manager_host: String,
        address: Ipv4Addr,
        manager_address: Ipv4Addr,
    },
    /// `docker node promote` on a manager.
    PromoteSwarm2 {
        manager: String,
        manager_host: String,
        /// What `docker node` is given: the hostname when exactly one entry has it,
        /// else the entry's ID (ghosts, duplicates).
        node: String,
    },
    /// `docker node demote` on a manager.
    DemoteSwarm2 {
        manager: String,
        manager_host: String,
        /// What `docker node` is given: the hostname when exactly one entry has it,
        /// else the entry's ID (ghosts, duplicates).
        node: String,
    },
    /// `docker swarm leave` inside the node (`--force` for a manager).
    LeaveSwarm2 { host: String, node: String },
    /// `docker node rm --force` of an entry on a manager.
    RemoveSwarm2Entry {
        manager: String,
        manager_host: String,
        node_id: String,
        hostname: String,
    },
}

/// `+` adds, `~` changes, `-` removes, `!` repairs (runs only when asked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    Add,
    Change,
    Remove,
    Repair,
}

impl Mark {
    pub fn symbol(self) -> char {
        match self {
            Mark::Add => '+',
            Mark::Change => '~',
            Mark::Remove => '-',
            Mark::Repair => '!',
        }
    }
}

impl Action {
    /// Whether the action adds, changes or removes something.
    pub fn mark(&self) -> Mark {
        match self {
            Action::PullImage { .. }
            | Action::CopyImage { .. }
            | Action::CreateNetwork { .. }
            | Action::CreateKvStore { .. }
            | Action::CreateNode { .. }
            | Action::CreateClassicManager { .. }
            | Action::CreateClassicAgent { .. }
            | Action::CreateClassicCa { .. } => Mark::Add,
            Action::InitSwarm1 { .. }
            | Action::JoinSwarm1 { .. }
            | Action::StartNode { .. }
            | Action::StartKvStore { .. }
            | Action::InitSwarm2 { .. }
            | Action::SetSwarm2Ingress { .. }
            | Action::JoinSwarm2 { .. }
            | Action::PromoteSwarm2 { .. }
            | Action::DemoteSwarm2 { .. } => Mark::Change,
            Action::RemoveNetwork { .. }
            | Action::RemoveKvStore { .. }
            | Action::RemoveNode { .. }
            | Action::RemoveClassicManager { .. }
            | Action::RemoveClassicAgent { .. }
            | Action::RemoveClassicCa { .. }
            | Action::LeaveSwarm2 { .. }
            | Action::RemoveSwarm2Entry { .. }
            | Action::LeaveSwarm1 { .. } => Mark::Remove,
            Action::RepairSwarm2 { .. } => Mark::Repair,
        }
    }

    /// The host whose engine the action talks to.
    pub fn host(&self) -> &str {
        match self {
            Action::InitSwarm1 { host, .. }
            | Action::JoinSwarm1 { host, .. }
            | Action::LeaveSwarm1 { host, .. }
            | Action::PullImage { host, .. }
            | Action::CopyImage { host, .. }
            | Action::CreateNetwork { host, .. }
            | Action::RemoveNetwork { host, .. }
            | Action::CreateKvStore { host, .. }
            | Action::RemoveKvStore { host, .. }
            | Action::StartKvStore { host, .. }
            | Action::CreateNode { host, .. }
            | Action::StartNode { host, .. }
            | Action::RemoveNode { host, .. }
            | Action::CreateClassicManager { host, .. }
            | Action::RemoveClassicManager { host, .. }
            | Action::CreateClassicAgent { host, .. }
            | Action::RemoveClassicAgent { host, .. }
            | Action::CreateClassicCa { host, .. }
            | Action::RemoveClassicCa { host, .. }
            | Action::InitSwarm2 { host, .. }
            | Action::RepairSwarm2 { host, .. }
            | Action::JoinSwarm2 { host, .. }
            | Action::LeaveSwarm2 { host, .. } => host,
            Action::PromoteSwarm2 { manager_host, .. }
            | Action::SetSwarm2Ingress { manager_host, .. }
            | Action::DemoteSwarm2 { manager_host, .. }
            | Action::RemoveSwarm2Entry { manager_host, .. } => manager_host,
        }
    }

    /// One line saying what the action does, e.g. `create node demo.local-7 on host local`.
    pub fn describe(&self) -> String {
        match self {
            Action::InitSwarm1 {
                host,
                advertise_addr,
            } => match advertise_addr {
                Some(a) => format!("init swarm1 on host {host} advertising {a}"),
                None => format!("init swarm1 on host {host}"),
            },
            Action::JoinSwarm1 {
                host,
                manager_host,
                role,
                ..
            } => format!("join host {host} to swarm1 as {role} via host {manager_host}"),
            Action::LeaveSwarm1 { host, force: false } => format!("host {host} leaves swarm1"),
            Action::LeaveSwarm1 { host, force: true } => {
                format!("host {host} leaves swarm1 (--force)")
            }
            Action::PullImage { host, image } => format!("pull image {image} on host {host}"),
            Action::CopyImage {
                from_host,
                host,
                image,
            } => format!("copy image {image} from host {from_host} to host {host}"),
            Action::CreateNetwork {
                host,
                name,
                subnet,
                ip_range,
                ..
            } => {
                format!(
                    "create network {name} {subnet} (Docker hands out {ip_range}) via host {host}"
                )
            }
            Action::RemoveNetwork { host, name } => {
                format!("remove network {name} via host {host}")
            }
            Action::CreateKvStore {
                host,
                name,
                kind,
                address,
                ..
            } => format!(
                "create {} K/V store {name} on host {host} at {address}",
                kv_name(*kind)
            ),
            Action::RemoveKvStore { host, name } => {
                format!("remove K/V store {name} on host {host}")
            }
            Action::StartKvStore { host, name } => {
                format!("start K/V store {name} on host {host}")
            }
            Action::CreateNode {
                host,
                name,
                address,
                ..
            } => format!("create node {name} on host {host} at {address}"),
            Action::StartNode { host, name } => format!("start node {name} on host {host}"),
            Action::RemoveNode { host, name } => format!("remove node {name} on host {host}"),
            Action::CreateClassicManager {
                host,
                name,
                publish,
                address,
                tls,
                ..
            } => {
                let tls = match tls {
                    Some(t) => format!(
                        " with TLS (client certificate: docker cp {}:{}/client DIR)",
                        t.ca,
                        crate::labels::CA_DIR
                    ),
                    None => String::new(),
                };
                format!(
                    "create classic swarm manager {name} on host {host} at {address}, published on port {publish}{tls}"
                )
            }
            Action::RemoveClassicManager { host, name } => {
                format!("remove classic swarm manager {name} on host {host}")
            }
            Action::CreateClassicAgent {
                host, name, node, ..
            } => {
                format!("create swarm agent {name} of node {node} on host {host}")
            }
            Action::RemoveClassicAgent { host, name } => {
                format!("remove swarm agent {name} on host {host}")
            }
            Action::CreateClassicCa { host, name } => {
                format!("make the cluster's CA, kept in {name} on host {host}")
            }
            Action::RemoveClassicCa { host, name } => {
                format!("remove the cluster's CA {name} on host {host}")
            }
            Action::InitSwarm2 { node, .. } => format!("init swarm2 on node {node}"),
            Action::RepairSwarm2 { node, .. } => {
                format!("repair swarm2 on node {node} (swarm init --force-new-cluster)")
            }
            Action::SetSwarm2Ingress {
                manager,
                enabled: true,
                ..
            } => format!("create swarm2's ingress network via node {manager}"),
            Action::SetSwarm2Ingress {
                manager,
                enabled: false,
                ..
            } => format!("remove swarm2's ingress network via node {manager}"),
            Action::JoinSwarm2 { node, role, .. } => {
                format!("join node {node} to swarm2 as {role}")
            }
            Action::PromoteSwarm2 { node, .. } => format!("promote node {node} to swarm2 manager"),
            Action::DemoteSwarm2 { node, .. } => format!("demote node {node} to swarm2 worker"),
            Action::LeaveSwarm2 { node, .. } => format!("node {node} leaves swarm2"),
            Action::RemoveSwarm2Entry {
                node_id, hostname, ..
            } => {
                let short = &node_id[..node_id.len().min(12)];
                if hostname.is_empty() {
                    format!("remove swarm2 entry {short} (no hostname)")
                } else {
                    format!("remove swarm2 entry {short} ({hostname})")
                }
            }
        }
    }
}

fn kv_name(kind: sis_spec::KvKind) -> &'static str {
    match kind {
        sis_spec::KvKind::Consul => "consul",
        sis_spec::KvKind::Etcd => "etcd",
    }
}

/// An action with the reason the planner chose it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedAction {
    #[serde(flatten)]
    pub action: Action,
    /// Why, in words, e.g. `spec wants 10, host has 6`.
    pub reason: String,
}

/// The actions of one phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanPhase {
    pub phase: Phase,
    pub actions: Vec<PlannedAction>,
}

/// What it takes to bring the hosts to the spec.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub cluster: String,
    /// Non-empty phases in execution order.
    pub phases: Vec<PlanPhase>,
    /// Decisions the planner made that the user should see (e.g. `privileged: auto` per host).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Things that will work but deserve attention (e.g. more nodes than a host holds calmly).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The plan removes and creates again every swarm2 manager or more than half of the
    /// nodes; `sis apply` runs it only when allowed explicitly.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replaces_most: bool,
}

/// Counts of a plan's actions by mark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub remove: usize,
    /// Repairs, which run only when asked.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub repair: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Plan {
    /// True when the hosts already match the spec.
    pub fn is_empty(&self) -> bool {
        self.phases.iter().all(|p| p.actions.is_empty())
    }

    /// Whether the plan holds a repair (run only by `sis apply --repair`).
    pub fn needs_repair(&self) -> bool {
        self.actions().any(|a| a.action.mark() == Mark::Repair)
    }

    /// All actions in execution order.
    pub fn actions(&self) -> impl Iterator<Item = &PlannedAction> {
        self.phases.iter().flat_map(|p| p.actions.iter())
    }

    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for a in self.actions() {
            match a.action.mark() {
                Mark::Add => s.add += 1,
                Mark::Change => s.change += 1,
                Mark::Remove => s.remove += 1,
                Mark::Repair => s.repair += 1,
            }
        }
        s
    }
}
