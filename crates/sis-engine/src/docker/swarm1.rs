//! swarm1 (the hosts' own swarm) and images.

use std::collections::BTreeMap;
use std::time::Duration;

use bollard::models::{SwarmInitRequest, SwarmJoinRequest, SwarmSpec};
use bollard::query_parameters::{CreateImageOptionsBuilder, LeaveSwarmOptionsBuilder};
use sis_types::{ImageRef, LocalNodeState, Role, Swarm1Membership};

use super::images::PULL_STALL;
use super::DockerHost;
use crate::error::message;
use crate::EngineError;

const LISTEN_ADDR: &str = "0.0.0.0:2377";
/// How long to wait for a join that dockerd goes on with in the background.
const BACKGROUND_JOIN: Duration = Duration::from_secs(60);

/// The engine's current place in a swarm.
async fn membership(host: &DockerHost) -> Result<Swarm1Membership, EngineError> {
    let docker = host.client().await?;
    let info = docker.info().await.map_err(host.fail("read engine info"))?;
    let swarm = info.swarm.unwrap_or_default();
    Ok(Swarm1Membership {
        state: swarm
            .local_node_state
            .map(|s| s.to_string())
            .unwrap_or_default()
            .into(),
        node_id: swarm.node_id,
        cluster_id: swarm.cluster.and_then(|c| c.id),
        is_manager: swarm.control_available.unwrap_or(false),
        node_addr: swarm.node_addr,
        managers: swarm
            .remote_managers
            .into_iter()
            .flatten()
            .filter_map(|m| m.addr)
            .collect(),
        // Not needed where membership is asked (init and join outcomes): no swarm inspect.
        created_by: None,
    })
}

pub(super) async fn init(
    host: &DockerHost,
    advertise_addr: Option<&str>,
    labels: BTreeMap<String, String>,
) -> Result<(), EngineError> {
    let docker = host.client().await?;
    // dockerd fills every setting a spec leaves at zero with its defaults, as for an init
    // without a spec (checked against 20.10: raft, dispatcher, CA and orchestration
    // settings are the same), so a spec with only labels changes nothing else.
    let spec = (!labels.is_empty()).then(|| SwarmSpec {
        labels: Some(labels.into_iter().collect()),
        ..SwarmSpec::default()
    });
    let request = SwarmInitRequest {
        listen_addr: Some(LISTEN_ADDR.to_string()),
        advertise_addr: advertise_addr.map(str::to_string),
        spec,
        ..SwarmInitRequest::default()
    };
    let e = match docker.init_swarm(request).await {
        Ok(_) => return Ok(()),
        Err(e) => e,
    };
    let op = host.op("swarm init");
    if message(&e).contains("already part of a swarm") {
        // An earlier attempt got through, or the host was set up by hand: fine if this
        // engine manages the swarm, as init would have made it.
        let now = membership(host).await?;
        if now.is_manager {
            return Ok(());
        }
        return Err(EngineError::Hinted {
            op,
            hint: format!(
                "the engine is a worker of swarm {}; make it leave (`docker swarm leave`) or \
                 list this host as one that joins swarm1",
                now.cluster_id.unwrap_or_default()
            ),
            source: e,
        });
    }
    if message(&e).contains("could not choose an IP address") {
        return Err(EngineError::Hinted {
            op,
            hint: "the host has several addresses; set the host's `advertise_addr`".to_string(),
            source: e,
        });
    }
    Err(EngineError::Docker { op, source: e })
}

pub(super) async fn leave(host: &DockerHost, force: bool) -> Result<(), EngineError> {
    let docker = host.client().await?;
    let options = LeaveSwarmOptionsBuilder::new().force(force).build();
    let e = match docker.leave_swarm(Some(options)).await {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    // Left already: an earlier attempt got through, or someone else made it leave.
    if message(&e).contains("not part of a swarm") {
        return Ok(());
    }
    let op = host.op(if force {
        "swarm leave --force"
    } else {
        "swarm leave"
    });
    if !force && message(&e).contains("participating as a manager") {
        return Err(EngineError::Hinted {
            op,
            hint: "the engine became a swarm1 manager after the plan was made, and a manager \
                   leaves only with force; run `sis destroy --swarm1` again"
                .to_string(),
            source: e,
        });
    }
    Err(EngineError::Docker { op, source: e })
}

/// The cluster sis initialised the swarm for (the swarm's `sis.swarm1-created-by` label).
/// Only a manager can read the swarm's spec.
pub(super) async fn created_by(host: &DockerHost) -> Result<Option<String>, EngineError> {
    let docker = host.client().await?;
    let swarm = docker
        .inspect_swarm()
        .await
        .map_err(host.fail("read swarm1's labels (swarm inspect)"))?;
    Ok(swarm
        .spec
        .and_then(|s| s.labels)
        .and_then(|mut l| l.remove(sis_types::labels::SWARM1_CREATED_BY))
        .filter(|c| !c.is_empty()))
}

pub(super) async fn join_token(host: &DockerHost, role: Role) -> Result<String, EngineError> {
    let docker = host.client().await?;
    let swarm = docker
        .inspect_swarm()
        .await
        .map_err(host.fail("read swarm1's join tokens (this must be a manager)"))?;
    let tokens = swarm.join_tokens.unwrap_or_default();
    let token = match role {
        Role::Manager => tokens.manager,
        Role::Worker => tokens.worker,
    };
    token.filter(|t| !t.is_empty()).ok_or_else(|| {
        EngineError::Other(format!(
            "swarm1 on {} has no {role} join token",
            host.inner.endpoint
        ))
    })
}

pub(super) async fn join(
    host: &DockerHost,
    remote_addrs: Vec<String>,
    token: String,
    advertise_addr: Option<String>,
) -> Result<(), EngineError> {
    let docker = host.client().await?;
    let request = SwarmJoinRequest {
        listen_addr: Some(LISTEN_ADDR.to_string()),
        advertise_addr,
        remote_addrs: Some(remote_addrs.clone()),
        join_token: Some(token),
        ..SwarmJoinRequest::default()
    };
    let e = match docker.join_swarm(request).await {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    let op = host.op(format!("swarm join {}", remote_addrs.join(",")));
    let text = message(&e);
    if text.contains("Timeout was reached before node joined") {
        return wait_for_background_join(host, op).await;
    }
    if text.contains("already part of a swarm") {
        let now = membership(host).await?;
        if knows_a_manager(&now, &remote_addrs) {
            return Ok(());
        }
        return Err(EngineError::Hinted {
            op,
            hint: format!(
                "the engine is in another swarm ({}, managers {}); make it leave \
                 (`docker swarm leave`) first",
                now.cluster_id.unwrap_or_default(),
                now.managers.join(", ")
            ),
            source: e,
        });
    }
    Err(EngineError::Docker { op, source: e })
}

/// Whether the engine's swarm has one of `remote_addrs` among its managers (or is
/// itself one of them). Addresses without a port mean port 2377.
fn knows_a_manager(now: &Swarm1Membership, remote_addrs: &[String]) -> bool {
    let with_port = |a: &str| {
        if a.contains(':') {
            a.to_string()
        } else {
            format!("{a}:2377")
        }
    };
    let known: Vec<String> = now
        .managers
        .iter()
        .chain(now.node_addr.iter())
        .map(|a| with_port(a))
        .collect();
    remote_addrs.iter().any(|r| known.contains(&with_port(r)))
}

/// dockerd answers a slow join with a timeout and goes on joining; watch it finish.
async fn wait_for_background_join(host: &DockerHost, op: String) -> Result<(), EngineError> {
    let deadline = tokio::time::Instant::now() + BACKGROUND_JOIN;
    let mut state = LocalNodeState::default();
    while tokio::time::Instant::now() < deadline {
        let now = membership(host).await?;
        if now.is_active() {
            return Ok(());
        }
        state = now.state;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Err(EngineError::Timeout {
        op,
        seconds: BACKGROUND_JOIN.as_secs(),
        detail: format!(
            "the join goes on in the background; the engine's swarm state is still \"{state}\""
        ),
    })
}

pub(super) async fn pull_image(host: &DockerHost, image: &str) -> Result<(), EngineError> {
    let docker = host.client().await?;
    let reference = ImageRef::parse(image);
    let (repo, tag) = reference.pull_parts();
    let mut options = CreateImageOptionsBuilder::new().from_image(&repo);
    if !tag.is_empty() {
        options = options.tag(tag);
    }
    let mut progress = docker.create_image(Some(options.build()), None, None);
    let endpoint = &host.inner.endpoint;
    let stalled = || host.op(format!("pull image {image}"));
    while let Some(item) = super::images::next_or_stall(&mut progress, PULL_STALL, stalled).await? {
        match item {
            Ok(info) => {
                let status = info.status.unwrap_or_default();
                // Per-chunk progress would flood the log; state changes are enough.
                if status != "Downloading" && status != "Extracting" {
                    tracing::info!(%endpoint, %image, layer = info.id.unwrap_or_default(), "{status}");
                }
            }
            Err(e) => {
                return Err(EngineError::Hinted {
                    op: host.op(format!("pull image {image}")),
                    hint: format!(
                        "load the image on the host instead (`docker save {image} | docker -H \
                         HOST load`), or set `swarm2.image` to an image the host has"
                    ),
                    source: e,
                })
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_into_repo_and_tag() {
        let split = |image: &str| {
            let reference = ImageRef::parse(image);
            let (repo, tag) = reference.pull_parts();
            (repo, tag.to_string())
        };
        let pair = |repo: &str, tag: &str| (repo.to_string(), tag.to_string());
        assert_eq!(split("docker:dind"), pair("docker", "dind"));
        assert_eq!(split("consul"), pair("consul", "latest"));
        assert_eq!(
            split("localhost:5000/sis/node"),
            pair("localhost:5000/sis/node", "latest")
        );
        assert_eq!(
            split("localhost:5000/sis/node:1"),
            pair("localhost:5000/sis/node", "1")
        );
        assert_eq!(split("a@sha256:00"), pair("a@sha256:00", ""));
    }

    #[test]
    fn an_engine_in_the_swarm_of_the_given_managers_has_joined() {
        let now = Swarm1Membership {
            state: "active".into(),
            managers: vec!["192.168.1.10:2377".into()],
            ..Swarm1Membership::default()
        };
        assert!(knows_a_manager(&now, &["192.168.1.10".into()]));
        assert!(knows_a_manager(&now, &["192.168.1.10:2377".into()]));
        assert!(!knows_a_manager(&now, &["192.168.1.11:2377".into()]));
    }
}
