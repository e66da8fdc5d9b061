//! The sis planner: pure, synchronous and deterministic.
//!
//! [`plan`] diffs a [`sis_spec::Spec`] against an [`Observed`] state and returns a [`Plan`]:
//! ordered [`Phase`]s of fully resolved [`Action`]s, each with a reason. No I/O, no clock,
//! no randomness: the same inputs give byte-identical output, so plans can be snapshot-tested,
//! reviewed offline (`sis plan --observed`) and replayed by nobody — the executor observes and
//! plans again on every pass.

mod action;
pub mod labels;
mod observed;

pub use action::*;
pub use observed::*;
mod plan;
mod render;
mod resolve;

pub use plan::{plan, plan_destroy, PlanError};
pub use render::render_text;
pub use resolve::{
    manager_slots, missing_capabilities, node_spec_hash, resolve_profile, CAPABILITIES,
};
