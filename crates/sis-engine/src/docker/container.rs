//! Node and K/V store containers: create, start, remove, exec.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, ExecConfig, HostConfig,
    NetworkingConfig, PortBinding, RestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::{CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder};
use futures::StreamExt;
use sis_types::NodeProfile;

use super::network::unsorted;
use super::{is_status, DockerHost};
use crate::error::message;
use crate::{ContainerFile, ContainerSpec, EngineError, ExecOutput, HostEngine};

/// Where dockerd keeps its data inside a node; an anonymous volume, so overlay2 works there.
const NODE_DATA: &str = "/var/lib/docker";

/// The create request for `spec`.
pub(super) fn create_body(spec: &ContainerSpec) -> ContainerCreateBody {
    let mut host_config = HostConfig::default();
    match &spec.profile {
        None => {}
        Some(NodeProfile::Privileged) => host_config.privileged = Some(true),
        Some(NodeProfile::Capabilities { cap_drop }) => {
            host_config.cap_add = Some(vec!["ALL".to_string()]);
            host_config.cap_drop = Some(cap_drop.clone());
            host_config.security_opt = Some(vec![
                "seccomp=unconfined".to_string(),
                "apparmor=unconfined".to_string(),
            ]);
            // `--security-opt systempaths=unconfined` of the CLI: empty lists, not absent
            // ones (absent means dockerd's defaults).
            host_config.masked_paths = Some(Vec::new());
            host_config.readonly_paths = Some(Vec::new());
            host_config.device_cgroup_rules = Some(vec!["a *:* rwm".to_string()]);
        }
    }
    let ports = |port: u16| format!("{port}/tcp");
    if !spec.publish.is_empty() {
        host_config.port_bindings = Some(
            spec.publish
                .iter()
                .map(|(host_port, container_port)| {
                    let binding = PortBinding {
                        host_ip: None,
                        host_port: Some(host_port.to_string()),
                    };
                    (ports(*container_port), Some(vec![binding]))
                })
                .collect(),
        );
    }
    if spec.restart_unless_stopped {
        host_config.restart_policy = Some(RestartPolicy {
            name: Some(RestartPolicyNameEnum::UNLESS_STOPPED),
            maximum_retry_count: None,
        });
    }
    let networking_config = spec.network.as_ref().map(|network| NetworkingConfig {
        endpoints_config: Some(HashMap::from([(
            network.clone(),
            EndpointSettings {
                ipam_config: spec.ipv4_address.map(|ip| EndpointIpamConfig {
                    ipv4_address: Some(ip.to_string()),
                    ..EndpointIpamConfig::default()
                }),
                ..EndpointSettings::default()
            },
        )])),
    });
    ContainerCreateBody {
        hostname: Some(spec.hostname.clone()),
        image: Some(spec.image.clone()),
        cmd: (!spec.cmd.is_empty()).then(|| spec.cmd.clone()),
        labels: Some(unsorted(&spec.labels)),
        exposed_ports: (!spec.publish.is_empty())
            .then(|| spec.publish.iter().map(|(_, c)| ports(*c)).collect()),
        // The node image may declare this volume (docker:dind does); make sure either way.
        volumes: spec.profile.as_ref().map(|_| vec![NODE_DATA.to_string()]),
        host_config: Some(host_config),
        networking_config,
        ..ContainerCreateBody::default()
    }
}

pub(super) async fn run(host: &DockerHost, spec: &ContainerSpec) -> Result<(), EngineError> {
    run_with_files(host, spec, &[]).await
}

/// [`run`], with `files` put in after the create and before the start (on a container left
/// by an earlier attempt too: it may have been created without them).
pub(super) async fn run_with_files(
    host: &DockerHost,
    spec: &ContainerSpec,
    files: &[ContainerFile],
) -> Result<(), EngineError> {
    let docker = host.client().await?;
    let name = &spec.name;
    let options = CreateContainerOptionsBuilder::new().name(name).build();
    match docker
        .create_container(Some(options), create_body(spec))
        .await
    {
        Ok(_) => {}
        // Made by an earlier attempt — if its labels say so: leave it as it is, but running.
        // Anything else of that name stays untouched, on every path below as well.
        Err(e) if is_status(&e, 409) => {
            let existing = labels_of(host, name).await?;
            crate::ownership::claim(host.endpoint(), name, &spec.labels, &existing)?;
            if !files.is_empty() {
                super::archive::put_files(host, name, files).await?;
            }
            return start(host, name).await;
        }
        Err(e) if is_status(&e, 404) && message(&e).contains("image") => {
            return Err(EngineError::Hinted {
                op: host.op(format!("create container {name}")),
                hint: format!(
                    "image {} is not on this host; load it there (`docker save {} | docker \
                     -H HOST load`) or set `swarm2.image` to an image the host has",
                    spec.image, spec.image
                ),
                source: e,
            })
        }
        Err(e) => return Err(host.fail(format!("create container {name}"))(e)),
    }
    if !files.is_empty() {
        if let Err(e) = super::archive::put_files(host, name, files).await {
            // Without its files it could not start as it should: the next attempt begins
            // anew.
            if let Err(cleanup) = remove(host, name).await {
                tracing::warn!("removing container {name} that did not get its files: {cleanup}");
            }
            return Err(e);
        }
    }
    match start(host, name).await {
        Ok(()) => Ok(()),
        Err(e) => {
            // A container that can never start (its profile does not fit the host) is
            // removed, so the next attempt creates it anew; one that failed for a passing
            // reason is kept and started again by the next attempt.
            if !e.is_transient() {
                if let Err(cleanup) = remove(host, name).await {
                    tracing::warn!("removing container {name} that failed to start: {cleanup}");
                }
            }
            Err(e)
        }
    }
}

/// Starts `name`; a running container counts as started.
pub(super) async fn start(host: &DockerHost, name: &str) -> Result<(), EngineError> {
    let docker = host.client().await?;
    match docker.start_container(name, None).await {
        // 304: already running.
        Ok(()) => Ok(()),
        Err(e) if is_status(&e, 304) => Ok(()),
        Err(e) if message(&e).contains("unable to apply caps") => Err(EngineError::Hinted {
            op: host.op(format!("start container {name}")),
            hint: "the host's capability bounding set lacks capabilities that `privileged: true` \
                   needs (see `sis status` for which); set `swarm2.privileged: auto`, or \
                   `privileged: false` with `swarm2.cap_drop` listing them"
                .to_string(),
            source: e,
        }),
        Err(e) => Err(host.fail(format!("start container {name}"))(e)),
    }
}

/// The labels of container `name` (empty when it has none).
pub(super) async fn labels_of(
    host: &DockerHost,
    name: &str,
) -> Result<BTreeMap<String, String>, EngineError> {
    let docker = host.client().await?;
    let inspected = docker
        .inspect_container(name, None)
        .await
        .map_err(host.fail(format!("inspect container {name}")))?;
    Ok(inspected
        .config
        .and_then(|c| c.labels)
        .unwrap_or_default()
        .into_iter()
        .collect())
}

/// Removes `name` when it carries `sis.cluster=<cluster>`; refuses any other container of
/// that name. A container that is gone counts as removed.
pub(super) async fn remove_of(
    host: &DockerHost,
    cluster: &str,
    name: &str,
) -> Result<(), EngineError> {
    if !claimed(host, cluster, name).await? {
        return Ok(());
    }
    remove(host, name).await
}

/// Whether `name` exists and carries `sis.cluster=<cluster>`: false when it is gone, an
/// error naming it when it belongs to someone else.
async fn claimed(host: &DockerHost, cluster: &str, name: &str) -> Result<bool, EngineError> {
    let existing = match labels_of(host, name).await {
        Ok(labels) => labels,
        Err(e) if e.status_code() == Some(404) => return Ok(false),
        Err(e) => return Err(e),
    };
    crate::ownership::claim_for_removal(host.endpoint(), name, cluster, &existing)?;
    Ok(true)
}

/// Kills `name` (SIGKILL) when it carries `sis.cluster=<cluster>`; refuses any other
/// container of that name. One that is gone or not running counts as done.
pub(super) async fn kill_of(
    host: &DockerHost,
    cluster: &str,
    name: &str,
) -> Result<(), EngineError> {
    if !claimed(host, cluster, name).await? {
        return Ok(());
    }
    host.kill_container(name)
        .await
        .or_else(|e| match e.status_code() {
            Some(404) => Ok(()),
            _ => Err(e),
        })
}

/// Removes `name` with its anonymous volumes; a container that is gone counts as removed.
pub(super) async fn remove(host: &DockerHost, name: &str) -> Result<(), EngineError> {
    let docker = host.client().await?;
    let options = RemoveContainerOptionsBuilder::new()
        .force(true)
        .v(true)
        .build();
    match docker.remove_container(name, Some(options)).await {
        Ok(()) => Ok(()),
        Err(e) if is_status(&e, 404) => Ok(()),
        // Another caller is removing it already (with its volumes, if it is sis).
        Err(e) if is_status(&e, 409) && message(&e).contains("already in progress") => Ok(()),
        Err(e) => Err(host.fail(format!("remove container {name}"))(e)),
    }
}

pub(super) async fn exec(
    host: &DockerHost,
    name: &str,
    cmd: Vec<String>,
    timeout: Duration,
) -> Result<ExecOutput, EngineError> {
    exec_with_env(host, name, cmd, Vec::new(), timeout).await
}

/// [`exec`] with `env` (`NAME=value`) added to the exec's environment: how secrets reach a
/// command without being on its command line (which dockerd shows in `docker inspect`, and
/// messages here show).
pub(super) async fn exec_with_env(
    host: &DockerHost,
    name: &str,
    cmd: Vec<String>,
    env: Vec<String>,
    timeout: Duration,
) -> Result<ExecOutput, EngineError> {
    let command = cmd.join(" ");
    let op = || host.op(format!("exec `{command}` in {name}"));
    match tokio::time::timeout(timeout, exec_unbounded(host, name, cmd, env)).await {
        Ok(result) => result,
        Err(_) => Err(EngineError::Timeout {
            op: op(),
            seconds: timeout.as_secs(),
            detail: "the command did not finish (it may still run inside the container)"
                .to_string(),
        }),
    }
}

async fn exec_unbounded(
    host: &DockerHost,
    name: &str,
    cmd: Vec<String>,
    env: Vec<String>,
) -> Result<ExecOutput, EngineError> {
    let docker = host.client().await?;
    let what = format!("exec `{}` in {name}", cmd.join(" "));
    let (id, started) = start_attached_exec(host, name, cmd, env, false, &what).await?;
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    if let StartExecResults::Attached { mut output, .. } = started {
        while let Some(chunk) = output.next().await {
            match chunk.map_err(host.fail(&what))? {
                bollard::container::LogOutput::StdErr { message } => {
                    stderr.extend_from_slice(&message)
                }
                other => stdout.extend_from_slice(&other.into_bytes()),
            }
        }
    }
    let inspected = docker.inspect_exec(&id).await.map_err(host.fail(&what))?;
    Ok(ExecOutput {
        // The exit code is only missing while the process runs; the stream ended, so it did not.
        exit_code: inspected.exit_code.unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    })
}

/// Creates and starts an exec of `cmd` in container `name` with `env` added to its environment,
/// attached to its output (and its stdin with `stdin`); returns the exec's ID, for its exit code, and the attached streams.
pub(super) async fn start_attached_exec(
    host: &DockerHost,
    name: &str,
    cmd: Vec<String>,
    env: Vec<String>,
    stdin: bool,
    what: &str,
) -> Result<(String, StartExecResults), EngineError> {
    let docker = host.client().await?;
    let config = ExecConfig {
        attach_stdin: Some(stdin),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        cmd: Some(cmd),
        env: (!env.is_empty()).then_some(env),
        ..ExecConfig::default()
    };
    let created = docker
        .create_exec(name, config)
        .await
        .map_err(host.fail(what))?;
    let started = docker
        .start_exec(
            &created.id,
            Some(StartExecOptions {
                detach: false,
                tty: false,
                output_capacity: None,
            }),
        )
        .await
        .map_err(host.fail(what))?;
    Ok((created.id, started))
}

pub(super) async fn ip(
    host: &DockerHost,
    name: &str,
    network: &str,
) -> Result<Option<String>, EngineError> {
    let docker = host.client().await?;
    let inspected = docker
        .inspect_container(name, None)
        .await
        .map_err(host.fail(format!("inspect container {name}")))?;
    Ok(inspected
        .network_settings
        .and_then(|s| s.networks)
        .and_then(|mut n| n.remove(network))
        .and_then(|e| e.ip_address)
        .filter(|ip| !ip.is_empty()))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn spec(profile: Option<NodeProfile>) -> ContainerSpec {
        ContainerSpec {
            name: "demo-local-1".into(),
            hostname: "demo-local-1".into(),
            image: "sis-node:test".into(),
            cmd: vec![],
            labels: BTreeMap::from([("sis.cluster".into(), "demo".into())]),
            network: Some("ring2net".into()),
            profile,
            publish: vec![(8500, 8501)],
            ipv4_address: None,
            restart_unless_stopped: false,
        }
    }

    #[test]
    fn the_capability_profile_unconfines_system_paths_with_empty_lists() {
        let body = create_body(&spec(Some(NodeProfile::Capabilities {
            cap_drop: vec!["SYS_RESOURCE".into()],
        })));
        let json = serde_json::to_value(&body).unwrap();
        let host = &json["HostConfig"];
        assert_eq!(host["CapAdd"], serde_json::json!(["ALL"]));
        assert_eq!(host["CapDrop"], serde_json::json!(["SYS_RESOURCE"]));
        assert_eq!(host["MaskedPaths"], serde_json::json!([]));
        assert_eq!(host["ReadonlyPaths"], serde_json::json!([]));
        assert_eq!(host["DeviceCgroupRules"], serde_json::json!(["a *:* rwm"]));
        assert!(host.get("Privileged").is_none());
        assert!(!host["SecurityOpt"].to_string().contains("systempaths"));
        assert_eq!(json["Volumes"], serde_json::json!({"/var/lib/docker": {}}));
        assert!(json["Cmd"].is_null(), "an empty cmd keeps the image's");
    }

    #[test]
    fn ordinary_containers_get_no_node_volume_and_publish_their_ports() {
        let json = serde_json::to_value(create_body(&spec(None))).unwrap();
        assert!(json.get("Volumes").is_none());
        assert_eq!(json["ExposedPorts"], serde_json::json!({"8501/tcp": {}}));
        assert_eq!(
            json["HostConfig"]["PortBindings"]["8501/tcp"][0]["HostPort"],
            "8500"
        );
        assert!(json["NetworkingConfig"]["EndpointsConfig"]["ring2net"].is_object());
    }
}
