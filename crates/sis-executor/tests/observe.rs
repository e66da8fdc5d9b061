//! Observing swarm2 follows the spec's mode: swarm mode asks the running nodes for swarm2's
//! node list; classic mode asks its manager's view from inside a running node.

use std::collections::BTreeMap;
use std::sync::Arc;

use sis_engine::fake::{FakeContainer, FakeHost, Op};
use sis_executor::{observe, Hosts};
use sis_spec::Spec;
use sis_types::labels;

fn spec(swarm2: &str) -> Spec {
    let text = format!(
        "version: 1\nname: demo\nhosts:\n  - {{name: h1, endpoint: 'tcp://10.0.0.1:2375', nodes: 1}}\n\
         network: {{name: ring2net, subnet: 10.9.0.0/16}}\nkvstore: {{kind: consul, host: h1}}\n\
         swarm2: {{image: sis-node:test, {swarm2}}}\n"
    );
    sis_spec::parse_str("cluster.yaml", &text).expect("valid spec")
}

/// One host running node 1 of cluster demo.
fn hosts() -> Hosts<FakeHost> {
    let host = FakeHost::new("fake://h1");
    let labels = BTreeMap::from([
        (labels::CLUSTER.to_string(), "demo".to_string()),
        (labels::ROLE.to_string(), labels::ROLE_NODE.to_string()),
        (labels::INDEX.to_string(), "1".to_string()),
    ]);
    host.state().containers.insert(
        labels::node_name("demo", "h1", 1),
        FakeContainer {
            image: "sis-node:test".to_string(),
            state: "running".to_string(),
            labels,
            network: None,
            ip: None,
        },
    );
    BTreeMap::from([("h1".to_string(), Arc::new(host))])
}

/// The operations observing made on the host, beyond listing it.
fn beyond_listing(host: &FakeHost) -> Vec<Op> {
    let calls = host.calls().into_iter().map(|c| c.op);
    calls.filter(|op| *op != Op::Observe).collect()
}

#[tokio::test]
async fn swarm_mode_asks_the_running_nodes() {
    let hosts = hosts();
    observe(&spec("mode: swarm"), &hosts).await;
    assert_ne!(beyond_listing(&hosts["h1"]), []);
}

#[tokio::test]
async fn classic_mode_asks_its_manager_through_a_node() {
    let hosts = hosts();
    let observed = observe(&spec("mode: classic"), &hosts).await;
    let asked = beyond_listing(&hosts["h1"]);
    assert!(
        !asked.is_empty() && asked.iter().all(|op| *op == Op::Exec),
        "{asked:?}"
    );
    assert_eq!(observed.swarm2, None);
    assert_eq!(observed.classic.unwrap().via, "demo.h1-1");
}
