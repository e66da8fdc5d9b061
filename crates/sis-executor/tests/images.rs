//! Images between engines, against the in-memory fake: copies from host to host and images
//! preloaded into new nodes. The real streams are covered by tests/e2e (lab hosts).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use sis_engine::fake::{Failure, FakeHost, FakeNetwork, Op};
use sis_executor::{execute, Event, ExecOptions, Hosts, Outcome, PassReport, Progress};
use sis_types::{Action, NodeProfile, Phase, Plan, PlanPhase, PlannedAction};
use tokio::sync::watch;

use sis_test_support::{NODE_IMAGE, WORKLOAD_IMAGE as WORKLOAD};

/// A host with the node image and the network.
fn host(name: &str) -> Arc<FakeHost> {
    let host = FakeHost::new(&format!("fake://{name}"));
    host.add_image(NODE_IMAGE);
    host.state().networks.insert(
        "net".to_string(),
        FakeNetwork {
            subnet: "10.9.0.0/24".parse().unwrap(),
            ip_range: Some("10.9.0.128/25".parse().unwrap()),
            labels: BTreeMap::new(),
            allocated: 1,
        },
    );
    Arc::new(host)
}

fn plan(phase: Phase, actions: Vec<Action>) -> Plan {
    Plan {
        cluster: "t".to_string(),
        phases: vec![PlanPhase {
            phase,
            actions: actions
                .into_iter()
                .map(|action| PlannedAction {
                    action,
                    reason: "test".to_string(),
                })
                .collect(),
        }],
        ..Plan::default()
    }
}

fn copy(from: &str, to: &str, image: &str) -> Action {
    Action::CopyImage {
        from_host: from.to_string(),
        host: to.to_string(),
        image: image.into(),
    }
}

fn create(host: &str, index: u32, preload: &[&str]) -> Action {
    Action::CreateNode {
        host: host.to_string(),
        name: sis_types::labels::node_name("t", host, index),
        index,
        image: NODE_IMAGE.into(),
        profile: NodeProfile::Privileged,
        network: "net".to_string(),
        address: std::net::Ipv4Addr::new(10, 9, 0, 15 + index as u8),
        args: Vec::new(),
        preload: preload.iter().map(|i| (*i).into()).collect(),
        spec_hash: "0".to_string(),
        tls: None,
    }
}

/// A transfer reported: image, from, to, bytes, done.
type Transfer = (String, String, String, u64, bool);

/// Records the transfers reported.
#[derive(Default)]
struct Transfers(Mutex<Vec<Transfer>>);

impl Progress for Transfers {
    fn event(&self, event: &Event<'_>) {
        if let Event::Transfer {
            image,
            from,
            to,
            bytes,
            done,
            ..
        } = event
        {
            let t = (
                image.to_string(),
                from.to_string(),
                to.to_string(),
                *bytes,
                *done,
            );
            self.0.lock().unwrap().push(t);
        }
    }
}

async fn run(plan: &Plan, hosts: &[(&str, &Arc<FakeHost>)], progress: &dyn Progress) -> PassReport {
    let hosts: Hosts<FakeHost> = hosts
        .iter()
        .map(|(name, h)| (name.to_string(), Arc::clone(h)))
        .collect();
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

fn only_outcome(report: &PassReport) -> &Outcome {
    assert_eq!(report.outcomes.len(), 1, "{:?}", report.outcomes);
    &report.outcomes[0].1
}

#[tokio::test(start_paused = true)]
async fn an_image_is_copied_from_host_to_host_and_the_copy_is_reported() {
    let (a, b, c) = (host("a"), host("b"), host("c"));
    a.add_image(WORKLOAD);
    let p = plan(
        Phase::Images,
        vec![copy("a", "b", WORKLOAD), copy("a", "c", WORKLOAD)],
    );
    let transfers = Transfers::default();
    let report = run(&p, &[("a", &a), ("b", &b), ("c", &c)], &transfers).await;
    assert!(
        report.outcomes.iter().all(|(_, o, _)| *o == Outcome::Done),
        "{:?}",
        report.outcomes
    );
    for target in [&b, &c] {
        assert!(target.state().images.contains(WORKLOAD));
        assert_eq!(target.calls_of(Op::ImportImage), [WORKLOAD]);
    }
    assert_eq!(a.calls_of(Op::ExportImage), [WORKLOAD, WORKLOAD]);
    let mut done: Vec<_> = transfers
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|t| t.4)
        .map(|(image, from, to, bytes, _)| (image.clone(), from.clone(), to.clone(), *bytes > 0))
        .collect();
    done.sort();
    let expected = |to: &str| (WORKLOAD.to_string(), "a".to_string(), to.to_string(), true);
    assert_eq!(done, [expected("b"), expected("c")]);
}

#[tokio::test(start_paused = true)]
async fn a_copy_the_target_already_has_streams_nothing() {
    let (a, b) = (host("a"), host("b"));
    let p = plan(Phase::Images, vec![copy("a", "b", NODE_IMAGE)]);
    let report = run(&p, &[("a", &a), ("b", &b)], &Transfers::default()).await;
    assert_eq!(*only_outcome(&report), Outcome::Done);
    assert!(a.calls_of(Op::ExportImage).is_empty());
    assert!(b.calls_of(Op::ImportImage).is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_source_without_the_image_fails_the_copy_naming_both_hosts() {
    let (a, b) = (host("a"), host("b"));
    let p = plan(Phase::Images, vec![copy("a", "b", WORKLOAD)]);
    let report = run(&p, &[("a", &a), ("b", &b)], &Transfers::default()).await;
    let Outcome::Failed { error, transient } = only_outcome(&report) else {
        panic!("{:?}", report.outcomes)
    };
    assert!(!transient);
    assert!(
        error.contains("host a does not have image sis-workload:test"),
        "{error}"
    );
    assert!(error.contains("host b"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn a_failed_export_is_the_error_reported_and_a_retry_copies() {
    let (a, b) = (host("a"), host("b"));
    a.add_image(WORKLOAD);
    a.fail_next(Op::ExportImage, WORKLOAD, 1, Failure::Transient);
    let p = plan(Phase::Images, vec![copy("a", "b", WORKLOAD)]);
    let report = run(&p, &[("a", &a), ("b", &b)], &Transfers::default()).await;
    assert_eq!(*only_outcome(&report), Outcome::Done);
    assert_eq!(a.calls_of(Op::ExportImage).len(), 2);
    assert!(b.state().images.contains(WORKLOAD));

    // Failing every time: the export's error is what the user reads.
    let c = host("c");
    a.fail_next(Op::ExportImage, WORKLOAD, 10, Failure::Permanent);
    let p = plan(Phase::Images, vec![copy("a", "c", WORKLOAD)]);
    let report = run(&p, &[("a", &a), ("c", &c)], &Transfers::default()).await;
    let Outcome::Failed { error, .. } = only_outcome(&report) else {
        panic!("{:?}", report.outcomes)
    };
    assert!(
        error.contains("export_image sis-workload:test on fake://a"),
        "{error}"
    );
    assert!(!c.state().images.contains(WORKLOAD));
}

#[tokio::test(start_paused = true)]
async fn a_new_node_gets_the_preloaded_images_from_its_host() {
    let a = host("a");
    a.add_image(WORKLOAD);
    a.add_image("busybox:1.36");
    let p = plan(
        Phase::Nodes,
        vec![
            create("a", 1, &[WORKLOAD, "busybox:1.36"]),
            create("a", 2, &[]),
        ],
    );
    let report = run(&p, &[("a", &a)], &Transfers::default()).await;
    assert!(
        report.outcomes.iter().all(|(_, o, _)| *o == Outcome::Done),
        "{:?}",
        report.outcomes
    );
    let loaded = a.state().loaded.clone();
    let images: Vec<&str> = loaded["t.a-1"].iter().map(String::as_str).collect();
    assert_eq!(images, ["busybox:1.36", WORKLOAD]);
    assert!(!loaded.contains_key("t.a-2"));
}

#[tokio::test(start_paused = true)]
async fn a_node_that_could_not_load_its_images_is_removed() {
    let a = host("a");
    a.add_image(WORKLOAD);
    // Once: the retry makes the node anew and loads the image.
    a.fail_next(Op::LoadImageInContainer, "t.a-1", 1, Failure::Transient);
    let p = plan(Phase::Nodes, vec![create("a", 1, &[WORKLOAD])]);
    let report = run(&p, &[("a", &a)], &Transfers::default()).await;
    assert_eq!(*only_outcome(&report), Outcome::Done);
    assert_eq!(a.calls_of(Op::RunContainer).len(), 2);
    assert!(a.state().loaded["t.a-1"].contains(WORKLOAD));

    // For good: no node is left that carries the spec's label without the images.
    a.fail_next(Op::LoadImageInContainer, "t.a-2", 10, Failure::Permanent);
    let p = plan(Phase::Nodes, vec![create("a", 2, &[WORKLOAD])]);
    let report = run(&p, &[("a", &a)], &Transfers::default()).await;
    assert!(only_outcome(&report).is_failure(), "{:?}", report.outcomes);
    assert!(!a.state().containers.contains_key("t.a-2"));
}
