//! `sis status`: observe the hosts, print what is there (as text, or as the JSON that
//! `sis plan --observed` reads); with `--watch` again and again.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use sis_engine::{DockerHost, NodeVolume};
use sis_executor::Hosts;
use sis_spec::{Spec, Swarm2Mode};
use sis_types::{labels, HostObservation, Observed};
use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::cli::{Output, StatusArgs};
use crate::exit::{CliError, CliResult};
use crate::output::print_json;
use crate::spec::load_spec;

pub async fn status(args: StatusArgs) -> CliResult {
    if args.watch && args.output == Output::Json {
        return Err(CliError::new(
            "--watch redraws text; for JSON run `sis status FILE --output json` once per look",
        ));
    }
    let spec = load_spec(&args.file)?;
    let hosts = crate::hosts::connect(&spec, &args.file)?;
    if args.watch {
        return watch(&spec, &hosts, &args).await;
    }
    let mut observed = sis_executor::observe(&spec, &hosts).await;
    observed.kvstore = sis_executor::probe_kvstore(&spec, &hosts, &observed).await;
    match args.output {
        Output::Json => print_json(&observed),
        Output::Text => {
            let volumes = node_volumes(&spec, &hosts, &observed).await;
            print!("{}", render(&spec, &observed, &volumes))
        }
    }
    Ok(())
}

/// `--watch`: look, show, wait, until Ctrl-C (or SIGTERM, SIGHUP), which ends it with exit
/// code 0 — it is the way to stop it, not a failure. On a terminal each look replaces the
/// last (clear and home, as watch(1) does); in a pipe or file each look is a block after a
/// line with its time, so the file reads as a log.
async fn watch(spec: &Spec, hosts: &Hosts<DockerHost>, args: &StatusArgs) -> CliResult {
    let terminal = std::io::stdout().is_terminal();
    let mut signals = Signals::new()?;
    loop {
        let tick = tokio::time::Instant::now();
        let look = async {
            let mut observed = sis_executor::observe(spec, hosts).await;
            observed.kvstore = sis_executor::probe_kvstore(spec, hosts, &observed).await;
            observed
        };
        let observed = tokio::select! {
            o = look => o,
            _ = signals.next() => return Ok(()),
        };
        let when = utc(SystemTime::now());
        let volumes = node_volumes(spec, hosts, &observed).await;
        let block = render(spec, &observed, &volumes);
        let mut out = std::io::stdout().lock();
        let shown = if terminal {
            write!(
                out,
                "\x1b[H\x1b[2JEvery {} s: sis status {}   {when}\n\n{block}",
                args.interval.as_secs(),
                args.file.display()
            )
        } else {
            write!(out, "--- {when}\n{block}")
        };
        // A reader that went away (`| head`) ends the watch.
        if shown.and_then(|()| out.flush()).is_err() {
            return Ok(());
        }
        drop(out);
        tokio::select! {
            _ = tokio::time::sleep_until(tick + args.interval) => {}
            _ = signals.next() => return Ok(()),
        }
    }
}

/// Ctrl-C, SIGTERM and SIGHUP.
struct Signals([Signal; 3]);

impl Signals {
    fn new() -> Result<Signals, String> {
        let on = |kind| signal(kind).map_err(|e| format!("cannot catch signals: {e}"));
        Ok(Signals([
            on(SignalKind::interrupt())?,
            on(SignalKind::terminate())?,
            on(SignalKind::hangup())?,
        ]))
    }

    async fn next(&mut self) {
        let [a, b, c] = &mut self.0;
        tokio::select! {
            _ = a.recv() => {}
            _ = b.recv() => {}
            _ = c.recv() => {}
        }
    }
}

/// `2026-12-07 03:30:48 UTC`.
fn utc(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's days_from_civil, inverted).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// How many of the largest node volumes a host's lines name.
const LARGEST_VOLUMES: usize = 3;

/// Per reachable host with nodes: its nodes' volumes, largest first, or why they could not
/// be measured.
async fn node_volumes(
    spec: &Spec,
    hosts: &Hosts<DockerHost>,
    observed: &Observed,
) -> BTreeMap<String, Result<Vec<NodeVolume>, String>> {
    let image = spec.swarm2.image.to_string();
    let reads = spec.hosts.iter().filter_map(|h| {
        let has_nodes = match observed.hosts.get(&h.name) {
            Some(HostObservation::Reachable(f)) => f
                .containers
                .iter()
                .any(|c| c.label(labels::ROLE) == Some(labels::ROLE_NODE)),
            _ => false,
        };
        let engine = hosts.get(&h.name).filter(|_| has_nodes)?;
        let image = &image;
        Some(async move {
            let read = engine
                .node_volumes(&spec.name, image)
                .await
                .map_err(|e| sis_executor::error_chain(&e));
            (h.name.clone(), read)
        })
    });
    futures::future::join_all(reads).await.into_iter().collect()
}

/// Per host: engine, swarm1, nodes running/total, free disk and the largest node volumes;
/// then swarm2: ready/down, managers, leader.
fn render(
    spec: &Spec,
    observed: &Observed,
    volumes: &BTreeMap<String, Result<Vec<NodeVolume>, String>>,
) -> String {
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
                        "{} free in {}{}, keeping {} free (disk_floor)",
                        sis_planner::capacity::size(d.free_bytes),
                        d.path,
                        d.free_inodes
                            .map(|n| format!(", {n} inodes"))
                            .unwrap_or_default(),
                        sis_planner::capacity::size(spec.disk_floor(&h.name))
                    ),
                    None => "unknown (no image on the host to probe it with)".to_string(),
                };
                let _ = writeln!(out, "  disk: {disk}");
                match volumes.get(&h.name) {
                    Some(Ok(v)) if !v.is_empty() => {
                        let total: u64 = v.iter().map(|v| v.bytes).sum();
                        let largest: Vec<String> = v
                            .iter()
                            .take(LARGEST_VOLUMES)
                            .map(|v| format!("{} {}", v.node, sis_planner::capacity::size(v.bytes)))
                            .collect();
                        let _ = writeln!(
                            out,
                            "  node volumes: {} in {}; largest: {}",
                            sis_planner::capacity::size(total),
                            v.len(),
                            largest.join(", ")
                        );
                    }
                    Some(Err(e)) => {
                        let _ = writeln!(out, "  node volumes: not measured ({e})");
                    }
                    _ => {}
                }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn utc_times() {
        assert_eq!(utc(UNIX_EPOCH), "1970-01-01 00:00:00 UTC");
        let leap = UNIX_EPOCH + Duration::from_secs(1_709_210_096);
        assert_eq!(utc(leap), "2024-02-29 12:34:56 UTC");
        let later = UNIX_EPOCH + Duration::from_secs(4_102_444_799);
        assert_eq!(utc(later), "2099-12-31 23:59:59 UTC");
    }
}
