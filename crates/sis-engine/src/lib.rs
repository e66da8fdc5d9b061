//! The only code of sis that talks to Docker.
//!
//! [`HostEngine`] is the system boundary: the primitive operations on one host's engine that
//! observing and executing need. [`DockerHost`] implements it with bollard; [`fake::FakeHost`]
//! is an in-memory recording fake for unit tests of the executor's logic (never a substitute for
//! the real-engine tests). Swarm2 is driven through `docker` inside the node containers via exec
//! ([`swarm2`]): nodes expose no TCP API.

mod error;
mod trait_def;

pub use error::EngineError;
pub use trait_def::*;
