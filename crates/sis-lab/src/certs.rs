//! TLS material of a lab, as `dockerd --tlsverify` and `docker --tlsverify` use it: a CA, one
//! server certificate per host with the host's IP as its subject alternative name, and one
//! client certificate.
//!
//! Layout of the lab's directory:
//! ```text
//! ca.pem ca-key.pem                 the CA (its key never leaves this machine)
//! client/{ca,cert,key}.pem          for the spec's `tls:` and `docker --tlsverify`
//! hosts/<IP>/{ca,cert,key}.pem      mounted read-only into the host container at that IP
//! ```
//! Files that exist are kept, so `sis lab up` run again changes nothing; a new CA (its files
//! removed by hand) renews every certificate it signed.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use sis_certs::{Ca, Usage};

use crate::LabError;

/// Client material, in the names the docker CLI looks for in `DOCKER_CERT_PATH`.
pub const CA: &str = "ca.pem";
pub const CERT: &str = "cert.pem";
pub const KEY: &str = "key.pem";
const CA_KEY: &str = "ca-key.pem";

/// The common name of a lab's CA; a CA read back from disk is rebuilt with it.
const CA_NAME: &str = "sis lab CA";

/// The TLS files of a lab in `dir`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabCerts {
    pub dir: PathBuf,
}

/// What [`LabCerts::ensure`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CertsWritten {
    pub ca: bool,
    pub client: bool,
    pub hosts: usize,
}

impl LabCerts {
    pub fn new(dir: impl Into<PathBuf>) -> LabCerts {
        LabCerts { dir: dir.into() }
    }

    /// The client's directory (`ca.pem`, `cert.pem`, `key.pem`), for `DOCKER_CERT_PATH`.
    pub fn client_dir(&self) -> PathBuf {
        self.dir.join("client")
    }

    /// The directory mounted into the host at `ip`.
    pub fn host_dir(&self, ip: Ipv4Addr) -> PathBuf {
        self.dir.join("hosts").join(ip.to_string())
    }

    /// Makes whatever is missing: the CA, the client certificate, a server certificate for
    /// each of `host_ips`.
    pub fn ensure(&self, host_ips: &[Ipv4Addr]) -> Result<CertsWritten, LabError> {
        let mut written = CertsWritten::default();
        let ca_cert = self.dir.join(CA);
        let ca_key = self.dir.join(CA_KEY);
        let ca = if ca_cert.exists() && ca_key.exists() {
            Ca::from_pem(CA_NAME, &read(&ca_cert)?, &read(&ca_key)?).map_err(|source| {
                LabError::Certificate {
                    what: format!("CA (reading {})", ca_key.display()),
                    source,
                }
            })?
        } else {
            let ca = Ca::generate(CA_NAME).map_err(certificate_error("CA"))?;
            write(&ca_cert, ca.cert_pem())?;
            write_secret(&ca_key, &ca.key_pem())?;
            written.ca = true;
            ca
        };

        if written.ca || !complete(&self.client_dir()) {
            self.leaf(&self.client_dir(), &ca, None)?;
            written.client = true;
        }
        for &ip in host_ips {
            let dir = self.host_dir(ip);
            if written.ca || !complete(&dir) {
                self.leaf(&dir, &ca, Some(ip))?;
                written.hosts += 1;
            }
        }
        Ok(written)
    }

    /// A certificate signed by the CA: a server's for `ip`, or the client's.
    fn leaf(&self, dir: &Path, ca: &Ca, ip: Option<Ipv4Addr>) -> Result<(), LabError> {
        let leaf = match ip {
            Some(ip) => ca.issue(&ip.to_string(), &[ip.to_string()], Usage::Server),
            None => ca.issue("sis lab client", &[], Usage::Client),
        }
        .map_err(|source| LabError::Certificate {
            what: match ip {
                Some(ip) => format!("server ({ip})"),
                None => "client".to_string(),
            },
            source,
        })?;
        std::fs::create_dir_all(dir).map_err(LabError::file("cannot create directory", dir))?;
        write(&dir.join(CA), ca.cert_pem())?;
        write(&dir.join(CERT), &leaf.cert_pem)?;
        write_secret(&dir.join(KEY), &leaf.key_pem)
    }

    /// Every file [`LabCerts::ensure`] may write for `host_ips`, then the directories, deepest
    /// first: what `sis lab down` removes (and nothing else that may be there).
    pub fn owned_paths(&self, host_ips: &[Ipv4Addr]) -> (Vec<PathBuf>, Vec<PathBuf>) {
        let leaf_files = |dir: PathBuf| [CA, CERT, KEY].map(|f| dir.join(f));
        let mut files = vec![self.dir.join(CA), self.dir.join(CA_KEY)];
        files.extend(leaf_files(self.client_dir()));
        let mut dirs: Vec<PathBuf> = host_ips.iter().map(|&ip| self.host_dir(ip)).collect();
        for dir in &dirs {
            files.extend(leaf_files(dir.clone()));
        }
        dirs.extend([self.dir.join("hosts"), self.client_dir(), self.dir.clone()]);
        (files, dirs)
    }
}

fn certificate_error(what: &str) -> impl FnOnce(sis_certs::CertError) -> LabError {
    let what = what.to_string();
    move |source| LabError::Certificate { what, source }
}

fn complete(dir: &Path) -> bool {
    [CA, CERT, KEY].iter().all(|f| dir.join(f).is_file())
}

fn read(path: &Path) -> Result<String, LabError> {
    std::fs::read_to_string(path).map_err(LabError::file("cannot read", path))
}

fn write(path: &Path, text: &str) -> Result<(), LabError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(LabError::file("cannot create directory", parent))?;
    }
    std::fs::write(path, text).map_err(LabError::file("cannot write", path))
}

/// Private keys are readable by their owner only.
fn write_secret(path: &Path, text: &str) -> Result<(), LabError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(LabError::file("cannot create directory", parent))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(LabError::file("cannot write", path))?;
    file.write_all(text.as_bytes())
        .map_err(LabError::file("cannot write", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sis-lab-certs-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_second_run_keeps_every_file_and_a_new_host_gets_its_own_certificate() {
        let dir = temp_dir("keep");
        let certs = LabCerts::new(&dir);
        let a = Ipv4Addr::new(10, 198, 0, 11);
        let b = Ipv4Addr::new(10, 198, 0, 12);
        let first = certs.ensure(&[a]).unwrap();
        assert_eq!(
            first,
            CertsWritten {
                ca: true,
                client: true,
                hosts: 1
            }
        );
        let server = std::fs::read_to_string(certs.host_dir(a).join(CERT)).unwrap();
        let again = certs.ensure(&[a, b]).unwrap();
        assert_eq!(
            again,
            CertsWritten {
                ca: false,
                client: false,
                hosts: 1
            }
        );
        assert_eq!(
            std::fs::read_to_string(certs.host_dir(a).join(CERT)).unwrap(),
            server
        );
        assert_eq!(
            std::fs::read_to_string(certs.host_dir(b).join(CA)).unwrap(),
            std::fs::read_to_string(dir.join(CA)).unwrap()
        );
        let mode = |p: PathBuf| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(p).unwrap().permissions().mode() & 0o777
        };
        assert_eq!(mode(dir.join(CA_KEY)), 0o600);
        assert_eq!(mode(certs.client_dir().join(KEY)), 0o600);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_owned_paths_are_exactly_what_ensure_wrote() {
        let dir = temp_dir("owned");
        let certs = LabCerts::new(&dir);
        let ips = [Ipv4Addr::new(10, 198, 0, 11), Ipv4Addr::new(10, 198, 0, 12)];
        certs.ensure(&ips).unwrap();
        let (files, dirs) = certs.owned_paths(&ips);
        for f in &files {
            std::fs::remove_file(f).unwrap();
        }
        for d in &dirs {
            std::fs::remove_dir(d).unwrap();
        }
        assert!(!dir.exists());
    }
}
