//! Node containers: created (then their dockerd awaited and their preloaded images loaded),
//! started, killed before their removal.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use futures::StreamExt;

use sis_engine::{ContainerSpec, EngineError, HostEngine};
use sis_types::{labels, ClassicTls, ImageRef, NodeProfile};

use crate::events::{Event, Milestone, Progress};
use crate::execute::Pass;

/// A node container as the plan resolved it.
pub(crate) struct NewNode<'a> {
    pub host: &'a str,
    pub name: &'a str,
    pub index: u32,
    pub image: &'a str,
    pub profile: &'a NodeProfile,
    pub network: &'a str,
    pub address: Ipv4Addr,
    pub args: &'a [String],
    pub preload: &'a [ImageRef],
    pub spec_hash: &'a str,
    pub tls: Option<&'a ClassicTls>,
}

pub(crate) async fn create<E: HostEngine>(
    pass: &Pass<'_, E>,
    node: NewNode<'_>,
    progress: &dyn Progress,
) -> Result<(), EngineError> {
    let NewNode { host, name, .. } = node;
    // Nothing is made on a host at its disk floor.
    pass.disk.take(host, pass.engine(host)?, name).await?;
    let mut spec = ContainerSpec {
        name: name.to_string(),
        hostname: name.to_string(),
        image: node.image.to_string(),
        cmd: node.args.to_vec(),
        labels: BTreeMap::from([
            (labels::CLUSTER.to_string(), pass.cluster.to_string()),
            (labels::ROLE.to_string(), labels::ROLE_NODE.to_string()),
            (labels::HOST.to_string(), host.to_string()),
            (labels::INDEX.to_string(), node.index.to_string()),
            (labels::SPEC_HASH.to_string(), node.spec_hash.to_string()),
        ]),
        network: Some(node.network.to_string()),
        profile: Some(node.profile.clone()),
        publish: Vec::new(),
        ipv4_address: Some(node.address),
        // Back by itself, at its fixed address and with its swarm2 state, after its host's
        // dockerd restarts (see docs/design.md, "Addresses and restarts").
        restart_unless_stopped: true,
    };
    let engine = pass.engine(host)?;
    let files = match node.tls {
        Some(tls) => super::classic::certificate(pass, tls, name, &mut spec.labels).await?,
        None => Vec::new(),
    };
    engine.run_container_with_files(&spec, &files).await?;
    milestone(progress, name, Milestone::Started);
    engine
        .wait_node_ready(name, pass.opts.node_ready_timeout)
        .await?;
    milestone(progress, name, Milestone::DockerdReady);
    if let Err(e) = crate::images::load_into_node(engine, host, name, node.preload).await {
        // Its label says it has the images: a node without them must not stay, or no later
        // pass would load them. The next attempt makes it anew.
        if let Err(cleanup) = engine.remove_container_of(pass.cluster, name).await {
            tracing::warn!("removing node {name}, which lacks its images: {cleanup}");
        }
        return Err(e);
    }
    Ok(())
}

pub(crate) async fn start<E: HostEngine>(
    pass: &Pass<'_, E>,
    host: &str,
    name: &str,
    progress: &dyn Progress,
) -> Result<(), EngineError> {
    let engine = pass.engine(host)?;
    engine.start_container(name).await?;
    milestone(progress, name, Milestone::Started);
    engine
        .wait_node_ready(name, pass.opts.node_ready_timeout)
        .await?;
    milestone(progress, name, Milestone::DockerdReady);
    Ok(())
}

/// Reports a step in the life of node `node`.
pub(crate) fn milestone(progress: &dyn Progress, node: &str, milestone: Milestone) {
    progress.event(&Event::Milestone { node, milestone });
}

/// Node kills running at once before a removal, over all hosts: a kill is one inspect and one
/// signal, cheap for the engine, so this bound is wider than the per-host one of removals.
const KILLS_AT_ONCE: usize = 16;

/// How long one kill may take before the removal goes on without it.
const KILL_TIMEOUT: Duration = Duration::from_secs(20);

/// Kills (SIGKILL) every node that `nodes` (host, name) will remove, before any removal: a
/// node's dockerd and swarm2's gossip in it go on loading the host until its container is
/// gone, so with hundreds of nodes the removals last ever longer on a loaded host. Killed
/// first, they all stop within seconds and the removals that follow find an idle host.
/// Failures are only logged: the removal (forced) kills what is still running and reports.
pub(crate) async fn kill_before_removal<E: HostEngine>(pass: &Pass<'_, E>, nodes: &[(&str, &str)]) {
    let kills = nodes.iter().map(|&(host, name)| async move {
        let engine = match pass.engine(host) {
            Ok(engine) => engine,
            Err(e) => return tracing::debug!("kill of node {name} skipped: {e}"),
        };
        match tokio::time::timeout(KILL_TIMEOUT, engine.kill_container_of(pass.cluster, name)).await
        {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::debug!("kill of node {name} before its removal: {e}"),
            Err(_) => tracing::debug!(
                "kill of node {name} before its removal took over {} s; removing it anyway",
                KILL_TIMEOUT.as_secs()
            ),
        }
    });
    futures::stream::iter(kills)
        .buffer_unordered(KILLS_AT_ONCE)
        .collect::<()>()
        .await;
}
