//! swarm2 in classic mode: standalone Swarm as in the seed. The nodes' dockerd keeps its
//! overlay state in the K/V store (`--cluster-store`) and listens on ring2net; one
//! `swarm join` agent per node announces the node's fixed address in the K/V store; one
//! `swarm manage` container, published on a host port, finds the nodes there.
//!
//! Everything here is a container, planned from the containers observed: the manager's own
//! view (which nodes it counts Healthy) is for `sis status`, not for planning, since the
//! manager heals by itself once its agents and nodes run.

use std::collections::{BTreeMap, BTreeSet};

use sis_spec::addresses::AddressPlan;
use sis_spec::{KvKind, Spec};

use crate::plan::nodes::{Fate, Nodes};
use crate::plan::Builder;
use crate::{labels, spec_hash_of, Action, ContainerObservation, ImageRef, Observed, Phase};

/// The port every node's dockerd and the manager listen on, inside ring2net.
pub(crate) const DOCKER_PORT: u16 = 2375;

/// How often an agent renews its node's entry, and how long the entry outlives the last
/// renewal. Shorter than classic Swarm's defaults (60 s, 180 s) so that a removed node
/// leaves the manager's list within half a minute; one small write per node every 10 s.
const AGENT_HEARTBEAT: &str = "10s";
const AGENT_TTL: &str = "30s";

/// The K/V store's URL (`etcd://10.9.0.2:2379`), without a path.
pub(crate) fn kv_url(spec: &Spec) -> Option<String> {
    let kv = spec.kvstore.as_ref()?;
    let addr = AddressPlan::of(spec).kvstore();
    Some(match kv.kind {
        KvKind::Consul => format!("consul://{addr}:8500"),
        KvKind::Etcd => format!("etcd://{addr}:2379"),
    })
}

/// Arguments added to each node's dockerd in classic mode: its overlay state in the K/V
/// store, and the API on ring2net for the manager. Part of the nodes' spec hash.
pub(crate) fn dockerd_args(spec: &Spec) -> Vec<String> {
    let Some(url) = kv_url(spec) else {
        return Vec::new();
    };
    vec![
        format!("--cluster-store={url}"),
        format!("--cluster-advertise=eth0:{DOCKER_PORT}"),
        "-H".to_string(),
        format!("tcp://0.0.0.0:{DOCKER_PORT}"),
    ]
}

/// The discovery URL of `swarm join` and `swarm manage`.
fn discovery(spec: &Spec) -> String {
    format!("{}/swarm", kv_url(spec).unwrap_or_default())
}

/// A classic container as the plan wants it.
struct Wanted {
    cmd: Vec<String>,
    hash: String,
}

fn wanted(spec: &Spec, cmd: Vec<String>, extra: serde_json::Value) -> Wanted {
    let hash = spec_hash_of(&serde_json::json!({
        "image": spec.swarm2.classic_image().to_string(),
        "network": spec.network.name,
        "cmd": cmd,
        "extra": extra,
    }));
    Wanted { cmd, hash }
}

/// Why a kept container must go, if it must: not running or made from something else.
fn drift(c: &ContainerObservation, want: &Wanted, image: &ImageRef) -> Option<String> {
    if !c.is_running() {
        return Some(format!("container is {}", c.state));
    }
    if !c.image.starts_with("sha256:") && ImageRef::parse(&c.image).canonical() != image.canonical()
    {
        return Some(format!("drifted: image {} → {image}", c.image));
    }
    match c.label(labels::SPEC_HASH) {
        Some(h) if h == want.hash => None,
        Some(h) => Some(format!("drifted: spec hash {h} → {}", want.hash)),
        None => Some(format!("drifted: no {} label", labels::SPEC_HASH)),
    }
}

/// The cluster's containers of `role`, each once (hosts may share an engine), with the
/// spec host they were observed on.
fn containers_of<'a>(
    observed: &'a Observed,
    spec: &'a Spec,
    role: &str,
) -> Vec<(&'a str, &'a ContainerObservation)> {
    let mut seen = BTreeSet::new();
    let mut found = Vec::new();
    for h in &spec.hosts {
        let Some(facts) = observed.hosts.get(&h.name).and_then(|o| o.facts()) else {
            continue;
        };
        for c in &facts.containers {
            if c.label(labels::ROLE) == Some(role) && seen.insert(c.id.as_str()) {
                found.push((h.name.as_str(), c));
            }
        }
    }
    found
}

/// Plans the manager and one agent per wanted node, from the nodes' fates.
pub(crate) fn plan(spec: &Spec, observed: &Observed, nodes: &Nodes, out: &mut Builder) {
    manager(spec, observed, out);
    agents(spec, observed, nodes, out);
}

fn manager(spec: &Spec, observed: &Observed, out: &mut Builder) {
    let name = labels::classic_manager_name(&spec.name);
    let Some(host) = spec.classic_manager_host() else {
        return;
    };
    let image = spec.swarm2.classic_image();
    let address = AddressPlan::of(spec).classic_manager();
    let publish = spec.swarm2.publish_port();
    let want = wanted(
        spec,
        vec![
            "manage".to_string(),
            "-H".to_string(),
            format!(":{DOCKER_PORT}"),
            discovery(spec),
        ],
        serde_json::json!({"address": address, "publish": publish}),
    );
    let mut kept = false;
    let mut replaced = None;
    for (on, c) in containers_of(observed, spec, labels::ROLE_MANAGER) {
        let why = if on != host {
            Some(format!("the spec places the manager on host {host}"))
        } else if kept {
            Some(format!("{name} already runs on this host"))
        } else if c.name != name {
            Some(format!("the manager is named {name}"))
        } else {
            drift(c, &want, &image)
        };
        match why {
            None => kept = true,
            Some(reason) => {
                if on == host && c.name == name {
                    replaced = Some(reason.clone());
                }
                out.push(
                    Phase::NodesRemove,
                    Action::RemoveClassicManager {
                        host: on.to_string(),
                        name: c.name.clone(),
                    },
                    reason,
                );
            }
        }
    }
    if kept {
        return;
    }
    let reason = match replaced {
        Some(why) => format!("replaces the removed one ({why})"),
        None => format!("no classic swarm manager on host {host}"),
    };
    out.push(
        Phase::Swarm2Init,
        Action::CreateClassicManager {
            host: host.to_string(),
            name,
            image,
            cmd: want.cmd,
            network: spec.network.name.clone(),
            address,
            publish,
            spec_hash: want.hash,
        },
        reason,
    );
}

fn agents(spec: &Spec, observed: &Observed, nodes: &Nodes, out: &mut Builder) {
    let image = spec.swarm2.classic_image();
    let addresses = AddressPlan::of(spec);
    // Agent name → (host, container): the agents that exist.
    let mut existing: BTreeMap<&str, Vec<(&str, &ContainerObservation)>> = BTreeMap::new();
    for (host, c) in containers_of(observed, spec, labels::ROLE_AGENT) {
        existing.entry(c.name.as_str()).or_default().push((host, c));
    }
    let mut wanted_names = BTreeSet::new();
    for s in &nodes.slots {
        let host = nodes.host_names[s.host];
        let name = labels::agent_name(&spec.name, host, s.index);
        wanted_names.insert(name.clone());
        let Some(addr) = addresses.node(s.host, s.index) else {
            continue;
        };
        let want = wanted(
            spec,
            vec![
                "join".to_string(),
                format!("--heartbeat={AGENT_HEARTBEAT}"),
                format!("--ttl={AGENT_TTL}"),
                format!("--addr={addr}:{DOCKER_PORT}"),
                discovery(spec),
            ],
            serde_json::json!(null),
        );
        let mut keep = false;
        let mut reason = match s.fate {
            Fate::Create | Fate::Replace => format!("node {} is {}", s.name, created(s.fate)),
            _ => format!("node {} has no agent", s.name),
        };
        for (on, c) in existing.get(name.as_str()).into_iter().flatten() {
            let why = if *on != host {
                Some(format!("made for host {host} but found on host {on}"))
            } else if keep {
                Some("a second agent for the node".to_string())
            } else {
                drift(c, &want, &image)
            };
            match why {
                None => keep = true,
                Some(why) => {
                    reason = format!("replaces the removed one ({why})");
                    out.push(
                        Phase::NodesRemove,
                        Action::RemoveClassicAgent {
                            host: on.to_string(),
                            name: c.name.clone(),
                        },
                        why,
                    );
                }
            }
        }
        if keep || s.fate == Fate::Wait && s.container.is_none() {
            continue;
        }
        out.push(
            Phase::Swarm2Join,
            Action::CreateClassicAgent {
                host: host.to_string(),
                name,
                node: s.name.clone(),
                index: s.index,
                image: image.clone(),
                cmd: want.cmd,
                network: spec.network.name.clone(),
                spec_hash: want.hash,
            },
            reason,
        );
    }
    // Agents no wanted node has: their node goes (or went) away.
    for (name, found) in &existing {
        if wanted_names.contains(*name) {
            continue;
        }
        for (on, c) in found {
            let node = c.label(labels::NODE).unwrap_or("?");
            out.push(
                Phase::NodesRemove,
                Action::RemoveClassicAgent {
                    host: on.to_string(),
                    name: c.name.clone(),
                },
                format!("its node {node} is not in the spec"),
            );
        }
    }
}

fn created(fate: Fate) -> &'static str {
    match fate {
        Fate::Replace => "replaced",
        _ => "created",
    }
}

/// Classic containers left from an earlier classic spec, when the spec's mode is another.
pub(crate) fn remove_all(spec: &Spec, observed: &Observed, out: &mut Builder) {
    for (host, c) in containers_of(observed, spec, labels::ROLE_MANAGER) {
        out.push(
            Phase::NodesRemove,
            Action::RemoveClassicManager {
                host: host.to_string(),
                name: c.name.clone(),
            },
            "swarm2 is not in classic mode".to_string(),
        );
    }
    for (host, c) in containers_of(observed, spec, labels::ROLE_AGENT) {
        out.push(
            Phase::NodesRemove,
            Action::RemoveClassicAgent {
                host: host.to_string(),
                name: c.name.clone(),
            },
            "swarm2 is not in classic mode".to_string(),
        );
    }
}
