//! One module per kind of step: how each action is carried out through the engines. Each
//! takes the pass (engines, cluster, bounds) and the action's resolved values; none chooses
//! anything the plan has not said.

pub(crate) mod classic;
pub(crate) mod images;
pub(crate) mod kvstore;
pub(crate) mod network;
pub(crate) mod nodes;
pub(crate) mod swarm1;
pub(crate) mod swarm2;

use sis_engine::{EngineError, HostEngine};

use crate::execute::Pass;

/// Removes a container of this cluster (a node, the K/V store, an agent, the manager) with
/// its anonymous volumes; one without this cluster's label is refused, never removed.
pub(crate) async fn remove_container<E: HostEngine>(
    pass: &Pass<'_, E>,
    host: &str,
    name: &str,
) -> Result<(), EngineError> {
    pass.engine(host)?
        .remove_container_of(pass.cluster, name)
        .await
}
