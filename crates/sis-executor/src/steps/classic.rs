//! Classic Swarm's containers: the `swarm manage` manager, published on its host, and a
//! `swarm join` agent per node. Both are ordinary containers on ring2net; the plan resolved
//! their commands.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use sis_engine::{ContainerSpec, EngineError, HostEngine};
use sis_types::labels;

use crate::execute::Pass;

/// The port the manager listens on inside its container.
const MANAGER_PORT: u16 = 2375;

/// The manager as the plan resolved it.
pub(crate) struct Manager<'a> {
    pub host: &'a str,
    pub name: &'a str,
    pub image: &'a str,
    pub cmd: &'a [String],
    pub network: &'a str,
    pub address: Ipv4Addr,
    pub publish: u16,
    pub spec_hash: &'a str,
}

/// An agent as the plan resolved it.
pub(crate) struct Agent<'a> {
    pub host: &'a str,
    pub name: &'a str,
    pub node: &'a str,
    pub index: u32,
    pub image: &'a str,
    pub cmd: &'a [String],
    pub network: &'a str,
    pub spec_hash: &'a str,
}

pub(crate) async fn create_manager<E: HostEngine>(
    pass: &Pass<'_, E>,
    m: Manager<'_>,
) -> Result<(), EngineError> {
    let spec = ContainerSpec {
        name: m.name.to_string(),
        hostname: m.name.to_string(),
        image: m.image.to_string(),
        cmd: m.cmd.to_vec(),
        labels: BTreeMap::from([
            (labels::CLUSTER.to_string(), pass.cluster.to_string()),
            (labels::ROLE.to_string(), labels::ROLE_MANAGER.to_string()),
            (labels::HOST.to_string(), m.host.to_string()),
            (labels::SPEC_HASH.to_string(), m.spec_hash.to_string()),
        ]),
        network: Some(m.network.to_string()),
        profile: None,
        publish: vec![(m.publish, MANAGER_PORT)],
        ipv4_address: Some(m.address),
        // Back after its host restarts, as the nodes and the K/V store.
        restart_unless_stopped: true,
    };
    pass.engine(m.host)?.run_container(&spec).await
}

pub(crate) async fn create_agent<E: HostEngine>(
    pass: &Pass<'_, E>,
    a: Agent<'_>,
) -> Result<(), EngineError> {
    let spec = ContainerSpec {
        name: a.name.to_string(),
        // The container name has dots beyond a hostname's first label; the agent needs none.
        hostname: String::new(),
        image: a.image.to_string(),
        cmd: a.cmd.to_vec(),
        labels: BTreeMap::from([
            (labels::CLUSTER.to_string(), pass.cluster.to_string()),
            (labels::ROLE.to_string(), labels::ROLE_AGENT.to_string()),
            (labels::HOST.to_string(), a.host.to_string()),
            (labels::INDEX.to_string(), a.index.to_string()),
            (labels::NODE.to_string(), a.node.to_string()),
            (labels::SPEC_HASH.to_string(), a.spec_hash.to_string()),
        ]),
        network: Some(a.network.to_string()),
        profile: None,
        publish: Vec::new(),
        ipv4_address: None,
        restart_unless_stopped: true,
    };
    pass.engine(a.host)?.run_container(&spec).await
}
