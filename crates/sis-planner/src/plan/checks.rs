//! Refusals: states the planner must not change on its own. Every problem is collected,
//! each saying what is wrong, where, and what the user can do.

use std::collections::{BTreeMap, BTreeSet};

use ipnet::Ipv4Net;
use sis_spec::addresses::AddressPlan;
use sis_spec::Spec;

use super::{PlanError, PlanProblem, SwarmIdentity};
use crate::{labels, HostFacts, HostObservation, LocalNodeState, Observed};

/// A reachable spec host.
pub(crate) struct HostView<'a> {
    pub spec: &'a sis_spec::Host,
    pub facts: &'a HostFacts,
}

impl HostView<'_> {
    pub(crate) fn name(&self) -> &str {
        &self.spec.name
    }
}

/// swarm1 as the plan sees it. Indices are positions in the spec's host list.
#[derive(Debug, Default)]
pub(crate) struct Swarm1View {
    /// No spec host is in a swarm: the plan initialises swarm1 on the first host.
    pub new: bool,
    /// Hosts whose engine is not in a swarm yet (with `new`, the first host is not among them).
    pub to_join: Vec<usize>,
    /// The manager host that joins and swarm-scoped operations go through: the first host
    /// when it is (or becomes) a manager, else the first manager host in spec order.
    pub manager_host: usize,
    /// Hosts observed as swarm1 managers: swarm-scoped networks are decided from these.
    pub managers: Vec<usize>,
}

/// The hosts and swarm1, once nothing stands in the way of planning.
pub(crate) struct Checked<'a> {
    /// Every spec host, in spec order.
    pub hosts: Vec<HostView<'a>>,
    pub swarm1: Swarm1View,
}

pub(crate) fn check<'a>(spec: &'a Spec, observed: &'a Observed) -> Result<Checked<'a>, PlanError> {
    let mut problems = Vec::new();
    if !observed.cluster.is_empty() && observed.cluster != spec.name {
        problems.push(PlanProblem::OtherCluster {
            observed: observed.cluster.clone(),
            spec: spec.name.clone(),
        });
    }
    if spec.swarm2.mode == sis_spec::Swarm2Mode::Classic {
        if let Some(seen) = &observed.classic {
            if let Some(version) = &seen.unsupported_engine {
                problems.push(PlanProblem::ClassicEngineTooNew {
                    node: seen.via.clone(),
                    version: version.clone(),
                });
            }
        }
    }
    if spec.total_nodes() > 0 && spec.swarm2.managers == 0 {
        problems.push(PlanProblem::NoManagers);
    }
    if let Some(kv) = &spec.kvstore {
        if spec.host(&kv.host).is_none() {
            problems.push(PlanProblem::UnknownKvHost {
                host: kv.host.clone(),
                hosts: spec.hosts.iter().map(|h| h.name.clone()).collect(),
            });
        }
    }

    let mut hosts = Vec::with_capacity(spec.hosts.len());
    for h in &spec.hosts {
        match observed.hosts.get(&h.name) {
            None => problems.push(PlanProblem::HostNotObserved {
                host: h.name.clone(),
                endpoint: h.endpoint.clone(),
            }),
            Some(HostObservation::Unreachable { endpoint, error }) => {
                problems.push(PlanProblem::HostUnreachable {
                    host: h.name.clone(),
                    endpoint: endpoint.clone(),
                    error: error.clone(),
                })
            }
            Some(HostObservation::Reachable(facts)) => hosts.push(HostView { spec: h, facts }),
        }
    }

    same_engine_problems(&hosts, &mut problems);
    network_problems(spec, &hosts, &mut problems);
    let swarm1 = swarm1_view(&hosts, &mut problems);
    if problems.is_empty() {
        Ok(Checked { hosts, swarm1 })
    } else {
        Err(PlanError { problems })
    }
}

/// Every spec host must be an engine of its own: one engine listed twice (under two
/// endpoints that reach it) would have each host's pass remove the other's nodes as strays.
/// Engines are told apart by the ID they report, not by endpoint text.
fn same_engine_problems(hosts: &[HostView], problems: &mut Vec<PlanProblem>) {
    let mut by_id: BTreeMap<&str, Vec<&HostView>> = BTreeMap::new();
    for h in hosts {
        if let Some(id) = h.facts.engine_id.as_deref() {
            by_id.entry(id).or_default().push(h);
        }
    }
    for (id, same) in by_id.into_iter().filter(|(_, same)| same.len() > 1) {
        problems.push(PlanProblem::SameEngine {
            engine_id: id.to_string(),
            hosts: same
                .iter()
                .map(|h| (h.name().to_string(), h.spec.endpoint.clone()))
                .collect(),
        });
    }
}

/// An existing network of the spec's name must be an attachable overlay with the spec's
/// subnet, and this cluster's (labelled `sis.cluster=<cluster>`) unless the spec marks it
/// external: a network of the same name and subnet may be a user's or another cluster's. No
/// other network of a host may overlap that subnet.
fn network_problems(spec: &Spec, hosts: &[HostView], problems: &mut Vec<PlanProblem>) {
    let want = &spec.network;
    // A swarm-scoped network is listed by every manager: report it once.
    let mut seen = BTreeSet::new();
    for h in hosts {
        for n in &h.facts.networks {
            if !seen.insert(n.id.as_str()) {
                continue;
            }
            if n.name != want.name {
                if let Some(other) = n.subnets.iter().find(|s| overlaps(**s, want.subnet)) {
                    problems.push(PlanProblem::NetworkOverlap {
                        network: want.name.clone(),
                        host: h.name().to_string(),
                        other: n.name.clone(),
                        other_subnet: *other,
                        want: want.subnet,
                    });
                }
                continue;
            }
            if n.driver != "overlay" || !n.attachable {
                problems.push(PlanProblem::NetworkKind {
                    network: n.name.clone(),
                    host: h.name().to_string(),
                    driver: n.driver.clone(),
                    scope: n.scope.clone(),
                });
            } else if !(n.subnets.len() == 1 && same_subnet(n.subnets[0], want.subnet)) {
                problems.push(PlanProblem::NetworkSubnet {
                    network: n.name.clone(),
                    host: h.name().to_string(),
                    has: n.subnets.clone(),
                    want: want.subnet,
                });
            } else if let Some(problem) =
                foreign_network(spec, h.name(), n).filter(|_| !want.external)
            {
                problems.push(problem);
            } else if n.ip_range != Some(AddressPlan::of(spec).dynamic_range()) {
                let plan = AddressPlan::of(spec);
                problems.push(PlanProblem::NetworkRange {
                    network: n.name.clone(),
                    host: h.name().to_string(),
                    has: n.ip_range,
                    want: plan.dynamic_range(),
                    gateway: plan.gateway(),
                    external: want.external,
                });
            }
        }
    }
}

/// Why sis must not adopt network `n` (found on `host`) for this cluster, if it must not:
/// it does not carry `sis.cluster=<cluster>`. An external network (the spec says so) is
/// never asked.
pub(crate) fn foreign_network(
    spec: &Spec,
    host: &str,
    n: &crate::NetworkObservation,
) -> Option<PlanProblem> {
    let owner = n.labels.get(labels::CLUSTER);
    if owner == Some(&spec.name) {
        return None;
    }
    Some(PlanProblem::ForeignNetwork {
        network: n.name.clone(),
        host: host.to_string(),
        cluster: spec.name.clone(),
        owner: owner.cloned(),
    })
}

/// Whether two CIDRs name the same subnet (`10.9.1.0/16` = `10.9.0.0/16`).
pub(crate) fn same_subnet(a: Ipv4Net, b: Ipv4Net) -> bool {
    a.trunc() == b.trunc()
}

/// Whether two subnets share an address.
fn overlaps(a: Ipv4Net, b: Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// Who is in swarm1, who must join, and which swarms the hosts are in.
fn swarm1_view(hosts: &[HostView], problems: &mut Vec<PlanProblem>) -> Swarm1View {
    let mut active = Vec::new();
    let mut inactive = Vec::new();
    for (i, h) in hosts.iter().enumerate() {
        let endpoint = &h.spec.endpoint;
        let name = h.name();
        match &h.facts.swarm1.state {
            LocalNodeState::Active => active.push(i),
            LocalNodeState::Inactive => inactive.push(i),
            LocalNodeState::Other(s) if s.is_empty() => inactive.push(i),
            state => problems.push(PlanProblem::Swarm1State {
                host: name.to_string(),
                endpoint: endpoint.clone(),
                state: state.clone(),
            }),
        }
    }
    if active.is_empty() {
        return Swarm1View {
            new: true,
            to_join: inactive.into_iter().filter(|i| *i != 0).collect(),
            manager_host: 0,
            managers: Vec::new(),
        };
    }

    // The swarm of the first manager host is swarm1; every other active host must be in it.
    let Some(&reference) = active.iter().find(|&&i| hosts[i].facts.swarm1.is_manager) else {
        problems.push(PlanProblem::NoSwarm1Manager {
            hosts: active
                .iter()
                .map(|&i| hosts[i].name().to_string())
                .collect(),
        });
        return Swarm1View::default();
    };
    let ref_facts = &hosts[reference].facts.swarm1;
    let ref_addrs: BTreeSet<&str> = active
        .iter()
        .filter(|&&i| {
            let s = &hosts[i].facts.swarm1;
            s.is_manager && s.cluster_id.is_some() && s.cluster_id == ref_facts.cluster_id
        })
        .flat_map(|&i| manager_addrs(&hosts[i].facts.swarm1))
        .chain(manager_addrs(ref_facts))
        .collect();

    let mut view = Swarm1View {
        new: false,
        to_join: inactive,
        manager_host: 0,
        managers: Vec::new(),
    };
    for &i in &active {
        let h = &hosts[i];
        let s = &h.facts.swarm1;
        let same = match (&s.cluster_id, &ref_facts.cluster_id) {
            (Some(mine), Some(theirs)) => mine == theirs,
            // Workers do not report the cluster ID: compare the managers they know.
            _ => {
                let mine: BTreeSet<&str> = manager_addrs(s).collect();
                mine.is_empty() || ref_addrs.is_empty() || !mine.is_disjoint(&ref_addrs)
            }
        };
        if same {
            if s.is_manager {
                view.managers.push(i);
            }
            continue;
        }
        problems.push(PlanProblem::ForeignSwarm {
            host: h.name().to_string(),
            endpoint: h.spec.endpoint.clone(),
            theirs: identity(s),
            reference: hosts[reference].name().to_string(),
            ours: identity(ref_facts),
        });
    }
    view.manager_host = if view.managers.contains(&0) {
        0
    } else {
        view.managers.first().copied().unwrap_or(reference)
    };
    view
}

/// How a swarm1 member names its swarm in a refusal.
fn identity(s: &crate::Swarm1Membership) -> SwarmIdentity {
    match &s.cluster_id {
        Some(id) => SwarmIdentity::ClusterId(id.clone()),
        None => SwarmIdentity::Managers(s.managers.clone()),
    }
}

/// The IP addresses (without port) a swarm1 member names for its swarm's managers.
pub(crate) fn manager_addrs(s: &crate::Swarm1Membership) -> impl Iterator<Item = &str> {
    let own = s.is_manager.then_some(s.node_addr.as_deref()).flatten();
    s.managers
        .iter()
        .map(|m| m.rsplit_once(':').map_or(m.as_str(), |(ip, _)| ip))
        .chain(own)
}

#[cfg(test)]
mod tests {
    use super::{overlaps, same_subnet};

    #[test]
    fn subnets_compare_by_network_and_prefix() {
        let net = |s: &str| s.parse().unwrap();
        assert!(same_subnet(net("10.9.0.0/16"), net("10.9.0.0/16")));
        assert!(same_subnet(net("10.9.1.0/16"), net("10.9.0.0/16")));
        assert!(!same_subnet(net("10.9.0.0/16"), net("10.8.0.0/16")));
        assert!(!same_subnet(net("10.9.0.0/16"), net("10.9.0.0/24")));
        assert!(overlaps(net("10.9.0.0/16"), net("10.9.3.0/24")));
        assert!(overlaps(net("10.0.0.0/8"), net("10.9.0.0/16")));
        assert!(!overlaps(net("10.9.0.0/16"), net("10.10.0.0/24")));
    }
}
