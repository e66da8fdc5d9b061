//! Observing a cluster: every host at once, then swarm2 through one of its managers (or,
//! when none answers, through each node's own swarm state).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use futures::{stream, StreamExt};
use sis_engine::HostEngine;
use sis_spec::{Spec, Swarm2Mode};
use sis_types::{labels, HostObservation, Observed, Swarm2LocalObservation, Swarm2Observation};
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
        swarm2_locals: BTreeMap::new(),
        swarm2_unread: BTreeSet::new(),
        classic: None,
        kvstore: None,
    };
    // swarm2 is observed the way the spec's mode runs it; each mode fills its own field.
    match spec.swarm2.mode {
        Swarm2Mode::Swarm => observe_swarm2(spec, hosts, &mut observed).await,
        Swarm2Mode::Classic => {
            observed.classic = crate::observe_classic::observe(spec, hosts, &observed).await
        }
    }
    observed
}

/// Bounds on observing swarm2 (asking for the node list, then reading nodes' own states):
/// a manager that hangs must not hold the plan.
const ASK_TIMEOUT: Duration = Duration::from_secs(30);
const LOCAL_TIMEOUT: Duration = Duration::from_secs(20);

/// Nodes asked at once, so a large cluster does not storm its hosts.
const SWARM2_ASK_AT_ONCE: usize = 8;

/// swarm mode: asks running nodes for swarm2's node list, the spec's manager slots first and
/// concurrently, then the other running nodes; the first in that order that answers is used.
/// When none answers, each running node's own swarm state is recorded instead (with its raft
/// log time when it is a manager), so the planner can tell a swarm2 that waits or lost its
/// quorum from none at all; when one answers, so is the state of each running node none of
/// whose entries is ready. The whole look is bounded in time.
async fn observe_swarm2<E: HostEngine>(spec: &Spec, hosts: &Hosts<E>, observed: &mut Observed) {
    let candidates = swarm2_candidates(spec, observed);
    let slots: BTreeSet<String> = sis_planner::manager_slots(spec)
        .into_iter()
        .map(|(host, index)| labels::node_name(&spec.name, &host, index))
        .collect();
    let (first, rest): (Vec<_>, Vec<_>) = candidates
        .iter()
        .partition(|(_, node)| slots.contains(node));
    let ask = async {
        for wave in [first, rest] {
            if let Some(found) = ask_managers(hosts, &wave).await {
                return Some(found);
            }
        }
        None
    };
    let found = tokio::time::timeout(ASK_TIMEOUT, ask)
        .await
        .unwrap_or_else(|_| {
            debug!("no swarm2 manager answered in time");
            None
        });
    // Whose own state to look at: every running node when no manager answered, else those
    // none of whose entries is ready (waiting, or a new container under an old name).
    let look_at: Vec<(String, String)> = match &found {
        None => candidates.clone(),
        Some(found) => candidates
            .iter()
            .filter(|(_, node)| {
                let mut entries = found.nodes.iter().filter(|e| e.hostname == *node);
                entries.clone().next().is_some() && !entries.any(|e| e.is_ready())
            })
            .cloned()
            .collect(),
    };
    observed.swarm2 = found;
    if !look_at.is_empty() {
        let (locals, unread) = local_states(hosts, &look_at).await;
        observed.swarm2_locals = locals;
        observed.swarm2_unread = unread;
    }
}

/// Asks `nodes` concurrently for swarm2's node list; the first in order that answers wins.
async fn ask_managers<E: HostEngine>(
    hosts: &Hosts<E>,
    nodes: &[&(String, String)],
) -> Option<Swarm2Observation> {
    let answers: Vec<_> = stream::iter(nodes.iter().map(|(host, node)| async move {
        let engine = &hosts[host];
        match engine.swarm2_node_list(node).await {
            Ok(list) => Some((engine, node, list)),
            Err(e) => {
                debug!(node = %node, error = %e, "not a swarm2 manager");
                None
            }
        }
    }))
    .buffered(SWARM2_ASK_AT_ONCE)
    .collect()
    .await;
    let (engine, node, nodes) = answers.into_iter().flatten().next()?;
    let cluster_id = engine
        .swarm2_local_state(node)
        .await
        .ok()
        .and_then(|s| s.cluster_id);
    let ingress = engine.swarm2_ingress(node).await.ok();
    Some(Swarm2Observation {
        via: node.clone(),
        cluster_id,
        nodes,
        ingress,
    })
}

/// Each running node's own swarm state; a node that does not answer is left out.
async fn local_states<E: HostEngine>(
    hosts: &Hosts<E>,
    nodes: &[(String, String)],
) -> (BTreeMap<String, Swarm2LocalObservation>, BTreeSet<String>) {
    // The whole look is bounded: a node that has not answered by the deadline is named as
    // unread, and the others' answers are kept.
    let deadline = tokio::time::Instant::now() + LOCAL_TIMEOUT;
    let looks: Vec<(String, Option<Option<Swarm2LocalObservation>>)> =
        stream::iter(nodes.iter().map(|(host, node)| async move {
            let look = tokio::time::timeout_at(deadline, local_state(hosts[host].as_ref(), node));
            (node.clone(), look.await.ok())
        }))
        .buffer_unordered(SWARM2_ASK_AT_ONCE)
        .collect()
        .await;
    let mut locals = BTreeMap::new();
    let mut unread = BTreeSet::new();
    for (node, look) in looks {
        match look {
            Some(Some(observation)) => {
                locals.insert(node, observation);
            }
            Some(None) => {}
            None => {
                debug!(node = %node, "own swarm state not read in time");
                unread.insert(node);
            }
        }
    }
    (locals, unread)
}

/// One node's own swarm state; `None` when its engine does not tell it (dockerd not up).
async fn local_state<E: HostEngine>(engine: &E, node: &str) -> Option<Swarm2LocalObservation> {
    let local = match engine.swarm2_local_state(node).await {
        Ok(l) => l,
        Err(e) => {
            debug!(node = %node, error = %e, "no swarm state");
            return None;
        }
    };
    let raft_time = if local.control_available {
        engine.swarm2_raft_time(node).await.ok().flatten()
    } else {
        None
    };
    Some(Swarm2LocalObservation {
        state: local.state.as_str().into(),
        manager: local.control_available,
        cluster_id: local.cluster_id,
        error: local.error,
        remote_managers: local.remote_managers,
        raft_time,
    })
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
            if c.is_node() && c.is_running() {
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
