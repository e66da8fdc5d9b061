//! Observing a host: engine facts, swarm1, images, the cluster's network and containers.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bollard::models::{ContainerCreateBody, ContainerSummary, HostConfig, SystemInfo};
use bollard::query_parameters::{ListContainersOptionsBuilder, ListImagesOptionsBuilder};
use sis_types::{
    labels, missing_capabilities, ContainerObservation, HostFacts, LocalNodeState, Swarm1Membership,
};

use super::DockerHost;
use crate::EngineError;

pub(super) async fn observe(
    host: &DockerHost,
    cluster: &str,
    network: &str,
) -> Result<HostFacts, EngineError> {
    let docker = host.client().await?;
    let (info, images, network_observation, others, containers) = futures::try_join!(
        async { docker.info().await.map_err(host.fail("read engine info")) },
        images(host),
        super::network::inspect(host, network),
        super::network::others_with_subnets(host, network),
        containers(host, cluster, network),
    )?;
    let networks = network_observation.into_iter().chain(others).collect();
    let mut swarm1 = swarm1_membership(&info);
    if swarm1.is_manager {
        // A manager that cannot answer (e.g. swarm1 lost its quorum) still gets observed:
        // without the label, destroy only leaves swarm1 in place.
        match super::swarm1::created_by(host).await {
            Ok(created_by) => swarm1.created_by = created_by,
            Err(e) => tracing::warn!(endpoint = %host.inner.endpoint, "{e}"),
        }
    }
    let cap = capability_bounding_set(host, &images).await;
    let (disk, machine) = cached_disk(host, &info, &images).await.unwrap_or_default();
    Ok(HostFacts {
        endpoint: host.inner.endpoint.clone(),
        version: info.server_version.clone().unwrap_or_default(),
        api_version: docker.client_version().to_string(),
        engine_id: info.id.clone().filter(|id| !id.is_empty()),
        cpus: info.ncpu.unwrap_or(0).try_into().unwrap_or(0),
        memory_bytes: info.mem_total.unwrap_or(0).try_into().unwrap_or(0),
        cap_bnd: cap.map(|(bnd, _)| bnd),
        caps_missing: cap
            .map(|(bnd, last)| missing_capabilities(bnd, last))
            .unwrap_or_default(),
        swarm1,
        disk,
        machine,
        images,
        networks,
        containers,
    })
}

fn swarm1_membership(info: &SystemInfo) -> Swarm1Membership {
    let Some(swarm) = &info.swarm else {
        return Swarm1Membership {
            state: LocalNodeState::Inactive,
            ..Swarm1Membership::default()
        };
    };
    let non_empty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    Swarm1Membership {
        state: swarm
            .local_node_state
            .map(|s| s.to_string())
            .filter(|s| !s.is_empty())
            .map_or(LocalNodeState::Inactive, LocalNodeState::from),
        node_id: non_empty(&swarm.node_id),
        cluster_id: swarm.cluster.as_ref().and_then(|c| non_empty(&c.id)),
        is_manager: swarm.control_available.unwrap_or(false),
        node_addr: non_empty(&swarm.node_addr),
        managers: swarm
            .remote_managers
            .iter()
            .flatten()
            .filter_map(|m| non_empty(&m.addr))
            .collect(),
        created_by: None,
    }
}

pub(super) async fn images(host: &DockerHost) -> Result<BTreeSet<String>, EngineError> {
    let docker = host.client().await?;
    let list = docker
        .list_images(Some(ListImagesOptionsBuilder::new().all(false).build()))
        .await
        .map_err(host.fail("list images"))?;
    Ok(list
        .into_iter()
        .flat_map(|image| {
            image
                .repo_tags
                .into_iter()
                .filter(|tag| tag != "<none>:<none>")
                .chain([image.id])
        })
        .collect())
}

/// The containers labelled `key=value`, in every state, in one list call.
pub(super) async fn labelled(
    host: &DockerHost,
    key: &str,
    value: &str,
    what: &str,
) -> Result<Vec<ContainerSummary>, EngineError> {
    let docker = host.client().await?;
    let filters = HashMap::from([("label".to_string(), vec![format!("{key}={value}")])]);
    docker
        .list_containers(Some(
            ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .map_err(host.fail(what))
}

/// The containers labelled with `cluster`, in every state, in one list call.
async fn containers(
    host: &DockerHost,
    cluster: &str,
    network: &str,
) -> Result<Vec<ContainerObservation>, EngineError> {
    let list = labelled(
        host,
        labels::CLUSTER,
        cluster,
        &format!("list containers of cluster {cluster}"),
    )
    .await?;
    let mut observed: Vec<ContainerObservation> = list
        .into_iter()
        .map(|c| {
            let ring2net_ip = c
                .network_settings
                .as_ref()
                .and_then(|s| s.networks.as_ref())
                .and_then(|n| n.get(network))
                .and_then(|e| e.ip_address.clone())
                .filter(|ip| !ip.is_empty());
            ContainerObservation {
                id: c.id.unwrap_or_default(),
                name: c
                    .names
                    .unwrap_or_default()
                    .first()
                    .map(|n| n.trim_start_matches('/').to_string())
                    .unwrap_or_default(),
                image: c.image.unwrap_or_default(),
                state: c.state.map(|s| s.to_string()).unwrap_or_default().into(),
                labels: c.labels.unwrap_or_default().into_iter().collect(),
                ring2net_ip,
            }
        })
        .collect();
    observed.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(observed)
}

/// The engine's capability bounding set and last capability number, probed once per
/// process with a short-lived container; `None` when no image on the host could do it.
async fn capability_bounding_set(
    host: &DockerHost,
    images: &BTreeSet<String>,
) -> Option<(u64, u32)> {
    let mut cached = host.inner.caps.lock().await;
    if cached.is_none() {
        for image in probe_candidates(host.inner.probe_image.as_deref(), images) {
            match probe(host, &image).await {
                Ok(caps) => {
                    *cached = Some(caps);
                    break;
                }
                Err(e) => tracing::debug!(
                    endpoint = %host.inner.endpoint, %image,
                    "capability probe failed: {e}"
                ),
            }
        }
    }
    *cached
}

/// The free disk of the engine's root dir and the machine's boot ID, probed once per process
/// (like the capabilities): a plan counts the disk against the nodes it creates, and a pass
/// later in the same run needs no fresher number.
async fn cached_disk(
    host: &DockerHost,
    info: &SystemInfo,
    images: &BTreeSet<String>,
) -> Option<(Option<sis_types::DiskSpace>, Option<String>)> {
    let mut cached = host.inner.disk.lock().await;
    if cached.is_none() {
        *cached = super::limits::disk(host, info, images).await;
    }
    cached.clone()
}

/// Images to try for the probe: the preferred one, then those that look like dind images
/// (they have `cat`), then at most one more.
pub(super) fn probe_candidates(preferred: Option<&str>, images: &BTreeSet<String>) -> Vec<String> {
    let tagged: Vec<&String> = images
        .iter()
        .filter(|i| !i.starts_with("sha256:"))
        .collect();
    let dind_like = |i: &&String| i.contains("dind") || i.contains("sis-node");
    let preferred = preferred.and_then(|p| images.get(p));
    let mut candidates: Vec<String> = Vec::new();
    let ordered = preferred
        .into_iter()
        .chain(tagged.iter().copied().filter(dind_like))
        .chain(tagged.iter().copied().filter(|i| !dind_like(i)).take(1));
    for image in ordered {
        if !candidates.contains(image) {
            candidates.push(image.clone());
        }
    }
    candidates.truncate(3);
    candidates
}

/// Reads `CapBnd` of the host's pid 1 and `cap_last_cap` from a container in the host's
/// pid namespace. The container is attached before it starts (so no output is lost) and
/// removes itself when it exits.
async fn probe(host: &DockerHost, image: &str) -> Result<(u64, u32), EngineError> {
    let config = ContainerCreateBody {
        image: Some(image.to_string()),
        entrypoint: Some(vec!["cat".to_string()]),
        cmd: Some(vec![
            "/proc/1/status".to_string(),
            "/proc/sys/kernel/cap_last_cap".to_string(),
        ]),
        labels: Some(HashMap::from([(
            labels::ROLE.to_string(),
            "capability-probe".to_string(),
        )])),
        host_config: Some(HostConfig {
            pid_mode: Some("host".to_string()),
            network_mode: Some("none".to_string()),
            auto_remove: Some(true),
            ..HostConfig::default()
        }),
        ..ContainerCreateBody::default()
    };
    let output = super::probe::run(host, "capability probe", config).await?;
    parse_probe(&output).ok_or_else(|| {
        EngineError::Other(format!(
            "capability probe from {image}: unexpected output {output:?}"
        ))
    })
}

/// `CapBnd:\t000001fffeffffff` from the status file, then the last capability number.
fn parse_probe(output: &str) -> Option<(u64, u32)> {
    let bnd = output
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())?;
    let last = output
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .and_then(|l| l.trim().parse().ok())?;
    Some((bnd, last))
}

/// Labels as a sorted map (the planner's plain data uses BTreeMaps).
pub(super) fn sorted(labels: Option<HashMap<String, String>>) -> BTreeMap<String, String> {
    labels.unwrap_or_default().into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_output_gives_the_bounding_set_and_last_capability() {
        let output = "Name:\tsystemd\nCapEff:\t000001fffeffffff\nCapBnd:\t000001fffeffffff\n\
                      CapAmb:\t0000000000000000\n40\n";
        assert_eq!(parse_probe(output), Some((0x1fffeffffff, 40)));
        assert_eq!(parse_probe("cat: can't open\n"), None);
    }

    #[test]
    fn the_preferred_probe_image_comes_first_when_present() {
        let images: BTreeSet<String> = [
            "alpine:3",
            "docker:dind",
            "sha256:abc",
            "sis-node:test",
            "zeta:1",
        ]
        .map(String::from)
        .into();
        assert_eq!(
            probe_candidates(Some("sis-node:test"), &images),
            ["sis-node:test", "docker:dind", "alpine:3"]
        );
        assert_eq!(
            probe_candidates(Some("absent:1"), &images),
            ["docker:dind", "sis-node:test", "alpine:3"]
        );
        assert!(probe_candidates(None, &BTreeSet::new()).is_empty());
    }
}
