//! The names sis gives the containers it makes (they double as hostnames). They are
//! computed here, beside the name rules they rely on, so validation can check a name's
//! length against the very function that makes it; `sis_types::labels` re-exports them.

/// Between the cluster name and the rest of every name sis gives. Cluster and host names
/// are `[a-z0-9-]` (see the name rules), so no cluster's names contain it in another
/// place: cluster `a` with host `b-c` and cluster `a-b` with host `c` name their first
/// nodes `a.b-c-1` and `a-b.c-1`. Docker accepts it in container names and hostnames, and
/// its embedded DNS resolves such names on a user-defined network.
pub const SEPARATOR: char = '.';

/// Container name (and hostname) of node `index` (1-based) of `host`: `demo.local-7`.
pub fn node_name(cluster: &str, host: &str, index: u32) -> String {
    format!("{cluster}{SEPARATOR}{host}-{index}")
}

/// Container name (and hostname) of the K/V store: `demo.kvstore`.
pub fn kvstore_name(cluster: &str) -> String {
    format!("{cluster}{SEPARATOR}kvstore")
}

/// Container name of the classic Swarm agent (`swarm join`) of a node: `demo.local-7.agent`.
pub fn agent_name(cluster: &str, host: &str, index: u32) -> String {
    format!("{}{SEPARATOR}agent", node_name(cluster, host, index))
}

/// Container name (and hostname) of classic Swarm's manager: `demo.manager`.
pub fn classic_manager_name(cluster: &str) -> String {
    format!("{cluster}{SEPARATOR}manager")
}

/// Container that keeps classic mode's CA (created, never started): `demo.sis-ca`.
pub fn classic_ca_name(cluster: &str) -> String {
    format!("{cluster}{SEPARATOR}sis-ca")
}

/// Name of the cluster's apply lock container: `demo.sis-lock`.
pub fn lock_name(cluster: &str) -> String {
    format!("{cluster}{SEPARATOR}sis-lock")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_clusters_whose_names_run_together_stay_apart() {
        assert_eq!(node_name("a", "b-c", 1), "a.b-c-1");
        assert_eq!(node_name("a-b", "c", 1), "a-b.c-1");
        assert_ne!(node_name("a", "b-c", 1), node_name("a-b", "c", 1));
        assert_eq!(kvstore_name("demo"), "demo.kvstore");
        assert_ne!(kvstore_name("a"), node_name("a", "kvstore", 1));
        assert_eq!(lock_name("demo"), "demo.sis-lock");
        assert_eq!(agent_name("demo", "local", 7), "demo.local-7.agent");
        assert_ne!(classic_manager_name("a"), node_name("a", "manager", 1));
    }
}
