//! [`FakeHost`]: an in-memory, recording [`HostEngine`] for unit tests of the executor.
//!
//! It keeps containers, networks, images, swarm1 membership and locks, and swarm2 membership
//! shared with the other fake hosts of a test ([`FakeSwarm2`]); records every call in order
//! (never a join token); fails the next N calls of an operation when told to; and answers `exec` through
//! a settable closure. It models what the executor relies on (409/404 idempotence, images
//! needed to create containers, subnets of networks) and nothing more: behaviour of the real
//! engine is covered by the tests in `tests/` against dockerd.
//!
//! ```
//! use sis_engine::fake::{FakeHost, Failure, Op};
//! use sis_engine::{HostEngine, ExecOutput};
//!
//! # tokio_test_block_on(async {
//! let host = FakeHost::new("fake://h1");
//! host.add_image("sis-node:test");
//! host.fail_next(Op::Exec, "demo-h1-1", 1, Failure::Transient);
//! host.set_exec(|_container, cmd| ExecOutput {
//!     exit_code: 0,
//!     stdout: format!("ran {}", cmd.join(" ")),
//!     stderr: String::new(),
//! });
//! assert!(host.exec("demo-h1-1", vec!["true".into()], std::time::Duration::from_secs(1)).await.is_err());
//! assert_eq!(host.calls().len(), 1);
//! # });
//! # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
//! # }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use ipnet::Ipv4Net;
use sis_types::{
    labels, ContainerObservation, HostFacts, HostLimits, LoadSample, LocalNodeState,
    NetworkObservation, Role, Swarm1Membership, Swarm2Node,
};

pub use crate::fake_swarm2::{FakeSwarm2, FakeSwarm2Entry, SharedSwarm2};
use crate::{
    ContainerFile, ContainerSpec, EngineError, ExecOutput, HostEngine, JoinOutcome, LockHolder,
    LockOutcome, NetworkAddressing, Swarm2Local,
};

/// The operations of [`HostEngine`], as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    Observe,
    Swarm1Init,
    Swarm1JoinToken,
    Swarm1Join,
    Swarm1Leave,
    PullImage,
    ImageId,
    ExportImage,
    ImportImage,
    LoadImageInContainer,
    CreateNetwork,
    RemoveNetwork,
    RunContainer,
    StartContainer,
    KeepFiles,
    ReadFiles,
    RemoveContainer,
    KillContainer,
    WaitNodeReady,
    Exec,
    ContainerIp,
    Swarm2LocalState,
    Swarm2Init,
    Swarm2Repair,
    Swarm2RaftTime,
    Swarm2JoinToken,
    Swarm2Join,
    Swarm2Leave,
    Swarm2SetRole,
    Swarm2NodeList,
    Swarm2NodeRm,
    Swarm2Ingress,
    Swarm2SetIngress,
    AcquireLock,
    LockHolder,
    ReleaseLock,
    HostLimits,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Op::Observe => "observe",
            Op::Swarm1Init => "swarm1_init",
            Op::Swarm1JoinToken => "swarm1_join_token",
            Op::Swarm1Join => "swarm1_join",
            Op::Swarm1Leave => "swarm1_leave",
            Op::PullImage => "pull_image",
            Op::ImageId => "image_id",
            Op::ExportImage => "export_image",
            Op::ImportImage => "import_image",
            Op::LoadImageInContainer => "load_image_in_container",
            Op::CreateNetwork => "create_network",
            Op::RemoveNetwork => "remove_network",
            Op::RunContainer => "run_container",
            Op::StartContainer => "start_container",
            Op::KeepFiles => "keep_files",
            Op::ReadFiles => "read_files",
            Op::RemoveContainer => "remove_container",
            Op::KillContainer => "kill_container",
            Op::WaitNodeReady => "wait_node_ready",
            Op::Exec => "exec",
            Op::ContainerIp => "container_ip",
            Op::Swarm2LocalState => "swarm2_local_state",
            Op::Swarm2Init => "swarm2_init",
            Op::Swarm2Repair => "swarm2_repair",
            Op::Swarm2RaftTime => "swarm2_raft_time",
            Op::Swarm2JoinToken => "swarm2_join_token",
            Op::Swarm2Join => "swarm2_join",
            Op::Swarm2Leave => "swarm2_leave",
            Op::Swarm2SetRole => "swarm2_set_role",
            Op::Swarm2NodeList => "swarm2_node_list",
            Op::Swarm2NodeRm => "swarm2_node_rm",
            Op::Swarm2Ingress => "swarm2_ingress",
            Op::Swarm2SetIngress => "swarm2_set_ingress",
            Op::AcquireLock => "acquire_lock",
            Op::LockHolder => "lock_holder",
            Op::ReleaseLock => "release_lock",
            Op::HostLimits => "host_limits",
        };
        f.write_str(name)
    }
}

/// One recorded call: the operation and the name it was about (container, network, image,
/// lock; the cluster for `observe`; the role for `swarm1_join_token`; `force` for a forced
/// `swarm1_leave`; empty for other swarm1 ops). For swarm2: the node it changes or asks
/// (`swarm2_set_role`: `NODE manager|worker`; `swarm2_join_token`: `MANAGER manager|worker`;
/// `swarm2_node_rm`: the entry's ID; `swarm2_set_ingress`: `MANAGER true|false`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub op: Op,
    pub name: String,
}

/// The kind of an injected failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// [`EngineError::is_transient`] is true (a timeout).
    Transient,
    /// [`EngineError::is_transient`] is false.
    Permanent,
    /// The engine cannot be reached ([`EngineError::Connect`]).
    Unreachable,
}

/// A container as the fake keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeContainer {
    pub image: String,
    /// `created`, `running` or `exited` (tests may set any Docker state).
    pub state: String,
    pub labels: BTreeMap<String, String>,
    pub network: Option<String>,
    pub ip: Option<String>,
}

/// A network as the fake keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeNetwork {
    pub subnet: Ipv4Net,
    /// Where dynamic addresses come from; `None`: the whole subnet.
    pub ip_range: Option<Ipv4Net>,
    pub labels: BTreeMap<String, String>,
    /// Dynamic addresses handed out so far.
    pub allocated: u32,
}

/// Everything the fake host holds; tests may read and change it with [`FakeHost::state`].
#[derive(Debug, Clone, Default)]
pub struct FakeState {
    pub containers: BTreeMap<String, FakeContainer>,
    pub networks: BTreeMap<String, FakeNetwork>,
    pub images: BTreeSet<String>,
    /// Files put into each container (by name) with `run_container_with_files` or
    /// `keep_files`.
    pub files: BTreeMap<String, Vec<ContainerFile>>,
    /// Images loaded into each container (by name) with `load_image_in_container`.
    pub loaded: BTreeMap<String, BTreeSet<String>>,
    pub swarm1: Swarm1Membership,
    /// Lock name → the lock object.
    pub locks: BTreeMap<String, LockHolder>,
    /// What `observe` reports as the capability bounding set (default: full, 41 capabilities).
    pub cap_bnd: Option<u64>,
    /// What `host_limits` reports, and the disk `observe` reports (default: this machine's
    /// sysctls and 60 GB free, see [`FakeHost::new`]).
    pub limits: HostLimits,
    /// What `load_sample` reports; `None`: a calm machine of its own (2 cores, no pressure).
    pub load: Option<LoadSample>,
    /// The share of the machine's cores in use (0 to 1): `load_sample` then reports CPU time
    /// that grows at that rate, on tokio's clock since the first sample.
    pub cpu_busy: Option<f64>,
    cpu_clock: Option<tokio::time::Instant>,
    pub calls: Vec<Call>,
    failures: Vec<Injected>,
    /// How long each call of an operation takes (on tokio's clock); none by default.
    delays: BTreeMap<Op, Duration>,
}

#[derive(Debug, Clone)]
struct Injected {
    op: Op,
    /// `None` matches any name.
    name: Option<String>,
    remaining: u32,
    failure: Failure,
}

type ExecHandler = dyn Fn(&str, &[String]) -> ExecOutput + Send + Sync;

/// An in-memory host engine. See the module documentation.
pub struct FakeHost {
    endpoint: String,
    state: Mutex<FakeState>,
    swarm2: SharedSwarm2,
    exec: Mutex<Arc<ExecHandler>>,
}

impl fmt::Debug for FakeHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeHost")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl FakeHost {
    /// An empty host: no images, no networks, no containers, not in a swarm.
    pub fn new(endpoint: &str) -> FakeHost {
        FakeHost {
            endpoint: endpoint.to_string(),
            state: Mutex::new(FakeState {
                swarm1: Swarm1Membership {
                    state: LocalNodeState::Inactive,
                    ..Swarm1Membership::default()
                },
                cap_bnd: Some((1 << 41) - 1),
                limits: default_limits(),
                ..FakeState::default()
            }),
            swarm2: SharedSwarm2::default(),
            exec: Mutex::new(Arc::new(|_, _| ExecOutput {
                exit_code: 0,
                stdout: String::new(),
                stderr: String::new(),
            })),
        }
    }

    /// The host's state, to read or change directly (e.g. mark a container `exited`).
    pub fn state(&self) -> MutexGuard<'_, FakeState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// This host's nodes take part in `swarm2`: hand the same state to every host of a test.
    pub fn with_swarm2(mut self, swarm2: SharedSwarm2) -> FakeHost {
        self.swarm2 = swarm2;
        self
    }

    /// swarm2's membership, to read or change directly. Not to be held across a call.
    pub fn swarm2(&self) -> MutexGuard<'_, FakeSwarm2> {
        self.swarm2.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a swarm2 call in node container `node`, which must be running here.
    fn swarm2_call(&self, op: Op, node: &str, name: &str) -> Result<(), EngineError> {
        let state = self.call(op, name)?;
        match state.containers.get(node) {
            Some(c) if c.state == "running" => Ok(()),
            Some(_) => Err(EngineError::Other(format!(
                "exec in {node} on {}: container is not running",
                self.endpoint
            ))),
            None => Err(self.missing("container", node)),
        }
    }

    /// The calls made so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    /// The calls of one operation, by name, in order.
    pub fn calls_of(&self, op: Op) -> Vec<String> {
        self.state()
            .calls
            .iter()
            .filter(|c| c.op == op)
            .map(|c| c.name.clone())
            .collect()
    }

    pub fn add_image(&self, image: &str) {
        self.state().images.insert(image.to_string());
    }

    /// Fail the next `times` calls of `op` about `name` (`"*"`: about anything).
    pub fn fail_next(&self, op: Op, name: &str, times: u32, failure: Failure) {
        self.state().failures.push(Injected {
            op,
            name: (name != "*").then(|| name.to_string()),
            remaining: times,
            failure,
        });
    }

    /// Answer `exec` with `handler(container, cmd)` from now on.
    pub fn set_exec(
        &self,
        handler: impl Fn(&str, &[String]) -> ExecOutput + Send + Sync + 'static,
    ) {
        *self.exec.lock().unwrap_or_else(|p| p.into_inner()) = Arc::new(handler);
    }

    /// Makes every later call of `op` take `delay` (on tokio's clock, so a test with a paused
    /// clock passes it at once).
    pub fn delay(&self, op: Op, delay: Duration) {
        self.state().delays.insert(op, delay);
    }

    /// Waits the delay set for `op` with [`FakeHost::delay`], if any.
    async fn take_time(&self, op: Op) {
        let delay = self.state().delays.get(&op).copied();
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
    }

    /// Records the call and returns the state, or the injected failure.
    fn call(&self, op: Op, name: &str) -> Result<MutexGuard<'_, FakeState>, EngineError> {
        let mut state = self.state();
        state.calls.push(Call {
            op,
            name: name.to_string(),
        });
        let injected = state
            .failures
            .iter_mut()
            .find(|f| f.op == op && f.remaining > 0 && f.name.as_deref().is_none_or(|n| n == name));
        if let Some(injected) = injected {
            injected.remaining -= 1;
            let what = format!("{op} {name} on {} (injected failure)", self.endpoint);
            return Err(match injected.failure {
                Failure::Transient => EngineError::Timeout {
                    op: what,
                    seconds: 0,
                    detail: "injected".to_string(),
                },
                Failure::Permanent => EngineError::Other(what),
                Failure::Unreachable => unreachable_error(&self.endpoint),
            });
        }
        Ok(state)
    }

    fn missing(&self, what: &str, name: &str) -> EngineError {
        EngineError::Other(format!("no such {what} {name} on {}", self.endpoint))
    }
}

/// What the fake's `export_image` streams for each image: one line, so that the fake's
/// `import_image` and `load_image_in_container` know which images an archive holds.
const ARCHIVE_LINE: &str = "sis-fake-archive:";

/// Reads a whole fake archive; the images it holds, or the stream's error.
async fn read_archive<S>(tar: S) -> Result<Vec<String>, std::io::Error>
where
    S: Stream<Item = Result<Bytes, std::io::Error>> + Send,
{
    let chunks: Vec<Result<Bytes, std::io::Error>> = tar.collect().await;
    let mut text = Vec::new();
    for chunk in chunks {
        text.extend_from_slice(&chunk?);
    }
    let text = String::from_utf8_lossy(&text);
    let images: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix(ARCHIVE_LINE))
        .map(str::to_string)
        .collect();
    if images.is_empty() {
        return Err(std::io::Error::other("not an image archive"));
    }
    Ok(images)
}

/// The `index`-th address of `subnet` (`10.9.0.0/16`, 2 → `10.9.0.2`).
fn nth_address(subnet: Ipv4Net, index: u32) -> Option<String> {
    let base = u32::from(subnet.network());
    Some(std::net::Ipv4Addr::from(base.checked_add(index)?).to_string())
}

impl HostEngine for FakeHost {
    fn endpoint(&self) -> &str {
        &self.endpoint
    }

    async fn observe(&self, cluster: &str, network: &str) -> Result<HostFacts, EngineError> {
        let state = self.call(Op::Observe, cluster)?;
        let last_cap = 40;
        Ok(HostFacts {
            endpoint: self.endpoint.clone(),
            version: "20.10.24".to_string(),
            api_version: "1.41".to_string(),
            engine_id: Some(format!("fake-engine-{}", self.endpoint)),
            cpus: 2,
            memory_bytes: 24 << 30,
            cap_bnd: state.cap_bnd,
            caps_missing: state
                .cap_bnd
                .map(|b| sis_types::missing_capabilities(b, last_cap))
                .unwrap_or_default(),
            swarm1: state.swarm1.clone(),
            disk: state.limits.disk.clone(),
            machine: state.limits.machine.clone(),
            images: state.images.clone(),
            networks: state
                .networks
                .get(network)
                .map(|n| NetworkObservation {
                    id: format!("net-{network}"),
                    name: network.to_string(),
                    driver: "overlay".to_string(),
                    scope: "swarm".to_string(),
                    attachable: true,
                    subnets: vec![n.subnet],
                    ip_range: n.ip_range,
                    labels: n.labels.clone(),
                })
                .into_iter()
                .collect(),
            containers: state
                .containers
                .iter()
                .filter(|(_, c)| c.labels.get(labels::CLUSTER).map(String::as_str) == Some(cluster))
                .map(|(name, c)| ContainerObservation {
                    id: format!("id-{name}"),
                    name: name.clone(),
                    image: c.image.clone(),
                    state: c.state.as_str().into(),
                    labels: c.labels.clone(),
                    ring2net_ip: c
                        .ip
                        .clone()
                        .filter(|_| c.network.as_deref() == Some(network)),
                })
                .collect(),
        })
    }

    async fn swarm1_init(
        &self,
        advertise_addr: Option<&str>,
        swarm_labels: BTreeMap<String, String>,
    ) -> Result<(), EngineError> {
        let mut state = self.call(Op::Swarm1Init, "")?;
        if state.swarm1.is_active() && !state.swarm1.is_manager {
            return Err(EngineError::Other(format!(
                "swarm init on {}: the engine is a worker of another swarm",
                self.endpoint
            )));
        }
        if !state.swarm1.is_active() {
            let addr = advertise_addr.unwrap_or("127.0.0.1");
            state.swarm1 = Swarm1Membership {
                state: LocalNodeState::Active,
                node_id: Some(format!("node-{}", self.endpoint)),
                cluster_id: Some(format!("swarm-{}", self.endpoint)),
                is_manager: true,
                node_addr: Some(addr.to_string()),
                managers: vec![format!("{addr}:2377")],
                created_by: swarm_labels.get(labels::SWARM1_CREATED_BY).cloned(),
            };
        }
        Ok(())
    }

    async fn swarm1_leave(&self, force: bool) -> Result<(), EngineError> {
        let mut state = self.call(Op::Swarm1Leave, if force { "force" } else { "" })?;
        if state.swarm1.is_manager && !force {
            return Err(EngineError::Other(format!(
                "swarm leave on {}: the engine is a manager; leave with force",
                self.endpoint
            )));
        }
        state.swarm1 = Swarm1Membership {
            state: LocalNodeState::Inactive,
            ..Swarm1Membership::default()
        };
        Ok(())
    }

    /// Tokens read `SWMTKN-<cluster id>-<role>`, so joining with one tells the cluster.
    async fn swarm1_join_token(&self, role: Role) -> Result<String, EngineError> {
        let state = self.call(Op::Swarm1JoinToken, &role.to_string())?;
        match (&state.swarm1.cluster_id, state.swarm1.is_manager) {
            (Some(cluster), true) => Ok(format!("SWMTKN-{cluster}-{role}")),
            _ => Err(EngineError::Other(format!(
                "read swarm1's join tokens on {}: this node is not a swarm manager",
                self.endpoint
            ))),
        }
    }

    async fn swarm1_join(
        &self,
        remote_addrs: Vec<String>,
        token: String,
        advertise_addr: Option<String>,
    ) -> Result<(), EngineError> {
        self.take_time(Op::Swarm1Join).await;
        let mut state = self.call(Op::Swarm1Join, "")?;
        let invalid = || EngineError::Other(format!("swarm join: invalid join token {token}"));
        let rest = token.strip_prefix("SWMTKN-").ok_or_else(invalid)?;
        let (cluster, role) = rest.rsplit_once('-').ok_or_else(invalid)?;
        if state.swarm1.is_active() {
            if state.swarm1.cluster_id.as_deref() == Some(cluster) {
                return Ok(());
            }
            return Err(EngineError::Other(format!(
                "swarm join on {}: the engine is in another swarm",
                self.endpoint
            )));
        }
        state.swarm1 = Swarm1Membership {
            state: LocalNodeState::Active,
            node_id: Some(format!("node-{}", self.endpoint)),
            cluster_id: Some(cluster.to_string()),
            is_manager: role == Role::Manager.to_string(),
            node_addr: advertise_addr,
            managers: remote_addrs,
            // The fake keeps no swarm-wide spec: a joined manager does not see the label.
            created_by: None,
        };
        Ok(())
    }

    async fn pull_image(&self, image: &str) -> Result<(), EngineError> {
        self.call(Op::PullImage, image)?
            .images
            .insert(image.to_string());
        Ok(())
    }

    async fn image_id(&self, image: &str) -> Result<Option<String>, EngineError> {
        let state = self.call(Op::ImageId, image)?;
        Ok(state
            .images
            .contains(image)
            .then(|| format!("sha256:fake-{image}")))
    }

    /// Streams the archive in two chunks, as a real export streams many.
    fn export_image(
        &self,
        image: &str,
    ) -> impl Stream<Item = Result<Bytes, EngineError>> + Send + Unpin + 'static {
        let items: Vec<Result<Bytes, EngineError>> = match self.call(Op::ExportImage, image) {
            Ok(state) if state.images.contains(image) => {
                let line = format!("{ARCHIVE_LINE}{image}\n");
                let (head, tail) = line.split_at(line.len() / 2);
                vec![
                    Ok(Bytes::from(head.to_string())),
                    Ok(Bytes::from(tail.to_string())),
                ]
            }
            Ok(_) => vec![Err(self.missing("image", image))],
            Err(e) => vec![Err(e)],
        };
        futures::stream::iter(items)
    }

    async fn import_image<S>(&self, tar: S) -> Result<(), EngineError>
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    {
        let read = read_archive(tar).await;
        let names = read.as_ref().map(|i| i.join(",")).unwrap_or_default();
        let mut state = self.call(Op::ImportImage, &names)?;
        let images =
            read.map_err(|e| EngineError::Other(format!("load images on {}: {e}", self.endpoint)))?;
        state.images.extend(images);
        Ok(())
    }

    async fn load_image_in_container<S>(
        &self,
        name: &str,
        tar: S,
        _timeout: Duration,
    ) -> Result<(), EngineError>
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    {
        let read = read_archive(tar).await;
        let mut state = self.call(Op::LoadImageInContainer, name)?;
        match state.containers.get(name) {
            Some(c) if c.state == "running" => {}
            Some(_) => {
                return Err(EngineError::Other(format!(
                    "docker load in {name} on {}: container is not running",
                    self.endpoint
                )))
            }
            None => return Err(self.missing("container", name)),
        }
        let images = read.map_err(|e| {
            EngineError::Other(format!("docker load in {name} on {}: {e}", self.endpoint))
        })?;
        state
            .loaded
            .entry(name.to_string())
            .or_default()
            .extend(images);
        Ok(())
    }

    async fn create_network(
        &self,
        name: &str,
        addressing: NetworkAddressing,
        labels: BTreeMap<String, String>,
    ) -> Result<(), EngineError> {
        let subnet = addressing.subnet;
        let mut state = self.call(Op::CreateNetwork, name)?;
        match state.networks.get(name) {
            Some(existing) if existing.subnet == subnet => Ok(()),
            Some(existing) => Err(EngineError::Other(format!(
                "network {name} already exists on {} with subnet {}, not {subnet}",
                self.endpoint, existing.subnet
            ))),
            None => {
                let network = FakeNetwork {
                    subnet,
                    ip_range: addressing.ip_range,
                    labels,
                    allocated: 1,
                };
                state.networks.insert(name.to_string(), network);
                Ok(())
            }
        }
    }

    async fn remove_network(&self, name: &str) -> Result<(), EngineError> {
        self.call(Op::RemoveNetwork, name)?.networks.remove(name);
        Ok(())
    }

    async fn run_container(&self, spec: &ContainerSpec) -> Result<(), EngineError> {
        let mut state = self.call(Op::RunContainer, &spec.name)?;
        if let Some(existing) = state.containers.get_mut(&spec.name) {
            crate::ownership::claim(&self.endpoint, &spec.name, &spec.labels, &existing.labels)?;
            existing.state = "running".to_string();
            return Ok(());
        }
        if !state.images.contains(&spec.image) {
            return Err(EngineError::Other(format!(
                "create container {} on {}: image {} is not on this host",
                spec.name, self.endpoint, spec.image
            )));
        }
        let ip = match &spec.network {
            Some(network) => {
                let taken = |ip: &str| {
                    state.containers.values().any(|c| {
                        c.network.as_deref() == Some(network) && c.ip.as_deref() == Some(ip)
                    })
                };
                let net = state
                    .networks
                    .get(network)
                    .ok_or_else(|| self.missing("network", network))?;
                match spec.ipv4_address {
                    // As dockerd: a fixed address must be in the subnet and free.
                    Some(ip) if !net.subnet.contains(&ip) => {
                        return Err(EngineError::Other(format!(
                            "create container {} on {}: address {ip} is not in network {network}'s subnet {}",
                            spec.name, self.endpoint, net.subnet
                        )))
                    }
                    Some(ip) if taken(&ip.to_string()) => {
                        return Err(EngineError::Other(format!(
                            "create container {} on {}: address {ip} of network {network} is already in use",
                            spec.name, self.endpoint
                        )))
                    }
                    Some(ip) => Some(ip.to_string()),
                    None => {
                        let (base, first) = match net.ip_range {
                            Some(range) => (range, 0),
                            None => (net.subnet, 1),
                        };
                        let mut n = net.allocated;
                        let ip = loop {
                            let ip = nth_address(base, first + n);
                            n += 1;
                            if !ip.as_deref().is_some_and(taken) {
                                break ip;
                            }
                        };
                        state.networks.get_mut(network).expect("looked up above").allocated = n;
                        ip
                    }
                }
            }
            None => None,
        };
        let container = FakeContainer {
            image: spec.image.clone(),
            state: "running".to_string(),
            labels: spec.labels.clone(),
            network: spec.network.clone(),
            ip,
        };
        state.containers.insert(spec.name.clone(), container);
        Ok(())
    }

    async fn run_container_with_files(
        &self,
        spec: &ContainerSpec,
        files: &[ContainerFile],
    ) -> Result<(), EngineError> {
        self.run_container(spec).await?;
        let mut state = self.state();
        state.files.insert(spec.name.clone(), files.to_vec());
        Ok(())
    }

    async fn keep_files(
        &self,
        name: &str,
        labels: BTreeMap<String, String>,
        files: &[ContainerFile],
    ) -> Result<(), EngineError> {
        let mut state = self.call(Op::KeepFiles, name)?;
        if let Some(existing) = state.containers.get(name) {
            return crate::ownership::claim(&self.endpoint, name, &labels, &existing.labels);
        }
        state.containers.insert(
            name.to_string(),
            FakeContainer {
                image: crate::LOCK_IMAGE.to_string(),
                state: "created".to_string(),
                labels,
                network: None,
                ip: None,
            },
        );
        state.files.insert(name.to_string(), files.to_vec());
        Ok(())
    }

    async fn read_files(&self, name: &str, dir: &str) -> Result<Vec<ContainerFile>, EngineError> {
        let state = self.call(Op::ReadFiles, name)?;
        if !state.containers.contains_key(name) {
            return Err(self.missing("container", name));
        }
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        Ok(state
            .files
            .get(name)
            .into_iter()
            .flatten()
            .filter(|f| f.path.starts_with(&prefix))
            .cloned()
            .collect())
    }

    async fn start_container(&self, name: &str) -> Result<(), EngineError> {
        let mut state = self.call(Op::StartContainer, name)?;
        let container = state
            .containers
            .get_mut(name)
            .ok_or_else(|| self.missing("container", name))?;
        container.state = "running".to_string();
        Ok(())
    }

    async fn remove_container(&self, name: &str) -> Result<(), EngineError> {
        let mut state = self.call(Op::RemoveContainer, name)?;
        state.containers.remove(name);
        // Its swarm state lived in its volume too: swarm2 sees it go down.
        self.swarm2().leave(name);
        // Its images lived in its anonymous volume, removed with it.
        state.loaded.remove(name);
        Ok(())
    }

    async fn remove_container_of(&self, cluster: &str, name: &str) -> Result<(), EngineError> {
        let mut state = self.call(Op::RemoveContainer, name)?;
        if let Some(existing) = state.containers.get(name) {
            crate::ownership::claim_for_removal(&self.endpoint, name, cluster, &existing.labels)?;
        }
        state.containers.remove(name);
        state.loaded.remove(name);
        Ok(())
    }

    async fn kill_container_of(&self, cluster: &str, name: &str) -> Result<(), EngineError> {
        let mut state = self.call(Op::KillContainer, name)?;
        if let Some(existing) = state.containers.get_mut(name) {
            crate::ownership::claim_for_removal(&self.endpoint, name, cluster, &existing.labels)?;
            existing.state = "exited".to_string();
        }
        Ok(())
    }

    async fn wait_node_ready(&self, name: &str, _timeout: Duration) -> Result<(), EngineError> {
        let state = self.call(Op::WaitNodeReady, name)?;
        match state.containers.get(name) {
            Some(c) if c.state == "running" => Ok(()),
            Some(c) => Err(EngineError::Other(format!(
                "node {name} on {} stopped before its dockerd was ready; it is {}",
                self.endpoint, c.state
            ))),
            None => Err(self.missing("container", name)),
        }
    }

    async fn exec(
        &self,
        name: &str,
        cmd: Vec<String>,
        _timeout: Duration,
    ) -> Result<ExecOutput, EngineError> {
        {
            let state = self.call(Op::Exec, name)?;
            match state.containers.get(name) {
                Some(c) if c.state == "running" => {}
                Some(_) => {
                    return Err(EngineError::Other(format!(
                        "exec in {name} on {}: container is not running",
                        self.endpoint
                    )))
                }
                None => return Err(self.missing("container", name)),
            }
        }
        // Called without the state lock, so the handler may look at the fake itself.
        let handler = self.exec.lock().unwrap_or_else(|p| p.into_inner()).clone();
        Ok(handler(name, &cmd))
    }

    async fn container_ip(&self, name: &str, network: &str) -> Result<Option<String>, EngineError> {
        let state = self.call(Op::ContainerIp, name)?;
        let container = state
            .containers
            .get(name)
            .ok_or_else(|| self.missing("container", name))?;
        Ok(container
            .ip
            .clone()
            .filter(|_| container.network.as_deref() == Some(network)))
    }

    async fn swarm2_local_state(&self, node: &str) -> Result<Swarm2Local, EngineError> {
        self.swarm2_call(Op::Swarm2LocalState, node, node)?;
        Ok(self.swarm2().local_state(node))
    }

    async fn swarm2_init(&self, node: &str, addr: &str) -> Result<(), EngineError> {
        self.swarm2_call(Op::Swarm2Init, node, node)?;
        self.swarm2().init(node, addr)
    }

    async fn swarm2_repair(&self, node: &str, addr: &str) -> Result<(), EngineError> {
        self.swarm2_call(Op::Swarm2Repair, node, node)?;
        self.swarm2().repair(node, addr)
    }

    async fn swarm2_raft_time(&self, node: &str) -> Result<Option<i64>, EngineError> {
        self.swarm2_call(Op::Swarm2RaftTime, node, node)?;
        Ok(self.swarm2().raft_times.get(node).copied())
    }

    async fn swarm2_join_token(&self, node: &str, role: Role) -> Result<String, EngineError> {
        self.swarm2_call(Op::Swarm2JoinToken, node, &format!("{node} {role}"))?;
        self.swarm2().join_token(node, role)
    }

    async fn swarm2_join(
        &self,
        node: &str,
        token: &str,
        manager_addr: &str,
        advertise_addr: &str,
    ) -> Result<JoinOutcome, EngineError> {
        self.swarm2_call(Op::Swarm2Join, node, node)?;
        self.swarm2()
            .join(node, token, manager_addr, advertise_addr)
    }

    async fn swarm2_leave(&self, node: &str) -> Result<(), EngineError> {
        self.swarm2_call(Op::Swarm2Leave, node, node)?;
        self.swarm2().leave(node);
        Ok(())
    }

    async fn swarm2_set_role(
        &self,
        manager: &str,
        node: &str,
        role: Role,
    ) -> Result<(), EngineError> {
        self.swarm2_call(Op::Swarm2SetRole, manager, &format!("{node} {role}"))?;
        self.swarm2().set_role(manager, node, role)
    }

    async fn swarm2_node_list(&self, manager: &str) -> Result<Vec<Swarm2Node>, EngineError> {
        self.swarm2_call(Op::Swarm2NodeList, manager, manager)?;
        self.swarm2().node_list(manager)
    }

    async fn swarm2_node_rm(&self, manager: &str, node_id: &str) -> Result<(), EngineError> {
        self.swarm2_call(Op::Swarm2NodeRm, manager, node_id)?;
        self.swarm2().node_rm(manager, node_id)
    }

    async fn swarm2_ingress(&self, manager: &str) -> Result<bool, EngineError> {
        self.swarm2_call(Op::Swarm2Ingress, manager, manager)?;
        self.swarm2().ingress(manager)
    }

    async fn swarm2_set_ingress(&self, manager: &str, enabled: bool) -> Result<(), EngineError> {
        self.swarm2_call(
            Op::Swarm2SetIngress,
            manager,
            &format!("{manager} {enabled}"),
        )?;
        self.swarm2().set_ingress(manager, enabled)
    }

    async fn acquire_lock(
        &self,
        name: &str,
        owner: &str,
        mut labels: BTreeMap<String, String>,
    ) -> Result<LockOutcome, EngineError> {
        let mut state = self.call(Op::AcquireLock, name)?;
        if let Some(held) = state.locks.get(name) {
            return Ok(LockOutcome::Held(held.clone()));
        }
        let id = format!("lock-{}", state.calls.len());
        labels.insert(crate::LOCK_OWNER_LABEL.to_string(), owner.to_string());
        let held = LockHolder {
            id: id.clone(),
            owner: owner.to_string(),
            since: format!("call {}", state.calls.len()),
            labels,
        };
        state.locks.insert(name.to_string(), held);
        Ok(LockOutcome::Acquired { id })
    }

    async fn lock_holder(&self, name: &str) -> Result<Option<LockHolder>, EngineError> {
        Ok(self.call(Op::LockHolder, name)?.locks.get(name).cloned())
    }

    async fn release_lock(&self, id: &str) -> Result<(), EngineError> {
        self.call(Op::ReleaseLock, id)?
            .locks
            .retain(|_, held| held.id != id);
        Ok(())
    }

    async fn host_limits(&self, node_image: &str) -> Result<HostLimits, EngineError> {
        Ok(self.call(Op::HostLimits, node_image)?.limits.clone())
    }

    /// Not recorded as a call: the executor samples on its own clock.
    async fn load_sample(&self) -> Result<LoadSample, EngineError> {
        let mut state = self.state();
        let cpu_time = state.cpu_busy.map(|busy| {
            let since = *state
                .cpu_clock
                .get_or_insert_with(tokio::time::Instant::now);
            // 100 ticks a second on each of 2 cores; one tick at least, so the first sample
            // already counts.
            let total = since.elapsed().as_millis() as u64 / 5 + 1;
            sis_types::CpuTime {
                busy: (total as f64 * busy) as u64,
                total,
            }
        });
        let mut sample = state.load.clone().unwrap_or_else(|| LoadSample {
            machine: format!("fake-machine-{}", self.endpoint),
            cpus: 2,
            cpu_pressure: Some(0.0),
            load1: 0.0,
            runnable: 0,
            api_millis: 1,
            cpu_time: None,
        });
        if cpu_time.is_some() {
            sample.cpu_time = cpu_time;
        }
        Ok(sample)
    }
}

/// The limits of a 2-core, 24 GB test machine with a stock kernel (those `sis doctor` was
/// first run on), 60 GB free.
fn default_limits() -> HostLimits {
    let sysctls = [
        ("kernel.pid_max", 32768),
        ("kernel.threads-max", 192730),
        ("fs.inotify.max_user_instances", 128),
        ("fs.inotify.max_user_watches", 192536),
        ("fs.file-max", 2466177),
        ("fs.nr_open", 1048576),
        ("net.ipv4.neigh.default.gc_thresh1", 8192),
        ("net.ipv4.neigh.default.gc_thresh2", 49152),
        ("net.ipv4.neigh.default.gc_thresh3", 65536),
        ("net.netfilter.nf_conntrack_max", 262144),
        ("kernel.keys.root_maxkeys", 1000000),
        ("kernel.keys.root_maxbytes", 25000000),
        ("vm.max_map_count", 65530),
    ];
    HostLimits {
        sysctls: sysctls.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        disk: Some(sis_types::DiskSpace {
            path: "/var/lib/docker".to_string(),
            free_bytes: 60_000_000_000,
            free_inodes: Some(16_000_000),
        }),
        cgroup_version: "1".to_string(),
        node_engine_version: Some("20.10.24".to_string()),
        machine: None,
    }
}

/// What an engine that cannot be reached answers (a refused connection).
fn unreachable_error(endpoint: &str) -> EngineError {
    EngineError::Connect {
        endpoint: endpoint.to_string(),
        source: bollard::errors::Error::IOError {
            err: std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn net(subnet: &str) -> NetworkAddressing {
        subnet.parse::<Ipv4Net>().unwrap().into()
    }

    fn node(name: &str) -> ContainerSpec {
        ContainerSpec {
            name: name.into(),
            hostname: name.into(),
            image: "sis-node:test".into(),
            cmd: vec![],
            labels: BTreeMap::from([(labels::CLUSTER.into(), "demo".into())]),
            network: Some("ring2net".into()),
            profile: None,
            publish: vec![],
            ipv4_address: None,
            restart_unless_stopped: true,
        }
    }

    #[test]
    fn fixed_addresses_are_kept_and_a_taken_one_is_refused() {
        block_on(async {
            let host = FakeHost::new("fake://h1");
            host.add_image("sis-node:test");
            let addressing = NetworkAddressing {
                subnet: "10.9.0.0/24".parse().unwrap(),
                ip_range: Some("10.9.0.128/25".parse().unwrap()),
                gateway: Some("10.9.0.1".parse().unwrap()),
            };
            host.create_network("ring2net", addressing, BTreeMap::new())
                .await
                .unwrap();
            let fixed = |name: &str, ip: &str| ContainerSpec {
                ipv4_address: Some(ip.parse().unwrap()),
                ..node(name)
            };
            host.run_container(&fixed("demo-h1-1", "10.9.0.16"))
                .await
                .unwrap();
            host.run_container(&node("demo-lb")).await.unwrap();
            let e = host
                .run_container(&fixed("demo-h1-2", "10.9.0.16"))
                .await
                .unwrap_err();
            assert!(e.to_string().contains("already in use"), "{e}");
            let facts = host.observe("demo", "ring2net").await.unwrap();
            let ips: Vec<_> = facts
                .containers
                .iter()
                .map(|c| c.ring2net_ip.clone().unwrap())
                .collect();
            assert_eq!(ips, ["10.9.0.16", "10.9.0.129"]);
            assert_eq!(
                facts.networks[0].ip_range,
                Some("10.9.0.128/25".parse().unwrap())
            );
        });
    }

    #[test]
    fn nodes_get_addresses_in_the_subnet_and_show_in_observe() {
        block_on(async {
            let host = FakeHost::new("fake://h1");
            host.add_image("sis-node:test");
            host.create_network("ring2net", net("10.9.0.0/16"), BTreeMap::new())
                .await
                .unwrap();
            host.run_container(&node("demo-h1-1")).await.unwrap();
            host.run_container(&node("demo-h1-2")).await.unwrap();
            let facts = host.observe("demo", "ring2net").await.unwrap();
            let ips: Vec<_> = facts
                .containers
                .iter()
                .map(|c| c.ring2net_ip.clone())
                .collect();
            assert_eq!(ips, [Some("10.9.0.2".into()), Some("10.9.0.3".into())]);
            assert!(host
                .observe("other", "ring2net")
                .await
                .unwrap()
                .containers
                .is_empty());
        });
    }

    #[test]
    fn injected_failures_hit_only_the_named_call_and_only_n_times() {
        block_on(async {
            let host = FakeHost::new("fake://h1");
            host.add_image("sis-node:test");
            host.create_network("ring2net", net("10.9.0.0/16"), BTreeMap::new())
                .await
                .unwrap();
            host.fail_next(Op::RunContainer, "demo-h1-2", 2, Failure::Transient);
            host.run_container(&node("demo-h1-1")).await.unwrap();
            let first = host.run_container(&node("demo-h1-2")).await.unwrap_err();
            assert!(first.is_transient());
            assert!(host.run_container(&node("demo-h1-2")).await.is_err());
            host.run_container(&node("demo-h1-2")).await.unwrap();
            assert_eq!(
                host.calls_of(Op::RunContainer),
                ["demo-h1-1", "demo-h1-2", "demo-h1-2", "demo-h1-2"]
            );
        });
    }

    #[test]
    fn a_missing_image_and_a_different_subnet_are_errors() {
        block_on(async {
            let host = FakeHost::new("fake://h1");
            host.create_network("ring2net", net("10.9.0.0/16"), BTreeMap::new())
                .await
                .unwrap();
            assert!(host
                .create_network("ring2net", net("10.9.0.0/16"), BTreeMap::new())
                .await
                .is_ok());
            let other = host.create_network("ring2net", net("10.8.0.0/16"), BTreeMap::new());
            assert!(other.await.unwrap_err().to_string().contains("10.9.0.0/16"));
            let missing = host.run_container(&node("demo-h1-1")).await.unwrap_err();
            assert!(missing.to_string().contains("sis-node:test"));
        });
    }

    #[test]
    fn swarm1_join_with_a_managers_token_enters_its_swarm() {
        block_on(async {
            let manager = FakeHost::new("fake://m");
            let worker = FakeHost::new("fake://w");
            manager
                .swarm1_init(Some("10.0.0.1"), BTreeMap::new())
                .await
                .unwrap();
            let token = manager.swarm1_join_token(Role::Worker).await.unwrap();
            worker
                .swarm1_join(vec!["10.0.0.1:2377".into()], token.clone(), None)
                .await
                .unwrap();
            let (m, w) = (
                manager.state().swarm1.clone(),
                worker.state().swarm1.clone(),
            );
            assert_eq!(m.cluster_id, w.cluster_id);
            assert!(!w.is_manager);
            // Joining again is idempotent.
            worker
                .swarm1_join(vec!["10.0.0.1:2377".into()], token, None)
                .await
                .unwrap();
        });
    }

    #[test]
    fn a_labelled_swarm1_shows_its_creator_and_its_manager_leaves_only_with_force() {
        block_on(async {
            let host = FakeHost::new("fake://m");
            let by = BTreeMap::from([(labels::SWARM1_CREATED_BY.into(), "demo".into())]);
            host.swarm1_init(None, by).await.unwrap();
            let facts = host.observe("demo", "ring2net").await.unwrap();
            assert_eq!(facts.swarm1.created_by.as_deref(), Some("demo"));
            assert!(host.swarm1_leave(false).await.is_err());
            host.swarm1_leave(true).await.unwrap();
            assert_eq!(host.state().swarm1.state, "inactive");
            // Leaving again: in no swarm is done.
            host.swarm1_leave(false).await.unwrap();
            assert_eq!(host.calls_of(Op::Swarm1Leave), ["", "force", ""]);
        });
    }

    #[test]
    fn swarm2_membership_is_shared_by_the_hosts_of_a_test() {
        block_on(async {
            let shared = SharedSwarm2::default();
            let a = FakeHost::new("fake://a").with_swarm2(shared.clone());
            let b = FakeHost::new("fake://b").with_swarm2(shared);
            for (host, name) in [(&a, "demo-a-1"), (&b, "demo-b-1")] {
                host.add_image("sis-node:test");
                host.create_network("ring2net", net("10.9.0.0/16"), BTreeMap::new())
                    .await
                    .unwrap();
                host.run_container(&node(name)).await.unwrap();
            }
            a.swarm2_init("demo-a-1", "10.9.0.2").await.unwrap();
            let token = a.swarm2_join_token("demo-a-1", Role::Worker).await.unwrap();
            let joined = b.swarm2_join("demo-b-1", &token, "10.9.0.2", "10.9.0.3");
            assert_eq!(joined.await.unwrap(), JoinOutcome::Joined);
            // Joining again: dockerd refuses, the node's own state says it is in.
            let again = b.swarm2_join("demo-b-1", &token, "10.9.0.2", "10.9.0.3");
            let JoinOutcome::Member { node_id, manager } = again.await.unwrap() else {
                panic!("a second join is refused with the node's own ID");
            };
            assert!(!node_id.is_empty() && !manager);
            let list = a.swarm2_node_list("demo-a-1").await.unwrap();
            let shown: Vec<_> = list
                .iter()
                .map(|n| (n.hostname.as_str(), n.manager_status.as_str()))
                .collect();
            assert_eq!(shown, [("demo-a-1", "leader"), ("demo-b-1", "")]);
            assert!(b.swarm2_node_list("demo-b-1").await.is_err(), "a worker");

            b.swarm2_leave("demo-b-1").await.unwrap();
            let list = a.swarm2_node_list("demo-a-1").await.unwrap();
            assert_eq!(list[1].status, "down");
            a.swarm2_node_rm("demo-a-1", &list[1].id).await.unwrap();
            assert_eq!(a.swarm2_node_list("demo-a-1").await.unwrap().len(), 1);
            assert_eq!(b.calls_of(Op::Swarm2Join), ["demo-b-1", "demo-b-1"]);
            assert!(!format!("{:?}", b.calls()).contains(&token));
        });
    }

    #[test]
    fn a_swarm2_join_refused_with_the_token_quotes_it_redacted() {
        block_on(async {
            let host = FakeHost::new("fake://a");
            host.add_image("sis-node:test");
            host.create_network("ring2net", net("10.9.0.0/16"), BTreeMap::new())
                .await
                .unwrap();
            host.run_container(&node("demo-a-1")).await.unwrap();
            host.swarm2()
                .join_refusals
                .insert("demo-a-1".into(), "invalid join token {token}".into());
            let e = host
                .swarm2_join("demo-a-1", "SWMTKN-2-x-worker", "10.9.0.9", "10.9.0.2")
                .await
                .unwrap_err();
            assert!(
                e.to_string().contains("invalid join token <redacted>"),
                "{e}"
            );
        });
    }

    #[test]
    fn the_second_lock_taker_learns_the_first_owner() {
        block_on(async {
            let host = FakeHost::new("fake://h1");
            let lock = |owner: &'static str| host.acquire_lock("demo-lock", owner, BTreeMap::new());
            let LockOutcome::Acquired { id } = lock("a").await.unwrap() else {
                panic!("the lock was free")
            };
            assert!(matches!(lock("b").await.unwrap(), LockOutcome::Held(h) if h.owner == "a"));
            // Only the object with that ID is released: a later lock stays.
            host.release_lock(&id).await.unwrap();
            assert!(matches!(
                lock("b").await.unwrap(),
                LockOutcome::Acquired { .. }
            ));
            host.release_lock(&id).await.unwrap();
            let held = host.lock_holder("demo-lock").await.unwrap().unwrap();
            assert_eq!(held.owner, "b");
        });
    }

    #[test]
    fn exec_answers_through_the_handler() {
        block_on(async {
            let host = FakeHost::new("fake://h1");
            host.add_image("sis-node:test");
            let mut spec = node("demo-h1-1");
            spec.network = None;
            host.run_container(&spec).await.unwrap();
            host.set_exec(|container, cmd| ExecOutput {
                exit_code: 3,
                stdout: format!("{container}: {}", cmd.join(" ")),
                stderr: String::new(),
            });
            let out = host
                .exec(
                    "demo-h1-1",
                    vec!["docker".into(), "info".into()],
                    Duration::ZERO,
                )
                .await
                .unwrap();
            assert_eq!(
                (out.exit_code, out.stdout.as_str()),
                (3, "demo-h1-1: docker info")
            );
            host.state().containers.get_mut("demo-h1-1").unwrap().state = "exited".into();
            assert!(host
                .exec("demo-h1-1", vec![], Duration::ZERO)
                .await
                .is_err());
        });
    }

    /// An export as `import_image` and `load_image_in_container` take it.
    fn archive(
        host: &FakeHost,
        image: &str,
    ) -> futures::stream::BoxStream<'static, Result<Bytes, std::io::Error>> {
        host.export_image(image)
            .map(|chunk| chunk.map_err(|e| std::io::Error::other(e.to_string())))
            .boxed()
    }

    #[test]
    fn an_exported_image_loads_into_another_host_and_into_a_node() {
        block_on(async {
            let a = FakeHost::new("fake://a");
            let b = FakeHost::new("fake://b");
            a.add_image("sis-node:test");
            a.add_image("sis-workload:test");
            b.import_image(archive(&a, "sis-workload:test"))
                .await
                .unwrap();
            assert!(b.image_id("sis-workload:test").await.unwrap().is_some());
            assert!(b.image_id("sis-node:test").await.unwrap().is_none());
            assert_eq!(b.calls_of(Op::ImportImage), ["sis-workload:test"]);

            a.create_network("ring2net", net("10.9.0.0/16"), BTreeMap::new())
                .await
                .unwrap();
            a.run_container(&node("demo-a-1")).await.unwrap();
            a.load_image_in_container("demo-a-1", archive(&a, "sis-workload:test"), Duration::ZERO)
                .await
                .unwrap();
            let loaded = a.state().loaded["demo-a-1"].clone();
            assert_eq!(loaded, BTreeSet::from(["sis-workload:test".to_string()]));
            a.remove_container("demo-a-1").await.unwrap();
            assert!(a.state().loaded.is_empty());
        });
    }

    #[test]
    fn a_failed_export_loads_nothing() {
        block_on(async {
            let a = FakeHost::new("fake://a");
            let b = FakeHost::new("fake://b");
            let e = b.import_image(archive(&a, "absent:1")).await.unwrap_err();
            assert!(e.to_string().contains("no such image absent:1"), "{e}");
            a.add_image("sis-workload:test");
            a.fail_next(Op::ExportImage, "sis-workload:test", 1, Failure::Transient);
            assert!(b
                .import_image(archive(&a, "sis-workload:test"))
                .await
                .is_err());
            assert!(b.state().images.is_empty());
        });
    }
}
