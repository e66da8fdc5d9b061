//! The only code of sis that talks to Docker.
//!
//! [`HostEngine`] is the system boundary: the primitive operations on one host's engine that
//! observing and executing need. [`DockerHost`] implements it with bollard; `fake::FakeHost` (behind the `fake` feature)
//! is an in-memory recording fake for unit tests of the executor's logic (never a substitute for
//! the real-engine tests in `tests/`). swarm2's operations (`swarm2_*`) run `docker` inside the
//! node containers through exec: nodes expose no TCP API.
//!
//! ```no_run
//! use sis_engine::{DockerHost, HostEngine};
//!
//! # async fn demo() -> Result<(), sis_engine::EngineError> {
//! let host = DockerHost::connect("unix:///var/run/docker.sock", None)?
//!     .with_probe_image("docker:dind");
//! let facts = host.observe("demo", "ring2net").await?;
//! println!("{} runs {} containers of cluster demo", facts.endpoint, facts.containers.len());
//! # Ok(())
//! # }
//! ```

mod docker;
mod error;
#[cfg(any(test, feature = "fake"))]
pub mod fake;
#[cfg(any(test, feature = "fake"))]
mod fake_swarm2;
mod ownership;
mod trait_def;

pub use docker::{
    DockerHost, LabContainer, LabHostSpec, LabImage, LabNetwork, LabelledContainer, NodeVolume,
    SshPaths, TlsPaths, LOCK_IMAGE, LOCK_OWNER_LABEL, SAMPLER_PID,
};
pub use error::EngineError;
pub use trait_def::*;
