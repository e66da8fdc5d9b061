//! One pass of executing a plan: phases in order, the actions of a phase concurrently within
//! per-host and swarm2-join bounds, transient errors retried with backoff, every outcome kept.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::future::join_all;
use sis_engine::{EngineError, HostEngine};
use sis_types::{Action, Phase, Plan, PlannedAction, Role};
use tokio::sync::{watch, Mutex, Semaphore};
use tracing::{info_span, Instrument};

use crate::events::{Event, Outcome, Progress};
use crate::observe::{error_chain, Hosts};
use crate::pacing::{Budgets, PaceConfig};
use crate::schedule::{dependencies, stages};
use crate::steps::{self, classic, images, kvstore, network, nodes, swarm1, swarm2};

/// Bounds and timeouts of execution.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    /// Actions running at once against one host's engine.
    pub per_host: usize,
    /// swarm2 joins running at once over the whole cluster, so managers are not stormed.
    pub joins: usize,
    /// How long a node's dockerd may take to answer after its container starts.
    pub node_ready_timeout: Duration,
    /// Attempts of an action whose error is transient.
    pub attempts: u32,
    /// The disk each host keeps free while nodes are created ([`crate::disk::floors`]);
    /// a host missing here is not watched.
    pub disk_floors: BTreeMap<String, crate::disk::DiskFloor>,
    /// Pace node creation by each machine's measured headroom ([`crate::pacing`]), within
    /// `per_host` at once per machine; `None`: the fixed `per_host` bound alone.
    pub pacing: Option<PaceConfig>,
    /// Nodes running on each host when the pass begins ([`crate::pacing::running_nodes`]):
    /// where pacing's rest measurements start counting.
    pub running_nodes: BTreeMap<String, u32>,
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions {
            per_host: 8,
            joins: 4,
            node_ready_timeout: Duration::from_secs(120),
            attempts: 3,
            disk_floors: BTreeMap::new(),
            pacing: None,
            running_nodes: BTreeMap::new(),
        }
    }
}

/// Every action of a pass with how it ended.
#[derive(Debug, Default)]
pub struct PassReport {
    pub outcomes: Vec<(PlannedAction, Outcome, Duration)>,
    /// Why node creation stopped short: the machine had no headroom left (see
    /// [`crate::pacing`]). The actions not started are [`Outcome::Skipped`] with it.
    pub no_headroom: Option<String>,
    /// What pacing did, one line per machine.
    pub pacing: Vec<String>,
}

impl PassReport {
    pub fn failures(&self) -> impl Iterator<Item = (&PlannedAction, &Outcome)> {
        self.outcomes
            .iter()
            .filter(|(_, o, _)| o.is_failure())
            .map(|(a, o, _)| (a, o))
    }
    pub fn has_permanent_failure(&self) -> bool {
        self.outcomes.iter().any(|(_, o, _)| {
            matches!(
                o,
                Outcome::Failed {
                    transient: false,
                    ..
                }
            )
        })
    }
    pub fn pending(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|(_, o, _)| matches!(o, Outcome::Pending(_)))
            .count()
    }
}

/// Resolves when `cancel` turns true.
async fn wait_cancel(cancel: &watch::Receiver<bool>) {
    let mut cancel = cancel.clone();
    if cancel.wait_for(|c| *c).await.is_err() {
        // No one can cancel any more.
        std::future::pending::<()>().await;
    }
}

/// The retry policy, in one place: transient errors are retried with exponential backoff.
pub fn retry_after(error: &EngineError, attempt: u32, attempts: u32) -> Option<Duration> {
    if !error.is_transient() || attempt >= attempts {
        return None;
    }
    Some(
        Duration::from_millis(500u64.saturating_mul(1 << attempt.min(4)))
            .min(Duration::from_secs(8)),
    )
}

/// Shared state of one pass; what the steps see of it.
pub(crate) struct Pass<'a, E> {
    pub(crate) cluster: &'a str,
    pub(crate) network: &'a str,
    hosts: &'a Hosts<E>,
    pub(crate) opts: &'a ExecOptions,
    host_slots: BTreeMap<String, Semaphore>,
    join_slots: Semaphore,
    /// Join tokens per (manager, role), fetched once per pass. Never printed.
    pub(crate) tokens: Mutex<BTreeMap<(String, Role), String>>,
    /// The disk floor's accounts, per host.
    pub(crate) disk: crate::disk::DiskWatch,
    /// Classic mode's CA per (host, container), read once per pass. Never printed.
    pub(crate) cas: Mutex<BTreeMap<(String, String), std::sync::Arc<sis_certs::Ca>>>,
    /// Node creation's pacers, when pacing is on and the plan creates nodes.
    budgets: Option<Budgets>,
    /// The first "no headroom" stop of the pass.
    no_headroom: std::sync::Mutex<Option<String>>,
}

/// Runs `plan` once. Stops after a stage with failures (later phases depend on it) and when
/// `cancel` turns true (actions already running finish; the rest are skipped).
///
/// Phases run in order, except that [`Phase::Nodes`], [`Phase::Swarm2Init`] and
/// [`Phase::Swarm2Join`] run as one pipeline: swarm2 is initialised as soon as its first
/// manager's dockerd answers, and every node joins as soon as its own dockerd answers and
/// swarm2 is ready — not after the last node of the plan is up. The dependencies are exactly
/// those the phase order stands for, per node.
pub async fn execute<E: HostEngine>(
    plan: &Plan,
    cluster: &str,
    network: &str,
    hosts: &Hosts<E>,
    opts: &ExecOptions,
    progress: &dyn Progress,
    cancel: &watch::Receiver<bool>,
) -> PassReport {
    let creates = plan
        .phases
        .iter()
        .flat_map(|p| &p.actions)
        .any(|a| paced(&a.action));
    let budgets = match &opts.pacing {
        Some(config) if creates => Some(Budgets::new(hosts, config, &opts.running_nodes).await),
        _ => None,
    };
    let pass = Pass {
        cluster,
        network,
        hosts,
        opts,
        host_slots: hosts
            .keys()
            .map(|h| (h.clone(), Semaphore::new(opts.per_host.max(1))))
            .collect(),
        join_slots: Semaphore::new(opts.joins.max(1)),
        tokens: Mutex::new(BTreeMap::new()),
        disk: crate::disk::DiskWatch::new(&opts.disk_floors),
        cas: Mutex::new(BTreeMap::new()),
        budgets,
        no_headroom: std::sync::Mutex::new(None),
    };
    let sampling = async {
        match &pass.budgets {
            Some(b) => b.run(hosts, progress).await,
            None => std::future::pending().await,
        }
    };
    let mut report = tokio::select! {
        report = pass.run_stages(plan, progress, cancel) => report,
        _ = sampling => unreachable!("sampling runs until the stages are done"),
    };
    report.no_headroom = pass
        .no_headroom
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    if let Some(b) = &pass.budgets {
        report.pacing = b.summaries();
        for line in &report.pacing {
            tracing::info!("pacing: {line}");
        }
    }
    report
}

/// Actions that pacing holds back: they start node containers.
fn paced(action: &Action) -> bool {
    matches!(action, Action::CreateNode { .. } | Action::StartNode { .. })
}

impl<E: HostEngine> Pass<'_, E> {
    async fn run_stages(
        &self,
        plan: &Plan,
        progress: &dyn Progress,
        cancel: &watch::Receiver<bool>,
    ) -> PassReport {
        let pass = self;
        let mut report = PassReport::default();
        let mut stop: Option<String> = None;
        for stage in stages(plan) {
            if let Some(why) = &stop {
                for (_, a) in &stage {
                    report.outcomes.push((
                        (*a).clone(),
                        Outcome::Skipped(why.clone()),
                        Duration::ZERO,
                    ));
                }
                continue;
            }
            let removed: Vec<(&str, &str)> = stage
                .iter()
                .filter_map(|(_, a)| match &a.action {
                    Action::RemoveNode { host, name } => Some((host.as_str(), name.as_str())),
                    _ => None,
                })
                .collect();
            if !removed.is_empty() && !*cancel.borrow() {
                nodes::kill_before_removal(pass, &removed).await;
            }
            let results = pass.run_stage(&stage, progress, cancel).await;
            let failed: Vec<Phase> = stage
                .iter()
                .zip(&results)
                .filter(|(_, (o, _))| o.is_failure())
                .map(|((phase, _), _)| *phase)
                .collect();
            for ((_, a), (o, d)) in stage.iter().zip(results) {
                report.outcomes.push(((*a).clone(), o, d));
            }
            let no_headroom = pass
                .no_headroom
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            if *cancel.borrow() {
                stop = Some("interrupted".to_string());
            } else if let Some(why) = no_headroom {
                stop = Some(why);
            } else if let Some(phase) = failed.first() {
                stop = Some(format!(
                    "{} action(s) failed, the first in phase {}",
                    failed.len(),
                    phase.title()
                ));
            }
        }
        report
    }

    /// Runs the actions of one stage, each once its dependencies are done; an action whose
    /// dependency did not finish is skipped.
    async fn run_stage(
        &self,
        stage: &[(Phase, &PlannedAction)],
        progress: &dyn Progress,
        cancel: &watch::Receiver<bool>,
    ) -> Vec<(Outcome, Duration)> {
        let deps = dependencies(stage);
        let done: Vec<watch::Sender<Option<bool>>> =
            stage.iter().map(|_| watch::channel(None).0).collect();
        let mut phases: Vec<Phase> = stage.iter().map(|(p, _)| *p).collect();
        phases.dedup();
        for phase in &phases {
            let actions = stage.iter().filter(|(p, _)| p == phase).count();
            progress.event(&Event::PhaseStarted {
                phase: *phase,
                actions,
            });
        }
        let started = Instant::now();
        let runs = stage.iter().enumerate().map(|(i, (phase, a))| {
            let deps = &deps[i];
            let done = &done;
            async move {
                for &d in deps {
                    let mut rx = done[d].subscribe();
                    let ok = *rx
                        .wait_for(Option::is_some)
                        .await
                        .expect("senders live as long as the stage");
                    if ok != Some(true) {
                        let why = format!("needs: {}", stage[d].1.action.describe());
                        done[i].send_replace(Some(false));
                        return (Outcome::Skipped(why), Duration::ZERO, Duration::ZERO);
                    }
                }
                let (outcome, elapsed) = self.run(*phase, a, progress, cancel).await;
                done[i].send_replace(Some(outcome == Outcome::Done));
                (outcome, elapsed, started.elapsed())
            }
        });
        let results = join_all(runs).await;
        for phase in phases {
            let elapsed = stage
                .iter()
                .zip(&results)
                .filter(|((p, _), _)| *p == phase)
                .map(|(_, (_, _, end))| *end)
                .max()
                .unwrap_or_default();
            progress.event(&Event::PhaseFinished { phase, elapsed });
        }
        results.into_iter().map(|(o, d, _)| (o, d)).collect()
    }

    /// The engine of spec host `host`.
    pub(crate) fn engine(&self, host: &str) -> Result<&E, EngineError> {
        self.hosts
            .get(host)
            .map(|e| e.as_ref())
            .ok_or_else(|| EngineError::Other(format!("host {host} is not in the spec")))
    }

    async fn run(
        &self,
        phase: Phase,
        planned: &PlannedAction,
        progress: &dyn Progress,
        cancel: &watch::Receiver<bool>,
    ) -> (Outcome, Duration) {
        let action = &planned.action;
        // Pacing first: it is per machine, and a creation waiting for headroom must not hold
        // one of its host's slots.
        let mut permit = None;
        if let (Some(budgets), true) = (&self.budgets, paced(action)) {
            tokio::select! {
                acquired = budgets.acquire(action.host()) => match acquired {
                    Ok(p) => permit = p,
                    Err(why) => {
                        self.no_headroom
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .get_or_insert(why.clone());
                        return (Outcome::Skipped(why), Duration::ZERO);
                    }
                },
                _ = wait_cancel(cancel) => {
                    return (Outcome::Skipped("interrupted".to_string()), Duration::ZERO);
                }
            }
        }
        // The per-host bound is for work that loads a host's engine (containers, networks,
        // images). swarm2's actions are execs into nodes: joins have their own cluster-wide
        // bound, and none of them must queue behind the creates of their host — the init would
        // otherwise wait for the last node and hold every join back.
        let _host_slot = match self.host_slots.get(action.host()) {
            Some(s) if !matches!(phase, Phase::Swarm2Init | Phase::Swarm2Join) => {
                Some(s.acquire().await.expect("semaphore is never closed"))
            }
            _ => None,
        };
        let _join_slot = match action {
            Action::JoinSwarm2 { .. } => Some(
                self.join_slots
                    .acquire()
                    .await
                    .expect("semaphore is never closed"),
            ),
            _ => None,
        };
        if *cancel.borrow() {
            return (Outcome::Skipped("interrupted".to_string()), Duration::ZERO);
        }
        progress.event(&Event::ActionStarted {
            phase,
            action: planned,
        });
        let started = Instant::now();
        let mut attempt = 1;
        let outcome = loop {
            let span = info_span!("action", what = %action.describe());
            match self.apply(action, progress).instrument(span).await {
                Ok(outcome) => break outcome,
                Err(e) => match retry_after(&e, attempt, self.opts.attempts) {
                    Some(delay) if !*cancel.borrow() => {
                        tracing::debug!(error = %e, ?delay, "retrying {}", action.describe());
                        tokio::time::sleep(delay).await;
                        attempt += 1;
                    }
                    _ => {
                        break Outcome::Failed {
                            transient: e.is_transient(),
                            error: error_chain(&e),
                        }
                    }
                },
            }
        };
        let elapsed = started.elapsed();
        if let Some(p) = &mut permit {
            p.made = outcome == Outcome::Done;
        }
        drop(permit);
        if let (Some(budgets), Action::JoinSwarm2 { host, .. }) = (&self.budgets, action) {
            budgets.join_finished(host, elapsed);
        }
        progress.event(&Event::ActionFinished {
            phase,
            action: planned,
            outcome: &outcome,
            elapsed,
            attempts: attempt,
        });
        (outcome, elapsed)
    }

    /// Carries out one action: each kind is a step of its own module.
    async fn apply(
        &self,
        action: &Action,
        progress: &dyn Progress,
    ) -> Result<Outcome, EngineError> {
        match action {
            Action::InitSwarm1 {
                host,
                advertise_addr,
            } => swarm1::init(self, host, advertise_addr.as_deref()).await?,
            Action::LeaveSwarm1 { host, force } => swarm1::leave(self, host, *force).await?,
            Action::JoinSwarm1 {
                host,
                manager_host,
                role,
                advertise_addr,
            } => swarm1::join(self, host, manager_host, *role, advertise_addr.clone()).await?,
            Action::PullImage { host, image } => images::pull(self, host, image).await?,
            Action::CopyImage {
                from_host,
                host,
                image,
            } => images::copy(self, from_host, host, image, progress).await?,
            Action::CreateNetwork {
                host,
                name,
                subnet,
                ip_range,
                gateway,
            } => {
                let addressing = sis_engine::NetworkAddressing {
                    subnet: *subnet,
                    ip_range: Some(*ip_range),
                    gateway: Some(*gateway),
                };
                network::create(self, host, name, addressing).await?
            }
            Action::RemoveNetwork { host, name } => network::remove(self, host, name).await?,
            Action::CreateKvStore {
                host,
                name,
                image,
                cmd,
                network,
                address,
                ..
            } => {
                let kv = kvstore::NewKvStore {
                    host,
                    name,
                    image,
                    cmd,
                    network,
                    address: *address,
                };
                kvstore::create(self, kv).await?
            }
            Action::RemoveKvStore { host, name } => {
                steps::remove_container(self, host, name).await?
            }
            Action::StartKvStore { host, name } => self.engine(host)?.start_container(name).await?,
            Action::CreateNode {
                host,
                name,
                index,
                image,
                profile,
                network,
                address,
                args,
                preload,
                spec_hash,
                tls,
            } => {
                let node = nodes::NewNode {
                    host,
                    name,
                    index: *index,
                    image,
                    profile,
                    network,
                    address: *address,
                    args,
                    preload,
                    spec_hash,
                    tls: tls.as_ref(),
                };
                nodes::create(self, node, progress).await?
            }
            Action::StartNode { host, name } => nodes::start(self, host, name, progress).await?,
            Action::CreateClassicManager {
                host,
                name,
                image,
                cmd,
                network,
                address,
                publish,
                spec_hash,
                tls,
            } => {
                let manager = classic::Manager {
                    host,
                    name,
                    image,
                    cmd,
                    network,
                    address: *address,
                    publish: *publish,
                    spec_hash,
                    tls: tls.as_ref(),
                };
                classic::create_manager(self, manager).await?
            }
            Action::CreateClassicAgent {
                host,
                name,
                node,
                index,
                image,
                cmd,
                network,
                spec_hash,
            } => {
                let agent = classic::Agent {
                    host,
                    name,
                    node,
                    index: *index,
                    image,
                    cmd,
                    network,
                    spec_hash,
                };
                classic::create_agent(self, agent).await?
            }
            Action::CreateClassicCa { host, name } => classic::create_ca(self, host, name).await?,
            Action::RemoveClassicManager { host, name }
            | Action::RemoveClassicAgent { host, name }
            | Action::RemoveClassicCa { host, name } => {
                steps::remove_container(self, host, name).await?
            }
            Action::RemoveNode { host, name } => steps::remove_container(self, host, name).await?,
            Action::InitSwarm2 {
                host,
                node,
                address,
            } => swarm2::init(self, host, node, *address, progress).await?,
            Action::RepairSwarm2 {
                host,
                node,
                address,
            } => swarm2::repair(self, host, node, *address).await?,
            Action::SetSwarm2Ingress {
                manager,
                manager_host,
                enabled,
            } => swarm2::set_ingress(self, manager_host, manager, *enabled).await?,
            Action::JoinSwarm2 {
                host,
                node,
                role,
                manager,
                manager_host,
                address,
                manager_address,
            } => {
                let join = swarm2::Join {
                    host,
                    node,
                    role: *role,
                    manager,
                    manager_host,
                    address: *address,
                    manager_address: *manager_address,
                };
                return swarm2::join(self, join, progress).await;
            }
            Action::PromoteSwarm2 {
                manager,
                manager_host,
                node,
            } => swarm2::set_role(self, manager_host, manager, node, Role::Manager).await?,
            Action::DemoteSwarm2 {
                manager,
                manager_host,
                node,
            } => swarm2::set_role(self, manager_host, manager, node, Role::Worker).await?,
            Action::LeaveSwarm2 { host, node } => swarm2::leave(self, host, node).await?,
            Action::RemoveSwarm2Entry {
                manager,
                manager_host,
                node_id,
                ..
            } => swarm2::remove_entry(self, manager_host, manager, node_id).await?,
        }
        Ok(Outcome::Done)
    }
}
