//! [`DockerHost`]: the bollard implementation of [`HostEngine`].

mod archive;
mod chaos;
mod container;
mod images;
mod lab;
mod limits;
pub(crate) mod lock;
mod network;
mod observe;
mod probe;
mod ready;
mod sampler;
mod ssh;
mod swarm1;
pub(crate) mod swarm2;
mod tls;
mod volumes;

use std::collections::BTreeMap;
use std::fmt::Display;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bollard::{Docker, API_DEFAULT_VERSION};
use bytes::Bytes;
use futures::Stream;
use sis_types::{HostFacts, HostLimits, LoadSample, Role, Swarm2Node};
use tokio::sync::{Mutex, OnceCell};

use crate::error::status_code;
use crate::{
    ContainerFile, ContainerSpec, EngineError, ExecOutput, HostEngine, JoinOutcome, LockHolder,
    LockOutcome, NetworkAddressing, Swarm2Local,
};

pub use chaos::LabelledContainer;
pub use lab::{LabContainer, LabHostSpec, LabImage, LabNetwork};
pub use lock::{LOCK_IMAGE, LOCK_OWNER_LABEL};
pub use sampler::SAMPLER_PID;
pub use ssh::SshPaths;
pub use volumes::NodeVolume;

/// Seconds an API call may take before bollard gives up on it (streams excepted).
const REQUEST_TIMEOUT_SECS: u64 = 120;

/// Client certificate files for a `tcp://` endpoint with TLS (as `docker --tlsverify` uses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsPaths {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// One host's Docker engine, through bollard.
///
/// Cheap to clone: clones share the client, the negotiated API version and the cached
/// capability probe.
#[derive(Clone)]
pub struct DockerHost {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: String,
    docker: Docker,
    /// Set once the API version has been negotiated with the engine.
    negotiated: OnceCell<()>,
    /// The image preferred for the capability probe (the spec's node image).
    probe_image: Option<String>,
    /// The capability bounding set and last capability, once probed successfully.
    caps: Mutex<Option<(u64, u32)>>,
    /// The free disk of the engine's root dir and the machine's boot ID, once probed successfully.
    disk: Mutex<Option<(Option<sis_types::DiskSpace>, Option<String>)>>,
    /// The load sampler, once started (see [`sampler`]).
    sampler: Mutex<Option<sampler::Sampler>>,
    /// The CA file of a TLS endpoint, named when the engine's certificate is not trusted.
    tls_ca: Option<PathBuf>,
    /// The ssh files of an `ssh://` endpoint, for hints on a failed login.
    ssh: Option<SshPaths>,
}

impl std::fmt::Debug for DockerHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerHost")
            .field("endpoint", &self.inner.endpoint)
            .finish_non_exhaustive()
    }
}

impl DockerHost {
    /// A client for `endpoint`: `unix://PATH`, `tcp://HOST:PORT` (plain HTTP, or TLS when
    /// `tls` is given) or `ssh://[USER@]HOST[:PORT]` (runs `docker system dial-stdio` on the
    /// host through the system's `ssh`, with its own keys and known_hosts; see
    /// [`DockerHost::connect_ssh`] for given ones).
    ///
    /// Nothing is sent yet: the API version is negotiated on the first call, so a host that
    /// is down shows up as an error of that call (e.g. [`HostEngine::observe`]) rather than here.
    /// Errors here are about the endpoint itself: its scheme, a missing socket, TLS files.
    pub fn connect(endpoint: &str, tls: Option<TlsPaths>) -> Result<DockerHost, EngineError> {
        DockerHost::connect_with(endpoint, tls, &SshPaths::default())
    }

    /// A client for an `ssh://` endpoint that logs in with `ssh.identity` and trusts only the
    /// host keys in `ssh.known_hosts` (when given).
    pub fn connect_ssh(endpoint: &str, ssh: &SshPaths) -> Result<DockerHost, EngineError> {
        if !endpoint.starts_with("ssh://") {
            return Err(EngineError::Other(format!(
                "engine endpoint {endpoint}: ssh files are only used with ssh:// endpoints"
            )));
        }
        DockerHost::connect_with(endpoint, None, ssh)
    }

    fn connect_with(
        endpoint: &str,
        tls: Option<TlsPaths>,
        ssh_paths: &SshPaths,
    ) -> Result<DockerHost, EngineError> {
        let connect_error = |source| EngineError::Connect {
            endpoint: endpoint.to_string(),
            source,
        };
        let docker = if endpoint.starts_with("unix://") {
            Docker::connect_with_unix(endpoint, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
                .map_err(connect_error)?
        } else if endpoint.starts_with("tcp://") {
            match &tls {
                Some(tls) => Docker::connect_with_ssl(
                    endpoint,
                    &tls.key,
                    &tls.cert,
                    &tls.ca,
                    REQUEST_TIMEOUT_SECS,
                    API_DEFAULT_VERSION,
                )
                .map_err(connect_error)?,
                None => {
                    Docker::connect_with_http(endpoint, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
                        .map_err(connect_error)?
                }
            }
        } else if endpoint.starts_with("ssh://") {
            ssh::connect(endpoint, ssh_paths, REQUEST_TIMEOUT_SECS).map_err(connect_error)?
        } else {
            return Err(EngineError::Other(format!(
                "engine endpoint {endpoint:?} is not supported: use unix://PATH, tcp://HOST:PORT \
                 (with TLS files for TLS) or ssh://[USER@]HOST"
            )));
        };
        if tls.is_some() && !endpoint.starts_with("tcp://") {
            return Err(EngineError::Other(format!(
                "engine endpoint {endpoint}: TLS files are only used with tcp:// endpoints"
            )));
        }
        Ok(DockerHost {
            inner: Arc::new(Inner {
                endpoint: endpoint.to_string(),
                docker,
                negotiated: OnceCell::new(),
                probe_image: None,
                caps: Mutex::new(None),
                disk: Mutex::new(None),
                sampler: Mutex::new(None),
                tls_ca: tls.map(|t| t.ca),
                ssh: endpoint.starts_with("ssh://").then(|| ssh_paths.clone()),
            }),
        })
    }

    /// Prefer `image` (the spec's node image, which has `cat`) for the capability probe
    /// that [`HostEngine::observe`] runs once per process. Without it, or when the host does
    /// not have it, another image already on the host is tried.
    pub fn with_probe_image(self, image: &str) -> DockerHost {
        let inner = Inner {
            endpoint: self.inner.endpoint.clone(),
            docker: self.inner.docker.clone(),
            negotiated: OnceCell::new(),
            probe_image: Some(image.to_string()),
            caps: Mutex::new(None),
            disk: Mutex::new(None),
            sampler: Mutex::new(None),
            tls_ca: self.inner.tls_ca.clone(),
            ssh: self.inner.ssh.clone(),
        };
        DockerHost {
            inner: Arc::new(inner),
        }
    }

    /// The client, after the API version has been negotiated with the engine (once).
    async fn client(&self) -> Result<&Docker, EngineError> {
        let docker = &self.inner.docker;
        self.inner
            .negotiated
            .get_or_try_init(|| async {
                // The negotiated version lives in the client's shared state, so the clone
                // consumed here updates `docker` too.
                docker
                    .clone()
                    .negotiate_version()
                    .await
                    .map(|_| ())
                    .map_err(|source| self.connect_error(source))
            })
            .await?;
        Ok(docker)
    }

    /// A failed connection; one that failed for a TLS reason says which `tls:` file is at fault.
    fn connect_error(&self, source: bollard::errors::Error) -> EngineError {
        let endpoint = &self.inner.endpoint;
        let hint = self
            .inner
            .tls_ca
            .as_deref()
            .and_then(|ca| tls::hint(&source, endpoint, ca))
            .or_else(|| {
                let paths = self.inner.ssh.as_ref()?;
                ssh::hint(&tls::chain(&source), paths)
            });
        match hint {
            Some(hint) => EngineError::Hinted {
                op: format!("cannot reach the Docker engine at {endpoint}"),
                hint,
                source,
            },
            None => EngineError::Connect {
                endpoint: endpoint.clone(),
                source,
            },
        }
    }

    /// Maps a bollard error to [`EngineError::Docker`], naming the operation and this host.
    fn fail(&self, what: impl Display) -> impl FnOnce(bollard::errors::Error) -> EngineError {
        let op = self.op(what);
        move |source| EngineError::Docker { op, source }
    }

    /// `what` on this host, for messages.
    fn op(&self, what: impl Display) -> String {
        format!("{what} on {}", self.inner.endpoint)
    }
}

/// Whether the engine answered `status`.
fn is_status(e: &bollard::errors::Error, status: u16) -> bool {
    status_code(e) == Some(status)
}

impl HostEngine for DockerHost {
    fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }

    async fn observe(&self, cluster: &str, network: &str) -> Result<HostFacts, EngineError> {
        observe::observe(self, cluster, network).await
    }

    async fn swarm1_init(
        &self,
        advertise_addr: Option<&str>,
        labels: BTreeMap<String, String>,
    ) -> Result<(), EngineError> {
        swarm1::init(self, advertise_addr, labels).await
    }

    async fn swarm1_leave(&self, force: bool) -> Result<(), EngineError> {
        swarm1::leave(self, force).await
    }

    async fn swarm1_join_token(&self, role: Role) -> Result<String, EngineError> {
        swarm1::join_token(self, role).await
    }

    async fn swarm1_join(
        &self,
        remote_addrs: Vec<String>,
        token: String,
        advertise_addr: Option<String>,
    ) -> Result<(), EngineError> {
        swarm1::join(self, remote_addrs, token, advertise_addr).await
    }

    async fn pull_image(&self, image: &str) -> Result<(), EngineError> {
        swarm1::pull_image(self, image).await
    }

    async fn image_id(&self, image: &str) -> Result<Option<String>, EngineError> {
        Ok(self.image_info(image).await?.map(|i| i.id))
    }

    fn export_image(
        &self,
        image: &str,
    ) -> impl Stream<Item = Result<Bytes, EngineError>> + Send + Unpin + 'static {
        images::export(self, image)
    }

    async fn import_image<S>(&self, tar: S) -> Result<(), EngineError>
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    {
        images::import(self, tar).await
    }

    async fn load_image_in_container<S>(
        &self,
        name: &str,
        tar: S,
        timeout: Duration,
    ) -> Result<(), EngineError>
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    {
        images::load_in_container(self, name, tar, timeout).await
    }

    async fn create_network(
        &self,
        name: &str,
        addressing: NetworkAddressing,
        labels: BTreeMap<String, String>,
    ) -> Result<(), EngineError> {
        network::create(self, name, addressing, labels).await
    }

    async fn remove_network(&self, name: &str) -> Result<(), EngineError> {
        network::remove(self, name).await
    }

    async fn run_container(&self, spec: &ContainerSpec) -> Result<(), EngineError> {
        container::run(self, spec).await
    }

    async fn run_container_with_files(
        &self,
        spec: &ContainerSpec,
        files: &[ContainerFile],
    ) -> Result<(), EngineError> {
        container::run_with_files(self, spec, files).await
    }

    async fn keep_files(
        &self,
        name: &str,
        labels: BTreeMap<String, String>,
        files: &[ContainerFile],
    ) -> Result<(), EngineError> {
        archive::keep_files(self, name, labels, files).await
    }

    async fn read_files(&self, name: &str, dir: &str) -> Result<Vec<ContainerFile>, EngineError> {
        archive::read_files(self, name, dir).await
    }

    async fn start_container(&self, name: &str) -> Result<(), EngineError> {
        container::start(self, name).await
    }

    async fn remove_container(&self, name: &str) -> Result<(), EngineError> {
        container::remove(self, name).await
    }

    async fn remove_container_of(&self, cluster: &str, name: &str) -> Result<(), EngineError> {
        container::remove_of(self, cluster, name).await
    }

    async fn kill_container_of(&self, cluster: &str, name: &str) -> Result<(), EngineError> {
        container::kill_of(self, cluster, name).await
    }

    async fn wait_node_ready(&self, name: &str, timeout: Duration) -> Result<(), EngineError> {
        ready::wait_node_ready(self, name, timeout).await
    }

    async fn exec(
        &self,
        name: &str,
        cmd: Vec<String>,
        timeout: Duration,
    ) -> Result<ExecOutput, EngineError> {
        container::exec(self, name, cmd, timeout).await
    }

    async fn container_ip(&self, name: &str, network: &str) -> Result<Option<String>, EngineError> {
        container::ip(self, name, network).await
    }

    async fn swarm2_local_state(&self, node: &str) -> Result<Swarm2Local, EngineError> {
        swarm2::local_state(self, node).await
    }

    async fn swarm2_init(&self, node: &str, addr: &str) -> Result<(), EngineError> {
        swarm2::init(self, node, addr).await
    }

    async fn swarm2_repair(&self, node: &str, addr: &str) -> Result<(), EngineError> {
        swarm2::repair(self, node, addr).await
    }

    async fn swarm2_raft_time(&self, node: &str) -> Result<Option<i64>, EngineError> {
        swarm2::raft_time(self, node).await
    }

    async fn swarm2_join_token(&self, node: &str, role: Role) -> Result<String, EngineError> {
        swarm2::join_token(self, node, role).await
    }

    async fn swarm2_join(
        &self,
        node: &str,
        token: &str,
        manager_addr: &str,
        advertise_addr: &str,
    ) -> Result<JoinOutcome, EngineError> {
        swarm2::join(self, node, token, manager_addr, advertise_addr).await
    }

    async fn swarm2_leave(&self, node: &str) -> Result<(), EngineError> {
        swarm2::leave(self, node).await
    }

    async fn swarm2_set_role(
        &self,
        manager: &str,
        node: &str,
        role: Role,
    ) -> Result<(), EngineError> {
        swarm2::set_role(self, manager, node, role).await
    }

    async fn swarm2_node_list(&self, manager: &str) -> Result<Vec<Swarm2Node>, EngineError> {
        swarm2::node_list(self, manager).await
    }

    async fn swarm2_node_rm(&self, manager: &str, node_id: &str) -> Result<(), EngineError> {
        swarm2::node_rm(self, manager, node_id).await
    }

    async fn swarm2_ingress(&self, manager: &str) -> Result<bool, EngineError> {
        swarm2::ingress(self, manager).await
    }

    async fn swarm2_set_ingress(&self, manager: &str, enabled: bool) -> Result<(), EngineError> {
        swarm2::set_ingress(self, manager, enabled).await
    }

    async fn acquire_lock(
        &self,
        name: &str,
        owner: &str,
        labels: BTreeMap<String, String>,
    ) -> Result<LockOutcome, EngineError> {
        lock::acquire(self, name, owner, labels).await
    }

    async fn lock_holder(&self, name: &str) -> Result<Option<LockHolder>, EngineError> {
        lock::holder(self, name).await
    }

    async fn release_lock(&self, id: &str) -> Result<(), EngineError> {
        lock::release(self, id).await
    }

    async fn host_limits(&self, node_image: &str) -> Result<HostLimits, EngineError> {
        limits::host_limits(self, node_image).await
    }

    async fn load_sample(&self) -> Result<LoadSample, EngineError> {
        sampler::sample(self).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_with_other_schemes_are_refused_with_the_ones_that_work() {
        let e = DockerHost::connect("http://127.0.0.1:2375", None).unwrap_err();
        assert!(
            e.to_string().contains("unix://PATH, tcp://HOST:PORT"),
            "{e}"
        );
    }

    #[test]
    fn a_missing_socket_or_tls_file_is_named_with_the_endpoint() {
        let e = DockerHost::connect("unix:///nonexistent/docker.sock", None).unwrap_err();
        assert!(
            e.to_string().contains("unix:///nonexistent/docker.sock"),
            "{e}"
        );
        let tls = TlsPaths {
            ca: "/nonexistent/ca.pem".into(),
            cert: "/nonexistent/cert.pem".into(),
            key: "/nonexistent/key.pem".into(),
        };
        let e = DockerHost::connect("tcp://127.0.0.1:2376", Some(tls)).unwrap_err();
        assert!(e.to_string().contains("tcp://127.0.0.1:2376"), "{e}");
    }

    #[tokio::test]
    async fn an_engine_that_does_not_answer_fails_the_first_call_naming_it() {
        // Port 1 on loopback: nothing listens there.
        let host = DockerHost::connect("tcp://127.0.0.1:1", None).unwrap();
        let e = host.observe("demo", "ring2net").await.unwrap_err();
        assert!(matches!(e, EngineError::Connect { .. }), "{e:?}");
        assert!(e.to_string().contains("tcp://127.0.0.1:1"), "{e}");
        assert!(e.is_transient());
    }
}
