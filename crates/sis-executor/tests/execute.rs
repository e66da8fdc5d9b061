//! The executor's logic against the in-memory fake engine: ordering, dependencies, retries,
//! failures and secrets. Behaviour against real engines is covered by tests/e2e.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use sis_engine::fake::{Failure, FakeHost, Op};
use sis_engine::ExecOutput;
use sis_executor::{execute, Event, ExecOptions, Hosts, Outcome, PassReport, Progress};
use sis_types::{Action, NodeProfile, Phase, Plan, PlanPhase, PlannedAction, Role};
use tokio::sync::watch;

const TOKEN: &str = "SWMTKN-1-secretsecretsecret";

fn planned(action: Action) -> PlannedAction {
    PlannedAction {
        action,
        reason: "test".to_string(),
    }
}

fn plan(phases: Vec<(Phase, Vec<Action>)>) -> Plan {
    Plan {
        cluster: "t".to_string(),
        phases: phases
            .into_iter()
            .map(|(phase, actions)| PlanPhase {
                phase,
                actions: actions.into_iter().map(planned).collect(),
            })
            .collect(),
        ..Plan::default()
    }
}

fn create(index: u32) -> Action {
    Action::CreateNode {
        host: "h".to_string(),
        name: format!("t-h-{index}"),
        index,
        image: "sis-node:test".into(),
        profile: NodeProfile::Privileged,
        network: "net".to_string(),
        args: Vec::new(),
        preload: Vec::new(),
        spec_hash: "0".to_string(),
    }
}

fn join(index: u32) -> Action {
    Action::JoinSwarm2 {
        host: "h".to_string(),
        node: format!("t-h-{index}"),
        role: Role::Worker,
        manager: "t-h-1".to_string(),
        manager_host: "h".to_string(),
    }
}

/// A host with the image and the network, whose nodes answer the swarm CLI like dockerd.
fn host() -> Arc<FakeHost> {
    let host = FakeHost::new("fake://h");
    host.add_image("sis-node:test");
    host.state().networks.insert(
        "net".to_string(),
        sis_engine::fake::FakeNetwork {
            subnet: "10.9.0.0/24".parse().unwrap(),
            labels: BTreeMap::new(),
            allocated: 1,
        },
    );
    host.set_exec(|_, cmd| {
        let cmd = cmd.join(" ");
        let stdout = if cmd.contains("info --format") {
            r#"{"LocalNodeState":"inactive","NodeID":""}"#.to_string()
        } else if cmd.contains("join-token") {
            format!("{TOKEN}\n")
        } else {
            String::new()
        };
        ExecOutput {
            exit_code: 0,
            stdout,
            stderr: String::new(),
        }
    });
    Arc::new(host)
}

/// Puts a running node container on the host, as an earlier apply left it.
fn add_node(host: &FakeHost, index: u32) {
    host.state().containers.insert(
        format!("t-h-{index}"),
        sis_engine::fake::FakeContainer {
            image: "sis-node:test".to_string(),
            state: "running".to_string(),
            labels: BTreeMap::new(),
            network: Some("net".to_string()),
            ip: Some(format!("10.9.0.{}", index + 1)),
        },
    );
}

/// Records the order in which actions finished.
#[derive(Default)]
struct Finished(Mutex<Vec<String>>);

impl Progress for Finished {
    fn event(&self, event: &Event<'_>) {
        if let Event::ActionFinished { action, .. } = event {
            self.0.lock().unwrap().push(action.action.describe());
        }
    }
}

async fn run(plan: &Plan, host: &Arc<FakeHost>, progress: &dyn Progress) -> PassReport {
    let hosts: Hosts<FakeHost> = BTreeMap::from([("h".to_string(), host.clone())]);
    let (_tx, cancel) = watch::channel(false);
    execute(
        plan,
        "t",
        "net",
        &hosts,
        &ExecOptions::default(),
        progress,
        &cancel,
    )
    .await
}

fn outcome<'a>(report: &'a PassReport, what: &str) -> &'a Outcome {
    report
        .outcomes
        .iter()
        .find(|(a, _, _)| a.action.describe() == what)
        .map(|(_, o, _)| o)
        .unwrap_or_else(|| panic!("no outcome for {what}"))
}

#[tokio::test(start_paused = true)]
async fn transient_errors_are_retried_until_they_pass() {
    let host = host();
    host.fail_next(Op::RunContainer, "t-h-1", 2, Failure::Transient);
    let p = plan(vec![(Phase::Nodes, vec![create(1)])]);
    let report = run(&p, &host, &Finished::default()).await;
    assert_eq!(
        *outcome(&report, "create node t-h-1 on host h"),
        Outcome::Done
    );
    assert_eq!(host.calls_of(Op::RunContainer).len(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_permanent_failure_skips_the_phases_after_it() {
    let host = host();
    host.fail_next(Op::CreateNetwork, "*", 1, Failure::Permanent);
    let p = plan(vec![
        (
            Phase::Network,
            vec![Action::CreateNetwork {
                host: "h".to_string(),
                name: "other".to_string(),
                subnet: "10.8.0.0/24".parse().unwrap(),
            }],
        ),
        (Phase::Nodes, vec![create(1)]),
    ]);
    let report = run(&p, &host, &Finished::default()).await;
    assert!(matches!(
        outcome(&report, "create network other 10.8.0.0/24 via host h"),
        Outcome::Failed {
            transient: false,
            ..
        }
    ));
    assert!(matches!(
        outcome(&report, "create node t-h-1 on host h"),
        Outcome::Skipped(_)
    ));
    assert!(host.calls_of(Op::RunContainer).is_empty());
    assert!(report.has_permanent_failure());
}

#[tokio::test(start_paused = true)]
async fn a_node_joins_when_its_own_dockerd_is_ready_not_when_all_are() {
    let host = host();
    host.fail_next(Op::RunContainer, "t-h-3", 1, Failure::Permanent);
    let p = plan(vec![
        (Phase::Nodes, vec![create(1), create(2), create(3)]),
        (
            Phase::Swarm2Init,
            vec![Action::InitSwarm2 {
                host: "h".to_string(),
                node: "t-h-1".to_string(),
            }],
        ),
        (Phase::Swarm2Join, vec![join(2), join(3)]),
    ]);
    let finished = Finished::default();
    let report = run(&p, &host, &finished).await;
    assert_eq!(
        *outcome(&report, "join node t-h-2 to swarm2 as worker"),
        Outcome::Done
    );
    match outcome(&report, "join node t-h-3 to swarm2 as worker") {
        Outcome::Skipped(why) => assert_eq!(why, "needs: create node t-h-3 on host h"),
        other => panic!("expected a skip, got {other:?}"),
    }
    // The init ran after its node, and node 2 joined after the init.
    let order = finished.0.lock().unwrap().clone();
    let at = |what: &str| order.iter().position(|d| d == what).unwrap();
    assert!(at("create node t-h-1 on host h") < at("init swarm2 on node t-h-1"));
    assert!(at("init swarm2 on node t-h-1") < at("join node t-h-2 to swarm2 as worker"));
}

#[tokio::test(start_paused = true)]
async fn join_tokens_never_reach_outcomes() {
    let host = host();
    add_node(&host, 1);
    add_node(&host, 2);
    host.set_exec(|_, cmd| {
        let joined = cmd.join(" ");
        if joined.contains("swarm join --token") {
            return ExecOutput {
                exit_code: 1,
                stdout: String::new(),
                stderr: format!("Error response from daemon: invalid join token {TOKEN}"),
            };
        }
        ExecOutput {
            exit_code: 0,
            stdout: if joined.contains("info --format") {
                r#"{"LocalNodeState":"inactive"}"#.to_string()
            } else if joined.contains("join-token") {
                TOKEN.to_string()
            } else {
                String::new()
            },
            stderr: String::new(),
        }
    });
    let p = plan(vec![(Phase::Swarm2Join, vec![join(2)])]);
    let report = run(&p, &host, &Finished::default()).await;
    let shown = format!("{:?}", report.outcomes);
    assert!(shown.contains("invalid join token"), "{shown}");
    assert!(!shown.contains(TOKEN), "the token leaked: {shown}");
}

#[tokio::test(start_paused = true)]
async fn a_join_that_times_out_is_pending_not_failed() {
    let host = host();
    add_node(&host, 1);
    add_node(&host, 2);
    host.set_exec(|_, cmd| {
        let joined = cmd.join(" ");
        if joined.contains("swarm join --token") {
            return ExecOutput {
                exit_code: 1,
                stdout: String::new(),
                stderr: "Timeout was reached before node joined. The attempt to join the swarm \
                         will continue in the background."
                    .to_string(),
            };
        }
        ExecOutput {
            exit_code: 0,
            stdout: if joined.contains("info --format") {
                r#"{"LocalNodeState":"inactive"}"#.to_string()
            } else {
                TOKEN.to_string()
            },
            stderr: String::new(),
        }
    });
    let p = plan(vec![(Phase::Swarm2Join, vec![join(2)])]);
    let report = run(&p, &host, &Finished::default()).await;
    assert!(matches!(
        outcome(&report, "join node t-h-2 to swarm2 as worker"),
        Outcome::Pending(_)
    ));
    assert_eq!(report.pending(), 1);
    assert!(!report.has_permanent_failure());
}

#[tokio::test(start_paused = true)]
async fn the_shrink_phase_runs_in_order_and_stops_at_a_failure() {
    let host = host();
    add_node(&host, 1);
    add_node(&host, 2);
    host.set_exec(|_, cmd| {
        let failed = cmd.join(" ").contains("node demote");
        ExecOutput {
            exit_code: i64::from(failed),
            stdout: String::new(),
            stderr: if failed {
                "demote refused".into()
            } else {
                String::new()
            },
        }
    });
    let p = plan(vec![(
        Phase::Swarm2Shrink,
        vec![
            Action::DemoteSwarm2 {
                manager: "t-h-1".to_string(),
                manager_host: "h".to_string(),
                node: "t-h-2".to_string(),
            },
            Action::LeaveSwarm2 {
                host: "h".to_string(),
                node: "t-h-2".to_string(),
            },
        ],
    )]);
    let report = run(&p, &host, &Finished::default()).await;
    assert!(matches!(
        outcome(&report, "demote node t-h-2 to swarm2 worker"),
        Outcome::Failed { .. }
    ));
    assert!(matches!(
        outcome(&report, "node t-h-2 leaves swarm2"),
        Outcome::Skipped(_)
    ));
}
