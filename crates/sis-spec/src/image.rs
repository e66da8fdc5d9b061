//! Image references, parsed once: the registry, the repository path, the tag and the digest,
//! and the canonical form Docker resolves them to (`docker:dind` is
//! `docker.io/library/docker:dind`).

use std::fmt;

/// An image reference as written (`[REGISTRY/]PATH[:TAG][@DIGEST]`), or an image ID
/// (`sha256:…`). Parsing never fails: what Docker refuses, the engine reports.
// Ordered by the text first: the other fields follow from it.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ImageRef {
    text: String,
    /// The registry, when the first component names one (has `.` or `:`, or is `localhost`).
    registry: Option<String>,
    /// The repository path, without registry, tag or digest.
    path: String,
    tag: Option<String>,
    digest: Option<String>,
}

impl ImageRef {
    pub fn parse(text: &str) -> ImageRef {
        let t = text.trim();
        let (name, digest) = match t.split_once('@') {
            Some((name, digest)) => (name, Some(digest.to_string())),
            None => (t, None),
        };
        // A `:` after the last `/` starts the tag; one before it belongs to a registry port.
        let (name, tag) = match name.rfind(':') {
            Some(i) if !name[i + 1..].contains('/') => {
                (&name[..i], Some(name[i + 1..].to_string()))
            }
            _ => (name, None),
        };
        let (registry, path) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (Some(first.to_string()), rest)
            }
            _ => (None, name),
        };
        ImageRef {
            text: text.to_string(),
            registry,
            path: path.to_string(),
            tag,
            digest,
        }
    }

    /// The reference as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn registry(&self) -> Option<&str> {
        self.registry.as_deref()
    }

    /// The repository path, without registry, tag or digest.
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// An image ID (`sha256:…`) rather than a name.
    pub fn is_id(&self) -> bool {
        self.text.trim().starts_with("sha256:")
    }

    /// What a pull asks for: the repository (with any digest) and the tag, `latest` when
    /// none is written; no tag with a digest.
    pub fn pull_parts(&self) -> (String, &str) {
        let t = self.text.trim();
        if self.digest.is_some() {
            return (t.to_string(), "");
        }
        match &self.tag {
            Some(tag) => (t[..t.len() - tag.len() - 1].to_string(), tag),
            None => (t.to_string(), "latest"),
        }
    }

    /// Canonical `domain/path:tag` form: the default registry is `docker.io`, single-name
    /// images live under `library/`, the default tag is `latest`. Image IDs and digest
    /// references are returned as written (trimmed): they only match themselves.
    pub fn canonical(&self) -> String {
        if self.is_id() || self.digest.is_some() {
            return self.text.trim().to_string();
        }
        let domain = match self.registry.as_deref() {
            None | Some("index.docker.io") => "docker.io",
            Some(r) => r,
        };
        let tag = self.tag.as_deref().unwrap_or("latest");
        let path = &self.path;
        if domain == "docker.io" && !path.contains('/') {
            format!("docker.io/library/{path}:{tag}")
        } else {
            format!("{domain}/{path}:{tag}")
        }
    }
}

/// Shown as the text it is (`"busybox:1.36"`), as messages quote it.
impl fmt::Debug for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The reference as written, so that it prints, compares and passes as the text it is.
impl std::ops::Deref for ImageRef {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl PartialEq<str> for ImageRef {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}

impl PartialEq<&str> for ImageRef {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl From<&str> for ImageRef {
    fn from(text: &str) -> Self {
        ImageRef::parse(text)
    }
}

impl std::str::FromStr for ImageRef {
    type Err = std::convert::Infallible;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(ImageRef::parse(text))
    }
}

impl serde::Serialize for ImageRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for ImageRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(ImageRef::parse(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::ImageRef;

    fn c(text: &str) -> String {
        ImageRef::parse(text).canonical()
    }

    #[test]
    fn official_images_are_completed_with_registry_library_and_tag() {
        assert_eq!(c("docker"), "docker.io/library/docker:latest");
        assert_eq!(c("docker:dind"), "docker.io/library/docker:dind");
        assert_eq!(c("docker.io/docker:dind"), "docker.io/library/docker:dind");
        assert_eq!(
            c("index.docker.io/library/docker:dind"),
            "docker.io/library/docker:dind"
        );
        assert_eq!(c(" docker:dind "), "docker.io/library/docker:dind");
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

    #[test]
    fn parts_and_pulls() {
        let r = ImageRef::parse("localhost:5000/team/node:1@sha256:abc");
        assert_eq!(
            (r.registry(), r.path(), r.tag(), r.digest()),
            (
                Some("localhost:5000"),
                "team/node",
                Some("1"),
                Some("sha256:abc")
            )
        );
        assert_eq!(
            ImageRef::parse("localhost:5000/node").pull_parts(),
            ("localhost:5000/node".to_string(), "latest")
        );
        assert_eq!(
            ImageRef::parse("docker:dind").pull_parts(),
            ("docker".to_string(), "dind")
        );
        assert_eq!(
            ImageRef::parse("docker@sha256:abc").pull_parts(),
            ("docker@sha256:abc".to_string(), "")
        );
        assert_eq!(ImageRef::parse("busybox:1.36").to_string(), "busybox:1.36");
    }
}
