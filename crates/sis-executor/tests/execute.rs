//! The executor's logic against the in-memory fake engine: ordering, dependencies, retries,
//! failures and secrets. Behaviour against real engines is covered by tests/e2e.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use sis_engine::fake::{Failure, FakeHost, Op, SharedSwarm2};
use sis_engine::HostEngine;
use sis_executor::{execute, Event, ExecOptions, Hosts, Outcome, PassReport, Progress};
use sis_types::{Action, NodeProfile, Phase, Plan, PlanPhase, PlannedAction, Role};
use tokio::sync::watch;

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
        address: address(index),
        args: Vec::new(),
        preload: Vec::new(),
        spec_hash: "0".to_string(),
        tls: None,
    }
}

fn join(index: u32) -> Action {
    Action::JoinSwarm2 {
        host: "h".to_string(),
        node: format!("t-h-{index}"),
        role: Role::Worker,
        manager: "t-h-1".to_string(),
        manager_host: "h".to_string(),
        address: address(index),
        manager_address: address(1),
    }
}

/// Node `index`'s fixed address on the test network.
fn address(index: u32) -> std::net::Ipv4Addr {
    std::net::Ipv4Addr::new(10, 9, 0, 15 + index as u8)
}

/// A host with the image and the network; its nodes form the fake's swarm2.
fn host() -> Arc<FakeHost> {
    let host = FakeHost::new("fake://h");
    host.add_image("sis-node:test");
    host.state().networks.insert(
        "net".to_string(),
        sis_engine::fake::FakeNetwork {
            subnet: "10.9.0.0/24".parse().unwrap(),
            ip_range: Some("10.9.0.128/25".parse().unwrap()),
            labels: BTreeMap::new(),
            allocated: 1,
        },
    );
    Arc::new(host)
}

/// Puts a running node container on the host, as an earlier apply left it.
fn add_node(host: &FakeHost, index: u32) {
    add_named_node(host, &format!("t-h-{index}"), index);
}

fn add_named_node(host: &FakeHost, name: &str, index: u32) {
    host.state().containers.insert(
        name.to_string(),
        sis_engine::fake::FakeContainer {
            image: "sis-node:test".to_string(),
            state: "running".to_string(),
            labels: BTreeMap::new(),
            network: Some("net".to_string()),
            ip: Some(address(index).to_string()),
        },
    );
}

/// Puts running nodes 1 (swarm2's manager) and 2 on the host, as an earlier apply left them.
async fn swarm2_of_one(host: &FakeHost) {
    add_node(host, 1);
    add_node(host, 2);
    host.swarm2_init("t-h-1", "10.9.0.16").await.unwrap();
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
        *outcome(&report, "create node t-h-1 on host h at 10.9.0.16"),
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
                ip_range: "10.8.0.128/25".parse().unwrap(),
                gateway: "10.8.0.1".parse().unwrap(),
            }],
        ),
        (Phase::Nodes, vec![create(1)]),
    ]);
    let report = run(&p, &host, &Finished::default()).await;
    assert!(matches!(
        outcome(
            &report,
            "create network other 10.8.0.0/24 (Docker hands out 10.8.0.128/25) via host h"
        ),
        Outcome::Failed {
            transient: false,
            ..
        }
    ));
    assert!(matches!(
        outcome(&report, "create node t-h-1 on host h at 10.9.0.16"),
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
                address: address(1),
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
        Outcome::Skipped(why) => assert_eq!(why, "needs: create node t-h-3 on host h at 10.9.0.18"),
        other => panic!("expected a skip, got {other:?}"),
    }
    // The init ran after its node, and node 2 joined after the init.
    let order = finished.0.lock().unwrap().clone();
    let at = |what: &str| order.iter().position(|d| d == what).unwrap();
    assert!(at("create node t-h-1 on host h at 10.9.0.16") < at("init swarm2 on node t-h-1"));
    assert!(at("init swarm2 on node t-h-1") < at("join node t-h-2 to swarm2 as worker"));
    let swarm2 = host.swarm2();
    assert_eq!(swarm2.role_of("t-h-1"), Some(Role::Manager));
    assert_eq!(swarm2.role_of("t-h-2"), Some(Role::Worker));
    assert_eq!(swarm2.role_of("t-h-3"), None);
}

#[tokio::test(start_paused = true)]
async fn join_tokens_never_reach_outcomes() {
    let host = host();
    swarm2_of_one(&host).await;
    let token = host.swarm2_join_token("t-h-1", Role::Worker).await.unwrap();
    host.swarm2().join_refusals.insert(
        "t-h-2".to_string(),
        "Error response from daemon: invalid join token {token}".to_string(),
    );
    let p = plan(vec![(Phase::Swarm2Join, vec![join(2)])]);
    let report = run(&p, &host, &Finished::default()).await;
    let shown = format!("{:?}", report.outcomes);
    assert!(shown.contains("invalid join token"), "{shown}");
    assert!(!shown.contains(&token), "the token leaked: {shown}");
    assert!(!format!("{:?}", host.calls()).contains(&token));
    assert_eq!(host.swarm2().role_of("t-h-2"), None);
}

#[tokio::test(start_paused = true)]
async fn a_join_that_times_out_is_pending_not_failed() {
    let host = host();
    swarm2_of_one(&host).await;
    host.swarm2().join_times_out.insert("t-h-2".to_string());
    let p = plan(vec![(Phase::Swarm2Join, vec![join(2)])]);
    let report = run(&p, &host, &Finished::default()).await;
    assert!(matches!(
        outcome(&report, "join node t-h-2 to swarm2 as worker"),
        Outcome::Pending(_)
    ));
    assert_eq!(report.pending(), 1);
    assert!(!report.has_permanent_failure());
    assert_eq!(host.calls_of(Op::Swarm2Join), ["t-h-2"], "joined once");
}

#[tokio::test(start_paused = true)]
async fn a_node_already_in_swarm2_counts_as_joined_one_in_another_swarm_fails() {
    let host = host();
    swarm2_of_one(&host).await;
    add_node(&host, 3);
    host.swarm2_join(
        "t-h-2",
        "SWMTKN-2-fake-swarm2-worker",
        "10.9.0.16",
        "10.9.0.17",
    )
    .await
    .unwrap();
    host.swarm2()
        .other_swarm
        .insert("t-h-3".to_string(), vec!["10.7.0.2:2377".to_string()]);
    let p = plan(vec![(Phase::Swarm2Join, vec![join(2), join(3)])]);
    let report = run(&p, &host, &Finished::default()).await;
    assert_eq!(
        *outcome(&report, "join node t-h-2 to swarm2 as worker"),
        Outcome::Done
    );
    match outcome(&report, "join node t-h-3 to swarm2 as worker") {
        Outcome::Failed {
            transient: false,
            error,
        } => assert!(
            error.contains("another swarm (managers: 10.7.0.2:2377)"),
            "{error}"
        ),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_worker_whose_entry_was_removed_leaves_and_joins_again() {
    // Seen under a 1 Mbit limit on the managers: the node's entry went, the node kept
    // believing it was a member, and every join was refused as "already part of a swarm".
    let host = host();
    swarm2_of_one(&host).await;
    host.swarm2_join(
        "t-h-2",
        "SWMTKN-2-fake-swarm2-worker",
        "10.9.0.16",
        "10.9.0.17",
    )
    .await
    .unwrap();
    let old_id = host.swarm2().members["t-h-2"].clone();
    host.swarm2().entries.remove(&old_id);
    let p = plan(vec![(Phase::Swarm2Join, vec![join(2)])]);
    let report = run(&p, &host, &Finished::default()).await;
    assert_eq!(
        *outcome(&report, "join node t-h-2 to swarm2 as worker"),
        Outcome::Done
    );
    assert_eq!(host.calls_of(Op::Swarm2Leave), ["t-h-2"]);
    let swarm2 = host.swarm2();
    let new_id = &swarm2.members["t-h-2"];
    assert_ne!(*new_id, old_id);
    assert!(swarm2.entries.contains_key(new_id), "listed again");
}

#[tokio::test(start_paused = true)]
async fn the_shrink_phase_runs_in_order_and_stops_at_a_failure() {
    let host = host();
    swarm2_of_one(&host).await;
    host.swarm2_join(
        "t-h-2",
        "SWMTKN-2-fake-swarm2-manager",
        "10.9.0.16",
        "10.9.0.17",
    )
    .await
    .unwrap();
    host.fail_next(Op::Swarm2SetRole, "t-h-2 worker", 1, Failure::Permanent);
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
    assert!(host.calls_of(Op::Swarm2Leave).is_empty());
    assert_eq!(host.swarm2().role_of("t-h-2"), Some(Role::Manager));
}

#[tokio::test(start_paused = true)]
async fn a_shrink_demotes_leaves_and_removes_the_entry() {
    let host = host();
    swarm2_of_one(&host).await;
    host.swarm2_join(
        "t-h-2",
        "SWMTKN-2-fake-swarm2-manager",
        "10.9.0.16",
        "10.9.0.17",
    )
    .await
    .unwrap();
    let id = host.swarm2().members["t-h-2"].clone();
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
            Action::RemoveSwarm2Entry {
                manager: "t-h-1".to_string(),
                manager_host: "h".to_string(),
                node_id: id.clone(),
                hostname: "t-h-2".to_string(),
            },
        ],
    )]);
    let report = run(&p, &host, &Finished::default()).await;
    assert!(report.failures().next().is_none(), "{:?}", report.outcomes);
    assert_eq!(host.calls_of(Op::Swarm2SetRole), ["t-h-2 worker"]);
    assert_eq!(host.calls_of(Op::Swarm2NodeRm), [id]);
    let list = host.swarm2_node_list("t-h-1").await.unwrap();
    let names: Vec<_> = list.iter().map(|n| n.hostname.as_str()).collect();
    assert_eq!(names, ["t-h-1"]);
}

#[tokio::test(start_paused = true)]
async fn a_node_joins_through_a_manager_on_another_host() {
    let swarm2 = SharedSwarm2::default();
    let h = Arc::new(FakeHost::new("fake://h").with_swarm2(swarm2.clone()));
    let g = Arc::new(FakeHost::new("fake://g").with_swarm2(swarm2.clone()));
    add_named_node(&h, "t-h-1", 1);
    add_named_node(&g, "t-g-1", 2);
    let p = plan(vec![
        (
            Phase::Swarm2Init,
            vec![Action::InitSwarm2 {
                host: "h".to_string(),
                node: "t-h-1".to_string(),
                address: address(1),
            }],
        ),
        (
            Phase::Swarm2Join,
            vec![Action::JoinSwarm2 {
                host: "g".to_string(),
                node: "t-g-1".to_string(),
                role: Role::Manager,
                manager: "t-h-1".to_string(),
                manager_host: "h".to_string(),
                address: address(2),
                manager_address: address(1),
            }],
        ),
    ]);
    let hosts: Hosts<FakeHost> =
        BTreeMap::from([("h".to_string(), h.clone()), ("g".to_string(), g.clone())]);
    let (_tx, cancel) = watch::channel(false);
    let opts = ExecOptions::default();
    let report = execute(&p, "t", "net", &hosts, &opts, &Finished::default(), &cancel).await;
    assert!(report.failures().next().is_none(), "{:?}", report.outcomes);
    assert_eq!(h.calls_of(Op::Swarm2JoinToken), ["t-h-1 manager"]);
    assert_eq!(g.calls_of(Op::Swarm2Join), ["t-g-1"]);
    let list = h.swarm2_node_list("t-h-1").await.unwrap();
    let shown: Vec<_> = list
        .iter()
        .map(|n| (n.hostname.as_str(), n.manager_status.as_str()))
        .collect();
    assert_eq!(shown, [("t-g-1", "reachable"), ("t-h-1", "leader")]);
}

#[tokio::test]
async fn a_node_with_tls_gets_a_certificate_of_the_kept_ca_before_it_starts() {
    let host = host();
    let mut node = create(1);
    if let Action::CreateNode { tls, .. } = &mut node {
        *tls = Some(sis_types::ClassicTls {
            ca_host: "h".to_string(),
            ca: "t.sis-ca".to_string(),
            names: vec!["10.9.0.16".to_string(), "t-h-1".to_string()],
        });
    }
    let p = plan(vec![
        (
            Phase::KvStore,
            vec![Action::CreateClassicCa {
                host: "h".to_string(),
                name: "t.sis-ca".to_string(),
            }],
        ),
        (Phase::Nodes, vec![node]),
    ]);
    let report = run(&p, &host, &Finished::default()).await;
    assert!(report.failures().next().is_none(), "{report:?}");
    let state = host.state();
    let ca = &state.containers["t.sis-ca"];
    assert_eq!(ca.state, "created", "the CA's container never runs");
    let fingerprint = ca.labels[sis_types::labels::CA].clone();
    assert_eq!(
        state.containers["t-h-1"].labels[sis_types::labels::CA],
        fingerprint
    );
    let files = &state.files["t-h-1"];
    let paths: Vec<(&str, u32)> = files.iter().map(|f| (f.path.as_str(), f.mode)).collect();
    assert_eq!(
        paths,
        [
            ("/etc/sis/tls/ca.pem", 0o644),
            ("/etc/sis/tls/cert.pem", 0o644),
            ("/etc/sis/tls/key.pem", 0o600)
        ]
    );
    let ca_pem = &state.files["t.sis-ca"]
        .iter()
        .find(|f| f.path == "/tls/ca.pem")
        .unwrap()
        .contents;
    assert_eq!(&files[0].contents, ca_pem, "the node trusts the kept CA");
    assert!(!format!("{report:?}").contains("PRIVATE KEY"));
}

/// Pacing with short thresholds, so the tests take seconds.
fn paced(max: usize) -> ExecOptions {
    ExecOptions {
        pacing: Some(sis_executor::pacing::PaceConfig {
            max,
            stop_after: std::time::Duration::from_secs(1),
            ..Default::default()
        }),
        ..ExecOptions::default()
    }
}

/// A 2-core machine with `runnable` tasks runnable at every sample.
fn load(machine: &str, runnable: u32) -> sis_types::LoadSample {
    sis_types::LoadSample {
        machine: machine.to_string(),
        cpus: 2,
        cpu_pressure: Some(95.0),
        load1: f64::from(runnable),
        runnable,
        api_millis: 2,
        cpu_time: None,
    }
}

#[tokio::test]
async fn a_machine_without_headroom_stops_creation_with_the_measurement_and_nothing_half_made() {
    let host = host();
    host.state().load = Some(load("m", 80));
    let p = plan(vec![(Phase::Nodes, vec![create(1), create(2)])]);
    let hosts: Hosts<FakeHost> = BTreeMap::from([("h".to_string(), host.clone())]);
    let (_tx, cancel) = watch::channel(false);
    let report = execute(
        &p,
        "t",
        "net",
        &hosts,
        &paced(8),
        &Finished::default(),
        &cancel,
    )
    .await;
    let why = report
        .no_headroom
        .clone()
        .expect("stopped for lack of headroom");
    assert!(why.contains("no CPU headroom left on host h"), "{why}");
    assert!(
        why.contains("a load of 40.0 runnable tasks per core (80 runnable now"),
        "{why}"
    );
    assert!(why.contains("0 node(s) were made"), "{why}");
    for (_, o, _) in &report.outcomes {
        assert!(
            matches!(o, Outcome::Skipped(w) if w.contains("no CPU headroom")),
            "{o:?}"
        );
    }
    assert!(host.calls_of(Op::RunContainer).is_empty());
}

/// Pacing with check points of the rest load that settle at once and measure for 1 s.
fn paced_at_rest(running: u32) -> ExecOptions {
    let mut opts = paced(8);
    let config = opts.pacing.as_mut().expect("paced");
    config.settle = std::time::Duration::ZERO;
    config.rest_window = std::time::Duration::from_secs(1);
    opts.running_nodes = BTreeMap::from([("h".to_string(), running)]);
    opts
}

/// Two nodes created on a fake machine whose cores are `busy` at rest with 150 nodes on it.
async fn grow_two_at_rest(busy: f64) -> (std::sync::Arc<FakeHost>, sis_executor::PassReport) {
    let host = host();
    host.state().cpu_busy = Some(busy);
    let p = plan(vec![(Phase::Nodes, vec![create(1), create(2)])]);
    let hosts: Hosts<FakeHost> = BTreeMap::from([("h".to_string(), host.clone())]);
    let (_tx, cancel) = watch::channel(false);
    let report = execute(
        &p,
        "t",
        "net",
        &hosts,
        &paced_at_rest(150),
        &Finished::default(),
        &cancel,
    )
    .await;
    (host, report)
}

#[tokio::test]
async fn a_machine_its_nodes_keep_busy_at_rest_gets_no_more_nodes() {
    let (host, report) = grow_two_at_rest(0.6).await;
    let why = report.no_headroom.clone().expect("stopped at rest");
    assert!(
        why.contains("no idle headroom left on host h: at rest its 150 node(s) keep 60 % of the machine's 2 cores busy"),
        "{why}"
    );
    assert!(why.contains("0 node(s) were made"), "{why}");
    assert!(host.calls_of(Op::RunContainer).is_empty());
}

#[tokio::test]
async fn a_machine_with_room_at_rest_gets_its_nodes_after_the_measurement() {
    let (host, report) = grow_two_at_rest(0.2).await;
    assert_eq!(report.no_headroom, None);
    assert_eq!(host.calls_of(Op::RunContainer).len(), 2);
    assert!(
        report
            .pacing
            .iter()
            .any(|l| l.contains("at rest 150 nodes kept 20 % of the cores busy")),
        "{:?}",
        report.pacing
    );
}

#[tokio::test]
async fn hosts_on_one_machine_share_its_creation_bound() {
    let a = host();
    let b = host();
    for h in [&a, &b] {
        h.state().load = Some(load("one-machine", 2));
        h.delay(Op::RunContainer, std::time::Duration::from_millis(150));
    }
    let on = |host: &str, index: u32| match create(index) {
        Action::CreateNode {
            name,
            image,
            profile,
            network,
            address,
            args,
            preload,
            spec_hash,
            tls,
            ..
        } => Action::CreateNode {
            host: host.to_string(),
            name: format!("{name}-{host}"),
            index,
            image,
            profile,
            network,
            address,
            args,
            preload,
            spec_hash,
            tls,
        },
        _ => unreachable!(),
    };
    let p = plan(vec![(
        Phase::Nodes,
        vec![on("a", 1), on("a", 2), on("b", 3), on("b", 4)],
    )]);
    let hosts: Hosts<FakeHost> =
        BTreeMap::from([("a".to_string(), a.clone()), ("b".to_string(), b.clone())]);
    let (_tx, cancel) = watch::channel(false);
    let running = Concurrency::default();
    // One at a time on the machine: on two machines, each host would run its own.
    let report = execute(&p, "t", "net", &hosts, &paced(1), &running, &cancel).await;
    assert!(report.no_headroom.is_none());
    assert!(report.outcomes.iter().all(|(_, o, _)| *o == Outcome::Done));
    assert_eq!(*running.max.lock().unwrap(), 1);
    assert_eq!(report.pacing.len(), 1, "{:?}", report.pacing);
    assert!(
        report.pacing[0].starts_with("a, b: 4 made"),
        "{:?}",
        report.pacing
    );
}

/// The most actions running at once.
#[derive(Default)]
struct Concurrency {
    now: Mutex<usize>,
    max: Mutex<usize>,
}

impl Progress for Concurrency {
    fn event(&self, event: &Event<'_>) {
        let mut now = self.now.lock().unwrap();
        match event {
            Event::ActionStarted { .. } => *now += 1,
            Event::ActionFinished { .. } => *now -= 1,
            _ => {}
        }
        let mut max = self.max.lock().unwrap();
        *max = (*max).max(*now);
    }
}
