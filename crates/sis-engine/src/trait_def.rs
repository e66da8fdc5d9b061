//! The engine boundary.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;

use sis_types::{HostFacts, NodeProfile, Role};

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
        subnet: &str,
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

    /// Take the cluster's apply lock: an object on this engine named `name` that only one
    /// creator can make. Returns who holds it when it is taken already.
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

    /// Release the lock (404 = success).
    fn release_lock(&self, name: &str) -> impl Future<Output = Result<(), EngineError>> + Send;
}

/// The result of [`HostEngine::acquire_lock`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockOutcome {
    Acquired,
    /// Someone else holds it: their owner string and when they took it (RFC 3339, from the engine).
    Held {
        owner: String,
        since: String,
    },
}
