//! The host containers of a lab: what each is made from, creating and replacing them, and
//! waiting until their engines answer over TCP.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::{Duration, Instant};

use sis_engine::{DockerHost, HostEngine, LabContainer, LabHostSpec, TlsPaths};
use sis_planner::{node_spec_hash, NodeProfile};

use crate::certs::{self, LabCerts};
use crate::error::error_chain;
use crate::event::{HostChange, LabEvent};
use crate::{
    bridge_name, host_container_name, LabError, UpOptions, CONFIG_LABEL, LAB_LABEL, PORT_PLAIN,
    PORT_TLS, ROLE_LABEL, TLS_DIR_LABEL,
};

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
) -> LabHostSpec {
    // The node image's entrypoint starts dockerd on its unix socket and appends these.
    // `--tls=false` said explicitly spares the 15 s that dockerd 20.10 waits on a plain TCP port.
    let (cmd, binds) = match certs {
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
    let ipv4 = ip.to_string();
    let made_from: Vec<String> = cmd
        .iter()
        .chain(&binds)
        .cloned()
        .chain([format!("ip={ipv4}")])
        .collect();
    let mut labels = BTreeMap::from([
        (LAB_LABEL.to_string(), options.name.clone()),
        (ROLE_LABEL.to_string(), "host".to_string()),
        (
            CONFIG_LABEL.to_string(),
            node_spec_hash(&options.image, profile, bridge, &made_from),
        ),
    ]);
    if let Some(certs) = certs {
        labels.insert(TLS_DIR_LABEL.to_string(), certs.dir.display().to_string());
    }
    LabHostSpec {
        name: host_container_name(&options.name, index),
        image: options.image.clone(),
        cmd,
        labels,
        network: bridge.to_string(),
        ipv4,
        profile: profile.clone(),
        binds,
    }
}

/// Creates, starts, replaces and removes host containers until the lab has `wanted`.
/// `true` if anything changed.
pub(crate) async fn converge_hosts(
    local: &DockerHost,
    name: &str,
    wanted: &[LabHostSpec],
    report: &dyn Fn(&LabEvent),
) -> Result<bool, LabError> {
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
            ip: extra.addresses.values().next().cloned().unwrap_or_default(),
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
    Ok(changed)
}

fn replace_reason(old: &LabContainer, new: &LabHostSpec) -> String {
    let tls = |labels: &BTreeMap<String, String>| labels.contains_key(TLS_DIR_LABEL);
    match (tls(&old.labels), tls(&new.labels)) {
        (false, true) => "TLS asked for".to_string(),
        (true, false) => "TLS no longer asked for".to_string(),
        _ => "its settings changed".to_string(),
    }
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
            let tls = client_tls.map(|dir| TlsPaths {
                ca: dir.join(certs::CA),
                cert: dir.join(certs::CERT),
                key: dir.join(certs::KEY),
            });
            DockerHost::connect(&h.endpoint, tls)
                .map_err(LabError::engine(format!("host {}", h.container)))
        })
        .collect()
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

/// One host as `sis lab status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostStatus {
    pub container: String,
    pub state: String,
    pub ip: Option<String>,
    pub tls: bool,
}

/// The lab's host containers, as the local engine lists them.
pub async fn status(name: &str, engine: &str) -> Result<Vec<HostStatus>, LabError> {
    let local = DockerHost::connect(engine, None)
        .map_err(LabError::engine("connecting to the local engine"))?;
    let bridge = bridge_name(name);
    let containers = local
        .containers_labelled(LAB_LABEL, name)
        .await
        .map_err(LabError::engine("listing the lab's hosts"))?;
    Ok(containers
        .into_iter()
        .map(|c| HostStatus {
            ip: c.addresses.get(&bridge).cloned(),
            tls: c.labels.contains_key(TLS_DIR_LABEL),
            container: c.name,
            state: c.state,
        })
        .collect())
}
