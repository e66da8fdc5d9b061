//! `--timeout` bounds a pass, not only the wait between passes: past it no new action starts,
//! the running ones finish, and the report names them. Against the in-memory fake, with
//! swarm1 joins made slow and tokio's clock paused (the sleeps pass at once).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use sis_engine::fake::FakeHost;
use sis_engine::{ContainerSpec, EngineError, ExecOutput, HostEngine, LockHolder, LockOutcome};
use sis_executor::{converge, ConvergeOptions, Ending, Hosts, Outcome, Silent};
use sis_types::{HostFacts, Role};
use tokio::sync::watch;

/// A fake whose `swarm1_join` takes `JOIN` (on tokio's clock).
struct SlowJoins(FakeHost);

const JOIN: Duration = Duration::from_secs(60);

impl HostEngine for SlowJoins {
    fn endpoint(&self) -> &str {
        self.0.endpoint()
    }
    async fn observe(&self, cluster: &str, network: &str) -> Result<HostFacts, EngineError> {
        self.0.observe(cluster, network).await
    }
    async fn swarm1_init(
        &self,
        addr: Option<&str>,
        labels: BTreeMap<String, String>,
    ) -> Result<(), EngineError> {
        self.0.swarm1_init(addr, labels).await
    }
    async fn swarm1_leave(&self, force: bool) -> Result<(), EngineError> {
        self.0.swarm1_leave(force).await
    }
    async fn swarm1_join_token(&self, role: Role) -> Result<String, EngineError> {
        self.0.swarm1_join_token(role).await
    }
    async fn swarm1_join(
        &self,
        remote_addrs: Vec<String>,
        token: String,
        addr: Option<String>,
    ) -> Result<(), EngineError> {
        tokio::time::sleep(JOIN).await;
        self.0.swarm1_join(remote_addrs, token, addr).await
    }
    async fn pull_image(&self, image: &str) -> Result<(), EngineError> {
        self.0.pull_image(image).await
    }
    async fn image_id(&self, image: &str) -> Result<Option<String>, EngineError> {
        self.0.image_id(image).await
    }
    fn export_image(
        &self,
        image: &str,
    ) -> impl Stream<Item = Result<Bytes, EngineError>> + Send + Unpin + 'static {
        self.0.export_image(image)
    }
    async fn import_image<S>(&self, tar: S) -> Result<(), EngineError>
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    {
        self.0.import_image(tar).await
    }
    async fn load_image_in_container<S>(
        &self,
        name: &str,
        tar: S,
        timeout: Duration,
    ) -> Result<(), EngineError>
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    {
        self.0.load_image_in_container(name, tar, timeout).await
    }
    async fn create_network(
        &self,
        name: &str,
        subnet: &str,
        labels: BTreeMap<String, String>,
    ) -> Result<(), EngineError> {
        self.0.create_network(name, subnet, labels).await
    }
    async fn remove_network(&self, name: &str) -> Result<(), EngineError> {
        self.0.remove_network(name).await
    }
    async fn run_container(&self, spec: &ContainerSpec) -> Result<(), EngineError> {
        self.0.run_container(spec).await
    }
    async fn start_container(&self, name: &str) -> Result<(), EngineError> {
        self.0.start_container(name).await
    }
    async fn remove_container(&self, name: &str) -> Result<(), EngineError> {
        self.0.remove_container(name).await
    }
    async fn wait_node_ready(&self, name: &str, timeout: Duration) -> Result<(), EngineError> {
        self.0.wait_node_ready(name, timeout).await
    }
    async fn exec(
        &self,
        name: &str,
        cmd: Vec<String>,
        timeout: Duration,
    ) -> Result<ExecOutput, EngineError> {
        self.0.exec(name, cmd, timeout).await
    }
    async fn container_ip(&self, name: &str, network: &str) -> Result<Option<String>, EngineError> {
        self.0.container_ip(name, network).await
    }
    async fn acquire_lock(
        &self,
        name: &str,
        owner: &str,
        labels: BTreeMap<String, String>,
    ) -> Result<LockOutcome, EngineError> {
        self.0.acquire_lock(name, owner, labels).await
    }
    async fn lock_holder(&self, name: &str) -> Result<Option<LockHolder>, EngineError> {
        self.0.lock_holder(name).await
    }
    async fn release_lock(&self, id: &str) -> Result<(), EngineError> {
        self.0.release_lock(id).await
    }
}

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
    let hosts: Hosts<SlowJoins> = ["h1", "h2", "h3"]
        .into_iter()
        .map(|h| {
            let host = FakeHost::new(&format!("fake://{h}"));
            host.add_image("sis-node:test");
            (h.to_string(), Arc::new(SlowJoins(host)))
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
    assert_eq!(hosts["h2"].0.state().swarm1.state, "active");
    assert_eq!(hosts["h3"].0.state().swarm1.state, "inactive");
    assert!(hosts["h1"].0.state().networks.is_empty());
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
