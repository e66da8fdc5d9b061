//! A host's kernel limits and free disk, read by a short-lived container: it works the same
//! on a remote engine as on the local one, with no shell on the host.

use std::collections::{BTreeSet, HashMap};

use bollard::models::{ContainerCreateBody, HostConfig, SystemInfo};
use sis_types::{labels, DiskSpace, HostLimits, DOCTOR_SYSCTLS};

use super::DockerHost;
use crate::EngineError;

/// Where the probe sees the engine's `DockerRootDir` (bound read-only).
const ROOT: &str = "/sis-docker-root";

/// The probe's script: `name=value` per sysctl (empty when unreadable), `df` of the root
/// dir in blocks then in inodes, the node image's `dockerd --version` when it has one, and
/// the kernel's boot ID (the same for every engine on one machine).
const SCRIPT: &str = r#"for f in "$@"; do printf '%s=' "$f"; cat "/proc/sys/$(echo "$f" | tr . /)" 2>/dev/null || echo; done
echo "df $(df -Pk /sis-docker-root | tail -n 1)"
echo "dfi $(df -Pi /sis-docker-root 2>/dev/null | tail -n 1)"
echo "dockerd $(dockerd --version 2>/dev/null)"
echo "boot $(cat /proc/sys/kernel/random/boot_id 2>/dev/null)""#;

/// Reads [`DOCTOR_SYSCTLS`] and the free space of the engine's root dir. `node_image` is
/// preferred (and then the node's dockerd version is reported too); without it on the host,
/// another image with a shell is tried, as for the capability probe.
pub(super) async fn host_limits(
    host: &DockerHost,
    node_image: &str,
) -> Result<HostLimits, EngineError> {
    let docker = host.client().await?;
    let info = docker.info().await.map_err(host.fail("read engine info"))?;
    let images = super::observe::images(host).await?;
    limits_with(host, node_image, &info, &images).await
}

/// [`host_limits`] with the engine's info and image list already read (observing has them).
async fn limits_with(
    host: &DockerHost,
    node_image: &str,
    info: &SystemInfo,
    images: &BTreeSet<String>,
) -> Result<HostLimits, EngineError> {
    let root = info
        .docker_root_dir
        .clone()
        .unwrap_or_else(|| "/var/lib/docker".to_string());
    let mut candidates = super::observe::probe_candidates(Some(node_image), images);
    if !images.contains(node_image) {
        candidates.retain(|c| c != node_image);
    }
    let mut last = EngineError::Other(format!(
        "no image on the host to probe its limits with; pull {node_image} first"
    ));
    for image in candidates {
        match run(host, &image, &root).await {
            Ok(output) => {
                let mut limits = parse(&output, &root);
                limits.cgroup_version = info
                    .cgroup_version
                    .map(|v| v.to_string())
                    .unwrap_or_default();
                if image != node_image {
                    limits.node_engine_version = None;
                }
                return Ok(limits);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Runs the probe from `image` in the host's pid and network namespaces (see
/// [`DOCTOR_SYSCTLS`] for why) and returns what it printed.
async fn run(host: &DockerHost, image: &str, root: &str) -> Result<String, EngineError> {
    let mut cmd = vec!["-c".to_string(), SCRIPT.to_string(), "sh".to_string()];
    cmd.extend(DOCTOR_SYSCTLS.iter().map(|s| s.to_string()));
    let config = ContainerCreateBody {
        image: Some(image.to_string()),
        entrypoint: Some(vec!["sh".to_string()]),
        cmd: Some(cmd),
        labels: Some(HashMap::from([(
            labels::ROLE.to_string(),
            "limits-probe".to_string(),
        )])),
        host_config: Some(HostConfig {
            pid_mode: Some("host".to_string()),
            network_mode: Some("host".to_string()),
            binds: Some(vec![format!("{root}:{ROOT}:ro")]),
            auto_remove: Some(true),
            ..HostConfig::default()
        }),
        ..ContainerCreateBody::default()
    };
    let output = super::probe::run(host, "limits probe", config).await?;
    if !output.contains("\ndf ") {
        return Err(EngineError::Other(format!(
            "limits probe from {image}: unexpected output {output:?}"
        )));
    }
    Ok(output)
}

/// The probe's output as [`HostLimits`] (without the cgroup version, which `docker info` tells).
fn parse(output: &str, root: &str) -> HostLimits {
    let mut limits = HostLimits::default();
    let mut free_kib = None;
    let mut free_inodes = None;
    for line in output.lines() {
        // `df -P`: filesystem, size, used, available, capacity, mount point.
        let available = |rest: &str| rest.split_whitespace().nth(3)?.parse::<u64>().ok();
        if let Some(rest) = line.strip_prefix("df ") {
            free_kib = available(rest);
        } else if let Some(rest) = line.strip_prefix("dfi ") {
            free_inodes = available(rest).filter(|n| *n > 0);
        } else if let Some(rest) = line.strip_prefix("dockerd ") {
            // `Docker version 20.10.24+dfsg1, build 5d6db84`
            limits.node_engine_version = rest
                .strip_prefix("Docker version ")
                .and_then(|v| v.split(',').next())
                .map(str::to_string);
        } else if let Some(rest) = line.strip_prefix("boot ") {
            limits.machine = Some(rest.trim().to_string()).filter(|b| !b.is_empty());
        } else if let Some((name, value)) = line.split_once('=') {
            // Multi-valued sysctls are none of ours; the first number is the value.
            let value = value.split_whitespace().next().and_then(|v| v.parse().ok());
            if let (true, Some(value)) = (DOCTOR_SYSCTLS.contains(&name), value) {
                limits.sysctls.insert(name.to_string(), value);
            }
        }
    }
    limits.disk = free_kib.map(|kib| DiskSpace {
        path: root.to_string(),
        free_bytes: kib * 1024,
        free_inodes,
    });
    limits
}

/// The disk and machine parts of [`host_limits`], for [`sis_types::HostFacts::disk`] and
/// [`sis_types::HostFacts::machine`]; `None` when no image could probe them.
pub(super) async fn disk(
    host: &DockerHost,
    info: &SystemInfo,
    images: &BTreeSet<String>,
) -> Option<(Option<DiskSpace>, Option<String>)> {
    let preferred = host.inner.probe_image.as_deref().unwrap_or_default();
    if super::observe::probe_candidates(Some(preferred), images).is_empty() {
        return None;
    }
    match limits_with(host, preferred, info, images).await {
        Ok(limits) => Some((limits.disk, limits.machine)),
        Err(e) => {
            tracing::debug!(endpoint = %host.inner.endpoint, "disk probe failed: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_output_gives_sysctls_disk_and_the_node_engine() {
        let output = "kernel.pid_max=32768\nfs.inotify.max_user_instances=128\n\
                      net.netfilter.nf_conntrack_max=\n\
                      df /dev/vda         264212084 34009364  61276524      36% /sis-docker-root\n\
                      dfi /dev/vda       16777216 454814 16322402    3% /sis-docker-root\n\
                      dockerd Docker version 20.10.24+dfsg1, build 5d6db84\n\
                      boot 0b6c1e1f-7d7c-4b8e-9a57-0f1c2d3e4f50\n";
        let limits = parse(output, "/var/lib/docker");
        assert_eq!(limits.sysctls["kernel.pid_max"], 32768);
        assert_eq!(limits.sysctls["fs.inotify.max_user_instances"], 128);
        assert!(!limits
            .sysctls
            .contains_key("net.netfilter.nf_conntrack_max"));
        let disk = limits.disk.unwrap();
        assert_eq!(disk.free_bytes, 61276524 * 1024);
        assert_eq!(disk.free_inodes, Some(16322402));
        assert_eq!(
            limits.node_engine_version.as_deref(),
            Some("20.10.24+dfsg1")
        );
        assert_eq!(
            limits.machine.as_deref(),
            Some("0b6c1e1f-7d7c-4b8e-9a57-0f1c2d3e4f50")
        );
    }
}
