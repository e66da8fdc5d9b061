//! Pacing node creation by the machine's measured headroom instead of a fixed bound.
//!
//! Every machine (hosts that report the same kernel boot ID are one machine: lab hosts share
//! the cores of the machine they run on) has one [`Pacer`]. It is fed a [`LoadSample`] about
//! every second and decides how many node creations (and starts) may run at once, by the
//! machine's *load per core*: the tasks runnable at each sample, smoothed over a few seconds,
//! per core. (Not the kernel's CPU pressure: on 2 cores `some avg10` of `/proc/pressure/cpu`
//! was measured at 88–95 % with a load of 11–15 — a compile — so it is saturated long before a
//! machine is in danger and cannot tell busy from tipping; a machine that tipped had a load of
//! 390 to 700, one that grew 200 nodes calmly peaked at 36. It is reported with the rest.)
//!
//! - below [`PaceConfig::raise_below`]: one more at once, up to the bound (`--per-host`);
//! - above [`PaceConfig::slow_above`], or the engine's API or a swarm2 join slow: half as
//!   many;
//! - above [`PaceConfig::pause_above`]: none start;
//! - still above it [`PaceConfig::stop_after`] after creation paused: the machine has no
//!   headroom left, and no more creations start in this run. The nodes already being made
//!   finish (and join), so nothing is half-made; `sis apply` exits non-zero saying what was
//!   measured, and a later apply continues.
//!
//! The load while growing does not tell how close the machine is to its cliff: on 2 cores
//! 150 idle swarm2 nodes kept 52 % of the cores busy and a grow to 160 tipped the machine
//! within a minute with the load per core under the pause line until then (swarm2's gossip
//! probes and heartbeats time out once the cores stay saturated for seconds; every node
//! then suspects, retries and re-registers at once). What tells is the cost of the nodes
//! *at rest*. So the pacer also measures the machine at rest, at check points: it lets the
//! creations in flight finish, waits [`PaceConfig::settle`], and takes the share of the
//! cores in use over [`PaceConfig::rest_window`] (from `/proc/stat`). At or above
//! [`PaceConfig::rest_limit`] no more nodes start in the run; below it, the measured cost
//! per node says how many more fit, and the next check point comes after half of them —
//! checks come closer as the machine fills. The first one comes where the estimate
//! ([`PaceConfig::node_rest_cost`]) puts half the limit, so small clusters never pause.
//!
//! The logic here is pure (a clock and samples are handed in); [`Budget`] runs it for a
//! pass.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::future::join_all;
use sis_engine::HostEngine;
use sis_types::{CpuTime, LoadSample};
use tokio::sync::Notify;

use crate::events::{Event, Progress};
use crate::observe::{error_chain, Hosts};

/// The thresholds of a [`Pacer`].
#[derive(Debug, Clone)]
pub struct PaceConfig {
    /// Creations at once at most (the fixed bound pacing works under).
    pub max: usize,
    /// Load per core below which one more creation may run at once.
    pub raise_below: f64,
    /// Load per core above which half as many run at once.
    pub slow_above: f64,
    /// Load per core above which no creation starts.
    pub pause_above: f64,
    /// How long the load may stay above `pause_above` before creation stops for the run.
    pub stop_after: Duration,
    /// An engine ping slower than this counts as a load above `slow_above`.
    pub api_slow: Duration,
    /// A swarm2 join slower than this (swarm2's managers falling behind) halves the rate.
    pub join_slow: Duration,
    /// Samples older than this are not trusted: creation waits for a fresh one.
    pub stale_after: Duration,
    /// The share of the machine's cores (0 to 1) its nodes may keep busy at rest: at a
    /// check point at or above it, no more nodes start in the run.
    pub rest_limit: f64,
    /// What one node is expected to cost at rest (cores), before a measurement tells.
    pub node_rest_cost: f64,
    /// How long a check point waits after the last creation ends before measuring.
    pub settle: Duration,
    /// How long a check point measures the machine at rest.
    pub rest_window: Duration,
}

impl Default for PaceConfig {
    fn default() -> Self {
        PaceConfig {
            max: 8,
            raise_below: 4.0,
            slow_above: 8.0,
            pause_above: 16.0,
            stop_after: Duration::from_secs(60),
            api_slow: Duration::from_secs(2),
            join_slow: Duration::from_secs(20),
            stale_after: Duration::from_secs(15),
            rest_limit: f64::from(sis_planner::capacity::CPU_SHARE_PERCENT as u32) / 100.0,
            node_rest_cost: sis_planner::capacity::NODE_IDLE_MILLICORES as f64 / 1000.0,
            settle: Duration::from_secs(5),
            rest_window: Duration::from_secs(10),
        }
    }
}

/// A share (0 to 1) in percent for people: whole numbers, two decimals under 1 %.
fn percent(share: f64) -> String {
    let p = share * 100.0;
    if p >= 1.0 || p == 0.0 {
        format!("{p:.0}")
    } else {
        format!("{p:.2}")
    }
}

/// Where a check point of the rest load stands.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Check {
    /// No creation starts; waiting for those in flight to end.
    Draining,
    /// None in flight; the machine settles until then.
    Settling { until: Instant },
    /// Measuring from this CPU time on.
    Measuring { since: Instant, from: CpuTime },
}

/// What [`Pacer::try_start`] decides for a creation that wants to run.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// It may run now (the pacer counted it as in flight).
    Start,
    /// Not now: wait for a creation to finish or a new sample.
    Wait,
    /// Not in this run: the machine has no headroom (the message says what was measured).
    Stop(String),
}

/// The pacing state of one machine.
#[derive(Debug)]
pub struct Pacer {
    config: PaceConfig,
    /// Hosts of the spec on this machine, for messages.
    hosts: Vec<String>,
    /// Creations that may run at once now.
    limit: usize,
    in_flight: usize,
    /// Creations finished in this run.
    made: u32,
    last: Option<(Instant, LoadSample)>,
    /// Since when the load has stayed above `pause_above`.
    starved_since: Option<Instant>,
    stopped: Option<String>,
    /// Sampling failed: the fixed bound applies.
    unsampled: Option<String>,
    /// Runnable tasks, smoothed over the samples.
    runnable: Option<f64>,
    /// The highest load per core seen, for the summary.
    peak: f64,
    /// Nodes on this machine: those running when the pass began, and those made since.
    nodes: u32,
    /// The node count at which the next check point pauses creation to measure the machine
    /// at rest; `None` until the machine's cores are known.
    next_check: Option<u32>,
    check: Option<Check>,
    /// The last rest measurement: nodes, share of the cores in use.
    rest: Option<(u32, f64)>,
    /// The highest share of the cores one node took at a check point of this run.
    per_node: f64,
    /// What a check point did since the last call of [`Pacer::take_news`], for progress.
    news: Option<String>,
}

/// The weight of a new sample in the smoothed runnable count: about 5 s of memory at a
/// sample a second.
const SMOOTHING: f64 = 0.2;

impl Pacer {
    pub fn new(config: PaceConfig, hosts: Vec<String>) -> Pacer {
        Pacer {
            limit: 1,
            config,
            hosts,
            in_flight: 0,
            made: 0,
            last: None,
            starved_since: None,
            stopped: None,
            unsampled: None,
            runnable: None,
            peak: 0.0,
            nodes: 0,
            next_check: None,
            check: None,
            rest: None,
            per_node: 0.0,
            news: None,
        }
    }

    /// What the last check point did, once (for progress lines).
    pub fn take_news(&mut self) -> Option<String> {
        self.news.take()
    }

    /// Nodes already running on this machine when the pass begins.
    pub fn with_nodes(mut self, nodes: u32) -> Pacer {
        self.nodes = nodes;
        self
    }

    /// The last rest measurement: nodes then, and the share of the cores they kept busy.
    pub fn rest(&self) -> Option<(u32, f64)> {
        self.rest
    }

    /// The load per core the pacer goes by: runnable tasks, smoothed, per core.
    pub fn level(&self) -> f64 {
        let cores = self.last.as_ref().map_or(1, |(_, s)| s.cpus.max(1));
        self.runnable.unwrap_or(0.0) / f64::from(cores)
    }

    /// Creations that may run at once now.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Creations finished in this run.
    pub fn made(&self) -> u32 {
        self.made
    }

    /// The stop message, once stopped.
    pub fn stopped(&self) -> Option<&str> {
        self.stopped.as_deref()
    }

    /// Feeds a sample taken at `now`.
    pub fn observe(&mut self, now: Instant, sample: LoadSample) {
        self.unsampled = None;
        let runnable = f64::from(sample.runnable);
        let smoothed = match self.runnable {
            Some(r) => r + SMOOTHING * (runnable - r),
            None => runnable,
        };
        self.runnable = Some(smoothed);
        let level = smoothed / f64::from(sample.cpus.max(1));
        self.peak = self.peak.max(level);
        let api_slow = Duration::from_millis(sample.api_millis) > self.config.api_slow;
        let busy = self.in_flight >= self.limit;
        if level > self.config.pause_above {
            self.limit = 0;
            let since = *self.starved_since.get_or_insert(now);
            if self.stopped.is_none() && now.duration_since(since) >= self.config.stop_after {
                self.stopped = Some(self.stop_message(&sample, level, now.duration_since(since)));
            }
        } else {
            self.starved_since = None;
            if level > self.config.slow_above || api_slow {
                self.limit /= 2;
            } else if level < self.config.raise_below && (busy || self.limit == 0) {
                self.limit = (self.limit + 1).min(self.config.max);
            }
            // Never stall on a machine that is not past the pause line.
            self.limit = self.limit.max(1);
        }
        if self.next_check.is_none() {
            // Half the limit by the estimate: small clusters never pause.
            let cores = f64::from(sample.cpus.max(1));
            let first = self.config.rest_limit * cores / 2.0 / self.config.node_rest_cost.max(1e-6);
            self.next_check = Some((first - 1e-9).ceil().max(1.0) as u32);
        }
        self.begin_check();
        self.advance_check(now, &sample);
        self.last = Some((now, sample));
    }

    /// Begins a check point once the nodes made and being made reach it.
    fn begin_check(&mut self) {
        let coming = self
            .nodes
            .saturating_add(u32::try_from(self.in_flight).unwrap_or(u32::MAX));
        if self.check.is_none()
            && self.stopped.is_none()
            && self.next_check.is_some_and(|at| coming >= at)
        {
            self.check = Some(Check::Draining);
            self.news = Some(format!(
                "measuring the machine at rest with {coming} node(s): new nodes wait about {} s",
                (self.config.settle + self.config.rest_window).as_secs()
            ));
        }
    }

    /// Moves a check point on with a new sample: draining → settling → measuring → done.
    fn advance_check(&mut self, now: Instant, sample: &LoadSample) {
        match self.check {
            Some(Check::Draining) if self.in_flight == 0 => {
                self.check = Some(Check::Settling {
                    until: now + self.config.settle,
                });
            }
            Some(Check::Settling { until }) if now >= until => {
                if let Some(from) = sample.cpu_time {
                    self.check = Some(Check::Measuring { since: now, from });
                } else if now.duration_since(until) >= self.config.stale_after {
                    // A sampler without the CPU time (its first reading may come without it:
                    // the time is a line of its own): no check points in this run.
                    tracing::warn!(
                        "cannot read the CPU time of {}: node creation goes on without measuring the machine at rest",
                        self.hosts.join(", ")
                    );
                    self.check = None;
                    self.next_check = Some(u32::MAX);
                }
            }
            Some(Check::Measuring { since, from })
                if now.duration_since(since) >= self.config.rest_window =>
            {
                let busy = sample.cpu_time.and_then(|to| to.busy_since(&from));
                self.check = None;
                match busy {
                    Some(busy) => self.rested(busy, sample.cpus.max(1), now.duration_since(since)),
                    None => self.next_check = Some(self.nodes + 1),
                }
            }
            _ => {}
        }
    }

    /// A check point measured `busy` (share of all cores) over `window`.
    fn rested(&mut self, busy: f64, cpus: u32, window: Duration) {
        let nodes = self.nodes;
        self.rest = Some((nodes, busy));
        let cores = f64::from(cpus);
        // The cost of a node grows with the cluster (its gossip peers), so a lower share per
        // node than an earlier check point measured is noise of a 10 s window: the highest
        // one of the run stands. (A reading 8 points low let a grow run on into the cliff.)
        // The whole machine's share per node overstates a node's own cost (the host's
        // engine counts in), which only brings the next check point closer.
        let measured =
            (busy / f64::from(nodes.max(1))).max(self.config.node_rest_cost / cores / 4.0);
        let per_node = self.per_node.max(measured);
        self.per_node = per_node;
        let expected = busy.max(per_node * f64::from(nodes));
        let room = ((self.config.rest_limit - expected) / per_node + 1e-9)
            .floor()
            .max(0.0) as u32;
        let tail = format!(
            "past about 50 % a grow saturates the cores long enough for swarm2's gossip and heartbeats to time out, and the machine tips. \
             {} node(s) were made in this pass and are complete, no more were started. About {nodes} nodes is what this machine holds: \
             lower the spec's count, or spread the nodes over more machines (`sis doctor` shows the estimate)",
            self.made
        );
        let measured_text = format!(
            "at rest its {nodes} node(s) keep {:.0} % of the machine's {cpus} cores busy (measured over {} s with no node starting; \
             other work on the machine counts too)",
            busy * 100.0,
            window.as_secs()
        );
        if busy >= self.config.rest_limit {
            self.stopped = Some(format!(
                "no idle headroom left on {}: {measured_text}, and sis adds no nodes at {} % or more (`--rest-limit`) — {tail}",
                self.hosts_text(),
                percent(self.config.rest_limit),
            ));
            return;
        }
        if room == 0 {
            self.stopped = Some(format!(
                "no idle headroom left on {}: {measured_text}, and at the highest cost a node had at a check point of this run \
                 ({:.1} millicores) one more would take them to {} % or more, where sis adds no nodes (`--rest-limit`) — {tail}",
                self.hosts_text(),
                per_node * cores * 1000.0,
                percent(self.config.rest_limit),
            ));
            return;
        }
        let next = nodes + (room / 2).max(1);
        let news = format!(
            "at rest {nodes} node(s) keep {:.0} % of the {cpus} cores busy ({:.0} % by the highest cost a node had in this run; limit {} %): room for about {room} more; next check at {next}",
            busy * 100.0,
            expected * 100.0,
            percent(self.config.rest_limit)
        );
        tracing::info!(hosts = %self.hosts.join(","), "{news}");
        self.news = Some(news);
        self.next_check = Some(next);
    }

    fn hosts_text(&self) -> String {
        if self.hosts.len() == 1 {
            format!("host {}", self.hosts[0])
        } else {
            format!(
                "hosts {} (one machine, sharing its cores)",
                self.hosts.join(", ")
            )
        }
    }

    /// A sample could not be taken. An engine too busy to run or answer the sampler is a
    /// machine without headroom, not one to load more: a pacer that had samples before holds
    /// creation (and stops it after `stop_after`, as for a high load); one that never got a
    /// sample (an engine that cannot run the sampler at all, or one already swamped when the
    /// pass began) lets one creation run at a time. (Falling back to the fixed bound drove a
    /// machine that had tipped further: its sampler timed out and 8 creations ran at once.)
    pub fn sample_failed(&mut self, now: Instant, error: &str) {
        let stale = self
            .last
            .as_ref()
            .is_none_or(|(at, _)| now.duration_since(*at) > self.config.stale_after);
        if !stale {
            return;
        }
        if self.unsampled.is_none() {
            let how = if self.last.is_some() {
                "node creation waits until it answers again"
            } else {
                "node creation runs one at a time"
            };
            tracing::warn!(
                "cannot sample the load of {}: {error}; {how}",
                self.hosts.join(", ")
            );
        }
        self.unsampled = Some(error.to_string());
        if self.last.is_some() {
            self.limit = 0;
            let since = *self.starved_since.get_or_insert(now);
            let starved = now.duration_since(since);
            if self.stopped.is_none() && starved >= self.config.stop_after {
                self.stopped = Some(format!(
                    "the load sampler of {} has not answered for {} s ({error}): a machine this busy gets no more nodes in this run; let it settle, then run sis apply again",
                    self.hosts.join(", "),
                    starved.as_secs()
                ));
            }
        } else {
            self.limit = 1;
        }
    }

    /// A creation wants to run at `now`.
    pub fn try_start(&mut self, now: Instant) -> Decision {
        if let Some(why) = &self.stopped {
            return Decision::Stop(why.clone());
        }
        self.begin_check();
        if self.check.is_some() {
            return Decision::Wait;
        }
        let fresh = self.unsampled.is_some()
            || self
                .last
                .as_ref()
                .is_some_and(|(at, _)| now.duration_since(*at) <= self.config.stale_after);
        if fresh && self.in_flight < self.limit {
            self.in_flight += 1;
            Decision::Start
        } else {
            Decision::Wait
        }
    }

    /// A creation that started has ended (`made`: it succeeded).
    pub fn finish(&mut self, made: bool) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if made {
            self.made += 1;
            self.nodes += 1;
        }
    }

    /// A swarm2 join took `elapsed`: a slow one means swarm2's managers fall behind.
    pub fn join_finished(&mut self, elapsed: Duration) {
        if elapsed > self.config.join_slow {
            self.limit = (self.limit / 2).max(1);
        }
    }

    fn stop_message(&self, sample: &LoadSample, level: f64, starved: Duration) -> String {
        let pressure = sample
            .cpu_pressure
            .map(|p| format!(", CPU pressure {p:.0} %"))
            .unwrap_or_default();
        let measured = format!(
            "a load of {level:.1} runnable tasks per core ({} runnable now on {} cores, 1-minute load average {:.1}{pressure})",
            sample.runnable, sample.cpus, sample.load1
        );
        let hosts = self.hosts_text();
        format!(
            "no CPU headroom left on {hosts}: {measured} stayed above {:.0} per core for {} s with node creation paused; \
             {} node(s) were made in this pass and are complete, no more were started. \
             Run `sis apply` again once the machine is quieter to continue, or lower the node count \
             (`sis doctor` shows what the machine holds)",
            self.config.pause_above,
            starved.as_secs(),
            self.made
        )
    }

    /// One line on what pacing did, for the log.
    pub fn summary(&self) -> String {
        let rest = self
            .rest
            .map(|(n, busy)| {
                format!(
                    ", at rest {n} nodes kept {:.0} % of the cores busy",
                    busy * 100.0
                )
            })
            .unwrap_or_default();
        format!(
            "{}: {} made, peak load {:.1} per core, {} at once at the end{rest}",
            self.hosts.join(", "),
            self.made,
            self.peak,
            self.limit
        )
    }
}

/// Running node containers per host (those of the observed cluster), where a
/// pass's rest measurements start counting.
pub fn running_nodes(observed: &sis_types::Observed) -> BTreeMap<String, u32> {
    observed
        .hosts
        .iter()
        .filter_map(|(name, h)| {
            let facts = h.facts()?;
            let n = facts
                .containers
                .iter()
                .filter(|c| c.is_node() && c.is_running())
                .count();
            Some((name.clone(), u32::try_from(n).unwrap_or(u32::MAX)))
        })
        .collect()
}

/// The pacers of one pass, one per machine, and the hosts on each.
pub(crate) struct Budgets {
    machines: Vec<Budget>,
    of_host: BTreeMap<String, usize>,
}

struct Budget {
    /// The spec's hosts on this machine; the first that answers is sampled.
    hosts: Vec<String>,
    pacer: std::sync::Mutex<Pacer>,
    changed: Notify,
}

impl Budget {
    fn pacer(&self) -> std::sync::MutexGuard<'_, Pacer> {
        self.pacer.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A creation that may run; dropping it tells the pacer it ended.
pub(crate) struct Permit<'a> {
    budget: &'a Budget,
    pub(crate) made: bool,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.budget.pacer().finish(self.made);
        self.budget.changed.notify_waiters();
    }
}

/// A host's first sample, or why it could not be taken.
type Sampled = Result<LoadSample, String>;

/// How often each machine is sampled.
const SAMPLE_EVERY: Duration = Duration::from_secs(1);

impl Budgets {
    /// Samples every host once and groups them by the machine they report: hosts on one
    /// machine (lab hosts) share one pacer. A host that cannot be sampled is a machine of
    /// its own, under the fixed bound.
    pub(crate) async fn new<E: HostEngine>(
        hosts: &Hosts<E>,
        config: &PaceConfig,
        running: &BTreeMap<String, u32>,
    ) -> Budgets {
        let samples = join_all(
            hosts
                .iter()
                .map(|(name, engine)| async move { (name.clone(), engine.load_sample().await) }),
        )
        .await;
        let now = Instant::now();
        let mut groups: BTreeMap<String, Vec<(String, Sampled)>> = BTreeMap::new();
        for (name, sample) in samples {
            let key = match &sample {
                Ok(s) => s.machine.clone(),
                Err(_) => format!("unsampled host {name}"),
            };
            groups
                .entry(key)
                .or_default()
                .push((name, sample.map_err(|e| error_chain(&e))));
        }
        let mut budgets = Budgets {
            machines: Vec::new(),
            of_host: BTreeMap::new(),
        };
        for (_, group) in groups {
            let names: Vec<String> = group.iter().map(|(n, _)| n.clone()).collect();
            let nodes = names.iter().filter_map(|n| running.get(n)).sum();
            let mut pacer = Pacer::new(config.clone(), names.clone()).with_nodes(nodes);
            match group.into_iter().next().map(|(_, s)| s) {
                Some(Ok(sample)) => pacer.observe(now, sample),
                Some(Err(e)) => pacer.sample_failed(now + config.stale_after * 2, &e),
                None => {}
            }
            for n in &names {
                budgets.of_host.insert(n.clone(), budgets.machines.len());
            }
            budgets.machines.push(Budget {
                hosts: names,
                pacer: std::sync::Mutex::new(pacer),
                changed: Notify::new(),
            });
        }
        budgets
    }

    /// Samples every machine about once a second, for as long as it is polled (a pass
    /// drops it when its stages are done).
    pub(crate) async fn run<E: HostEngine>(&self, hosts: &Hosts<E>, progress: &dyn Progress) {
        let mut tick = tokio::time::interval(SAMPLE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            join_all(self.machines.iter().map(|b| async move {
                let mut last_error = String::new();
                for host in &b.hosts {
                    let Some(engine) = hosts.get(host) else {
                        continue;
                    };
                    match engine.load_sample().await {
                        Ok(sample) => {
                            let mut p = b.pacer();
                            let before = p.limit();
                            p.observe(Instant::now(), sample);
                            if p.limit() != before {
                                tracing::info!(
                                    hosts = %b.hosts.join(","),
                                    load_per_core = p.level(),
                                    "node creations at once: {before} → {}",
                                    p.limit()
                                );
                            }
                            let news = p.take_news();
                            drop(p);
                            if let Some(message) = news {
                                progress.event(&Event::Pacing {
                                    hosts: &b.hosts,
                                    message: &message,
                                });
                            }
                            b.changed.notify_waiters();
                            return;
                        }
                        Err(e) => last_error = error_chain(&e),
                    }
                }
                b.pacer().sample_failed(Instant::now(), &last_error);
                b.changed.notify_waiters();
            }))
            .await;
        }
    }

    /// Waits until the machine of `host` lets one more creation run; `Err` with the reason
    /// when it has no headroom left.
    pub(crate) async fn acquire(&self, host: &str) -> Result<Option<Permit<'_>>, String> {
        let Some(budget) = self.of_host.get(host).map(|&i| &self.machines[i]) else {
            return Ok(None);
        };
        loop {
            let changed = budget.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            match budget.pacer().try_start(Instant::now()) {
                Decision::Start => {
                    return Ok(Some(Permit {
                        budget,
                        made: false,
                    }))
                }
                Decision::Stop(why) => return Err(why),
                Decision::Wait => {}
            }
            // Bounded, in case a sample never comes (the sampler loop wakes waiters anyway).
            let _ = tokio::time::timeout(SAMPLE_EVERY * 2, changed).await;
        }
    }

    /// A swarm2 join of a node on `host` took `elapsed`.
    pub(crate) fn join_finished(&self, host: &str, elapsed: Duration) {
        if let Some(&i) = self.of_host.get(host) {
            self.machines[i].pacer().join_finished(elapsed);
        }
    }

    /// One line per machine on what pacing did.
    pub(crate) fn summaries(&self) -> Vec<String> {
        self.machines.iter().map(|b| b.pacer().summary()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sample of a 2-core machine with `level` runnable tasks per core (steady: the
    /// smoothing then keeps it).
    fn sample(level: f64) -> LoadSample {
        LoadSample {
            machine: "m".into(),
            cpus: 2,
            cpu_pressure: Some(90.0),
            load1: level * 2.0,
            runnable: (level * 2.0) as u32,
            api_millis: 5,
            cpu_time: None,
        }
    }

    /// A quiet sample of a 2-core machine whose cores have been `busy` (0 to 1) since
    /// `t0`, `secs` seconds ago (100 ticks a second a core).
    fn at_rest(secs: u64, busy: f64) -> LoadSample {
        let total = secs * 200;
        LoadSample {
            cpu_time: Some(CpuTime {
                busy: (total as f64 * busy) as u64,
                total,
            }),
            ..sample(0.5)
        }
    }

    /// A pacer with check points at 60 % of 2 cores and 5 millicores a node by estimate
    /// (the first check at 120 nodes), `nodes` running.
    fn checked(nodes: u32) -> (Pacer, Instant) {
        let config = PaceConfig {
            rest_limit: 0.6,
            node_rest_cost: 0.005,
            ..PaceConfig::default()
        };
        (
            Pacer::new(config, vec!["h1".into()]).with_nodes(nodes),
            Instant::now(),
        )
    }

    /// Feeds a sample a second from `from` to `to` (seconds after `t`), the cores `busy`.
    fn rest_for(p: &mut Pacer, t: Instant, from: u64, to: u64, busy: f64) {
        for s in from..=to {
            p.observe(t + Duration::from_secs(s), at_rest(s, busy));
        }
    }

    /// A pacer whose smoothed level is already `level`.
    fn settle(p: &mut Pacer, t: Instant, level: f64) {
        p.runnable = Some(level * 2.0);
        p.observe(t, sample(level));
    }

    fn pacer() -> (Pacer, Instant) {
        (
            Pacer::new(PaceConfig::default(), vec!["h1".into()]),
            Instant::now(),
        )
    }

    /// Starts as many as the pacer lets through at `now`.
    fn fill(p: &mut Pacer, now: Instant) -> usize {
        let mut n = 0;
        while p.try_start(now) == Decision::Start {
            n += 1;
        }
        n
    }

    #[test]
    fn nothing_starts_before_the_first_sample() {
        let (mut p, t) = pacer();
        assert_eq!(p.try_start(t), Decision::Wait);
        p.observe(t, sample(0.0));
        assert_eq!(p.try_start(t), Decision::Start);
    }

    #[test]
    fn a_quiet_machine_ramps_up_to_the_bound_one_at_a_time() {
        let (mut p, t) = pacer();
        let mut running = Vec::new();
        for s in 0..20 {
            let now = t + Duration::from_secs(s);
            p.observe(now, sample(1.0));
            running.push(fill(&mut p, now));
        }
        assert_eq!(p.limit(), 8);
        assert_eq!(&running[..4], [1, 1, 1, 1]);
        assert_eq!(running.iter().sum::<usize>(), 8);
    }

    #[test]
    fn a_rising_load_halves_then_pauses_and_a_falling_one_resumes() {
        let (mut p, t) = pacer();
        for s in 0..10 {
            let now = t + Duration::from_secs(s);
            p.observe(now, sample(1.0));
            fill(&mut p, now);
        }
        assert_eq!(p.limit(), 8);
        settle(&mut p, t + Duration::from_secs(10), 10.0);
        assert_eq!(p.limit(), 4);
        // Between the lines: hold.
        settle(&mut p, t + Duration::from_secs(11), 6.0);
        assert_eq!(p.limit(), 4);
        settle(&mut p, t + Duration::from_secs(12), 20.0);
        assert_eq!(p.limit(), 0);
        for _ in 0..8 {
            p.finish(true);
        }
        assert_eq!(p.try_start(t + Duration::from_secs(12)), Decision::Wait);
        settle(&mut p, t + Duration::from_secs(20), 3.0);
        assert_eq!(p.try_start(t + Duration::from_secs(20)), Decision::Start);
        assert_eq!(p.made(), 8);
    }

    #[test]
    fn one_busy_sample_is_smoothed_away() {
        let (mut p, t) = pacer();
        for s in 0..10 {
            let now = t + Duration::from_secs(s);
            p.observe(now, sample(1.0));
            fill(&mut p, now);
        }
        let limit = p.limit();
        // 40 runnable tasks per core for one sample: the smoothed level stays under 16.
        p.observe(t + Duration::from_secs(10), sample(40.0));
        assert!(p.level() < 16.0, "{}", p.level());
        assert!(p.limit() > 0 && p.limit() >= limit / 2);
    }

    #[test]
    fn a_load_that_stays_past_the_pause_line_stops_creation_with_the_measurement() {
        let (mut p, t) = pacer();
        p.observe(t, sample(1.0));
        assert_eq!(p.try_start(t), Decision::Start);
        p.finish(true);
        settle(&mut p, t + Duration::from_secs(1), 30.0);
        for s in 2..=60 {
            p.observe(t + Duration::from_secs(s), sample(30.0));
            assert_eq!(p.try_start(t + Duration::from_secs(s)), Decision::Wait);
        }
        p.observe(t + Duration::from_secs(61), sample(30.0));
        let Decision::Stop(why) = p.try_start(t + Duration::from_secs(61)) else {
            panic!("not stopped");
        };
        assert!(why.contains("no CPU headroom left on host h1"), "{why}");
        assert!(
            why.contains("a load of 30.0 runnable tasks per core (60 runnable now on 2 cores, 1-minute load average 60.0, CPU pressure 90 %)"),
            "{why}"
        );
        assert!(why.contains("above 16 per core for 60 s"), "{why}");
        assert!(why.contains("1 node(s) were made"), "{why}");
        assert!(why.contains("sis apply"), "{why}");
        // Stopped is final for the run, even if the load drops.
        settle(&mut p, t + Duration::from_secs(62), 0.0);
        assert!(matches!(
            p.try_start(t + Duration::from_secs(62)),
            Decision::Stop(_)
        ));
    }

    #[test]
    fn a_busy_minute_with_a_dip_does_not_stop_creation() {
        let (mut p, t) = pacer();
        for s in 0..50 {
            settle(&mut p, t + Duration::from_secs(s), 30.0);
        }
        settle(&mut p, t + Duration::from_secs(50), 5.0);
        for s in 51..200 {
            settle(&mut p, t + Duration::from_secs(s), 30.0);
            if s < 110 {
                assert_eq!(p.try_start(t + Duration::from_secs(s)), Decision::Wait);
            }
        }
        assert!(p.stopped().is_some());
    }

    #[test]
    fn a_slow_engine_or_join_slows_creation() {
        let (mut p, t) = pacer();
        for s in 0..10 {
            let now = t + Duration::from_secs(s);
            p.observe(now, sample(1.0));
            fill(&mut p, now);
        }
        let mut slow = sample(1.0);
        slow.api_millis = 3000;
        p.observe(t + Duration::from_secs(10), slow);
        assert_eq!(p.limit(), 4);
        p.join_finished(Duration::from_secs(30));
        assert_eq!(p.limit(), 2);
        p.join_finished(Duration::from_secs(3));
        assert_eq!(p.limit(), 2);
    }

    #[test]
    fn a_sampler_that_stops_answering_holds_creation_then_stops_it() {
        let (mut p, t) = pacer();
        p.observe(t, sample(1.0));
        assert_eq!(p.try_start(t + Duration::from_secs(30)), Decision::Wait);
        // The engine is too busy to answer the sampler: nothing more starts, and after
        // stop_after creation stops for the run, saying why.
        p.sample_failed(t + Duration::from_secs(30), "Timeout error");
        assert_eq!(fill(&mut p, t + Duration::from_secs(30)), 0);
        p.sample_failed(t + Duration::from_secs(200), "Timeout error");
        match p.try_start(t + Duration::from_secs(200)) {
            Decision::Stop(why) => assert!(why.contains("has not answered"), "{why}"),
            other => panic!("expected a stop, got {other:?}"),
        }
    }

    #[test]
    fn a_machine_never_sampled_gets_one_creation_at_a_time() {
        let mut p = Pacer::new(PaceConfig::default(), vec!["h".into()]);
        let t = Instant::now();
        p.sample_failed(t + Duration::from_secs(30), "no such image");
        assert_eq!(fill(&mut p, t + Duration::from_secs(30)), 1);
    }

    #[test]
    fn the_stop_message_names_every_host_of_a_shared_machine() {
        let mut p = Pacer::new(
            PaceConfig::default(),
            vec!["lab-1".into(), "lab-2".into(), "lab-3".into()],
        );
        let t = Instant::now();
        for s in 0..=60 {
            settle(&mut p, t + Duration::from_secs(s), 50.0);
        }
        let why = p.stopped().unwrap();
        assert!(
            why.contains("hosts lab-1, lab-2, lab-3 (one machine"),
            "{why}"
        );
    }

    #[test]
    fn a_small_cluster_never_pauses_to_measure() {
        let (mut p, t) = checked(0);
        let mut started = 0;
        for s in 0..200 {
            let now = t + Duration::from_secs(s);
            p.observe(now, at_rest(s, 0.3));
            while p.try_start(now) == Decision::Start {
                p.finish(true);
                started += 1;
                if started == 119 {
                    break;
                }
            }
            if started == 119 {
                break;
            }
        }
        assert_eq!(started, 119);
        assert_eq!(p.rest(), None);
        // The 120th node is the first check point.
        p.observe(t + Duration::from_secs(300), at_rest(300, 0.3));
        assert_eq!(p.try_start(t + Duration::from_secs(300)), Decision::Start);
        p.finish(true);
        assert_eq!(p.try_start(t + Duration::from_secs(300)), Decision::Wait);
    }

    #[test]
    fn a_check_point_lets_creations_end_measures_at_rest_and_goes_on_while_there_is_room() {
        let (mut p, t) = checked(118);
        p.observe(t, at_rest(0, 0.9));
        assert_eq!(fill(&mut p, t), 1);
        rest_for(&mut p, t, 1, 3, 0.9);
        assert_eq!(fill(&mut p, t + Duration::from_secs(3)), 1);
        // 120 nodes once both end: the check point holds creation from now on.
        p.finish(true);
        assert_eq!(p.try_start(t + Duration::from_secs(3)), Decision::Wait);
        // The one in flight still runs: no measurement yet, whatever the samples say.
        rest_for(&mut p, t, 4, 30, 0.9);
        assert_eq!(p.rest(), None);
        p.finish(true);
        // It settles for 5 s, then measures for 10 s: the busy seconds before do not count.
        rest_for(&mut p, t, 31, 35, 0.9);
        assert_eq!(p.try_start(t + Duration::from_secs(35)), Decision::Wait);
        for s in 36..=60 {
            let now = t + Duration::from_secs(s);
            // 30 % of the cores from second 36 on.
            let before = at_rest(36, 0.9).cpu_time.unwrap();
            let mut sample = at_rest(s, 0.0);
            let ticks = (s - 36) * 200;
            sample.cpu_time = Some(CpuTime {
                busy: before.busy + (ticks as f64 * 0.3) as u64,
                total: before.total + ticks,
            });
            p.observe(now, sample);
        }
        let (nodes, busy) = p.rest().expect("measured");
        assert_eq!(nodes, 120);
        let news = p.take_news().expect("news of the check point");
        assert!(
            news.starts_with("at rest 120 node(s) keep 30 % of the 2 cores busy"),
            "{news}"
        );
        assert_eq!(p.take_news(), None);
        assert!((busy - 0.3).abs() < 0.01, "{busy}");
        // 0.25 % of the cores a node: room for 120 more, the next check after half of them.
        assert_eq!(p.next_check, Some(180));
        assert_eq!(p.try_start(t + Duration::from_secs(60)), Decision::Start);
        assert!(
            p.summary()
                .contains("at rest 120 nodes kept 30 % of the cores busy"),
            "{}",
            p.summary()
        );
    }

    #[test]
    fn a_machine_busy_at_rest_gets_no_more_nodes_and_the_message_says_what_was_measured() {
        let (mut p, t) = checked(150);
        rest_for(&mut p, t, 0, 20, 0.65);
        let Decision::Stop(why) = p.try_start(t + Duration::from_secs(20)) else {
            panic!("not stopped: {:?}", p.rest());
        };
        assert!(
            why.contains("no idle headroom left on host h1: at rest its 150 node(s) keep 65 % of the machine's 2 cores busy (measured over 10 s"),
            "{why}"
        );
        assert!(
            why.contains("sis adds no nodes at 60 % or more (`--rest-limit`)"),
            "{why}"
        );
        assert!(why.contains("0 node(s) were made in this pass"), "{why}");
        assert!(
            why.contains("About 150 nodes is what this machine holds"),
            "{why}"
        );
        assert_eq!(p.made(), 0);
    }

    #[test]
    fn check_points_come_closer_as_the_machine_fills() {
        let (mut p, t) = checked(120);
        rest_for(&mut p, t, 0, 20, 0.5);
        assert_eq!(p.rest().map(|r| r.0), Some(120));
        // 50 % with 120 nodes: room for 24 more, the next check after 12.
        assert_eq!(p.next_check, Some(132));
        let (mut p2, _) = checked(120);
        rest_for(&mut p2, t, 0, 20, 0.59);
        // Almost full: room for 2, checked after 1.
        assert_eq!(p2.next_check, Some(121));
    }

    #[test]
    fn a_sampler_without_cpu_time_turns_check_points_off() {
        let (mut p, t) = checked(200);
        for s in 0..20 {
            p.observe(t + Duration::from_secs(s), sample(0.5));
            assert_eq!(p.try_start(t + Duration::from_secs(s)), Decision::Wait);
        }
        // 5 s of settling and 15 more for a CPU time that never comes.
        p.observe(t + Duration::from_secs(20), sample(0.5));
        assert_eq!(p.rest(), None);
        assert_eq!(p.try_start(t + Duration::from_secs(20)), Decision::Start);
    }

    #[test]
    fn a_first_sample_without_cpu_time_still_gets_its_check_point() {
        // The sampler's first reading may come before its CPU time line.
        let (mut p, t) = checked(150);
        p.observe(t, sample(0.5));
        rest_for(&mut p, t, 1, 20, 0.65);
        assert!(
            matches!(p.try_start(t + Duration::from_secs(20)), Decision::Stop(_)),
            "{:?}",
            p.rest()
        );
    }

    #[test]
    fn a_lower_reading_later_does_not_widen_the_room() {
        let (mut p, t) = checked(120);
        rest_for(&mut p, t, 0, 20, 0.5);
        assert_eq!(p.next_check, Some(132));
        // 12 more nodes, and a reading 10 points lower: the cost a node had stands, so the
        // machine counts as 55 % busy: room for 12, checked after 6.
        p.nodes = 132;
        rest_for(&mut p, t, 21, 40, 0.4);
        assert_eq!(p.rest(), Some((132, 0.4)));
        assert_eq!(p.next_check, Some(138));
        // At 144 nodes the same cost reaches the line, whatever the window read.
        p.nodes = 144;
        rest_for(&mut p, t, 41, 60, 0.45);
        let why = p.stopped().expect("stopped");
        assert!(
            why.contains("at rest its 144 node(s) keep 45 % of the machine's 2 cores busy"),
            "{why}"
        );
        assert!(
            why.contains("at the highest cost a node had at a check point of this run (8.3 millicores) one more would take them to 60 % or more"),
            "{why}"
        );
    }
}
