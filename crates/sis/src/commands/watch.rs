//! `sis watch`: sample the cluster into a JSON-lines run file, for `sis report`.
//!
//! Each sample: swarm2's nodes by state and host (as a manager lists them), the reachable
//! managers, the leader, the manager API's latency (`docker node ls` timed in every running
//! manager: p50 and p99 of the interval, and the time of the whole look at swarm2), and per host CPU, load, memory and the free disk
//! where the nodes' volumes live (read in one of its nodes: /proc is the host's, and the
//! nodes' /var/lib/docker volumes are on the host's disk), and with a K/V store in the spec its
//! health, key count and probe latency (the probe of `sis status`). Leader changes and fault
//! markers appearing and going become events. With `--output jsonl` every record is also
//! an event on stdout (docs/events.schema.json).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use futures::future::join_all;
use serde_json::{json, Map, Value};
use sis_engine::{DockerHost, HostEngine};
use sis_executor::chaos::{
    select, FAULT_CLUSTER, FAULT_DETAIL, FAULT_ID, FAULT_KIND, FAULT_TARGETS,
};
use sis_executor::Hosts;
use sis_spec::Spec;
use sis_types::ContainerState;

use crate::cli::{StreamOutput, WatchArgs};
use crate::exit::{self, CliError, CliResult};
use crate::jsonl::Jsonl;
use crate::runlog;
use crate::spec::load_spec;

const PROBE_TIMEOUT: Duration = Duration::from_secs(20);
const PROBE: &str = "head -n1 /proc/stat; cat /proc/loadavg; \
grep -E '^(MemTotal|MemAvailable):' /proc/meminfo; df -P -k /var/lib/docker | tail -n1";

pub async fn watch(args: WatchArgs) -> CliResult {
    let jsonl = args.output == StreamOutput::Jsonl;
    if args.out.is_none() && !jsonl {
        return Err(CliError::new(
            "sis watch needs --out FILE (the run file), or --output jsonl to print the samples",
        ));
    }
    let spec = load_spec(&args.file)?;
    let hosts = crate::hosts::connect(&spec, &args.file)?;
    let mut stop = crate::signals::interrupt_on_signals();
    let begin = Instant::now();
    let mut state = WatchState::default();
    let mut samples = 0u64;
    let out = args.out.as_deref();
    let into = out
        .map(|p| format!(" into {}", p.display()))
        .unwrap_or_default();
    let events = jsonl.then(|| {
        Jsonl::start_with(
            "watch",
            &spec.name,
            &args.file,
            json!({
                "interval_seconds": args.interval.as_secs_f64(),
                "out": out.map(|p| p.display().to_string()),
            }),
        )
    });
    if events.is_none() {
        println!(
            "watching cluster {} every {} s{into}{}",
            spec.name,
            args.interval.as_secs(),
            args.for_
                .map(|d| format!(" for {} s", d.as_secs()))
                .unwrap_or_default()
        );
    }
    let finish = |samples: u64, result: CliResult| {
        match &events {
            Some(j) => {
                let (ending, code) = match &result {
                    Ok(()) => ("done", exit::OK),
                    Err(e) if e.exit_code == exit::INTERRUPTED => ("interrupted", e.exit_code),
                    Err(e) => ("failed", e.exit_code),
                };
                let mut extra = json!({ "samples": samples });
                if let Err(e) = &result {
                    if e.exit_code != exit::INTERRUPTED {
                        extra["error"] = json!(e.to_string());
                    }
                }
                j.end(ending, code, extra);
            }
            None => println!("{samples} samples written{into}"),
        }
        result
    };
    loop {
        let tick = Instant::now();
        for record in sample(&spec, &hosts, &mut state).await {
            if let Some(j) = &events {
                j.emit(crate::jsonl::record_event(record.clone()));
            }
            if let Some(path) = out {
                if let Err(e) = runlog::append(path, &spec.name, record) {
                    return finish(samples, Err(CliError::new(e)));
                }
            }
        }
        samples += 1;
        if args.for_.is_some_and(|f| begin.elapsed() >= f) {
            break;
        }
        let next = tick + args.interval;
        tokio::select! {
            _ = tokio::time::sleep_until(next.into()) => {}
            _ = stop.changed() => {
                return finish(samples, Err(CliError::code(exit::INTERRUPTED)));
            }
        }
    }
    finish(samples, Ok(()))
}

#[derive(Default)]
struct WatchState {
    leader: Option<String>,
    /// Per host: the last /proc/stat totals (busy, all).
    cpu: BTreeMap<String, (u64, u64)>,
    faults: BTreeSet<String>,
}

async fn sample(spec: &Spec, hosts: &Hosts<DockerHost>, st: &mut WatchState) -> Vec<Value> {
    let mut out = Vec::new();
    let began = Instant::now();
    let observed = sis_executor::observe(spec, hosts).await;
    let members = select::members(spec, &observed);
    let running = |m: &&select::Member| m.state == ContainerState::Running;
    let managers: Vec<&select::Member> = members
        .iter()
        .filter(|m| m.manager_status.is_some())
        .filter(running)
        .collect();
    let timed = join_all(managers.iter().map(|m| async move {
        let t = Instant::now();
        let list = hosts[&m.host].swarm2_node_list(&m.name).await;
        (t.elapsed().as_secs_f64() * 1000.0, list)
    }))
    .await;
    let mut latencies: Vec<f64> = Vec::new();
    let mut node_list = observed.swarm2.as_ref().map(|s| s.nodes.clone());
    for (ms, list) in timed {
        if let Ok(nodes) = list {
            latencies.push(ms);
            if latencies.len() == 1 {
                node_list = Some(nodes);
            }
        }
    }
    let swarm2_ms = began.elapsed().as_secs_f64() * 1000.0;
    // The K/V store (classic mode's, or one the spec runs beside swarm mode).
    let kvstore = match &spec.kvstore {
        Some(_) => Some(kv_sample(
            sis_executor::probe_kvstore(spec, hosts, &observed)
                .await
                .as_ref(),
        )),
        None => None,
    };
    let host_of: BTreeMap<&str, &str> = members
        .iter()
        .map(|m| (m.name.as_str(), m.host.as_str()))
        .collect();
    let mut per_host: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for h in &spec.hosts {
        let nodes: Vec<_> = members
            .iter()
            .filter(|m| m.host == h.name && m.is_node())
            .collect();
        let mut m = Map::new();
        m.insert("containers".into(), json!(nodes.len()));
        m.insert(
            "running".into(),
            json!(nodes
                .iter()
                .filter(|n| n.state == ContainerState::Running)
                .count()),
        );
        m.insert(
            "paused".into(),
            json!(nodes
                .iter()
                .filter(|n| n.state == ContainerState::Paused)
                .count()),
        );
        let (mut ready, mut down, mut other) = (0, 0, 0);
        for n in node_list.iter().flatten() {
            if host_of.get(n.hostname.as_str()) != Some(&h.name.as_str()) {
                continue;
            }
            match n.status.as_str() {
                "ready" => ready += 1,
                "down" => down += 1,
                _ => other += 1,
            }
        }
        m.insert("ready".into(), json!(ready));
        m.insert("down".into(), json!(down));
        m.insert("other".into(), json!(other));
        per_host.insert(h.name.clone(), m);
    }
    // Host resources, read in one running node per host.
    let probes = spec.hosts.iter().filter_map(|h| {
        let node = members
            .iter()
            .find(|m| m.host == h.name && m.is_node() && m.state == ContainerState::Running)?;
        let engine = hosts[&h.name].clone();
        let name = node.name.clone();
        Some(async move {
            let r = engine
                .exec(
                    &name,
                    vec!["sh".into(), "-c".into(), PROBE.into()],
                    PROBE_TIMEOUT,
                )
                .await;
            (h.name.clone(), r)
        })
    });
    for (host, r) in join_all(probes).await {
        let Ok(o) = r else { continue };
        let probe = parse_probe(&o.stdout);
        let m = per_host.entry(host.clone()).or_default();
        if let Some((busy, all)) = probe.cpu {
            if let Some((b0, a0)) = st.cpu.insert(host.clone(), (busy, all)) {
                if all > a0 {
                    m.insert(
                        "cpu_pct".into(),
                        json!(100.0 * (busy - b0.min(busy)) as f64 / (all - a0) as f64),
                    );
                }
            }
        }
        if let Some(l) = probe.load1 {
            m.insert("load1".into(), json!(l));
        }
        if let Some(p) = probe.mem_used_pct {
            m.insert("mem_used_pct".into(), json!(p));
        }
        if let Some(d) = probe.disk_free_bytes {
            m.insert("disk_free_bytes".into(), json!(d));
        }
    }
    let leader = node_list
        .iter()
        .flatten()
        .find(|n| n.manager_status.as_str() == "leader")
        .map(|n| n.hostname.clone());
    if leader != st.leader {
        out.push(json!({"type": "leader_change", "from": st.leader, "to": leader}));
        st.leader = leader.clone();
    }
    let manager_count = node_list
        .iter()
        .flatten()
        .filter(|n| n.is_manager())
        .count();
    let mut sample = json!({
        "type": "sample",
        "hosts": per_host,
        "managers": manager_count,
        "managers_reachable": latencies.len(),
        "leader": leader,
        "api_ms": percentiles(&mut latencies),
        // The whole look at swarm2: a manager that waits for an election blocks it, and
        // then no single `docker node ls` above is slow (the waiting one is not timed).
        "swarm2_ms": swarm2_ms,
    });
    if let Some(kv) = kvstore {
        sample["kvstore"] = kv;
    }
    out.push(sample);
    // Fault markers appearing and going.
    let mut now_faults = BTreeSet::new();
    for (_, engine) in hosts.iter() {
        let Ok(list) = engine.labelled_containers(FAULT_CLUSTER, &spec.name).await else {
            continue;
        };
        for c in list {
            let label = |k: &str| c.labels.get(k).cloned().unwrap_or_default();
            let id = label(FAULT_ID);
            if !st.faults.contains(&id) {
                let targets: Vec<String> =
                    label(FAULT_TARGETS).split(',').map(String::from).collect();
                out.push(
                    json!({"type": "fault_start", "id": id, "kind": label(FAULT_KIND),
                    "targets": targets, "detail": label(FAULT_DETAIL), "seen": "marker"}),
                );
            }
            now_faults.insert(id);
        }
    }
    for gone in st.faults.difference(&now_faults) {
        out.push(json!({"type": "fault_end", "id": gone, "seen": "marker"}));
    }
    st.faults = now_faults;
    out
}

/// A sample's `kvstore`: healthy, the error, the key count and the probe's write, read and
/// delete in milliseconds; `{"healthy": null}` when no node ran to probe it from.
fn kv_sample(probe: Option<&sis_types::KvStoreProbe>) -> Value {
    let Some(p) = probe else {
        return json!({"healthy": null, "error": "no node runs to probe it from"});
    };
    let ms = |us: Option<u64>| us.map(|u| u as f64 / 1000.0);
    json!({
        "healthy": p.healthy,
        "error": p.error,
        "keys": p.keys,
        "write_ms": ms(p.write_us),
        "read_ms": ms(p.read_us),
        "delete_ms": ms(p.delete_us),
    })
}

/// p50 and p99 (nearest rank) of the samples; nulls when there are none.
fn percentiles(samples: &mut [f64]) -> Value {
    if samples.is_empty() {
        return json!({"p50": null, "p99": null, "n": 0});
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    let rank =
        |p: f64| samples[((p * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1];
    json!({"p50": rank(0.50), "p99": rank(0.99), "n": samples.len()})
}

#[derive(Debug, Default, PartialEq)]
struct Probe {
    cpu: Option<(u64, u64)>,
    load1: Option<f64>,
    mem_used_pct: Option<f64>,
    disk_free_bytes: Option<u64>,
}

fn parse_probe(text: &str) -> Probe {
    let mut p = Probe::default();
    let (mut total, mut available) = (None, None);
    for (i, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.first() {
            Some(&"cpu") => {
                let v: Vec<u64> = f[1..].iter().filter_map(|x| x.parse().ok()).collect();
                if v.len() >= 4 {
                    // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
                    let all: u64 = v.iter().take(8).sum();
                    let idle = v[3] + v.get(4).copied().unwrap_or(0);
                    p.cpu = Some((all - idle, all));
                }
            }
            Some(&"MemTotal:") => total = f.get(1).and_then(|x| x.parse::<f64>().ok()),
            Some(&"MemAvailable:") => available = f.get(1).and_then(|x| x.parse::<f64>().ok()),
            Some(first) if i == 1 => p.load1 = first.parse().ok(),
            Some(_) if f.len() >= 6 && f[5].starts_with('/') => {
                p.disk_free_bytes = f[3].parse::<u64>().ok().map(|k| k * 1024)
            }
            _ => {}
        }
    }
    if let (Some(t), Some(a)) = (total, available) {
        if t > 0.0 {
            p.mem_used_pct = Some(100.0 * (t - a) / t);
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_reads_cpu_load_memory_and_disk() {
        let text = "cpu  100 0 50 800 50 0 0 0 0 0\n0.52 0.40 0.30 1/200 999\n\
MemTotal:        8000000 kB\nMemAvailable:    2000000 kB\n\
overlay 100000 40000 60000 40% /var/lib/docker\n";
        let p = parse_probe(text);
        assert_eq!(p.cpu, Some((150, 1000)));
        assert_eq!(p.load1, Some(0.52));
        assert_eq!(p.mem_used_pct, Some(75.0));
        assert_eq!(p.disk_free_bytes, Some(60000 * 1024));
    }

    #[test]
    fn a_kvstore_sample_is_in_milliseconds() {
        let p = sis_types::KvStoreProbe {
            healthy: true,
            keys: Some(7),
            write_us: Some(2_500),
            read_us: Some(800),
            ..Default::default()
        };
        let v = kv_sample(Some(&p));
        assert_eq!(v["healthy"], true);
        assert_eq!(v["keys"], 7);
        assert_eq!(v["write_ms"], 2.5);
        assert_eq!(v["read_ms"], 0.8);
        assert_eq!(v["delete_ms"], Value::Null);
        assert_eq!(kv_sample(None)["healthy"], Value::Null);
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let v = percentiles(&mut [30.0, 10.0, 20.0]);
        assert_eq!(v["p50"], 20.0);
        assert_eq!(v["p99"], 30.0);
        assert_eq!(percentiles(&mut [])["n"], 0);
    }
}
