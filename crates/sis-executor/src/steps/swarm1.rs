//! swarm1: the hosts' own swarm.

use std::collections::BTreeMap;

use sis_engine::{EngineError, HostEngine};
use sis_types::{labels, Role};

use crate::execute::Pass;

pub(crate) async fn init<E: HostEngine>(
    pass: &Pass<'_, E>,
    host: &str,
    advertise_addr: Option<&str>,
) -> Result<(), EngineError> {
    // The mark that lets `sis destroy --swarm1` tell this swarm from one it must not leave.
    let created_by = BTreeMap::from([(
        labels::SWARM1_CREATED_BY.to_string(),
        pass.cluster.to_string(),
    )]);
    pass.engine(host)?
        .swarm1_init(advertise_addr, created_by)
        .await
}

pub(crate) async fn leave<E: HostEngine>(
    pass: &Pass<'_, E>,
    host: &str,
    force: bool,
) -> Result<(), EngineError> {
    pass.engine(host)?.swarm1_leave(force).await
}

/// Joins `host` to the swarm1 of `manager_host`, at the address that manager reports.
pub(crate) async fn join<E: HostEngine>(
    pass: &Pass<'_, E>,
    host: &str,
    manager_host: &str,
    role: Role,
    advertise_addr: Option<String>,
) -> Result<(), EngineError> {
    let manager = pass.engine(manager_host)?;
    let token = manager.swarm1_join_token(role).await?;
    let facts = manager.observe(pass.cluster, pass.network).await?;
    let addr = facts.swarm1.node_addr.ok_or_else(|| {
        EngineError::Other(format!(
            "host {manager_host} reports no swarm1 address to join to"
        ))
    })?;
    pass.engine(host)?
        .swarm1_join(vec![format!("{addr}:2377")], token, advertise_addr)
        .await
}
