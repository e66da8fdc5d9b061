//! `sis doctor`: per spec host, the limits that hundreds of dind nodes run into, what the
//! spec needs of each (with the formula) and the exact fix. The checks themselves
//! ([`host_checks`]) are pure; [`doctor`] gathers the facts through the engines.

mod checks;

use futures::future::join_all;
use serde::Serialize;
use sis_engine::HostEngine;
use sis_spec::Spec;
use sis_types::HostObservation;

use crate::observe::{error_chain, observe, Hosts};

pub use checks::host_checks;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    /// Worth fixing, but the spec may still come up.
    Warning,
    /// The spec will not come up as it is.
    Blocker,
}

/// One limit on one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub host: String,
    /// What is checked: a sysctl name, `memory`, `disk`, `engine`…
    pub name: String,
    /// What the host has.
    pub value: String,
    /// What the spec needs of it, with the formula.
    pub need: String,
    pub status: Status,
    /// The exact fix: a `sysctl -w` line or the change to the spec.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// Every check of every host, in spec order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DoctorReport {
    pub cluster: String,
    pub checks: Vec<Check>,
}

impl DoctorReport {
    pub fn blockers(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.status == Status::Blocker)
    }
}

/// Observes the hosts and probes their limits (one short-lived container each), then checks.
pub async fn doctor<E: HostEngine>(spec: &Spec, hosts: &Hosts<E>) -> DoctorReport {
    let observed = observe(spec, hosts).await;
    let image = spec.swarm2.image.to_string();
    let probes = spec.hosts.iter().map(|h| {
        let engine = hosts.get(&h.name).expect("every spec host has an engine");
        let image = image.clone();
        async move { engine.host_limits(&image).await }
    });
    let limits = join_all(probes).await;
    // Hosts on one machine (the same boot ID: lab hosts) share its kernel and cores: each is
    // checked for the nodes of all of them.
    let machine: Vec<Option<String>> = limits
        .iter()
        .map(|l| l.as_ref().ok().and_then(|l| l.machine.clone()))
        .collect();
    let mut checks = Vec::new();
    for (i, (h, limits)) in spec.hosts.iter().zip(limits).enumerate() {
        let peers: Vec<&sis_spec::Host> = spec
            .hosts
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i && machine[i].is_some() && machine[*j] == machine[i])
            .map(|(_, p)| p)
            .collect();
        let shared: Vec<String> = peers.iter().map(|p| p.name.clone()).collect();
        let mut machine_host = h.clone();
        machine_host.nodes += peers.iter().map(|p| p.nodes).sum::<u32>();
        let h = &machine_host;
        let facts = match observed.hosts.get(&h.name) {
            Some(HostObservation::Reachable(f)) => f,
            Some(HostObservation::Unreachable { endpoint, error }) => {
                checks.push(unreachable(&h.name, endpoint, error));
                continue;
            }
            None => continue,
        };
        match limits {
            Ok(limits) => checks.extend(host_checks(spec, h, facts, &limits, &shared)),
            Err(e) => {
                checks.push(Check {
                    host: h.name.clone(),
                    name: "limits probe".into(),
                    value: error_chain(&e),
                    need: "a container of an image with a shell, to read /proc/sys and df".into(),
                    status: Status::Warning,
                    fix: Some(format!(
                        "pull {image} on host {} and run sis doctor again",
                        h.name
                    )),
                });
                let empty = sis_types::HostLimits::default();
                checks.extend(host_checks(spec, h, facts, &empty, &shared));
            }
        }
    }
    DoctorReport {
        cluster: spec.name.clone(),
        checks,
    }
}

fn unreachable(host: &str, endpoint: &str, error: &str) -> Check {
    Check {
        host: host.to_string(),
        name: "engine".into(),
        value: format!("{endpoint}: unreachable: {error}"),
        need: "a Docker engine that answers".into(),
        status: Status::Blocker,
        fix: Some(format!(
            "start the engine on host {host} or correct its endpoint in the spec"
        )),
    }
}
