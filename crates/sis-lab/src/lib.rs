//! Simulated swarm1 hosts on one Docker engine, so that a spec with several hosts can be
//! applied on one machine.
//!
//! A lab is a bridge network with a fixed subnet and N *host containers* on it, each at a fixed
//! address (`.11`, `.12`, …), run from the node image with the capability profile and an
//! anonymous volume on `/var/lib/docker`. Each host's dockerd listens on the bridge over TCP
//! (port 2375 without TLS, or 2376 with TLS and certificates this crate generates), holds the
//! node image (streamed from the local engine, no temporary file) and is thus a host sis can
//! form swarm1 from. [`up`] also writes a ready cluster spec for the hosts. With `ssh`, the
//! hosts run the lab host image (the node image with sshd) and the spec reaches them over
//! `ssh://` with a key this crate generates.
//!
//! Everything belongs to the lab by the label `sis.lab=<name>`: [`down`] removes what carries
//! it, with the hosts' volumes, and the lab's certificates.
//!
//! ```no_run
//! # async fn demo() -> Result<(), sis_lab::LabError> {
//! let mut options = sis_lab::UpOptions::new("lab", 3);
//! options.spec_out = "lab.yaml".into();
//! let report = sis_lab::up(&options, &|event| eprintln!("{event}")).await?;
//! println!("sis apply {}", report.spec.display());
//! sis_lab::down(&sis_lab::DownOptions::new("lab"), &|event| eprintln!("{event}")).await?;
//! # Ok(())
//! # }
//! ```

mod addr;
mod certs;
mod copy;
mod down;
mod error;
mod event;
mod hosts;
mod spec;
mod sshkeys;
mod up;

use std::path::PathBuf;

pub use addr::Subnet;
pub use certs::{CertsWritten, LabCerts};
pub use down::{down, DownOptions, DownReport};
pub use error::LabError;
pub use event::{megabytes, rate, HostChange, LabEvent};
pub use hosts::{status, HostStatus, LabHost};
pub use spec::{LabSpec, SpecWrite};
pub use up::{up, UpOptions, UpReport};

/// The label that marks everything of a lab; its value is the lab's name.
pub const LAB_LABEL: &str = "sis.lab";
/// Role of a lab container (`host`).
const ROLE_LABEL: &str = "sis.lab.role";
/// Hash of what a host container was made from: a host whose label differs is replaced.
const CONFIG_LABEL: &str = "sis.lab.config";
/// The lab's directory of certificates, on hosts that use TLS.
const TLS_DIR_LABEL: &str = "sis.lab.tls-dir";
/// The lab's directory of ssh keys, on hosts that run sshd.
const SSH_DIR_LABEL: &str = "sis.lab.ssh-dir";

/// The defaults of `sis lab up`.
pub const DEFAULT_NAME: &str = "lab";
pub const DEFAULT_SUBNET: &str = "10.198.0.0/24";
pub const DEFAULT_IMAGE: &str = "sis-node:test";
/// What the hosts run with `ssh`: the node image and sshd (tests/labhost-image/build.sh).
pub const DEFAULT_SSH_IMAGE: &str = "sis-labhost:test";
pub const DEFAULT_ENGINE: &str = "unix:///var/run/docker.sock";

/// Ports the hosts' engines listen on, as dockerd's conventions have them.
pub const PORT_PLAIN: u16 = 2375;
pub const PORT_TLS: u16 = 2376;

/// The bridge network of lab `name`.
pub fn bridge_name(name: &str) -> String {
    format!("{name}-bridge")
}

/// The container of host `index` (1-based) of lab `name`.
pub fn host_container_name(name: &str, index: u32) -> String {
    format!("{name}-host{index}")
}

/// The lab's directory of certificates: beside the spec, so the spec's relative `tls:` paths
/// stay short.
pub fn tls_dir_beside(spec: &std::path::Path, name: &str) -> PathBuf {
    spec.parent()
        .unwrap_or_else(|| std::path::Path::new("."))
        .join(format!("{name}-tls"))
}

/// The lab's directory of ssh keys, beside the spec like the certificates.
pub fn ssh_dir_beside(spec: &std::path::Path, name: &str) -> PathBuf {
    spec.parent()
        .unwrap_or_else(|| std::path::Path::new("."))
        .join(format!("{name}-ssh"))
}

/// A lab name must do as a cluster name too (the written spec uses it).
fn validate_name(name: &str) -> Result<(), LabError> {
    let ok = !name.is_empty()
        && name.len() <= 24
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(LabError::Invalid(format!(
            "lab name {name:?}: use lower-case letters, digits and `-`, at most 24 characters, \
             not starting with `-`"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_names_must_also_be_cluster_names() {
        assert!(validate_name("lab").is_ok());
        assert!(validate_name("t-lab-42").is_ok());
        for bad in ["", "Lab", "-lab", "lab_1", "a-very-long-lab-name-indeed"] {
            let e = validate_name(bad).unwrap_err().to_string();
            assert!(e.contains("lower-case letters"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_certificates_live_beside_the_spec() {
        assert_eq!(
            tls_dir_beside(std::path::Path::new("/tmp/x/lab.yaml"), "lab"),
            PathBuf::from("/tmp/x/lab-tls")
        );
        assert_eq!(
            tls_dir_beside(std::path::Path::new("lab.yaml"), "lab"),
            PathBuf::from("lab-tls")
        );
    }
}
