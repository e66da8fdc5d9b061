//! The K/V store container, with the command the plan resolved for its kind.

use std::collections::BTreeMap;

use sis_engine::{ContainerSpec, EngineError, HostEngine};
use sis_types::labels;

use crate::execute::Pass;

pub(crate) async fn create<E: HostEngine>(
    pass: &Pass<'_, E>,
    host: &str,
    name: &str,
    image: &str,
    cmd: &[String],
    network: &str,
    address: Option<std::net::Ipv4Addr>,
) -> Result<(), EngineError> {
    let spec = ContainerSpec {
        name: name.to_string(),
        hostname: name.to_string(),
        image: image.to_string(),
        cmd: cmd.to_vec(),
        labels: BTreeMap::from([
            (labels::CLUSTER.to_string(), pass.cluster.to_string()),
            (labels::ROLE.to_string(), labels::ROLE_KVSTORE.to_string()),
            (labels::HOST.to_string(), host.to_string()),
        ]),
        network: Some(network.to_string()),
        profile: None,
        publish: Vec::new(),
        ipv4_address: address,
    };
    pass.engine(host)?.run_container(&spec).await
}

pub(crate) async fn remove<E: HostEngine>(
    pass: &Pass<'_, E>,
    host: &str,
    name: &str,
) -> Result<(), EngineError> {
    pass.engine(host)?
        .remove_container_of(pass.cluster, name)
        .await
}
