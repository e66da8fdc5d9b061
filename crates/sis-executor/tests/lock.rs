//! The lock across a cluster's hosts, against the in-memory fake: taken on every reachable
//! host in sorted name order, refused naming the holder, a dead holder of this machine taken
//! over, only this run's objects released. The real engine is covered by the engine tests
//! and tests/e2e.

use std::sync::Arc;

use sis_engine::fake::{Failure, FakeHost, Op};
use sis_engine::{HostEngine, LockOutcome};
use sis_executor::lock::{self, Found, LockError, Owner};
use sis_executor::Hosts;
use sis_spec::Spec;

/// Three hosts, listed out of name order.
fn spec() -> Spec {
    sis_spec::parse_str(
        "cluster.yaml",
        "version: 1\nname: demo\nhosts:\n  - {name: h3, endpoint: 'tcp://10.0.0.3:2375', nodes: 0}\n  \
         - {name: h1, endpoint: 'tcp://10.0.0.1:2375', nodes: 0}\n  \
         - {name: h2, endpoint: 'tcp://10.0.0.2:2375', nodes: 0}\n\
         network: {name: ring2net, subnet: 10.9.0.0/16}\nswarm2: {image: sis-node:test}\n",
    )
    .expect("valid spec")
}

fn hosts() -> Hosts<FakeHost> {
    ["h1", "h2", "h3"]
        .into_iter()
        .map(|h| {
            (
                h.to_string(),
                Arc::new(FakeHost::new(&format!("fake://{h}"))),
            )
        })
        .collect()
}

/// Another live process: this one, seen under another command name (so its labels differ
/// from the taker's only where it does not matter).
fn live_other() -> Owner {
    Owner::this_process("apply")
}

/// A process of this machine that has exited: this one with another start time (a reused PID).
fn dead() -> Owner {
    let here = Owner::this_process("apply");
    Owner {
        start: here.start + 1,
        ..here
    }
}

/// A process of another machine.
fn remote() -> Owner {
    Owner {
        hostname: "elsewhere".into(),
        pid: 1,
        ..Owner::this_process("apply")
    }
}

async fn plant(host: &FakeHost, owner: &Owner) -> String {
    let name = lock::lock_name("demo");
    match host
        .acquire_lock(&name, &owner.describe(), lock::lock_labels("demo", owner))
        .await
        .unwrap()
    {
        LockOutcome::Acquired { id } => id,
        LockOutcome::Held(h) => panic!("already held by {}", h.owner),
    }
}

fn locked(hosts: &Hosts<FakeHost>) -> Vec<&str> {
    ["h1", "h2", "h3"]
        .into_iter()
        .filter(|h| !hosts[*h].state().locks.is_empty())
        .collect()
}

#[tokio::test]
async fn the_lock_is_taken_on_every_host_in_name_order_and_released() {
    let (spec, hosts) = (spec(), hosts());
    let taken = lock::acquire(&spec, &hosts, &Owner::this_process("apply"))
        .await
        .unwrap();
    let order: Vec<&str> = taken.taken.iter().map(|(h, _)| h.as_str()).collect();
    assert_eq!(order, ["h1", "h2", "h3"]);
    assert!(taken.notes.is_empty(), "{:?}", taken.notes);
    assert_eq!(locked(&hosts), ["h1", "h2", "h3"]);
    assert!(lock::release(&hosts, &taken).await.is_empty());
    assert!(locked(&hosts).is_empty());
}

#[tokio::test]
async fn a_holder_on_any_host_refuses_and_what_was_taken_is_released() {
    let (spec, hosts) = (spec(), hosts());
    plant(&hosts["h2"], &remote()).await;
    let e = lock::acquire(&spec, &hosts, &Owner::this_process("destroy"))
        .await
        .unwrap_err();
    match &e {
        LockError::Held { host, owner, .. } => {
            assert_eq!(host, "h2");
            assert!(owner.contains("on elsewhere"), "{owner}");
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("sis unlock"), "{e}");
    // h1 was taken and given back; h3 was never tried.
    assert_eq!(locked(&hosts), ["h2"]);
    assert!(hosts["h3"].calls_of(Op::AcquireLock).is_empty());
}

#[tokio::test]
async fn a_live_holder_on_this_machine_is_not_taken_over() {
    let (spec, hosts) = (spec(), hosts());
    plant(&hosts["h1"], &live_other()).await;
    let e = lock::acquire(&spec, &hosts, &Owner::this_process("apply"))
        .await
        .unwrap_err();
    assert!(matches!(e, LockError::Held { .. }), "{e:?}");
}

#[tokio::test]
async fn a_dead_holder_on_this_machine_is_taken_over_with_a_note() {
    let (spec, hosts) = (spec(), hosts());
    let stale = plant(&hosts["h3"], &dead()).await;
    let taken = lock::acquire(&spec, &hosts, &Owner::this_process("apply"))
        .await
        .unwrap();
    assert_eq!(taken.taken.len(), 3);
    assert_eq!(taken.notes.len(), 1, "{:?}", taken.notes);
    assert!(
        taken.notes[0].contains("took over") && taken.notes[0].contains("host h3"),
        "{:?}",
        taken.notes
    );
    assert_eq!(hosts["h3"].calls_of(Op::ReleaseLock), [stale]);
    lock::release(&hosts, &taken).await;
    assert!(locked(&hosts).is_empty());
}

#[tokio::test]
async fn an_unreachable_host_is_skipped_with_a_note() {
    let (spec, hosts) = (spec(), hosts());
    hosts["h1"].fail_next(Op::AcquireLock, "*", 1, Failure::Unreachable);
    let taken = lock::acquire(&spec, &hosts, &Owner::this_process("destroy"))
        .await
        .unwrap();
    let order: Vec<&str> = taken.taken.iter().map(|(h, _)| h.as_str()).collect();
    assert_eq!(order, ["h2", "h3"]);
    assert!(
        taken
            .notes
            .iter()
            .any(|n| n.contains("host h1 is unreachable")),
        "{:?}",
        taken.notes
    );
}

#[tokio::test]
async fn another_engine_error_refuses_and_releases() {
    let (spec, hosts) = (spec(), hosts());
    hosts["h2"].fail_next(Op::AcquireLock, "*", 1, Failure::Permanent);
    let e = lock::acquire(&spec, &hosts, &Owner::this_process("apply"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, LockError::Engine { host, .. } if host == "h2"),
        "{e:?}"
    );
    assert!(locked(&hosts).is_empty());
}

#[tokio::test]
async fn release_removes_only_this_runs_objects() {
    let (spec, hosts) = (spec(), hosts());
    let taken = lock::acquire(&spec, &hosts, &Owner::this_process("apply"))
        .await
        .unwrap();
    // Someone removed our lock on h2 and another run took it since.
    let (_, ours) = &taken.taken[1];
    hosts["h2"].release_lock(ours).await.unwrap();
    plant(&hosts["h2"], &remote()).await;
    assert!(lock::release(&hosts, &taken).await.is_empty());
    assert_eq!(locked(&hosts), ["h2"]);
    let held = hosts["h2"].state().locks[&lock::lock_name("demo")].clone();
    assert!(held.owner.contains("elsewhere"), "{held:?}");
}

#[tokio::test]
async fn holders_tell_who_holds_where_and_whether_it_still_runs_here() {
    let (spec, hosts) = (spec(), hosts());
    plant(&hosts["h1"], &live_other()).await;
    plant(&hosts["h2"], &dead()).await;
    hosts["h3"].fail_next(Op::LockHolder, "*", 1, Failure::Unreachable);
    let here = Owner::this_process("unlock");
    let found = lock::holders(&spec, &hosts).await;
    let live: Vec<(&str, bool)> = found
        .iter()
        .map(|(h, f)| {
            let live =
                matches!(f, Found::Held(held) if lock::held_by_live_local_process(held, &here));
            (h.as_str(), live)
        })
        .collect();
    assert_eq!(live, [("h1", true), ("h2", false), ("h3", false)]);
    assert!(matches!(found[2].1, Found::Unreachable(_)));
}
