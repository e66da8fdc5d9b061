//! swarm1, images, ring2net and the K/V store: what the nodes stand on.

use std::collections::BTreeSet;

use std::net::Ipv4Addr;

use sis_spec::addresses::AddressPlan;
use sis_spec::{KvKind, KvStore, Spec, Swarm2Mode};

use super::checks::Checked;
use super::Builder;
use crate::{labels, Action, ContainerState, ImageRef, Phase, Role};

/// Init swarm1 on the first host when no host is in a swarm; join the hosts that are not in it.
pub(crate) fn swarm1(checked: &Checked, out: &mut Builder) {
    let view = &checked.swarm1;
    let hosts = &checked.hosts;
    let via = hosts[view.manager_host].name();
    if view.new {
        out.push(
            Phase::Swarm1,
            Action::InitSwarm1 {
                host: via.to_string(),
                advertise_addr: hosts[0].spec.advertise_addr.clone(),
            },
            "engine is not in a swarm",
        );
    }
    for &i in &view.to_join {
        let reason = if view.new {
            format!("engine is not in a swarm; swarm1 is initialised on host {via} in this plan")
        } else {
            format!("engine is not in swarm1 (host {via} manages it)")
        };
        out.push(
            Phase::Swarm1,
            Action::JoinSwarm1 {
                host: hosts[i].name().to_string(),
                manager_host: via.to_string(),
                role: Role::Worker,
                advertise_addr: hosts[i].spec.advertise_addr.clone(),
            },
            reason,
        );
    }
}

/// Put on every host the images it needs: the node image and the preloaded images where nodes
/// run, the K/V store image on its host. A missing image is copied from the first host in
/// spec order that has it, and pulled only when no host has it.
///
/// Copying rather than trying a pull first: the copy gives every host the very image the
/// others run (a tag pulled today may not be the one pulled last month), works where no
/// registry is reachable or the credentials live elsewhere, and leaves no choice to the
/// executor. Each image is copied to a host at most once per plan.
pub(crate) fn images(spec: &Spec, checked: &Checked, out: &mut Builder) {
    let present: Vec<BTreeSet<String>> = checked
        .hosts
        .iter()
        .map(|h| {
            h.facts
                .images
                .iter()
                .map(|i| ImageRef::parse(i).canonical())
                .collect()
        })
        .collect();
    for (i, h) in checked.hosts.iter().enumerate() {
        let mut wanted: Vec<ImageRef> = Vec::new();
        if h.spec.nodes > 0 {
            wanted.push(spec.swarm2.image.clone());
            wanted.extend(spec.swarm2.preload.iter().cloned());
        }
        if let Some(kv) = spec.kvstore.as_ref().filter(|kv| kv.host == h.name()) {
            wanted.push(kv.image());
        }
        // Classic mode: the agents run beside the nodes, the manager on its host.
        if spec.swarm2.mode == Swarm2Mode::Classic
            && (h.spec.nodes > 0 || spec.classic_manager_host() == Some(h.name()))
        {
            wanted.push(spec.swarm2.classic_image());
        }
        let mut planned = BTreeSet::new();
        for image in wanted {
            let canonical = image.canonical();
            if present[i].contains(&canonical) || !planned.insert(canonical.clone()) {
                continue;
            }
            let source = checked
                .hosts
                .iter()
                .zip(&present)
                .find(|(_, p)| p.contains(&canonical))
                .map(|(other, _)| other.name());
            let host = h.name().to_string();
            match source {
                Some(from) => out.push(
                    Phase::Images,
                    Action::CopyImage {
                        from_host: from.to_string(),
                        host,
                        image,
                    },
                    format!("not on the host; host {from} has it"),
                ),
                None => {
                    let reason = if checked.hosts.len() == 1 {
                        "not on the host"
                    } else {
                        "not on any host of the spec"
                    };
                    out.push(Phase::Images, Action::PullImage { host, image }, reason)
                }
            }
        }
    }
}

/// Create ring2net through a manager host unless a swarm1 manager lists it. Overlay networks
/// are swarm-scoped: a worker lists one only once a container there uses it, so workers'
/// observations do not count as absence.
pub(crate) fn network(spec: &Spec, checked: &Checked, out: &mut Builder) {
    let view = &checked.swarm1;
    let want = &spec.network;
    let present = view.managers.iter().any(|&i| {
        checked.hosts[i]
            .facts
            .networks
            .iter()
            .any(|n| n.name == want.name)
    });
    if present {
        return;
    }
    let via = checked.hosts[view.manager_host].name();
    let addresses = AddressPlan::of(spec);
    let reason = if view.new {
        "swarm1 is initialised in this plan".to_string()
    } else {
        "no swarm1 manager host lists it".to_string()
    };
    out.push(
        Phase::Network,
        Action::CreateNetwork {
            host: via.to_string(),
            name: want.name.clone(),
            subnet: want.subnet,
            ip_range: addresses.dynamic_range(),
            gateway: addresses.gateway(),
        },
        reason,
    );
}

/// Keep one running K/V store, named and placed as the spec says, with the spec's image;
/// remove every other K/V store container of the cluster.
pub(crate) fn kvstore(spec: &Spec, checked: &Checked, out: &mut Builder) {
    let name = labels::kvstore_name(&spec.name);
    let mut kept = false;
    let mut replaced: Option<String> = None;
    // A stopped K/V store that is otherwise as the spec says is started again: replacing it
    // would lose its data (classic swarm2's discovery entries and overlay networks).
    let mut start: Option<(String, String)> = None;
    let mut seen = BTreeSet::new();
    for h in &checked.hosts {
        let kvstores = h.facts.containers.iter().filter(|c| {
            c.label(labels::ROLE) == Some(labels::ROLE_KVSTORE) && seen.insert(c.id.as_str())
        });
        for c in kvstores {
            let remove = match &spec.kvstore {
                None => Some("the spec has no K/V store".to_string()),
                Some(kv) if kv.host != h.name() => {
                    Some(format!("the spec places the K/V store on host {}", kv.host))
                }
                Some(_) if kept => Some(format!("{name} already runs on this host")),
                Some(_) if c.name != name => Some(format!("the K/V store is named {name}")),
                Some(_) if super::nodes::moved(c, AddressPlan::of(spec).kvstore()) => {
                    Some(format!(
                        "its address on {} is {}, not its fixed {}",
                        spec.network.name,
                        c.ring2net_ip.as_deref().unwrap_or_default(),
                        AddressPlan::of(spec).kvstore()
                    ))
                }
                Some(kv)
                    if !c.image.starts_with("sha256:")
                        && ImageRef::parse(&c.image).canonical() != kv.image().canonical() =>
                {
                    Some(format!("image {} → {}", c.image, kv.image()))
                }
                // A container being removed, or that died and cannot start as it is.
                Some(_) if matches!(c.state, ContainerState::Removing | ContainerState::Dead) => {
                    Some(format!("container is {}", c.state))
                }
                Some(_) => {
                    kept = true;
                    // Paused (by `sis chaos pause`) or restarting: left as it is.
                    if matches!(c.state, ContainerState::Created | ContainerState::Exited) {
                        start = Some((h.name().to_string(), c.state.to_string()));
                    }
                    None
                }
            };
            if let Some(reason) = remove {
                if spec.kvstore.as_ref().is_some_and(|kv| kv.host == h.name()) && c.name == name {
                    replaced = Some(reason.clone());
                }
                out.push(
                    Phase::KvStoreRemove,
                    Action::RemoveKvStore {
                        host: h.name().to_string(),
                        name: c.name.clone(),
                    },
                    reason,
                );
            }
        }
    }
    if let Some((host, state)) = start {
        out.push(
            Phase::KvStore,
            Action::StartKvStore { host, name },
            format!("container is {state}; started again with its data"),
        );
        return;
    }
    let Some(kv) = spec.kvstore.as_ref().filter(|_| !kept) else {
        return;
    };
    let reason = match replaced {
        Some(why) => format!("replaces the removed one ({why})"),
        None => format!("no running K/V store on host {}", kv.host),
    };
    let address = Some(AddressPlan::of(spec).kvstore());
    out.push(
        Phase::KvStore,
        Action::CreateKvStore {
            host: kv.host.clone(),
            name,
            kind: kv.kind,
            image: kv.image(),
            cmd: kvstore_cmd(kv, address),
            network: spec.network.name.clone(),
            address: AddressPlan::of(spec).kvstore(),
        },
        reason,
    );
}

/// The command of a K/V store container: a single server that needs no peers, answering
/// on the network at `address` (else on whatever address it gets), by the image's kind.
///
/// - `progrium/consul` (the seed's) has `consul agent` as its entrypoint and wants
///   `-server -bootstrap`; `hashicorp/consul` and `consul` run their argument as the consul
///   subcommand, and bind the client API to localhost unless told.
/// - `quay.io/coreos/etcd` and `gcr.io/etcd-development/etcd` have no entrypoint, so the
///   command starts with `etcd`; any other etcd image is taken to have etcd as its
///   entrypoint. `--enable-v2`: dockerd's and classic Swarm's libkv speak etcd's v2 API,
///   which etcd 3.4 and 3.5 serve only when asked.
pub(crate) fn kvstore_cmd(kv: &KvStore, address: Option<Ipv4Addr>) -> Vec<String> {
    let image = kv.image();
    let path = image.path();
    let mut args: Vec<String> = Vec::new();
    match kv.kind {
        KvKind::Consul if path.ends_with("progrium/consul") => {
            args.extend(["-server", "-bootstrap"].map(String::from));
        }
        KvKind::Consul => {
            args.extend(
                ["agent", "-server", "-bootstrap-expect=1", "-client=0.0.0.0"].map(String::from),
            );
        }
        KvKind::Etcd => {
            if path.ends_with("coreos/etcd") || path.ends_with("etcd-development/etcd") {
                args.push("etcd".to_string());
            }
            let advertise = address.map_or("0.0.0.0".to_string(), |a| a.to_string());
            args.extend([
                "--enable-v2".to_string(),
                "--listen-client-urls".to_string(),
                "http://0.0.0.0:2379".to_string(),
                "--advertise-client-urls".to_string(),
                format!("http://{advertise}:2379"),
            ]);
        }
    }
    args
}
