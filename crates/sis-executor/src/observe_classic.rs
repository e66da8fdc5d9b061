//! Classic mode's swarm2, as its manager sees it: `docker info` of the manager, asked from
//! inside a running node over ring2net.
//!
//! Asked from a node rather than through the published port: the port is published on the
//! manager's host, whose address as seen from here is not known when the host's endpoint is
//! a unix socket or a name behind a proxy, while every node reaches the manager at its fixed
//! address on ring2net. The node's docker CLI also talks the manager's old API version.

use std::time::Duration;

use sis_engine::HostEngine;
use sis_spec::addresses::AddressPlan;
use sis_spec::Spec;
use sis_types::{labels, ClassicNode, ClassicObservation, Observed};

use crate::observe::{error_chain, Hosts};

/// Bound on one question to a node.
const ASK: Duration = Duration::from_secs(20);

/// The first Docker major version without `--cluster-store` (removed in 23.0).
pub const FIRST_WITHOUT_CLUSTER_STORE: u32 = 23;

/// Asks the manager through the first running node; `None` when no node runs yet.
pub async fn observe<E: HostEngine>(
    spec: &Spec,
    hosts: &Hosts<E>,
    observed: &Observed,
) -> Option<ClassicObservation> {
    let (host, node) = first_running_node(spec, observed)?;
    let engine = &hosts[&host];
    let mut seen = ClassicObservation {
        via: node.clone(),
        ..ClassicObservation::default()
    };
    let version = vec![
        "docker".to_string(),
        "version".to_string(),
        "--format".to_string(),
        "{{.Server.Version}}".to_string(),
    ];
    if let Ok(out) = engine.exec(&node, version, ASK).await {
        let version = out.stdout.trim().to_string();
        if major(&version).is_some_and(|m| m >= FIRST_WITHOUT_CLUSTER_STORE) {
            seen.unsupported_engine = Some(version);
            return Some(seen);
        }
    }
    let manager = AddressPlan::of(spec).classic_manager();
    let mut info = vec![
        "docker".to_string(),
        "-H".to_string(),
        format!("tcp://{manager}:2375"),
    ];
    if spec.swarm2.classic_tls() {
        // The node's own certificate is a client's too (see the classic planner).
        info.push("--tlsverify".to_string());
        for (flag, file) in [
            ("--tlscacert", "ca.pem"),
            ("--tlscert", "cert.pem"),
            ("--tlskey", "key.pem"),
        ] {
            info.push(format!("{flag}={}/{file}", labels::TLS_DIR));
        }
    }
    info.extend([
        "info".to_string(),
        "--format".to_string(),
        "{{json .SystemStatus}}".to_string(),
    ]);
    match engine.exec(&node, info, ASK).await {
        Ok(out) if out.exit_code == 0 => match parse_system_status(&out.stdout) {
            Ok(nodes) => seen.nodes = nodes,
            Err(e) => seen.error = Some(format!("unreadable manager info: {e}")),
        },
        Ok(out) => {
            let text = if out.stderr.trim().is_empty() {
                out.stdout
            } else {
                out.stderr
            };
            seen.error = Some(text.trim().to_string());
        }
        Err(e) => seen.error = Some(error_chain(&e)),
    }
    Some(seen)
}

/// The host and name of the first running node (by name) of the first host that has one.
pub(crate) fn first_running_node(spec: &Spec, observed: &Observed) -> Option<(String, String)> {
    spec.hosts.iter().find_map(|h| {
        let facts = observed.hosts.get(&h.name)?.facts()?;
        let node = facts
            .containers
            .iter()
            .filter(|c| c.is_node() && c.is_running())
            .min_by_key(|c| c.name.clone())?;
        Some((h.name.clone(), node.name.clone()))
    })
}

/// The major version of a Docker version string (`20.10.24` → 20).
pub fn major(version: &str) -> Option<u32> {
    version.split('.').next()?.trim().parse().ok()
}

/// The nodes of classic Swarm's `SystemStatus`: a node is a key with one leading blank
/// (`" name"`, value its address), followed by its `"  └ Status"`, `"  └ Error"`, … rows.
pub fn parse_system_status(text: &str) -> Result<Vec<ClassicNode>, serde_json::Error> {
    let rows: Option<Vec<[String; 2]>> = serde_json::from_str(text.trim())?;
    let mut nodes: Vec<ClassicNode> = Vec::new();
    for [key, value] in rows.unwrap_or_default() {
        if let Some(field) = key.trim_start().strip_prefix('└') {
            let Some(node) = nodes.last_mut() else {
                continue;
            };
            match field.trim() {
                "Status" => node.status = value,
                "Error" if value != "(none)" && !value.is_empty() => node.error = Some(value),
                _ => {}
            }
        } else if key.starts_with(' ') {
            nodes.push(ClassicNode {
                name: key.trim().to_string(),
                addr: value,
                status: String::new(),
                error: None,
            });
        }
    }
    Ok(nodes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_are_read_from_the_system_status() {
        let text = r#"[["Role","primary"],["Strategy","spread"],["Nodes","2"],
            [" demo.local-1","10.9.0.16:2375"],["  └ ID","X"],["  └ Status","Healthy"],
            ["  └ Error","(none)"],
            [" (unknown)","10.9.0.17:2375"],["  └ Status","Pending"],
            ["  └ Error","Cannot connect"]]"#;
        let nodes = parse_system_status(text).unwrap();
        assert_eq!(nodes.len(), 2);
        assert_eq!(
            (
                nodes[0].name.as_str(),
                nodes[0].addr.as_str(),
                nodes[0].status.as_str()
            ),
            ("demo.local-1", "10.9.0.16:2375", "Healthy")
        );
        assert_eq!(nodes[0].error, None);
        assert_eq!(nodes[1].status, "Pending");
        assert_eq!(nodes[1].error.as_deref(), Some("Cannot connect"));
        assert_eq!(parse_system_status("null").unwrap(), []);
    }

    #[test]
    fn engines_from_23_on_have_no_cluster_store() {
        assert_eq!(major("20.10.24"), Some(20));
        assert!(major("24.0.7").unwrap() >= FIRST_WITHOUT_CLUSTER_STORE);
    }
}
