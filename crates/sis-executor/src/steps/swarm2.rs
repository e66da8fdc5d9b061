//! swarm2, the nodes' swarm: made on its first manager, joined, reshaped, shrunk. Every
//! operation is the engine's; join tokens are fetched here once per pass and never shown.

use std::net::Ipv4Addr;

use sis_engine::{EngineError, HostEngine, JoinOutcome};
use sis_types::Role;

use crate::events::{Milestone, Outcome, Progress};
use crate::execute::Pass;
use crate::steps::nodes::milestone;

pub(crate) async fn init<E: HostEngine>(
    pass: &Pass<'_, E>,
    host: &str,
    node: &str,
    address: Ipv4Addr,
    progress: &dyn Progress,
) -> Result<(), EngineError> {
    let engine = pass.engine(host)?;
    engine.swarm2_init(node, &address.to_string()).await?;
    milestone(progress, node, Milestone::Joined);
    Ok(())
}

/// `swarm init --force-new-cluster` on the surviving manager `node`, on its ring2net address.
pub(crate) async fn repair<E: HostEngine>(
    pass: &Pass<'_, E>,
    host: &str,
    node: &str,
    address: Ipv4Addr,
) -> Result<(), EngineError> {
    pass.engine(host)?
        .swarm2_repair(node, &address.to_string())
        .await
}

pub(crate) async fn set_ingress<E: HostEngine>(
    pass: &Pass<'_, E>,
    manager_host: &str,
    manager: &str,
    enabled: bool,
) -> Result<(), EngineError> {
    pass.engine(manager_host)?
        .swarm2_set_ingress(manager, enabled)
        .await
}

/// The node to join, and the manager it joins through.
pub(crate) struct Join<'a> {
    pub host: &'a str,
    pub node: &'a str,
    pub role: Role,
    pub manager: &'a str,
    pub manager_host: &'a str,
    /// The node's fixed ring2net address, which it advertises and listens on.
    pub address: Ipv4Addr,
    pub manager_address: Ipv4Addr,
}

pub(crate) async fn join<E: HostEngine>(
    pass: &Pass<'_, E>,
    join: Join<'_>,
    progress: &dyn Progress,
) -> Result<Outcome, EngineError> {
    let Join {
        host,
        node,
        role,
        manager,
        manager_host,
        address,
        manager_address,
    } = join;
    let engine = pass.engine(host)?;
    // No look at the node's own state first: one exec less per node; the engine asks it
    // only when dockerd refuses because the node is in a swarm already.
    let token = {
        let mut tokens = pass.tokens.lock().await;
        let key = (manager.to_string(), role);
        if let Some(cached) = tokens.get(&key) {
            cached.clone()
        } else {
            let manager_engine = pass.engine(manager_host)?;
            let token = manager_engine.swarm2_join_token(manager, role).await?;
            tokens.insert(key, token.clone());
            token
        }
    };
    let manager_addr = manager_address.to_string();
    let advertise_addr = address.to_string();
    let mut outcome = engine
        .swarm2_join(node, &token, &manager_addr, &advertise_addr)
        .await?;
    if let JoinOutcome::Member {
        node_id,
        manager: is_manager,
    } = &outcome
    {
        let listed = pass
            .engine(manager_host)?
            .swarm2_node_list(manager)
            .await?
            .iter()
            .any(|e| e.id == *node_id);
        if !listed {
            // Its entry was removed (by hand, or as a ghost while its join was slow): it
            // keeps believing it is a member, and every join is refused. A worker leaves
            // and joins again; a manager is not made to leave (that could cost the quorum).
            if *is_manager {
                return Err(EngineError::Other(format!(
                    "node {node} says it is a swarm2 manager (ID {node_id}), but swarm2 lists no such node; \
                     remove its container (docker rm -f {node}) and apply again"
                )));
            }
            tracing::info!(node = %node, node_id = %node_id, "swarm2 lists no entry for the node's ID: it leaves and joins again");
            engine.swarm2_leave(node).await?;
            outcome = engine
                .swarm2_join(node, &token, &manager_addr, &advertise_addr)
                .await?;
            if let JoinOutcome::Member { node_id, .. } = &outcome {
                return Err(EngineError::Other(format!(
                    "node {node} still says it is a swarm2 member (ID {node_id}) after leaving; \
                     remove its container (docker rm -f {node}) and apply again"
                )));
            }
        }
    }
    match outcome {
        JoinOutcome::Joined | JoinOutcome::Member { .. } => {
            milestone(progress, node, Milestone::Joined);
            Ok(Outcome::Done)
        }
        JoinOutcome::Pending => Ok(Outcome::Pending(format!(
            "node {node}: the join goes on in the background"
        ))),
        JoinOutcome::AlreadyMember { managers } => Err(EngineError::Other(format!(
            "node {node} is a member of another swarm (managers: {}), not of swarm2; \
             remove its container (sis destroy, or docker rm -f {node}) and apply again",
            managers.join(", ")
        ))),
    }
}

/// Promotes (`Role::Manager`) or demotes (`Role::Worker`) `node`, on `manager`.
pub(crate) async fn set_role<E: HostEngine>(
    pass: &Pass<'_, E>,
    manager_host: &str,
    manager: &str,
    node: &str,
    role: Role,
) -> Result<(), EngineError> {
    pass.engine(manager_host)?
        .swarm2_set_role(manager, node, role)
        .await
}

pub(crate) async fn leave<E: HostEngine>(
    pass: &Pass<'_, E>,
    host: &str,
    node: &str,
) -> Result<(), EngineError> {
    pass.engine(host)?.swarm2_leave(node).await
}

pub(crate) async fn remove_entry<E: HostEngine>(
    pass: &Pass<'_, E>,
    manager_host: &str,
    manager: &str,
    node_id: &str,
) -> Result<(), EngineError> {
    pass.engine(manager_host)?
        .swarm2_node_rm(manager, node_id)
        .await
}
