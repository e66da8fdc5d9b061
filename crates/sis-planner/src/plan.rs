//! `plan()`: spec × observed → plan.

use sis_spec::Spec;

use crate::{Observed, Plan};

/// Why no plan can be made; every problem found is listed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .problems.join("\n"))]
pub struct PlanError {
    /// Each says what is wrong, where (host, network, node) and what to do.
    pub problems: Vec<String>,
}

/// Diffs `spec` against `observed`.
pub fn plan(spec: &Spec, observed: &Observed) -> Result<Plan, PlanError> {
    let _ = observed;
    Ok(Plan {
        cluster: spec.name.clone(),
        ..Plan::default()
    })
}

/// The plan that removes everything of the cluster that `observed` holds.
pub fn plan_destroy(spec: &Spec, observed: &Observed) -> Plan {
    let _ = observed;
    Plan {
        cluster: spec.name.clone(),
        ..Plan::default()
    }
}
