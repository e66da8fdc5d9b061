//! swarm2 in swarm mode (`swarm init` + `swarm join`): init, joins, manager roles, and the
//! entries of nodes that go away.
//!
//! Terms used here:
//! - an *entry* is a line of swarm2's node list; its hostname is the node's container name;
//! - a node with any entry is *in swarm2* and is not joined again (that leaves ghosts).
//!   `ready` is in; `unknown` and `disconnected` are taken as in, passing states; `down` of a
//!   stopped container is in (it comes back with its state when started); `down` of a running
//!   container gets a warning and no action: it may be recovering;
//! - a *ghost* is an entry whose hostname is no node container that stays, or a non-ready
//!   duplicate of a node's ready entry;
//! - the *acting manager* runs the joins, demotions and entry removals: a manager slot node
//!   that is a ready manager (swarm2's `via` first), else one promoted first. It stays, and is
//!   never demoted by the plan that uses it. When no manager slot node is in swarm2 (they are
//!   all new), another manager acts, or a ready worker is promoted to; the next run demotes it
//!   (the plan says so in a note).
//!
//! Quorum: the executor runs the shrink phase in plan order. Promotions come first, then
//! demotions of unreachable managers, then of reachable ones; a reachable manager is only
//! demoted while the reachable managers left still form a quorum of the managers left.
//! A demotion that would break that rule is deferred to a later run (with a warning), and a
//! node whose removal needs it stays until then.
//!
//! swarm2 is never initialised a second time (see [`held`]): when no manager answers with
//! the node list, the nodes' own swarm states decide; while any node that stays holds swarm
//! state, swarm2 waits, or — its quorum lost — is repaired from its freshest manager. When
//! members stay but none is ready (all `unknown` after a leader change), swarm2 waits too.
//! Only when no node that stays is a member at all is swarm2 initialised anew, and none of
//! the running nodes left its own state unread (it may hold swarm2's state).

use std::collections::{BTreeMap, BTreeSet};

use sis_spec::Spec;

mod held;
mod roles;

use crate::plan::nodes::{Fate, Nodes};
use crate::plan::{Builder, PlanError};
use crate::{
    labels, manager_slots, Action, LocalNodeState, Observed, Phase, Role, Swarm2LocalObservation,
    Swarm2Node, Swarm2Observation,
};

pub(crate) fn plan(
    spec: &Spec,
    observed: &Observed,
    nodes: &mut Nodes,
    out: &mut Builder,
) -> Result<(), PlanError> {
    // With no node wanted, swarm2 goes away with the containers: nothing to leave or clean.
    if spec.total_nodes() == 0 {
        return Ok(());
    }
    let managers: Vec<String> = manager_slots(spec)
        .iter()
        .map(|(host, index)| labels::node_name(&spec.name, host, *index))
        .collect();
    let Some(obs) = observed.swarm2.as_ref() else {
        if held::without_node_list(&observed.swarm2_locals, &managers, nodes, out) {
            return Ok(());
        }
        if held::unread(&observed.swarm2_unread, nodes, out) {
            return Ok(());
        }
        fresh(spec, &managers, nodes, out, "swarm2 does not exist yet");
        return Ok(());
    };
    let view = View::new(obs, &observed.swarm2_locals, nodes, &managers);
    if view.dies(nodes) {
        let first = &managers[0];
        out.note(format!(
            "swarm2: this plan removes or replaces every ready member ({} among them), so swarm2 is initialised anew on {first}",
            obs.via
        ));
        fresh(spec, &managers, nodes, out, "swarm2 is initialised anew");
        return Ok(());
    }
    if view.waits(nodes) {
        for holder in held::wait_for_members(&view, out) {
            hold(nodes, holder);
        }
        return Ok(());
    }
    ingress(spec, obs, nodes, out);
    let decided = view.decide(spec, obs, nodes, out)?;
    let deferred = decided.apply(&view, nodes, out);
    for holder in deferred {
        hold(nodes, holder);
    }
    Ok(())
}

/// A departing container stays until a later run.
fn hold(nodes: &mut Nodes, holder: Holder) {
    match holder {
        Holder::Removal(r) => nodes.removals[r].deferred = true,
        Holder::Slot(s) => nodes.slots[s].fate = Fate::Keep,
    }
}

/// swarm2's ingress network as the spec says, when the observation tells it differs.
fn ingress(spec: &Spec, obs: &Swarm2Observation, nodes: &Nodes, out: &mut Builder) {
    let Some(has) = obs.ingress else { return };
    if has == spec.swarm2.ingress {
        return;
    }
    let Some(via) = nodes.slots.iter().find(|s| s.name == obs.via) else {
        return;
    };
    let reason = if has {
        "spec says ingress: false, swarm2 has an ingress network"
    } else {
        "spec says ingress: true, swarm2 has no ingress network"
    };
    out.push(
        Phase::Swarm2Init,
        Action::SetSwarm2Ingress {
            manager: obs.via.clone(),
            manager_host: nodes.host_names[via.host].to_string(),
            enabled: spec.swarm2.ingress,
        },
        reason,
    );
}

/// `swarm init` on the first manager slot and every other node joined through it.
fn fresh(spec: &Spec, managers: &[String], nodes: &Nodes, out: &mut Builder, why: &str) {
    let first = &managers[0];
    // A first manager that waits (e.g. for its host's image) holds swarm2 back to a later pass.
    let Some(init) = nodes
        .slots
        .iter()
        .find(|s| s.name == *first && s.fate != Fate::Wait)
    else {
        return;
    };
    let init_host = nodes.host_names[init.host];
    out.push(
        Phase::Swarm2Init,
        Action::InitSwarm2 {
            host: init_host.to_string(),
            node: first.clone(),
            address: init.address,
        },
        format!("{why}; {first} is its first manager slot"),
    );
    if !spec.swarm2.ingress {
        out.push(
            Phase::Swarm2Init,
            Action::SetSwarm2Ingress {
                manager: first.clone(),
                manager_host: init_host.to_string(),
                enabled: false,
            },
            "spec says ingress: false; removed before nodes join, so none of them sets it up",
        );
    }
    for s in nodes
        .slots
        .iter()
        .filter(|s| s.name != *first && s.fate != Fate::Wait)
    {
        let slot = managers.iter().position(|m| *m == s.name);
        out.push(
            Phase::Swarm2Join,
            Action::JoinSwarm2 {
                host: nodes.host_names[s.host].to_string(),
                node: s.name.clone(),
                role: if slot.is_some() {
                    Role::Manager
                } else {
                    Role::Worker
                },
                manager: first.clone(),
                manager_host: init_host.to_string(),
                address: s.address,
                manager_address: init.address,
            },
            with_slot(
                format!("swarm2 is initialised on {first} in this plan"),
                slot,
                managers.len(),
            ),
        );
    }
}

pub(super) fn with_slot(reason: String, slot: Option<usize>, of: usize) -> String {
    match slot {
        Some(k) => format!("{reason}; manager slot {} of {of}", k + 1),
        None => reason,
    }
}

/// Best entry first: ready, then unknown/disconnected, then down; managers before workers.
fn rank(e: &Swarm2Node) -> (u8, bool, &str) {
    let status = match e.status.as_str() {
        "ready" => 0,
        "unknown" | "disconnected" => 1,
        "down" => 2,
        _ => 3,
    };
    (status, !e.is_manager(), e.id.as_str())
}

/// Where a departing container is held in [`Nodes`].
#[derive(Clone, Copy)]
enum Holder {
    Slot(usize),
    Removal(usize),
}

/// A node container removed by this plan (extra, stray, or the old one of a replaced slot).
struct Departing<'a> {
    name: &'a str,
    host: usize,
    running: bool,
    reason: &'a str,
    holder: Holder,
}

/// swarm2's entries indexed by the containers they belong to.
struct View<'a> {
    /// Entries by hostname, best first.
    entries: BTreeMap<&'a str, Vec<&'a Swarm2Node>>,
    slot_of: BTreeMap<&'a str, usize>,
    departing: Vec<Departing<'a>>,
    departing_of: BTreeMap<&'a str, usize>,
    managers: &'a [String],
    /// Nodes with entries none of which is ready, whose own state says they are in no swarm.
    outside: BTreeSet<&'a str>,
}

impl<'a> View<'a> {
    fn new(
        obs: &'a Swarm2Observation,
        locals: &'a BTreeMap<String, Swarm2LocalObservation>,
        nodes: &'a Nodes,
        managers: &'a [String],
    ) -> Self {
        let mut entries: BTreeMap<&str, Vec<&Swarm2Node>> = BTreeMap::new();
        for e in &obs.nodes {
            entries.entry(e.hostname.as_str()).or_default().push(e);
        }
        for list in entries.values_mut() {
            list.sort_by(|a, b| rank(a).cmp(&rank(b)));
        }
        let slot_of = nodes
            .slots
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), i))
            .collect();
        let mut departing: Vec<(usize, u32, Departing)> = nodes
            .removals
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let d = Departing {
                    name: r.container.name.as_str(),
                    host: r.host,
                    running: r.container.is_running(),
                    reason: r.reason.as_str(),
                    holder: Holder::Removal(i),
                };
                (r.host, r.index.unwrap_or(0), d)
            })
            .chain(nodes.slots.iter().enumerate().filter_map(|(i, s)| {
                let c = s.container.filter(|_| s.fate == Fate::Replace)?;
                let d = Departing {
                    name: s.name.as_str(),
                    host: s.host,
                    running: c.is_running(),
                    reason: s.reason.as_str(),
                    holder: Holder::Slot(i),
                };
                Some((s.host, s.index, d))
            }))
            .collect();
        departing.sort_by(|a, b| (a.0, a.1, a.2.name).cmp(&(b.0, b.1, b.2.name)));
        let departing: Vec<Departing> = departing.into_iter().map(|(_, _, d)| d).collect();
        let departing_of = departing
            .iter()
            .enumerate()
            .map(|(i, d)| (d.name, i))
            .collect();
        let outside = entries
            .iter()
            .filter(|(_, l)| !l.iter().any(|e| e.is_ready()))
            .filter(|(name, _)| {
                locals
                    .get(**name)
                    .is_some_and(|l| l.state == LocalNodeState::Inactive)
            })
            .map(|(name, _)| *name)
            .collect();
        View {
            outside,
            entries,
            slot_of,
            departing,
            departing_of,
            managers,
        }
    }

    fn best(&self, name: &str) -> Option<&'a Swarm2Node> {
        self.entries.get(name).and_then(|l| l.first().copied())
    }

    /// The slot of a node that stays with `fate`.
    fn staying(&self, nodes: &Nodes, name: &str, fate: Fate) -> bool {
        !self.departing_of.contains_key(name)
            && self
                .slot_of
                .get(name)
                .is_some_and(|&i| nodes.slots[i].fate == fate)
    }

    fn keep_ready(&self, nodes: &Nodes, name: &str) -> bool {
        self.staying(nodes, name, Fate::Keep) && self.best(name).is_some_and(|e| e.is_ready())
    }

    fn keep_ready_manager(&self, nodes: &Nodes, name: &str) -> bool {
        self.keep_ready(nodes, name) && self.best(name).is_some_and(|e| e.is_manager())
    }

    /// No node that stays is a member, whatever its entry's state: swarm2 does not outlive
    /// this plan.
    fn dies(&self, nodes: &Nodes) -> bool {
        !nodes.slots.iter().any(|s| {
            (self.staying(nodes, &s.name, Fate::Keep) || self.staying(nodes, &s.name, Fate::Start))
                && self.entries.contains_key(s.name.as_str())
                && !self.outside.contains(s.name.as_str())
        })
    }

    /// Members stay, but none of those that stay running is ready (every entry `unknown` for
    /// a moment after a leader change, or managers restarting): they are waited for, never
    /// replaced or joined again.
    fn waits(&self, nodes: &Nodes) -> bool {
        !nodes.slots.iter().any(|s| self.keep_ready(nodes, &s.name))
    }

    /// The running container of `name`, if any, and its host.
    fn running_host(&self, nodes: &Nodes, name: &str) -> Option<usize> {
        if let Some(&d) = self.departing_of.get(name) {
            let d = &self.departing[d];
            return d.running.then_some(d.host);
        }
        let s = &nodes.slots[*self.slot_of.get(name)?];
        s.container.filter(|c| c.is_running()).map(|_| s.host)
    }

    fn manager_slot(&self, name: &str) -> Option<usize> {
        self.managers.iter().position(|m| m == name)
    }
}
