//! Selectors: which containers of the cluster a fault acts on, resolved against what was
//! observed (never against the spec alone: the leader is whoever leads now).
//!
//! `leader`, `managers`, `workers`, `node:NAME`, `host:NAME`, `kvstore`, `all`, `random:N`,
//! `random:P%`; a comma joins several into their union (`leader,kvstore`).

use std::fmt;
use std::net::Ipv4Addr;

use sis_spec::addresses::AddressPlan;
use sis_spec::Spec;
use sis_types::{labels, ContainerState, Observed};

/// One container of the cluster that a fault can act on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Member {
    /// The spec's host name.
    pub host: String,
    /// The container name (a node's swarm2 hostname too).
    pub name: String,
    pub kind: MemberKind,
    /// The fixed ring2net address.
    pub address: Option<Ipv4Addr>,
    pub state: ContainerState,
    /// swarm2's manager status of a node: `leader`, `reachable`, `unreachable`, or `None`
    /// for a worker or a node swarm2 does not list.
    pub manager_status: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MemberKind {
    Node,
    KvStore,
}

impl Member {
    pub fn is_node(&self) -> bool {
        self.kind == MemberKind::Node
    }
}

/// The cluster's containers as observed: nodes in spec host order then index, the K/V
/// store last. Addresses come from the spec's address plan; a container Docker gave another
/// address (made before addresses were fixed) is known by the address observed.
pub fn members(spec: &Spec, observed: &Observed) -> Vec<Member> {
    let plan = AddressPlan::of(spec);
    let mut nodes = Vec::new();
    let mut kv = Vec::new();
    for (position, h) in spec.hosts.iter().enumerate() {
        let Some(facts) = observed.hosts.get(&h.name).and_then(|o| o.facts()) else {
            continue;
        };
        for c in &facts.containers {
            let observed_ip = c.ring2net_ip.as_deref().and_then(|ip| ip.parse().ok());
            match c.label(labels::ROLE) {
                Some(labels::ROLE_NODE) => {
                    let index: u32 = c
                        .label(labels::INDEX)
                        .and_then(|i| i.parse().ok())
                        .unwrap_or(0);
                    let manager_status = observed.swarm2.as_ref().and_then(|s| {
                        s.nodes
                            .iter()
                            .find(|n| n.hostname == c.name)
                            .filter(|n| n.is_manager())
                            .map(|n| n.manager_status.to_string())
                    });
                    nodes.push((
                        position,
                        index,
                        Member {
                            host: h.name.clone(),
                            name: c.name.clone(),
                            kind: MemberKind::Node,
                            address: observed_ip.or_else(|| plan.node(position, index)),
                            state: c.state.clone(),
                            manager_status,
                        },
                    ));
                }
                Some(labels::ROLE_KVSTORE) => kv.push(Member {
                    host: h.name.clone(),
                    name: c.name.clone(),
                    kind: MemberKind::KvStore,
                    address: observed_ip.or(Some(plan.kvstore())),
                    state: c.state.clone(),
                    manager_status: None,
                }),
                _ => {}
            }
        }
    }
    nodes.sort_by_key(|(p, i, _)| (*p, *i));
    nodes.into_iter().map(|(_, _, m)| m).chain(kv).collect()
}

/// One selector (a part between commas).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Leader,
    Managers,
    Workers,
    All,
    KvStore,
    Node(String),
    Host(String),
    RandomCount(usize),
    RandomPercent(u32),
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selector::Leader => f.write_str("leader"),
            Selector::Managers => f.write_str("managers"),
            Selector::Workers => f.write_str("workers"),
            Selector::All => f.write_str("all"),
            Selector::KvStore => f.write_str("kvstore"),
            Selector::Node(n) => write!(f, "node:{n}"),
            Selector::Host(h) => write!(f, "host:{h}"),
            Selector::RandomCount(n) => write!(f, "random:{n}"),
            Selector::RandomPercent(p) => write!(f, "random:{p}%"),
        }
    }
}

const SELECTOR_HELP: &str = "use leader, managers, workers, all, kvstore, node:NAME, host:NAME, \
random:N or random:P% (several joined by commas)";

/// Parses `leader,node:c.local-2`.
pub fn parse(text: &str) -> Result<Vec<Selector>, String> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim) {
        let selector = match part.split_once(':') {
            None => match part {
                "leader" => Selector::Leader,
                "managers" => Selector::Managers,
                "workers" => Selector::Workers,
                "all" => Selector::All,
                "kvstore" => Selector::KvStore,
                "" => return Err(format!("empty selector in {text:?}: {SELECTOR_HELP}")),
                other => return Err(format!("unknown selector {other:?}: {SELECTOR_HELP}")),
            },
            Some(("node", name)) if !name.is_empty() => Selector::Node(name.to_string()),
            Some(("host", name)) if !name.is_empty() => Selector::Host(name.to_string()),
            Some(("random", amount)) => match amount.strip_suffix('%') {
                Some(p) => match p.parse::<u32>() {
                    Ok(p) if (1..=100).contains(&p) => Selector::RandomPercent(p),
                    _ => return Err(format!("{part:?}: the percentage must be 1% to 100%")),
                },
                None => match amount.parse::<usize>() {
                    Ok(n) if n > 0 => Selector::RandomCount(n),
                    _ => return Err(format!("{part:?}: the count must be a number above 0")),
                },
            },
            Some(_) => return Err(format!("unknown selector {part:?}: {SELECTOR_HELP}")),
        };
        out.push(selector);
    }
    Ok(out)
}

/// A small seeded generator (splitmix64): the same seed picks the same nodes.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// `count` distinct items of `items`, in their original order.
    pub fn choose<T: Clone>(&mut self, items: &[T], count: usize) -> Vec<T> {
        let mut indices: Vec<usize> = (0..items.len()).collect();
        // Fisher-Yates on the first `count` places.
        for i in 0..count.min(items.len()) {
            let j = i + (self.next_u64() % (items.len() - i) as u64) as usize;
            indices.swap(i, j);
        }
        let mut picked: Vec<usize> = indices.into_iter().take(count).collect();
        picked.sort_unstable();
        picked.into_iter().map(|i| items[i].clone()).collect()
    }
}

/// The members `selectors` pick, each once, in member order. A selector that picks nothing
/// is an error naming it: a fault on nothing is a mistake, not a no-op.
pub fn resolve(
    selectors: &[Selector],
    members: &[Member],
    cluster: &str,
    rng: &mut Rng,
) -> Result<Vec<Member>, String> {
    let nodes: Vec<&Member> = members.iter().filter(|m| m.is_node()).collect();
    let mut picked: Vec<&Member> = Vec::new();
    for s in selectors {
        let these: Vec<&Member> = match s {
            Selector::Leader | Selector::Managers | Selector::Workers
                if !nodes.iter().any(|m| m.manager_status.is_some()) =>
            {
                return Err(format!(
                    "selector {s}: swarm2's managers are not known (no manager answered); \
                     run `sis status` to see the cluster"
                ))
            }
            Selector::Leader => nodes
                .iter()
                .copied()
                .filter(|m| m.manager_status.as_deref() == Some("leader"))
                .collect(),
            Selector::Managers => nodes
                .iter()
                .copied()
                .filter(|m| m.manager_status.is_some())
                .collect(),
            Selector::Workers => nodes
                .iter()
                .copied()
                .filter(|m| m.manager_status.is_none())
                .collect(),
            Selector::All => nodes.clone(),
            Selector::KvStore => members
                .iter()
                .filter(|m| m.kind == MemberKind::KvStore)
                .collect(),
            Selector::Node(name) => {
                let full = format!("{cluster}{}{name}", labels::SEPARATOR);
                members
                    .iter()
                    .filter(|m| m.name == *name || m.name == full)
                    .collect()
            }
            Selector::Host(host) => nodes.iter().copied().filter(|m| m.host == *host).collect(),
            Selector::RandomCount(n) => rng.choose(&nodes, *n),
            Selector::RandomPercent(p) => {
                let n = (nodes.len() * *p as usize).div_ceil(100).max(1);
                rng.choose(&nodes, n)
            }
        };
        if these.is_empty() {
            return Err(format!(
                "selector {s} matches no container of cluster {cluster}"
            ));
        }
        picked.extend(these);
    }
    let mut out: Vec<Member> = Vec::new();
    for m in members {
        if picked.iter().any(|p| p.name == m.name) {
            out.push(m.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(host: &str, i: u32, status: Option<&str>) -> Member {
        Member {
            host: host.to_string(),
            name: format!("c.{host}-{i}"),
            kind: MemberKind::Node,
            address: Some(Ipv4Addr::new(10, 0, 0, i as u8)),
            state: ContainerState::Running,
            manager_status: status.map(String::from),
        }
    }

    fn cluster() -> Vec<Member> {
        vec![
            member("a", 1, Some("leader")),
            member("a", 2, Some("reachable")),
            member("a", 3, None),
            member("b", 1, Some("reachable")),
            member("b", 2, None),
            Member {
                host: "a".into(),
                name: "c.kvstore".into(),
                kind: MemberKind::KvStore,
                address: None,
                state: ContainerState::Running,
                manager_status: None,
            },
        ]
    }

    fn names(text: &str, seed: u64) -> Result<Vec<String>, String> {
        let selectors = parse(text)?;
        let picked = resolve(&selectors, &cluster(), "c", &mut Rng::new(seed))?;
        Ok(picked.into_iter().map(|m| m.name).collect())
    }

    #[test]
    fn roles_come_from_swarm2s_manager_status() {
        assert_eq!(names("leader", 0).unwrap(), ["c.a-1"]);
        assert_eq!(names("managers", 0).unwrap(), ["c.a-1", "c.a-2", "c.b-1"]);
        assert_eq!(names("workers", 0).unwrap(), ["c.a-3", "c.b-2"]);
        assert_eq!(
            names("all", 0).unwrap().len(),
            5,
            "all nodes, not the K/V store"
        );
        assert_eq!(names("kvstore", 0).unwrap(), ["c.kvstore"]);
    }

    #[test]
    fn names_and_hosts_and_unions() {
        assert_eq!(names("node:a-2", 0).unwrap(), ["c.a-2"]);
        assert_eq!(names("node:c.b-2", 0).unwrap(), ["c.b-2"]);
        assert_eq!(names("host:b", 0).unwrap(), ["c.b-1", "c.b-2"]);
        assert_eq!(
            names("leader, host:b,leader", 0).unwrap(),
            ["c.a-1", "c.b-1", "c.b-2"]
        );
    }

    #[test]
    fn random_picks_are_seeded_and_distinct() {
        let first = names("random:2", 7).unwrap();
        assert_eq!(first.len(), 2);
        assert_ne!(first[0], first[1]);
        assert_eq!(names("random:2", 7).unwrap(), first, "same seed, same pick");
        let spread: std::collections::BTreeSet<_> =
            (0..20).map(|s| names("random:1", s).unwrap()).collect();
        assert!(spread.len() > 1, "different seeds pick differently");
        assert_eq!(names("random:40%", 1).unwrap().len(), 2, "40% of 5 nodes");
        assert_eq!(names("random:1%", 1).unwrap().len(), 1, "at least one");
        assert_eq!(
            names("random:9", 1).unwrap().len(),
            5,
            "no more than there are"
        );
    }

    #[test]
    fn mistakes_are_named() {
        assert!(names("leaders", 0)
            .unwrap_err()
            .contains("unknown selector \"leaders\""));
        assert!(names("node:nope", 0)
            .unwrap_err()
            .contains("node:nope matches no container"));
        assert!(names("random:0", 0).unwrap_err().contains("above 0"));
        assert!(names("random:150%", 0).unwrap_err().contains("1% to 100%"));
        assert!(names("leader,", 0).unwrap_err().contains("empty selector"));
        let no_swarm: Vec<Member> = cluster()
            .into_iter()
            .map(|mut m| {
                m.manager_status = None;
                m
            })
            .collect();
        let err = resolve(&[Selector::Leader], &no_swarm, "c", &mut Rng::new(0)).unwrap_err();
        assert!(err.contains("managers are not known"), "{err}");
    }
}
