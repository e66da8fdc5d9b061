//! The size of each node's `/var/lib/docker` volume, for `sis status`: read by a short-lived
//! container with the engine's root dir bound read-only (`du`), as the limits probe reads its
//! free space. Inherent to [`DockerHost`]: only the status command asks for it.

use std::collections::{BTreeSet, HashMap};

use bollard::models::{ContainerCreateBody, HostConfig};
use sis_types::labels;

use super::DockerHost;
use crate::EngineError;

/// Where the probe sees the engine's `DockerRootDir`.
const ROOT: &str = "/sis-docker-root";

/// `NAME KIB` per volume name given (KIB empty when `du` cannot read it).
const SCRIPT: &str = r#"for v in "$@"; do echo "$v $(du -sk "/sis-docker-root/volumes/$v/_data" 2>/dev/null | cut -f1)"; done"#;

/// A node container and the size of its volume on `/var/lib/docker`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeVolume {
    pub node: String,
    pub bytes: u64,
}

impl DockerHost {
    /// The volumes on `/var/lib/docker` of the nodes of `cluster` on this engine, largest
    /// first, measured by a probe from `probe_image` (or another image with a shell).
    pub async fn node_volumes(
        &self,
        cluster: &str,
        probe_image: &str,
    ) -> Result<Vec<NodeVolume>, EngineError> {
        let listed = super::observe::labelled(
            self,
            labels::CLUSTER,
            cluster,
            "list the cluster's containers",
        )
        .await?;
        let mut volume_of: HashMap<String, String> = HashMap::new();
        for c in listed {
            let is_node = c
                .labels
                .as_ref()
                .and_then(|l| l.get(labels::ROLE))
                .is_some_and(|r| r == labels::ROLE_NODE);
            let name = c
                .names
                .unwrap_or_default()
                .first()
                .map(|n| n.trim_start_matches('/').to_string());
            let volume =
                c.mounts.unwrap_or_default().into_iter().find(|m| {
                    m.destination.as_deref() == Some("/var/lib/docker") && m.name.is_some()
                });
            if let (true, Some(name), Some(volume)) = (is_node, name, volume) {
                volume_of.insert(volume.name.unwrap_or_default(), name);
            }
        }
        if volume_of.is_empty() {
            return Ok(Vec::new());
        }
        let docker = self.client().await?;
        let info = docker.info().await.map_err(self.fail("read engine info"))?;
        let root = info
            .docker_root_dir
            .unwrap_or_else(|| "/var/lib/docker".to_string());
        let images: BTreeSet<String> = super::observe::images(self).await?;
        let mut names: Vec<String> = volume_of.keys().cloned().collect();
        names.sort();
        let mut last = EngineError::Other(format!(
            "no image on the host to measure the node volumes with; pull {probe_image} first"
        ));
        for image in super::observe::probe_candidates(Some(probe_image), &images) {
            match run(self, &image, &root, &names).await {
                Ok(output) => {
                    let mut volumes: Vec<NodeVolume> = output
                        .lines()
                        .filter_map(|l| {
                            let (volume, kib) = l.split_once(' ')?;
                            Some(NodeVolume {
                                node: volume_of.get(volume)?.clone(),
                                bytes: kib.trim().parse::<u64>().ok()? * 1024,
                            })
                        })
                        .collect();
                    volumes.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.node.cmp(&b.node)));
                    return Ok(volumes);
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

async fn run(
    host: &DockerHost,
    image: &str,
    root: &str,
    volumes: &[String],
) -> Result<String, EngineError> {
    let mut cmd = vec!["-c".to_string(), SCRIPT.to_string(), "sh".to_string()];
    cmd.extend(volumes.iter().cloned());
    let config = ContainerCreateBody {
        image: Some(image.to_string()),
        entrypoint: Some(vec!["sh".to_string()]),
        cmd: Some(cmd),
        labels: Some(HashMap::from([(
            labels::ROLE.to_string(),
            "volume-probe".to_string(),
        )])),
        host_config: Some(HostConfig {
            network_mode: Some("none".to_string()),
            binds: Some(vec![format!("{root}:{ROOT}:ro")]),
            auto_remove: Some(true),
            ..HostConfig::default()
        }),
        ..ContainerCreateBody::default()
    };
    super::probe::run(host, "volume probe", config).await
}
