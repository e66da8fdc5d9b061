//! The capacity estimate per host: a note in every plan, a refusal when nodes cannot fit.

use std::collections::BTreeSet;

use sis_spec::Spec;

use super::checks::Checked;
use super::{Builder, PlanError, PlanOptions, PlanProblem};
use crate::capacity::{estimate, Estimate};
use crate::{labels, manager_slots};

/// Each host with nodes and known facts, and its estimate; refused (every host that does not
/// fit) unless `options` say to ignore it.
pub(super) fn check(
    spec: &Spec,
    checked: &Checked,
    options: &PlanOptions,
) -> Result<Vec<(String, Estimate)>, PlanError> {
    let slots = manager_slots(spec);
    let mut estimates = Vec::new();
    let mut problems = Vec::new();
    for h in checked.hosts.iter().filter(|h| h.spec.nodes > 0) {
        let wanted = h.spec.nodes;
        let existing: BTreeSet<u32> = h
            .facts
            .containers
            .iter()
            .filter(|c| c.label(labels::ROLE) == Some(labels::ROLE_NODE))
            .filter_map(|c| c.label(labels::INDEX)?.parse().ok())
            .collect();
        let new_nodes = (1..=wanted).filter(|i| !existing.contains(i)).count();
        let new_managers = slots
            .iter()
            .filter(|(host, i)| host == h.name() && !existing.contains(i))
            .count();
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let floor = spec.disk_floor(h.name());
        let Some(e) = estimate(
            h.facts,
            wanted,
            count(new_nodes),
            count(new_managers),
            floor,
        ) else {
            continue;
        };
        let exceeded = e.exceeded();
        if !exceeded.is_empty() && !options.ignore_capacity {
            problems.push(PlanProblem::Capacity {
                host: h.name().to_string(),
                nodes: wanted,
                estimate: e.describe(true),
                exceeded: exceeded.iter().map(|r| r.to_string()).collect(),
                largest_fit: e.largest_fit(),
            });
        }
        estimates.push((h.name().to_string(), e));
    }
    if problems.is_empty() {
        Ok(estimates)
    } else {
        Err(PlanError { problems })
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
