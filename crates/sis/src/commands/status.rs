//! `sis status`: observe the hosts, print what is there (as text, or as the JSON that
//! `sis plan --observed` reads).

use std::fmt::Write;

use sis_spec::Spec;
use sis_types::{labels, HostObservation, Observed};

use crate::cli::{Output, StatusArgs};
use crate::exit::CliResult;
use crate::output::print_json;
use crate::spec::load_spec;

pub async fn status(args: StatusArgs) -> CliResult {
    let spec = load_spec(&args.file)?;
    let hosts = crate::hosts::connect(&spec, &args.file)?;
    let observed = sis_executor::observe(&spec, &hosts).await;
    match args.output {
        Output::Json => print_json(&observed),
        Output::Text => print!("{}", render(&spec, &observed)),
    }
    Ok(())
}

/// Per host: engine, swarm1, nodes running/total; then swarm2: ready/down, managers, leader.
fn render(spec: &Spec, observed: &Observed) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "cluster {}", spec.name);
    for h in &spec.hosts {
        match observed.hosts.get(&h.name) {
            Some(HostObservation::Reachable(f)) => {
                let nodes: Vec<_> = f
                    .containers
                    .iter()
                    .filter(|c| c.label(labels::ROLE) == Some(labels::ROLE_NODE))
                    .collect();
                let running = nodes.iter().filter(|c| c.is_running()).count();
                let swarm1 = if f.swarm1.is_active() {
                    if f.swarm1.is_manager {
                        "swarm1 manager"
                    } else {
                        "swarm1 worker"
                    }
                } else {
                    "not in swarm1"
                };
                let _ = writeln!(
                    out,
                    "host {}: {} (engine {}, {} CPUs, {:.1} GiB), {swarm1}, nodes {running} running / {} total (spec: {})",
                    h.name,
                    f.endpoint,
                    f.version,
                    f.cpus,
                    f.memory_bytes as f64 / (1u64 << 30) as f64,
                    nodes.len(),
                    h.nodes
                );
                // Where the nodes' layers and volumes go: what a larger spec needs of it.
                let disk = match &f.disk {
                    Some(d) => format!(
                        "{} free in {}{}",
                        sis_planner::capacity::size(d.free_bytes),
                        d.path,
                        d.free_inodes
                            .map(|n| format!(", {n} inodes"))
                            .unwrap_or_default()
                    ),
                    None => "unknown (no image on the host to probe it with)".to_string(),
                };
                let _ = writeln!(out, "  disk: {disk}");
            }
            Some(HostObservation::Unreachable { endpoint, error }) => {
                let _ = writeln!(out, "host {}: {endpoint}: UNREACHABLE: {error}", h.name);
            }
            None => {
                let _ = writeln!(out, "host {}: not observed", h.name);
            }
        }
    }
    match &observed.swarm2 {
        None => {
            let _ = writeln!(out, "swarm2: not formed");
        }
        Some(s) => {
            let count = |status: &str| s.nodes.iter().filter(|n| n.status == status).count();
            let managers = s.nodes.iter().filter(|n| n.is_manager()).count();
            let leader = s
                .nodes
                .iter()
                .find(|n| n.manager_status == "leader")
                .map(|n| n.hostname.as_str())
                .unwrap_or("none");
            let _ = writeln!(
                out,
                "swarm2: {} nodes: {} ready, {} down, {} other; {managers} managers, leader {leader} (seen via {})",
                s.nodes.len(),
                count("ready"),
                count("down"),
                s.nodes.len() - count("ready") - count("down"),
                s.via
            );
        }
    }
    out
}
