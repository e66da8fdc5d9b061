//! swarm2 in classic mode: standalone Swarm, a `swarm manage` container and a `swarm join`
//! agent per node, finding each other through the K/V store. Not planned yet: the spec is
//! refused with the same words wherever the planner meets it.

use sis_spec::Spec;

use crate::plan::{PlanError, PlanProblem};

/// Refuses classic mode among the planner's checks, so the problem is listed with the others.
pub(crate) fn check(_spec: &Spec, problems: &mut Vec<PlanProblem>) {
    problems.push(PlanProblem::ClassicMode);
}

/// Not reached while [`check`] refuses; refuses too, so no classic spec is ever half-planned.
pub(crate) fn plan(_spec: &Spec) -> Result<(), PlanError> {
    Err(PlanError {
        problems: vec![PlanProblem::ClassicMode],
    })
}
