//! swarm2, driven through the `docker` CLI inside node containers (exec via the node's host).
//! Nodes expose no TCP API: dockerd 20.10 sleeps 15 s at start-up when it listens on TCP
//! without TLS, and nothing needs it.
//!
//! Join tokens pass through here and are never logged, never on a command line (the join
//! reads its token from the exec's environment), never part of an error message.

use std::time::Duration;

use serde::Deserialize;
use sis_types::{Role, Swarm2Node};

use super::{container, DockerHost};
use crate::{EngineError, ExecOutput, JoinOutcome, Swarm2Local};

/// Bound on one swarm CLI call inside a node. `swarm join` under load can take a while.
const EXEC_TIMEOUT: Duration = Duration::from_secs(60);

/// The environment variable that carries the join token into the join's exec.
const TOKEN_ENV: &str = "SIS_SWARM2_TOKEN";

fn cmd(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// A non-zero exit of `command` (as shown in messages) in `node`, as an error.
fn exec_error(op: &str, node: &str, command: &str, out: &ExecOutput) -> EngineError {
    EngineError::Exec {
        op: op.to_string(),
        container: node.to_string(),
        command: command.to_string(),
        exit_code: out.exit_code,
        stderr: out.stderr.trim().to_string(),
    }
}

/// Runs `docker ARGS` in `node`; a non-zero exit becomes an error.
async fn docker(
    host: &DockerHost,
    node: &str,
    args: &[&str],
    op: &str,
) -> Result<ExecOutput, EngineError> {
    let mut full = vec!["docker"];
    full.extend_from_slice(args);
    let out = container::exec(host, node, cmd(&full), EXEC_TIMEOUT).await?;
    if out.exit_code != 0 {
        return Err(exec_error(op, node, &full.join(" "), &out));
    }
    Ok(out)
}

/// `docker info --format '{{json .Swarm}}'`, parsed.
pub(super) async fn local_state(host: &DockerHost, node: &str) -> Result<Swarm2Local, EngineError> {
    let out = docker(
        host,
        node,
        &["info", "--format", "{{json .Swarm}}"],
        "read swarm state",
    )
    .await?;
    parse_local_state(&out.stdout).map_err(|e| {
        EngineError::Other(format!(
            "read swarm state of node {node}: unexpected output of `docker info`: {e}"
        ))
    })
}

/// A node's `.Swarm` section of `docker info`, as JSON.
pub(crate) fn parse_local_state(json: &str) -> Result<Swarm2Local, serde_json::Error> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Info {
        local_node_state: String,
        #[serde(rename = "NodeID", default)]
        node_id: String,
        #[serde(default)]
        control_available: bool,
        #[serde(default)]
        node_addr: String,
        #[serde(default)]
        cluster: Option<Cluster>,
        #[serde(default)]
        remote_managers: Option<Vec<Peer>>,
        #[serde(default)]
        error: String,
    }
    #[derive(Deserialize)]
    struct Cluster {
        #[serde(rename = "ID", default)]
        id: String,
    }
    #[derive(Deserialize)]
    struct Peer {
        #[serde(rename = "Addr", default)]
        addr: String,
    }
    let info: Info = serde_json::from_str(json.trim())?;
    Ok(Swarm2Local {
        state: info.local_node_state,
        node_id: info.node_id,
        control_available: info.control_available,
        node_addr: info.node_addr,
        cluster_id: info.cluster.map(|c| c.id).filter(|id| !id.is_empty()),
        remote_managers: info
            .remote_managers
            .unwrap_or_default()
            .into_iter()
            .map(|p| p.addr)
            .collect(),
        error: info.error,
    })
}

/// `docker node ls --format '{{json .}}'`, parsed.
pub(super) async fn node_list(
    host: &DockerHost,
    manager: &str,
) -> Result<Vec<Swarm2Node>, EngineError> {
    let out = docker(
        host,
        manager,
        &["node", "ls", "--format", "{{json .}}"],
        "list swarm2 nodes",
    )
    .await?;
    parse_node_list(&out.stdout).map_err(|e| {
        EngineError::Other(format!(
            "list swarm2 nodes on {manager}: unexpected output of `docker node ls`: {e}"
        ))
    })
}

/// The output of `docker node ls --format '{{json .}}'` (one JSON object a line), sorted by
/// hostname then ID. The one place [`Swarm2Node`] values are made from dockerd's words.
pub(crate) fn parse_node_list(stdout: &str) -> Result<Vec<Swarm2Node>, String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Line {
        #[serde(rename = "ID")]
        id: String,
        hostname: String,
        status: String,
        availability: String,
        #[serde(default)]
        manager_status: String,
    }
    let mut nodes = Vec::new();
    for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
        let l: Line = serde_json::from_str(line).map_err(|e| format!("line {line:?}: {e}"))?;
        nodes.push(Swarm2Node {
            id: l.id,
            hostname: l.hostname,
            status: l.status.to_lowercase().into(),
            availability: l.availability.to_lowercase().into(),
            manager_status: l.manager_status.to_lowercase().into(),
        });
    }
    nodes.sort_by(|a, b| a.hostname.cmp(&b.hostname).then(a.id.cmp(&b.id)));
    Ok(nodes)
}

pub(super) async fn init(host: &DockerHost, node: &str, addr: &str) -> Result<(), EngineError> {
    let local = local_state(host, node).await?;
    if local.state == "active" && local.control_available {
        return Ok(());
    }
    let listen = format!("{addr}:2377");
    docker(
        host,
        node,
        &[
            "swarm",
            "init",
            "--advertise-addr",
            addr,
            "--listen-addr",
            &listen,
        ],
        "init swarm2",
    )
    .await?;
    Ok(())
}

/// The directory of a manager's raft log.
const RAFT_WAL: &str = "/var/lib/docker/swarm/raft/wal-v3-encrypted";

pub(super) async fn repair(host: &DockerHost, node: &str, addr: &str) -> Result<(), EngineError> {
    let listen = format!("{addr}:2377");
    let args = [
        "swarm",
        "init",
        "--force-new-cluster",
        "--advertise-addr",
        addr,
        "--listen-addr",
        &listen,
    ];
    docker(host, node, &args, "repair swarm2").await?;
    // The node elects itself; until then `node ls` says there is no leader.
    wait_for(
        "repair swarm2",
        &format!("node {node} does not list swarm2's nodes"),
        || async { Ok(node_list(host, node).await.is_ok()) },
    )
    .await
}

pub(super) async fn raft_time(host: &DockerHost, node: &str) -> Result<Option<i64>, EngineError> {
    // Newest first; no file (a worker, a node in no swarm) prints nothing.
    let script = format!("stat -c %Y {RAFT_WAL}/* 2>/dev/null | sort -n | tail -n 1");
    let out = container::exec(host, node, cmd(&["sh", "-c", &script]), EXEC_TIMEOUT).await?;
    Ok(out.stdout.trim().parse().ok())
}

/// Polls `done` until it holds, for at most [`CONFIRM_TIMEOUT`].
async fn wait_for<F, Fut>(op: &str, detail: &str, mut done: F) -> Result<(), EngineError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, EngineError>>,
{
    let deadline = tokio::time::Instant::now() + CONFIRM_TIMEOUT;
    let mut delay = Duration::from_millis(100);
    while !done().await? {
        if tokio::time::Instant::now() >= deadline {
            return Err(EngineError::Timeout {
                op: op.to_string(),
                seconds: CONFIRM_TIMEOUT.as_secs(),
                detail: detail.to_string(),
            });
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(1));
    }
    Ok(())
}

/// Bound on waiting for swarm2 to show a change made (a demotion, a repair).
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(60);

pub(super) async fn join_token(
    host: &DockerHost,
    node: &str,
    role: Role,
) -> Result<String, EngineError> {
    let role = role.to_string();
    let out = docker(
        host,
        node,
        &["swarm", "join-token", "-q", &role],
        "read swarm2 join token",
    )
    .await?;
    Ok(out.stdout.trim().to_string())
}

/// The join's command line and environment: the token is in the environment only.
fn join_command(
    token: &str,
    manager_addr: &str,
    advertise_addr: &str,
) -> (Vec<String>, Vec<String>) {
    let script = format!(
        "exec docker swarm join --token \"${TOKEN_ENV}\" --advertise-addr {advertise_addr} \
         --listen-addr {advertise_addr}:2377 {manager_addr}:2377"
    );
    (
        cmd(&["sh", "-c", &script]),
        vec![format!("{TOKEN_ENV}={token}")],
    )
}

/// dockerd refuses to join a node that is in a swarm or still joining one, so trying is safe;
/// when it refuses, the node's own state tells which swarm it is in.
pub(super) async fn join(
    host: &DockerHost,
    node: &str,
    token: &str,
    manager_addr: &str,
    advertise_addr: &str,
) -> Result<JoinOutcome, EngineError> {
    let (command, env) = join_command(token, manager_addr, advertise_addr);
    let shown = command.join(" ");
    let out = container::exec_with_env(host, node, command, env, EXEC_TIMEOUT)
        .await
        .map_err(|e| e.redact(token))?;
    if out.exit_code == 0 {
        return Ok(JoinOutcome::Joined);
    }
    if out
        .stderr
        .contains("Timeout was reached before node joined")
    {
        return Ok(JoinOutcome::Pending);
    }
    if out.stderr.contains("already part of a swarm") {
        let local = local_state(host, node).await?;
        return Ok(if local.is_member_via(manager_addr) {
            JoinOutcome::Member {
                node_id: local.node_id,
                manager: local.control_available,
            }
        } else if local.state == "pending" {
            JoinOutcome::Pending
        } else {
            JoinOutcome::AlreadyMember {
                managers: local.remote_managers,
            }
        });
    }
    Err(exec_error("join swarm2", node, &shown, &out).redact(token))
}

pub(super) async fn leave(host: &DockerHost, node: &str) -> Result<(), EngineError> {
    match docker(host, node, &["swarm", "leave", "--force"], "leave swarm2").await {
        Err(EngineError::Exec { stderr, .. }) if stderr.contains("not part of a swarm") => Ok(()),
        other => other.map(|_| ()),
    }
}

pub(super) async fn set_role(
    host: &DockerHost,
    manager: &str,
    node: &str,
    role: Role,
) -> Result<(), EngineError> {
    let verb = match role {
        Role::Manager => "promote",
        Role::Worker => "demote",
    };
    let op = format!("{verb} swarm2 node");
    docker(host, manager, &["node", verb, node], &op).await?;
    if role == Role::Worker {
        // The node may leave or be removed only once the managers agree it is a worker;
        // before that, its going counts against the quorum.
        wait_for(
            &op,
            &format!("{manager} still lists {node} as a manager"),
            || async {
                let nodes = node_list(host, manager).await?;
                Ok(!nodes
                    .iter()
                    .any(|e| (e.hostname == node || e.id == node) && e.is_manager()))
            },
        )
        .await?;
    }
    Ok(())
}

pub(super) async fn node_rm(
    host: &DockerHost,
    manager: &str,
    node_id: &str,
) -> Result<(), EngineError> {
    let args = ["node", "rm", "--force", node_id];
    match docker(host, manager, &args, "remove swarm2 entry").await {
        // dockerd 20.10 says "No such node" for an ID it does not know.
        Err(EngineError::Exec { stderr, .. })
            if stderr.contains("not found") || stderr.contains("No such node") =>
        {
            Ok(())
        }
        other => other.map(|_| ()),
    }
}

pub(super) async fn ingress(host: &DockerHost, manager: &str) -> Result<bool, EngineError> {
    let args = [
        "network",
        "ls",
        "--filter",
        "name=^ingress$",
        "--format",
        "{{.Name}}",
    ];
    let out = docker(host, manager, &args, "look for swarm2's ingress network").await?;
    Ok(out.stdout.lines().any(|l| l.trim() == "ingress"))
}

pub(super) async fn set_ingress(
    host: &DockerHost,
    manager: &str,
    enabled: bool,
) -> Result<(), EngineError> {
    if ingress(host, manager).await? != enabled {
        if enabled {
            let args = [
                "network",
                "create",
                "--driver",
                "overlay",
                "--ingress",
                "ingress",
            ];
            match docker(host, manager, &args, "create swarm2's ingress network").await {
                Err(EngineError::Exec { stderr, .. }) if stderr.contains("already exists") => {}
                other => {
                    other?;
                }
            }
        } else {
            // The CLI asks for confirmation; the answer comes on stdin.
            let args = cmd(&["sh", "-c", "echo y | docker network rm ingress"]);
            let out = container::exec(host, manager, args, EXEC_TIMEOUT).await?;
            if out.exit_code != 0 && !out.stderr.contains("No such network") {
                let op = "remove swarm2's ingress network";
                return Err(exec_error(op, manager, "docker network rm ingress", &out));
            }
        }
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut delay = Duration::from_millis(100);
    while ingress(host, manager).await? != enabled {
        if tokio::time::Instant::now() >= deadline {
            return Err(EngineError::Timeout {
                op: format!("set swarm2's ingress network to {enabled}"),
                seconds: 30,
                detail: format!("node {manager} still shows the old state"),
            });
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(1));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_join_token_is_in_the_environment_not_on_the_command_line() {
        let (command, env) = join_command("SWMTKN-1-secret", "10.9.0.2", "10.9.0.3");
        assert!(!command.join(" ").contains("SWMTKN"), "{command:?}");
        assert!(
            command[2].contains("--token \"$SIS_SWARM2_TOKEN\""),
            "{command:?}"
        );
        assert!(command[2].ends_with("--listen-addr 10.9.0.3:2377 10.9.0.2:2377"));
        assert_eq!(env, ["SIS_SWARM2_TOKEN=SWMTKN-1-secret"]);
    }

    #[test]
    fn node_ls_lines_become_sorted_lower_case_entries() {
        let out = concat!(
            r#"{"ID":"b","Hostname":"demo-h-2","Status":"Ready","Availability":"Active","ManagerStatus":""}"#,
            "\n",
            r#"{"ID":"a","Hostname":"demo-h-1","Status":"Ready","Availability":"Active","ManagerStatus":"Leader"}"#,
            "\n\n"
        );
        let nodes = parse_node_list(out).unwrap();
        assert_eq!(nodes[0].hostname, "demo-h-1");
        assert_eq!(nodes[0].manager_status, "leader");
        assert_eq!(nodes[1].status, "ready");
        assert!(!nodes[1].is_manager());
        assert!(parse_node_list("not json").is_err());
    }

    #[test]
    fn a_workers_local_state_names_its_managers() {
        let info = r#"{"LocalNodeState":"active","NodeID":"w1","NodeAddr":"10.9.0.3",
            "ControlAvailable":false,"RemoteManagers":[{"NodeID":"m1","Addr":"10.9.0.2:2377"}]}"#;
        let local = parse_local_state(info).unwrap();
        assert_eq!(local.cluster_id, None);
        assert!(local.is_member_via("10.9.0.2"));
        assert!(!local.is_member_via("10.9.0.4"));
        let inactive = parse_local_state(r#"{"LocalNodeState":"inactive","RemoteManagers":null}"#);
        assert!(inactive.unwrap().remote_managers.is_empty());
    }
}
