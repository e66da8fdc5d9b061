//! `sis status`: observe the hosts, print what is there (as text, or as the JSON that
//! `sis plan --observed` reads).

use std::fmt::Write;

use sis_spec::{Spec, Swarm2Mode};
use sis_types::{labels, HostObservation, Observed};

use crate::cli::{Output, StatusArgs};
use crate::exit::CliResult;
use crate::output::print_json;
use crate::spec::load_spec;

pub async fn status(args: StatusArgs) -> CliResult {
    let spec = load_spec(&args.file)?;
    let hosts = crate::hosts::connect(&spec, &args.file)?;
    let mut observed = sis_executor::observe(&spec, &hosts).await;
    observed.kvstore = sis_executor::probe_kvstore(&spec, &hosts, &observed).await;
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
    render_kvstore(spec, observed, &mut out);
    if spec.swarm2.mode == Swarm2Mode::Classic {
        render_classic(spec, observed, &mut out);
        return out;
    }
    match &observed.swarm2 {
        None => {
            let held: Vec<&String> = observed
                .swarm2_locals
                .iter()
                .filter(|(_, l)| l.holds_state())
                .map(|(name, _)| name)
                .collect();
            let lost = observed.swarm2_locals.values().any(|l| l.lost_quorum());
            if lost {
                let _ = writeln!(
                    out,
                    "swarm2: NO LEADER: its managers lost quorum ({} nodes hold its state); `sis plan` shows the repair, `sis apply --repair` runs it",
                    held.len()
                );
            } else if !held.is_empty() {
                let _ = writeln!(
                    out,
                    "swarm2: no manager answers ({} nodes hold its state)",
                    held.len()
                );
            } else {
                let _ = writeln!(out, "swarm2: not formed");
            }
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

/// The K/V store: healthy or why not, its key count and the probe's latencies; with its
/// container's state when the probe found it unhealthy or could not run.
fn render_kvstore(spec: &Spec, observed: &Observed, out: &mut String) {
    let Some(kv) = &spec.kvstore else { return };
    let name = sis_spec::names::kvstore_name(&spec.name);
    let container = observed
        .hosts
        .get(&kv.host)
        .and_then(|h| h.facts())
        .and_then(|f| {
            f.containers
                .iter()
                .find(|c| c.label(labels::ROLE) == Some(labels::ROLE_KVSTORE))
        })
        .map(|c| format!("container {} {}", c.name, c.state))
        .unwrap_or_else(|| format!("no container {name} on host {}", kv.host));
    let Some(p) = &observed.kvstore else {
        let _ = writeln!(
            out,
            "kvstore: not probed: no node runs to probe it from ({container})"
        );
        return;
    };
    let ms = |us: Option<u64>| {
        us.map(|u| format!("{:.1} ms", u as f64 / 1000.0))
            .unwrap_or_else(|| "? ms".to_string())
    };
    let keys = p
        .keys
        .map(|k| format!("{k} keys"))
        .unwrap_or_else(|| "keys unknown".to_string());
    let head = format!(
        "kvstore ({} at {}, probed via {})",
        p.kind, p.address, p.via
    );
    match &p.error {
        None => {
            let _ = writeln!(
                out,
                "{head}: healthy, {keys}, write {} read {} delete {}",
                ms(p.write_us),
                ms(p.read_us),
                ms(p.delete_us)
            );
        }
        Some(e) => {
            let _ = writeln!(out, "{head}: UNHEALTHY: {e} ({container}), {keys}");
        }
    }
}

/// Classic mode: the manager's count of Healthy, Pending and Unhealthy nodes, each node
/// that is not Healthy with the manager's error, or why the manager could not be asked.
fn render_classic(spec: &Spec, observed: &Observed, out: &mut String) {
    let port = spec.swarm2.publish_port();
    let host = spec.classic_manager_host().unwrap_or("?");
    let Some(c) = &observed.classic else {
        let _ = writeln!(
            out,
            "swarm2 (classic): no node runs to ask the manager from"
        );
        return;
    };
    if let Some(version) = &c.unsupported_engine {
        let _ = writeln!(
            out,
            "swarm2 (classic): node {} runs Docker {version}, which has no --cluster-store (removed in Docker 23): use a node image with Docker 20.10 or older",
            c.via
        );
        return;
    }
    if let Some(error) = &c.error {
        let _ = writeln!(
            out,
            "swarm2 (classic): manager not answering (asked via {}): {error}",
            c.via
        );
        return;
    }
    let count = |status: &str| c.nodes.iter().filter(|n| n.status == status).count();
    let _ = writeln!(
        out,
        "swarm2 (classic): {} nodes: {} healthy, {} pending, {} unhealthy; manager on host {host} port {port} (seen via {})",
        c.nodes.len(),
        count("Healthy"),
        count("Pending"),
        count("Unhealthy"),
        c.via
    );
    for n in c.nodes.iter().filter(|n| n.status != "Healthy") {
        let _ = writeln!(
            out,
            "  {} {}: {}{}",
            n.name,
            n.addr,
            n.status,
            n.error
                .as_deref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        );
    }
}
