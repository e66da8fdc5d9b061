//! swarm2 is never initialised twice: members that do not answer are waited for, a lost
//! quorum is repaired (on request) from the freshest manager, mass replacement is flagged.

use sis_planner::{plan, render_text};
use sis_types::{Action, HostObservation, Observed, Phase, Plan, Swarm2LocalObservation};

use crate::cases;

fn actions_of(p: &Plan, phase: Phase) -> Vec<&Action> {
    p.phases
        .iter()
        .filter(|ph| ph.phase == phase)
        .flat_map(|ph| ph.actions.iter().map(|a| &a.action))
        .collect()
}

fn no_swarm2_change(p: &Plan) {
    let text = render_text(p);
    for phase in [
        Phase::Swarm2Init,
        Phase::Swarm2Join,
        Phase::Swarm2Shrink,
        Phase::NodesRemove,
        Phase::Nodes,
    ] {
        assert!(actions_of(p, phase).is_empty(), "{phase:?}: {text}");
    }
}

fn local(state: &str, manager: bool) -> Swarm2LocalObservation {
    Swarm2LocalObservation {
        state: state.into(),
        manager,
        cluster_id: manager.then(|| "c1".to_string()),
        ..Default::default()
    }
}

/// A manager that answers without a leader, of a manager set of 5 (so two answering are
/// fewer than a majority: the other three are gone).
fn leaderless(raft_time: i64) -> Swarm2LocalObservation {
    leaderless_of(raft_time, 5)
}

fn leaderless_of(raft_time: i64, managers: usize) -> Swarm2LocalObservation {
    Swarm2LocalObservation {
        state: "active".into(),
        manager: true,
        cluster_id: None,
        error: "rpc error: code = DeadlineExceeded desc = context deadline exceeded".into(),
        remote_managers: (0..managers)
            .map(|i| format!("10.9.0.{}:2377", 16 + i))
            .collect(),
        raft_time: Some(raft_time),
    }
}

/// The converged fixture (3 nodes on `local`) with no manager answering and these states.
fn unanswered(states: &[(u32, Swarm2LocalObservation)]) -> Observed {
    let mut o = cases::observed("converged");
    o.swarm2 = None;
    for (i, l) in states {
        o.swarm2_locals.insert(format!("demo.local-{i}"), l.clone());
    }
    o
}

#[test]
fn every_entry_unknown_plans_no_init_and_no_replacement() {
    let spec = cases::spec("converged");
    let mut o = cases::observed("converged");
    for e in &mut o.swarm2.as_mut().unwrap().nodes {
        e.status = "unknown".into();
    }
    let p = plan(&spec, &o).unwrap();
    no_swarm2_change(&p);
    assert!(!p.replaces_most);
    assert!(
        p.warnings.iter().any(|w| w.contains("waited for")),
        "{}",
        render_text(&p)
    );
}

#[test]
fn nodes_holding_swarm_state_with_no_manager_answering_plan_no_init() {
    let spec = cases::spec("converged");
    for state in ["active", "pending", "error", "locked"] {
        let o = unanswered(&[
            (1, local(state, true)),
            (2, local("active", false)),
            (3, local("inactive", false)),
        ]);
        let p = plan(&spec, &o).unwrap();
        no_swarm2_change(&p);
        assert!(actions_of(&p, Phase::Swarm2Repair).is_empty());
        assert!(
            p.warnings
                .iter()
                .any(|w| w.contains("nothing is initialised")),
            "{state}: {}",
            render_text(&p)
        );
    }
}

#[test]
fn nodes_in_no_swarm_and_no_manager_answering_get_swarm2_made() {
    let spec = cases::spec("converged");
    let o = unanswered(&[
        (1, local("inactive", false)),
        (2, local("inactive", false)),
        (3, local("inactive", false)),
    ]);
    let p = plan(&spec, &o).unwrap();
    assert_eq!(
        actions_of(&p, Phase::Swarm2Init)[0].describe(),
        "init swarm2 on node demo.local-1"
    );
}

#[test]
fn a_node_whose_own_state_was_not_read_in_time_stops_a_new_swarm2() {
    let spec = cases::spec("converged");
    // Two nodes tell they are in no swarm; the third (a manager slot) did not answer in time.
    let mut o = unanswered(&[(2, local("inactive", false)), (3, local("inactive", false))]);
    o.swarm2_unread.insert("demo.local-1".into());
    let p = plan(&spec, &o).unwrap();
    no_swarm2_change(&p);
    let text = render_text(&p);
    assert!(!text.contains("init swarm2"), "{text}");
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("did not tell their own swarm state in time (demo.local-1)")),
        "{text}"
    );
    // Once it answers, in no swarm either, swarm2 is made.
    o.swarm2_unread.clear();
    o.swarm2_locals
        .insert("demo.local-1".into(), local("inactive", false));
    let p = plan(&spec, &o).unwrap();
    assert_eq!(
        actions_of(&p, Phase::Swarm2Init)[0].describe(),
        "init swarm2 on node demo.local-1"
    );
}

#[test]
fn a_lost_quorum_is_repaired_on_the_manager_with_the_newest_raft_log() {
    let mut spec = cases::spec("converged");
    spec.swarm2.managers = 3;
    let o = unanswered(&[
        (1, leaderless(100)),
        (2, leaderless(200)),
        (3, local("active", false)),
    ]);
    let p = plan(&spec, &o).unwrap();
    let text = render_text(&p);
    assert_eq!(
        actions_of(&p, Phase::Swarm2Repair),
        [&Action::RepairSwarm2 {
            host: "local".into(),
            node: "demo.local-2".into(),
            // Its fixed address: the second node of the first host.
            address: "10.9.0.17".parse().unwrap(),
        }],
        "{text}"
    );
    assert!(p.needs_repair());
    assert!(
        text.contains("! repair swarm2 on node demo.local-2"),
        "{text}"
    );
    assert!(text.contains("sis apply --repair"), "{text}");
    assert!(actions_of(&p, Phase::Swarm2Init).is_empty(), "{text}");
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["phases"][0]["phase"], "swarm2_repair");
}

#[test]
fn equally_fresh_managers_are_told_apart_by_manager_slot_order() {
    let mut spec = cases::spec("converged");
    spec.swarm2.managers = 3;
    let o = unanswered(&[
        (1, local("active", false)),
        (2, leaderless(300)),
        (3, leaderless(300)),
    ]);
    let p = plan(&spec, &o).unwrap();
    assert_eq!(
        actions_of(&p, Phase::Swarm2Repair)[0].describe(),
        "repair swarm2 on node demo.local-2 (swarm init --force-new-cluster)"
    );
}

#[test]
fn a_new_container_under_an_old_name_joins_and_its_old_entry_goes() {
    let spec = cases::spec("converged");
    let mut o = cases::observed("converged");
    let entry = o.swarm2.as_mut().unwrap().nodes.iter_mut();
    for e in entry.filter(|e| e.hostname == "demo.local-3") {
        e.status = "unknown".into();
    }
    o.swarm2_locals
        .insert("demo.local-3".into(), local("inactive", false));
    let p = plan(&spec, &o).unwrap();
    let text = render_text(&p);
    assert_eq!(
        actions_of(&p, Phase::Swarm2Join)[0].describe(),
        "join node demo.local-3 to swarm2 as worker",
        "{text}"
    );
    assert!(text.contains("remove swarm2 entry 608e70665c14"), "{text}");
    // Without its own state, an unknown entry is a member waiting.
    o.swarm2_locals.clear();
    assert!(plan(&spec, &o).unwrap().is_empty());
}

#[test]
fn replacing_every_manager_is_warned_and_flagged() {
    let p = plan(&cases::spec("drift-all"), &cases::observed("drift-all")).unwrap();
    assert!(p.replaces_most);
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("every swarm2 manager") && w.contains("--allow-replace-all")),
        "{}",
        render_text(&p)
    );
    let one = plan(&cases::spec("drift"), &cases::observed("drift")).unwrap();
    assert!(!one.replaces_most, "{}", render_text(&one));
}

#[test]
fn a_majority_answering_without_a_leader_is_an_election_not_a_lost_quorum() {
    let mut spec = cases::spec("converged");
    spec.swarm2.managers = 3;
    let o = unanswered(&[
        (1, leaderless_of(100, 3)),
        (2, leaderless_of(200, 3)),
        (3, local("active", false)),
    ]);
    let p = plan(&spec, &o).unwrap();
    let text = render_text(&p);
    assert!(actions_of(&p, Phase::Swarm2Repair).is_empty(), "{text}");
    assert!(!p.needs_repair(), "{text}");
    assert!(text.contains("an election is going on"), "{text}");
    no_swarm2_change(&p);
}

#[test]
fn stopped_nodes_are_started_before_any_repair_is_planned() {
    // Two of three managers stopped (not removed): starting them brings the quorum back, and
    // a repair now would fork swarm2 from managers that are only down for a while.
    let mut spec = cases::spec("converged");
    spec.swarm2.managers = 3;
    let mut o = unanswered(&[(1, leaderless_of(100, 3))]);
    if let Some(HostObservation::Reachable(f)) = o.hosts.get_mut("local") {
        for c in &mut f.containers {
            if c.name == "demo.local-2" || c.name == "demo.local-3" {
                c.state = "exited".into();
            }
        }
    }
    let p = plan(&spec, &o).unwrap();
    let text = render_text(&p);
    assert!(actions_of(&p, Phase::Swarm2Repair).is_empty(), "{text}");
    assert_eq!(actions_of(&p, Phase::Nodes).len(), 2, "{text}");
    assert!(text.contains("stopped nodes are started first"), "{text}");
}

#[test]
fn a_paused_node_is_left_for_its_unpausing_not_replaced() {
    // `sis chaos pause --target workers`: the worker's entry goes down while it is paused.
    let spec = cases::spec("converged");
    let mut o = cases::observed("converged");
    if let Some(HostObservation::Reachable(f)) = o.hosts.get_mut("local") {
        for c in &mut f.containers {
            if c.name == "demo.local-3" {
                c.state = "paused".into();
            }
        }
    }
    for e in &mut o.swarm2.as_mut().unwrap().nodes {
        if e.hostname == "demo.local-3" {
            e.status = "down".into();
        }
    }
    let p = plan(&spec, &o).unwrap();
    no_swarm2_change(&p);
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("demo.local-3 on host local is paused")),
        "{}",
        render_text(&p)
    );
}
