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

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

use crate::LabError;

/// Client material, in the names the docker CLI looks for in `DOCKER_CERT_PATH`.
pub const CA: &str = "ca.pem";
pub const CERT: &str = "cert.pem";
pub const KEY: &str = "key.pem";
const CA_KEY: &str = "ca-key.pem";

/// How long certificates are valid: long enough for a lab, short enough to be honest.
const VALID_DAYS: i64 = 3 * 365;

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
        let issuer_key = if ca_cert.exists() && ca_key.exists() {
            let pem = read(&ca_key)?;
            KeyPair::from_pem(&pem).map_err(|source| LabError::Certificate {
                what: format!("CA (reading its key {})", ca_key.display()),
                source,
            })?
        } else {
            let key = generate_key("CA")?;
            let cert = ca_params()
                .self_signed(&key)
                .map_err(certificate_error("CA"))?;
            write(&ca_cert, &cert.pem())?;
            write_secret(&ca_key, &key.serialize_pem())?;
            written.ca = true;
            key
        };
        // The issuer is rebuilt from the same parameters as the CA certificate, so the
        // certificates it signs name the CA's subject whether it was made now or earlier.
        let issuer = Issuer::new(ca_params(), issuer_key);
        let ca_pem = read(&ca_cert)?;

        if written.ca || !complete(&self.client_dir()) {
            self.leaf(&self.client_dir(), &ca_pem, &issuer, None)?;
            written.client = true;
        }
        for &ip in host_ips {
            let dir = self.host_dir(ip);
            if written.ca || !complete(&dir) {
                self.leaf(&dir, &ca_pem, &issuer, Some(ip))?;
                written.hosts += 1;
            }
        }
        Ok(written)
    }

    /// A certificate signed by the CA: a server's for `ip`, or the client's.
    fn leaf(
        &self,
        dir: &Path,
        ca_pem: &str,
        issuer: &Issuer<'_, KeyPair>,
        ip: Option<Ipv4Addr>,
    ) -> Result<(), LabError> {
        let what = match ip {
            Some(ip) => format!("server ({ip})"),
            None => "client".to_string(),
        };
        let mut params = match ip {
            Some(ip) => CertificateParams::new(vec![ip.to_string()]),
            None => CertificateParams::new(Vec::<String>::new()),
        }
        .map_err(certificate_error(&what))?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(
            DnType::CommonName,
            match ip {
                Some(ip) => ip.to_string(),
                None => "sis lab client".to_string(),
            },
        );
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![if ip.is_some() {
            ExtendedKeyUsagePurpose::ServerAuth
        } else {
            ExtendedKeyUsagePurpose::ClientAuth
        }];
        params.use_authority_key_identifier_extension = true;
        validity(&mut params);
        let key = generate_key(&what)?;
        let cert = params
            .signed_by(&key, issuer)
            .map_err(certificate_error(&what))?;
        std::fs::create_dir_all(dir).map_err(LabError::file("cannot create directory", dir))?;
        write(&dir.join(CA), ca_pem)?;
        write(&dir.join(CERT), &cert.pem())?;
        write_secret(&dir.join(KEY), &key.serialize_pem())
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

/// The CA's parameters: the same every time, so a CA read back from disk signs as it did.
fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, "sis lab CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    validity(&mut params);
    params
}

fn validity(params: &mut CertificateParams) {
    let now = OffsetDateTime::now_utc();
    // A day of slack for clocks that differ between this machine and the hosts.
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(VALID_DAYS);
}

fn generate_key(what: &str) -> Result<KeyPair, LabError> {
    KeyPair::generate().map_err(certificate_error(what))
}

fn certificate_error(what: &str) -> impl FnOnce(rcgen::Error) -> LabError {
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
