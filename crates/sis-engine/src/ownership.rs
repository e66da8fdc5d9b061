//! Whether an existing container of a name sis wants is the one sis would make: the same
//! cluster, role, host and index labels. Names alone prove nothing — a user's container, or
//! one of a cluster sis cannot tell from this one by name, may hold it — so a name conflict
//! only counts as "made by an earlier attempt" when the labels say so.

use std::collections::BTreeMap;

use sis_types::labels;

use crate::EngineError;

/// The labels that say which object of which cluster a container is.
const IDENTITY: [&str; 4] = [labels::CLUSTER, labels::ROLE, labels::HOST, labels::INDEX];

/// `Ok` when `existing` (the labels of the container named `name` on `endpoint`) carries
/// the identity labels `wanted` gives; otherwise the error that names whose it is.
pub(crate) fn claim(
    endpoint: &str,
    name: &str,
    wanted: &BTreeMap<String, String>,
    existing: &BTreeMap<String, String>,
) -> Result<(), EngineError> {
    let same = IDENTITY
        .iter()
        .all(|key| wanted.get(*key) == existing.get(*key));
    if same {
        return Ok(());
    }
    Err(EngineError::NotOurs {
        container: name.to_string(),
        endpoint: endpoint.to_string(),
        wanted: describe(wanted),
        found: describe(existing),
    })
}

/// `Ok` when `existing` carries `sis.cluster=<cluster>`: the only containers a removal for
/// `cluster` may touch.
pub(crate) fn claim_for_removal(
    endpoint: &str,
    name: &str,
    cluster: &str,
    existing: &BTreeMap<String, String>,
) -> Result<(), EngineError> {
    if existing.get(labels::CLUSTER).map(String::as_str) == Some(cluster) {
        return Ok(());
    }
    Err(EngineError::NotOurs {
        container: name.to_string(),
        endpoint: endpoint.to_string(),
        wanted: format!("a container of cluster {cluster}"),
        found: describe(existing),
    })
}

/// `node 2 of host b of cluster a`, `the kvstore of cluster a`, or `not made by sis`.
fn describe(labels_: &BTreeMap<String, String>) -> String {
    let get = |key: &str| labels_.get(key).map(String::as_str);
    let Some(cluster) = get(labels::CLUSTER) else {
        return format!("not made by sis (no {} label)", labels::CLUSTER);
    };
    match (get(labels::ROLE), get(labels::HOST), get(labels::INDEX)) {
        (Some(labels::ROLE_NODE), Some(host), Some(index)) => {
            format!("node {index} of host {host} of cluster {cluster}")
        }
        (Some(role), Some(host), _) => format!("the {role} of cluster {cluster} on host {host}"),
        (Some(role), None, _) => format!("the {role} of cluster {cluster}"),
        (None, _, _) => format!("a container of cluster {cluster}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(cluster: &str, host: &str, index: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            (labels::CLUSTER.to_string(), cluster.to_string()),
            (labels::ROLE.to_string(), labels::ROLE_NODE.to_string()),
            (labels::HOST.to_string(), host.to_string()),
            (labels::INDEX.to_string(), index.to_string()),
            (labels::SPEC_HASH.to_string(), "old".to_string()),
        ])
    }

    #[test]
    fn only_the_same_slot_of_the_same_cluster_is_claimed() {
        let wanted = node("a", "b-c", "1");
        assert!(claim("e", "a.b-c-1", &wanted, &node("a", "b-c", "1")).is_ok());
        let other = claim("e", "a.b-c-1", &wanted, &node("a-b", "c", "1")).unwrap_err();
        assert!(
            other
                .to_string()
                .contains("node 1 of host c of cluster a-b"),
            "{other}"
        );
        assert!(!other.is_transient());
        let user = claim("e", "a.b-c-1", &wanted, &BTreeMap::new()).unwrap_err();
        assert!(user.to_string().contains("not made by sis"), "{user}");
    }

    #[test]
    fn a_removal_needs_the_cluster_label() {
        assert!(claim_for_removal("e", "x", "a", &node("a", "h", "1")).is_ok());
        assert!(claim_for_removal("e", "x", "a", &node("a-b", "h", "1")).is_err());
        assert!(claim_for_removal("e", "x", "a", &BTreeMap::new()).is_err());
    }
}
