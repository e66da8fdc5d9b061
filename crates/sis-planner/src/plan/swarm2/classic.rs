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
use sis_spec::{KvKind, Spec, Swarm2Mode};

use crate::plan::nodes::{Fate, Nodes};
use crate::plan::Builder;
use crate::{
    labels, spec_hash_of, Action, ClassicTls, ContainerObservation, ImageRef, Observed, Phase,
};

/// The port the manager listens on, and every node's dockerd without TLS, inside ring2net.
pub(crate) const DOCKER_PORT: u16 = 2375;
/// The port of every node's dockerd with TLS (Docker's convention).
pub(crate) const DOCKER_TLS_PORT: u16 = 2376;

/// Whether the spec wants classic mode with TLS.
pub(crate) fn tls(spec: &Spec) -> bool {
    spec.swarm2.mode == Swarm2Mode::Classic && spec.swarm2.classic_tls()
}

/// The port the nodes' dockerd listens on in ring2net.
fn node_port(spec: &Spec) -> u16 {
    if tls(spec) {
        DOCKER_TLS_PORT
    } else {
        DOCKER_PORT
    }
}

/// `--tlsverify` and the certificate files in `labels::TLS_DIR`, as dockerd, the docker CLI
/// and `swarm manage` name them.
fn tls_flags() -> Vec<String> {
    let dir = labels::TLS_DIR;
    vec![
        "--tlsverify".to_string(),
        format!("--tlscacert={dir}/ca.pem"),
        format!("--tlscert={dir}/cert.pem"),
        format!("--tlskey={dir}/key.pem"),
    ]
}

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
    let port = node_port(spec);
    let mut args = vec![
        format!("--cluster-store={url}"),
        format!("--cluster-advertise=eth0:{port}"),
        "-H".to_string(),
        format!("tcp://0.0.0.0:{port}"),
    ];
    if tls(spec) {
        args.extend(tls_flags());
    }
    args
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

/// Plans the CA (with TLS), the manager and one agent per wanted node, from the nodes' fates.
pub(crate) fn plan(spec: &Spec, observed: &Observed, nodes: &mut Nodes, out: &mut Builder) {
    let ca = if tls(spec) {
        ca(spec, observed, out)
    } else {
        remove_cas(spec, observed, "swarm2.classic.tls is false", out);
        None
    };
    if let Some(ca) = &ca {
        replace_signed_by_another(ca, nodes);
        nodes.classic_ca = Some((ca.host.clone(), ca.name.clone()));
    }
    manager(spec, observed, ca.as_ref(), out);
    agents(spec, observed, nodes, out);
}

/// The CA that signs the cluster's certificates this pass.
struct Ca {
    host: String,
    name: String,
    /// `None`: made in this plan, so nothing observed is signed by it yet.
    fingerprint: Option<String>,
}

impl Ca {
    /// Why a container whose certificate carries `label` must be made again, if it must.
    fn mismatch(&self, label: Option<&str>) -> Option<String> {
        match (&self.fingerprint, label) {
            (Some(want), Some(got)) if want == got => None,
            (Some(want), Some(got)) => Some(format!(
                "its certificate is signed by CA {got}, the cluster's is {want}"
            )),
            (None, Some(got)) => Some(format!(
                "its certificate is signed by CA {got}, which no host keeps any more"
            )),
            (_, None) => Some(format!("no {} label: not made with TLS", labels::CA)),
        }
    }
}

/// Classic mode with TLS: the CA kept on the hosts (the first one found in spec host order),
/// or a new one on the manager's host. Certificates live as long as their containers, so
/// the CA is made once and kept while the cluster lives, by any machine that applies the
/// spec: it is on the hosts, not on the machine running sis.
fn ca(spec: &Spec, observed: &Observed, out: &mut Builder) -> Option<Ca> {
    let host = spec.classic_manager_host()?;
    let name = labels::classic_ca_name(&spec.name);
    let mut kept: Option<Ca> = None;
    for (on, c) in containers_of(observed, spec, labels::ROLE_CA) {
        let why = match (c.label(labels::CA), &kept) {
            (None, _) => Some(format!("no {} label", labels::CA)),
            (Some(_), Some(k)) => Some(format!("the cluster's CA is kept on host {}", k.host)),
            (Some(_), None) if c.name != name => Some(format!("the CA is named {name}")),
            (Some(f), None) => {
                kept = Some(Ca {
                    host: on.to_string(),
                    name: c.name.clone(),
                    fingerprint: Some(f.to_string()),
                });
                None
            }
        };
        if let Some(why) = why {
            out.push(
                Phase::NodesRemove,
                Action::RemoveClassicCa {
                    host: on.to_string(),
                    name: c.name.clone(),
                },
                why,
            );
        }
    }
    if kept.is_some() {
        return kept;
    }
    out.push(
        Phase::KvStore,
        Action::CreateClassicCa {
            host: host.to_string(),
            name: name.clone(),
        },
        "swarm2.classic.tls is true and no host keeps the cluster's CA".to_string(),
    );
    Some(Ca {
        host: host.to_string(),
        name,
        fingerprint: None,
    })
}

/// Nodes whose certificate another CA signed cannot talk to the manager: replaced.
fn replace_signed_by_another(ca: &Ca, nodes: &mut Nodes) {
    for s in &mut nodes.slots {
        let Some(c) = s.container else { continue };
        if !matches!(s.fate, Fate::Keep | Fate::Start) {
            continue;
        }
        if let Some(why) = ca.mismatch(c.label(labels::CA)) {
            s.fate = Fate::Replace;
            s.reason = why;
        }
    }
}

fn remove_cas(spec: &Spec, observed: &Observed, why: &str, out: &mut Builder) {
    for (host, c) in containers_of(observed, spec, labels::ROLE_CA) {
        out.push(
            Phase::NodesRemove,
            Action::RemoveClassicCa {
                host: host.to_string(),
                name: c.name.clone(),
            },
            why.to_string(),
        );
    }
}

/// What the manager's certificate names: its fixed address and name, and its published
/// port's host as seen from the host itself and, for a TCP endpoint, from elsewhere.
fn manager_names(spec: &Spec, host: &str, address: std::net::Ipv4Addr, name: &str) -> Vec<String> {
    let mut names = vec![
        address.to_string(),
        name.to_string(),
        "127.0.0.1".to_string(),
        "localhost".to_string(),
    ];
    if let Some(remote) = spec
        .host(host)
        .and_then(|h| endpoint_host(&h.endpoint))
        .filter(|r| !names.contains(r))
    {
        names.push(remote);
    }
    names
}

/// `10.0.0.5` of `tcp://10.0.0.5:2376` (or `ssh://user@10.0.0.5`); `None` for a unix socket.
fn endpoint_host(endpoint: &str) -> Option<String> {
    let (scheme, rest) = endpoint.split_once("://")?;
    if scheme == "unix" || scheme == "npipe" {
        return None;
    }
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let host = rest.split(['/', ':']).next()?;
    (!host.is_empty()).then(|| host.to_string())
}

fn manager(spec: &Spec, observed: &Observed, ca: Option<&Ca>, out: &mut Builder) {
    let name = labels::classic_manager_name(&spec.name);
    let Some(host) = spec.classic_manager_host() else {
        return;
    };
    let image = spec.swarm2.classic_image();
    let address = AddressPlan::of(spec).classic_manager();
    let publish = spec.swarm2.publish_port();
    let mut cmd = vec![
        "manage".to_string(),
        "-H".to_string(),
        format!(":{DOCKER_PORT}"),
    ];
    if ca.is_some() {
        cmd.extend(tls_flags());
    }
    cmd.push(discovery(spec));
    let want = wanted(
        spec,
        cmd,
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
            drift(c, &want, &image).or_else(|| ca?.mismatch(c.label(labels::CA)))
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
            tls: ca.map(|ca| ClassicTls {
                ca_host: ca.host.clone(),
                ca: ca.name.clone(),
                names: manager_names(
                    spec,
                    host,
                    address,
                    &labels::classic_manager_name(&spec.name),
                ),
            }),
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
                format!("--addr={addr}:{}", node_port(spec)),
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
    remove_cas(spec, observed, "swarm2 is not in classic mode", out);
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
