//! Each recorded situation, planned: the text a user reads and the JSON a machine reads.
//! The snapshots are the specification of the planner's behaviour: read them when they change.

use sis_planner::{plan, plan_destroy, render_text, DestroyOptions};

use crate::cases;

/// Plans a fixture and snapshots its text and JSON (or the refusal).
fn check(case: &str) {
    let spec = cases::spec(case);
    let observed = cases::observed(case);
    match plan(&spec, &observed) {
        Ok(p) => {
            insta::assert_snapshot!(format!("{case}.text"), render_text(&p));
            insta::assert_snapshot!(
                format!("{case}.json"),
                serde_json::to_string_pretty(&p).unwrap()
            );
            assert_eq!(plan(&spec, &observed), Ok(p), "planning twice differs");
        }
        Err(e) => insta::assert_snapshot!(format!("{case}.error"), e.to_string()),
    }
}

macro_rules! fixtures {
    ($($test:ident => $case:literal,)*) => {
        $(#[test] fn $test() { check($case); })*
    };
}

fixtures! {
    empty_hosts_get_everything => "empty",
    converged_cluster_has_no_changes => "converged",
    growing_creates_and_joins_new_nodes => "grow",
    shrinking_leaves_swarm2_before_removing => "shrink",
    a_host_going_to_zero_hands_over_its_manager => "shrink-hosts",
    drifted_nodes_are_replaced_and_rejoined => "drift",
    all_nodes_drifted_makes_swarm2_anew => "drift-all",
    stopped_nodes_are_started_dead_ones_replaced => "exited",
    ghost_entries_are_removed => "ghosts",
    network_with_another_subnet_is_refused => "wrong-subnet",
    host_in_another_swarm_is_refused => "foreign-swarm",
    unreachable_host_is_refused => "unreachable",
    three_hosts_spread_managers_and_move_the_kvstore => "three-hosts",
    demotions_wait_for_a_quorum_of_reachable_managers => "quorum",
    an_ingress_network_the_spec_does_not_want_is_removed => "ingress",
    images_are_copied_from_the_first_host_that_has_them => "images",
    classic_mode_from_nothing => "classic-empty",
    converged_classic_mode_has_no_changes => "classic-converged",
}

#[test]
fn destroy_removes_what_carries_the_cluster_label() {
    let spec = cases::spec("three-hosts");
    let p = plan_destroy(
        &spec,
        &cases::observed("three-hosts"),
        DestroyOptions::default(),
    );
    insta::assert_snapshot!("destroy-three-hosts.text", render_text(&p));
}

#[test]
fn destroy_skips_unreachable_hosts_with_a_warning() {
    let spec = cases::spec("unreachable");
    let p = plan_destroy(
        &spec,
        &cases::observed("unreachable"),
        DestroyOptions::default(),
    );
    insta::assert_snapshot!("destroy-unreachable.text", render_text(&p));
}

#[test]
fn destroy_with_swarm1_leaves_the_swarm1_sis_made_workers_first_its_first_host_last() {
    let spec = cases::spec("swarm1-made-by-sis");
    let observed = cases::observed("swarm1-made-by-sis");
    let p = plan_destroy(&spec, &observed, DestroyOptions { swarm1: true });
    insta::assert_snapshot!("destroy-swarm1-made-by-sis.text", render_text(&p));
    insta::assert_snapshot!(
        "destroy-swarm1-made-by-sis.json",
        serde_json::to_string_pretty(&p).unwrap()
    );
    // Without --swarm1 the same state keeps swarm1.
    let without = plan_destroy(&spec, &observed, DestroyOptions::default());
    insta::assert_snapshot!(
        "destroy-swarm1-made-by-sis-kept.text",
        render_text(&without)
    );
}

#[test]
fn destroy_with_swarm1_keeps_a_swarm1_sis_did_not_make_and_says_so() {
    let spec = cases::spec("three-hosts");
    let p = plan_destroy(
        &spec,
        &cases::observed("three-hosts"),
        DestroyOptions { swarm1: true },
    );
    insta::assert_snapshot!("destroy-swarm1-not-made-by-sis.text", render_text(&p));
}
