//! `plan_destroy()`: everything of the cluster, on every reachable host.

use std::collections::BTreeSet;

use sis_spec::Spec;

use super::checks::{foreign_network, manager_addrs};
use super::Builder;
use crate::{labels, Action, HostFacts, HostObservation, Observed, Phase, Plan, Swarm1Membership};

/// What `sis destroy` removes besides the cluster's containers and network.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DestroyOptions {
    /// Also make the spec's hosts leave swarm1 — only when sis initialised swarm1 for this
    /// cluster (its `sis.swarm1-created-by` label names the cluster). Any other swarm1 stays:
    /// it may be the hosts' own, or carry other work.
    pub swarm1: bool,
}

/// The plan that removes everything of the cluster that `observed` holds: node containers
/// (with their volumes), the K/V store, and the network when it carries the cluster's label
/// (never an external one, nor one without the label); with [`DestroyOptions::swarm1`], swarm1 too when sis
/// made it for the cluster. The images stay; so do `lock` containers, which belong to the run
/// that holds them. Unreachable hosts are skipped with a warning.
pub fn plan_destroy(spec: &Spec, observed: &Observed, options: DestroyOptions) -> Plan {
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
        // Classic mode's agents and manager go with the nodes.
        for c in facts.containers.iter().filter(|c| {
            matches!(
                c.label(labels::ROLE),
                Some(labels::ROLE_AGENT | labels::ROLE_MANAGER)
            ) && seen.insert(c.id.as_str())
        }) {
            let (action, what) = if c.label(labels::ROLE) == Some(labels::ROLE_AGENT) {
                let action = Action::RemoveClassicAgent {
                    host: h.name.clone(),
                    name: c.name.clone(),
                };
                (action, "swarm agent")
            } else {
                let action = Action::RemoveClassicManager {
                    host: h.name.clone(),
                    name: c.name.clone(),
                };
                (action, "classic swarm manager")
            };
            out.push(
                Phase::NodesRemove,
                action,
                format!("{what} of cluster {}", spec.name),
            );
        }
        for c in facts.containers.iter().filter(|c| {
            c.label(labels::ROLE) == Some(labels::ROLE_CA) && seen.insert(c.id.as_str())
        }) {
            out.push(
                Phase::NodesRemove,
                Action::RemoveClassicCa {
                    host: h.name.clone(),
                    name: c.name.clone(),
                },
                format!("CA of cluster {}", spec.name),
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
            if !networks.insert(n.id.as_str()) {
                continue;
            }
            // Only what carries the cluster's label is the cluster's: a network of the same
            // name and subnet may be a user's or another cluster's.
            if want.external {
                out.note(format!(
                    "network {} is external (network.external: true); it stays",
                    n.name
                ));
                continue;
            }
            if let Some(why) = foreign_network(spec, host, n).map(|p| p.to_string()) {
                out.note(format!(
                    "{}; it stays",
                    why.split(", so sis").next().unwrap_or(&why)
                ));
                continue;
            }
            let reason = format!("carries {}={}", labels::CLUSTER, spec.name);
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
    if options.swarm1 {
        leave_swarm1(&spec.name, &reachable, &mut out);
    }
    out.finish(&spec.name)
}

/// Every reachable host in the swarm1 that sis initialised for `cluster` leaves it: workers
/// first (in spec order), then managers in reverse spec order, so the first host — the one
/// sis initialises swarm1 on — leaves last. Hosts in another swarm stay where they are.
fn leave_swarm1(cluster: &str, reachable: &[(&str, &HostFacts)], out: &mut Builder) {
    let ours = |s: &Swarm1Membership| {
        s.is_active() && s.is_manager && s.created_by.as_deref() == Some(cluster)
    };
    let Some(made) = reachable.iter().map(|(_, f)| &f.swarm1).find(|s| ours(s)) else {
        if reachable.is_empty() {
            return; // the hosts' warnings say it all
        }
        if !reachable.iter().any(|(_, f)| f.swarm1.is_active()) {
            out.note("no reachable host of the spec is in a swarm; no swarm1 to leave".to_string());
            return;
        }
        let other = reachable
            .iter()
            .find_map(|(_, f)| f.swarm1.created_by.as_deref());
        out.note(match other {
            Some(other) => format!(
                "swarm1 was created by sis for cluster {other}, not {cluster}; leaving it in place"
            ),
            None => format!(
                "swarm1 was not created by sis for cluster {cluster} (no reachable swarm1 manager carries {}={cluster}); leaving it in place",
                labels::SWARM1_CREATED_BY
            ),
        });
        return;
    };

    // Workers do not report the swarm's ID: they are members when they know its managers.
    let manager_ips: BTreeSet<&str> = manager_addrs(made).collect();
    let member = |s: &Swarm1Membership| {
        s.is_active()
            && match (&s.cluster_id, &made.cluster_id) {
                (Some(mine), Some(theirs)) => mine == theirs,
                _ => manager_addrs(s).any(|ip| manager_ips.contains(ip)),
            }
    };
    let (members, others): (Vec<_>, Vec<_>) = reachable
        .iter()
        .filter(|(_, f)| f.swarm1.is_active())
        .partition(|(_, f)| member(&f.swarm1));
    for (host, _) in others {
        out.note(format!(
            "host {host} is in another swarm than the one sis made for cluster {cluster}; it stays there"
        ));
    }
    let (managers, workers): (Vec<_>, Vec<_>) =
        members.into_iter().partition(|(_, f)| f.swarm1.is_manager);

    // Managers the spec's hosts do not cover keep swarm1 alive after the spec's hosts leave.
    let leaving_ips: BTreeSet<&str> = managers
        .iter()
        .filter_map(|(_, f)| f.swarm1.node_addr.as_deref())
        .collect();
    let outside: Vec<&str> = manager_ips.difference(&leaving_ips).copied().collect();
    if !outside.is_empty() {
        out.warn(format!(
            "swarm1 has managers at {} that are not among the spec's reachable hosts; swarm1 goes on with them",
            outside.join(", ")
        ));
    }

    let whose = format!("sis initialised swarm1 for cluster {cluster}");
    for (host, _) in workers {
        out.push(
            Phase::Swarm1Leave,
            Action::LeaveSwarm1 {
                host: host.to_string(),
                force: false,
            },
            format!("swarm1 worker; {whose}"),
        );
    }
    let last = managers.len();
    for (n, (host, _)) in managers.into_iter().rev().enumerate() {
        let reason = if n + 1 < last {
            format!("swarm1 manager, leaves after the workers; {whose}")
        } else if outside.is_empty() {
            format!("last swarm1 manager: swarm1 ends with it; {whose}")
        } else {
            format!("last swarm1 manager of the spec; {whose}")
        };
        out.push(
            Phase::Swarm1Leave,
            Action::LeaveSwarm1 {
                host: host.to_string(),
                force: true,
            },
            reason,
        );
    }
}
