//! What fault injection needs beyond [`crate::HostEngine`]: stopping, killing, pausing a
//! container, and listing the fault markers. Inherent methods of [`DockerHost`], so the
//! engine trait (and its fake) stay as they are: faults are only ever tried on real engines.

use std::collections::BTreeMap;

use bollard::query_parameters::{KillContainerOptionsBuilder, StopContainerOptionsBuilder};

use super::observe::labelled;
use super::{is_status, DockerHost};
use crate::EngineError;

/// A container found by a label, as fault healing needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledContainer {
    pub id: String,
    pub name: String,
    /// Docker's state: `created`, `running`, `paused`, `exited`, …
    pub state: String,
    pub labels: BTreeMap<String, String>,
    /// Creation time, seconds since the epoch.
    pub created: i64,
}

impl DockerHost {
    /// `docker kill` (SIGKILL). A container that is not running counts as done.
    pub async fn kill_container(&self, name: &str) -> Result<(), EngineError> {
        let docker = self.client().await?;
        let options = KillContainerOptionsBuilder::new().signal("KILL").build();
        match docker.kill_container(name, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) if is_status(&e, 409) => Ok(()),
            Err(e) => Err(self.fail(format!("kill {name}"))(e)),
        }
    }

    /// `docker stop` with `grace_secs` before SIGKILL. A stopped container counts as done.
    pub async fn stop_container(&self, name: &str, grace_secs: i32) -> Result<(), EngineError> {
        let docker = self.client().await?;
        let options = StopContainerOptionsBuilder::new().t(grace_secs).build();
        match docker.stop_container(name, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) if is_status(&e, 304) => Ok(()),
            Err(e) => Err(self.fail(format!("stop {name}"))(e)),
        }
    }

    /// `docker restart` with `grace_secs` before SIGKILL.
    pub async fn restart_container(&self, name: &str, grace_secs: i32) -> Result<(), EngineError> {
        let docker = self.client().await?;
        let options = bollard::query_parameters::RestartContainerOptionsBuilder::new()
            .t(grace_secs)
            .build();
        docker
            .restart_container(name, Some(options))
            .await
            .map_err(self.fail(format!("restart {name}")))
    }

    /// `docker pause` (the cgroup freezer). A paused container counts as done.
    ///
    /// An exec that is starting in the container when it freezes (another sis's `docker node
    /// ls`, a `sis watch` sample) leaves its `runc init` frozen half-way, and Docker 20.10 then
    /// hangs every later call on that container, `unpause` and `rm -f` included (seen in the
    /// chaos e2e test; docker/for-linux#891). So the freeze waits, up to 10 s, until no exec
    /// runs in the container; the window left is the few milliseconds between that look and
    /// the freeze.
    pub async fn pause_container(&self, name: &str) -> Result<(), EngineError> {
        let docker = self.client().await?;
        let quiet_by = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let execs = docker
                .inspect_container(name, None)
                .await
                .map(|c| c.exec_ids.unwrap_or_default().len())
                .unwrap_or(0);
            if execs == 0 || tokio::time::Instant::now() >= quiet_by {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        match docker.pause_container(name).await {
            Ok(()) => Ok(()),
            Err(e) if is_status(&e, 409) && e.to_string().contains("already paused") => Ok(()),
            Err(e) => Err(self.fail(format!("pause {name}"))(e)),
        }
    }

    /// `docker unpause`. A container that is not paused counts as done.
    pub async fn unpause_container(&self, name: &str) -> Result<(), EngineError> {
        let docker = self.client().await?;
        match docker.unpause_container(name).await {
            Ok(()) => Ok(()),
            Err(e) if is_status(&e, 409) || is_status(&e, 404) => Ok(()),
            Err(e) => Err(self.fail(format!("unpause {name}"))(e)),
        }
    }

    /// The containers labelled `key=value`, in every state.
    pub async fn labelled_containers(
        &self,
        key: &str,
        value: &str,
    ) -> Result<Vec<LabelledContainer>, EngineError> {
        let list = labelled(
            self,
            key,
            value,
            &format!("list containers labelled {key}={value}"),
        )
        .await?;
        Ok(list
            .into_iter()
            .map(|c| LabelledContainer {
                id: c.id.unwrap_or_default(),
                name: c
                    .names
                    .unwrap_or_default()
                    .first()
                    .map(|n| n.trim_start_matches('/').to_string())
                    .unwrap_or_default(),
                state: c.state.map(|s| s.to_string()).unwrap_or_default(),
                labels: c.labels.unwrap_or_default().into_iter().collect(),
                created: c.created.unwrap_or_default(),
            })
            .collect())
    }
}
