//! The basis of a plan: what of an observation the plan depends on, as named entries, so a
//! saved plan can tell whether the hosts are still as they were when it was made, and say
//! what changed when they are not.
//!
//! Strict on what the planner decides by, blind to what moves on its own:
//! - per host: reachable or not, the engine's ID, the capabilities it lacks, its place in
//!   swarm1 (state, node and cluster ID, manager or not), whether it has each image the spec
//!   names, the spec's network and any network overlapping its subnet (ID, driver, scope,
//!   subnets, labels), the cluster's containers (ID, image, running or not, labels). Left out:
//!   engine version, CPUs, memory, other networks, and the apply lock's container (the apply
//!   that checks the basis holds it).
//! - swarm2: its cluster ID, ingress, and per entry its ID, hostname, role (manager or
//!   worker), availability and whether it is down. Left out: the manager that answered, which
//!   manager leads, and `ready` against `unknown` (a node's status passes through `unknown`
//!   while managers exchange heartbeats; `down` and `disconnected` count as down).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sis_spec::Spec;
use sis_types::{labels, HostObservation, NodeStatus, Observed};

/// Named entries (`host h1: container demo.h1-1` → `id=… running …`), in a stable order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Basis(pub BTreeMap<String, String>);

impl Basis {
    /// The basis of `observed` for `spec`.
    pub fn of(spec: &Spec, observed: &Observed) -> Basis {
        let mut e = BTreeMap::new();
        let mut images: Vec<String> = vec![spec.swarm2.image.to_string()];
        images.extend(spec.swarm2.preload.iter().map(|i| i.to_string()));
        if let Some(kv) = &spec.kvstore {
            images.push(kv.image().to_string());
        }
        for (host, o) in &observed.hosts {
            let f = match o {
                HostObservation::Reachable(f) => f,
                HostObservation::Unreachable { .. } => {
                    e.insert(format!("host {host}"), "unreachable".into());
                    continue;
                }
            };
            e.insert(
                format!("host {host}"),
                format!(
                    "engine {} lacking [{}]",
                    f.engine_id.as_deref().unwrap_or("?"),
                    f.caps_missing.join(",")
                ),
            );
            let s = &f.swarm1;
            e.insert(
                format!("host {host}: swarm1"),
                format!(
                    "{} node {} cluster {} {}",
                    s.state,
                    s.node_id.as_deref().unwrap_or("-"),
                    s.cluster_id.as_deref().unwrap_or("-"),
                    if s.is_manager { "manager" } else { "worker" },
                ),
            );
            for image in &images {
                let has = if f.images.contains(image) {
                    "present"
                } else {
                    "absent"
                };
                e.insert(format!("host {host}: image {image}"), has.into());
            }
            for n in &f.networks {
                // Other networks matter only where they overlap ring2net (the planner refuses
                // those); networks that come and go elsewhere on the host are no change.
                let ours = spec.network.subnet;
                let overlaps = n
                    .subnets
                    .iter()
                    .any(|s| s.contains(&ours.network()) || ours.contains(&s.network()));
                if n.name != spec.network.name && !overlaps {
                    continue;
                }
                e.insert(
                    format!("host {host}: network {}", n.name),
                    format!(
                        "id={} {} {} subnets={:?} labels={:?}",
                        n.id, n.driver, n.scope, n.subnets, n.labels
                    ),
                );
            }
            for c in &f.containers {
                if c.label(labels::ROLE) == Some(labels::ROLE_LOCK) {
                    continue;
                }
                e.insert(
                    format!("host {host}: container {}", c.name),
                    format!(
                        "id={} image={} {} labels={:?}",
                        c.id,
                        c.image,
                        if c.is_running() {
                            "running"
                        } else {
                            "not running"
                        },
                        c.labels
                    ),
                );
            }
        }
        match &observed.swarm2 {
            None => {
                e.insert("swarm2".into(), "none".into());
            }
            Some(s) => {
                e.insert(
                    "swarm2".into(),
                    format!(
                        "cluster {} ingress {:?}",
                        s.cluster_id.as_deref().unwrap_or("-"),
                        s.ingress
                    ),
                );
                for n in &s.nodes {
                    let down = matches!(n.status, NodeStatus::Down | NodeStatus::Disconnected);
                    e.insert(
                        format!("swarm2 entry {} ({})", n.id, n.hostname),
                        format!(
                            "{} {}{}",
                            if n.is_manager() { "manager" } else { "worker" },
                            n.availability,
                            if down { " down" } else { "" }
                        ),
                    );
                }
            }
        }
        Basis(e)
    }

    /// A short, stable digest of the entries (FNV-1a 64 of their JSON).
    pub fn fingerprint(&self) -> String {
        fnv64(&serde_json::to_string(&self.0).expect("a basis serializes"))
    }

    /// What differs from `earlier`, one line per entry: `gone`, `new`, or `was …, now …`.
    pub fn changes_since(&self, earlier: &Basis) -> Vec<String> {
        let mut out = Vec::new();
        for (k, before) in &earlier.0 {
            match self.0.get(k) {
                None => out.push(format!("{k}: gone (was {before})")),
                Some(now) if now != before => out.push(format!("{k}: was {before}, now {now}")),
                Some(_) => {}
            }
        }
        for (k, now) in &self.0 {
            if !earlier.0.contains_key(k) {
                out.push(format!("{k}: new ({now})"));
            }
        }
        out
    }
}

/// FNV-1a 64 as 16 hex digits: stable across platforms and releases (not a secure hash; it
/// detects change, it does not authenticate).
pub fn fnv64(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use sis_types::{ContainerObservation, HostFacts, Swarm2Node, Swarm2Observation};

    fn observed(containers: &[(&str, &str)], status: &str) -> Observed {
        let containers = containers
            .iter()
            .map(|(name, role)| ContainerObservation {
                id: format!("id-{name}"),
                name: name.to_string(),
                image: "sis-node:test".into(),
                state: "running".into(),
                labels: [(labels::ROLE.to_string(), role.to_string())].into(),
                ring2net_ip: None,
            })
            .collect();
        let facts = HostFacts {
            containers,
            ..HostFacts::default()
        };
        Observed {
            cluster: "demo".into(),
            hosts: [(
                "local".to_string(),
                HostObservation::Reachable(Box::new(facts)),
            )]
            .into(),
            swarm2: Some(Swarm2Observation {
                via: "demo.local-1".into(),
                nodes: vec![Swarm2Node {
                    id: "n1".into(),
                    hostname: "demo.local-1".into(),
                    status: status.into(),
                    availability: "active".into(),
                    manager_status: "leader".into(),
                }],
                ..Swarm2Observation::default()
            }),
            ..Observed::default()
        }
    }

    fn spec() -> Spec {
        sis_spec::parse_str(
            "c.yaml",
            "version: 1\nname: demo\nhosts:\n  - name: local\n    nodes: 1\nnetwork:\n  name: ring2net\n  subnet: 10.9.0.0/16\n",
        )
        .unwrap()
    }

    #[test]
    fn status_flapping_and_the_lock_are_no_change_a_removed_node_is() {
        let spec = spec();
        let before = Basis::of(&spec, &observed(&[("demo.local-1", "node")], "ready"));
        let flapped = Basis::of(
            &spec,
            &observed(
                &[("demo.local-1", "node"), ("demo.sis-lock", "lock")],
                "unknown",
            ),
        );
        assert_eq!(flapped.fingerprint(), before.fingerprint());
        assert!(flapped.changes_since(&before).is_empty());

        let removed = Basis::of(&spec, &observed(&[], "down"));
        let changes = removed.changes_since(&before);
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert!(changes[0].starts_with("host local: container demo.local-1: gone"));
        assert!(
            changes[1].contains("now manager active down"),
            "{changes:?}"
        );
    }

    #[test]
    fn only_the_specs_network_and_overlapping_ones_count() {
        let spec = spec();
        let net = |name: &str, subnet: &str| sis_types::NetworkObservation {
            id: format!("id-{name}"),
            name: name.into(),
            driver: "overlay".into(),
            scope: "swarm".into(),
            attachable: true,
            subnets: vec![subnet.parse().unwrap()],
            ip_range: None,
            labels: Default::default(),
        };
        let with = |o: &mut Observed, n| {
            if let Some(HostObservation::Reachable(f)) = o.hosts.get_mut("local") {
                f.networks.push(n);
            }
        };
        let mut o = observed(&[], "ready");
        let before = Basis::of(&spec, &o);
        with(&mut o, net("other-cluster-net", "10.250.1.0/24"));
        assert_eq!(Basis::of(&spec, &o), before);
        with(&mut o, net("clash", "10.9.4.0/24"));
        with(&mut o, net("ring2net", "10.9.0.0/16"));
        let changes = Basis::of(&spec, &o).changes_since(&before);
        assert_eq!(changes.len(), 2, "{changes:?}");
    }
}
