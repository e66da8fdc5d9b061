//! `plan()`: spec × observed → plan, and `plan_destroy()`.
//!
//! The work is split by what it decides: [`checks`] refuses states the planner must not
//! touch, [`infra`] plans swarm1, images, ring2net and the K/V store, [`nodes`] decides the
//! fate of every node slot, and [`swarm2`] plans membership and roles from those fates, in
//! the spec's swarm2 mode.

mod capacity;
mod checks;
mod destroy;
mod infra;
mod nodes;
mod problem;
mod swarm2;

use std::collections::BTreeMap;

use sis_spec::Spec;

use crate::{Action, Observed, Phase, Plan, PlanPhase, PlannedAction};

pub use destroy::{plan_destroy, DestroyOptions};
pub use problem::{PlanError, PlanProblem, SwarmIdentity};

/// Diffs `spec` against `observed`.
///
/// Pure and deterministic: the same inputs give the same plan, byte for byte once serialized.
/// Refuses (with every problem found) when a host is unreachable or in a state the planner
/// must not change on its own: another swarm, a network of the same name that does not fit.
pub fn plan(spec: &Spec, observed: &Observed) -> Result<Plan, PlanError> {
    plan_with(spec, observed, &PlanOptions::default())
}

/// What a plan may overlook.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// Plan a spec whose nodes do not fit a host's cores, memory or free disk (by
    /// [`crate::capacity::estimate`]); the estimate then comes as a warning.
    pub ignore_capacity: bool,
}

/// [`plan`], with `options`.
pub fn plan_with(
    spec: &Spec,
    observed: &Observed,
    options: &PlanOptions,
) -> Result<Plan, PlanError> {
    let checked = checks::check(spec, observed)?;
    let estimates = capacity::check(spec, &checked, options)?;
    let mut out = Builder::default();
    infra::swarm1(&checked, &mut out);
    infra::images(spec, &checked, &mut out);
    infra::network(spec, &checked, &mut out);
    infra::kvstore(spec, &checked, &mut out);
    let mut nodes = nodes::analyse(spec, &checked, &mut out);
    swarm2::plan(spec, observed, &mut nodes, &mut out)?;
    nodes::emit(spec, &nodes, &mut out);
    capacity::emit(estimates, &mut out);
    Ok(out.finish(&spec.name))
}

/// Collects actions by phase, notes and warnings while the plan is made.
#[derive(Default)]
pub(crate) struct Builder {
    phases: BTreeMap<Phase, Vec<PlannedAction>>,
    notes: Vec<String>,
    warnings: Vec<String>,
    replaces_most: bool,
}

impl Builder {
    /// The plan replaces every manager or most nodes: `sis apply` asks for a flag.
    pub(crate) fn mark_replaces_most(&mut self) {
        self.replaces_most = true;
    }

    pub(crate) fn push(&mut self, phase: Phase, action: Action, reason: impl Into<String>) {
        self.phases.entry(phase).or_default().push(PlannedAction {
            action,
            reason: reason.into(),
        });
    }

    pub(crate) fn note(&mut self, note: String) {
        self.notes.push(note);
    }

    pub(crate) fn warn(&mut self, warning: String) {
        self.warnings.push(warning);
    }

    pub(crate) fn finish(mut self, cluster: &str) -> Plan {
        let phases = Phase::ALL
            .iter()
            .filter_map(|phase| {
                let actions = self.phases.remove(phase)?;
                (!actions.is_empty()).then_some(PlanPhase {
                    phase: *phase,
                    actions,
                })
            })
            .collect();
        Plan {
            cluster: cluster.to_string(),
            phases,
            notes: self.notes,
            warnings: self.warnings,
            replaces_most: self.replaces_most,
        }
    }
}
