//! The K/V store container, with the command the plan resolved for its kind.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use sis_engine::{ContainerSpec, EngineError, HostEngine};
use sis_types::labels;

use crate::execute::Pass;

/// The K/V store as the plan resolved it.
pub(crate) struct NewKvStore<'a> {
    pub host: &'a str,
    pub name: &'a str,
    pub image: &'a str,
    pub cmd: &'a [String],
    pub network: &'a str,
    pub address: Ipv4Addr,
}

pub(crate) async fn create<E: HostEngine>(
    pass: &Pass<'_, E>,
    kv: NewKvStore<'_>,
) -> Result<(), EngineError> {
    let NewKvStore {
        host,
        name,
        image,
        cmd,
        network,
        address,
    } = kv;
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
        ipv4_address: Some(address),
        // Back by itself after its host's dockerd restarts, as the nodes (see
        // docs/design.md, "Addresses and restarts").
        restart_unless_stopped: true,
    };
    pass.engine(host)?.run_container(&spec).await
}
