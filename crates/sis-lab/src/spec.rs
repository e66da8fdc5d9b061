//! The cluster spec that `sis lab up` writes for its hosts.

use std::net::Ipv4Addr;
use std::path::Path;

use crate::addr::Subnet;
use crate::LabError;

/// The first line of every spec the lab writes: a file that starts otherwise is the user's,
/// and is never overwritten.
pub const HEADER: &str = "# Written by `sis lab up`";

/// What the spec describes.
#[derive(Debug, Clone)]
pub struct LabSpec<'a> {
    pub lab: &'a str,
    pub bridge: &'a str,
    pub subnet: Subnet,
    pub host_ips: &'a [Ipv4Addr],
    pub nodes_per_host: u32,
    pub image: &'a str,
    pub ring2net: Subnet,
    /// The client's TLS directory relative to the spec file, when the hosts use TLS.
    pub tls_dir: Option<&'a Path>,
    /// The lab's ssh key directory relative to the spec file, when the hosts are reached
    /// over ssh.
    pub ssh_dir: Option<&'a Path>,
    /// The spec's file name, for the commands in its comments.
    pub file: &'a str,
}

impl LabSpec<'_> {
    /// swarm2 keeps quorum through the loss of a manager once it has three of them.
    pub fn managers(&self) -> u32 {
        if self.nodes_per_host * self.host_ips.len() as u32 >= 3 {
            3
        } else {
            1
        }
    }

    /// The hosts lack capabilities (they run with the capability profile themselves), so
    /// `auto` resolves to the capability profile without them, as the plan notes.
    fn profile(&self) -> String {
        "  # auto: each host's capability bounding set decides; lab hosts run without\n  \
         # --privileged themselves, so their nodes get the capability profile.\n  \
         privileged: auto\n"
            .to_string()
    }

    /// The spec as YAML, commented for the person who opens it.
    pub fn render(&self) -> String {
        let n = self.host_ips.len();
        let port = if self.tls_dir.is_some() { 2376 } else { 2375 };
        let mut out = format!(
            "{HEADER} for lab {lab}: a swarm1 of {n} simulated host{s} on this machine's\n\
             # Docker engine ({containers} on bridge {bridge}, {subnet}), each with its\n\
             # own dockerd listening on TCP port {port} {tls}.\n{ssh}\
             # `sis lab up` rewrites this file; copy it before editing it by hand.\n\
             #\n\
             #   sis apply {file}    # swarm1 from the hosts, ring2net, the nodes, swarm2\n\
             #   sis status {file}\n\
             #   sis destroy {file}  # removes the cluster; the hosts stay\n\
             #   sis lab down --name {lab}    # removes the hosts too\n\
             version: 1\n\
             name: {lab}\n\
             hosts:\n",
            lab = self.lab,
            s = if n == 1 { "" } else { "s" },
            containers = if n == 1 {
                format!("container {}-host1", self.lab)
            } else {
                format!("containers {lab}-host1..{n}", lab = self.lab)
            },
            bridge = self.bridge,
            subnet = self.subnet,
            tls = if self.tls_dir.is_some() {
                "with TLS (client certificates)"
            } else {
                "without TLS"
            },
            file = self.file,
            ssh = match self.ssh_dir {
                Some(dir) => format!(
                    "# sis reaches them over ssh (sshd in each host; the key and known_hosts\n\
                     # in {}/, made by `sis lab up --ssh`).\n",
                    dir.display()
                ),
                None => String::new(),
            },
        );
        for (i, ip) in self.host_ips.iter().enumerate() {
            match self.ssh_dir {
                Some(dir) => out.push_str(&format!(
                    "  - name: h{index}\n    endpoint: ssh://root@{ip}\n    ssh:\n      \
                     identity: {}\n      known_hosts: {}\n",
                    dir.join(crate::sshkeys::IDENTITY).display(),
                    dir.join(crate::sshkeys::KNOWN_HOSTS).display(),
                    index = i + 1
                )),
                None => out.push_str(&format!(
                    "  - name: h{index}\n    endpoint: tcp://{ip}:{port}\n",
                    index = i + 1
                )),
            }
            if let Some(dir) = self.tls_dir {
                let file = |f: &str| dir.join(f).display().to_string();
                out.push_str(&format!(
                    "    tls:\n      ca: {}\n      cert: {}\n      key: {}\n",
                    file(crate::certs::CA),
                    file(crate::certs::CERT),
                    file(crate::certs::KEY)
                ));
            }
            out.push_str(&format!(
                "    advertise_addr: {ip}\n    nodes: {}\n",
                self.nodes_per_host
            ));
        }
        out.push_str(&format!(
            "# Inside the hosts; clear of the bridge {subnet}, which carries the overlay's traffic.\n\
             network:\n  name: ring2net\n  subnet: {ring2net}\n\
             swarm2:\n  mode: swarm\n  managers: {managers}\n  image: {image}\n\
             {profile}",
            subnet = self.subnet,
            ring2net = self.ring2net,
            managers = self.managers(),
            image = self.image,
            profile = self.profile(),
        ));
        out
    }
}

/// What [`write`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecWrite {
    Created,
    Unchanged,
    Rewritten,
}

/// Refuses a `path` that holds a file the lab did not write: checked before anything is
/// made, so that a lab is not brought up only to fail at its last step.
pub fn check_ours(path: &Path) -> Result<(), LabError> {
    existing(path).map(|_| ())
}

/// The lab's spec at `path`, if there is one; an error if the file there is someone else's.
fn existing(path: &Path) -> Result<Option<String>, LabError> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.starts_with(HEADER) => Ok(Some(text)),
        Ok(_) => Err(LabError::Conflict(format!(
            "{} exists and was not written by `sis lab up`; it is left as it is: pass \
             --spec-out with another path",
            path.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(LabError::file("cannot read", path)(e)),
    }
}

/// Writes `text` to `path`, unless a file there was not written by the lab.
pub fn write(path: &Path, text: &str) -> Result<SpecWrite, LabError> {
    let outcome = match existing(path)? {
        Some(existing) if existing == text => return Ok(SpecWrite::Unchanged),
        Some(_) => SpecWrite::Rewritten,
        None => SpecWrite::Created,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(LabError::file("cannot create directory", parent))?;
    }
    std::fs::write(path, text).map_err(LabError::file("cannot write the spec", path))?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab_spec<'a>(ips: &'a [Ipv4Addr], tls: Option<&'a Path>, per_host: u32) -> LabSpec<'a> {
        let subnet: Subnet = "10.198.0.0/24".parse().unwrap();
        LabSpec {
            lab: "lab",
            bridge: "lab-bridge",
            subnet,
            host_ips: ips,
            nodes_per_host: per_host,
            image: "sis-node:test",
            ring2net: subnet.ring2net_beside(),
            tls_dir: tls,
            ssh_dir: None,
            file: "lab.yaml",
        }
    }

    fn ips(n: u8) -> Vec<Ipv4Addr> {
        (0..n).map(|i| Ipv4Addr::new(10, 198, 0, 11 + i)).collect()
    }

    #[test]
    fn the_written_spec_is_valid_and_names_every_host_by_its_address() {
        let ips = ips(3);
        let text = lab_spec(&ips, None, 2).render();
        let spec = sis_spec::parse_str("lab.yaml", &text).unwrap();
        assert_eq!(spec.name, "lab");
        assert_eq!(spec.total_nodes(), 6);
        assert_eq!(spec.swarm2.managers, 3);
        assert_eq!(spec.swarm2.image, "sis-node:test");
        assert_eq!(spec.network.subnet.to_string(), "10.9.0.0/16");
        let hosts: Vec<_> = spec
            .hosts
            .iter()
            .map(|h| {
                (
                    h.name.as_str(),
                    h.endpoint.as_str(),
                    h.advertise_addr.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            hosts,
            [
                ("h1", "tcp://10.198.0.11:2375", Some("10.198.0.11")),
                ("h2", "tcp://10.198.0.12:2375", Some("10.198.0.12")),
                ("h3", "tcp://10.198.0.13:2375", Some("10.198.0.13")),
            ]
        );
        assert!(spec.hosts.iter().all(|h| h.tls.is_none()));
        assert_eq!(spec.swarm2.privileged, sis_spec::Privileged::Auto);
        assert!(spec.swarm2.cap_drop.is_empty());
        assert!(text.contains("#   sis apply lab.yaml "), "{text}");
    }

    #[test]
    fn with_tls_the_hosts_use_port_2376_and_the_client_files_beside_the_spec() {
        let ips = ips(1);
        let text = lab_spec(&ips, Some(Path::new("lab-tls/client")), 2).render();
        let spec = sis_spec::parse_str("lab.yaml", &text).unwrap();
        let h = &spec.hosts[0];
        assert_eq!(h.endpoint, "tcp://10.198.0.11:2376");
        let tls = h.tls.as_ref().unwrap();
        assert_eq!(
            (tls.ca.as_str(), tls.cert.as_str(), tls.key.as_str()),
            (
                "lab-tls/client/ca.pem",
                "lab-tls/client/cert.pem",
                "lab-tls/client/key.pem"
            )
        );
        // Two nodes cannot hold three managers.
        assert_eq!(spec.swarm2.managers, 1);
    }

    #[test]
    fn with_ssh_the_hosts_are_ssh_endpoints_with_the_labs_key_and_known_hosts() {
        let ips = ips(2);
        let mut lab = lab_spec(&ips, None, 2);
        lab.ssh_dir = Some(Path::new("lab-ssh"));
        let spec = sis_spec::parse_str("lab.yaml", &lab.render()).unwrap();
        for (h, ip) in spec.hosts.iter().zip(&ips) {
            assert_eq!(h.endpoint, format!("ssh://root@{ip}"));
            let ssh = h.ssh.as_ref().unwrap();
            assert_eq!(ssh.identity.as_deref(), Some("lab-ssh/id_ed25519"));
            assert_eq!(ssh.known_hosts.as_deref(), Some("lab-ssh/known_hosts"));
            assert_eq!(h.tls, None);
        }
    }

    #[test]
    fn a_file_the_lab_did_not_write_is_left_alone() {
        let dir = std::env::temp_dir().join(format!("sis-lab-spec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("lab.yaml");
        let ips = ips(2);
        let text = lab_spec(&ips, None, 2).render();
        assert_eq!(write(&path, &text).unwrap(), SpecWrite::Created);
        assert_eq!(write(&path, &text).unwrap(), SpecWrite::Unchanged);
        let other = lab_spec(&ips, None, 4).render();
        assert_eq!(write(&path, &other).unwrap(), SpecWrite::Rewritten);
        std::fs::write(&path, "version: 1\n# mine\n").unwrap();
        let err = write(&path, &text).unwrap_err().to_string();
        assert!(err.contains("not written by `sis lab up`"), "{err}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "version: 1\n# mine\n"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
