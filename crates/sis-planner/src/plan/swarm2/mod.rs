//! swarm2, by the mode the spec asks for (`swarm2.mode`): each mode is a sibling module, and
//! this is the one place that chooses between them.
//!
//! - [`swarm_mode`]: Docker swarm mode (`swarm init` + `swarm join`), planned from
//!   [`Observed::swarm2`](crate::Observed::swarm2);
//! - [`classic`]: standalone Swarm (`swarm manage` + `swarm join` agents over the K/V store),
//!   planned from the containers observed.
//!
//! [`plan`] plans the mode's swarm2 from the fates of the nodes.

pub(crate) mod classic;
mod swarm_mode;

use sis_spec::{Spec, Swarm2Mode};

use super::nodes::Nodes;
use super::{Builder, PlanError};
use crate::Observed;

/// Plans swarm2 membership and roles in the spec's mode, after the nodes' fates are decided
/// (and before they are emitted: swarm2 may keep a node for its quorum).
pub(crate) fn plan(
    spec: &Spec,
    observed: &Observed,
    nodes: &mut Nodes,
    out: &mut Builder,
) -> Result<(), PlanError> {
    match spec.swarm2.mode {
        Swarm2Mode::Swarm => {
            classic::remove_all(spec, observed, out);
            swarm_mode::plan(spec, observed.swarm2.as_ref(), nodes, out)
        }
        Swarm2Mode::Classic => {
            classic::plan(spec, observed, nodes, out);
            Ok(())
        }
    }
}
