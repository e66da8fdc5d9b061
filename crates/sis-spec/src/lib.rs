//! The sis cluster spec (version 1): what a user writes in `cluster.yaml`.
//!
//! A spec names the hosts of swarm1 and how many dind nodes each runs, the overlay
//! network those nodes share (the seed's `ring2net`), where the K/V store goes, and
//! how swarm2 is formed. [`load`] reads and validates a file, [`parse_str`] does the
//! same for text; both report every problem at once, each with the `file:line:column`
//! it comes from, sorted by position.
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
//! assert_eq!(spec.hosts[0].endpoint, "unix:///var/run/docker.sock");
//! ```
//!
//! A spec with mistakes yields all of them:
//!
//! ```
//! let err = sis_spec::parse_str("cluster.yaml", "
//! version: 1
//! name: demo
//! hosts:
//!   - name: local
//!     nodez: 3
//! network:
//!   name: ring2net
//!   subnet: 10.9.0.0/33
//! swarm2:
//!   managers: two
//! ").unwrap_err();
//! assert_eq!(err.to_string(), "\
//! cluster.yaml:6:5: hosts[0]: unknown key \"nodez\" (did you mean \"nodes\"?); \
//! allowed keys: name, endpoint, tls, ssh, nodes, advertise_addr, disk_floor
//! cluster.yaml:11:13: swarm2.managers: expected an integer, found a string (\"two\")");
//! ```
//!
//! Shape problems (keys, types, allowed values) come first; the meaning of a spec
//! (such as the `/33` above) is checked once its shape is right.
//!
//! [`json_schema`] describes the same format for editors; it is checked in as
//! `docs/sis.schema.json`.

pub mod addresses;
mod error;
mod image;
pub mod names;
mod parse;
mod rules;
mod shape;
mod suggest;
mod types;
mod validate;
mod yaml;

pub use error::{SpecError, SpecProblem};
pub use image::ImageRef;
pub use ipnet::Ipv4Net;
pub use parse::{load, parse_str};
pub use rules::{parse_size, CAPABILITIES};
pub use types::*;

/// The JSON Schema of the spec, as printed by `sis schema` and checked in as
/// `docs/sis.schema.json`.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Spec)).expect("a schema is always valid JSON")
}

/// [`json_schema`] as the text of `docs/sis.schema.json`: pretty-printed, ending in a newline.
pub fn json_schema_text() -> String {
    let mut text =
        serde_json::to_string_pretty(&json_schema()).expect("a schema is always valid JSON");
    text.push('\n');
    text
}
