//! A name is not ownership: the engine claims an existing container only by its labels.

use std::collections::BTreeMap;
use std::process::Command;

use sis_engine::{ContainerSpec, EngineError, HostEngine};
use sis_types::labels;

use crate::support::{engine, Scratch};

const WORKLOAD_IMAGE: &str = "sis-workload:test";

fn spec(name: &str, cluster: &str) -> ContainerSpec {
    ContainerSpec {
        name: name.to_string(),
        hostname: name.to_string(),
        image: WORKLOAD_IMAGE.to_string(),
        cmd: vec![],
        labels: BTreeMap::from([
            (labels::CLUSTER.to_string(), cluster.to_string()),
            (labels::ROLE.to_string(), labels::ROLE_NODE.to_string()),
            (labels::HOST.to_string(), "local".to_string()),
            (labels::INDEX.to_string(), "1".to_string()),
        ]),
        network: None,
        profile: None,
        publish: vec![],
        ipv4_address: None,
    }
}

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn status(name: &str) -> String {
    docker(&["inspect", "-f", "{{.State.Status}}", name])
}

/// Removes the unlabelled container, which the scratch cleanup (by label) does not find.
struct Unlabelled(String);

impl Drop for Unlabelled {
    fn drop(&mut self) {
        docker(&["rm", "-f", &self.0]);
    }
}

#[tokio::test]
async fn a_name_taken_by_a_user_or_another_cluster_is_neither_started_nor_removed() {
    let host = engine().await;
    let ours = Scratch::new("own-a", 4);
    let theirs = Scratch::new("own-b", 4);

    // A user's container, never started.
    let user = Unlabelled(format!("{}.local-1", ours.cluster));
    docker(&["create", "--name", &user.0, WORKLOAD_IMAGE]);
    let e = host
        .run_container(&spec(&user.0, &ours.cluster))
        .await
        .unwrap_err();
    assert!(matches!(e, EngineError::NotOurs { .. }), "{e}");
    assert!(e.to_string().contains("not made by sis"), "{e}");
    assert!(!e.is_transient());
    assert_eq!(
        status(&user.0),
        "created",
        "the user's container was started"
    );
    let e = host
        .remove_container_of(&ours.cluster, &user.0)
        .await
        .unwrap_err();
    assert!(matches!(e, EngineError::NotOurs { .. }), "{e}");
    assert_eq!(
        status(&user.0),
        "created",
        "the user's container was removed"
    );

    // Another cluster's container of the name this cluster wants.
    let name = format!("{}.x-1", theirs.cluster);
    host.run_container(&spec(&name, &theirs.cluster))
        .await
        .unwrap();
    let e = host
        .run_container(&spec(&name, &ours.cluster))
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains(&format!(
            "node 1 of host local of cluster {}",
            theirs.cluster
        )),
        "{e}"
    );
    assert!(host
        .remove_container_of(&ours.cluster, &name)
        .await
        .is_err());
    assert_eq!(status(&name), "running");

    // Its own cluster claims it: stopped, it is started again; then removed.
    docker(&["stop", "-t", "0", &name]);
    host.run_container(&spec(&name, &theirs.cluster))
        .await
        .unwrap();
    assert_eq!(status(&name), "running");
    host.remove_container_of(&theirs.cluster, &name)
        .await
        .unwrap();
    assert_eq!(
        docker(&["ps", "-aq", "--filter", &format!("name=^{name}$")]),
        ""
    );
    // Gone counts as removed.
    host.remove_container_of(&theirs.cluster, &name)
        .await
        .unwrap();
}

#[tokio::test]
async fn observe_reports_the_engine_id_docker_info_shows() {
    let host = engine().await;
    let facts = host.observe("sis-t-engine-id", "none").await.unwrap();
    let id = docker(&["info", "-f", "{{.ID}}"]);
    assert!(!id.is_empty());
    assert_eq!(facts.engine_id.as_deref(), Some(id.as_str()));
}
