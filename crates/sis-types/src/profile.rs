//! How a node runs dockerd, and the hash of what a node is made from: values the planner
//! decides and the engine and the lab apply, so both sides agree.

use crate::NodeProfile;

/// Capability names by number, without the `CAP_` prefix (the spec's own table).
pub use sis_spec::CAPABILITIES;

/// Names of the capabilities `0..=last_cap` that the bounding set `cap_bnd` lacks.
pub fn missing_capabilities(cap_bnd: u64, last_cap: u32) -> Vec<String> {
    (0..=last_cap.min(CAPABILITIES.len() as u32 - 1))
        .filter(|bit| cap_bnd & (1u64 << bit) == 0)
        .map(|bit| CAPABILITIES[bit as usize].to_string())
        .collect()
}

/// Hash of what a node container is made from (`sis.spec-hash`): a node whose label differs
/// has drifted and is replaced. FNV-1a 64, stable across platforms and releases.
pub fn node_spec_hash(
    image: &str,
    profile: &NodeProfile,
    network: &str,
    args: &[String],
) -> String {
    node_spec_hash_with_preload(image, profile, network, args, &[])
}

/// [`node_spec_hash`] of a node that also gets the images `preload` (`swarm2.preload`). An
/// empty list leaves the hash as it was before preloading existed, so the nodes of existing
/// clusters are not replaced; a change to a non-empty list replaces the nodes.
pub fn node_spec_hash_with_preload(
    image: &str,
    profile: &NodeProfile,
    network: &str,
    args: &[String],
    preload: &[String],
) -> String {
    let mut canonical = serde_json::json!({
        "image": image,
        "profile": profile,
        "network": network,
        "args": args,
    });
    if !preload.is_empty() {
        canonical["preload"] = serde_json::json!(preload);
    }
    spec_hash_of(&canonical)
}

/// The `sis.spec-hash` of any container sis makes, from the JSON of what it is made from.
pub fn spec_hash_of(canonical: &serde_json::Value) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in canonical.to_string().bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_capabilities_names_the_holes() {
        let full = (1u64 << 41) - 1;
        assert!(missing_capabilities(full, 40).is_empty());
        let without_sys_resource = full & !(1 << 24);
        assert_eq!(
            missing_capabilities(without_sys_resource, 40),
            vec!["SYS_RESOURCE"]
        );
        // An older kernel knows fewer capabilities: the unknown ones are not missing.
        assert!(missing_capabilities((1u64 << 38) - 1, 37).is_empty());
    }

    #[test]
    fn spec_hash_changes_with_the_image_only_when_it_changes() {
        let p = NodeProfile::Privileged;
        let a = node_spec_hash("docker:dind", &p, "ring2net", &[]);
        assert_eq!(a, node_spec_hash("docker:dind", &p, "ring2net", &[]));
        assert_ne!(a, node_spec_hash("docker:27-dind", &p, "ring2net", &[]));
    }

    #[test]
    fn spec_hash_counts_preloaded_images_only_when_there_are_some() {
        let p = NodeProfile::Privileged;
        let plain = node_spec_hash("docker:dind", &p, "ring2net", &[]);
        // Pinned: nodes made before preloading existed carry this hash and must keep it.
        assert_eq!(plain, "52f7be34152a8df3");
        let with = |images: &[&str]| {
            let images: Vec<String> = images.iter().map(|i| i.to_string()).collect();
            node_spec_hash_with_preload("docker:dind", &p, "ring2net", &[], &images)
        };
        assert_eq!(with(&[]), plain);
        assert_ne!(with(&["busybox:1.36"]), plain);
        assert_ne!(with(&["busybox:1.36"]), with(&["busybox:1.37"]));
        assert_ne!(with(&["a", "b"]), with(&["a"]));
    }
}
