//! One pass of executing a plan: phases in order, the actions of a phase concurrently within
//! per-host and swarm2-join bounds, transient errors retried with backoff, every outcome kept.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::future::join_all;
use sis_engine::{ContainerSpec, EngineError, HostEngine};
use sis_planner::{labels, Action, Plan, PlannedAction, Role};
use tokio::sync::{watch, Mutex, Semaphore};
use tracing::{info_span, Instrument};

use crate::events::{Event, Milestone, Outcome, Progress};
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

/// Runs `plan` once. Stops after a phase with failures (later phases depend on it) and when
/// `cancel` turns true (actions already running finish; the rest are skipped).
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
    for phase in &plan.phases {
        if let Some(why) = &stop {
            for a in &phase.actions {
                report
                    .outcomes
                    .push((a.clone(), Outcome::Skipped(why.clone()), Duration::ZERO));
            }
            continue;
        }
        progress.event(&Event::PhaseStarted {
            phase: phase.phase,
            actions: phase.actions.len(),
        });
        let started = Instant::now();
        let results = if phase.phase.is_sequential() {
            let mut results = Vec::new();
            for a in &phase.actions {
                results.push(pass.run(a, progress, cancel).await);
            }
            results
        } else {
            join_all(phase.actions.iter().map(|a| pass.run(a, progress, cancel))).await
        };
        progress.event(&Event::PhaseFinished {
            phase: phase.phase,
            elapsed: started.elapsed(),
        });
        let failed = results.iter().filter(|(o, _)| o.is_failure()).count();
        for (a, (o, d)) in phase.actions.iter().zip(results) {
            report.outcomes.push((a.clone(), o, d));
        }
        if *cancel.borrow() {
            stop = Some("interrupted".to_string());
        } else if failed > 0 {
            stop = Some(format!(
                "{failed} action(s) of phase {} failed",
                phase.phase.title()
            ));
        }
    }
    report
}

impl<E: HostEngine> Pass<'_, E> {
    fn engine(&self, host: &str) -> Result<&E, EngineError> {
        self.hosts
            .get(host)
            .map(|e| e.as_ref())
            .ok_or_else(|| EngineError::Other(format!("host {host} is not in the spec")))
    }

    async fn run(
        &self,
        planned: &PlannedAction,
        progress: &dyn Progress,
        cancel: &watch::Receiver<bool>,
    ) -> (Outcome, Duration) {
        let action = &planned.action;
        let _host_slot = match self.host_slots.get(action.host()) {
            Some(s) => Some(s.acquire().await.expect("semaphore is never closed")),
            None => None,
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
        progress.event(&Event::ActionStarted { action: planned });
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
                self.engine(host)?
                    .swarm1_init(advertise_addr.as_deref())
                    .await?
            }
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
                from_host, host, ..
            } => {
                return Err(EngineError::Other(format!(
                    "copying images between hosts ({from_host} → {host}) is not supported yet; \
                     load the image on host {host} with `docker load`"
                )))
            }
            Action::CreateNetwork { host, name, subnet } => {
                let labels =
                    BTreeMap::from([(labels::CLUSTER.to_string(), self.cluster.to_string())]);
                self.engine(host)?
                    .create_network(name, subnet, labels)
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
                    image: image.clone(),
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
                spec_hash,
            } => {
                let spec = ContainerSpec {
                    name: name.clone(),
                    hostname: name.clone(),
                    image: image.clone(),
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
        let local = swarm2::local_swarm(engine, node).await?;
        match local.state.as_str() {
            "active" => return Ok(Outcome::Done),
            "pending" => {
                return Ok(Outcome::Pending(format!(
                    "node {node} is still joining swarm2"
                )))
            }
            _ => {}
        }
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
