//! Refusals: states the planner must not change on its own. Every problem is collected,
//! each saying what is wrong, where, and what the user can do.

use std::collections::{BTreeMap, BTreeSet};

use sis_spec::Spec;

use super::PlanError;
use crate::{labels, HostFacts, HostObservation, Observed};

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
        problems.push(format!(
            "the observed state is of cluster `{}` but the spec names cluster `{}`; observe again with this spec",
            observed.cluster, spec.name
        ));
    }
    super::swarm2::check(spec, &mut problems);
    if spec.total_nodes() > 0 && spec.swarm2.managers == 0 {
        problems.push(
            "swarm2.managers is 0, but swarm2 needs at least one manager: set it to 1, 3 or 5"
                .to_string(),
        );
    }
    if let Some(kv) = &spec.kvstore {
        if spec.host(&kv.host).is_none() {
            problems.push(format!(
                "kvstore.host `{}` is not one of the spec's hosts; set it to one of: {}",
                kv.host,
                spec.hosts
                    .iter()
                    .map(|h| h.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }

    let mut hosts = Vec::with_capacity(spec.hosts.len());
    for h in &spec.hosts {
        match observed.hosts.get(&h.name) {
            None => problems.push(format!(
                "host `{}` ({}) is in the spec but not in the observed state; observe again with this spec",
                h.name, h.endpoint
            )),
            Some(HostObservation::Unreachable { endpoint, error }) => problems.push(format!(
                "host `{}` ({endpoint}) is unreachable: {error}; check that its Docker engine runs and the endpoint is right, or remove the host from the spec",
                h.name
            )),
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
fn same_engine_problems(hosts: &[HostView], problems: &mut Vec<String>) {
    let mut by_id: BTreeMap<&str, Vec<&HostView>> = BTreeMap::new();
    for h in hosts {
        if let Some(id) = h.facts.engine_id.as_deref() {
            by_id.entry(id).or_default().push(h);
        }
    }
    for (id, same) in by_id.into_iter().filter(|(_, same)| same.len() > 1) {
        let named: Vec<String> = same
            .iter()
            .map(|h| format!("`{}` ({})", h.name(), h.spec.endpoint))
            .collect();
        problems.push(format!(
            "hosts {} are one Docker engine (engine ID {id}); list each engine once in the spec, with the nodes of all of them on that one host",
            named.join(" and ")
        ));
    }
}

/// An existing network of the spec's name must be an attachable overlay with the spec's
/// subnet, and this cluster's (labelled `sis.cluster=<cluster>`) unless the spec marks it
/// external: a network of the same name and subnet may be a user's or another cluster's.
fn network_problems(spec: &Spec, hosts: &[HostView], problems: &mut Vec<String>) {
    let want = &spec.network;
    // A swarm-scoped network is listed by every manager: report it once.
    let mut seen = BTreeSet::new();
    for h in hosts {
        for n in h.facts.networks.iter().filter(|n| n.name == want.name) {
            if !seen.insert(n.id.as_str()) {
                continue;
            }
            if n.driver != "overlay" || !n.attachable {
                let what = if n.driver == "overlay" {
                    "an overlay network that is not attachable".to_string()
                } else {
                    format!("a {} network ({} scope)", n.driver, n.scope)
                };
                problems.push(format!(
                    "network `{}` on host `{}` is {what}, but sis needs an attachable overlay network of that name; remove it (`docker network rm {}` on host {}) or set another network.name in the spec",
                    n.name, h.name(), n.name, h.name()
                ));
            } else if !(n.subnets.len() == 1 && same_subnet(&n.subnets[0], &want.subnet)) {
                let has = if n.subnets.is_empty() {
                    "no IPv4 subnet".to_string()
                } else {
                    format!("subnet {}", n.subnets.join(", "))
                };
                problems.push(format!(
                    "network `{}` on host `{}` has {has} but the spec wants {}; remove it (`docker network rm {}` on host {}, after removing the containers attached to it) or set network.subnet in the spec to the network's",
                    n.name, h.name(), want.subnet, n.name, h.name()
                ));
            } else if !want.external {
                if let Some(problem) = foreign_network(spec, h.name(), n) {
                    problems.push(problem);
                }
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
) -> Option<String> {
    let cluster = &spec.name;
    let whose = match n.labels.get(labels::CLUSTER) {
        Some(owner) if owner == cluster => return None,
        Some(owner) => format!("carries {}={owner}: cluster {owner}'s", labels::CLUSTER),
        None => format!("carries no {} label: sis did not make it", labels::CLUSTER),
    };
    Some(format!(
        "network `{}` on host `{host}` {whose}, not cluster {cluster}'s, so sis neither uses nor removes it; set `network.external: true` in the spec to use it as it is (sis then never removes it), remove it (`docker network rm {}` on host {host}) so sis makes its own labelled {}={cluster}, or set another network.name",
        n.name, n.name, labels::CLUSTER
    ))
}

/// Whether two IPv4 CIDRs name the same subnet (`10.9.0.0/16` = `10.9.0.0/16`); text that
/// does not parse is compared as it is.
pub(crate) fn same_subnet(a: &str, b: &str) -> bool {
    fn parse(s: &str) -> Option<(u32, u8)> {
        let (addr, len) = s.trim().split_once('/')?;
        let addr: std::net::Ipv4Addr = addr.parse().ok()?;
        let len: u8 = len.parse().ok().filter(|l| *l <= 32)?;
        let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
        Some((u32::from(addr) & mask, len))
    }
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a.trim() == b.trim(),
    }
}

/// Who is in swarm1, who must join, and which swarms the hosts are in.
fn swarm1_view(hosts: &[HostView], problems: &mut Vec<String>) -> Swarm1View {
    let mut active = Vec::new();
    let mut inactive = Vec::new();
    for (i, h) in hosts.iter().enumerate() {
        let endpoint = &h.spec.endpoint;
        let name = h.name();
        match h.facts.swarm1.state.as_str() {
            "active" => active.push(i),
            "inactive" | "" => inactive.push(i),
            "pending" => problems.push(format!(
                "host `{name}` ({endpoint}) is still joining a swarm (swarm state pending); wait until the join ends and run sis again, or cancel it with `docker swarm leave --force` on host {name}"
            )),
            "locked" => problems.push(format!(
                "host `{name}` ({endpoint}) is in a locked swarm; unlock it with `docker swarm unlock` on host {name} and run sis again"
            )),
            "error" => problems.push(format!(
                "host `{name}` ({endpoint}) reports swarm state error; run `docker swarm leave --force` on host {name} (or repair its swarm) and run sis again"
            )),
            other => problems.push(format!(
                "host `{name}` ({endpoint}) reports an unknown swarm state `{other}`; check `docker info` on it"
            )),
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
        let names: Vec<&str> = active.iter().map(|&i| hosts[i].name()).collect();
        problems.push(format!(
            "hosts {} are swarm1 workers, but no spec host is a swarm1 manager: sis joins hosts and creates the network through a manager; add a manager host to the spec, or promote one of them (`docker node promote` on a manager)",
            names.join(", ")
        ));
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
        let theirs = match &s.cluster_id {
            Some(id) => format!("cluster ID {id}"),
            None => format!("managers {}", s.managers.join(", ")),
        };
        let ours = match &ref_facts.cluster_id {
            Some(id) => format!("cluster ID {id}"),
            None => format!("managers {}", ref_facts.managers.join(", ")),
        };
        problems.push(format!(
            "host `{}` ({}) is in another swarm ({theirs}) than host `{}` ({ours}); run `docker swarm leave` on host {} (with `--force` if it is a manager there) so sis can join it to swarm1, or remove it from the spec",
            h.name(),
            h.spec.endpoint,
            hosts[reference].name(),
            h.name()
        ));
    }
    view.manager_host = if view.managers.contains(&0) {
        0
    } else {
        view.managers.first().copied().unwrap_or(reference)
    };
    view
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
    use super::same_subnet;

    #[test]
    fn subnets_compare_by_network_and_prefix() {
        assert!(same_subnet("10.9.0.0/16", "10.9.0.0/16"));
        assert!(same_subnet("10.9.0.0/16", " 10.9.0.0/16"));
        assert!(!same_subnet("10.9.0.0/16", "10.8.0.0/16"));
        assert!(!same_subnet("10.9.0.0/16", "10.9.0.0/24"));
        assert!(same_subnet("fd00::/64", "fd00::/64"));
    }
}
