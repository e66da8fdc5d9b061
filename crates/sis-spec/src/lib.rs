//! The sis cluster spec (version 1): what a user writes in `cluster.yaml`.
//!
//! A spec names the hosts of swarm1 and how many dind nodes each runs, the overlay
//! network those nodes share (the seed's `ring2net`), where the K/V store goes, and
//! how swarm2 is formed. [`load`] reads and validates a file and reports every
//! problem at once, each with the `file:line:column` it comes from.
//!
//! ```
//! let spec = sis_spec::parse_str("cluster.yaml", "
//! version: 1
//! name: demo
//! hosts:
//!   - name: local
//!     nodes: 3
//! network:
//!   name: ring2net
//!   subnet: 10.9.0.0/16
//! ").unwrap();
//! assert_eq!(spec.total_nodes(), 3);
//! assert_eq!(spec.swarm2.managers, 1);
//! ```

mod error;
mod parse;
mod types;
mod validate;

pub use error::{SpecError, SpecProblem};
pub use parse::{load, parse_str};
pub use types::*;

/// The JSON Schema of the spec, as printed by `sis schema` and checked in as
/// `docs/sis.schema.json`.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Spec)).expect("a schema is always valid JSON")
}
