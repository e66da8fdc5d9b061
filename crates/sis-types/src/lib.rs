//! The vocabulary sis's crates share, as plain data: what was observed on the hosts
//! ([`Observed`]), what to change ([`Action`], [`Plan`]), how sis names and labels what it
//! makes ([`labels`]), and how a node runs dockerd ([`NodeProfile`], [`node_spec_hash`]).
//!
//! No I/O and no planning logic live here: the planner (`sis-planner`) decides, the engine
//! (`sis-engine`) talks to Docker, and both depend on this crate rather than on each other.
//!
//! ```
//! use sis_types::{labels, Action, Mark};
//!
//! let name = labels::node_name("demo", "local", 7);
//! let action = Action::RemoveNode { host: "local".into(), name };
//! assert_eq!(action.mark(), Mark::Remove);
//! assert_eq!(action.describe(), "remove node demo.local-7 on host local");
//! ```

mod action;
pub mod labels;
mod limits;
mod observed;
mod profile;
mod states;

pub use action::*;
pub use limits::*;
pub use observed::*;
pub use profile::{
    missing_capabilities, node_spec_hash, node_spec_hash_with_preload, spec_hash_of, CAPABILITIES,
};
/// Image references and subnets are parsed by the spec crate; every layer passes these types.
pub use sis_spec::{ImageRef, Ipv4Net};
pub use states::{Availability, ContainerState, LocalNodeState, ManagerStatus, NodeStatus};
