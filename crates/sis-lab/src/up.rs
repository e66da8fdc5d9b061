//! `sis lab up`: converge the local engine to a lab of N hosts, then write its spec.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sis_engine::{DockerHost, HostEngine, LabHostSpec};
use sis_types::NodeProfile;

use crate::addr::Subnet;
use crate::certs::LabCerts;
use crate::copy::copy_image;
use crate::event::LabEvent;
use crate::hosts::{connect_hosts, converge_hosts, endpoint, host_spec, wait_ready, LabHost};
use crate::spec::{LabSpec, SpecWrite};
use crate::sshkeys::LabSsh;
use crate::{bridge_name, ssh_dir_beside, tls_dir_beside, validate_name, LabError, LAB_LABEL};

/// What `sis lab up` is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpOptions {
    pub name: String,
    pub hosts: u32,
    pub subnet: String,
    pub tls: bool,
    /// The hosts run sshd (from `ssh_image`) and the spec reaches them over `ssh://` with a
    /// generated key (see [`ssh_dir_beside`](crate::ssh_dir_beside)).
    pub ssh: bool,
    pub ssh_image: String,
    /// Where the spec is written; the certificates go beside it (see [`tls_dir_beside`]).
    pub spec_out: PathBuf,
    pub nodes_per_host: u32,
    /// The image the hosts run, copied into each of them as the node image.
    pub image: String,
    /// The local engine.
    pub engine: String,
}

impl UpOptions {
    /// The defaults of `sis lab up --name NAME --hosts N`.
    pub fn new(name: &str, hosts: u32) -> UpOptions {
        UpOptions {
            name: name.to_string(),
            hosts,
            subnet: crate::DEFAULT_SUBNET.to_string(),
            tls: false,
            ssh: false,
            ssh_image: crate::DEFAULT_SSH_IMAGE.to_string(),
            spec_out: PathBuf::from(format!("{name}.yaml")),
            nodes_per_host: 2,
            image: crate::DEFAULT_IMAGE.to_string(),
            engine: crate::DEFAULT_ENGINE.to_string(),
        }
    }
}

/// What `up` did and left.
#[derive(Debug, Clone)]
pub struct UpReport {
    pub hosts: Vec<LabHost>,
    pub spec: PathBuf,
    pub spec_write: SpecWrite,
    /// The client's certificates (`DOCKER_CERT_PATH`), with `--tls`.
    pub client_tls: Option<PathBuf>,
    /// Whether anything was created, started, replaced, removed or copied.
    pub changed: bool,
    /// Bytes streamed and time taken by the image copy, when there was one.
    pub copy: Option<(u64, Duration)>,
    pub elapsed: Duration,
}

/// Brings the lab to `options`: network, certificates, hosts, their engines answering over
/// TCP with the image, the spec. Safe to run again: what is in place is kept.
pub async fn up(options: &UpOptions, report: &dyn Fn(&LabEvent)) -> Result<UpReport, LabError> {
    let start = Instant::now();
    validate_name(&options.name)?;
    let subnet: Subnet = options.subnet.parse()?;
    if options.hosts == 0 || options.hosts > subnet.host_capacity() {
        return Err(LabError::Invalid(format!(
            "--hosts {}: subnet {subnet} holds 1 to {} hosts (from .11 up)",
            options.hosts,
            subnet.host_capacity()
        )));
    }
    let spec_path = absolute(&options.spec_out)?;
    crate::spec::check_ours(&spec_path)?;
    let local = DockerHost::connect(&options.engine, None)
        .map_err(LabError::engine("connecting to the local engine"))?
        .with_probe_image(&options.image);
    let image = local
        .image_info(&options.image)
        .await
        .map_err(LabError::engine("looking for the node image"))?
        .ok_or_else(|| LabError::NodeImageMissing {
            image: options.image.clone(),
            endpoint: options.engine.clone(),
        })?;
    if options.ssh && options.tls {
        return Err(LabError::Invalid(
            "--ssh and --tls: choose one (over ssh the engine's socket is reached on the host)"
                .to_string(),
        ));
    }
    if options.ssh
        && local
            .image_info(&options.ssh_image)
            .await
            .map_err(LabError::engine("looking for the lab host image"))?
            .is_none()
    {
        return Err(LabError::Invalid(format!(
            "image {} (the node image with sshd, for --ssh) is not on the local engine; build \
             it with tests/labhost-image/build.sh and run `sis lab up` again",
            options.ssh_image
        )));
    }
    let mut changed = false;

    let bridge = bridge_name(&options.name);
    changed |= ensure_network(&local, &options.name, &bridge, subnet, report).await?;
    let profile = host_profile(&local, &options.name, &bridge).await?;

    let ips: Vec<Ipv4Addr> = (1..=options.hosts).map(|i| subnet.host_ip(i)).collect();
    let certs = options
        .tls
        .then(|| LabCerts::new(tls_dir_beside(&spec_path, &options.name)));
    if let Some(certs) = &certs {
        let written = certs.ensure(&ips)?;
        report(&LabEvent::Certs {
            dir: certs.dir.clone(),
            written,
        });
    }

    let ssh = options
        .ssh
        .then(|| LabSsh::new(ssh_dir_beside(&spec_path, &options.name)));
    if let Some(ssh) = &ssh {
        let generated = ssh.ensure(&options.name, &ips)?;
        report(&LabEvent::SshKeys {
            dir: ssh.dir.clone(),
            generated,
        });
    }

    let wanted: Vec<LabHostSpec> = (1..=options.hosts)
        .map(|i| {
            let ip = ips[i as usize - 1];
            host_spec(options, &bridge, i, ip, &profile, &certs, ssh.as_ref())
        })
        .collect();
    let converged = converge_hosts(&local, &options.name, &wanted, report).await?;
    changed |= converged.changed;
    for dir in converged.stale_ssh_dirs {
        crate::down::remove_ssh(&dir)?;
        report(&LabEvent::Removed {
            what: format!("ssh keys in {} (no host uses them now)", dir.display()),
        });
    }
    for dir in converged.stale_tls_dirs {
        crate::down::remove_certs(&dir)?;
        report(&LabEvent::Removed {
            what: format!("certificates in {} (no host uses them now)", dir.display()),
        });
    }

    let client_tls = certs.as_ref().map(|c| c.client_dir());
    let hosts: Vec<LabHost> = wanted
        .iter()
        .map(|h| LabHost {
            container: h.name.clone(),
            ip: h.ipv4.parse().expect("addresses come from the subnet"),
            endpoint: endpoint(&h.ipv4, options.tls),
        })
        .collect();
    let engines = connect_hosts(&hosts, client_tls.as_deref())?;
    let readiness = hosts
        .iter()
        .zip(&engines)
        .map(|(h, e)| wait_ready(&local, h, e, report));
    futures::future::try_join_all(readiness).await?;

    let copy = copy_image(
        &local,
        &options.image,
        &image.id,
        image.size,
        &hosts,
        &engines,
        report,
    )
    .await?;
    changed |= copy.is_some();

    let relative = |dir: &PathBuf| {
        dir.strip_prefix(spec_path.parent().unwrap_or(Path::new("/")))
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| dir.clone())
    };
    let tls_relative = client_tls.as_ref().map(relative);
    let ssh_relative = ssh.as_ref().map(|s| relative(&s.dir));
    let text = LabSpec {
        lab: &options.name,
        bridge: &bridge,
        subnet,
        host_ips: &ips,
        nodes_per_host: options.nodes_per_host,
        image: &options.image,
        ring2net: subnet.ring2net_beside(),
        tls_dir: tls_relative.as_deref(),
        ssh_dir: ssh_relative.as_deref(),
        file: &options.spec_out.display().to_string(),
    }
    .render();
    let spec_write = crate::spec::write(&spec_path, &text)?;
    report(&LabEvent::Spec {
        path: options.spec_out.clone(),
        outcome: spec_write,
    });
    Ok(UpReport {
        hosts,
        spec: options.spec_out.clone(),
        spec_write,
        client_tls,
        changed,
        copy,
        elapsed: start.elapsed(),
    })
}

/// The lab's bridge: created, or found with this lab's label and subnet. `true` if created.
async fn ensure_network(
    local: &DockerHost,
    name: &str,
    bridge: &str,
    subnet: Subnet,
    report: &dyn Fn(&LabEvent),
) -> Result<bool, LabError> {
    let existing = local
        .network_named(bridge)
        .await
        .map_err(LabError::engine("looking for the lab's network"))?;
    let created = match existing {
        Some(n) if n.labels.get(LAB_LABEL).map(String::as_str) != Some(name) => {
            return Err(LabError::Conflict(format!(
                "network {bridge} exists but is not lab {name}'s (it has no label \
                 {LAB_LABEL}={name}); remove it or choose another --name"
            )))
        }
        Some(n) if !n.subnets.contains(&subnet.net()) => {
            let has: Vec<String> = n.subnets.iter().map(ToString::to_string).collect();
            return Err(LabError::Conflict(format!(
                "lab {name} exists with subnet {}, not {subnet}: run `sis lab down --name {name}` \
                 first to change it, or pass --subnet {}",
                has.join(", "),
                has.first().map(String::as_str).unwrap_or("?"),
            )));
        }
        Some(_) => false,
        None => {
            let labels = [(LAB_LABEL.to_string(), name.to_string())].into();
            local
                .create_bridge_network(bridge, subnet.net(), &labels)
                .await
                .map_err(LabError::engine(format!(
                    "creating the lab's network {bridge}"
                )))?;
            true
        }
    };
    report(&LabEvent::Network {
        name: bridge.to_string(),
        subnet: subnet.to_string(),
        created,
    });
    Ok(created)
}

/// The capability profile, without what this engine's bounding set lacks: it works whether
/// or not privileged containers do, and the hosts' own engines then see the same limits.
async fn host_profile(
    local: &DockerHost,
    name: &str,
    bridge: &str,
) -> Result<NodeProfile, LabError> {
    let facts = local
        .observe(name, bridge)
        .await
        .map_err(LabError::engine("reading the local engine's capabilities"))?;
    Ok(NodeProfile::Capabilities {
        cap_drop: facts.caps_missing,
    })
}

fn absolute(path: &Path) -> Result<PathBuf, LabError> {
    std::path::absolute(path).map_err(LabError::file("cannot resolve the path", path))
}
