//! The sis executor: runs plans against host engines and converges a cluster to its spec.
//!
//! - [`observe()`] looks at every host at once (and at swarm2 through one of its managers),
//! - [`execute()`] runs one plan: phase after phase, actions of a phase concurrently within
//!   per-host and swarm2-join bounds, transient errors retried ([`retry_after`]), every
//!   outcome kept,
//! - [`execute_until()`] runs one plan and starts no action past a deadline,
//! - [`converge()`] loops observe → plan → execute until the plan is empty
//!   ([`converge_targeted()`]: on some hosts only, [`Targets`]),
//! - [`Basis`] is what of an observation a plan depends on (saved plans check it).
//!
//! It is generic over [`sis_engine::HostEngine`]: the bollard engine in production and the
//! real-engine tests, an in-memory fake in unit tests of the logic here.

mod basis;
pub mod chaos;
mod converge;
mod deadline;
pub mod disk;
pub mod doctor;
mod events;
mod execute;
mod images;
pub mod kvprobe;
pub mod lock;
mod observe;
mod observe_classic;
mod owner;
pub mod pacing;
mod schedule;
mod steps;
mod target;

pub use basis::{fnv64, Basis};
pub use converge::{converge, converge_targeted, ConvergeOptions, ConvergeReport, Ending};
pub use deadline::execute_until;
pub use events::{Event, Milestone, Outcome, Progress, Silent};
pub use execute::{execute, retry_after, ExecOptions, PassReport};
pub use kvprobe::probe_kvstore;
pub use observe::{error_chain, observe, Hosts};
pub use target::Targets;
