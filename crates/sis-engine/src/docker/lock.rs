//! The apply lock: a container that is created and never started.
//!
//! dockerd reserves container names atomically: of ten concurrent creates with one name,
//! one gets 201 and nine get 409. Networks do not do that on dockerd 20.10: ten concurrent
//! creates of one name (even with `CheckDuplicate`) made up to ten networks. Volumes are
//! idempotent by name, so they cannot tell the second creator either.

use std::collections::BTreeMap;

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, RemoveContainerOptionsBuilder,
};
use futures::StreamExt;
use sis_types::{labels, ImageRef};

use super::network::unsorted;
use super::{is_status, DockerHost};
use crate::{EngineError, LockHolder, LockOutcome};

/// The image of lock containers: empty, imported on the host when missing (no registry
/// needed). A container needs an image, and this one has no other use.
pub const LOCK_IMAGE: &str = "sis-lock:1";
/// The label holding who took the lock.
pub const LOCK_OWNER_LABEL: &str = "sis.lock-owner";

/// An empty tar archive: two zero blocks.
const EMPTY_TAR: [u8; 1024] = [0; 1024];

/// Creating the lock races with its release by the holder; try a few times.
const ATTEMPTS: usize = 3;

pub(super) async fn acquire(
    host: &DockerHost,
    name: &str,
    owner: &str,
    mut lock_labels: BTreeMap<String, String>,
) -> Result<LockOutcome, EngineError> {
    ensure_lock_image(host).await?;
    let docker = host.client().await?;
    lock_labels.insert(LOCK_OWNER_LABEL.to_string(), owner.to_string());
    for _ in 0..ATTEMPTS {
        let body = ContainerCreateBody {
            image: Some(LOCK_IMAGE.to_string()),
            labels: Some(unsorted(&lock_labels)),
            host_config: Some(HostConfig {
                network_mode: Some("none".to_string()),
                ..HostConfig::default()
            }),
            ..ContainerCreateBody::default()
        };
        let options = CreateContainerOptionsBuilder::new().name(name).build();
        let e = match docker.create_container(Some(options), body).await {
            Ok(created) => return Ok(LockOutcome::Acquired { id: created.id }),
            Err(e) if is_status(&e, 409) => e,
            Err(e) => return Err(host.fail(format!("take lock {name}"))(e)),
        };
        match holder(host, name).await? {
            Some(held) => return Ok(LockOutcome::Held(held)),
            // Released between our create and inspect: try again.
            None => tracing::debug!("lock {name} was released meanwhile: {e}"),
        }
    }
    Err(EngineError::Other(format!(
        "lock {name} on {} was taken and released {ATTEMPTS} times while sis tried to take it; \
         another run is starting and stopping: try again",
        host.inner.endpoint
    )))
}

pub(super) async fn holder(
    host: &DockerHost,
    name: &str,
) -> Result<Option<LockHolder>, EngineError> {
    let docker = host.client().await?;
    let held = match docker.inspect_container(name, None).await {
        Ok(held) => held,
        Err(e) if is_status(&e, 404) => return Ok(None),
        Err(e) => return Err(host.fail(format!("inspect lock {name}"))(e)),
    };
    let labels: BTreeMap<String, String> = held
        .config
        .and_then(|c| c.labels)
        .unwrap_or_default()
        .into_iter()
        .collect();
    Ok(Some(LockHolder {
        id: held.id.unwrap_or_else(|| name.to_string()),
        owner: labels
            .get(LOCK_OWNER_LABEL)
            .cloned()
            .unwrap_or_else(|| format!("an unknown owner (no {LOCK_OWNER_LABEL} label)")),
        since: held.created.unwrap_or_default(),
        labels,
    }))
}

pub(super) async fn release(host: &DockerHost, id: &str) -> Result<(), EngineError> {
    let docker = host.client().await?;
    let options = RemoveContainerOptionsBuilder::new().force(true).build();
    match docker.remove_container(id, Some(options)).await {
        Ok(()) => Ok(()),
        Err(e) if is_status(&e, 404) => Ok(()),
        Err(e) => Err(host.fail(format!("release lock {id}"))(e)),
    }
}

pub(super) async fn ensure_lock_image(host: &DockerHost) -> Result<(), EngineError> {
    let docker = host.client().await?;
    match docker.inspect_image(LOCK_IMAGE).await {
        Ok(_) => return Ok(()),
        Err(e) if is_status(&e, 404) => {}
        Err(e) => return Err(host.fail(format!("inspect image {LOCK_IMAGE}"))(e)),
    }
    let reference = ImageRef::parse(LOCK_IMAGE);
    let (repo, tag) = reference.pull_parts();
    let options = CreateImageOptionsBuilder::new()
        .from_src("-")
        .repo(&repo)
        .tag(tag)
        .changes(vec![
            r#"CMD ["lock"]"#.to_string(),
            format!("LABEL {}={}", labels::ROLE, labels::ROLE_LOCK),
        ])
        .build();
    let body = bollard::body_full(bytes::Bytes::from_static(&EMPTY_TAR));
    let mut import = docker.create_image(Some(options), Some(body), None);
    while let Some(item) = import.next().await {
        item.map_err(host.fail(format!("import the empty image {LOCK_IMAGE}")))?;
    }
    Ok(())
}
