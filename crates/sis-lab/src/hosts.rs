//! The host containers of a lab: what each is made from, creating and replacing them, and
//! waiting until their engines answer over TCP.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sis_engine::{DockerHost, HostEngine, LabContainer, LabHostSpec, TlsPaths};
use sis_types::{node_spec_hash, NodeProfile};

use crate::certs::{self, LabCerts};
use crate::error::error_chain;
use crate::event::{HostChange, LabEvent};
use crate::sshkeys::LabSsh;
use crate::{
    host_container_name, LabError, UpOptions, CONFIG_LABEL, LAB_LABEL, PORT_PLAIN, PORT_TLS,
    ROLE_LABEL, SSH_DIR_LABEL, TLS_DIR_LABEL,
};

/// The host's address on the bridge, also known while it is stopped.
const ADDRESS_LABEL: &str = "sis.lab.address";

/// How long a host's dockerd may take to come up (its log), then to answer over TCP.
const LOG_READY: Duration = Duration::from_secs(90);
const TCP_READY: Duration = Duration::from_secs(30);
/// Where the host's certificates are mounted.
const TLS_MOUNT: &str = "/etc/sis-lab/tls";

/// A host of the lab as the spec names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabHost {
    pub container: String,
    pub ip: Ipv4Addr,
    pub endpoint: String,
}

/// Host `index` of the lab as it should be: its dockerd flags, certificates, address and
/// labels, with the hash of all that in `sis.lab.config`.
pub(crate) fn host_spec(
    options: &UpOptions,
    bridge: &str,
    index: u32,
    ip: Ipv4Addr,
    profile: &NodeProfile,
    certs: &Option<LabCerts>,
    ssh: Option<&LabSsh>,
) -> LabHostSpec {
    // The node image's entrypoint starts dockerd on its unix socket and appends these.
    // `--tls=false` said explicitly spares the 15 s that dockerd 20.10 waits on a plain TCP port.
    let (cmd, mut binds) = match certs {
        None => (
            vec![
                format!("--host=tcp://0.0.0.0:{PORT_PLAIN}"),
                "--tls=false".to_string(),
            ],
            Vec::new(),
        ),
        Some(certs) => (
            vec![
                format!("--host=tcp://0.0.0.0:{PORT_TLS}"),
                "--tlsverify".to_string(),
                format!("--tlscacert={TLS_MOUNT}/{}", certs::CA),
                format!("--tlscert={TLS_MOUNT}/{}", certs::CERT),
                format!("--tlskey={TLS_MOUNT}/{}", certs::KEY),
            ],
            vec![format!("{}:{TLS_MOUNT}:ro", certs.host_dir(ip).display())],
        ),
    };
    // With ssh the host runs the lab host image, whose entrypoint starts sshd first; its
    // engine still listens on TCP too, for the lab's own readiness check and image copy.
    let image = match ssh {
        Some(ssh) => {
            binds.push(format!(
                "{}:{}:ro",
                ssh.host_dir().display(),
                crate::sshkeys::MOUNT
            ));
            options.ssh_image.clone()
        }
        None => options.image.clone(),
    };
    let ipv4 = ip.to_string();
    let made_from: Vec<String> = cmd
        .iter()
        .chain(&binds)
        .cloned()
        .chain([format!("ip={ipv4}"), "init".to_string()])
        .collect();
    let mut labels = BTreeMap::from([
        (LAB_LABEL.to_string(), options.name.clone()),
        (ROLE_LABEL.to_string(), "host".to_string()),
        (ADDRESS_LABEL.to_string(), ipv4.clone()),
        (
            CONFIG_LABEL.to_string(),
            node_spec_hash(&image, profile, bridge, &made_from),
        ),
    ]);
    if let Some(certs) = certs {
        labels.insert(TLS_DIR_LABEL.to_string(), certs.dir.display().to_string());
    }
    if let Some(ssh) = ssh {
        labels.insert(SSH_DIR_LABEL.to_string(), ssh.dir.display().to_string());
    }
    LabHostSpec {
        name: host_container_name(&options.name, index),
        image,
        cmd,
        labels,
        network: bridge.to_string(),
        ipv4,
        profile: profile.clone(),
        binds,
        init: true,
    }
}

/// What [`converge_hosts`] did.
pub(crate) struct Converged {
    pub changed: bool,
    /// Certificate directories of hosts that are gone, which no host uses any more.
    pub stale_tls_dirs: BTreeSet<PathBuf>,
    /// The same for ssh key directories.
    pub stale_ssh_dirs: BTreeSet<PathBuf>,
}

/// Creates, starts, replaces and removes host containers until the lab has `wanted`.
pub(crate) async fn converge_hosts(
    local: &DockerHost,
    name: &str,
    wanted: &[LabHostSpec],
    report: &dyn Fn(&LabEvent),
) -> Result<Converged, LabError> {
    let existing = local
        .containers_labelled(LAB_LABEL, name)
        .await
        .map_err(LabError::engine("listing the lab's hosts"))?;
    let mut changed = false;
    for extra in existing
        .iter()
        .filter(|c| !wanted.iter().any(|w| w.name == c.name))
    {
        remove(local, extra).await?;
        report(&LabEvent::Host {
            name: extra.name.clone(),
            ip: extra.labels.get(ADDRESS_LABEL).cloned().unwrap_or_default(),
            change: HostChange::Removed,
        });
        changed = true;
    }
    for host in wanted {
        let change = match existing.iter().find(|c| c.name == host.name) {
            Some(c) if c.labels.get(CONFIG_LABEL) != host.labels.get(CONFIG_LABEL) => {
                remove(local, c).await?;
                run(local, host).await?;
                HostChange::Replaced(replace_reason(c, host))
            }
            Some(c) if c.state != "running" => {
                local
                    .start_container(&c.name)
                    .await
                    .map_err(LabError::engine(format!("starting host {}", c.name)))?;
                HostChange::Started
            }
            Some(_) => HostChange::Kept,
            None => {
                run(local, host).await?;
                HostChange::Created
            }
        };
        changed |= change != HostChange::Kept;
        report(&LabEvent::Host {
            name: host.name.clone(),
            ip: host.ipv4.clone(),
            change,
        });
    }
    let stale = |label: &str| -> BTreeSet<PathBuf> {
        let dir = |labels: &BTreeMap<String, String>| labels.get(label).map(PathBuf::from);
        let in_use: BTreeSet<PathBuf> = wanted.iter().filter_map(|h| dir(&h.labels)).collect();
        existing
            .iter()
            .filter_map(|c| dir(&c.labels))
            .filter(|d| !in_use.contains(d))
            .collect()
    };
    Ok(Converged {
        changed,
        stale_tls_dirs: stale(TLS_DIR_LABEL),
        stale_ssh_dirs: stale(SSH_DIR_LABEL),
    })
}

fn replace_reason(old: &LabContainer, new: &LabHostSpec) -> String {
    let has = |labels: &BTreeMap<String, String>, key| labels.contains_key(key);
    for (key, what) in [(TLS_DIR_LABEL, "TLS"), (SSH_DIR_LABEL, "ssh")] {
        match (has(&old.labels, key), has(&new.labels, key)) {
            (false, true) => return format!("{what} asked for"),
            (true, false) => return format!("{what} no longer asked for"),
            _ => {}
        }
    }
    "its settings changed".to_string()
}

async fn run(local: &DockerHost, host: &LabHostSpec) -> Result<(), LabError> {
    local
        .run_lab_host(host)
        .await
        .map_err(LabError::engine(format!("creating host {}", host.name)))
}

async fn remove(local: &DockerHost, c: &LabContainer) -> Result<(), LabError> {
    local
        .remove_container(&c.name)
        .await
        .map_err(LabError::engine(format!("removing host {}", c.name)))
}

pub(crate) fn endpoint(ip: &str, tls: bool) -> String {
    let port = if tls { PORT_TLS } else { PORT_PLAIN };
    format!("tcp://{ip}:{port}")
}

pub(crate) fn connect_hosts(
    hosts: &[LabHost],
    client_tls: Option<&Path>,
) -> Result<Vec<DockerHost>, LabError> {
    hosts
        .iter()
        .map(|h| {
            DockerHost::connect(&h.endpoint, self::client_tls(client_tls))
                .map_err(LabError::engine(format!("host {}", h.container)))
        })
        .collect()
}

/// The client's files in its TLS directory.
fn client_tls(dir: Option<&Path>) -> Option<TlsPaths> {
    dir.map(|dir| TlsPaths {
        ca: dir.join(certs::CA),
        cert: dir.join(certs::CERT),
        key: dir.join(certs::KEY),
    })
}

/// Waits for the host's dockerd (its log, on the local engine), then for its API over TCP.
pub(crate) async fn wait_ready(
    local: &DockerHost,
    host: &LabHost,
    engine: &DockerHost,
    report: &dyn Fn(&LabEvent),
) -> Result<(), LabError> {
    let start = Instant::now();
    local
        .wait_node_ready(&host.container, LOG_READY)
        .await
        .map_err(LabError::engine(format!(
            "waiting for the engine of host {}",
            host.container
        )))?;
    let deadline = Instant::now() + TCP_READY;
    let mut delay = Duration::from_millis(100);
    loop {
        match engine.server_version().await {
            Ok(version) => {
                report(&LabEvent::HostReady {
                    name: host.container.clone(),
                    endpoint: host.endpoint.clone(),
                    version,
                    waited: start.elapsed(),
                });
                return Ok(());
            }
            Err(e) if Instant::now() >= deadline => {
                return Err(LabError::HostNotReady {
                    host: host.container.clone(),
                    endpoint: host.endpoint.clone(),
                    seconds: TCP_READY.as_secs(),
                    detail: format!(": {}", error_chain(&e)),
                })
            }
            Err(_) => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(1));
            }
        }
    }
}

/// How long `status` waits for an engine to answer.
const STATUS_TIMEOUT: Duration = Duration::from_secs(3);

/// One host as `sis lab status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostStatus {
    pub container: String,
    /// `running`, `exited`, …
    pub state: String,
    /// `tcp://IP:PORT`, as the host was made.
    pub endpoint: Option<String>,
    /// The engine's version when it answered, else why not.
    pub engine: Result<String, String>,
}

/// The lab's host containers, as the local engine lists them, and whether their engines
/// answer over TCP.
pub async fn status(name: &str, engine: &str) -> Result<Vec<HostStatus>, LabError> {
    let local = DockerHost::connect(engine, None)
        .map_err(LabError::engine("connecting to the local engine"))?;
    let containers = local
        .containers_labelled(LAB_LABEL, name)
        .await
        .map_err(LabError::engine("listing the lab's hosts"))?;
    let looks = containers.into_iter().map(|c| async move {
        let tls_dir = c.labels.get(TLS_DIR_LABEL).map(PathBuf::from);
        let endpoint = c
            .labels
            .get(ADDRESS_LABEL)
            .map(|ip| self::endpoint(ip, tls_dir.is_some()));
        let engine = match &endpoint {
            _ if c.state != "running" => Err("not running".to_string()),
            None => Err(format!("no {ADDRESS_LABEL} label")),
            Some(endpoint) => answer(endpoint, tls_dir.as_deref()).await,
        };
        HostStatus {
            container: c.name,
            state: c.state,
            endpoint,
            engine,
        }
    });
    Ok(futures::future::join_all(looks).await)
}

/// The engine's version at `endpoint`, or why there is none.
async fn answer(endpoint: &str, tls_dir: Option<&Path>) -> Result<String, String> {
    let client_dir = tls_dir.map(|dir| LabCerts::new(dir).client_dir());
    let engine = DockerHost::connect(endpoint, client_tls(client_dir.as_deref()))
        .map_err(|e| error_chain(&e))?;
    match tokio::time::timeout(STATUS_TIMEOUT, engine.server_version()).await {
        Ok(Ok(version)) => Ok(version),
        Ok(Err(e)) => Err(error_chain(&e)),
        Err(_) => Err(format!("no answer within {} s", STATUS_TIMEOUT.as_secs())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(tls: Option<&LabCerts>, index: u32) -> LabHostSpec {
        let options = UpOptions::new("lab", 2);
        let profile = NodeProfile::Capabilities {
            cap_drop: vec!["SYS_RESOURCE".into()],
        };
        let ip = Ipv4Addr::new(10, 198, 0, 10 + index as u8);
        host_spec(
            &options,
            "lab-bridge",
            index,
            ip,
            &profile,
            &tls.cloned(),
            None,
        )
    }

    #[test]
    fn a_plain_host_says_tls_false_so_dockerd_does_not_wait() {
        let host = spec(None, 1);
        assert_eq!(host.name, "lab-host1");
        assert_eq!(host.ipv4, "10.198.0.11");
        assert_eq!(host.cmd, ["--host=tcp://0.0.0.0:2375", "--tls=false"]);
        assert!(host.binds.is_empty());
        assert!(host.init, "an init reaps what the host's nodes orphan");
        assert_eq!(host.labels[LAB_LABEL], "lab");
        assert!(
            !host.labels.contains_key("sis.cluster"),
            "sis would take it for a node"
        );
    }

    #[test]
    fn a_tls_host_verifies_clients_with_its_own_certificate_mounted() {
        let certs = LabCerts::new("/srv/lab-tls");
        let host = spec(Some(&certs), 2);
        assert_eq!(host.cmd[0], "--host=tcp://0.0.0.0:2376");
        assert!(
            host.cmd.contains(&"--tlsverify".to_string()),
            "{:?}",
            host.cmd
        );
        assert_eq!(
            host.binds,
            ["/srv/lab-tls/hosts/10.198.0.12:/etc/sis-lab/tls:ro"]
        );
        assert_eq!(host.labels[TLS_DIR_LABEL], "/srv/lab-tls");
    }

    #[test]
    fn the_config_hash_is_stable_and_follows_tls_and_the_address() {
        let certs = LabCerts::new("/srv/lab-tls");
        let hash = |h: LabHostSpec| h.labels[CONFIG_LABEL].clone();
        assert_eq!(hash(spec(None, 1)), hash(spec(None, 1)));
        assert_ne!(hash(spec(None, 1)), hash(spec(Some(&certs), 1)));
        assert_ne!(hash(spec(None, 1)), hash(spec(None, 2)));
    }
}
