//! A fault resolved against the observed cluster: who is hit and how, before anything changes.

use std::fmt::Write;
use std::net::Ipv4Addr;
use std::time::Duration;

use super::select::{self, Member, Rng};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    Kill,
    Stop,
    Pause,
    Restart,
    Partition,
    Netem,
}

impl FaultKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Kill => "kill",
            FaultKind::Stop => "stop",
            FaultKind::Pause => "pause",
            FaultKind::Restart => "restart",
            FaultKind::Partition => "partition",
            FaultKind::Netem => "netem",
        }
    }
    pub fn parse(text: &str) -> Option<FaultKind> {
        [
            FaultKind::Kill,
            FaultKind::Stop,
            FaultKind::Pause,
            FaultKind::Restart,
            FaultKind::Partition,
            FaultKind::Netem,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

/// Partition shapes after Jepsen's nemeses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Each target cut from every other container of the cluster.
    Isolate,
    /// The targets (default: all nodes) shuffled and cut in two halves.
    Halves,
    /// The targets in a shuffled ring; each sees a majority, its neighbours, and no two the
    /// same one.
    MajoritiesRing,
}

impl Shape {
    pub fn parse(text: &str) -> Option<Shape> {
        match text {
            "isolate" => Some(Shape::Isolate),
            "halves" => Some(Shape::Halves),
            "majorities-ring" => Some(Shape::MajoritiesRing),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Shape::Isolate => "isolate",
            Shape::Halves => "halves",
            Shape::MajoritiesRing => "majorities-ring",
        }
    }
}

/// `netem`'s options. Loss is an iptables `statistic` match, rate a `tbf` qdisc, delay and
/// jitter a `netem` qdisc (refused when the kernel has no `sch_netem`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetemOptions {
    /// Probability 0..1 of dropping a packet, each way.
    pub loss: Option<f64>,
    /// tc's rate, e.g. `1mbit`.
    pub rate: Option<String>,
    /// tc's time, e.g. `100ms`.
    pub delay: Option<String>,
    pub jitter: Option<String>,
}

/// What a user asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRequest {
    pub kind: FaultKind,
    /// A selector; for `partition --shape halves|majorities-ring`, the pool (default `all`).
    pub target: Option<String>,
    /// `partition`: the other side (default: everyone else).
    pub from: Option<String>,
    pub shape: Option<Shape>,
    pub netem: NetemOptions,
    pub duration: Option<Duration>,
}

/// A fault ready to inject.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedFault {
    pub id: String,
    pub kind: FaultKind,
    /// The containers acted on (for network faults: those that get rules).
    pub targets: Vec<Member>,
    /// `partition`: per target, the addresses it no longer exchanges packets with.
    pub blocks: Vec<(Member, Vec<Ipv4Addr>)>,
    pub netem: NetemOptions,
    pub duration: Option<Duration>,
    /// One line for people (and the marker's label).
    pub detail: String,
}

impl PlannedFault {
    /// What it would do, one line per container.
    pub fn describe(&self) -> String {
        let mut out = format!("fault {}: {}\n", self.id, self.detail);
        match self.kind {
            FaultKind::Partition => {
                for (m, addrs) in &self.blocks {
                    let list: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
                    let _ = writeln!(out, "  {} ({}) drops {}", m.name, m.host, list.join(" "));
                }
            }
            _ => {
                for m in &self.targets {
                    let role = m.manager_status.as_deref().unwrap_or(if m.is_node() {
                        "worker"
                    } else {
                        "kvstore"
                    });
                    let _ = writeln!(
                        out,
                        "  {} {} ({}, {role})",
                        self.kind.as_str(),
                        m.name,
                        m.host
                    );
                }
            }
        }
        if let Some(d) = self.duration {
            let _ = writeln!(out, "  healed after {} s", d.as_secs());
        }
        out
    }
}

/// Resolves `request` against `members` (see [`select::members`]); changes nothing.
pub fn plan_fault(
    id: String,
    request: &FaultRequest,
    members: &[Member],
    cluster: &str,
    rng: &mut Rng,
) -> Result<PlannedFault, String> {
    let pick = |text: &str, rng: &mut Rng| -> Result<Vec<Member>, String> {
        select::resolve(&select::parse(text)?, members, cluster, rng)
    };
    let default_pool = || "all".to_string();
    if request.kind != FaultKind::Partition && (request.from.is_some() || request.shape.is_some()) {
        return Err("--from and --shape belong to partition".to_string());
    }
    let target_text = match (&request.target, request.kind, request.shape) {
        (Some(t), _, _) => t.clone(),
        (None, FaultKind::Partition, Some(Shape::Halves | Shape::MajoritiesRing)) => default_pool(),
        (None, _, _) => return Err(format!("{} needs --target SELECTOR", request.kind.as_str())),
    };
    let targets = pick(&target_text, rng)?;
    let mut blocks = Vec::new();
    let mut detail = format!("{} {}", request.kind.as_str(), target_text);
    match request.kind {
        FaultKind::Partition => {
            let address = |m: &Member| {
                m.address
                    .ok_or_else(|| format!("{} has no known ring2net address", m.name))
            };
            let in_nodes = |group: &[Member]| -> Result<(), String> {
                match group.iter().find(|m| !m.is_node()) {
                    Some(m) => Err(format!(
                        "{} is not a node: partition rules go into nodes; name it with --from",
                        m.name
                    )),
                    None => Ok(()),
                }
            };
            match request.shape {
                None => {
                    in_nodes(&targets)?;
                    let others: Vec<Member> = match &request.from {
                        Some(f) => pick(f, rng)?,
                        None => members
                            .iter()
                            .filter(|m| !targets.iter().any(|t| t.name == m.name))
                            .cloned()
                            .collect(),
                    };
                    if let Some(both) = others
                        .iter()
                        .find(|o| targets.iter().any(|t| t.name == o.name))
                    {
                        return Err(format!("{} is on both sides of the partition", both.name));
                    }
                    if others.is_empty() {
                        return Err("the other side of the partition is empty".to_string());
                    }
                    let addrs = others.iter().map(address).collect::<Result<Vec<_>, _>>()?;
                    for t in &targets {
                        blocks.push((t.clone(), addrs.clone()));
                    }
                    if let Some(f) = &request.from {
                        detail.push_str(&format!(" from {f}"));
                    }
                }
                Some(Shape::Isolate) => {
                    in_nodes(&targets)?;
                    for t in &targets {
                        let others = members.iter().filter(|m| m.name != t.name);
                        blocks.push((t.clone(), others.map(address).collect::<Result<_, _>>()?));
                    }
                    detail = format!("partition isolate {target_text}");
                }
                Some(Shape::Halves) => {
                    let pool: Vec<Member> =
                        targets.iter().filter(|m| m.is_node()).cloned().collect();
                    if pool.len() < 2 {
                        return Err("halves needs at least two nodes".to_string());
                    }
                    let shuffled = rng.choose(&pool, pool.len());
                    let order = shuffle_order(rng, shuffled);
                    let (small, large) = order.split_at(order.len() / 2);
                    let addrs = large.iter().map(address).collect::<Result<Vec<_>, _>>()?;
                    for m in small {
                        blocks.push((m.clone(), addrs.clone()));
                    }
                    let names = |g: &[Member]| {
                        g.iter()
                            .map(|m| m.name.as_str())
                            .collect::<Vec<_>>()
                            .join(",")
                    };
                    detail = format!("partition halves [{}] | [{}]", names(small), names(large));
                }
                Some(Shape::MajoritiesRing) => {
                    let pool: Vec<Member> =
                        targets.iter().filter(|m| m.is_node()).cloned().collect();
                    if pool.len() < 3 {
                        return Err("majorities-ring needs at least three nodes".to_string());
                    }
                    let ring = shuffle_order(rng, pool);
                    for (i, m) in ring.iter().enumerate() {
                        let unseen = ring_unseen(ring.len(), i);
                        let addrs = unseen
                            .iter()
                            .map(|&j| address(&ring[j]))
                            .collect::<Result<Vec<_>, _>>()?;
                        blocks.push((m.clone(), addrs));
                    }
                    let names: Vec<&str> = ring.iter().map(|m| m.name.as_str()).collect();
                    detail = format!("partition majorities-ring {}", names.join(" → "));
                }
            }
            let targets: Vec<Member> = blocks.iter().map(|(m, _)| m.clone()).collect();
            return Ok(PlannedFault {
                id,
                kind: request.kind,
                targets,
                blocks,
                netem: NetemOptions::default(),
                duration: request.duration,
                detail,
            });
        }
        FaultKind::Netem => {
            let n = &request.netem;
            if n.loss.is_none() && n.rate.is_none() && n.delay.is_none() {
                return Err("netem needs --loss, --rate or --delay".to_string());
            }
            if n.jitter.is_some() && n.delay.is_none() {
                return Err("--jitter needs --delay".to_string());
            }
            if let Some(l) = n.loss {
                if !(0.0..=1.0).contains(&l) {
                    return Err(format!(
                        "--loss {l}: a probability from 0 to 1 (or 0% to 100%)"
                    ));
                }
                detail.push_str(&format!(" loss {:.1}%", l * 100.0));
            }
            for (name, v) in [
                ("rate", &n.rate),
                ("delay", &n.delay),
                ("jitter", &n.jitter),
            ] {
                if let Some(v) = v {
                    if v.is_empty() || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '.') {
                        return Err(format!(
                            "--{name} {v:?}: use tc's units, e.g. 1mbit or 100ms"
                        ));
                    }
                    detail.push_str(&format!(" {name} {v}"));
                }
            }
            if let Some(m) = targets.iter().find(|m| !m.is_node()) {
                return Err(format!("{} is not a node: netem acts in nodes", m.name));
            }
        }
        FaultKind::Kill | FaultKind::Stop | FaultKind::Pause | FaultKind::Restart => {}
    }
    Ok(PlannedFault {
        id,
        kind: request.kind,
        targets,
        blocks,
        netem: request.netem.clone(),
        duration: request.duration,
        detail,
    })
}

/// `items` in a seeded random order.
fn shuffle_order<T: Clone>(rng: &mut Rng, items: Vec<T>) -> Vec<T> {
    let mut items = items;
    for i in (1..items.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
    items
}

/// Positions of a ring of `n` that position `i` does not see: it sees itself and its
/// nearest neighbours, a majority in all.
fn ring_unseen(n: usize, i: usize) -> Vec<usize> {
    let majority = n / 2 + 1;
    let before = (majority - 1) / 2;
    let after = majority - 1 - before;
    let seen: Vec<usize> = (0..=before)
        .map(|k| (i + n - k) % n)
        .chain((1..=after).map(|k| (i + k) % n))
        .collect();
    (0..n).filter(|j| !seen.contains(j)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::select::MemberKind;
    use sis_types::ContainerState;

    fn members(n: u8) -> Vec<Member> {
        (1..=n)
            .map(|i| Member {
                host: "a".into(),
                name: format!("c.a-{i}"),
                kind: MemberKind::Node,
                address: Some(Ipv4Addr::new(10, 0, 0, i)),
                state: ContainerState::Running,
                manager_status: (i <= 3)
                    .then(|| if i == 1 { "leader" } else { "reachable" }.to_string()),
            })
            .collect()
    }

    fn request(kind: FaultKind, target: Option<&str>) -> FaultRequest {
        FaultRequest {
            kind,
            target: target.map(String::from),
            from: None,
            shape: None,
            netem: NetemOptions::default(),
            duration: None,
        }
    }

    fn plan(r: &FaultRequest, n: u8) -> Result<PlannedFault, String> {
        plan_fault("f1".into(), r, &members(n), "c", &mut Rng::new(3))
    }

    #[test]
    fn isolating_a_worker_cuts_it_from_everyone_else() {
        let mut r = request(FaultKind::Partition, Some("node:a-5"));
        r.shape = Some(Shape::Isolate);
        let p = plan(&r, 5).unwrap();
        assert_eq!(p.blocks.len(), 1);
        assert_eq!(p.blocks[0].0.name, "c.a-5");
        assert_eq!(p.blocks[0].1.len(), 4);
        assert!(!p.blocks[0].1.contains(&Ipv4Addr::new(10, 0, 0, 5)));
    }

    #[test]
    fn partition_from_a_group_and_overlaps_refused() {
        let mut r = request(FaultKind::Partition, Some("leader"));
        r.from = Some("workers".into());
        let p = plan(&r, 5).unwrap();
        assert_eq!(
            p.blocks[0].1,
            vec![Ipv4Addr::new(10, 0, 0, 4), Ipv4Addr::new(10, 0, 0, 5)]
        );
        r.from = Some("managers".into());
        assert!(plan(&r, 5).unwrap_err().contains("both sides"));
    }

    #[test]
    fn halves_split_all_nodes_and_majorities_ring_leaves_each_a_majority() {
        let mut r = request(FaultKind::Partition, None);
        r.shape = Some(Shape::Halves);
        let p = plan(&r, 5).unwrap();
        assert_eq!(p.blocks.len(), 2, "the smaller half carries the rules");
        assert!(p.blocks.iter().all(|(_, a)| a.len() == 3));
        r.shape = Some(Shape::MajoritiesRing);
        let p = plan(&r, 5).unwrap();
        assert_eq!(p.blocks.len(), 5);
        assert!(
            p.blocks.iter().all(|(_, a)| a.len() == 2),
            "each sees 3 of 5"
        );
        assert_eq!(ring_unseen(5, 0), vec![2, 3]);
        assert_eq!(ring_unseen(4, 0), vec![2], "sees 3 of 4");
    }

    #[test]
    fn netem_options_are_checked() {
        let r = request(FaultKind::Netem, Some("leader"));
        assert!(plan(&r, 3)
            .unwrap_err()
            .contains("--loss, --rate or --delay"));
        let mut r = r;
        r.netem.loss = Some(1.5);
        assert!(plan(&r, 3).unwrap_err().contains("probability"));
        r.netem.loss = Some(0.3);
        r.netem.rate = Some("1mbit; reboot".into());
        assert!(plan(&r, 3).unwrap_err().contains("tc's units"));
        r.netem.rate = Some("1mbit".into());
        assert_eq!(
            plan(&r, 3).unwrap().detail,
            "netem leader loss 30.0% rate 1mbit"
        );
        let mut k = request(FaultKind::Kill, Some("leader"));
        k.from = Some("workers".into());
        assert!(plan(&k, 3).unwrap_err().contains("belong to partition"));
        assert!(plan(&request(FaultKind::Kill, None), 3)
            .unwrap_err()
            .contains("--target"));
    }
}
