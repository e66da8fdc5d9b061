//! The engine boundary.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::Ipv4Addr;
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use ipnet::Ipv4Net;

use sis_types::{HostFacts, HostLimits, LoadSample, NodeProfile, Role, Swarm2Node};

use crate::EngineError;

/// What to create for a container (node, K/V store, lock).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSpec {
    pub name: String,
    /// Hostname inside the container; sis uses the container name.
    pub hostname: String,
    pub image: String,
    /// Arguments appended to the image's entrypoint (Docker `Cmd`).
    pub cmd: Vec<String>,
    pub labels: BTreeMap<String, String>,
    /// Network to attach at creation (ring2net), if any.
    pub network: Option<String>,
    /// How dockerd may run inside; `None` for an ordinary container (K/V store).
    pub profile: Option<NodeProfile>,
    /// Host port → container port (TCP).
    pub publish: Vec<(u16, u16)>,
    /// Its fixed address on `network` (Docker's IPAM hands it out nowhere else); `None` lets
    /// Docker choose.
    pub ipv4_address: Option<Ipv4Addr>,
    /// Docker starts it again when it exits on its own or its dockerd starts (the host
    /// restarted), unless someone stopped it (`unless-stopped`).
    pub restart_unless_stopped: bool,
}

/// A file put into a container before it starts (certificates), or read out of one.
#[derive(Clone, PartialEq, Eq)]
pub struct ContainerFile {
    /// Absolute path inside the container.
    pub path: String,
    pub contents: Vec<u8>,
    /// Unix permission bits (`0o600` for a private key).
    pub mode: u32,
}

impl std::fmt::Debug for ContainerFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Contents may be private keys: never in logs or errors.
        f.debug_struct("ContainerFile")
            .field("path", &self.path)
            .field("bytes", &self.contents.len())
            .finish()
    }
}

/// How a network hands out addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkAddressing {
    pub subnet: Ipv4Net,
    /// The part of `subnet` Docker's IPAM hands out; `None`: all of it.
    pub ip_range: Option<Ipv4Net>,
    /// `None`: Docker's choice (the first address).
    pub gateway: Option<Ipv4Addr>,
}

impl From<Ipv4Net> for NetworkAddressing {
    /// The whole subnet handed out by Docker.
    fn from(subnet: Ipv4Net) -> Self {
        NetworkAddressing {
            subnet,
            ip_range: None,
            gateway: None,
        }
    }
}

/// Output of a command run in a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub exit_code: i64,
    pub stdout: String,
    pub stderr: String,
}

/// The primitive operations on one host's Docker engine.
///
/// Idempotent where Docker allows: creating what exists (409) and removing what is gone (404)
/// succeed. Implementations hold one client per host, reused across calls.
pub trait HostEngine: Send + Sync + 'static {
    /// The endpoint, for messages.
    fn endpoint(&self) -> &str;

    /// Engine facts, swarm1 membership, images, the network named `network`, and the
    /// containers labelled `sis.cluster=<cluster>` (one list call).
    fn observe(
        &self,
        cluster: &str,
        network: &str,
    ) -> impl Future<Output = Result<HostFacts, EngineError>> + Send;

    /// `swarm init` on this engine, listening on `0.0.0.0:2377`, with `labels` on the new
    /// swarm's spec (sis marks the swarms it makes with `sis.swarm1-created-by`). An engine
    /// that already manages a swarm counts as done, and its labels are left as they are; one
    /// that is a worker of a swarm is an error.
    fn swarm1_init(
        &self,
        advertise_addr: Option<&str>,
        labels: BTreeMap<String, String>,
    ) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// `swarm leave` of this engine; `force` is needed for a manager (dockerd refuses a
    /// manager's leave without it). An engine in no swarm counts as done.
    fn swarm1_leave(&self, force: bool) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// The join token of swarm1 for `role` (this engine must be a manager).
    fn swarm1_join_token(
        &self,
        role: Role,
    ) -> impl Future<Output = Result<String, EngineError>> + Send;

    /// `swarm join` this engine to swarm1 at `remote_addrs`. An engine already in the swarm
    /// of those managers counts as done; a join that times out but goes on in the background
    /// is waited for.
    fn swarm1_join(
        &self,
        remote_addrs: Vec<String>,
        token: String,
        advertise_addr: Option<String>,
    ) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// Pull `image` (reporting progress through tracing).
    fn pull_image(&self, image: &str) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// The ID of `image` on this engine, or `None` when it does not have it.
    fn image_id(
        &self,
        image: &str,
    ) -> impl Future<Output = Result<Option<String>, EngineError>> + Send;

    /// The image as the tar stream of `docker save`, read as it is consumed (no file).
    fn export_image(
        &self,
        image: &str,
    ) -> impl Stream<Item = Result<Bytes, EngineError>> + Send + Unpin + 'static;

    /// Loads the images of a tar stream in the format of `docker save` (`docker load`).
    /// An error item in `tar` aborts the load.
    fn import_image<S>(&self, tar: S) -> impl Future<Output = Result<(), EngineError>> + Send
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static;

    /// Runs `docker load` inside container `name` (a node) with `tar` on its stdin: how
    /// images get into nodes, which have no TCP API. An error item in `tar` aborts the load.
    fn load_image_in_container<S>(
        &self,
        name: &str,
        tar: S,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), EngineError>> + Send
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static;

    /// Create an attachable overlay network (409 = success if it has the same subnet).
    fn create_network(
        &self,
        name: &str,
        addressing: NetworkAddressing,
        labels: BTreeMap<String, String>,
    ) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// Remove a network (404 = success).
    fn remove_network(&self, name: &str) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// Create and start a container. An existing container of that name that carries the
    /// same `sis.cluster`, `sis.role`, `sis.host` and `sis.index` labels as `spec` is left as
    /// is (409 = success) and started if it is not running; any other one is refused with
    /// [`EngineError::NotOurs`] and left untouched.
    fn run_container(
        &self,
        spec: &ContainerSpec,
    ) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// [`HostEngine::run_container`], with `files` put into the container after it is
    /// created and before it starts (copied through the engine's API: the host may be
    /// remote, and nothing is mounted from the machine running sis).
    fn run_container_with_files(
        &self,
        spec: &ContainerSpec,
        files: &[ContainerFile],
    ) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// Keep `files` on this host in container `name`, created and never started (from the
    /// lock's empty image), labelled `labels`. An existing container of that name with the
    /// same `sis.cluster`, `sis.role` and `sis.host` labels is left as it is; any other one is
    /// refused with [`EngineError::NotOurs`].
    fn keep_files(
        &self,
        name: &str,
        labels: BTreeMap<String, String>,
        files: &[ContainerFile],
    ) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// The regular files under `dir` in container `name` (running or not), with their paths
    /// inside the container.
    fn read_files(
        &self,
        name: &str,
        dir: &str,
    ) -> impl Future<Output = Result<Vec<ContainerFile>, EngineError>> + Send;

    /// Start an existing container.
    fn start_container(&self, name: &str) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// Remove a container, forced, with its anonymous volumes (404 = success).
    fn remove_container(&self, name: &str) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// Like [`HostEngine::remove_container`], but only a container labelled
    /// `sis.cluster=<cluster>`: any other one of that name is refused with
    /// [`EngineError::NotOurs`] and left in place.
    fn remove_container_of(
        &self,
        cluster: &str,
        name: &str,
    ) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// `docker kill` (SIGKILL) of a container labelled `sis.cluster=<cluster>`, before it is
    /// removed: its dockerd (and everything it runs) stops at once, so the nodes still to
    /// remove no longer load the host. Any other container of that name is refused with
    /// [`EngineError::NotOurs`]; one that is gone or not running counts as done.
    fn kill_container_of(
        &self,
        cluster: &str,
        name: &str,
    ) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// Wait until the dockerd inside node `name` answers on its unix socket, without polling
    /// with exec in a loop (e.g. follow the container's log stream for `API listen on`).
    fn wait_node_ready(
        &self,
        name: &str,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// Run `cmd` in container `name` and collect its output.
    fn exec(
        &self,
        name: &str,
        cmd: Vec<String>,
        timeout: Duration,
    ) -> impl Future<Output = Result<ExecOutput, EngineError>> + Send;

    /// The container's IPv4 address on `network`.
    fn container_ip(
        &self,
        name: &str,
        network: &str,
    ) -> impl Future<Output = Result<Option<String>, EngineError>> + Send;

    /// Node `node`'s own view of its swarm2 membership (`docker info` in the node).
    fn swarm2_local_state(
        &self,
        node: &str,
    ) -> impl Future<Output = Result<Swarm2Local, EngineError>> + Send;

    /// `swarm init` in node `node`, advertising and listening on `addr` (its ring2net
    /// address). A node that manages a swarm already counts as done.
    fn swarm2_init(
        &self,
        node: &str,
        addr: &str,
    ) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// `swarm init --force-new-cluster` in manager `node` of a swarm2 that lost its quorum,
    /// advertising and listening on `addr`: swarm2 goes on with `node` as its one manager.
    /// Waits (bounded) until the node lists swarm2's nodes again.
    fn swarm2_repair(
        &self,
        node: &str,
        addr: &str,
    ) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// The newest modification time (Unix seconds) of node `node`'s raft log files, `None`
    /// when it has none (not a manager). The log files are preallocated, so their names do
    /// not tell how far each log goes; their times do.
    fn swarm2_raft_time(
        &self,
        node: &str,
    ) -> impl Future<Output = Result<Option<i64>, EngineError>> + Send;

    /// swarm2's join token for `role`, read on manager `node`. A secret: never log it.
    fn swarm2_join_token(
        &self,
        node: &str,
        role: Role,
    ) -> impl Future<Output = Result<String, EngineError>> + Send;

    /// `swarm join` of node `node` to the manager at `manager_addr`, advertising
    /// `advertise_addr`. The token reaches the node in the exec's environment, never on a
    /// command line, and no error carries it.
    fn swarm2_join(
        &self,
        node: &str,
        token: &str,
        manager_addr: &str,
        advertise_addr: &str,
    ) -> impl Future<Output = Result<JoinOutcome, EngineError>> + Send;

    /// `swarm leave --force` in node `node`; a node in no swarm counts as done.
    fn swarm2_leave(&self, node: &str) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// Promotes (`Role::Manager`) or demotes (`Role::Worker`) swarm2 node `node`, on
    /// manager `manager`. A demotion returns once `manager`'s node list shows `node` as a
    /// worker (bounded wait): the node may leave or be removed only then.
    fn swarm2_set_role(
        &self,
        manager: &str,
        node: &str,
        role: Role,
    ) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// swarm2's node list as manager `manager` sees it, by hostname then ID.
    fn swarm2_node_list(
        &self,
        manager: &str,
    ) -> impl Future<Output = Result<Vec<Swarm2Node>, EngineError>> + Send;

    /// Removes the entry `node_id` from swarm2's node list, on manager `manager`, forced;
    /// an entry already gone counts as done.
    fn swarm2_node_rm(
        &self,
        manager: &str,
        node_id: &str,
    ) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// Whether swarm2 has its `ingress` network, asked on manager `manager`.
    fn swarm2_ingress(
        &self,
        manager: &str,
    ) -> impl Future<Output = Result<bool, EngineError>> + Send;

    /// Creates or removes swarm2's `ingress` network on manager `manager`, and waits
    /// (bounded) until the manager shows the result: nodes that join later must see it.
    fn swarm2_set_ingress(
        &self,
        manager: &str,
        enabled: bool,
    ) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// Take the cluster's apply lock: an object on this engine named `name` that only one
    /// creator can make, labelled with `labels` and `owner`. Returns its ID, or who holds it
    /// when it is taken already.
    ///
    /// [`crate::DockerHost`] uses a container that is created and never started: container
    /// names are reserved atomically by dockerd, while two concurrent network creations with
    /// the same name both succeed on dockerd 20.10 (even with duplicate checking).
    fn acquire_lock(
        &self,
        name: &str,
        owner: &str,
        labels: BTreeMap<String, String>,
    ) -> impl Future<Output = Result<LockOutcome, EngineError>> + Send;

    /// Who holds the lock `name`, if anyone.
    fn lock_holder(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<LockHolder>, EngineError>> + Send;

    /// Remove the lock object with this ID (404 = success). By ID, not by name: a lock that
    /// another run has taken since is a new object, and stays.
    fn release_lock(&self, id: &str) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// The host's kernel limits that hundreds of nodes run into ([`sis_types::DOCTOR_SYSCTLS`]),
    /// the free space of the engine's root dir and its cgroup version, read by a short-lived
    /// container, preferably from `node_image` (then with the node's dockerd version).
    fn host_limits(
        &self,
        node_image: &str,
    ) -> impl Future<Output = Result<HostLimits, EngineError>> + Send;

    /// How busy the host's machine is now: the kernel's CPU pressure and load (read by one
    /// long-lived sampler container per host, started on the first call and ended when no
    /// sample was asked for a while) and the time the engine took to answer a ping. The
    /// executor paces node creation by it.
    fn load_sample(&self) -> impl Future<Output = Result<LoadSample, EngineError>> + Send;
}

/// The result of [`HostEngine::acquire_lock`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockOutcome {
    /// Taken: the ID of the lock object, to release exactly it.
    Acquired { id: String },
    /// Someone else holds it.
    Held(LockHolder),
}

/// A lock object and what it says of its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    /// The lock object's ID.
    pub id: String,
    /// The owner as written by the taker, for people.
    pub owner: String,
    /// When it was taken (RFC 3339, from the engine).
    pub since: String,
    /// All labels of the lock object (the owner's identity among them).
    pub labels: BTreeMap<String, String>,
}

/// A node's own view of its swarm2 membership (`docker info` → `.Swarm`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Swarm2Local {
    /// dockerd's `LocalNodeState`: `inactive`, `pending`, `active`, `error` or `locked`.
    pub state: String,
    pub node_id: String,
    /// Whether the node is a manager.
    pub control_available: bool,
    pub node_addr: String,
    /// The swarm's ID; dockerd tells it to managers only.
    pub cluster_id: Option<String>,
    /// The managers the node knows (`ADDR:PORT`).
    pub remote_managers: Vec<String>,
    /// dockerd's error, e.g. of a manager whose swarm has no leader.
    pub error: String,
}

impl Swarm2Local {
    /// Whether the node is in the swarm managed at `manager_addr` (an address without port).
    pub fn is_member_via(&self, manager_addr: &str) -> bool {
        self.state == "active"
            && self
                .remote_managers
                .iter()
                .any(|m| m.rsplit_once(':').map_or(m.as_str(), |(host, _)| host) == manager_addr)
    }
}

/// What [`HostEngine::swarm2_join`] ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinOutcome {
    /// The node joined the swarm it was asked to join.
    Joined,
    /// dockerd refused the join: the node says it is a member of that swarm already, as
    /// `node_id` (a manager when `manager`). Whether swarm2 still lists that ID is for the
    /// caller to check: a node whose entry was removed keeps believing it is a member.
    Member { node_id: String, manager: bool },
    /// The join goes on in the background: dockerd said "Timeout was reached before node
    /// joined", or the node is still joining from an earlier attempt. Look again later;
    /// joining again would leave a ghost entry.
    Pending,
    /// The node is a member of another swarm: dockerd refuses to join it, and only its
    /// removal (or a `swarm leave` in it) frees it. `managers` are the ones it knows.
    AlreadyMember { managers: Vec<String> },
}
