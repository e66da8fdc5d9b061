//! `--timeout` bounds a pass, not only the wait between passes: past it no new action starts,
//! the running ones finish, and the report names them. Against the in-memory fake, with
//! swarm1 joins made slow (FakeHost::delay) and tokio's clock paused (the sleeps pass at once).

use std::sync::Arc;
use std::time::Duration;

use sis_engine::fake::{FakeHost, Op};
use sis_executor::{converge, ConvergeOptions, Ending, Hosts, Outcome, Silent};
use sis_types::LocalNodeState;
use tokio::sync::watch;

const JOIN: Duration = Duration::from_secs(60);

#[tokio::test(start_paused = true)]
async fn the_timeout_stops_a_pass_midway_and_names_what_was_running() {
    let spec = sis_spec::parse_str(
        "cluster.yaml",
        "version: 1\nname: demo\nhosts:\n  - {name: h1, endpoint: 'tcp://10.0.0.1:2375', nodes: 0}\n  \
         - {name: h2, endpoint: 'tcp://10.0.0.2:2375', nodes: 0}\n  \
         - {name: h3, endpoint: 'tcp://10.0.0.3:2375', nodes: 0}\n\
         network: {name: ring2net, subnet: 10.9.0.0/16}\nswarm2: {image: sis-node:test}\n",
    )
    .expect("valid spec");
    let hosts: Hosts<FakeHost> = ["h1", "h2", "h3"]
        .into_iter()
        .map(|h| {
            let host = FakeHost::new(&format!("fake://{h}"));
            host.add_image("sis-node:test");
            host.delay(Op::Swarm1Join, JOIN);
            (h.to_string(), Arc::new(host))
        })
        .collect();
    let opts = ConvergeOptions {
        timeout: JOIN / 2,
        ..ConvergeOptions::default()
    };
    let (_tx, cancel) = watch::channel(false);
    let report = converge(&spec, &hosts, &opts, &Silent, &cancel)
        .await
        .unwrap();
    assert_eq!(report.ending, Ending::TimedOut, "{report:?}");
    assert_eq!(report.passes.len(), 1);
    // swarm1's joins run one after another: h2's was running at the deadline.
    assert_eq!(
        report.running_at_timeout,
        ["join host h2 to swarm1 as worker via host h1"],
        "{report:?}"
    );
    let outcomes: Vec<(String, Outcome)> = report.passes[0]
        .outcomes
        .iter()
        .map(|(a, o, _)| (short(&a.action), o.clone()))
        .collect();
    // The running join finished; the next join and the network never started.
    assert_eq!(
        outcomes,
        [
            ("h1 init".to_string(), Outcome::Done),
            ("h2 join".to_string(), Outcome::Done),
            (
                "h3 join".to_string(),
                Outcome::Skipped("interrupted".into())
            ),
            (
                "h1 network".to_string(),
                Outcome::Skipped("interrupted".into())
            ),
        ]
    );
    assert_eq!(hosts["h2"].state().swarm1.state, LocalNodeState::Active);
    assert_eq!(hosts["h3"].state().swarm1.state, LocalNodeState::Inactive);
    assert!(hosts["h1"].state().networks.is_empty());
}

/// `host kind` of a swarm1 or network action.
fn short(action: &sis_types::Action) -> String {
    use sis_types::Action;
    let kind = match action {
        Action::InitSwarm1 { .. } => "init",
        Action::JoinSwarm1 { .. } => "join",
        Action::CreateNetwork { .. } => "network",
        _ => "other",
    };
    format!("{} {kind}", action.host())
}
