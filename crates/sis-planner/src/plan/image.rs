//! Comparing image references the way Docker resolves them, so that `docker:dind` in a spec
//! matches `docker.io/library/docker:dind` listed by an engine.

/// Canonical `domain/path:tag` form of an image reference: the default registry is
/// `docker.io`, single-name images live under `library/`, the default tag is `latest`.
/// Image IDs and digest references are returned unchanged: they only match themselves.
pub(crate) fn canonical_image(reference: &str) -> String {
    let r = reference.trim();
    if r.starts_with("sha256:") || r.contains('@') {
        return r.to_string();
    }
    // A `:` after the last `/` starts the tag; one before it belongs to a registry port.
    let (name, tag) = match r.rfind(':') {
        Some(i) if !r[i + 1..].contains('/') => (&r[..i], &r[i + 1..]),
        _ => (r, "latest"),
    };
    let (domain, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first, rest)
        }
        _ => ("docker.io", name),
    };
    let domain = if domain == "index.docker.io" {
        "docker.io"
    } else {
        domain
    };
    if domain == "docker.io" && !path.contains('/') {
        format!("docker.io/library/{path}:{tag}")
    } else {
        format!("{domain}/{path}:{tag}")
    }
}

#[cfg(test)]
mod tests {
    use super::canonical_image as c;

    #[test]
    fn official_images_are_completed_with_registry_library_and_tag() {
        assert_eq!(c("docker"), "docker.io/library/docker:latest");
        assert_eq!(c("docker:dind"), "docker.io/library/docker:dind");
        assert_eq!(c("docker.io/docker:dind"), "docker.io/library/docker:dind");
        assert_eq!(
            c("index.docker.io/library/docker:dind"),
            "docker.io/library/docker:dind"
        );
    }

    #[test]
    fn user_images_and_registries_keep_their_path() {
        assert_eq!(c("progrium/consul"), "docker.io/progrium/consul:latest");
        assert_eq!(
            c("quay.io/coreos/etcd:v3.5.17"),
            "quay.io/coreos/etcd:v3.5.17"
        );
        // The port of a registry is not a tag.
        assert_eq!(c("localhost:5000/node"), "localhost:5000/node:latest");
        assert_eq!(c("localhost:5000/node:1"), "localhost:5000/node:1");
        assert_eq!(c("sis-node:test"), "docker.io/library/sis-node:test");
    }

    #[test]
    fn ids_and_digests_only_match_themselves() {
        assert_eq!(c("sha256:abc"), "sha256:abc");
        assert_eq!(c("docker@sha256:abc"), "docker@sha256:abc");
        assert_ne!(c("docker:dind"), c("docker:27-dind"));
    }
}
