//! The spec's data types. Field docs become descriptions in the JSON Schema.

use ipnet::Ipv4Net;

use crate::ImageRef;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A sis cluster: swarm1's hosts, ring2net, the K/V store and swarm2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Format version of this file. Only `1` exists.
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// Cluster name: the prefix of every container name and the value of the
    /// `sis.cluster` ownership label. Lower-case letters, digits and `-`, at most 32 characters.
    #[schemars(pattern(r"^[a-z0-9][a-z0-9-]*$"), length(min = 1, max = 32))]
    pub name: String,
    /// The hosts of swarm1, at least one.
    #[schemars(length(min = 1))]
    pub hosts: Vec<Host>,
    /// The overlay network all dind nodes share (the seed's `ring2net`).
    pub network: Network,
    /// Where the K/V store runs. Optional for swarm2 mode `swarm`, required for `classic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kvstore: Option<KvStore>,
    /// How swarm2 is formed from the dind nodes.
    #[serde(default)]
    pub swarm2: Swarm2,
    /// What sis keeps free on the hosts.
    #[serde(default)]
    pub capacity: Capacity,
}

/// What sis keeps free on the hosts while it creates nodes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    /// Free disk each host keeps where its engine stores containers and volumes (its
    /// `DockerRootDir`), for hosts without their own `disk_floor`: `sis plan` refuses nodes
    /// that would take a host below it, and `sis apply` stops creating nodes before the
    /// host's free space falls below it. A size such as `2GB`, `500MB`, `1.5GiB`, or `0`
    /// for none. Default: `2GB` (dockerd and swarm1's raft log fail on a full disk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[0-9]+(\.[0-9]+)?\s*(B|[kKMGT]B|[KMGT]iB)?$"))]
    pub disk_floor: Option<String>,
}

/// [`Capacity::disk_floor`] when the spec gives none: 2 GB.
pub const DEFAULT_DISK_FLOOR: u64 = 2_000_000_000;

/// One real machine of swarm1 and the dind nodes it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// Unique name of the host within the spec; part of node container names.
    /// Lower-case letters, digits and `-`, at most 32 characters.
    #[schemars(pattern(r"^[a-z0-9][a-z0-9-]*$"), length(min = 1, max = 32))]
    pub name: String,
    /// Docker engine endpoint: `unix:///PATH`, `tcp://HOST:PORT` (with `tls` for TLS), or
    /// `ssh://USER@HOST`. Default: the local engine, `unix:///var/run/docker.sock`; when the
    /// endpoint is that default and `DOCKER_HOST` is set, sis connects to `DOCKER_HOST`
    /// instead, as the docker CLI does.
    #[serde(default = "default_endpoint")]
    #[schemars(pattern(r"^(unix|tcp|ssh)://."))]
    pub endpoint: String,
    /// TLS material for a `tcp://` endpoint; paths are relative to the spec file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<Tls>,
    /// ssh client files for an `ssh://` endpoint; paths are relative to the spec file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<Ssh>,
    /// How many dind nodes this host runs.
    #[serde(default)]
    pub nodes: u32,
    /// Address this host advertises to swarm1 (`swarm init`/`join --advertise-addr`).
    /// Default: the engine's own choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advertise_addr: Option<String>,
    /// Free disk this host keeps (as `capacity.disk_floor`, which it overrides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[0-9]+(\.[0-9]+)?\s*(B|[kKMGT]B|[KMGT]iB)?$"))]
    pub disk_floor: Option<String>,
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

/// ssh client files for an `ssh://` endpoint. sis runs the system's `ssh` for it, which
/// otherwise uses its own keys, agent and known_hosts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ssh {
    /// Private key to log in with (`ssh -i`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// known_hosts file holding the host's key. When given, the host's key must be in it
    /// (checked strictly: an unknown or changed key is refused); otherwise ssh's own
    /// known_hosts is used and a host seen for the first time is added to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_hosts: Option<String>,
}

/// The overlay network of swarm2 (the seed's `ring2net`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Network name, e.g. `ring2net`: a swarm overlay network name (letters, digits, `-` and
    /// `_`, starting and ending with a letter or digit, at most 63 characters).
    #[schemars(pattern(r"^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$"), length(max = 63))]
    pub name: String,
    /// IPv4 CIDR, e.g. `10.9.0.0/16`, with a prefix from /8 to /30. It must hold every node,
    /// the K/V store and the classic swarm manager: a /N has 2^(32-N) - 3 addresses for them
    /// (the network, broadcast and gateway addresses are taken).
    // Parsed strictly before it reaches serde (see `parse_str`), so a bad one is reported with its position.
    #[schemars(with = "String", pattern(r"^[0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}$"))]
    pub subnet: Ipv4Net,
    /// Whether the network is made and owned outside sis. An existing network of this name is
    /// used only when it carries `sis.cluster=<cluster>` or this is `true`; sis never removes
    /// an external network. Default: `false`.
    #[serde(default)]
    pub external: bool,
    /// Addresses of the subnet's lower half set aside for each host's nodes: node `i` of the
    /// host at position `h` (0-based, in spec order) gets address
    /// `network + 16 + h * addresses_per_host + (i - 1)`, the same across restarts and
    /// re-creations (see `docs/design.md`, "Addresses"). Default: room for at least 4 hosts,
    /// at most 1024 a host (a /16: 1024; a /24: 16). Keep hosts in their order: moving one
    /// moves its nodes' addresses, which replaces them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addresses_per_host: Option<u32>,
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
    #[schemars(with = "Option<String>")]
    pub image: Option<ImageRef>,
}

impl KvStore {
    /// The image to run: the spec's, or the default for the kind.
    pub fn image(&self) -> ImageRef {
        self.image.clone().unwrap_or_else(|| {
            ImageRef::parse(match self.kind {
                KvKind::Consul => "progrium/consul",
                KvKind::Etcd => "quay.io/coreos/etcd:v3.5.17",
            })
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
    /// Not used in classic mode, which runs one `swarm manage` container.
    #[serde(default = "default_managers")]
    #[schemars(range(min = 1))]
    pub managers: u32,
    /// The dind node image.
    #[serde(default = "default_node_image")]
    #[schemars(with = "String")]
    pub image: ImageRef,
    /// `true`: privileged containers. `false`: the capability profile (all capabilities but
    /// `cap_drop`, unconfined seccomp/apparmor/system paths, all devices). `auto`: privileged where
    /// the host's capability bounding set is full, else the capability profile without what the host lacks.
    #[serde(default)]
    pub privileged: Privileged,
    /// With the capability profile: capabilities to leave out, upper case without the `CAP_`
    /// prefix, e.g. `[SYS_RESOURCE]`. Not allowed with `privileged: true`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(pattern(r"^[A-Z][A-Z_]*$")))]
    pub cap_drop: Vec<String>,
    /// Host port that publishes swarm2's manager API (classic mode: the `swarm manage`
    /// container's API, on the manager's host). Default 2398, as in the seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub publish: Option<u16>,
    /// Classic mode's manager: its image and host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classic: Option<Classic>,
    /// Extra arguments for each node's dockerd (appended to the image's command).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Keep swarm2's `ingress` network (the routing mesh for published service ports).
    /// Off by default: every node that joins a swarm with ingress sets up its sandbox, which
    /// measured about 4 times the CPU of the join itself and keeps gossip running at rest.
    #[serde(default)]
    pub ingress: bool,
    /// Images to put into every node (e.g. the workloads of a test), so that swarm2 needs no
    /// registry: each is brought to every host with nodes (pulled, or copied from a host that
    /// has it) and loaded into each node when it is created, before it joins swarm2. Changing
    /// a non-empty list replaces the nodes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<String>", inner(length(min = 1)))]
    pub preload: Vec<ImageRef>,
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
            classic: None,
            args: Vec::new(),
            ingress: false,
            preload: Vec::new(),
        }
    }
}

/// The default host port of classic Swarm's manager, as in the seed.
pub const DEFAULT_CLASSIC_PUBLISH: u16 = 2398;

/// The default image of classic Swarm's manager and agents.
pub const DEFAULT_CLASSIC_IMAGE: &str = "swarm:1.2.9";

/// Classic Swarm's `swarm manage` container and `swarm join` agents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Classic {
    /// Image of the manager and the agents (entrypoint `swarm`). Default `swarm:1.2.9`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub image: Option<ImageRef>,
    /// The host (by name) that runs the manager. Default: the K/V store's host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// TLS on the nodes' API (`dockerd --tlsverify`, port 2376) and the manager's (client
    /// certificates needed): sis makes a CA for the cluster, kept on the manager's host, and
    /// a certificate for each node and the manager. `false`: plain TCP on port 2375, which
    /// anything on ring2net may drive and which costs each node's dockerd a 15 s sleep at
    /// start. Default `true`. Changing it replaces the nodes, agents and manager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<bool>,
}

/// Whether classic mode uses TLS when the spec does not say.
pub const DEFAULT_CLASSIC_TLS: bool = true;

impl Swarm2 {
    /// Classic mode with TLS on the nodes' and the manager's API (`swarm2.classic.tls`).
    pub fn classic_tls(&self) -> bool {
        self.classic
            .as_ref()
            .and_then(|c| c.tls)
            .unwrap_or(DEFAULT_CLASSIC_TLS)
    }

    /// The host port of the manager: `publish`, or 2398.
    pub fn publish_port(&self) -> u16 {
        self.publish.unwrap_or(DEFAULT_CLASSIC_PUBLISH)
    }

    /// The image of classic Swarm's manager and agents.
    pub fn classic_image(&self) -> ImageRef {
        self.classic
            .as_ref()
            .and_then(|c| c.image.clone())
            .unwrap_or_else(|| ImageRef::parse(DEFAULT_CLASSIC_IMAGE))
    }
}

impl Spec {
    /// The host of classic Swarm's manager: `swarm2.classic.host`, else the K/V store's host.
    pub fn classic_manager_host(&self) -> Option<&str> {
        self.swarm2
            .classic
            .as_ref()
            .and_then(|c| c.host.as_deref())
            .or(self.kvstore.as_ref().map(|kv| kv.host.as_str()))
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Privileged {
    /// Privileged where the host allows it, else the capability profile.
    #[default]
    Auto,
    /// Always privileged (`true`) or always the capability profile (`false`).
    Fixed(bool),
}

/// Written by hand: derived untagged schemas describe `auto` through a helper type; this says
/// exactly what the YAML accepts, a boolean or the string `auto`.
impl JsonSchema for Privileged {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Privileged".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "`true`, `false` or `auto`.",
            "oneOf": [
                {
                    "type": "boolean",
                    "description": "`true`: always privileged. `false`: always the capability profile."
                },
                {
                    "type": "string",
                    "const": "auto",
                    "description": "Privileged where the host allows it, else the capability profile."
                }
            ]
        })
    }
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

/// The local engine's usual socket (`DOCKER_HOST` may stand in for it when connecting).
pub const DEFAULT_ENDPOINT: &str = "unix:///var/run/docker.sock";

fn default_endpoint() -> String {
    DEFAULT_ENDPOINT.to_string()
}
fn default_managers() -> u32 {
    1
}
fn default_node_image() -> ImageRef {
    ImageRef::parse("docker:dind")
}

impl Spec {
    /// Dind nodes over all hosts (saturating: a valid spec is far from `u32::MAX`).
    pub fn total_nodes(&self) -> u32 {
        self.hosts
            .iter()
            .fold(0u32, |sum, h| sum.saturating_add(h.nodes))
    }

    /// The host with this name.
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.name == name)
    }

    /// The free disk (bytes) host `name` keeps: its `disk_floor`, else
    /// `capacity.disk_floor`, else [`DEFAULT_DISK_FLOOR`]. (A loaded spec's sizes are valid.)
    pub fn disk_floor(&self, name: &str) -> u64 {
        self.host(name)
            .and_then(|h| h.disk_floor.as_deref())
            .or(self.capacity.disk_floor.as_deref())
            .and_then(crate::parse_size)
            .unwrap_or(DEFAULT_DISK_FLOOR)
    }
}
