//! The planner's integration tests: snapshots of recorded situations, a model of the hosts
//! that plans are applied to, and properties over random specs and states.

mod behaviour;
mod capacity;
mod cases;
mod classic;
mod model;
mod ownership;
mod properties;
mod snapshots;
mod swarm2_safety;
