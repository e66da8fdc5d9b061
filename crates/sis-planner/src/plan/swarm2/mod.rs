//! swarm2, by the mode the spec asks for (`swarm2.mode`): each mode is a sibling module, and
//! this is the one place that chooses between them.
//!
//! - [`swarm_mode`]: Docker swarm mode (`swarm init` + `swarm join`), planned from
//!   [`Observed::swarm2`](crate::Observed::swarm2);
//! - [`classic`]: standalone Swarm (`swarm manage` + `swarm join` agents over the K/V store),
//!   refused for now.
//!
//! A mode answers twice: [`check`] adds its refusals to the planner's checks, so they are
//! listed with every other problem, and [`plan`] plans its swarm2 from the fates of the nodes.

mod classic;
mod swarm_mode;

use sis_spec::{Spec, Swarm2Mode};

use super::nodes::Nodes;
use super::{Builder, PlanError, PlanProblem};
use crate::Observed;

/// The problems that keep the spec's mode from being planned at all.
pub(crate) fn check(spec: &Spec, problems: &mut Vec<PlanProblem>) {
    match spec.swarm2.mode {
        Swarm2Mode::Swarm => {}
        Swarm2Mode::Classic => classic::check(spec, problems),
    }
}

/// Plans swarm2 membership and roles in the spec's mode, after the nodes' fates are decided
/// (and before they are emitted: swarm2 may keep a node for its quorum).
pub(crate) fn plan(
    spec: &Spec,
    observed: &Observed,
    nodes: &mut Nodes,
    out: &mut Builder,
) -> Result<(), PlanError> {
    match spec.swarm2.mode {
        Swarm2Mode::Swarm => swarm_mode::plan(spec, observed.swarm2.as_ref(), nodes, out),
        Swarm2Mode::Classic => classic::plan(spec),
    }
}
