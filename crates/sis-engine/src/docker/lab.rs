//! Primitives for a lab of simulated hosts on one engine (`sis lab`): a bridge network with a
//! subnet, host containers with fixed addresses, listing by label, images by ID and size.
//! (Images stream from one engine to another through [`crate::HostEngine::export_image`] and
//! [`crate::HostEngine::import_image`].)

use std::collections::{BTreeMap, HashMap};

use bollard::models::{
    EndpointIpamConfig, EndpointSettings, Ipam, IpamConfig, NetworkCreateRequest, NetworkingConfig,
};
use bollard::query_parameters::{CreateContainerOptionsBuilder, ListNetworksOptionsBuilder};
use ipnet::Ipv4Net;
use sis_types::NodeProfile;

use super::network::unsorted;
use super::observe::sorted;
use super::{is_status, DockerHost};
use crate::error::message;
use crate::{ContainerSpec, EngineError};

/// A host container of a lab: the node image running its own dockerd, on a bridge network
/// at a fixed address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabHostSpec {
    pub name: String,
    pub image: String,
    /// Arguments appended to the image's entrypoint (extra dockerd flags for the node image).
    pub cmd: Vec<String>,
    pub labels: BTreeMap<String, String>,
    /// The bridge network, and the container's IPv4 address on it.
    pub network: String,
    pub ipv4: String,
    pub profile: NodeProfile,
    /// Bind mounts, `HOST_PATH:CONTAINER_PATH[:ro]`.
    pub binds: Vec<String>,
    /// Run the engine's init (`docker run --init`) as the container's process 1, so that the
    /// processes orphaned inside it (a loaded host's node shims) are reaped: with dockerd as
    /// process 1 they stayed zombies, and the engine could then fail to kill the container.
    pub init: bool,
}

/// A container found by label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabContainer {
    pub id: String,
    pub name: String,
    /// `running`, `exited`, `created`, …
    pub state: String,
    pub labels: BTreeMap<String, String>,
    /// Its IPv4 address on each network it is attached to.
    pub addresses: BTreeMap<String, String>,
}

/// An image on an engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabImage {
    pub id: String,
    /// Its size unpacked, in bytes (about the size of its `docker save` archive).
    pub size: u64,
}

/// A network found by label or name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabNetwork {
    pub id: String,
    pub name: String,
    pub driver: String,
    /// IPv4 subnets of its IPAM config.
    pub subnets: Vec<Ipv4Net>,
    pub labels: BTreeMap<String, String>,
}

impl DockerHost {
    /// The server's version; an answer proves the engine serves its API at this endpoint.
    pub async fn server_version(&self) -> Result<String, EngineError> {
        let docker = self.client().await?;
        let version = docker
            .version()
            .await
            .map_err(self.fail("read the engine version"))?;
        Ok(version.version.unwrap_or_default())
    }

    /// `image` as this engine has it (ID and size), or `None` when it does not have it.
    pub async fn image_info(&self, image: &str) -> Result<Option<LabImage>, EngineError> {
        let docker = self.client().await?;
        match docker.inspect_image(image).await {
            Ok(inspected) => Ok(Some(LabImage {
                id: inspected.id.unwrap_or_default(),
                size: inspected
                    .size
                    .and_then(|s| u64::try_from(s).ok())
                    .unwrap_or(0),
            })),
            Err(e) if is_status(&e, 404) => Ok(None),
            Err(e) => Err(self.fail(format!("inspect image {image}"))(e)),
        }
    }

    /// The network called `name`, if any.
    pub async fn network_named(&self, name: &str) -> Result<Option<LabNetwork>, EngineError> {
        let docker = self.client().await?;
        match docker.inspect_network(name, None).await {
            Ok(n) => Ok(Some(lab_network(n.id, n.name, n.driver, n.ipam, n.labels))),
            Err(e) if is_status(&e, 404) => Ok(None),
            Err(e) => Err(self.fail(format!("inspect network {name}"))(e)),
        }
    }

    /// Networks labelled `key=value`.
    pub async fn networks_labelled(
        &self,
        key: &str,
        value: &str,
    ) -> Result<Vec<LabNetwork>, EngineError> {
        let docker = self.client().await?;
        let filters = HashMap::from([("label".to_string(), vec![format!("{key}={value}")])]);
        let list = docker
            .list_networks(Some(
                ListNetworksOptionsBuilder::new().filters(&filters).build(),
            ))
            .await
            .map_err(self.fail(format!("list networks labelled {key}={value}")))?;
        let mut networks: Vec<LabNetwork> = list
            .into_iter()
            .map(|n| lab_network(n.id, n.name, n.driver, n.ipam, n.labels))
            .collect();
        networks.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(networks)
    }

    /// Containers labelled `key=value`, in every state, sorted by name.
    pub async fn containers_labelled(
        &self,
        key: &str,
        value: &str,
    ) -> Result<Vec<LabContainer>, EngineError> {
        let what = format!("list containers labelled {key}={value}");
        let list = super::observe::labelled(self, key, value, &what).await?;
        let mut containers: Vec<LabContainer> = list
            .into_iter()
            .map(|c| LabContainer {
                id: c.id.unwrap_or_default(),
                name: c
                    .names
                    .unwrap_or_default()
                    .first()
                    .map(|n| n.trim_start_matches('/').to_string())
                    .unwrap_or_default(),
                state: c.state.map(|s| s.to_string()).unwrap_or_default(),
                labels: sorted(c.labels),
                addresses: c
                    .network_settings
                    .and_then(|s| s.networks)
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|(net, e)| Some((net, e.ip_address.filter(|ip| !ip.is_empty())?)))
                    .collect(),
            })
            .collect();
        containers.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(containers)
    }

    /// Creates a bridge network with `subnet`. A network of that name with that subnet counts
    /// as created; with another subnet it is an error.
    pub async fn create_bridge_network(
        &self,
        name: &str,
        subnet: Ipv4Net,
        labels: &BTreeMap<String, String>,
    ) -> Result<(), EngineError> {
        let docker = self.client().await?;
        // dockerd 20.10 accepts a second network of the same name unless asked not to, and
        // bollard 0.21 cannot ask: look first.
        if let Some(existing) = self.network_named(name).await? {
            if existing.subnets.contains(&subnet) {
                return Ok(());
            }
            return Err(EngineError::Other(format!(
                "network {name} already exists on {} with subnet {}, not {subnet}",
                self.inner.endpoint,
                join(&existing.subnets)
            )));
        }
        let request = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".to_string()),
            ipam: Some(Ipam {
                config: Some(vec![IpamConfig {
                    subnet: Some(subnet.to_string()),
                    ..IpamConfig::default()
                }]),
                ..Ipam::default()
            }),
            labels: Some(unsorted(labels)),
            ..NetworkCreateRequest::default()
        };
        match docker.create_network(request).await {
            Ok(_) => Ok(()),
            Err(e) if message(&e).contains("overlaps") => Err(EngineError::Hinted {
                op: self.op(format!("create network {name} with subnet {subnet}")),
                hint: "another network of this engine uses addresses of that subnet; choose \
                       another subnet"
                    .to_string(),
                source: e,
            }),
            Err(e) => Err(self.fail(format!("create network {name}"))(e)),
        }
    }

    /// Creates and starts a lab host container. A container of that name must not exist.
    pub async fn run_lab_host(&self, spec: &LabHostSpec) -> Result<(), EngineError> {
        let docker = self.client().await?;
        let name = &spec.name;
        let mut body = super::container::create_body(&ContainerSpec {
            name: name.clone(),
            hostname: name.clone(),
            image: spec.image.clone(),
            cmd: spec.cmd.clone(),
            labels: spec.labels.clone(),
            network: None,
            profile: Some(spec.profile.clone()),
            publish: Vec::new(),
            ipv4_address: None,
            restart_unless_stopped: false,
        });
        body.networking_config = Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                spec.network.clone(),
                EndpointSettings {
                    ipam_config: Some(EndpointIpamConfig {
                        ipv4_address: Some(spec.ipv4.clone()),
                        ..EndpointIpamConfig::default()
                    }),
                    ..EndpointSettings::default()
                },
            )])),
        });
        if let Some(host_config) = body.host_config.as_mut() {
            host_config.network_mode = Some(spec.network.clone());
            host_config.binds = (!spec.binds.is_empty()).then(|| spec.binds.clone());
            host_config.init = spec.init.then_some(true);
        }
        let options = CreateContainerOptionsBuilder::new().name(name).build();
        match docker.create_container(Some(options), body).await {
            Ok(_) => {}
            Err(e) if is_status(&e, 409) => {
                return Err(EngineError::Hinted {
                    op: self.op(format!("create lab host {name}")),
                    hint: "a container of that name exists already; remove it or choose \
                           another lab name"
                        .to_string(),
                    source: e,
                })
            }
            Err(e) if is_status(&e, 404) && message(&e).contains("image") => {
                return Err(EngineError::Hinted {
                    op: self.op(format!("create lab host {name}")),
                    hint: format!("image {} is not on this engine", spec.image),
                    source: e,
                })
            }
            Err(e) => return Err(self.fail(format!("create lab host {name}"))(e)),
        }
        super::container::start(self, name).await
    }
}

/// The parts of a network that `inspect` and `list` both give.
fn join(subnets: &[Ipv4Net]) -> String {
    let subnets: Vec<String> = subnets.iter().map(ToString::to_string).collect();
    subnets.join(", ")
}

fn lab_network(
    id: Option<String>,
    name: Option<String>,
    driver: Option<String>,
    ipam: Option<Ipam>,
    labels: Option<HashMap<String, String>>,
) -> LabNetwork {
    LabNetwork {
        id: id.unwrap_or_default(),
        name: name.unwrap_or_default(),
        driver: driver.unwrap_or_default(),
        subnets: ipam
            .and_then(|i| i.config)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|c| c.subnet?.parse().ok())
            .collect(),
        labels: sorted(labels),
    }
}
