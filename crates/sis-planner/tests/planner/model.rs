//! A model of the hosts and swarm2: applies a plan's actions to an [`Observed`] as the
//! engines would, and refuses an action whose preconditions do not hold when it runs.
//!
//! Phases run in order. Within a phase the executor runs actions concurrently, except in the
//! phases where `Phase::is_sequential()` holds: so the preconditions of an action of a concurrent phase are checked against the
//! state at the start of the phase, those of a sequential phase against the state as it goes.

use std::sync::atomic::{AtomicU32, Ordering};

use sis_types::{
    labels, Action, ContainerObservation, HostFacts, HostObservation, Observed, Plan, Role,
    Swarm2Node, Swarm2Observation,
};

/// Container, entry and network IDs the model hands out: unique across every state it makes.
static NEXT_ID: AtomicU32 = AtomicU32::new(0);

pub fn apply(state: &Observed, plan: &Plan) -> Result<Observed, String> {
    let mut now = state.clone();
    for phase in &plan.phases {
        let sequential = phase.phase.is_sequential();
        let start = now.clone();
        let mut removed_managers = Vec::new();
        for planned in &phase.actions {
            let a = &planned.action;
            let seen = if sequential { &now } else { &start };
            check(seen, a).map_err(|e| format!("{}: {e}", a.describe()))?;
            if let Action::RemoveNode { name, .. } = a {
                if entries(&now, name).any(|e| e.is_manager()) {
                    removed_managers.push(name.clone());
                }
            }
            effect(&mut now, a);
        }
        observe_swarm2(&mut now);
        if !removed_managers.is_empty() && now.swarm2.is_some() {
            return Err(format!(
                "phase {}: removed swarm2 managers {removed_managers:?} without demoting them",
                phase.phase.title()
            ));
        }
        if let Some(s2) = &now.swarm2 {
            let members = s2.nodes.iter().filter(|e| e.is_manager()).count();
            let reachable = s2
                .nodes
                .iter()
                .filter(|e| e.is_manager() && e.is_ready())
                .count();
            if reachable < members / 2 + 1 {
                return Err(format!(
                    "after phase {}: swarm2 lost its quorum ({reachable} of {members} managers reachable)",
                    phase.phase.title()
                ));
            }
        }
    }
    Ok(now)
}

fn facts<'a>(state: &'a Observed, host: &str) -> Result<&'a HostFacts, String> {
    state
        .hosts
        .get(host)
        .and_then(HostObservation::facts)
        .ok_or_else(|| format!("host {host} is not reachable"))
}

fn facts_mut<'a>(state: &'a mut Observed, host: &str) -> &'a mut HostFacts {
    match state.hosts.get_mut(host) {
        Some(HostObservation::Reachable(f)) => f,
        _ => panic!("host {host} was checked"),
    }
}

fn container<'a>(state: &'a Observed, host: &str, name: &str) -> Option<&'a ContainerObservation> {
    facts(state, host)
        .ok()?
        .containers
        .iter()
        .find(|c| c.name == name)
}

/// A node container by name on any host.
fn node_anywhere<'a>(state: &'a Observed, name: &str) -> Option<&'a ContainerObservation> {
    state
        .hosts
        .values()
        .filter_map(HostObservation::facts)
        .flat_map(|f| f.containers.iter())
        .find(|c| c.name == name && c.label(labels::ROLE) == Some(labels::ROLE_NODE))
}

fn entries<'a>(state: &'a Observed, hostname: &'a str) -> impl Iterator<Item = &'a Swarm2Node> {
    state
        .swarm2
        .iter()
        .flat_map(|s| s.nodes.iter())
        .filter(move |e| e.hostname == hostname)
}

/// The entry `docker node` would resolve `reference` to: an ID, or a unique hostname.
fn resolve<'a>(state: &'a Observed, reference: &str) -> Result<&'a Swarm2Node, String> {
    let nodes = &state.swarm2.as_ref().ok_or("no swarm2")?.nodes;
    if let Some(e) = nodes.iter().find(|e| e.id == reference) {
        return Ok(e);
    }
    let matches: Vec<_> = nodes.iter().filter(|e| e.hostname == reference).collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(format!("no swarm2 node {reference}")),
        _ => Err(format!(
            "{reference} is ambiguous ({} matches)",
            matches.len()
        )),
    }
}

fn running_manager(state: &Observed, manager: &str, manager_host: &str) -> Result<(), String> {
    let c = container(state, manager_host, manager)
        .ok_or_else(|| format!("manager {manager} is not on host {manager_host}"))?;
    if !c.is_running() {
        return Err(format!("manager {manager} is not running"));
    }
    if !entries(state, manager).any(|e| e.is_manager() && e.is_ready()) {
        return Err(format!("{manager} is not a ready swarm2 manager"));
    }
    Ok(())
}

/// Whether the host lists `image`, under any of the names Docker gives an official image
/// (`x`, `x:latest`, `docker.io/library/x:latest`).
fn has_image(f: &HostFacts, image: &str) -> bool {
    let full = |i: &str| {
        let tagged = if i.rsplit('/').next().is_some_and(|last| last.contains(':')) {
            i.to_string()
        } else {
            format!("{i}:latest")
        };
        if tagged.contains('/') {
            tagged
        } else {
            format!("docker.io/library/{tagged}")
        }
    };
    f.images.iter().any(|i| full(i) == full(image))
}

fn network_exists(state: &Observed, name: &str) -> bool {
    state
        .hosts
        .values()
        .filter_map(HostObservation::facts)
        .any(|f| f.swarm1.is_manager && f.networks.iter().any(|n| n.name == name))
}

fn check(s: &Observed, a: &Action) -> Result<(), String> {
    match a {
        Action::InitSwarm1 { host, .. } => {
            if facts(s, host)?.swarm1.state != "inactive" {
                return Err("engine is in a swarm".into());
            }
        }
        Action::JoinSwarm1 {
            host, manager_host, ..
        } => {
            if facts(s, host)?.swarm1.state != "inactive" {
                return Err("engine is in a swarm".into());
            }
            if !facts(s, manager_host)?.swarm1.is_manager {
                return Err(format!("host {manager_host} is not a swarm1 manager"));
            }
        }
        Action::LeaveSwarm1 { host, force } => {
            let swarm1 = &facts(s, host)?.swarm1;
            if !swarm1.is_active() {
                return Err("engine is in no swarm".into());
            }
            if swarm1.is_manager && !force {
                return Err("a manager leaves without --force".into());
            }
        }
        Action::PullImage { host, image } => {
            if has_image(facts(s, host)?, image) {
                return Err("image is there already".into());
            }
        }
        Action::CopyImage {
            from_host,
            host,
            image,
        } => {
            if from_host == host {
                return Err("copy onto the host itself".into());
            }
            if !has_image(facts(s, from_host)?, image) {
                return Err(format!("host {from_host} does not have the image"));
            }
            if has_image(facts(s, host)?, image) {
                return Err("image is there already".into());
            }
        }
        Action::CreateNetwork { host, name, .. } => {
            if !facts(s, host)?.swarm1.is_manager {
                return Err("not through a swarm1 manager".into());
            }
            if network_exists(s, name) {
                return Err("network exists".into());
            }
        }
        Action::RemoveNetwork { host, name } => {
            if !facts(s, host)?.networks.iter().any(|n| n.name == *name) {
                return Err("no such network".into());
            }
        }
        Action::CreateKvStore {
            host,
            name,
            image,
            network,
            ..
        } => {
            if container(s, host, name).is_some() {
                return Err("name in use".into());
            }
            if !has_image(facts(s, host)?, image) || !network_exists(s, network) {
                return Err("image or network missing".into());
            }
        }
        Action::CreateClassicManager {
            host, name, image, ..
        }
        | Action::CreateClassicAgent {
            host, name, image, ..
        } => {
            if container(s, host, name).is_some() {
                return Err("name in use".into());
            }
            if !has_image(facts(s, host)?, image) {
                return Err("image missing".into());
            }
        }
        Action::CreateClassicCa { host, name } => {
            if container(s, host, name).is_some() {
                return Err("name in use".into());
            }
        }
        Action::RemoveKvStore { host, name }
        | Action::RemoveNode { host, name }
        | Action::RemoveClassicManager { host, name }
        | Action::RemoveClassicAgent { host, name }
        | Action::RemoveClassicCa { host, name } => {
            if container(s, host, name).is_none() {
                return Err("no such container".into());
            }
        }
        Action::CreateNode {
            host,
            name,
            image,
            network,
            preload,
            ..
        } => {
            let f = facts(s, host)?;
            if container(s, host, name).is_some() {
                return Err("name in use".into());
            }
            if !has_image(f, image) || !network_exists(s, network) || !f.swarm1.is_active() {
                return Err("image, network or swarm1 missing".into());
            }
            // The node loads them from its host's engine.
            if let Some(missing) = preload.iter().find(|i| !has_image(f, i)) {
                return Err(format!("preloaded image {missing} is not on the host"));
            }
        }
        Action::StartNode { host, name } | Action::StartKvStore { host, name } => {
            match container(s, host, name) {
                Some(c) if !c.is_running() => {}
                _ => return Err("no stopped container".into()),
            }
        }
        Action::InitSwarm2 { host, node, .. } => {
            if s.swarm2.is_some() {
                return Err("swarm2 exists".into());
            }
            if !container(s, host, node).is_some_and(|c| c.is_running()) {
                return Err("node is not running".into());
            }
        }
        Action::RepairSwarm2 { host, node, .. } => {
            if !container(s, host, node).is_some_and(|c| c.is_running()) {
                return Err("node is not running".into());
            }
            if !s.swarm2_locals.get(node).is_some_and(|l| l.lost_quorum()) {
                return Err("node is no manager of a swarm2 without quorum".into());
            }
        }
        Action::SetSwarm2Ingress {
            manager,
            manager_host,
            enabled,
        } => {
            running_manager(s, manager, manager_host)?;
            if s.swarm2.as_ref().and_then(|w| w.ingress) == Some(*enabled) {
                return Err("ingress is that way already".into());
            }
        }
        Action::JoinSwarm2 {
            host,
            node,
            manager,
            manager_host,
            ..
        } => {
            running_manager(s, manager, manager_host)?;
            if !container(s, host, node).is_some_and(|c| c.is_running()) {
                return Err("node is not running".into());
            }
            if entries(s, node).next().is_some() {
                return Err("node has swarm2 entries already (a rejoin leaves a ghost)".into());
            }
        }
        Action::PromoteSwarm2 {
            manager,
            manager_host,
            node,
        } => {
            running_manager(s, manager, manager_host)?;
            let e = resolve(s, node)?;
            if e.is_manager() || !e.is_ready() {
                return Err(format!("target is {} {}", e.status, e.manager_status));
            }
        }
        Action::DemoteSwarm2 {
            manager,
            manager_host,
            node,
        } => {
            running_manager(s, manager, manager_host)?;
            let e = resolve(s, node)?;
            if !e.is_manager() || e.hostname == *manager {
                return Err("target is not another manager".into());
            }
            let nodes = &s.swarm2.as_ref().expect("resolved").nodes;
            let members = nodes.iter().filter(|e| e.is_manager()).count();
            let reachable = nodes
                .iter()
                .filter(|e| e.is_manager() && e.is_ready())
                .count();
            let after = reachable - usize::from(e.is_ready());
            if after < (members - 1) / 2 + 1 {
                return Err(format!(
                    "quorum: {after} of {} reachable after",
                    members - 1
                ));
            }
        }
        Action::LeaveSwarm2 { host, node } => {
            if !container(s, host, node).is_some_and(|c| c.is_running()) {
                return Err("node is not running".into());
            }
            if entries(s, node).any(|e| e.is_manager()) {
                return Err("a manager leaves".into());
            }
        }
        Action::RemoveSwarm2Entry {
            manager,
            manager_host,
            node_id,
            ..
        } => {
            running_manager(s, manager, manager_host)?;
            let e = resolve(s, node_id)?;
            if e.is_manager() {
                return Err("entry of a manager".into());
            }
        }
    }
    Ok(())
}

fn effect(s: &mut Observed, a: &Action) {
    let new_id = || format!("model{:04}", NEXT_ID.fetch_add(1, Ordering::Relaxed));
    match a {
        Action::InitSwarm1 {
            host,
            advertise_addr,
        } => {
            let addr = advertise_addr.clone().unwrap_or_else(|| "192.0.2.1".into());
            let cluster = s.cluster.clone();
            let f = facts_mut(s, host);
            f.swarm1.created_by = Some(cluster);
            f.swarm1.state = "active".into();
            f.swarm1.is_manager = true;
            f.swarm1.cluster_id = Some("model-swarm1".into());
            f.swarm1.node_id = Some(new_id());
            f.swarm1.managers = vec![format!("{addr}:2377")];
            f.swarm1.node_addr = Some(addr);
        }
        Action::JoinSwarm1 {
            host, manager_host, ..
        } => {
            let managers = facts_mut(s, manager_host).swarm1.managers.clone();
            let f = facts_mut(s, host);
            f.swarm1.state = "active".into();
            f.swarm1.is_manager = false;
            f.swarm1.cluster_id = None;
            f.swarm1.node_id = Some(new_id());
            f.swarm1.managers = managers;
        }
        Action::LeaveSwarm1 { host, .. } => {
            facts_mut(s, host).swarm1 = sis_types::Swarm1Membership {
                state: "inactive".into(),
                ..Default::default()
            };
        }
        Action::PullImage { host, image } | Action::CopyImage { host, image, .. } => {
            facts_mut(s, host).images.insert(image.to_string());
        }
        Action::CreateNetwork {
            host,
            name,
            subnet,
            ip_range,
            ..
        } => {
            let cluster = s.cluster.clone();
            facts_mut(s, host)
                .networks
                .push(sis_types::NetworkObservation {
                    id: new_id(),
                    name: name.clone(),
                    driver: "overlay".into(),
                    scope: "swarm".into(),
                    attachable: true,
                    subnets: vec![*subnet],
                    ip_range: Some(*ip_range),
                    labels: [(labels::CLUSTER.to_string(), cluster)].into(),
                });
        }
        Action::RemoveNetwork { host, name } => {
            facts_mut(s, host).networks.retain(|n| n.name != *name);
        }
        Action::CreateKvStore {
            host, name, image, ..
        } => {
            let labels = [
                (labels::CLUSTER.to_string(), s.cluster.clone()),
                (labels::ROLE.to_string(), labels::ROLE_KVSTORE.to_string()),
                (labels::HOST.to_string(), host.clone()),
            ];
            let c = running(new_id(), name, image, labels.into());
            facts_mut(s, host).containers.push(c);
        }
        Action::RemoveKvStore { host, name }
        | Action::RemoveClassicManager { host, name }
        | Action::RemoveClassicAgent { host, name }
        | Action::RemoveClassicCa { host, name } => {
            facts_mut(s, host).containers.retain(|c| c.name != *name);
        }
        Action::CreateClassicCa { host, name } => {
            let labels = [
                (labels::CLUSTER.to_string(), s.cluster.clone()),
                (labels::ROLE.to_string(), labels::ROLE_CA.to_string()),
                (labels::HOST.to_string(), host.clone()),
                (labels::CA.to_string(), format!("model-ca-{}", new_id())),
            ];
            let mut c = running(new_id(), name, "sis-lock:1", labels.into());
            c.state = "created".into();
            facts_mut(s, host).containers.push(c);
        }
        Action::CreateClassicManager {
            host,
            name,
            image,
            spec_hash,
            tls,
            ..
        } => {
            let mut labels: std::collections::BTreeMap<String, String> = [
                (labels::CLUSTER.to_string(), s.cluster.clone()),
                (labels::ROLE.to_string(), labels::ROLE_MANAGER.to_string()),
                (labels::HOST.to_string(), host.clone()),
                (labels::SPEC_HASH.to_string(), spec_hash.clone()),
            ]
            .into();
            signed(s, tls.as_ref(), &mut labels);
            let c = running(new_id(), name, image, labels);
            facts_mut(s, host).containers.push(c);
        }
        Action::CreateClassicAgent {
            host,
            name,
            node,
            index,
            image,
            spec_hash,
            ..
        } => {
            let labels = [
                (labels::CLUSTER.to_string(), s.cluster.clone()),
                (labels::ROLE.to_string(), labels::ROLE_AGENT.to_string()),
                (labels::HOST.to_string(), host.clone()),
                (labels::INDEX.to_string(), index.to_string()),
                (labels::NODE.to_string(), node.clone()),
                (labels::SPEC_HASH.to_string(), spec_hash.clone()),
            ];
            let c = running(new_id(), name, image, labels.into());
            facts_mut(s, host).containers.push(c);
        }
        Action::CreateNode {
            host,
            name,
            index,
            image,
            spec_hash,
            tls,
            ..
        } => {
            let mut labels: std::collections::BTreeMap<String, String> = [
                (labels::CLUSTER.to_string(), s.cluster.clone()),
                (labels::ROLE.to_string(), labels::ROLE_NODE.to_string()),
                (labels::HOST.to_string(), host.clone()),
                (labels::INDEX.to_string(), index.to_string()),
                (labels::SPEC_HASH.to_string(), spec_hash.clone()),
            ]
            .into();
            signed(s, tls.as_ref(), &mut labels);
            let c = running(new_id(), name, image, labels);
            facts_mut(s, host).containers.push(c);
        }
        Action::StartNode { host, name } => {
            for c in facts_mut(s, host)
                .containers
                .iter_mut()
                .filter(|c| c.name == *name)
            {
                c.state = "running".into();
            }
            set_status(s, name, "down", "ready");
        }
        Action::StartKvStore { host, name } => {
            for c in facts_mut(s, host)
                .containers
                .iter_mut()
                .filter(|c| c.name == *name)
            {
                c.state = "running".into();
            }
        }
        Action::RemoveNode { host, name } => {
            facts_mut(s, host).containers.retain(|c| c.name != *name);
            set_status(s, name, "", "down");
        }
        Action::InitSwarm2 { node, .. } => {
            s.swarm2 = Some(Swarm2Observation {
                via: node.clone(),
                cluster_id: Some("model-swarm2".into()),
                nodes: vec![entry(new_id(), node, "leader")],
                // Docker creates the ingress network with every new swarm.
                ingress: Some(true),
            });
        }
        Action::RepairSwarm2 { node, .. } => {
            // The other managers' entries stay as workers of unknown state.
            s.swarm2_locals.clear();
            s.swarm2 = Some(Swarm2Observation {
                via: node.clone(),
                cluster_id: Some("model-swarm2".into()),
                nodes: vec![entry(new_id(), node, "leader")],
                ingress: Some(true),
            });
        }
        Action::SetSwarm2Ingress { enabled, .. } => {
            s.swarm2.as_mut().expect("checked").ingress = Some(*enabled);
        }
        Action::JoinSwarm2 { node, role, .. } => {
            let status = if *role == Role::Manager {
                "reachable"
            } else {
                ""
            };
            let e = entry(new_id(), node, status);
            s.swarm2.as_mut().expect("checked").nodes.push(e);
        }
        Action::PromoteSwarm2 { node, .. } | Action::DemoteSwarm2 { node, .. } => {
            let id = resolve(s, node).expect("checked").id.clone();
            let status = if matches!(a, Action::PromoteSwarm2 { .. }) {
                "reachable"
            } else {
                ""
            };
            for e in &mut s.swarm2.as_mut().expect("checked").nodes {
                if e.id == id {
                    e.manager_status = status.into();
                }
            }
        }
        Action::LeaveSwarm2 { node, .. } => set_status(s, node, "", "down"),
        Action::RemoveSwarm2Entry { node_id, .. } => {
            s.swarm2
                .as_mut()
                .expect("checked")
                .nodes
                .retain(|e| e.id != *node_id);
        }
    }
}

/// Sets the status of `hostname`'s entries (those with status `from`, or all when empty).
fn set_status(s: &mut Observed, hostname: &str, from: &str, to: &str) {
    for e in s.swarm2.iter_mut().flat_map(|s| s.nodes.iter_mut()) {
        if e.hostname == hostname && (from.is_empty() || e.status == from) {
            e.status = to.into();
        }
    }
}

/// What an observer sees of swarm2: the node list of a running, ready manager, or nothing.
fn observe_swarm2(s: &mut Observed) {
    let Some(s2) = &s.swarm2 else { return };
    let answers = |name: &str| {
        node_anywhere(s, name).is_some_and(|c| c.is_running())
            && s2
                .nodes
                .iter()
                .any(|e| e.hostname == name && e.is_manager() && e.is_ready())
    };
    let via = if answers(&s2.via) {
        Some(s2.via.clone())
    } else {
        let mut candidates: Vec<&str> = s2.nodes.iter().map(|e| e.hostname.as_str()).collect();
        candidates.sort();
        candidates
            .into_iter()
            .find(|n| answers(n))
            .map(str::to_string)
    };
    match via {
        Some(via) => s.swarm2.as_mut().expect("some").via = via,
        None => s.swarm2 = None,
    }
}

pub fn entry(id: String, hostname: &str, manager_status: &str) -> Swarm2Node {
    Swarm2Node {
        id,
        hostname: hostname.to_string(),
        status: "ready".into(),
        availability: "active".into(),
        manager_status: manager_status.into(),
    }
}

/// With TLS: the fingerprint of the CA the certificate is signed with, as the executor
/// labels what it signs (the CA must be kept where the action says).
fn signed(
    s: &Observed,
    tls: Option<&sis_types::ClassicTls>,
    labels: &mut std::collections::BTreeMap<String, String>,
) {
    if let Some(tls) = tls {
        let ca = container(s, &tls.ca_host, &tls.ca)
            .and_then(|c| c.label(labels::CA))
            .expect("a certificate signed by a CA that is kept nowhere");
        labels.insert(labels::CA.to_string(), ca.to_string());
    }
}

fn running(
    id: String,
    name: &str,
    image: &str,
    labels: std::collections::BTreeMap<String, String>,
) -> ContainerObservation {
    ContainerObservation {
        id,
        name: name.to_string(),
        image: image.to_string(),
        state: "running".into(),
        labels,
        ring2net_ip: None,
    }
}
