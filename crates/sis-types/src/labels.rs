//! Ownership labels and names: how sis recognises what it made. There is no state file;
//! observing lists containers by the `sis.cluster` label on every host.

/// The cluster a container, volume or network belongs to.
pub const CLUSTER: &str = "sis.cluster";
/// `node`, `kvstore`, `lock`, `agent`, `manager` or `ca`.
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
/// Classic mode with TLS: the container that keeps the cluster's CA, created and never
/// started.
pub const ROLE_CA: &str = "ca";
/// Classic mode with TLS: on the CA's container, the CA's fingerprint; on a node or the
/// manager, the fingerprint of the CA that signed its certificate.
pub const CA: &str = "sis.ca";

/// Classic mode with TLS: where a node's and the manager's certificates are, in the names
/// dockerd and the docker CLI use (`ca.pem`, `cert.pem`, `key.pem`).
pub const TLS_DIR: &str = "/etc/sis/tls";
/// Inside the CA's container: `ca.pem` and `ca-key.pem`, and a client certificate under
/// `client/` for `docker --tlsverify` (`docker cp <cluster>.sis-ca:/tls/client DIR`).
pub const CA_DIR: &str = "/tls";

/// How sis names what it makes: `<cluster>.<host>-<index>`, `<cluster>.kvstore`,
/// `<cluster>.sis-lock`. Defined beside the spec's name rules, so validation checks lengths
/// with the same functions.
pub use sis_spec::names::{
    agent_name, classic_ca_name, classic_manager_name, kvstore_name, lock_name, node_name,
    SEPARATOR,
};
