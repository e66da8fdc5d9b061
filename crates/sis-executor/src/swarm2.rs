//! swarm2, driven through the `docker` CLI inside node containers (exec via the node's host).
//! Nodes expose no TCP API: dockerd 20.10 sleeps 15 s at start-up when it listens on TCP
//! without TLS, and nothing needs it.
//!
//! Join tokens pass through here and nowhere else: they are never logged, never part of an
//! error message, never in a plan.

use std::time::Duration;

use serde::Deserialize;
use sis_engine::{EngineError, ExecOutput, HostEngine};
use sis_types::{Role, Swarm2Node};

/// Bound on one swarm CLI call inside a node. `swarm join` under load can take a while.
const EXEC_TIMEOUT: Duration = Duration::from_secs(60);

/// A node's own view of its swarm membership (`docker info` → `.Swarm`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LocalSwarm {
    #[serde(rename = "LocalNodeState")]
    pub state: String,
    #[serde(rename = "NodeID", default)]
    pub node_id: String,
    #[serde(default)]
    pub control_available: bool,
    #[serde(default)]
    pub node_addr: String,
    #[serde(default)]
    pub cluster: Option<ClusterInfo>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ClusterInfo {
    #[serde(rename = "ID", default)]
    pub id: String,
}

/// What `swarm join` ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinOutcome {
    Joined,
    /// Docker said "Timeout was reached before node joined": the join goes on in the
    /// background. Look again later; joining again would leave a ghost entry.
    Pending,
    /// The node is in a swarm already (joined, or still joining): ask it which.
    AlreadyMember,
}

fn cmd(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// Runs `docker ARGS` in `node`; a non-zero exit becomes an error that shows `shown` as the command.
async fn docker<E: HostEngine>(
    host: &E,
    node: &str,
    args: Vec<String>,
    shown: &str,
    op: &str,
) -> Result<ExecOutput, EngineError> {
    let mut full = vec!["docker".to_string()];
    full.extend(args);
    let out = host.exec(node, full, EXEC_TIMEOUT).await?;
    if out.exit_code != 0 {
        return Err(EngineError::Exec {
            op: op.to_string(),
            container: node.to_string(),
            command: shown.to_string(),
            exit_code: out.exit_code,
            stderr: out.stderr.trim().to_string(),
        });
    }
    Ok(out)
}

/// The node's own swarm state.
pub async fn local_swarm<E: HostEngine>(host: &E, node: &str) -> Result<LocalSwarm, EngineError> {
    let shown = "docker info --format '{{json .Swarm}}'";
    let out = docker(
        host,
        node,
        cmd(&["info", "--format", "{{json .Swarm}}"]),
        shown,
        "read swarm state",
    )
    .await?;
    serde_json::from_str(out.stdout.trim()).map_err(|e| {
        EngineError::Other(format!(
            "read swarm state of node {node}: unexpected output of `{shown}`: {e}"
        ))
    })
}

/// swarm2's node list as seen by manager `node`.
pub async fn node_ls<E: HostEngine>(host: &E, node: &str) -> Result<Vec<Swarm2Node>, EngineError> {
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
    let shown = "docker node ls --format '{{json .}}'";
    let out = docker(
        host,
        node,
        cmd(&["node", "ls", "--format", "{{json .}}"]),
        shown,
        "list swarm2 nodes",
    )
    .await?;
    let mut nodes = Vec::new();
    for line in out.stdout.lines().filter(|l| !l.trim().is_empty()) {
        let l: Line = serde_json::from_str(line).map_err(|e| {
            EngineError::Other(format!(
                "list swarm2 nodes on {node}: unexpected line {line:?} from `{shown}`: {e}"
            ))
        })?;
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

/// `docker swarm init` in `node`, advertising and listening on its ring2net address.
pub async fn init<E: HostEngine>(host: &E, node: &str, addr: &str) -> Result<(), EngineError> {
    let local = local_swarm(host, node).await?;
    if local.state == "active" && local.control_available {
        return Ok(());
    }
    let args = vec![
        "swarm".to_string(),
        "init".to_string(),
        "--advertise-addr".to_string(),
        addr.to_string(),
        "--listen-addr".to_string(),
        format!("{addr}:2377"),
    ];
    let shown = format!("docker swarm init --advertise-addr {addr}");
    docker(host, node, args, &shown, "init swarm2").await?;
    Ok(())
}

/// The join token for `role`, read on manager `node`. Never log it.
pub async fn join_token<E: HostEngine>(
    host: &E,
    node: &str,
    role: Role,
) -> Result<String, EngineError> {
    let role = role.to_string();
    let shown = format!("docker swarm join-token -q {role}");
    let out = docker(
        host,
        node,
        cmd(&["swarm", "join-token", "-q", &role]),
        &shown,
        "read swarm2 join token",
    )
    .await?;
    Ok(out.stdout.trim().to_string())
}

/// `docker swarm join` in `node`. dockerd refuses to join a node that is in a swarm or still
/// joining one, so trying is safe; [`JoinOutcome::AlreadyMember`] says to ask the node which.
pub async fn join<E: HostEngine>(
    host: &E,
    node: &str,
    token: &str,
    manager_addr: &str,
    advertise_addr: &str,
) -> Result<JoinOutcome, EngineError> {
    let args = vec![
        "swarm".to_string(),
        "join".to_string(),
        "--token".to_string(),
        token.to_string(),
        "--advertise-addr".to_string(),
        advertise_addr.to_string(),
        "--listen-addr".to_string(),
        format!("{advertise_addr}:2377"),
        format!("{manager_addr}:2377"),
    ];
    let shown = format!(
        "docker swarm join --token <redacted> --advertise-addr {advertise_addr} {manager_addr}:2377"
    );
    match docker(host, node, args, &shown, "join swarm2").await {
        Ok(_) => Ok(JoinOutcome::Joined),
        Err(EngineError::Exec { stderr, .. })
            if stderr.contains("Timeout was reached before node joined") =>
        {
            Ok(JoinOutcome::Pending)
        }
        Err(EngineError::Exec { stderr, .. }) if stderr.contains("already part of a swarm") => {
            Ok(JoinOutcome::Joined)
        }
        Err(e) => Err(redact(e, token)),
    }
}

/// Belt and braces: make sure no error carries the token, whatever produced it.
fn redact(e: EngineError, token: &str) -> EngineError {
    let text = e.to_string();
    if token.is_empty() || !text.contains(token) {
        return e;
    }
    EngineError::Other(text.replace(token, "<redacted>"))
}

/// `docker node promote|demote NAME` on manager `manager`.
pub async fn set_role<E: HostEngine>(
    host: &E,
    manager: &str,
    node: &str,
    role: Role,
) -> Result<(), EngineError> {
    let verb = match role {
        Role::Manager => "promote",
        Role::Worker => "demote",
    };
    let shown = format!("docker node {verb} {node}");
    docker(
        host,
        manager,
        cmd(&["node", verb, node]),
        &shown,
        &format!("{verb} swarm2 node"),
    )
    .await?;
    Ok(())
}

/// `docker swarm leave --force` in `node`; a node not in a swarm is fine.
pub async fn leave<E: HostEngine>(host: &E, node: &str) -> Result<(), EngineError> {
    let shown = "docker swarm leave --force";
    match docker(
        host,
        node,
        cmd(&["swarm", "leave", "--force"]),
        shown,
        "leave swarm2",
    )
    .await
    {
        Err(EngineError::Exec { stderr, .. }) if stderr.contains("not part of a swarm") => Ok(()),
        other => other.map(|_| ()),
    }
}

/// `docker node rm --force ID` on manager `manager`; an entry already gone is fine.
pub async fn node_rm<E: HostEngine>(
    host: &E,
    manager: &str,
    node_id: &str,
) -> Result<(), EngineError> {
    let shown = format!("docker node rm --force {node_id}");
    match docker(
        host,
        manager,
        cmd(&["node", "rm", "--force", node_id]),
        &shown,
        "remove swarm2 entry",
    )
    .await
    {
        Err(EngineError::Exec { stderr, .. }) if stderr.contains("not found") => Ok(()),
        other => other.map(|_| ()),
    }
}

/// Whether swarm2 has its `ingress` network, asked on manager `node`.
pub async fn has_ingress<E: HostEngine>(host: &E, node: &str) -> Result<bool, EngineError> {
    let shown = "docker network ls --filter name=^ingress$ --format '{{.Name}}'";
    let out = docker(
        host,
        node,
        cmd(&[
            "network",
            "ls",
            "--filter",
            "name=^ingress$",
            "--format",
            "{{.Name}}",
        ]),
        shown,
        "look for swarm2's ingress network",
    )
    .await?;
    Ok(out.stdout.lines().any(|l| l.trim() == "ingress"))
}

/// Removes or creates swarm2's ingress network on manager `node`, and waits (bounded) until
/// the manager shows the result: nodes that join later must see the final state.
pub async fn set_ingress<E: HostEngine>(
    host: &E,
    node: &str,
    enabled: bool,
) -> Result<(), EngineError> {
    if has_ingress(host, node).await? != enabled {
        if enabled {
            let args = cmd(&[
                "network",
                "create",
                "--driver",
                "overlay",
                "--ingress",
                "ingress",
            ]);
            let shown = "docker network create --driver overlay --ingress ingress";
            match docker(host, node, args, shown, "create swarm2's ingress network").await {
                Err(EngineError::Exec { stderr, .. }) if stderr.contains("already exists") => {}
                other => {
                    other?;
                }
            }
        } else {
            // The CLI asks for confirmation; the answer comes on stdin.
            let args = cmd(&["sh", "-c", "echo y | docker network rm ingress"]);
            let out = host.exec(node, args, EXEC_TIMEOUT).await?;
            if out.exit_code != 0 && !out.stderr.contains("No such network") {
                return Err(EngineError::Exec {
                    op: "remove swarm2's ingress network".to_string(),
                    container: node.to_string(),
                    command: "docker network rm ingress".to_string(),
                    exit_code: out.exit_code,
                    stderr: out.stderr.trim().to_string(),
                });
            }
        }
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut delay = Duration::from_millis(100);
    while has_ingress(host, node).await? != enabled {
        if tokio::time::Instant::now() >= deadline {
            return Err(EngineError::Timeout {
                op: format!("set swarm2's ingress network to {enabled}"),
                seconds: 30,
                detail: format!("node {node} still shows the old state"),
            });
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(1));
    }
    Ok(())
}
