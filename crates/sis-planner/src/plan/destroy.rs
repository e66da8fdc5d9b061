//! `plan_destroy()`: everything of the cluster, on every reachable host.

use std::collections::BTreeSet;

use sis_spec::Spec;

use super::checks::same_subnet;
use super::Builder;
use crate::{labels, Action, HostObservation, Observed, Phase, Plan};

/// The plan that removes everything of the cluster that `observed` holds: node containers
/// (with their volumes), the K/V store, and the network when it carries the cluster's label
/// or has the spec's name and subnet. swarm1 and the images stay; so do `lock` containers,
/// which belong to the run that holds them. Unreachable hosts are skipped with a warning.
pub fn plan_destroy(spec: &Spec, observed: &Observed) -> Plan {
    let mut out = Builder::default();
    let mut seen = BTreeSet::new();
    let mut reachable = Vec::new();
    for h in &spec.hosts {
        let facts = match observed.hosts.get(&h.name) {
            Some(HostObservation::Reachable(f)) => f,
            Some(HostObservation::Unreachable { endpoint, error }) => {
                out.warn(format!(
                    "host {} ({endpoint}) is unreachable ({error}); what cluster {} has there is left in place: run destroy again once it is back",
                    h.name, spec.name
                ));
                continue;
            }
            None => {
                out.warn(format!(
                    "host {} ({}) was not observed; what cluster {} has there is left in place",
                    h.name, h.endpoint, spec.name
                ));
                continue;
            }
        };
        reachable.push((h.name.as_str(), facts.as_ref()));
        let mut nodes: Vec<(Option<u32>, &str)> = facts
            .containers
            .iter()
            .filter(|c| {
                c.label(labels::ROLE) == Some(labels::ROLE_NODE) && seen.insert(c.id.as_str())
            })
            .map(|c| {
                (
                    c.label(labels::INDEX).and_then(|i| i.parse().ok()),
                    c.name.as_str(),
                )
            })
            .collect();
        // Without a usable index first, then from the highest index down, as in a shrink.
        nodes.sort_by(|a, b| {
            b.0.is_none()
                .cmp(&a.0.is_none())
                .then_with(|| b.0.cmp(&a.0))
                .then_with(|| a.1.cmp(b.1))
        });
        for (_, name) in nodes {
            out.push(
                Phase::NodesRemove,
                Action::RemoveNode {
                    host: h.name.clone(),
                    name: name.to_string(),
                },
                format!("node of cluster {}", spec.name),
            );
        }
        for c in facts.containers.iter().filter(|c| {
            c.label(labels::ROLE) == Some(labels::ROLE_KVSTORE) && seen.insert(c.id.as_str())
        }) {
            out.push(
                Phase::KvStoreRemove,
                Action::RemoveKvStore {
                    host: h.name.clone(),
                    name: c.name.clone(),
                },
                format!("K/V store of cluster {}", spec.name),
            );
        }
    }

    let want = &spec.network;
    let mut networks = BTreeSet::new();
    for (host, facts) in &reachable {
        for n in facts.networks.iter().filter(|n| n.name == want.name) {
            let reason = if n.labels.get(labels::CLUSTER) == Some(&spec.name) {
                format!("carries {}={}", labels::CLUSTER, spec.name)
            } else if n.subnets.iter().any(|s| same_subnet(s, &want.subnet)) {
                format!("has the spec's name and subnet {}", want.subnet)
            } else {
                continue;
            };
            if !networks.insert(n.id.as_str()) {
                continue;
            }
            // A swarm-scoped network is removed through a swarm1 manager that lists it.
            let via = if n.scope == "swarm" {
                reachable
                    .iter()
                    .find(|(_, f)| f.swarm1.is_manager && f.networks.iter().any(|m| m.id == n.id))
                    .map_or(*host, |(h, _)| *h)
            } else {
                *host
            };
            out.push(
                Phase::NetworkRemove,
                Action::RemoveNetwork {
                    host: via.to_string(),
                    name: n.name.clone(),
                },
                reason,
            );
        }
    }
    out.finish(&spec.name)
}
