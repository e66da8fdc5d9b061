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

use super::nodes::{Fate, Nodes};
use super::{Builder, PlanError};
use crate::{labels, manager_slots, Observed};

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
            swarm_mode::plan(spec, observed, nodes, out)?
        }
        Swarm2Mode::Classic => classic::plan(spec, observed, nodes, out),
    }
    mass_replacement(spec, nodes, out);
    Ok(())
}

/// Replacing every manager or most nodes at once takes swarm2's state (services, entries,
/// the cluster itself when no manager stays) with them: the plan says so, and `sis apply`
/// runs it only when allowed explicitly.
fn mass_replacement(spec: &Spec, nodes: &Nodes, out: &mut Builder) {
    let replaced: Vec<&str> = nodes
        .slots
        .iter()
        .filter(|s| s.fate == Fate::Replace && s.container.is_some())
        .map(|s| s.name.as_str())
        .collect();
    if replaced.is_empty() {
        return;
    }
    let managers: Vec<String> = manager_slots(spec)
        .iter()
        .map(|(host, index)| labels::node_name(&spec.name, host, *index))
        .collect();
    let every_manager =
        !managers.is_empty() && managers.iter().all(|m| replaced.contains(&m.as_str()));
    let total = nodes.slots.len();
    if !every_manager && replaced.len() * 2 <= total {
        return;
    }
    let what = if every_manager {
        "every swarm2 manager"
    } else {
        "more than half of the nodes"
    };
    out.warn(format!(
        "this plan replaces (removes and creates again) {what}: {} of {total} nodes; `sis apply` runs it only with --allow-replace-all",
        replaced.len()
    ));
    out.mark_replaces_most();
}
