//! A swarm2 that is there but does not answer: never a second one.
//!
//! When no manager answers with the node list, the nodes' own swarm states (observed then)
//! decide. A node that holds swarm state (`active`, `pending`, `error`, `locked`) belongs to
//! swarm2, so `swarm init` elsewhere would make a second, empty swarm2. Instead:
//! - managers that report a swarm with no leader have lost quorum: the plan proposes the
//!   repair (`swarm init --force-new-cluster`) on the one with the newest raft log, which
//!   `sis apply` runs only when asked; the next passes promote and clean up as usual;
//! - otherwise swarm2 waits (managers restarting, an election going on).
//!
//! Either way, no node holding manager state is removed meanwhile.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use super::View;
use crate::plan::nodes::{Fate, Nodes};
use crate::plan::Builder;
use crate::{Action, Phase, Swarm2LocalObservation};

/// Plans swarm2 from the nodes' own states when no manager answered. Returns false when no
/// node that stays holds swarm state (swarm2 is then made as new).
pub(super) fn without_node_list(
    locals: &BTreeMap<String, Swarm2LocalObservation>,
    managers: &[String],
    nodes: &mut Nodes,
    out: &mut Builder,
) -> bool {
    // Running node containers with state, where they are held: (name, host, slot|removal).
    let mut holders: Vec<(&str, usize, &Swarm2LocalObservation, Place)> = Vec::new();
    for (i, s) in nodes.slots.iter().enumerate() {
        let running = s.container.is_some_and(|c| c.is_running());
        if let Some((name, l)) = locals
            .get_key_value(&s.name)
            .filter(|(_, l)| running && l.holds_state())
        {
            holders.push((name.as_str(), s.host, l, Place::Slot(i)));
        }
    }
    for (i, r) in nodes.removals.iter().enumerate() {
        let running = r.container.is_running();
        if let Some((name, l)) = locals
            .get_key_value(&r.container.name)
            .filter(|(_, l)| running && l.holds_state())
        {
            holders.push((name.as_str(), r.host, l, Place::Removal(i)));
        }
    }
    if holders.is_empty() {
        return false;
    }
    let slot_of = |name: &str| {
        managers
            .iter()
            .position(|m| m == name)
            .unwrap_or(usize::MAX)
    };
    let lost: Vec<_> = holders.iter().filter(|h| h.2.lost_quorum()).collect();
    // Where the repaired manager listens: its fixed address (a slot's), or the address it
    // runs at (a node on its way out).
    let address_of = |place: &Place| match place {
        Place::Slot(i) => Some(nodes.slots[*i].address),
        Place::Removal(i) => nodes.removals[*i]
            .container
            .ring2net_ip
            .as_deref()
            .and_then(|ip| ip.parse().ok()),
    };
    // Quorum is lost for good only when the managers that answer without a leader are fewer
    // than a majority of the manager set they name, and no stopped node of the cluster is
    // about to be started (it may be a manager that brings the quorum back on its own).
    // Otherwise a repair would fork swarm2 from managers that are only down for a while.
    let manager_set = lost
        .iter()
        .map(|h| h.2.remote_managers.len())
        .max()
        .unwrap_or(0);
    let starting: Vec<&str> = nodes
        .slots
        .iter()
        .filter(|s| s.fate == Fate::Start)
        .map(|s| s.name.as_str())
        .collect();
    let majority = manager_set / 2 + 1;
    let for_good = !lost.is_empty() && lost.len() < majority && starting.is_empty();
    let repair_on = lost
        .iter()
        .filter_map(|h| Some((*h, address_of(&h.3)?)))
        .min_by_key(|(h, _)| (Reverse(h.2.raft_time), slot_of(h.0), h.0))
        .filter(|_| for_good);
    if !lost.is_empty() && repair_on.is_none() {
        let why = if starting.is_empty() {
            format!(
                "{} of its {manager_set} managers answer, a majority: an election is going on",
                lost.len()
            )
        } else {
            format!(
                "stopped nodes are started first ({}); they may be the managers it misses",
                starting.join(", ")
            )
        };
        out.warn(format!(
            "swarm2 has no leader right now, but no repair is planned: {why}. Run sis again if it still has none"
        ));
    }
    if let Some((&(node, host, local, _), address)) = repair_on {
        let others: Vec<&str> = lost.iter().map(|h| h.0).collect();
        let others = others.join(", ");
        let newest = match local.raft_time {
            Some(t) => format!("its raft log is the newest (modified at Unix time {t})"),
            None => "no manager's raft log time is known".to_string(),
        };
        out.push(
            Phase::Swarm2Repair,
            Action::RepairSwarm2 {
                host: nodes.host_names[host].to_string(),
                node: node.to_string(),
                address,
            },
            format!(
                "swarm2 lost its quorum: its managers answer that it has no leader ({others}); {newest}"
            ),
        );
        out.warn(format!(
            "swarm2 has lost its quorum; the plan repairs it on {node} (swarm init --force-new-cluster: swarm2 keeps its ID and services, {node} is its only manager until the next passes promote the spec's managers). `sis apply --repair` runs it; `sis apply` alone changes nothing"
        ));
    } else if lost.is_empty() {
        let states: Vec<String> = holders
            .iter()
            .map(|h| format!("{} {}", h.0, h.2.state))
            .collect();
        let states = states.join(", ");
        out.warn(format!(
            "swarm2: no manager answers with its node list, yet nodes hold its state ({states}); nothing is initialised anew. Run sis again once its managers are back"
        ));
    }
    // Removing a node that holds manager state could cost swarm2 the state it is rebuilt from.
    for (name, _, local, place) in &holders {
        if !local.manager {
            continue;
        }
        match *place {
            Place::Slot(i) if nodes.slots[i].fate == Fate::Replace => {
                nodes.slots[i].fate = Fate::Keep;
                out.warn(format!(
                    "node {name} is replaced in a later run: it holds swarm2 manager state, and swarm2 does not answer"
                ));
            }
            Place::Removal(i) => {
                nodes.removals[i].deferred = true;
                out.warn(format!(
                    "node {name} is removed in a later run: it holds swarm2 manager state, and swarm2 does not answer"
                ));
            }
            Place::Slot(_) => {}
        }
    }
    true
}

/// No manager answered and no node that was read holds swarm state, but some running nodes
/// did not tell theirs in time: any of them may hold swarm2's state, so swarm2 is not
/// initialised anew, and none of them is replaced or removed meanwhile. Returns false when
/// every running node was read.
pub(super) fn unread(unread: &BTreeSet<String>, nodes: &mut Nodes, out: &mut Builder) -> bool {
    let mut names = Vec::new();
    for s in nodes.slots.iter_mut() {
        if unread.contains(&s.name) && s.container.is_some_and(|c| c.is_running()) {
            if s.fate == Fate::Replace {
                s.fate = Fate::Keep;
            }
            names.push(s.name.clone());
        }
    }
    for r in nodes.removals.iter_mut() {
        if unread.contains(&r.container.name) && r.container.is_running() {
            r.deferred = true;
            names.push(r.container.name.clone());
        }
    }
    if names.is_empty() {
        return false;
    }
    out.warn(format!(
        "swarm2: no manager answers with its node list, and {} running node(s) did not tell their own swarm state in time ({}); swarm2 is not initialised anew while they may hold it, and they are neither replaced nor removed. Run sis again once they answer",
        names.len(),
        names.join(", ")
    ));
    true
}

#[derive(Clone, Copy)]
enum Place {
    Slot(usize),
    Removal(usize),
}

/// Members stay but none is ready: nothing of swarm2 is planned (no joins, no replacement,
/// no entry removed), and no manager leaves meanwhile.
/// Returns the departing containers to hold.
pub(super) fn wait_for_members(view: &View, out: &mut Builder) -> Vec<super::Holder> {
    let states: Vec<String> = view
        .entries
        .iter()
        .filter(|(name, _)| view.slot_of.contains_key(*name))
        .filter_map(|(name, l)| l.first().map(|e| format!("{name} {}", e.status)))
        .collect();
    out.warn(format!(
        "swarm2: none of its members is ready for now ({}); they are waited for, not replaced. Run sis again in a moment",
        states.join(", ")
    ));
    let mut held = Vec::new();
    for d in &view.departing {
        let manager = view
            .entries
            .get(d.name)
            .is_some_and(|l| l.iter().any(|e| e.is_manager()));
        if !manager {
            continue;
        }
        held.push(d.holder);
        out.warn(format!(
            "node {} is removed in a later run: it is a swarm2 manager, and swarm2 has no ready member now",
            d.name
        ));
    }
    held
}
