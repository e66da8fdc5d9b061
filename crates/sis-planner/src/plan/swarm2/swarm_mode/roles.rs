//! Roles in swarm2: the acting manager, promotions and demotions under the quorum rule,
//! leaves and entry removals of departing nodes, ghosts, and joins.

use std::collections::{BTreeMap, BTreeSet};

use sis_spec::Spec;

use super::{with_slot, Holder, View};
use crate::plan::nodes::{Fate, Nodes};
use crate::plan::{Builder, PlanError, PlanProblem};
use crate::{Action, NodeStatus, Phase, Role, Swarm2Node, Swarm2Observation};

/// What the plan does to swarm2, before deferrals are applied.
pub(super) struct Decided<'a> {
    /// The acting manager and its host.
    acting: (&'a str, usize),
    /// The manager that promotes in the shrink phase (the acting one unless that is promoted).
    promoter: (&'a str, usize),
    promote_in_shrink: bool,
    promote_now: Vec<(&'a Swarm2Node, String)>,
    promote_after_start: Vec<(&'a Swarm2Node, String)>,
    demote_unreachable: Vec<(&'a Swarm2Node, String)>,
    /// Reachable managers to demote, each with the departing node it belongs to, if any.
    demote_reachable: Vec<(&'a Swarm2Node, String, Option<usize>)>,
    ghosts: Vec<(&'a Swarm2Node, String)>,
    /// Slots to join, with the reason.
    joins: Vec<(usize, String)>,
}

impl<'a> View<'a> {
    pub(super) fn decide(
        &self,
        spec: &Spec,
        obs: &'a Swarm2Observation,
        nodes: &'a Nodes,
        out: &mut Builder,
    ) -> Result<Decided<'a>, PlanError> {
        let wanted = self.managers.len();
        let slot_name = |n: &String| nodes.slots[self.slot_of[n.as_str()]].name.as_str();
        let via = obs.via.as_str();
        let host_of = |name: &str| self.running_host(nodes, name).unwrap_or(0);

        // The acting manager: a manager slot node that is already a ready manager (swarm2's
        // `via` first), else one to promote; failing that, a manager that is not a slot, kept
        // until a later run, else any ready node, promoted for the time being.
        let slot_first = self.managers.iter().map(slot_name);
        let (acting, promote_acting, temporary) = if self.manager_slot(via).is_some()
            && self.keep_ready_manager(nodes, via)
        {
            (via, false, false)
        } else if let Some(n) = slot_first
            .clone()
            .find(|n| self.keep_ready_manager(nodes, n))
        {
            (n, false, false)
        } else if let Some(n) = slot_first.clone().find(|n| self.keep_ready(nodes, n)) {
            (n, true, false)
        } else if let Some(n) = std::iter::once(via)
            .chain(nodes.slots.iter().map(|s| s.name.as_str()))
            .find(|n| self.keep_ready_manager(nodes, n))
        {
            out.note(format!(
                "swarm2: {n} stays a manager until a manager slot node is one; a later run demotes it"
            ));
            (n, false, true)
        } else {
            let n = nodes
                .slots
                .iter()
                .map(|s| s.name.as_str())
                .find(|n| self.keep_ready(nodes, n))
                .expect("a swarm2 that does not die has a ready node that stays");
            out.note(format!(
                "swarm2: {n} is promoted to manage swarm2 until a manager slot node is in it; a later run demotes it"
            ));
            (n, true, true)
        };
        let promoter = if !promote_acting {
            acting
        } else {
            let ready_manager = |n: &&str| {
                self.running_host(nodes, n).is_some()
                    && self.best(n).is_some_and(|e| e.is_ready() && e.is_manager())
            };
            std::iter::once(via)
                .chain(nodes.slots.iter().map(|s| s.name.as_str()))
                .chain(self.departing.iter().map(|d| d.name))
                .find(ready_manager)
                .ok_or_else(|| {
                    PlanError::from(PlanProblem::NoReadySwarm2Manager {
                        via: via.to_string(),
                    })
                })?
        };
        let want_manager = |n: &str| self.manager_slot(n).is_some() || (n == acting && temporary);
        let slot_reason = |n: &str| match self.manager_slot(n) {
            Some(k) => format!(
                "spec wants {wanted} swarm2 managers; {n} is manager slot {}",
                k + 1
            ),
            None => {
                "manages swarm2 until a manager slot node does; a later run demotes it".to_string()
            }
        };

        let mut d = Decided {
            acting: (acting, host_of(acting)),
            promoter: (promoter, host_of(promoter)),
            promote_in_shrink: false,
            promote_now: Vec::new(),
            promote_after_start: Vec::new(),
            demote_unreachable: Vec::new(),
            demote_reachable: Vec::new(),
            ghosts: Vec::new(),
            joins: Vec::new(),
        };

        for (i, dep) in self.departing.iter().enumerate() {
            for e in self.entries.get(dep.name).into_iter().flatten() {
                if e.is_manager() {
                    let reason = format!("{} is removed: {}", dep.name, dep.reason);
                    if e.is_ready() && dep.running {
                        d.demote_reachable.push((e, reason, Some(i)));
                    } else {
                        d.demote_unreachable.push((e, reason));
                    }
                }
            }
        }
        let mut extra_demotions = Vec::new();
        for (i, s) in nodes.slots.iter().enumerate() {
            let name = s.name.as_str();
            if self.departing_of.contains_key(name)
                || matches!(s.fate, Fate::Create | Fate::Replace)
            {
                // Replaced and new nodes join; old entries go with the departing container.
                if matches!(s.fate, Fate::Create | Fate::Replace) {
                    let base = if s.fate == Fate::Create {
                        "new node"
                    } else {
                        "replaced node"
                    };
                    d.joins.push((i, base.to_string()));
                }
                continue;
            }
            if self.outside.contains(name) {
                // Its own state says it is in no swarm: its entries belong to a container
                // that is gone (removed and created again by hand, or lost with a repair).
                for e in self.entries.get(name).into_iter().flatten() {
                    d.ghosts.push((
                        e,
                        format!("ghost: {name} is in no swarm now (its own state is inactive)"),
                    ));
                }
                if s.fate != Fate::Wait {
                    d.joins.push((i, "node is in no swarm".to_string()));
                }
                continue;
            }
            let Some(entries) = self.entries.get(name).filter(|l| !l.is_empty()) else {
                if s.fate != Fate::Wait {
                    d.joins.push((i, "node is not in swarm2".to_string()));
                }
                continue;
            };
            let best = entries[0];
            let mut unclear = false;
            for e in &entries[1..] {
                if best.is_ready() && !e.is_ready() {
                    d.ghosts.push((
                        e,
                        format!("ghost: {} entry of {name}, which has a ready one", e.status),
                    ));
                } else {
                    unclear = true;
                }
            }
            if unclear {
                out.warn(format!(
                    "node {name} has {} entries in swarm2's node list that are not ghosts for sure; remove the stale one with `docker node rm ID` on a manager",
                    entries.len()
                ));
            }
            if s.fate == Fate::Keep && best.status == NodeStatus::Down {
                out.warn(format!(
                    "node {name} runs, but swarm2 reports it down; it may be recovering. If it stays down, remove its container: sis then creates it again"
                ));
            }
            let want = want_manager(name);
            if want && !best.is_manager() {
                if s.fate == Fate::Keep && best.is_ready() {
                    d.promote_now.push((best, slot_reason(name)));
                } else if s.fate == Fate::Start {
                    d.promote_after_start.push((best, slot_reason(name)));
                } else {
                    out.warn(format!(
                        "node {name} should be a swarm2 manager, but swarm2 reports it {}; run sis again once it is ready",
                        best.status
                    ));
                }
            } else if !want && best.is_manager() {
                let reason =
                    format!("spec wants {wanted} swarm2 managers; {name} is not a manager slot");
                if best.is_ready() {
                    extra_demotions.push((best, reason));
                } else {
                    d.demote_unreachable.push((best, reason));
                }
            }
        }
        // Entries of no node container that stays or departs.
        for (hostname, entries) in &self.entries {
            if self.departing_of.contains_key(hostname)
                || self.slot_of.get(hostname).is_some_and(|&i| {
                    matches!(nodes.slots[i].fate, Fate::Keep | Fate::Start | Fate::Wait)
                })
            {
                continue;
            }
            let reason = if hostname.is_empty() {
                "ghost: no hostname".to_string()
            } else if self.slot_of.contains_key(hostname) {
                format!("ghost: there is no container {hostname}")
            } else {
                format!(
                    "ghost: {hostname} is not a node container of cluster {}",
                    spec.name
                )
            };
            for e in entries {
                d.ghosts.push((e, reason.clone()));
            }
        }
        d.ghosts.sort_by(|a, b| a.0.id.cmp(&b.0.id));
        for (e, reason) in &d.ghosts {
            if e.is_manager() {
                if e.is_ready() {
                    extra_demotions.push((e, reason.clone()));
                } else {
                    d.demote_unreachable.push((e, reason.clone()));
                }
            }
        }
        d.demote_reachable
            .extend(extra_demotions.into_iter().map(|(e, r)| (e, r, None)));
        d.promote_in_shrink =
            promote_acting || !d.demote_unreachable.is_empty() || !d.demote_reachable.is_empty();
        Ok(d)
    }
}

impl<'a> Decided<'a> {
    /// Applies the quorum rule and emits the swarm2 actions; returns the departing
    /// containers that must stay until a later run.
    pub(super) fn apply(self, view: &View<'a>, nodes: &Nodes, out: &mut Builder) -> Vec<Holder> {
        let counts = |f: &dyn Fn(&Swarm2Node) -> bool| {
            view.entries.values().flatten().filter(|e| f(e)).count()
        };
        let mut members = counts(&|e| e.is_manager());
        let mut reachable = counts(&|e| e.is_manager() && e.is_ready());
        if self.promote_in_shrink {
            members += self.promote_now.len();
            reachable += self.promote_now.len();
        }
        members -= self.demote_unreachable.len();
        let mut demote_now = Vec::new();
        let mut deferred_departing = BTreeSet::new();
        for (e, reason, departing) in self.demote_reachable {
            if reachable > (members - 1) / 2 + 1 {
                members -= 1;
                reachable -= 1;
                demote_now.push((e, reason));
                continue;
            }
            match departing {
                Some(i) => {
                    deferred_departing.insert(i);
                    out.warn(format!(
                        "node {} is removed in a later run: it is a reachable swarm2 manager, and demoting it now would leave swarm2 without a quorum of reachable managers",
                        view.departing[i].name
                    ));
                }
                None => out.warn(format!(
                    "swarm2 entry {} stays a manager for now: demoting it would leave swarm2 without a quorum of reachable managers; a later run demotes it",
                    label(e)
                )),
            }
        }
        let deferred: Vec<Holder> = deferred_departing
            .iter()
            .map(|&i| view.departing[i].holder)
            .collect();
        let deferred_slots: BTreeSet<usize> = deferred
            .iter()
            .filter_map(|h| match h {
                Holder::Slot(s) => Some(*s),
                Holder::Removal(_) => None,
            })
            .collect();

        let host = |h: usize| nodes.host_names[h].to_string();
        let (acting, acting_host) = self.acting;
        let (promoter, promoter_host) = self.promoter;
        let names = NodeRefs::new(view);
        let promote = |e: &Swarm2Node, by: &str, by_host: usize| Action::PromoteSwarm2 {
            manager: by.to_string(),
            manager_host: host(by_host),
            node: names.of(e),
        };
        let mut shrink = Vec::new();
        let mut join = Vec::new();
        for (e, reason) in &self.promote_now {
            if self.promote_in_shrink {
                shrink.push((promote(e, promoter, promoter_host), reason.clone()));
            } else {
                join.push((promote(e, acting, acting_host), reason.clone()));
            }
        }
        for (e, reason) in self.demote_unreachable.iter().chain(&demote_now) {
            let action = Action::DemoteSwarm2 {
                manager: acting.to_string(),
                manager_host: host(acting_host),
                node: names.of(e),
            };
            shrink.push((action, reason.clone()));
        }
        let leaving =
            view.departing.iter().enumerate().filter(|(i, d)| {
                !deferred_departing.contains(i) && view.entries.contains_key(d.name)
            });
        let mut removals = Vec::new();
        for (_, dep) in leaving {
            let reason = format!("{} is removed: {}", dep.name, dep.reason);
            if dep.running {
                let action = Action::LeaveSwarm2 {
                    host: host(dep.host),
                    node: dep.name.to_string(),
                };
                shrink.push((action, reason.clone()));
            }
            for e in &view.entries[dep.name] {
                removals.push((*e, reason.clone()));
            }
        }
        for (e, reason) in removals.into_iter().chain(self.ghosts) {
            let action = Action::RemoveSwarm2Entry {
                manager: acting.to_string(),
                manager_host: host(acting_host),
                node_id: e.id.clone(),
                hostname: e.hostname.clone(),
            };
            shrink.push((action, reason));
        }

        let wanted = view.managers.len();
        for (i, base) in &self.joins {
            if deferred_slots.contains(i) {
                continue;
            }
            let s = &nodes.slots[*i];
            let slot = view.manager_slot(&s.name);
            let action = Action::JoinSwarm2 {
                host: host(s.host),
                node: s.name.clone(),
                role: if slot.is_some() {
                    Role::Manager
                } else {
                    Role::Worker
                },
                manager: acting.to_string(),
                manager_host: host(acting_host),
                address: s.address,
                manager_address: nodes.address_of(acting),
            };
            join.push((action, with_slot(base.clone(), slot, wanted)));
        }
        for (e, reason) in &self.promote_after_start {
            join.push((promote(e, acting, acting_host), reason.clone()));
        }
        for (action, reason) in shrink {
            out.push(Phase::Swarm2Shrink, action, reason);
        }
        for (action, reason) in join {
            out.push(Phase::Swarm2Join, action, reason);
        }
        deferred
    }
}

/// How actions name an entry for `docker node promote|demote`: its hostname when that is
/// unambiguous, else its ID.
struct NodeRefs<'a> {
    counts: BTreeMap<&'a str, usize>,
}

impl<'a> NodeRefs<'a> {
    fn new(view: &View<'a>) -> Self {
        NodeRefs {
            counts: view.entries.iter().map(|(h, l)| (*h, l.len())).collect(),
        }
    }

    fn of(&self, e: &Swarm2Node) -> String {
        if !e.hostname.is_empty() && self.counts.get(e.hostname.as_str()) == Some(&1) {
            e.hostname.clone()
        } else {
            e.id.clone()
        }
    }
}

fn label(e: &Swarm2Node) -> String {
    if e.hostname.is_empty() {
        e.id.clone()
    } else {
        format!("{} ({})", e.id, e.hostname)
    }
}
