//! ring2net: the attachable overlay network the nodes live on.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use tokio::time::Instant;

use bollard::models::{Ipam, IpamConfig, NetworkCreateRequest};
use bollard::query_parameters::ListNetworksOptions;
use ipnet::Ipv4Net;
use sis_types::NetworkObservation;

use super::observe::sorted;
use super::{is_status, DockerHost};
use crate::error::message;
use crate::EngineError;

/// How long a swarm network may take to show its allocation, or to free its name.
const SETTLE: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(100);

/// The network named `name`, or `None` when the host has none.
pub(super) async fn inspect(
    host: &DockerHost,
    name: &str,
) -> Result<Option<NetworkObservation>, EngineError> {
    let docker = host.client().await?;
    let network = match docker.inspect_network(name, None).await {
        Ok(n) => n,
        Err(e) if is_status(&e, 404) => return Ok(None),
        Err(e) => return Err(host.fail(format!("inspect network {name}"))(e)),
    };
    Ok(Some(NetworkObservation {
        id: network.id.unwrap_or_default(),
        name: network.name.unwrap_or_else(|| name.to_string()),
        driver: network.driver.unwrap_or_default(),
        scope: network.scope.unwrap_or_default(),
        attachable: network.attachable.unwrap_or(false),
        subnets: ipv4_subnets(network.ipam.as_ref()),
        labels: sorted(network.labels),
    }))
}

/// The host's other networks that have an IPv4 subnet (the bridges, say): the planner
/// refuses a spec subnet that overlaps one of them.
pub(super) async fn others_with_subnets(
    host: &DockerHost,
    name: &str,
) -> Result<Vec<NetworkObservation>, EngineError> {
    let docker = host.client().await?;
    let networks = docker
        .list_networks(None::<ListNetworksOptions>)
        .await
        .map_err(host.fail("list networks"))?;
    let mut others: Vec<NetworkObservation> = networks
        .into_iter()
        .filter(|n| n.name.as_deref() != Some(name))
        .map(|n| NetworkObservation {
            subnets: ipv4_subnets(n.ipam.as_ref()),
            id: n.id.unwrap_or_default(),
            name: n.name.unwrap_or_default(),
            driver: n.driver.unwrap_or_default(),
            scope: n.scope.unwrap_or_default(),
            attachable: n.attachable.unwrap_or(false),
            labels: sorted(n.labels),
        })
        .filter(|n| !n.subnets.is_empty())
        .collect();
    others.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(others)
}

/// The IPv4 subnets of an IPAM config (IPv6 ones are left out).
fn ipv4_subnets(ipam: Option<&Ipam>) -> Vec<Ipv4Net> {
    ipam.and_then(|i| i.config.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|c| c.subnet.as_deref()?.parse().ok())
        .collect()
}

pub(super) async fn create(
    host: &DockerHost,
    name: &str,
    subnet: Ipv4Net,
    ip_range: Option<Ipv4Net>,
    labels: BTreeMap<String, String>,
) -> Result<(), EngineError> {
    let docker = host.client().await?;
    let deadline = Instant::now() + SETTLE;
    let mut checked_overlaps = false;
    loop {
        // dockerd 20.10 only refuses a duplicate name when asked to, and bollard 0.21 cannot
        // ask; so look first. (Swarm-scoped names are unique in the swarm store anyway.)
        if let Some(existing) = inspect(host, name).await? {
            // A swarm network shows its driver and subnet once swarm1 has allocated it,
            // shortly after its creation.
            if existing.driver.is_empty() && Instant::now() < deadline {
                tokio::time::sleep(POLL).await;
                continue;
            }
            // Made since the plan looked, by someone else: not ours to adopt.
            let cluster = sis_types::labels::CLUSTER;
            if existing.labels.get(cluster) != labels.get(cluster) {
                return Err(EngineError::Other(format!(
                    "create network {name} on {}: a network of that name appeared without {cluster}={}; \
                     plan again",
                    host.inner.endpoint,
                    labels.get(cluster).map_or("", String::as_str)
                )));
            }
            return same_subnet(host, &existing, subnet);
        }
        if !checked_overlaps {
            check_overlaps(host, name, subnet).await?;
            checked_overlaps = true;
        }
        let request = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("overlay".to_string()),
            attachable: Some(true),
            ipam: Some(Ipam {
                config: Some(vec![IpamConfig {
                    subnet: Some(subnet.to_string()),
                    ip_range: ip_range.map(|r| r.to_string()),
                    ..IpamConfig::default()
                }]),
                ..Ipam::default()
            }),
            labels: Some(unsorted(&labels)),
            ..NetworkCreateRequest::default()
        };
        match docker.create_network(request).await {
            // Look again: done once it shows with its subnet.
            Ok(_) => {}
            // A swarm network that is being removed still holds its name for a moment,
            // while lookups by name do not find it any more.
            Err(e) if is_status(&e, 409) && Instant::now() < deadline => {
                tokio::time::sleep(POLL).await;
            }
            Err(e) if is_status(&e, 409) => {
                return Err(EngineError::Hinted {
                    op: host.op(format!("create network {name}")),
                    hint: "a network of that name is still being removed; try again".to_string(),
                    source: e,
                })
            }
            Err(e) if message(&e).contains("overlaps") => {
                return Err(EngineError::Hinted {
                    op: host.op(format!("create network {name} with subnet {subnet}")),
                    hint: "the subnet overlaps a network of the host; choose another \
                           `network.subnet` or remove the other network"
                        .to_string(),
                    source: e,
                })
            }
            Err(e) => return Err(host.fail(format!("create network {name}"))(e)),
        }
    }
}

/// An existing network of that name is fine when it has the subnet asked for.
fn same_subnet(
    host: &DockerHost,
    existing: &NetworkObservation,
    subnet: Ipv4Net,
) -> Result<(), EngineError> {
    if existing.subnets.contains(&subnet) {
        return Ok(());
    }
    Err(EngineError::Other(format!(
        "network {} already exists on {} with subnet {} (driver {}), not {subnet}; \
         set `network.subnet` to {} or remove the network (`sis destroy`, or \
         `docker network rm {}` when no container uses it)",
        existing.name,
        host.inner.endpoint,
        display_subnets(&existing.subnets),
        existing.driver,
        display_subnets(&existing.subnets),
        existing.name,
    )))
}

fn display_subnets(subnets: &[Ipv4Net]) -> String {
    if subnets.is_empty() {
        "none".to_string()
    } else {
        let subnets: Vec<String> = subnets.iter().map(ToString::to_string).collect();
        subnets.join(", ")
    }
}

/// Refuses a subnet that overlaps a network the host already has. dockerd only notices
/// overlaps with local networks; an overlapping swarm network would break later, when
/// containers attach.
async fn check_overlaps(host: &DockerHost, name: &str, subnet: Ipv4Net) -> Result<(), EngineError> {
    let docker = host.client().await?;
    let networks = docker
        .list_networks(None::<ListNetworksOptions>)
        .await
        .map_err(host.fail("list networks"))?;
    for network in networks {
        let other_name = network.name.clone().unwrap_or_default();
        for other in ipv4_subnets(network.ipam.as_ref()) {
            if overlaps(subnet, other) {
                return Err(EngineError::Other(format!(
                    "cannot create network {name} with subnet {subnet} on {}: it overlaps \
                     network {other_name} ({other}); choose another `network.subnet` or \
                     remove network {other_name}",
                    host.inner.endpoint
                )));
            }
        }
    }
    Ok(())
}

/// Whether two subnets share an address.
fn overlaps(a: Ipv4Net, b: Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

pub(super) async fn remove(host: &DockerHost, name: &str) -> Result<(), EngineError> {
    let docker = host.client().await?;
    match docker.remove_network(name).await {
        Ok(()) => Ok(()),
        Err(e) if is_status(&e, 404) => Ok(()),
        // A swarm network whose removal is under way: "network <id> not found" (500).
        Err(e) if message(&e).contains("not found") => Ok(()),
        Err(e) => Err(host.fail(format!("remove network {name}"))(e)),
    }
}

/// Labels for bollard's create calls.
pub(super) fn unsorted(labels: &BTreeMap<String, String>) -> HashMap<String, String> {
    labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn subnets_overlap_when_one_contains_the_other() {
        let big = net("10.9.0.0/16");
        assert!(overlaps(big, net("10.9.3.0/24")));
        assert!(overlaps(net("10.9.3.0/24"), big));
        assert!(!overlaps(big, net("10.10.0.0/24")));
        assert!(overlaps(net("0.0.0.0/0"), big));
    }

    #[test]
    fn only_ipv4_subnets_are_kept() {
        let config = |s: &str| IpamConfig {
            subnet: Some(s.to_string()),
            ..IpamConfig::default()
        };
        let ipam = Ipam {
            config: Some(vec![config("10.9.1.0/24"), config("fd00::/64")]),
            ..Ipam::default()
        };
        assert_eq!(ipv4_subnets(Some(&ipam)), vec![net("10.9.1.0/24")]);
    }
}
