//! What `sis lab` reports while it works, one event per step; `Display` gives the line a
//! person reads.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::certs::CertsWritten;
use crate::spec::SpecWrite;

/// What happened to a host container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostChange {
    Created,
    /// It existed, stopped, and was started again (its volume, with its images, kept).
    Started,
    /// It runs as wanted.
    Kept,
    /// It was made with other settings and was made anew; the reason says which.
    Replaced(String),
    /// It is beyond the number of hosts asked for.
    Removed,
}

/// One step of `up` or `down`.
#[derive(Debug, Clone, PartialEq)]
pub enum LabEvent {
    Network {
        name: String,
        subnet: String,
        created: bool,
    },
    Certs {
        dir: PathBuf,
        written: CertsWritten,
    },
    /// `--ssh`: the lab's keys, `generated` of them made now (0: all kept).
    SshKeys {
        dir: PathBuf,
        generated: usize,
    },
    Host {
        name: String,
        ip: String,
        change: HostChange,
    },
    HostReady {
        name: String,
        endpoint: String,
        version: String,
        waited: Duration,
    },
    ImagePresent {
        host: String,
        image: String,
    },
    CopyStarted {
        image: String,
        hosts: Vec<String>,
        size: u64,
    },
    CopyProgress {
        copied: u64,
        size: u64,
        /// The whole archive was read; the hosts are still loading it.
        exported: bool,
        elapsed: Duration,
    },
    CopyDone {
        image: String,
        hosts: Vec<String>,
        bytes: u64,
        elapsed: Duration,
    },
    Spec {
        path: PathBuf,
        outcome: SpecWrite,
    },
    Removed {
        what: String,
    },
    /// The engine could not remove host `host` yet (its processes are still exiting); `down`
    /// tries again after `delay`.
    RemoveRetry {
        host: String,
        attempt: u32,
        attempts: u32,
        delay: Duration,
        error: String,
    },
}

/// `n` bytes in MB (10^6), as `docker images` shows sizes.
pub fn megabytes(n: u64) -> String {
    format!("{:.0} MB", n as f64 / 1e6)
}

/// Throughput in MB/s.
pub fn rate(bytes: u64, elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64().max(1e-3);
    format!("{:.0} MB/s", bytes as f64 / 1e6 / seconds)
}

impl fmt::Display for LabEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LabEvent::Network {
                name,
                subnet,
                created,
            } => {
                let verb = if *created { "created" } else { "exists" };
                write!(f, "network {name} ({subnet}): {verb}")
            }
            LabEvent::Certs { dir, written } => {
                if *written == CertsWritten::default() {
                    write!(f, "certificates in {}: kept", dir.display())
                } else {
                    let mut made = Vec::new();
                    if written.ca {
                        made.push("a CA".to_string());
                    }
                    if written.client {
                        made.push("the client's".to_string());
                    }
                    if written.hosts > 0 {
                        made.push(format!("{} host certificate(s)", written.hosts));
                    }
                    write!(
                        f,
                        "certificates in {}: made {}",
                        dir.display(),
                        made.join(", ")
                    )
                }
            }
            LabEvent::SshKeys { dir, generated: 0 } => {
                write!(f, "ssh keys in {}: kept", dir.display())
            }
            LabEvent::SshKeys { dir, generated } => {
                write!(f, "ssh keys in {}: generated {generated}", dir.display())
            }
            LabEvent::Host { name, ip, change } => match change {
                HostChange::Created => write!(f, "host {name} ({ip}): created"),
                HostChange::Started => write!(f, "host {name} ({ip}): was stopped, started"),
                HostChange::Kept => write!(f, "host {name} ({ip}): running"),
                HostChange::Replaced(why) => write!(f, "host {name} ({ip}): replaced ({why})"),
                HostChange::Removed => write!(f, "host {name} ({ip}): removed (beyond --hosts)"),
            },
            LabEvent::HostReady {
                name,
                endpoint,
                version,
                waited,
            } => write!(
                f,
                "host {name}: engine {version} answers at {endpoint} ({:.1} s)",
                waited.as_secs_f64()
            ),
            LabEvent::ImagePresent { host, image } => {
                write!(f, "host {host}: has {image}")
            }
            LabEvent::CopyStarted { image, hosts, size } => write!(
                f,
                "copying {image} (~{}) into {}: one export streamed to {} load{}",
                megabytes(*size),
                hosts.join(", "),
                hosts.len(),
                if hosts.len() == 1 { "" } else { "s" }
            ),
            LabEvent::CopyProgress {
                copied,
                exported: true,
                elapsed,
                ..
            } => write!(
                f,
                "  {} read in {:.1} s; the hosts are loading it",
                megabytes(*copied),
                elapsed.as_secs_f64()
            ),
            LabEvent::CopyProgress {
                copied,
                size,
                elapsed,
                ..
            } => {
                let percent = if *size == 0 {
                    0
                } else {
                    (copied * 100 / size).min(99)
                };
                write!(
                    f,
                    "  {} of ~{} ({percent} %), {}",
                    megabytes(*copied),
                    megabytes(*size),
                    rate(*copied, *elapsed)
                )
            }
            LabEvent::CopyDone {
                image,
                hosts,
                bytes,
                elapsed,
            } => write!(
                f,
                "copied {image} into {}: {} in {:.1} s ({})",
                hosts.join(", "),
                megabytes(*bytes),
                elapsed.as_secs_f64(),
                rate(*bytes, *elapsed)
            ),
            LabEvent::Spec { path, outcome } => {
                let verb = match outcome {
                    SpecWrite::Created => "written",
                    SpecWrite::Unchanged => "unchanged",
                    SpecWrite::Rewritten => "rewritten",
                };
                write!(f, "spec {}: {verb}", path.display())
            }
            LabEvent::Removed { what } => write!(f, "removed {what}"),
            LabEvent::RemoveRetry {
                host,
                attempt,
                attempts,
                delay,
                error,
            } => write!(
                f,
                "host {host} could not be removed yet (attempt {attempt} of {attempts}), trying again in {} s: {error}",
                delay.as_secs()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_lines_give_size_share_and_throughput() {
        let line = LabEvent::CopyProgress {
            copied: 200_000_000,
            size: 400_000_000,
            exported: false,
            elapsed: Duration::from_secs(4),
        }
        .to_string();
        assert_eq!(line, "  200 MB of ~400 MB (50 %), 50 MB/s");
        let done = LabEvent::CopyDone {
            image: "sis-node:test".into(),
            hosts: vec!["lab-host1".into(), "lab-host2".into()],
            bytes: 410_000_000,
            elapsed: Duration::from_millis(8200),
        }
        .to_string();
        assert_eq!(
            done,
            "copied sis-node:test into lab-host1, lab-host2: 410 MB in 8.2 s (50 MB/s)"
        );
    }
}
