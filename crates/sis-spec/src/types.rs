//! The spec's data types. Field docs become descriptions in the JSON Schema.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A sis cluster: swarm1's hosts, ring2net, the K/V store and swarm2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Format version of this file. Only `1` exists.
    pub version: u32,
    /// Cluster name: the prefix of every container name and the value of the
    /// `sis.cluster` ownership label. Lower-case letters, digits and `-`, at most 32 characters.
    pub name: String,
    /// The hosts of swarm1, at least one.
    pub hosts: Vec<Host>,
    /// The overlay network all dind nodes share (the seed's `ring2net`).
    pub network: Network,
    /// Where the K/V store runs. Optional for swarm2 mode `swarm`, required for `classic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kvstore: Option<KvStore>,
    /// How swarm2 is formed from the dind nodes.
    #[serde(default)]
    pub swarm2: Swarm2,
}

/// One real machine of swarm1 and the dind nodes it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// Unique name of the host within the spec; part of node container names.
    pub name: String,
    /// Docker engine endpoint: `unix:///var/run/docker.sock` (the default), `tcp://HOST:PORT`
    /// (with `tls` for TLS), or `ssh://USER@HOST`.
    #[serde(default = "default_endpoint")]
    pub endpoint: String,
    /// TLS material for a `tcp://` endpoint; paths are relative to the spec file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<Tls>,
    /// How many dind nodes this host runs.
    #[serde(default)]
    pub nodes: u32,
    /// Address this host advertises to swarm1 (`swarm init`/`join --advertise-addr`).
    /// Default: the engine's own choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advertise_addr: Option<String>,
}

/// TLS client material for a `tcp://` endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    /// CA certificate (PEM) that signed the engine's certificate.
    pub ca: String,
    /// Client certificate (PEM).
    pub cert: String,
    /// Client key (PEM).
    pub key: String,
}

/// The overlay network of swarm2 (the seed's `ring2net`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Network name, e.g. `ring2net`.
    pub name: String,
    /// IPv4 CIDR, e.g. `10.9.0.0/16`; must hold every node, manager, the K/V store and the gateway.
    pub subnet: String,
}

/// The K/V store container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KvStore {
    /// Which store.
    pub kind: KvKind,
    /// The host (by name) that runs it.
    pub host: String,
    /// Image to run. Default: `progrium/consul` for consul, `quay.io/coreos/etcd:v3.5.17` for etcd.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

impl KvStore {
    /// The image to run: the spec's, or the default for the kind.
    pub fn image(&self) -> &str {
        self.image.as_deref().unwrap_or(match self.kind {
            KvKind::Consul => "progrium/consul",
            KvKind::Etcd => "quay.io/coreos/etcd:v3.5.17",
        })
    }
}

/// K/V store implementations.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum KvKind {
    Consul,
    Etcd,
}

/// How swarm2 is formed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Swarm2 {
    /// `swarm` (swarm mode: `swarm init` + `swarm join`) or `classic` (2016 standalone Swarm, as in the seed).
    #[serde(default)]
    pub mode: Swarm2Mode,
    /// Number of swarm2 managers (swarm mode): odd, at least 1, at most the node count.
    #[serde(default = "default_managers")]
    pub managers: u32,
    /// The dind node image.
    #[serde(default = "default_node_image")]
    pub image: String,
    /// `true`: privileged containers. `false`: the capability profile (all capabilities but
    /// `cap_drop`, unconfined seccomp/apparmor/system paths, all devices). `auto`: privileged where
    /// the host's capability bounding set is full, else the capability profile without what the host lacks.
    #[serde(default)]
    pub privileged: Privileged,
    /// With the capability profile: capabilities to leave out, e.g. `[SYS_RESOURCE]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    /// Host port that publishes swarm2's manager API (classic mode: `swarm manage -H :PORT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish: Option<u16>,
    /// Extra arguments for each node's dockerd (appended to the image's command).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
}

impl Default for Swarm2 {
    fn default() -> Self {
        Swarm2 {
            mode: Swarm2Mode::default(),
            managers: default_managers(),
            image: default_node_image(),
            privileged: Privileged::default(),
            cap_drop: Vec::new(),
            publish: None,
            args: Vec::new(),
        }
    }
}

/// swarm2's flavour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Swarm2Mode {
    /// Docker swarm mode.
    #[default]
    Swarm,
    /// Classic standalone Swarm with K/V-store discovery, as in the 2016 seed.
    Classic,
}

/// `true`, `false` or `auto`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, JsonSchema)]
#[schemars(untagged)]
pub enum Privileged {
    /// Privileged where the host allows it, else the capability profile.
    #[default]
    #[schemars(with = "AutoLiteral")]
    Auto,
    /// Always privileged (`true`) or always the capability profile (`false`).
    #[schemars(with = "bool")]
    Fixed(bool),
}

#[derive(JsonSchema)]
#[allow(dead_code)]
enum AutoLiteral {
    #[serde(rename = "auto")]
    Auto,
}

impl Serialize for Privileged {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Privileged::Auto => s.serialize_str("auto"),
            Privileged::Fixed(b) => s.serialize_bool(*b),
        }
    }
}

impl<'de> Deserialize<'de> for Privileged {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Privileged;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("true, false or auto")
            }
            fn visit_bool<E: serde::de::Error>(self, b: bool) -> Result<Privileged, E> {
                Ok(Privileged::Fixed(b))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Privileged, E> {
                match s {
                    "auto" => Ok(Privileged::Auto),
                    "true" => Ok(Privileged::Fixed(true)),
                    "false" => Ok(Privileged::Fixed(false)),
                    _ => Err(E::invalid_value(serde::de::Unexpected::Str(s), &self)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

fn default_endpoint() -> String {
    "unix:///var/run/docker.sock".to_string()
}
fn default_managers() -> u32 {
    1
}
fn default_node_image() -> String {
    "docker:dind".to_string()
}

impl Spec {
    /// Dind nodes over all hosts.
    pub fn total_nodes(&self) -> u32 {
        self.hosts.iter().map(|h| h.nodes).sum()
    }

    /// The host with this name.
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.name == name)
    }
}
