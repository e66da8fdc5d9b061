//! Observing a cluster: every host at once, then swarm2 through one of its managers.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::join_all;
use sis_engine::HostEngine;
use sis_spec::{Spec, Swarm2Mode};
use sis_types::{labels, HostObservation, Observed, Swarm2Observation};
use tracing::debug;

/// The engines of a cluster's hosts, by the spec's host name.
pub type Hosts<E> = BTreeMap<String, Arc<E>>;

/// Observes every host of `spec` concurrently, then swarm2. An unreachable host is recorded
/// as such (the planner refuses to plan with it); nothing is changed.
pub async fn observe<E: HostEngine>(spec: &Spec, hosts: &Hosts<E>) -> Observed {
    let looks = spec.hosts.iter().map(|h| async move {
        let engine = hosts.get(&h.name).expect("every spec host has an engine");
        let observation = match engine.observe(&spec.name, &spec.network.name).await {
            Ok(facts) => HostObservation::Reachable(Box::new(facts)),
            Err(e) => HostObservation::Unreachable {
                endpoint: engine.endpoint().to_string(),
                error: error_chain(&e),
            },
        };
        (h.name.clone(), observation)
    });
    let mut observed = Observed {
        cluster: spec.name.clone(),
        hosts: join_all(looks).await.into_iter().collect(),
        swarm2: None,
        classic: None,
    };
    // swarm2 is observed the way the spec's mode runs it; each mode fills its own field.
    match spec.swarm2.mode {
        Swarm2Mode::Swarm => observed.swarm2 = observe_swarm2(spec, hosts, &observed).await,
        Swarm2Mode::Classic => {
            observed.classic = crate::observe_classic::observe(spec, hosts, &observed).await
        }
    }
    observed
}

/// swarm mode: asks running nodes for swarm2's node list, the intended managers first, until one answers.
async fn observe_swarm2<E: HostEngine>(
    spec: &Spec,
    hosts: &Hosts<E>,
    observed: &Observed,
) -> Option<Swarm2Observation> {
    for (host, node) in swarm2_candidates(spec, observed) {
        let engine = &hosts[&host];
        match engine.swarm2_node_list(&node).await {
            Ok(nodes) => {
                let cluster_id = engine
                    .swarm2_local_state(&node)
                    .await
                    .ok()
                    .and_then(|s| s.cluster_id);
                let ingress = engine.swarm2_ingress(&node).await.ok();
                return Some(Swarm2Observation {
                    via: node,
                    cluster_id,
                    nodes,
                    ingress,
                });
            }
            Err(e) => debug!(node = %node, error = %e, "not a swarm2 manager"),
        }
    }
    None
}

/// Running node containers as `(host, name)`: the spec's manager slots first, then the rest
/// in host and index order.
fn swarm2_candidates(spec: &Spec, observed: &Observed) -> Vec<(String, String)> {
    let mut running = Vec::new();
    for h in &spec.hosts {
        let Some(facts) = observed.hosts.get(&h.name).and_then(|o| o.facts()) else {
            continue;
        };
        for c in &facts.containers {
            if c.label(labels::ROLE) == Some(labels::ROLE_NODE) && c.is_running() {
                let index: u32 = c
                    .label(labels::INDEX)
                    .and_then(|i| i.parse().ok())
                    .unwrap_or(0);
                running.push((h.name.clone(), index, c.name.clone()));
            }
        }
    }
    let slots: Vec<String> = sis_planner::manager_slots(spec)
        .into_iter()
        .map(|(host, index)| labels::node_name(&spec.name, &host, index))
        .collect();
    running.sort_by_key(|(host, index, name)| {
        let slot = slots.iter().position(|s| s == name).unwrap_or(usize::MAX);
        let host_pos = spec.hosts.iter().position(|h| &h.name == host);
        (slot, host_pos, *index)
    });
    running
        .into_iter()
        .map(|(host, _, name)| (host, name))
        .collect()
}

/// An error with its causes, on one line.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
