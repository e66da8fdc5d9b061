//! `sis lab down`: remove everything labelled with the lab's name, and its certificates.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sis_engine::{DockerHost, HostEngine};

use crate::certs::LabCerts;
use crate::event::LabEvent;
use crate::{validate_name, LabError, LAB_LABEL, SSH_DIR_LABEL, TLS_DIR_LABEL};

/// What `sis lab down` is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownOptions {
    pub name: String,
    /// The local engine.
    pub engine: String,
}

impl DownOptions {
    pub fn new(name: &str) -> DownOptions {
        DownOptions {
            name: name.to_string(),
            engine: crate::DEFAULT_ENGINE.to_string(),
        }
    }
}

/// What `down` removed, and what it had to leave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DownReport {
    pub hosts: Vec<String>,
    pub networks: Vec<String>,
    pub tls_dirs: Vec<PathBuf>,
    /// Paths in a certificate directory that `sis lab` did not write, left in place.
    pub left: Vec<PathBuf>,
}

impl DownReport {
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty() && self.networks.is_empty() && self.tls_dirs.is_empty()
    }
}

/// Removes the lab's host containers with their volumes (and so everything inside them),
/// its network and its certificates. A lab that is not there is no error.
pub async fn down(
    options: &DownOptions,
    report: &dyn Fn(&LabEvent),
) -> Result<DownReport, LabError> {
    validate_name(&options.name)?;
    let name = &options.name;
    let local = DockerHost::connect(&options.engine, None)
        .map_err(LabError::engine("connecting to the local engine"))?;
    let mut done = DownReport::default();

    let containers = local
        .containers_labelled(LAB_LABEL, name)
        .await
        .map_err(LabError::engine("listing the lab's hosts"))?;
    let tls_dirs: BTreeSet<PathBuf> = containers
        .iter()
        .filter_map(|c| c.labels.get(TLS_DIR_LABEL))
        .map(PathBuf::from)
        .collect();
    let ssh_dirs: BTreeSet<PathBuf> = containers
        .iter()
        .filter_map(|c| c.labels.get(SSH_DIR_LABEL))
        .map(PathBuf::from)
        .collect();
    // Concurrently: each removal stops a dockerd with its nodes, which takes a moment.
    let removals = containers
        .iter()
        .map(|c| remove_host(&local, &c.name, report));
    futures::future::try_join_all(removals).await?;
    for c in containers {
        report(&LabEvent::Removed {
            what: format!("host {} with its volume", c.name),
        });
        done.hosts.push(c.name);
    }

    let networks = local
        .networks_labelled(LAB_LABEL, name)
        .await
        .map_err(LabError::engine("listing the lab's networks"))?;
    for n in networks {
        // By ID: dockerd 20.10 may hold two networks of one name.
        local
            .remove_network(&n.id)
            .await
            .map_err(LabError::engine(format!("removing network {}", n.name)))?;
        report(&LabEvent::Removed {
            what: format!("network {}", n.name),
        });
        done.networks.push(n.name);
    }

    for dir in tls_dirs {
        let left = remove_certs(&dir)?;
        report(&LabEvent::Removed {
            what: format!("certificates in {}", dir.display()),
        });
        done.left.extend(left);
        done.tls_dirs.push(dir);
    }
    for dir in ssh_dirs {
        let left = remove_ssh(&dir)?;
        report(&LabEvent::Removed {
            what: format!("ssh keys in {}", dir.display()),
        });
        done.left.extend(left);
    }
    Ok(done)
}

/// Removal attempts of one host: a loaded host's processes may take a while to exit after the
/// kill, and the engine refuses the removal meanwhile.
const REMOVE_ATTEMPTS: u32 = 6;

/// Kills host container `name` first (SIGKILL to its init: the kernel ends every process in
/// it, its nodes' dockerds and their containers included, at once), then removes it with its
/// volume, retried while the engine cannot yet (`did not receive an exit event`, a process
/// that is not reaped yet), 1 + 2 + 4 + 8 + 8 s apart at most.
async fn remove_host(
    local: &DockerHost,
    name: &str,
    report: &dyn Fn(&LabEvent),
) -> Result<(), LabError> {
    // A failed kill (a host that is not running, or one the engine cannot signal) leaves the
    // removal, which kills too, to say what is wrong.
    let _ = local.kill_container(name).await;
    let mut attempt = 1;
    loop {
        match local.remove_container(name).await {
            Ok(()) => return Ok(()),
            Err(e) if attempt < REMOVE_ATTEMPTS => {
                let delay = Duration::from_secs(1 << (attempt - 1).min(3));
                report(&LabEvent::RemoveRetry {
                    host: name.to_string(),
                    attempt,
                    attempts: REMOVE_ATTEMPTS,
                    delay,
                    error: e.to_string(),
                });
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
            Err(e) => {
                return Err(LabError::engine(format!(
                    "removing host {name} ({REMOVE_ATTEMPTS} attempts over about 23 s; its processes did not exit: run `sis lab down` again, and if it still fails, restart the local dockerd)"
                ))(e))
            }
        }
    }
}

/// Removes the files `sis lab up --ssh` writes, then its directories if that emptied them.
/// Returns what stays (files someone else put there).
pub(crate) fn remove_ssh(dir: &Path) -> Result<Vec<PathBuf>, LabError> {
    let (files, dirs) = crate::sshkeys::LabSsh::new(dir).owned_paths();
    remove_owned(files, dirs)
}

/// Removes the files `sis lab` writes in a certificate directory, then the directories if
/// that emptied them. Returns what stays (files someone else put there).
pub(crate) fn remove_certs(dir: &Path) -> Result<Vec<PathBuf>, LabError> {
    let certs = LabCerts::new(dir);
    let host_ips: Vec<Ipv4Addr> = match std::fs::read_dir(dir.join("hosts")) {
        Ok(entries) => entries
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect(),
        Err(_) => Vec::new(),
    };
    let (files, dirs) = certs.owned_paths(&host_ips);
    remove_owned(files, dirs)
}

/// Removes `files`, then `dirs` where that emptied them; returns the directories that stay.
fn remove_owned(files: Vec<PathBuf>, dirs: Vec<PathBuf>) -> Result<Vec<PathBuf>, LabError> {
    for file in files {
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(LabError::file("cannot remove", file)(e)),
        }
    }
    let mut left = Vec::new();
    for d in dirs {
        match std::fs::remove_dir(&d) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(_) if d.is_dir() => left.push(d),
            Err(e) => return Err(LabError::file("cannot remove", d)(e)),
        }
    }
    Ok(left)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removing_certificates_keeps_files_the_lab_did_not_write() {
        let dir = std::env::temp_dir().join(format!("sis-lab-down-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let ips = [Ipv4Addr::new(10, 198, 0, 11), Ipv4Addr::new(10, 198, 0, 12)];
        LabCerts::new(&dir).ensure(&ips).unwrap();
        std::fs::write(dir.join("notes.txt"), "mine").unwrap();
        let left = remove_certs(&dir).unwrap();
        assert_eq!(left, vec![dir.clone()]);
        let remaining: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(remaining, ["notes.txt"]);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(remove_certs(&dir).unwrap(), Vec::<PathBuf>::new());
    }
}
