//! One pass of executing a plan: phases in order, the actions of a phase concurrently within
//! per-host and swarm2-join bounds, transient errors retried with backoff, every outcome kept.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::future::join_all;
use sis_engine::{ContainerSpec, EngineError, HostEngine};
use sis_types::{labels, Action, Phase, Plan, PlannedAction, Role};
use tokio::sync::{watch, Mutex, Semaphore};
use tracing::{info_span, Instrument};

use crate::events::{Event, Milestone, Outcome, Progress};
use crate::images;
use crate::observe::{error_chain, Hosts};
use crate::swarm2::{self, JoinOutcome};

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
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions {
            per_host: 8,
            joins: 4,
            node_ready_timeout: Duration::from_secs(120),
            attempts: 3,
        }
    }
}

/// Every action of a pass with how it ended.
#[derive(Debug, Default)]
pub struct PassReport {
    pub outcomes: Vec<(PlannedAction, Outcome, Duration)>,
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

/// Shared state of one pass.
struct Pass<'a, E> {
    cluster: &'a str,
    network: &'a str,
    hosts: &'a Hosts<E>,
    opts: &'a ExecOptions,
    host_slots: BTreeMap<String, Semaphore>,
    join_slots: Semaphore,
    /// Join tokens and addresses per (manager, role), fetched once per pass. Never printed.
    tokens: Mutex<BTreeMap<(String, Role), (String, String)>>,
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
    };
    let mut report = PassReport::default();
    let mut stop: Option<String> = None;
    for stage in stages(plan) {
        if let Some(why) = &stop {
            for (_, a) in &stage {
                report
                    .outcomes
                    .push(((*a).clone(), Outcome::Skipped(why.clone()), Duration::ZERO));
            }
            continue;
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
        if *cancel.borrow() {
            stop = Some("interrupted".to_string());
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

/// Whether a phase belongs to the node → swarm2 pipeline.
fn pipelined(phase: Phase) -> bool {
    matches!(phase, Phase::Nodes | Phase::Swarm2Init | Phase::Swarm2Join)
}

/// The plan's actions grouped into stages that run one after another: a phase on its own,
/// or the consecutive pipelined phases together.
fn stages(plan: &Plan) -> Vec<Vec<(Phase, &PlannedAction)>> {
    let mut stages: Vec<Vec<(Phase, &PlannedAction)>> = Vec::new();
    let mut last: Option<Phase> = None;
    for p in &plan.phases {
        let joins_last = last.is_some_and(|l| pipelined(l) && pipelined(p.phase));
        if !joins_last {
            stages.push(Vec::new());
        }
        let stage = stages.last_mut().expect("pushed above");
        stage.extend(p.actions.iter().map(|a| (p.phase, a)));
        last = Some(p.phase);
    }
    stages
}

/// The node container an action is about, if any.
fn node_of(action: &Action) -> Option<&str> {
    match action {
        Action::CreateNode { name, .. } | Action::StartNode { name, .. } => Some(name),
        Action::InitSwarm2 { node, .. }
        | Action::JoinSwarm2 { node, .. }
        | Action::PromoteSwarm2 { node, .. } => Some(node),
        _ => None,
    }
}

/// For each action of a stage, the earlier actions it must wait for: in a sequential phase,
/// the one before it; in the pipeline, every action of an earlier phase on the same node, and
/// every swarm2 init action for the joins.
fn dependencies(stage: &[(Phase, &PlannedAction)]) -> Vec<Vec<usize>> {
    stage
        .iter()
        .enumerate()
        .map(|(i, (phase, a))| {
            let mut deps = Vec::new();
            if phase.is_sequential() && i > 0 && stage[i - 1].0 == *phase {
                deps.push(i - 1);
            }
            if pipelined(*phase) {
                let node = node_of(&a.action);
                for (j, (earlier, b)) in stage[..i].iter().enumerate() {
                    let same_node = node.is_some() && node_of(&b.action) == node;
                    let needs_swarm2 = *phase == Phase::Swarm2Join && *earlier == Phase::Swarm2Init;
                    if earlier < phase && (same_node || needs_swarm2) && !deps.contains(&j) {
                        deps.push(j);
                    }
                }
            }
            deps
        })
        .collect()
}

impl<E: HostEngine> Pass<'_, E> {
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

    fn engine(&self, host: &str) -> Result<&E, EngineError> {
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
        progress.event(&Event::ActionFinished {
            phase,
            action: planned,
            outcome: &outcome,
            elapsed,
            attempts: attempt,
        });
        (outcome, elapsed)
    }

    async fn apply(
        &self,
        action: &Action,
        progress: &dyn Progress,
    ) -> Result<Outcome, EngineError> {
        let milestone =
            |node: &str, milestone| progress.event(&Event::Milestone { node, milestone });
        match action {
            Action::InitSwarm1 {
                host,
                advertise_addr,
            } => {
                // The mark that lets `sis destroy --swarm1` tell this swarm from one it
                // must not leave.
                let created_by = BTreeMap::from([(
                    labels::SWARM1_CREATED_BY.to_string(),
                    self.cluster.to_string(),
                )]);
                self.engine(host)?
                    .swarm1_init(advertise_addr.as_deref(), created_by)
                    .await?
            }
            Action::LeaveSwarm1 { host, force } => self.engine(host)?.swarm1_leave(*force).await?,
            Action::JoinSwarm1 {
                host,
                manager_host,
                role,
                advertise_addr,
            } => {
                let manager = self.engine(manager_host)?;
                let token = manager.swarm1_join_token(*role).await?;
                let facts = manager.observe(self.cluster, self.network).await?;
                let addr = facts.swarm1.node_addr.ok_or_else(|| {
                    EngineError::Other(format!(
                        "host {manager_host} reports no swarm1 address to join to"
                    ))
                })?;
                self.engine(host)?
                    .swarm1_join(vec![format!("{addr}:2377")], token, advertise_addr.clone())
                    .await?
            }
            Action::PullImage { host, image } => self.engine(host)?.pull_image(image).await?,
            Action::CopyImage {
                from_host,
                host,
                image,
            } => {
                let from = (from_host.as_str(), self.engine(from_host)?);
                let to = (host.as_str(), self.engine(host)?);
                images::copy_between_hosts(from, to, image, progress).await?
            }
            Action::CreateNetwork { host, name, subnet } => {
                let labels =
                    BTreeMap::from([(labels::CLUSTER.to_string(), self.cluster.to_string())]);
                self.engine(host)?
                    .create_network(name, *subnet, labels)
                    .await?
            }
            Action::RemoveNetwork { host, name } => self.engine(host)?.remove_network(name).await?,
            Action::CreateKvStore {
                host,
                name,
                kind,
                image,
                network,
            } => {
                let spec = ContainerSpec {
                    name: name.clone(),
                    hostname: name.clone(),
                    image: image.to_string(),
                    cmd: kvstore_cmd(*kind),
                    labels: BTreeMap::from([
                        (labels::CLUSTER.to_string(), self.cluster.to_string()),
                        (labels::ROLE.to_string(), labels::ROLE_KVSTORE.to_string()),
                        (labels::HOST.to_string(), host.clone()),
                    ]),
                    network: Some(network.clone()),
                    profile: None,
                    publish: Vec::new(),
                };
                self.engine(host)?.run_container(&spec).await?
            }
            Action::RemoveKvStore { host, name } | Action::RemoveNode { host, name } => {
                self.engine(host)?.remove_container(name).await?
            }
            Action::CreateNode {
                host,
                name,
                index,
                image,
                profile,
                network,
                args,
                preload,
                spec_hash,
            } => {
                let spec = ContainerSpec {
                    name: name.clone(),
                    hostname: name.clone(),
                    image: image.to_string(),
                    cmd: args.clone(),
                    labels: BTreeMap::from([
                        (labels::CLUSTER.to_string(), self.cluster.to_string()),
                        (labels::ROLE.to_string(), labels::ROLE_NODE.to_string()),
                        (labels::HOST.to_string(), host.clone()),
                        (labels::INDEX.to_string(), index.to_string()),
                        (labels::SPEC_HASH.to_string(), spec_hash.clone()),
                    ]),
                    network: Some(network.clone()),
                    profile: Some(profile.clone()),
                    publish: Vec::new(),
                };
                let engine = self.engine(host)?;
                engine.run_container(&spec).await?;
                milestone(name, Milestone::Started);
                engine
                    .wait_node_ready(name, self.opts.node_ready_timeout)
                    .await?;
                milestone(name, Milestone::DockerdReady);
                if let Err(e) = images::load_into_node(engine, host, name, preload).await {
                    // Its label says it has the images: a node without them must not stay,
                    // or no later pass would load them. The next attempt makes it anew.
                    if let Err(cleanup) = engine.remove_container(name).await {
                        tracing::warn!("removing node {name}, which lacks its images: {cleanup}");
                    }
                    return Err(e);
                }
            }
            Action::StartNode { host, name } => {
                let engine = self.engine(host)?;
                engine.start_container(name).await?;
                milestone(name, Milestone::Started);
                engine
                    .wait_node_ready(name, self.opts.node_ready_timeout)
                    .await?;
                milestone(name, Milestone::DockerdReady);
            }
            Action::InitSwarm2 { host, node } => {
                let engine = self.engine(host)?;
                let addr = self.ring2net_ip(engine, node).await?;
                swarm2::init(engine, node, &addr).await?;
                milestone(node, Milestone::Joined);
            }
            Action::SetSwarm2Ingress {
                manager,
                manager_host,
                enabled,
            } => swarm2::set_ingress(self.engine(manager_host)?, manager, *enabled).await?,
            Action::JoinSwarm2 {
                host,
                node,
                role,
                manager,
                manager_host,
            } => {
                let outcome = self
                    .join_swarm2(host, node, *role, manager, manager_host)
                    .await?;
                if outcome == Outcome::Done {
                    milestone(node, Milestone::Joined);
                }
                return Ok(outcome);
            }
            Action::PromoteSwarm2 {
                manager,
                manager_host,
                node,
            } => swarm2::set_role(self.engine(manager_host)?, manager, node, Role::Manager).await?,
            Action::DemoteSwarm2 {
                manager,
                manager_host,
                node,
            } => swarm2::set_role(self.engine(manager_host)?, manager, node, Role::Worker).await?,
            Action::LeaveSwarm2 { host, node } => swarm2::leave(self.engine(host)?, node).await?,
            Action::RemoveSwarm2Entry {
                manager,
                manager_host,
                node_id,
                ..
            } => swarm2::node_rm(self.engine(manager_host)?, manager, node_id).await?,
        }
        Ok(Outcome::Done)
    }

    async fn ring2net_ip(&self, engine: &E, node: &str) -> Result<String, EngineError> {
        engine
            .container_ip(node, self.network)
            .await?
            .ok_or_else(|| {
                EngineError::Other(format!(
                    "node {node} has no address on network {}",
                    self.network
                ))
            })
    }

    async fn join_swarm2(
        &self,
        host: &str,
        node: &str,
        role: Role,
        manager: &str,
        manager_host: &str,
    ) -> Result<Outcome, EngineError> {
        let engine = self.engine(host)?;
        // No look at the node's own state first: one exec less per node, and dockerd refuses
        // to join a node that is in a swarm or joining one (AlreadyMember below).
        let (token, manager_addr) = {
            let mut tokens = self.tokens.lock().await;
            let key = (manager.to_string(), role);
            if let Some(cached) = tokens.get(&key) {
                cached.clone()
            } else {
                let manager_engine = self.engine(manager_host)?;
                let token = swarm2::join_token(manager_engine, manager, role).await?;
                let addr = self.ring2net_ip(manager_engine, manager).await?;
                tokens.insert(key, (token.clone(), addr.clone()));
                (token, addr)
            }
        };
        let addr = self.ring2net_ip(engine, node).await?;
        match swarm2::join(engine, node, &token, &manager_addr, &addr).await? {
            JoinOutcome::Joined => Ok(Outcome::Done),
            JoinOutcome::Pending => Ok(Outcome::Pending(format!(
                "node {node}: join timed out and goes on in the background"
            ))),
            JoinOutcome::AlreadyMember => {
                match swarm2::local_swarm(engine, node).await?.state.as_str() {
                    "active" => Ok(Outcome::Done),
                    state => Ok(Outcome::Pending(format!(
                        "node {node} is still joining swarm2 (state {state})"
                    ))),
                }
            }
        }
    }
}

/// The command of a K/V store container.
fn kvstore_cmd(kind: sis_spec::KvKind) -> Vec<String> {
    let args: &[&str] = match kind {
        sis_spec::KvKind::Consul => &["-server", "-bootstrap"],
        sis_spec::KvKind::Etcd => &[
            "etcd",
            "--listen-client-urls",
            "http://0.0.0.0:2379",
            "--advertise-client-urls",
            "http://0.0.0.0:2379",
        ],
    };
    args.iter().map(|s| s.to_string()).collect()
}
