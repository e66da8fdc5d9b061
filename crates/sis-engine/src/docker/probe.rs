//! Short-lived probe containers: how sis reads what only the host shows (its capability
//! bounding set, its kernel limits, its disk) through the Docker API, so remote hosts are
//! read as the local one.

use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, CreateContainerOptions, RemoveContainerOptionsBuilder,
};
use futures::StreamExt;

use super::{is_status, DockerHost};
use crate::EngineError;
use sis_types::labels;

/// How old a probe container that never ran (or ended and stayed) must be before a later
/// probe removes it: a younger one may be another sis process's, between its create and
/// its start.
const LEFT_AFTER_SECS: i64 = 120;

/// Removes the probe containers of `role` (`sis.role`) that an earlier run left behind on a
/// swamped engine — one whose create answered too late to be removed, or whose start timed
/// out — when they are `created` or `exited` and older than [`LEFT_AFTER_SECS`]. Best effort:
/// a failure only leaves them for the next probe.
pub(super) async fn sweep(host: &DockerHost, role: &str) {
    let Ok(found) = super::observe::labelled(host, labels::ROLE, role, "list earlier probes").await
    else {
        return;
    };
    let Ok(docker) = host.client().await else {
        return;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let remove = RemoveContainerOptionsBuilder::new()
        .force(true)
        .v(true)
        .build();
    for c in found {
        let left = matches!(
            c.state,
            Some(bollard::models::ContainerSummaryStateEnum::CREATED)
                | Some(bollard::models::ContainerSummaryStateEnum::EXITED)
        );
        let old = c.created.is_some_and(|t| now - t > LEFT_AFTER_SECS);
        if let (true, true, Some(id)) = (left, old, c.id) {
            tracing::info!(
                "removing the {role} container {id} an earlier run left on {}",
                host.inner.endpoint
            );
            if let Err(e) = docker.remove_container(&id, Some(remove.clone())).await {
                tracing::debug!("removing the left {role} {id}: {e}");
            }
        }
    }
}

/// Creates a container from `config`, attaches to it before it starts (so no output is lost),
/// runs it to its end and returns what it printed on stdout and stderr. The container is
/// removed, with its anonymous volumes, whether it ran or not. `what` names it in errors
/// (e.g. `capability probe`).
pub(super) async fn run(
    host: &DockerHost,
    what: &str,
    config: ContainerCreateBody,
) -> Result<String, EngineError> {
    let docker = host.client().await?;
    if let Some(role) = config.labels.as_ref().and_then(|l| l.get(labels::ROLE)) {
        sweep(host, role).await;
    }
    let image = config.image.clone().unwrap_or_default();
    let id = docker
        .create_container(None::<CreateContainerOptions>, config)
        .await
        .map_err(host.fail(format!("create {what} from {image}")))?
        .id;
    let result = async {
        let attach = docker
            .attach_container(
                &id,
                Some(
                    AttachContainerOptionsBuilder::new()
                        .stdout(true)
                        .stderr(true)
                        .stream(true)
                        .logs(true)
                        .build(),
                ),
            )
            .await
            .map_err(host.fail(format!("attach {what}")))?;
        docker
            .start_container(&id, None)
            .await
            .map_err(host.fail(format!("start {what} from {image}")))?;
        let mut output = String::new();
        let mut stream = attach.output;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(host.fail(format!("read {what}")))?;
            output.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        }
        Ok(output)
    }
    .await;
    // Auto-removal covers a probe that ran; one that failed to start is removed here.
    // Either may come first; both remove the anonymous volumes the image may declare.
    let remove = RemoveContainerOptionsBuilder::new()
        .force(true)
        .v(true)
        .build();
    if let Err(e) = docker.remove_container(&id, Some(remove)).await {
        if !is_status(&e, 404) && !is_status(&e, 409) {
            tracing::debug!("removing {what} {id}: {e}");
        }
    }
    result
}
