//! Ownership labels and names: how sis recognises what it made. There is no state file;
//! observing lists containers by the `sis.cluster` label on every host.

/// The cluster a container, volume or network belongs to.
pub const CLUSTER: &str = "sis.cluster";
/// `node`, `kvstore`, `lock`, `agent` or `manager`.
pub const ROLE: &str = "sis.role";
/// The spec's host name the object was made for.
pub const HOST: &str = "sis.host";
/// A node's 1-based index on its host.
pub const INDEX: &str = "sis.index";
/// Hash of the spec parts the object was made from; a different hash means drift.
pub const SPEC_HASH: &str = "sis.spec-hash";
/// On swarm1's own spec (a swarm label, not a container's): the cluster whose apply ran
/// `swarm init`. Only such a swarm1 is ever left by `sis destroy --swarm1`.
pub const SWARM1_CREATED_BY: &str = "sis.swarm1-created-by";

pub const ROLE_NODE: &str = "node";
pub const ROLE_KVSTORE: &str = "kvstore";
pub const ROLE_LOCK: &str = "lock";
/// Classic mode: a node's `swarm join` agent, and the `swarm manage` container.
pub const ROLE_AGENT: &str = "agent";
pub const ROLE_MANAGER: &str = "manager";
/// On an agent: the node container it announces.
pub const NODE: &str = "sis.node";

/// How sis names what it makes: `<cluster>.<host>-<index>`, `<cluster>.kvstore`,
/// `<cluster>.sis-lock`. Defined beside the spec's name rules, so validation checks lengths
/// with the same functions.
pub use sis_spec::names::{
    agent_name, classic_manager_name, kvstore_name, lock_name, node_name, SEPARATOR,
};
