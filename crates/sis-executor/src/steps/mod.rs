//! One module per kind of step: how each action is carried out through the engines. Each
//! takes the pass (engines, cluster, bounds) and the action's resolved values; none chooses
//! anything the plan has not said.

pub(crate) mod classic;
pub(crate) mod images;
pub(crate) mod kvstore;
pub(crate) mod network;
pub(crate) mod nodes;
pub(crate) mod swarm1;
pub(crate) mod swarm2;
