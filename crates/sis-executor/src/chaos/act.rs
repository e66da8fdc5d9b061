//! Acting on the hosts: injecting a planned fault, healing, listing what is broken.
//!
//! Network faults run `iptables` and `tc` by exec inside the node containers, so they act in
//! the nodes' network namespaces only. Every rule carries the comment `sis-fault:ID`.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::future::join_all;
use sis_engine::{DockerHost, HostEngine, LabelledContainer, LockOutcome};
use sis_spec::Spec;
use sis_types::{labels, ContainerState};

use super::plan::{FaultKind, PlannedFault};
use super::select::{members, Member};
use super::{
    marker_name, FAULT_CLUSTER, FAULT_DETAIL, FAULT_ID, FAULT_KIND, FAULT_TARGETS, FAULT_UNTIL,
    QDISC_HANDLE, RULE_COMMENT,
};
use crate::{error_chain, observe, Hosts};

const EXEC_TIMEOUT: Duration = Duration::from_secs(30);
/// Seconds `stop` grants before SIGKILL.
const STOP_GRACE: i32 = 10;

/// A fault found on the hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRecord {
    pub id: String,
    /// Empty when only rules were found (the marker is gone).
    pub kind: String,
    pub targets: Vec<String>,
    pub detail: String,
    /// Seconds since the epoch.
    pub started: i64,
    pub until: Option<i64>,
    /// Node name → sis rules of this fault in it.
    pub rules: BTreeMap<String, usize>,
    /// Where its marker is: (host, marker ID).
    pub marker: Option<(String, String)>,
}

/// What healing did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealReport {
    pub rules_removed: usize,
    pub qdiscs_removed: usize,
    pub unpaused: Vec<String>,
    pub started: Vec<String>,
    pub markers_removed: usize,
    /// What could not be done, one message each.
    pub errors: Vec<String>,
}

fn err(e: sis_engine::EngineError) -> String {
    error_chain(&e)
}

/// Injects `fault`: first its marker (so that a run killed half-way leaves a record), then
/// the fault itself, container by container. Stops at the first error, leaving what was
/// done in place for `heal`.
pub async fn inject(
    spec: &Spec,
    hosts: &Hosts<DockerHost>,
    fault: &PlannedFault,
    owner: &str,
) -> Result<(), String> {
    let engine = |m: &Member| hosts[&m.host].clone();
    if fault.kind == FaultKind::Netem && fault.netem.delay.is_some() {
        let first = &fault.targets[0];
        netem_available(&engine(first), &first.name).await?;
    }
    write_marker(spec, hosts, fault, owner).await?;
    match fault.kind {
        FaultKind::Kill | FaultKind::Stop | FaultKind::Pause | FaultKind::Restart => {
            let acts = fault.targets.iter().map(|m| {
                let engine = engine(m);
                async move {
                    match fault.kind {
                        FaultKind::Kill => engine.kill_container(&m.name).await,
                        FaultKind::Stop => engine.stop_container(&m.name, STOP_GRACE).await,
                        FaultKind::Pause => engine.pause_container(&m.name).await,
                        _ => engine.restart_container(&m.name, STOP_GRACE).await,
                    }
                    .map_err(err)
                }
            });
            join_all(acts)
                .await
                .into_iter()
                .collect::<Result<Vec<()>, _>>()?;
        }
        FaultKind::Partition => {
            let acts = fault.blocks.iter().map(|(m, addrs)| {
                let engine = engine(m);
                let script = partition_script(&fault.id, addrs);
                async move { run_script(&engine, &m.name, script).await }
            });
            join_all(acts)
                .await
                .into_iter()
                .collect::<Result<Vec<()>, _>>()?;
        }
        FaultKind::Netem => {
            let acts = fault.targets.iter().map(|m| {
                let engine = engine(m);
                let script = netem_script(&fault.id, m, &fault.netem);
                async move { run_script(&engine, &m.name, script?).await }
            });
            join_all(acts)
                .await
                .into_iter()
                .collect::<Result<Vec<()>, _>>()?;
        }
    }
    Ok(())
}

async fn write_marker(
    spec: &Spec,
    hosts: &Hosts<DockerHost>,
    fault: &PlannedFault,
    owner: &str,
) -> Result<(), String> {
    if fault.kind == FaultKind::Restart {
        // Nothing lasts, so nothing is left to heal.
        return Ok(());
    }
    let host = fault
        .targets
        .first()
        .map(|m| m.host.clone())
        .unwrap_or_else(|| spec.hosts[0].name.clone());
    let mut l = BTreeMap::new();
    l.insert(FAULT_CLUSTER.to_string(), spec.name.clone());
    l.insert(labels::ROLE.to_string(), "fault".to_string());
    l.insert(FAULT_ID.to_string(), fault.id.clone());
    l.insert(FAULT_KIND.to_string(), fault.kind.as_str().to_string());
    let names: Vec<&str> = fault.targets.iter().map(|m| m.name.as_str()).collect();
    l.insert(FAULT_TARGETS.to_string(), names.join(","));
    l.insert(FAULT_DETAIL.to_string(), fault.detail.clone());
    if let Some(d) = fault.duration {
        l.insert(
            FAULT_UNTIL.to_string(),
            ((super::now_secs() + d.as_secs_f64()) as i64).to_string(),
        );
    }
    let name = marker_name(&spec.name, &fault.id);
    match hosts[&host]
        .acquire_lock(&name, owner, l)
        .await
        .map_err(err)?
    {
        LockOutcome::Acquired { .. } => Ok(()),
        LockOutcome::Held(h) => Err(format!(
            "fault {} is recorded already (by {})",
            fault.id, h.owner
        )),
    }
}

/// Runs a shell script in a node; a non-zero exit is an error with its output.
async fn run_script(engine: &DockerHost, node: &str, script: String) -> Result<(), String> {
    let out = engine
        .exec(node, vec!["sh".into(), "-c".into(), script], EXEC_TIMEOUT)
        .await
        .map_err(err)?;
    if out.exit_code != 0 {
        return Err(format!(
            "in {node}: exit {}: {}{}",
            out.exit_code,
            out.stderr.trim(),
            out.stdout.trim()
        ));
    }
    Ok(())
}

fn comment(id: &str) -> String {
    format!("-m comment --comment {RULE_COMMENT}{id}")
}

/// DROP both ways for each address: the node neither takes nor sends its packets.
pub(crate) fn partition_script(id: &str, addrs: &[std::net::Ipv4Addr]) -> String {
    let c = comment(id);
    let mut lines = vec!["set -e".to_string()];
    for a in addrs {
        lines.push(format!("iptables -w -I INPUT -s {a} {c} -j DROP"));
        lines.push(format!("iptables -w -I OUTPUT -d {a} {c} -j DROP"));
    }
    lines.join("\n")
}

/// The ring2net interface is the one holding the node's address (found in the node, not
/// assumed). Loss: `statistic` DROP rules both ways on it; rate: `tbf`; delay: `netem`.
pub(crate) fn netem_script(
    id: &str,
    m: &Member,
    n: &super::NetemOptions,
) -> Result<String, String> {
    let addr = m
        .address
        .ok_or_else(|| format!("{} has no known ring2net address", m.name))?;
    let c = comment(id);
    let mut lines = vec![
        "set -e".to_string(),
        format!(
            "dev=$(ip -o -4 addr show | awk '$4 ~ /^{}\\// {{print $2}}' | head -n1)",
            addr.to_string().replace('.', "\\.")
        ),
        format!("[ -n \"$dev\" ] || {{ echo 'no interface holds {addr}' >&2; exit 3; }}"),
    ];
    if let Some(p) = n.loss {
        lines.push(format!(
            "iptables -w -I INPUT -i \"$dev\" -m statistic --mode random --probability {p:.4} {c} -j DROP"
        ));
        lines.push(format!(
            "iptables -w -I OUTPUT -o \"$dev\" -m statistic --mode random --probability {p:.4} {c} -j DROP"
        ));
    }
    match (&n.delay, &n.rate) {
        (Some(delay), rate) => {
            let jitter = n.jitter.as_deref().unwrap_or("");
            let rate = rate.as_ref().map(|r| format!(" rate {r}")).unwrap_or_default();
            lines.push(format!("tc qdisc replace dev \"$dev\" root handle {QDISC_HANDLE} netem delay {delay} {jitter}{rate}"));
        }
        (None, Some(rate)) => lines.push(format!(
            "tc qdisc replace dev \"$dev\" root handle {QDISC_HANDLE} tbf rate {rate} burst 32kbit latency 400ms"
        )),
        (None, None) => {}
    }
    Ok(lines.join("\n"))
}

/// Whether the kernel has the `netem` qdisc: tried on the node's loopback and taken away.
async fn netem_available(engine: &DockerHost, node: &str) -> Result<(), String> {
    let probe = "tc qdisc add dev lo root handle 5152: netem delay 1ms && tc qdisc del dev lo root handle 5152:";
    let out = engine
        .exec(
            node,
            vec!["sh".into(), "-c".into(), probe.into()],
            EXEC_TIMEOUT,
        )
        .await
        .map_err(err)?;
    if out.exit_code == 0 {
        return Ok(());
    }
    let said = format!("{}{}", out.stderr.trim(), out.stdout.trim());
    if said.contains("qdisc kind is unknown") || said.contains("No such file") {
        return Err(format!(
            "--delay and --jitter need the kernel's netem qdisc (module sch_netem), which this \
             host's kernel does not have (tc said: {said}); --loss and --rate work without it"
        ));
    }
    Err(format!("probing for the netem qdisc in {node}: {said}"))
}

/// Removes sis's rules (of fault `id`, or all) and sis's root qdiscs from a node; says how
/// many of each it removed.
pub(crate) fn heal_script(id: Option<&str>, qdiscs: bool) -> String {
    let pattern = match id {
        Some(id) => format!("{RULE_COMMENT}{id}([\" ]|$)"),
        None => RULE_COMMENT.to_string(),
    };
    format!(
        r#"rules=0; qdiscs=0
iptables -w -S | grep -E -- '{pattern}' | sed 's/^-A /-D /' > /tmp/.sis-heal || true
while read -r rule; do eval "iptables -w $rule" && rules=$((rules+1)); done < /tmp/.sis-heal
rm -f /tmp/.sis-heal
for dev in $({list}); do
  if tc qdisc show dev "$dev" | grep -q ' {QDISC_HANDLE} root'; then tc qdisc del dev "$dev" root && qdiscs=$((qdiscs+1)); fi
done
echo "$rules $qdiscs""#,
        list = if qdiscs { "ls /sys/class/net" } else { "true" }
    )
}

/// Counts sis's rules per fault ID in a node: `iptables -S` lines with the comment.
pub(crate) fn rules_by_fault(iptables_s: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for line in iptables_s.lines() {
        if let Some(rest) = line.split(RULE_COMMENT).nth(1) {
            let id: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            *out.entry(id).or_insert(0) += 1;
        }
    }
    out
}

/// Every fault marker of the cluster, per host.
async fn markers(
    spec: &Spec,
    hosts: &Hosts<DockerHost>,
) -> (Vec<(String, LabelledContainer)>, Vec<String>) {
    let looks = hosts.iter().map(|(name, engine)| async move {
        (
            name.clone(),
            engine.labelled_containers(FAULT_CLUSTER, &spec.name).await,
        )
    });
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for (host, result) in join_all(looks).await {
        match result {
            Ok(list) => found.extend(list.into_iter().map(|c| (host.clone(), c))),
            Err(e) => errors.push(format!("host {host}: {}", err(e))),
        }
    }
    (found, errors)
}

/// Removes every fault marker of the cluster and nothing else: what `sis destroy` does last,
/// when the nodes the faults acted on are gone. Returns the markers removed and, one message
/// each, what could not be looked at or removed.
pub async fn remove_markers(spec: &Spec, hosts: &Hosts<DockerHost>) -> (usize, Vec<String>) {
    let (found, mut errors) = markers(spec, hosts).await;
    let mut removed = 0;
    for (host, c) in &found {
        match hosts[host].release_lock(&c.id).await {
            Ok(()) => removed += 1,
            Err(e) => errors.push(format!("marker {} on host {host}: {}", c.name, err(e))),
        }
    }
    (removed, errors)
}

/// The active faults: the markers, and rules found in running nodes (also those whose marker
/// is gone).
pub async fn list(spec: &Spec, hosts: &Hosts<DockerHost>) -> (Vec<FaultRecord>, Vec<String>) {
    let (found, mut errors) = markers(spec, hosts).await;
    let mut records: BTreeMap<String, FaultRecord> = BTreeMap::new();
    for (host, c) in found {
        let label = |k: &str| c.labels.get(k).cloned().unwrap_or_default();
        let id = label(FAULT_ID);
        records.insert(
            id.clone(),
            FaultRecord {
                id,
                kind: label(FAULT_KIND),
                targets: label(FAULT_TARGETS)
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect(),
                detail: label(FAULT_DETAIL),
                started: c.created,
                until: label(FAULT_UNTIL).parse().ok(),
                rules: BTreeMap::new(),
                marker: Some((host, c.id)),
            },
        );
    }
    let observed = observe(spec, hosts).await;
    let all = members(spec, &observed);
    // A kill or stop whose containers run again (an apply started them) is over but for
    // its record.
    for r in records.values_mut() {
        let up = |t: &String| {
            all.iter()
                .any(|m| &m.name == t && m.state == ContainerState::Running)
        };
        if matches!(r.kind.as_str(), "kill" | "stop")
            && !r.targets.is_empty()
            && r.targets.iter().all(up)
        {
            r.detail
                .push_str(" [its containers run again; heal removes the record]");
        }
    }
    let running: Vec<Member> = all
        .into_iter()
        .filter(|m| m.is_node() && m.state == ContainerState::Running)
        .collect();
    let looks = running.iter().map(|m| async move {
        let out = hosts[&m.host]
            .exec(
                &m.name,
                vec!["iptables".into(), "-w".into(), "-S".into()],
                EXEC_TIMEOUT,
            )
            .await;
        (m, out)
    });
    for (m, out) in join_all(looks).await {
        match out {
            Ok(o) => {
                for (id, n) in rules_by_fault(&o.stdout) {
                    let r = records.entry(id.clone()).or_insert_with(|| FaultRecord {
                        id,
                        kind: String::new(),
                        targets: Vec::new(),
                        detail: "rules without a marker".to_string(),
                        started: 0,
                        until: None,
                        rules: BTreeMap::new(),
                        marker: None,
                    });
                    r.rules.insert(m.name.clone(), n);
                }
            }
            Err(e) => errors.push(format!("{}: {}", m.name, err(e))),
        }
    }
    (records.into_values().collect(), errors)
}

/// Heals fault `id`, or every fault sis injected into the cluster when `id` is `None`: rules
/// and qdiscs out of every running node, paused containers unpaused, stopped ones started,
/// then the markers removed. Works from what is on the hosts alone.
pub async fn heal(spec: &Spec, hosts: &Hosts<DockerHost>, id: Option<&str>) -> HealReport {
    let mut report = HealReport::default();
    let (found, errors) = markers(spec, hosts).await;
    report.errors.extend(errors);
    let found: Vec<_> = found
        .into_iter()
        .filter(|(_, c)| id.is_none_or(|id| c.labels.get(FAULT_ID).map(String::as_str) == Some(id)))
        .collect();
    // Containers a fault stopped or paused: for one fault its targets, for all every one.
    let targets: Option<Vec<String>> = id.map(|_| {
        found
            .iter()
            .filter(|(_, c)| {
                matches!(
                    c.labels.get(FAULT_KIND).map(String::as_str),
                    Some("kill" | "stop" | "pause")
                )
            })
            .flat_map(|(_, c)| {
                c.labels
                    .get(FAULT_TARGETS)
                    .cloned()
                    .unwrap_or_default()
                    .split(',')
                    .map(String::from)
                    .collect::<Vec<_>>()
            })
            .collect()
    });
    let observed = observe(spec, hosts).await;
    let all = members(spec, &observed);
    for m in &all {
        if targets.as_ref().is_some_and(|t| !t.contains(&m.name)) {
            continue;
        }
        let engine = &hosts[&m.host];
        let done = match m.state {
            ContainerState::Paused => engine
                .unpause_container(&m.name)
                .await
                .map(|_| &mut report.unpaused),
            ContainerState::Exited | ContainerState::Dead => engine
                .start_container(&m.name)
                .await
                .map(|_| &mut report.started),
            _ => continue,
        };
        match done {
            Ok(list) => list.push(m.name.clone()),
            Err(e) => report.errors.push(format!("{}: {}", m.name, err(e))),
        }
    }
    // Started again, a node has a fresh namespace; the rest may hold rules.
    // One fault's qdiscs are those on the nodes it shaped (qdiscs carry no fault ID).
    let shaped: Vec<String> = found
        .iter()
        .filter(|(_, c)| c.labels.get(FAULT_KIND).map(String::as_str) == Some("netem"))
        .flat_map(|(_, c)| {
            c.labels
                .get(FAULT_TARGETS)
                .cloned()
                .unwrap_or_default()
                .split(',')
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect();
    // Only running nodes can run the script: a node paused or stopped by another fault is
    // left to that fault's heal.
    let cleans = all.iter().filter(|m| {
        m.is_node() && (m.state == ContainerState::Running || report.unpaused.contains(&m.name))
    });
    let cleans = cleans.map(|m| {
        let script = heal_script(id, id.is_none() || shaped.contains(&m.name));
        async move {
            let out = hosts[&m.host]
                .exec(
                    &m.name,
                    vec!["sh".into(), "-c".into(), script],
                    EXEC_TIMEOUT,
                )
                .await;
            (m, out)
        }
    });
    for (m, out) in join_all(cleans).await {
        match out {
            Ok(o) if o.exit_code == 0 => {
                let mut counts = o
                    .stdout
                    .split_whitespace()
                    .filter_map(|n| n.parse::<usize>().ok());
                report.rules_removed += counts.next().unwrap_or(0);
                report.qdiscs_removed += counts.next().unwrap_or(0);
            }
            Ok(o) => report.errors.push(format!(
                "{}: exit {}: {}",
                m.name,
                o.exit_code,
                o.stderr.trim()
            )),
            Err(e) => report.errors.push(format!("{}: {}", m.name, err(e))),
        }
    }
    // The markers go last: while anything above failed, the record stays for the next heal.
    if report.errors.is_empty() {
        for (host, c) in &found {
            match hosts[host].release_lock(&c.id).await {
                Ok(()) => report.markers_removed += 1,
                Err(e) => report.errors.push(format!("marker {}: {}", c.name, err(e))),
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_counted_by_their_fault() {
        let s = "-P INPUT ACCEPT\n\
                 -A INPUT -s 10.0.0.2/32 -m comment --comment sis-fault:fab12 -j DROP\n\
                 -A OUTPUT -d 10.0.0.2/32 -m comment --comment \"sis-fault:fab12\" -j DROP\n\
                 -A INPUT -s 10.0.0.3/32 -m comment --comment sis-fault:f99 -j DROP\n\
                 -A DOCKER-USER -j RETURN\n";
        let counts = rules_by_fault(s);
        assert_eq!(counts.get("fab12"), Some(&2));
        assert_eq!(counts.get("f99"), Some(&1));
        assert_eq!(counts.len(), 2);
    }

    #[test]
    fn scripts_mark_every_rule() {
        let s = partition_script("f1", &["10.0.0.2".parse().unwrap()]);
        assert_eq!(s.matches("--comment sis-fault:f1").count(), 2);
        assert!(!heal_script(Some("f1"), false).contains("/sys/class/net"));
        assert!(
            heal_script(Some("f1"), true).contains("sis-fault:f1([\" ]|$)"),
            "f1 must not match f10"
        );
    }
}
