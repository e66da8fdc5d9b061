//! Semantic checks on a spec of the right shape. Positions come from the YAML tree.

use std::collections::HashMap;

use crate::addresses::{self, AddressPlan};
use crate::error::Problem;
use crate::rules::{self, CAPABILITIES};
use crate::shape::at;
use crate::suggest::closest;
use crate::yaml::{Node, Pos, Value};
use crate::{ImageRef, KvStore, Privileged, Spec, Swarm2Mode};

/// Every semantic problem of `spec`; `doc` is the YAML it was read from.
/// `bad_subnet` is `network.subnet` as written when it is not a CIDR (the spec then holds a
/// stand-in).
pub(crate) fn validate(spec: &Spec, bad_subnet: Option<&str>, doc: Option<&Node>) -> Vec<Problem> {
    let mut c = Checks {
        doc,
        out: Vec::new(),
    };
    if spec.version != 1 {
        let message = format!("{} is not a spec version sis knows; use 1", spec.version);
        c.report("version", message);
    }
    if let Some(problem) = rules::name_problem(&spec.name) {
        c.report(
            "name",
            format!("{problem} (it prefixes every container name)"),
        );
    }
    hosts(&mut c, spec);
    network(&mut c, spec, bad_subnet);
    kvstore(&mut c, spec);
    swarm2(&mut c, spec);
    if let Some(size) = &spec.capacity.disk_floor {
        disk_floor(&mut c, "capacity.disk_floor", size);
    }
    c.out
}

/// A `disk_floor` must be a size.
fn disk_floor(c: &mut Checks, path: &str, size: &str) {
    if rules::parse_size(size).is_none() {
        let message = format!(
            "{size:?} is not a size; write a number and a unit, such as 2GB, 500MB or 1.5GiB (0 for none)"
        );
        c.report(path, message);
    }
}

struct Checks<'a> {
    doc: Option<&'a Node>,
    out: Vec<Problem>,
}

impl Checks<'_> {
    /// Reports `message` about the value at `path` (`hosts[2].name`), at its position,
    /// or at its nearest ancestor's when it has its default and so no position.
    fn report(&mut self, path: &str, message: String) {
        self.out.push(Problem {
            pos: self.locate(path).map(|(pos, _)| pos),
            message: format!("{}{message}", at(path)),
        });
    }

    /// The position of `path`, and whether the file spells it out.
    fn locate(&self, path: &str) -> Option<(Pos, bool)> {
        let mut node = self.doc?;
        for part in path.split('.') {
            let (key, indices) = part.split_once('[').unwrap_or((part, ""));
            let Some(next) = node.get(key) else {
                return Some((node.pos, false));
            };
            node = next;
            for index in indices.split('[').filter(|s| !s.is_empty()) {
                let i: usize = index.trim_end_matches(']').parse().expect("a list index");
                match &node.value {
                    Value::Seq(items) if i < items.len() => node = &items[i],
                    _ => return Some((node.pos, false)),
                }
            }
        }
        Some((node.pos, true))
    }

    fn spelt_out(&self, path: &str) -> bool {
        self.locate(path).is_some_and(|(_, present)| present)
    }

    /// ` (line L column C)` for a value reported as "already used by" another one.
    fn where_is(&self, path: &str) -> String {
        match self.locate(path) {
            Some((pos, _)) => format!(" (line {} column {})", pos.line, pos.column),
            None => String::new(),
        }
    }
}

fn hosts(c: &mut Checks, spec: &Spec) {
    if spec.hosts.is_empty() {
        c.report("hosts", "at least one host is needed".to_string());
    }
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut endpoints: HashMap<&str, usize> = HashMap::new();
    for (i, host) in spec.hosts.iter().enumerate() {
        let path = format!("hosts[{i}]");
        if let Some(problem) = rules::name_problem(&host.name) {
            let why = "(it is part of the container name of each of its nodes)";
            c.report(&format!("{path}.name"), format!("{problem} {why}"));
        }
        if let Some(&first) = names.get(host.name.as_str()) {
            let message = format!(
                "{:?} is already the name of hosts[{first}]{}; host names must be unique",
                host.name,
                c.where_is(&format!("hosts[{first}].name"))
            );
            c.report(&format!("{path}.name"), message);
        } else {
            names.insert(&host.name, i);
        }
        endpoint(c, &path, &host.endpoint);
        if let Some(&first) = endpoints.get(host.endpoint.as_str()) {
            let message = format!(
                "{:?} is already the endpoint of hosts[{first}]{}; each host must be a different engine",
                host.endpoint,
                c.where_is(&format!("hosts[{first}].endpoint"))
            );
            c.report(&format!("{path}.endpoint"), message);
        } else {
            endpoints.insert(&host.endpoint, i);
        }
        if host.tls.is_some() && !host.endpoint.starts_with("tcp://") {
            let message = format!(
                "TLS works only with a tcp:// endpoint, and this host's endpoint is {:?}",
                host.endpoint
            );
            c.report(&format!("{path}.tls"), message);
        }
        if host.ssh.is_some() && !host.endpoint.starts_with("ssh://") {
            let message = format!(
                "ssh files work only with an ssh:// endpoint, and this host's endpoint is {:?}",
                host.endpoint
            );
            c.report(&format!("{path}.ssh"), message);
        }
        for (key, file) in host
            .ssh
            .iter()
            .flat_map(|s| [("identity", &s.identity), ("known_hosts", &s.known_hosts)])
        {
            if file.as_deref() == Some("") {
                let message = "must not be empty; leave it out to use ssh's own".to_string();
                c.report(&format!("{path}.ssh.{key}"), message);
            }
        }
        hostname_length(c, spec, &path, host);
        if host.advertise_addr.as_deref() == Some("") {
            let message = "must not be empty; leave it out to let the engine choose".to_string();
            c.report(&format!("{path}.advertise_addr"), message);
        }
        if let Some(size) = &host.disk_floor {
            disk_floor(c, &format!("{path}.disk_floor"), size);
        }
    }
}

/// Node containers are named (and their hostnames set) by [`crate::names::node_name`]; a
/// hostname is at most 63 characters.
fn hostname_length(c: &mut Checks, spec: &Spec, path: &str, host: &crate::Host) {
    let names_ok =
        rules::name_problem(&spec.name).is_none() && rules::name_problem(&host.name).is_none();
    if host.nodes == 0 || !names_ok {
        return;
    }
    let longest = crate::names::node_name(&spec.name, &host.name, host.nodes);
    let len = longest.len();
    if len <= rules::MAX_HOSTNAME {
        return;
    }
    let max = rules::MAX_HOSTNAME;
    let first_fits = crate::names::node_name(&spec.name, &host.name, 1).len() <= max;
    let (key, advice) = if first_fits {
        ("nodes", "use fewer nodes or a shorter cluster or host name")
    } else {
        ("name", "use a shorter cluster or host name")
    };
    let message = format!(
        "node {} would be named {longest:?}, {len} characters, but a hostname has at most {max}; {advice}",
        host.nodes
    );
    c.report(&format!("{path}.{key}"), message);
}

fn endpoint(c: &mut Checks, host: &str, endpoint: &str) {
    let path = format!("{host}.endpoint");
    let message = match endpoint.split_once("://") {
        None => format!(
            "{endpoint:?} has no scheme; write unix:///PATH, tcp://HOST:PORT or ssh://USER@HOST"
        ),
        Some(("unix" | "tcp" | "ssh", "")) => format!("{endpoint:?} names no address"),
        Some(("unix" | "tcp" | "ssh", _)) => return,
        Some((scheme, _)) => {
            format!("unsupported scheme \"{scheme}://\"; use unix://, tcp:// or ssh://")
        }
    };
    c.report(&path, message);
}

fn network(c: &mut Checks, spec: &Spec, bad_subnet: Option<&str>) {
    let name = &spec.network.name;
    if name.is_empty() {
        c.report("network.name", "must not be empty".to_string());
    } else if rules::RESERVED_NETWORKS.contains(&name.as_str()) {
        let message =
            format!("{name:?} is the name of a network Docker makes itself; choose another");
        c.report("network.name", message);
    } else if !rules::is_swarm_network_name(name) {
        let message = format!(
            "{name:?} is not a valid swarm network name; use letters, digits, \"-\" and \"_\", \
             starting and ending with a letter or digit, at most 63 characters"
        );
        c.report("network.name", message);
    }
    subnet(c, spec, bad_subnet);
}

fn subnet(c: &mut Checks, spec: &Spec, bad_subnet: Option<&str>) {
    if let Some(text) = bad_subnet {
        let message = format!("{text:?} is not an IPv4 CIDR such as 10.9.0.0/16");
        return c.report("network.subnet", message);
    }
    let net = spec.network.subnet;
    let text = net.to_string();
    let (addr, prefix) = (net.addr(), net.prefix_len());
    if !rules::PREFIXES.contains(&prefix) {
        let (lo, hi) = (rules::PREFIXES.start(), rules::PREFIXES.end());
        let message = format!("prefix /{prefix} is out of range; use a prefix from /{lo} to /{hi}");
        return c.report("network.subnet", message);
    }
    let network = rules::network_of(addr, prefix);
    if network != addr {
        let message = format!(
            "{text:?} is not the network address of its prefix; did you mean {network}/{prefix}?"
        );
        return c.report("network.subnet", message);
    }
    if let Some((range, what)) = rules::reserved_overlap(net) {
        let message = format!(
            "{text} overlaps {range}, which is reserved ({what}) and cannot carry a container network; use a private range such as 10.9.0.0/16"
        );
        return c.report("network.subnet", message);
    }
    addresses(c, spec);
}

/// Every node needs a fixed address in the lower half of the subnet (see
/// [`crate::addresses`]): a block of `addresses_per_host` for each host.
fn addresses(c: &mut Checks, spec: &Spec) {
    let net = spec.network.subnet;
    let prefix = net.prefix_len();
    let lower = addresses::lower_half_size(net);
    if lower <= addresses::FIRST_NODE_OFFSET {
        let message = format!(
            "{net} leaves no room for nodes: the lower half of the subnet ({lower} addresses) \
             holds the fixed addresses sis keeps for itself ({} of them) and Docker hands out the \
             upper half; use a /26 or a shorter prefix such as {}/24",
            addresses::FIRST_NODE_OFFSET,
            rules::network_of(net.addr(), 24.min(prefix))
        );
        return c.report("network.subnet", message);
    }
    if spec.network.addresses_per_host == Some(0) {
        let message = format!(
            "must be at least 1 (each node of a host takes one); leave it out for the default \
             ({} for {net})",
            addresses::default_per_host(net)
        );
        return c.report("network.addresses_per_host", message);
    }
    let plan = AddressPlan::of(spec);
    let per_host = plan.per_host;
    let (fix, how) = if spec.network.addresses_per_host.is_some() {
        (
            "network.addresses_per_host is",
            "raise network.addresses_per_host",
        )
    } else {
        (
            "the default network.addresses_per_host for this subnet is",
            "set network.addresses_per_host",
        )
    };
    for (i, host) in spec.hosts.iter().enumerate() {
        if host.nodes > per_host {
            let message = format!(
                "{} nodes do not fit: {fix} {per_host}, one fixed address per node on {}; \
                 use a bigger subnet (a shorter prefix than /{prefix}), {how} to at least {}, \
                 or fewer nodes on host {:?}",
                host.nodes, spec.network.name, host.nodes, host.name
            );
            c.report(&format!("hosts[{i}].nodes"), message);
        }
    }
    let room = plan.host_room();
    let hosts = spec.hosts.len() as u32;
    if hosts > room {
        let message = format!(
            "{net} has room for {room} host{} of {per_host} node addresses in its lower half, \
             but the spec has {hosts} hosts; use a bigger subnet (a shorter prefix than /{prefix}) \
             or a smaller network.addresses_per_host",
            if room == 1 { "" } else { "s" }
        );
        c.report("network.subnet", message);
    }
}

fn kvstore(c: &mut Checks, spec: &Spec) {
    let Some(kv) = &spec.kvstore else { return };
    if let Some(message) = unknown_host(spec, &kv.host) {
        c.report("kvstore.host", message);
    }
    if kv.image.as_deref() == Some("") {
        let default = KvStore {
            image: None,
            ..kv.clone()
        };
        let message = format!(
            "must not be empty; leave it out for the default ({})",
            default.image()
        );
        c.report("kvstore.image", message);
    }
}

/// Says which hosts there are when `name` is none of them.
fn unknown_host(spec: &Spec, name: &str) -> Option<String> {
    if spec.host(name).is_some() {
        return None;
    }
    let mut names: Vec<&str> = Vec::new();
    for host in &spec.hosts {
        if !names.contains(&host.name.as_str()) {
            names.push(&host.name);
        }
    }
    let mut message = format!("no host is named {name:?}");
    if let Some(near) = closest(name, names.iter().copied()) {
        message.push_str(&format!(" (did you mean {near:?}?)"));
    }
    message.push_str(&format!("; the hosts are {}", names.join(", ")));
    Some(message)
}

fn classic(c: &mut Checks, spec: &Spec) {
    let Some(classic) = &spec.swarm2.classic else {
        return;
    };
    if let Some(message) = classic.host.as_deref().and_then(|h| unknown_host(spec, h)) {
        c.report("swarm2.classic.host", message);
    }
    if let Some(image) = &classic.image {
        if let Some(message) = image_reference_problem(image) {
            c.report("swarm2.classic.image", message);
        }
    }
    if spec.swarm2.mode != Swarm2Mode::Classic {
        let message = "has no effect in swarm mode; remove it, or set mode: classic";
        c.report("swarm2.classic", message.to_string());
    }
}

fn swarm2(c: &mut Checks, spec: &Spec) {
    classic(c, spec);
    let s = &spec.swarm2;
    let classic = s.mode == Swarm2Mode::Classic;
    if classic && spec.kvstore.is_none() {
        let host = spec.hosts.first().map_or("HOST", |h| h.name.as_str());
        let message = format!(
            "classic mode needs a kvstore, through which its nodes find each other; \
             add one, e.g. \"kvstore: {{kind: consul, host: {host}}}\""
        );
        c.report("swarm2.mode", message);
    }
    managers(c, spec, classic);
    if s.image.is_empty() {
        c.report("swarm2.image", "must not be empty".to_string());
    }
    for (i, cap) in s.cap_drop.iter().enumerate() {
        if let Some(message) = capability_problem(cap) {
            c.report(&format!("swarm2.cap_drop[{i}]"), message);
        }
    }
    if !s.cap_drop.is_empty() && s.privileged == Privileged::Fixed(true) {
        let message = "has no effect with privileged: true, as privileged nodes keep every \
                       capability; remove it, or set privileged to false or auto";
        c.report("swarm2.cap_drop", message.to_string());
    }
    for (i, image) in s.preload.iter().enumerate() {
        let problem = image_reference_problem(image).or_else(|| {
            let first = s.preload.iter().position(|other| other == image)?;
            (first < i).then(|| format!("{image:?} is listed twice (also preload[{first}])"))
        });
        if let Some(message) = problem {
            c.report(&format!("swarm2.preload[{i}]"), message);
        }
    }
    if s.publish == Some(0) {
        let message = "0 is not a port; use a port from 1 to 65535, or leave publish out";
        c.report("swarm2.publish", message.to_string());
    }
}

fn managers(c: &mut Checks, spec: &Spec, classic: bool) {
    let m = spec.swarm2.managers;
    if classic {
        if m != 1 && c.spelt_out("swarm2.managers") {
            let message = "has no effect in classic mode, which runs a single swarm manager \
                           container; remove it";
            c.report("swarm2.managers", message.to_string());
        }
        return;
    }
    let total_nodes: u64 = spec.hosts.iter().map(|h| u64::from(h.nodes)).sum();
    let message = if m == 0 {
        "at least 1 manager is needed".to_string()
    } else if m % 2 == 0 {
        format!(
            "{m} is even; use an odd number such as {} or {}, so that a majority of managers \
             survives a failure",
            m - 1,
            m + 1
        )
    } else if total_nodes > 0 && u64::from(m) > total_nodes {
        let most = if total_nodes % 2 == 1 {
            total_nodes
        } else {
            total_nodes - 1
        };
        format!("{m} managers, but the hosts run only {total_nodes} nodes; use {most} or fewer")
    } else {
        return;
    };
    c.report("swarm2.managers", message);
}

/// Why `image` cannot be an image reference Docker accepts, or `None`. Only what is surely
/// wrong is caught here (empty, blanks, upper case in the repository path); the engine has the
/// last word.
fn image_reference_problem(image: &str) -> Option<String> {
    if image.trim().is_empty() {
        return Some("must not be empty; name an image, e.g. \"busybox:1.36\"".to_string());
    }
    if image.chars().any(char::is_whitespace) {
        return Some(format!(
            "{image:?} contains a blank; an image reference has none"
        ));
    }
    let reference = ImageRef::parse(image);
    if reference.path().chars().any(|c| c.is_ascii_uppercase()) {
        let lower = match reference.registry() {
            Some(r) => format!("{r}/{}", image[r.len() + 1..].to_ascii_lowercase()),
            None => image.to_ascii_lowercase(),
        };
        return Some(format!(
            "{image:?}: repository names are lower case; write {lower:?}"
        ));
    }
    None
}

fn capability_problem(cap: &str) -> Option<String> {
    if CAPABILITIES.contains(&cap) {
        return None;
    }
    let upper = cap.to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    if bare == "ALL" {
        return Some(
            "dropping ALL leaves the nodes without the capabilities dockerd needs; \
             name the capabilities to drop"
                .to_string(),
        );
    }
    if CAPABILITIES.contains(&bare) {
        return Some(if bare.len() < cap.len() {
            format!("{cap:?}: leave out the CAP_ prefix and write {bare:?}")
        } else {
            format!("{cap:?}: capability names are upper case; write {bare:?}")
        });
    }
    let mut message = format!("{cap:?} is not a Linux capability");
    if let Some(near) = closest(bare, CAPABILITIES.iter().copied()) {
        message.push_str(&format!(" (did you mean {near:?}?)"));
    }
    Some(message)
}
