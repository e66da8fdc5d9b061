//! The fate of every node slot (host × index) and of every node container nobody wants.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use sis_spec::addresses::AddressPlan;
use sis_spec::{Privileged, Spec, Swarm2Mode};

use super::checks::Checked;
use super::Builder;
use crate::{
    labels, node_spec_hash_with_preload, resolve_profile, Action, ClassicTls, ContainerObservation,
    ImageRef, NodeProfile, Phase,
};

/// Idle dind nodes one CPU holds calmly, by the capacity estimate: 45 % of a core at 6
/// millicores a node (see [`crate::capacity`]).
pub(crate) const NODES_PER_CPU: u32 = (1000 * crate::capacity::CPU_SHARE_PERCENT
    / 100
    / crate::capacity::NODE_IDLE_MILLICORES) as u32;

/// Memory an idle dind node takes (measured: ~50 MB).
pub(crate) const NODE_IDLE_MEMORY: u64 = crate::capacity::NODE_MEMORY_BYTES;

/// What happens to a node slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    /// Running as the spec says.
    Keep,
    /// Stopped (`exited`, `created`): started again, keeping its swarm2 state.
    Start,
    /// No container: created.
    Create,
    /// Drifted or dead: removed and created again.
    Replace,
    /// In a passing state (`restarting`, `removing`): left alone this time.
    Wait,
}

/// One wanted node: `index` of the host at `host` (spec position).
pub(crate) struct Slot<'a> {
    pub host: usize,
    pub index: u32,
    pub name: String,
    /// Its fixed address on ring2net.
    pub address: Ipv4Addr,
    pub container: Option<&'a ContainerObservation>,
    pub fate: Fate,
    /// Why it is created, replaced or started.
    pub reason: String,
}

/// A node container that no slot wants.
pub(crate) struct Removal<'a> {
    pub host: usize,
    pub index: Option<u32>,
    pub container: &'a ContainerObservation,
    pub reason: String,
    /// Kept for now because removing it would cost swarm2 its quorum (see the swarm2 planner).
    pub deferred: bool,
}

/// The nodes of every host, with what each host's nodes are made from.
pub(crate) struct Nodes<'a> {
    /// Spec order: by host, then index.
    pub slots: Vec<Slot<'a>>,
    pub removals: Vec<Removal<'a>>,
    /// Per host (spec order): profile and spec hash of its nodes.
    pub made_from: Vec<(NodeProfile, String)>,
    pub host_names: Vec<&'a str>,
    pub addresses: AddressPlan,
    /// Classic mode with TLS: the CA's container (host, name) that signs new nodes'
    /// certificates; set by the classic planner.
    pub classic_ca: Option<(String, String)>,
}

impl Nodes<'_> {
    /// The ring2net address swarm2 reaches node `name` at: its slot's fixed address, else
    /// (a node on its way out) the fixed address of its index, else the observed one.
    pub(crate) fn address_of(&self, name: &str) -> Ipv4Addr {
        if let Some(s) = self.slots.iter().find(|s| s.name == name) {
            return s.address;
        }
        let removal = self.removals.iter().find(|r| r.container.name == name);
        removal
            .and_then(|r| r.index.and_then(|i| self.addresses.node(r.host, i)))
            .or_else(|| removal.and_then(|r| r.container.ring2net_ip.as_deref()?.parse().ok()))
            .unwrap_or(Ipv4Addr::UNSPECIFIED)
    }
}

/// Node `index` of the host at `host`'s fixed address. Validation makes room for every
/// node of the spec; the unspecified address stands in for a spec that skipped it.
fn fixed_address(addresses: &AddressPlan, host: usize, index: u32) -> Ipv4Addr {
    addresses.node(host, index).unwrap_or(Ipv4Addr::UNSPECIFIED)
}

pub(crate) fn analyse<'a>(spec: &Spec, checked: &Checked<'a>, out: &mut Builder) -> Nodes<'a> {
    let mut nodes = Nodes {
        slots: Vec::with_capacity(spec.total_nodes() as usize),
        removals: Vec::new(),
        made_from: Vec::with_capacity(checked.hosts.len()),
        host_names: checked.hosts.iter().map(|h| h.spec.name.as_str()).collect(),
        addresses: AddressPlan::of(spec),
        classic_ca: None,
    };
    // Hosts that share an engine list the same containers: each is handled once.
    let mut seen = BTreeSet::new();
    let mut profile_notes: Vec<(String, Vec<&str>)> = Vec::new();
    for (pos, h) in checked.hosts.iter().enumerate() {
        let host = h.spec.name.as_str();
        let (profile, why) = resolve_profile(spec, Some(h.facts));
        let hash = node_spec_hash_with_preload(
            &spec.swarm2.image,
            &profile,
            &spec.network.name,
            &dockerd_args(spec),
            &preload_texts(spec),
        );
        let wanted = h.spec.nodes;
        // With `privileged: auto`, the bounding set is read from a container of an image on
        // the host. A host that gets its first image in this plan could not be read yet: its
        // nodes wait for the next pass rather than run with a guessed profile (privileged on
        // a host that refuses it fails for good).
        let node_image = spec.swarm2.image.canonical();
        let unprobed = wanted > 0
            && spec.swarm2.privileged == Privileged::Auto
            && h.facts.cap_bnd.is_none()
            && !h
                .facts
                .images
                .iter()
                .any(|i| ImageRef::parse(i).canonical() == node_image);
        if unprobed {
            out.note(format!(
                "nodes on host {host} are created in a later pass: with privileged: auto sis \
                 reads the host's capability bounding set from a container of the node image, \
                 which this plan brings to the host first"
            ));
        } else if wanted > 0 {
            let how = match &profile {
                NodeProfile::Privileged => format!("run privileged ({why})"),
                other => format!("run with the {other} ({why})"),
            };
            match profile_notes.iter_mut().find(|(h, _)| *h == how) {
                Some((_, hosts)) => hosts.push(host),
                None => profile_notes.push((how, vec![host])),
            }
            capacity_warnings(host, h.facts, wanted, out);
        }

        let mut by_index: BTreeMap<u32, &ContainerObservation> = BTreeMap::new();
        let node_containers = h
            .facts
            .containers
            .iter()
            .filter(|c| c.is_node() && seen.insert(c.id.as_str()));
        for c in node_containers {
            let index = c
                .label(labels::INDEX)
                .and_then(|i| i.parse::<u32>().ok())
                .filter(|i| *i >= 1);
            let problem = match (c.label(labels::HOST), index) {
                (Some(owner), _) if owner != host => Some(if spec.host(owner).is_some() {
                    format!("made for host {owner} but found on host {host}")
                } else {
                    format!("made for host {owner}, which is not in the spec")
                }),
                (None, _) => Some(format!("no {} label", labels::HOST)),
                (_, None) => Some(format!(
                    "no valid {} label ({})",
                    labels::INDEX,
                    c.label(labels::INDEX).unwrap_or("missing")
                )),
                (_, Some(i)) if c.name != labels::node_name(&spec.name, host, i) => Some(format!(
                    "named {}, but node {i} of host {host} is {}",
                    c.name,
                    labels::node_name(&spec.name, host, i)
                )),
                (_, Some(i)) if by_index.contains_key(&i) => {
                    Some(format!("a second container for node {i}"))
                }
                (_, Some(i)) => {
                    by_index.insert(i, c);
                    None
                }
            };
            if let Some(reason) = problem {
                nodes.removals.push(Removal {
                    host: pos,
                    index: None,
                    container: c,
                    reason,
                    deferred: false,
                });
            }
        }

        let has = by_index.len();
        let count = format!("spec wants {wanted}, host has {has}");
        for index in 1..=wanted {
            let name = labels::node_name(&spec.name, host, index);
            let container = by_index.get(&index).copied();
            let address = fixed_address(&nodes.addresses, pos, index);
            let (fate, reason) = match container {
                None if unprobed => (Fate::Wait, String::new()),
                None => (Fate::Create, count.clone()),
                Some(c) if c.label(labels::SPEC_HASH) != Some(hash.as_str()) => {
                    (Fate::Replace, drift(spec, c, &hash))
                }
                Some(c) if c.is_running() && moved(c, address) => (
                    Fate::Replace,
                    format!(
                        "its address on {} is {}, not its fixed {address}",
                        spec.network.name,
                        c.ring2net_ip.as_deref().unwrap_or_default()
                    ),
                ),
                Some(c) => match c.state.as_str() {
                    "running" => (Fate::Keep, String::new()),
                    "exited" => (Fate::Start, "container is exited".to_string()),
                    "created" => (
                        Fate::Start,
                        "container was created but not started".to_string(),
                    ),
                    "dead" => (Fate::Replace, format!("container is {}", c.state)),
                    // Paused on purpose (`sis chaos pause`, `docker pause`): replacing it
                    // would throw away its swarm2 state, so it is left for its unpausing.
                    "paused" => {
                        out.warn(format!(
                            "node {name} on host {host} is paused; sis leaves it alone: `sis chaos FILE heal` or `docker unpause {name}` resumes it"
                        ));
                        (Fate::Wait, String::new())
                    }
                    other => {
                        out.warn(format!(
                            "node {name} on host {host} is {other}; sis leaves it alone this time: run again once it settles"
                        ));
                        (Fate::Wait, String::new())
                    }
                },
            };
            nodes.slots.push(Slot {
                host: pos,
                index,
                name,
                address,
                container,
                fate,
                reason,
            });
        }
        for (&index, &c) in by_index.range(wanted + 1..).rev() {
            nodes.removals.push(Removal {
                host: pos,
                index: Some(index),
                container: c,
                reason: count.clone(),
                deferred: false,
            });
        }
        nodes.made_from.push((profile, hash));
    }
    for (how, hosts) in profile_notes {
        let s = if hosts.len() == 1 { "" } else { "s" };
        out.note(format!("nodes on host{s} {} {how}", hosts.join(", ")));
    }
    nodes
}

/// Whether a running container is observed at another ring2net address than `address`
/// (one made before addresses were fixed, or attached by hand).
pub(crate) fn moved(c: &ContainerObservation, address: Ipv4Addr) -> bool {
    c.ring2net_ip
        .as_deref()
        .filter(|ip| !ip.is_empty())
        .is_some_and(|ip| ip.parse() != Ok(address))
}

/// The node's dockerd arguments: the spec's, and in classic mode the K/V store and the
/// listener on ring2net after them.
fn dockerd_args(spec: &Spec) -> Vec<String> {
    let mut args = spec.swarm2.args.clone();
    if spec.swarm2.mode == Swarm2Mode::Classic {
        args.extend(super::swarm2::classic::dockerd_args(spec));
    }
    args
}

/// `swarm2.preload` as written, as actions and the spec hash carry it.
fn preload_texts(spec: &Spec) -> Vec<String> {
    spec.swarm2
        .preload
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// Says what changed in a drifted node: the image when it differs, else the spec hash.
fn drift(spec: &Spec, c: &ContainerObservation, hash: &str) -> String {
    let image = &spec.swarm2.image;
    if !c.image.starts_with("sha256:") && ImageRef::parse(&c.image).canonical() != image.canonical()
    {
        return format!("drifted: image {} → {image}", c.image);
    }
    let what = if *image == c.image.as_str() {
        "profile, network, args or preload changed"
    } else {
        "image, profile, network, args or preload changed"
    };
    match c.label(labels::SPEC_HASH) {
        Some(old) => format!("drifted: spec hash {old} → {hash} ({what})"),
        None => format!(
            "drifted: no {} label, the spec's is {hash}",
            labels::SPEC_HASH
        ),
    }
}

fn capacity_warnings(host: &str, facts: &crate::HostFacts, wanted: u32, out: &mut Builder) {
    if facts.cpus > 0 && wanted > facts.cpus.saturating_mul(NODES_PER_CPU) {
        out.warn(format!(
            "host {host} has {} CPUs and may not hold {wanted} nodes calmly (sis counts on about {NODES_PER_CPU} idle nodes per CPU)",
            facts.cpus
        ));
    }
    let need = u64::from(wanted) * NODE_IDLE_MEMORY;
    if facts.memory_bytes > 0 && need > facts.memory_bytes {
        let gib = |b: u64| b as f64 / f64::from(1u32 << 30);
        out.warn(format!(
            "host {host} has {:.1} GiB of memory and may not hold {wanted} nodes calmly (an idle node takes about 50 MB: {:.1} GiB)",
            gib(facts.memory_bytes),
            gib(need)
        ));
    }
}

/// Emits node removals, creations and starts from the fates (after swarm2 had its say).
pub(crate) fn emit(spec: &Spec, nodes: &Nodes, out: &mut Builder) {
    // Per host: containers without a usable index first, then from the highest index down.
    let mut removals: Vec<(usize, Option<u32>, &str, &str)> = nodes
        .removals
        .iter()
        .filter(|r| !r.deferred)
        .map(|r| {
            (
                r.host,
                r.index,
                r.container.name.as_str(),
                r.reason.as_str(),
            )
        })
        .chain(
            nodes
                .slots
                .iter()
                .filter(|s| s.fate == Fate::Replace && s.container.is_some())
                .map(|s| (s.host, Some(s.index), s.name.as_str(), s.reason.as_str())),
        )
        .collect();
    removals.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| b.1.is_none().cmp(&a.1.is_none()))
            .then_with(|| b.1.cmp(&a.1))
            .then_with(|| a.2.cmp(b.2))
    });
    for (host, _, name, reason) in removals {
        out.push(
            Phase::NodesRemove,
            Action::RemoveNode {
                host: nodes.host_names[host].to_string(),
                name: name.to_string(),
            },
            reason,
        );
    }
    for s in &nodes.slots {
        let host = nodes.host_names[s.host].to_string();
        match s.fate {
            Fate::Create | Fate::Replace => {
                let (profile, hash) = &nodes.made_from[s.host];
                out.push(
                    Phase::Nodes,
                    Action::CreateNode {
                        host,
                        name: s.name.clone(),
                        index: s.index,
                        image: spec.swarm2.image.clone(),
                        profile: profile.clone(),
                        network: spec.network.name.clone(),
                        address: s.address,
                        args: dockerd_args(spec),
                        preload: spec.swarm2.preload.clone(),
                        spec_hash: hash.clone(),
                        tls: nodes.classic_ca.as_ref().map(|(ca_host, ca)| ClassicTls {
                            ca_host: ca_host.clone(),
                            ca: ca.clone(),
                            names: vec![s.address.to_string(), s.name.clone()],
                        }),
                    },
                    s.reason.clone(),
                );
            }
            Fate::Start => out.push(
                Phase::Nodes,
                Action::StartNode {
                    host,
                    name: s.name.clone(),
                },
                s.reason.clone(),
            ),
            Fate::Keep | Fate::Wait => {}
        }
    }
}
