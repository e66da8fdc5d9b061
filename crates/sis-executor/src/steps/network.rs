//! ring2net, the overlay network of swarm1 that the nodes are attached to.

use std::collections::BTreeMap;

use sis_engine::{EngineError, HostEngine, NetworkAddressing};
use sis_types::labels;

use crate::execute::Pass;

pub(crate) async fn create<E: HostEngine>(
    pass: &Pass<'_, E>,
    host: &str,
    name: &str,
    addressing: NetworkAddressing,
) -> Result<(), EngineError> {
    let labels = BTreeMap::from([(labels::CLUSTER.to_string(), pass.cluster.to_string())]);
    pass.engine(host)?
        .create_network(name, addressing, labels)
        .await
}

pub(crate) async fn remove<E: HostEngine>(
    pass: &Pass<'_, E>,
    host: &str,
    name: &str,
) -> Result<(), EngineError> {
    pass.engine(host)?.remove_network(name).await
}
