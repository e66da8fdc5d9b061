//! ring2net, the overlay network of swarm1 that the nodes are attached to.

use std::collections::BTreeMap;

use ipnet::Ipv4Net;
use sis_engine::{EngineError, HostEngine};
use sis_types::labels;

use crate::execute::Pass;

pub(crate) async fn create<E: HostEngine>(
    pass: &Pass<'_, E>,
    host: &str,
    name: &str,
    subnet: &Ipv4Net,
    ip_range: Option<Ipv4Net>,
) -> Result<(), EngineError> {
    let labels = BTreeMap::from([(labels::CLUSTER.to_string(), pass.cluster.to_string())]);
    pass.engine(host)?
        .create_network_in(name, *subnet, ip_range, labels)
        .await
}

pub(crate) async fn remove<E: HostEngine>(
    pass: &Pass<'_, E>,
    host: &str,
    name: &str,
) -> Result<(), EngineError> {
    pass.engine(host)?.remove_network(name).await
}
