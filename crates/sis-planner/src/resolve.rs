//! Values the planner derives from the spec and the hosts: manager placement and the node
//! profile.

use sis_spec::{Privileged, Spec};

use sis_types::{HostFacts, NodeProfile, CAPABILITIES};

/// Whether an engine of this version knows capability `name`: Docker before 23.0 knows none
/// after `AUDIT_READ` (it rejects `PERFMON`, `BPF` and `CHECKPOINT_RESTORE` in `cap_drop`,
/// and never grants them with `cap_add: ALL`, so a host lacking them needs no drop).
fn engine_knows(version: &str, name: &str) -> bool {
    let major: u32 = version
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(u32::MAX);
    let bit = CAPABILITIES.iter().position(|c| *c == name);
    major >= 23 || bit.is_some_and(|b| b <= 37)
}

/// The profile nodes on a host run with, and why (for the plan's notes).
pub fn resolve_profile(spec: &Spec, facts: Option<&HostFacts>) -> (NodeProfile, String) {
    let capabilities = |extra: &[String]| {
        let mut cap_drop: Vec<String> = spec.swarm2.cap_drop.iter().chain(extra).cloned().collect();
        cap_drop.sort();
        cap_drop.dedup();
        NodeProfile::Capabilities { cap_drop }
    };
    match spec.swarm2.privileged {
        Privileged::Fixed(true) => (NodeProfile::Privileged, "privileged: true".to_string()),
        Privileged::Fixed(false) => (capabilities(&[]), "privileged: false".to_string()),
        Privileged::Auto => match facts {
            Some(f) if f.cap_bnd.is_some() && !f.caps_missing.is_empty() => {
                let known: Vec<String> = f
                    .caps_missing
                    .iter()
                    .filter(|c| engine_knows(&f.version, c))
                    .cloned()
                    .collect();
                let profile = capabilities(&known);
                let why = format!(
                    "privileged: auto, the host's capability bounding set lacks {}",
                    f.caps_missing.join(", ")
                );
                (profile, why)
            }
            Some(f) if f.cap_bnd.is_some() => (
                NodeProfile::Privileged,
                "privileged: auto, the host's capability bounding set is full".to_string(),
            ),
            _ => (
                NodeProfile::Privileged,
                "privileged: auto, the host's capability bounding set is unknown".to_string(),
            ),
        },
    }
}

/// The swarm2 managers as `(host, index)`, in the order sis makes them: round-robin over the
/// hosts that have nodes, lowest indices first, so that no host has two managers while another
/// host with nodes has none. The first is the node that runs `swarm init`.
pub fn manager_slots(spec: &Spec) -> Vec<(String, u32)> {
    let wanted = spec.swarm2.managers.min(spec.total_nodes()) as usize;
    let mut slots = Vec::with_capacity(wanted);
    let mut round = 1;
    while slots.len() < wanted {
        for host in spec.hosts.iter().filter(|h| h.nodes >= round) {
            if slots.len() == wanted {
                break;
            }
            slots.push((host.name.clone(), round));
        }
        round += 1;
    }
    slots
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(hosts: &[(&str, u32)], managers: u32) -> Spec {
        let mut yaml =
            String::from("version: 1\nname: t\nnetwork: {name: n, subnet: 10.9.0.0/16}\nhosts:\n");
        for (name, nodes) in hosts {
            yaml.push_str(&format!("  - {{name: {name}, nodes: {nodes}}}\n"));
        }
        yaml.push_str(&format!("swarm2: {{managers: {managers}}}\n"));
        serde_yaml::from_str(&yaml).unwrap()
    }

    #[test]
    fn managers_spread_over_hosts_before_doubling_up() {
        let s = spec(&[("a", 3), ("b", 1), ("c", 2)], 5);
        let slots = manager_slots(&s);
        assert_eq!(
            slots,
            vec![
                ("a".into(), 1),
                ("b".into(), 1),
                ("c".into(), 1),
                ("a".into(), 2),
                ("c".into(), 2)
            ]
        );
    }

    #[test]
    fn managers_skip_hosts_without_nodes() {
        let s = spec(&[("a", 0), ("b", 2)], 1);
        assert_eq!(manager_slots(&s), vec![("b".into(), 1)]);
    }

    #[test]
    fn capabilities_an_older_engine_does_not_know_are_not_dropped() {
        let mut yaml =
            String::from("version: 1\nname: t\nnetwork: {name: n, subnet: 10.9.0.0/16}\n");
        yaml.push_str("hosts: [{name: a, nodes: 1}]\n");
        let s: Spec = serde_yaml::from_str(&yaml).unwrap();
        let missing = ["SYS_RESOURCE", "PERFMON", "BPF", "CHECKPOINT_RESTORE"];
        let facts = |version: &str| HostFacts {
            version: version.into(),
            cap_bnd: Some(0),
            caps_missing: missing.iter().map(|c| c.to_string()).collect(),
            ..HostFacts::default()
        };
        let (old, _) = resolve_profile(&s, Some(&facts("20.10.24+dfsg1")));
        assert_eq!(
            old,
            NodeProfile::Capabilities {
                cap_drop: vec!["SYS_RESOURCE".into()]
            }
        );
        let (new, _) = resolve_profile(&s, Some(&facts("27.3.1")));
        let NodeProfile::Capabilities { cap_drop } = new else {
            panic!("expected the capability profile")
        };
        assert_eq!(cap_drop.len(), 4);
    }
}
