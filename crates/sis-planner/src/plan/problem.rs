//! Why no plan can be made: each problem says what is wrong, where, and what to do.

use std::fmt;

use ipnet::Ipv4Net;

use crate::LocalNodeState;

/// Why no plan can be made; every problem found is listed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", join(.problems))]
pub struct PlanError {
    /// Each says what is wrong, where (host, network, node) and what to do.
    pub problems: Vec<PlanProblem>,
}

fn join(problems: &[PlanProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl From<PlanProblem> for PlanError {
    fn from(problem: PlanProblem) -> Self {
        PlanError {
            problems: vec![problem],
        }
    }
}

/// One reason the planner refuses; its text says what the user can do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanProblem {
    /// The observed state was recorded for another cluster.
    OtherCluster { observed: String, spec: String },
    /// Nodes but `swarm2.managers: 0`.
    NoManagers,
    /// Classic mode, but the node image's engine has no `--cluster-store` (Docker 23+).
    ClassicEngineTooNew { node: String, version: String },
    /// `kvstore.host` names no spec host.
    UnknownKvHost { host: String, hosts: Vec<String> },
    /// A spec host missing from the observed state.
    HostNotObserved { host: String, endpoint: String },
    /// A spec host whose engine did not answer.
    HostUnreachable {
        host: String,
        endpoint: String,
        error: String,
    },
    /// A network of the spec's name that is not an attachable overlay.
    NetworkKind {
        network: String,
        host: String,
        driver: String,
        scope: String,
    },
    /// The spec's network exists with another subnet.
    NetworkSubnet {
        network: String,
        host: String,
        has: Vec<Ipv4Net>,
        want: Ipv4Net,
    },
    /// The spec's network hands out other addresses than the upper half of its subnet (its
    /// IPAM `ip_range`): the fixed addresses of nodes could be handed to others.
    NetworkRange {
        network: String,
        host: String,
        has: Option<Ipv4Net>,
        want: Ipv4Net,
        gateway: std::net::Ipv4Addr,
        external: bool,
    },
    /// Another network of a host overlaps the spec's subnet.
    NetworkOverlap {
        network: String,
        host: String,
        other: String,
        other_subnet: Ipv4Net,
        want: Ipv4Net,
    },
    /// A host's engine is in a swarm state the planner must not change.
    Swarm1State {
        host: String,
        endpoint: String,
        state: LocalNodeState,
    },
    /// Active hosts, but none of them a swarm1 manager.
    NoSwarm1Manager { hosts: Vec<String> },
    /// A host in another swarm than swarm1.
    ForeignSwarm {
        host: String,
        endpoint: String,
        theirs: SwarmIdentity,
        reference: String,
        ours: SwarmIdentity,
    },
    /// Two spec hosts reach one Docker engine (same engine ID), as `(host, endpoint)`.
    SameEngine {
        engine_id: String,
        hosts: Vec<(String, String)>,
    },
    /// A network of the spec's name that is not this cluster's (another cluster's label, or
    /// none) and not marked `network.external`.
    ForeignNetwork {
        network: String,
        host: String,
        cluster: String,
        /// Its `sis.cluster` label, if any.
        owner: Option<String>,
    },
    /// swarm2 was observed, but no running node is a ready manager.
    NoReadySwarm2Manager { via: String },
    /// A host cannot hold its nodes by the capacity estimate.
    Capacity {
        host: String,
        /// The other hosts on the same machine (lab hosts): `nodes` counts theirs too.
        shared_with: Vec<String>,
        nodes: u32,
        /// The estimate, for people ([`crate::capacity::Estimate::describe`]).
        estimate: String,
        /// The resources the count exceeds.
        exceeded: Vec<String>,
        largest_fit: u32,
    },
}

/// How a swarm is told apart: its cluster ID, or (from a worker) the managers it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwarmIdentity {
    ClusterId(String),
    Managers(Vec<String>),
}

impl fmt::Display for SwarmIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SwarmIdentity::ClusterId(id) => write!(f, "cluster ID {id}"),
            SwarmIdentity::Managers(m) => write!(f, "managers {}", m.join(", ")),
        }
    }
}

impl fmt::Display for PlanProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanProblem::OtherCluster { observed, spec } => write!(
                f,
                "the observed state is of cluster `{observed}` but the spec names cluster `{spec}`; observe again with this spec"
            ),
            PlanProblem::ClassicEngineTooNew { node, version } => write!(
                f,
                "node {node} runs Docker {version}, which has no --cluster-store (removed in Docker 23), so classic Swarm cannot form: use a node image with Docker 20.10 or older in swarm2.image (e.g. docker:20.10-dind), or swarm2.mode: swarm"
            ),
            PlanProblem::NoManagers => f.write_str(
                "swarm2.managers is 0, but swarm2 needs at least one manager: set it to 1, 3 or 5",
            ),
            PlanProblem::UnknownKvHost { host, hosts } => write!(
                f,
                "kvstore.host `{host}` is not one of the spec's hosts; set it to one of: {}",
                hosts.join(", ")
            ),
            PlanProblem::HostNotObserved { host, endpoint } => write!(
                f,
                "host `{host}` ({endpoint}) is in the spec but not in the observed state; observe again with this spec"
            ),
            PlanProblem::HostUnreachable {
                host,
                endpoint,
                error,
            } => write!(
                f,
                "host `{host}` ({endpoint}) is unreachable: {error}; check that its Docker engine runs and the endpoint is right, or remove the host from the spec"
            ),
            PlanProblem::SameEngine { engine_id, hosts } => {
                let named: Vec<String> = hosts
                    .iter()
                    .map(|(host, endpoint)| format!("`{host}` ({endpoint})"))
                    .collect();
                write!(
                    f,
                    "hosts {} are one Docker engine (engine ID {engine_id}); list each engine once in the spec, with the nodes of all of them on that one host",
                    named.join(" and ")
                )
            }
            PlanProblem::ForeignNetwork {
                network,
                host,
                cluster,
                owner,
            } => {
                let label = crate::labels::CLUSTER;
                let whose = match owner {
                    Some(owner) => format!("carries {label}={owner}: cluster {owner}'s"),
                    None => format!("carries no {label} label: sis did not make it"),
                };
                write!(
                    f,
                    "network `{network}` on host `{host}` {whose}, not cluster {cluster}'s, so sis neither uses nor removes it; set `network.external: true` in the spec to use it as it is (sis then never removes it), remove it (`docker network rm {network}` on host {host}) so sis makes its own labelled {label}={cluster}, or set another network.name"
                )
            }
            PlanProblem::NetworkRange {
                network,
                host,
                has,
                want,
                gateway,
                external,
            } => {
                let hands_out = match has {
                    Some(range) => format!("hands out addresses of {range}"),
                    None => "hands out every address of its subnet".to_string(),
                };
                let what = if *external {
                    format!(
                        "make it anew with `--ip-range {want} --gateway {gateway}` (sis keeps the lower half for fixed addresses)"
                    )
                } else {
                    "it was made by an older sis: run `sis destroy` and `sis apply` again, so sis makes it anew".to_string()
                };
                write!(
                    f,
                    "network `{network}` on host `{host}` {hands_out}, but sis gives nodes fixed addresses in the lower half and needs Docker to hand out {want} only, else nodes could be handed each other's addresses; {what}"
                )
            }
            PlanProblem::NetworkKind {
                network,
                host,
                driver,
                scope,
            } => {
                let what = if driver == "overlay" {
                    "an overlay network that is not attachable".to_string()
                } else {
                    format!("a {driver} network ({scope} scope)")
                };
                write!(
                    f,
                    "network `{network}` on host `{host}` is {what}, but sis needs an attachable overlay network of that name; remove it (`docker network rm {network}` on host {host}) or set another network.name in the spec"
                )
            }
            PlanProblem::NetworkSubnet {
                network,
                host,
                has,
                want,
            } => {
                let has = if has.is_empty() {
                    "no IPv4 subnet".to_string()
                } else {
                    let has: Vec<String> = has.iter().map(ToString::to_string).collect();
                    format!("subnet {}", has.join(", "))
                };
                write!(
                    f,
                    "network `{network}` on host `{host}` has {has} but the spec wants {want}; remove it (`docker network rm {network}` on host {host}, after removing the containers attached to it) or set network.subnet in the spec to the network's"
                )
            }
            PlanProblem::NetworkOverlap {
                network,
                host,
                other,
                other_subnet,
                want,
            } => write!(
                f,
                "network.subnet {want} of network `{network}` overlaps network `{other}` ({other_subnet}) on host `{host}`; set another network.subnet in the spec, or remove network {other} (`docker network rm {other}` on host {host})"
            ),
            PlanProblem::Swarm1State {
                host,
                endpoint,
                state,
            } => match state {
                LocalNodeState::Pending => write!(
                    f,
                    "host `{host}` ({endpoint}) is still joining a swarm (swarm state pending); wait until the join ends and run sis again, or cancel it with `docker swarm leave --force` on host {host}"
                ),
                LocalNodeState::Locked => write!(
                    f,
                    "host `{host}` ({endpoint}) is in a locked swarm; unlock it with `docker swarm unlock` on host {host} and run sis again"
                ),
                LocalNodeState::Error => write!(
                    f,
                    "host `{host}` ({endpoint}) reports swarm state error; run `docker swarm leave --force` on host {host} (or repair its swarm) and run sis again"
                ),
                other => write!(
                    f,
                    "host `{host}` ({endpoint}) reports an unknown swarm state `{other}`; check `docker info` on it"
                ),
            },
            PlanProblem::NoSwarm1Manager { hosts } => write!(
                f,
                "hosts {} are swarm1 workers, but no spec host is a swarm1 manager: sis joins hosts and creates the network through a manager; add a manager host to the spec, or promote one of them (`docker node promote` on a manager)",
                hosts.join(", ")
            ),
            PlanProblem::ForeignSwarm {
                host,
                endpoint,
                theirs,
                reference,
                ours,
            } => write!(
                f,
                "host `{host}` ({endpoint}) is in another swarm ({theirs}) than host `{reference}` ({ours}); run `docker swarm leave` on host {host} (with `--force` if it is a manager there) so sis can join it to swarm1, or remove it from the spec"
            ),
            PlanProblem::Capacity {
                host,
                shared_with,
                nodes,
                estimate,
                exceeded,
                largest_fit,
            } if !shared_with.is_empty() => {
                let hosts = std::iter::once(host)
                    .chain(shared_with)
                    .map(|h| format!("`{h}`"))
                    .collect::<Vec<_>>();
                let per_host = largest_fit / u32::try_from(hosts.len()).unwrap_or(u32::MAX);
                let disk = if exceeded.iter().any(|r| r == "disk") {
                    "free disk space on it or lower their disk_floor, "
                } else {
                    ""
                };
                write!(
                    f,
                    "hosts {} run on one machine and share its cores: together they cannot hold {nodes} nodes ({} exceeded): {estimate}; {disk}give them at most {largest_fit} nodes in all (e.g. {per_host} per host) or use another machine (`sis doctor` shows every limit), or plan anyway with --ignore-capacity",
                    hosts.join(", "),
                    exceeded.join(" and ")
                )
            }
            PlanProblem::Capacity {
                host,
                nodes,
                estimate,
                exceeded,
                largest_fit,
                ..
            } => {
                let disk = if exceeded.iter().any(|r| r == "disk") {
                    "free disk space on it or lower its disk_floor, "
                } else {
                    ""
                };
                write!(
                    f,
                    "host `{host}` cannot hold {nodes} nodes ({} exceeded): {estimate}; {disk}set its nodes to at most {largest_fit} or spread them over more hosts (`sis doctor` shows every limit), or plan anyway with --ignore-capacity",
                    exceeded.join(" and ")
                )
            }
            PlanProblem::NoReadySwarm2Manager { via } => write!(
                f,
                "swarm2 was observed through node {via}, but no running node container is a ready swarm2 manager; observe again"
            ),
        }
    }
}
