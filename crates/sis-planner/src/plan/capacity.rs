//! The capacity estimate per host: a note in every plan, a refusal when nodes cannot fit.

use std::collections::BTreeSet;

use sis_spec::Spec;

use super::checks::Checked;
use super::{Builder, PlanError, PlanOptions, PlanProblem};
use crate::capacity::{estimate, Estimate};
use crate::{labels, manager_slots};

/// Each machine with nodes and known facts, and its estimate; refused (every machine that
/// does not fit) unless `options` say to ignore it. Hosts that report the same machine (the
/// kernel's boot ID: lab hosts on one machine) share its cores, memory and disk: their nodes
/// are counted together, once.
pub(super) fn check(
    spec: &Spec,
    checked: &Checked,
    options: &PlanOptions,
) -> Result<Vec<(String, Estimate)>, PlanError> {
    let slots = manager_slots(spec);
    let mut estimates = Vec::new();
    let mut problems = Vec::new();
    // Machine → its hosts with nodes, in spec order; a host of unknown machine is its own.
    let mut machines: Vec<(String, Vec<&super::checks::HostView>)> = Vec::new();
    for h in checked.hosts.iter().filter(|h| h.spec.nodes > 0) {
        let key = match &h.facts.machine {
            Some(m) => format!("machine {m}"),
            None => format!("host {}", h.name()),
        };
        match machines.iter_mut().find(|(k, _)| *k == key) {
            Some((_, hosts)) => hosts.push(h),
            None => machines.push((key, vec![h])),
        }
    }
    for (_, hosts) in machines {
        let (mut wanted, mut new_nodes, mut new_managers) = (0u32, 0usize, 0usize);
        for h in &hosts {
            let (w, n, m) = counts(h, &slots);
            wanted += w;
            new_nodes += n;
            new_managers += m;
        }
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        // Hosts on one machine share its disk: the largest floor among them is kept free.
        let floor = hosts
            .iter()
            .map(|h| spec.disk_floor(h.name()))
            .max()
            .unwrap_or(0);
        let Some(e) = estimate(
            hosts[0].facts,
            wanted,
            count(new_nodes),
            count(new_managers),
            floor,
        ) else {
            continue;
        };
        let names: Vec<String> = hosts.iter().map(|h| h.name().to_string()).collect();
        let exceeded = e.exceeded();
        if !exceeded.is_empty() && !options.ignore_capacity {
            problems.push(PlanProblem::Capacity {
                host: names[0].clone(),
                shared_with: names[1..].to_vec(),
                nodes: wanted,
                estimate: e.describe(true),
                exceeded: exceeded.iter().map(|r| r.to_string()).collect(),
                largest_fit: e.largest_fit(),
            });
        }
        let label = if names.len() == 1 {
            names[0].clone()
        } else {
            format!("{} (one machine)", names.join(", "))
        };
        estimates.push((label, e));
    }
    if problems.is_empty() {
        Ok(estimates)
    } else {
        Err(PlanError { problems })
    }
}

/// A host's nodes: wanted, still to create, and swarm2 managers among those.
fn counts(h: &super::checks::HostView, slots: &[(String, u32)]) -> (u32, usize, usize) {
    {
        let wanted = h.spec.nodes;
        let existing: BTreeSet<u32> = h
            .facts
            .containers
            .iter()
            .filter(|c| c.is_node())
            .filter_map(|c| c.label(labels::INDEX)?.parse().ok())
            .collect();
        let new_nodes = (1..=wanted).filter(|i| !existing.contains(i)).count();
        let new_managers = slots
            .iter()
            .filter(|(host, i)| host == h.name() && !existing.contains(i))
            .count();
        (wanted, new_nodes, new_managers)
    }
}

/// A note per host; a warning instead for a host that does not fit (planned anyway).
pub(super) fn emit(estimates: Vec<(String, Estimate)>, out: &mut Builder) {
    for (host, e) in estimates {
        let exceeded = e.exceeded();
        if exceeded.is_empty() {
            out.note(format!("capacity of host {host}: {}", e.describe(false)));
        } else {
            out.warn(format!(
                "host {host} does not fit its nodes ({} exceeded), planned anyway (--ignore-capacity): {}",
                exceeded.join(" and "),
                e.describe(true)
            ));
        }
    }
}
