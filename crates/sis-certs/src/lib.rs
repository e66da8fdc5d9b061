//! TLS certificates as `dockerd --tlsverify`, `docker --tlsverify` and classic Swarm's
//! `--tlsverify` use them: a CA, and leaf certificates it signs for servers (with their
//! addresses and names as subject alternative names), clients, or both. Everything is PEM
//! text in memory; where it is kept is the caller's business (files of a lab, containers of
//! a cluster).
//!
//! ```
//! let ca = sis_certs::Ca::generate("example CA").unwrap();
//! let leaf = ca.issue("node-1", &["10.9.0.16".to_string()], sis_certs::Usage::Both).unwrap();
//! assert!(leaf.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
//! let again = sis_certs::Ca::from_pem("example CA", ca.cert_pem(), &ca.key_pem()).unwrap();
//! assert_eq!(again.fingerprint(), ca.fingerprint());
//! ```

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PublicKeyData,
};
use time::{Duration, OffsetDateTime};

/// How long certificates are valid: long enough for a lab or a test cluster, short enough to
/// be honest.
const VALID_DAYS: i64 = 3 * 365;

/// A certificate could not be made or read.
#[derive(Debug, thiserror::Error)]
#[error("cannot make the {what} certificate")]
pub struct CertError {
    pub what: String,
    #[source]
    pub source: rcgen::Error,
}

/// What a leaf certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// A TLS server (dockerd's API).
    Server,
    /// A TLS client (the docker CLI).
    Client,
    /// Both: classic Swarm's manager serves its API and connects to the nodes with one
    /// certificate.
    Both,
}

/// A certificate and its private key, as PEM.
#[derive(Clone, PartialEq, Eq)]
pub struct Leaf {
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for Leaf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key stays out of logs and error messages.
        f.debug_struct("Leaf").finish_non_exhaustive()
    }
}

/// A certificate authority: its certificate and the key that signs.
pub struct Ca {
    cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca")
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

impl Ca {
    /// A new CA named `common_name`, with a new key.
    pub fn generate(common_name: &str) -> Result<Ca, CertError> {
        let key = KeyPair::generate().map_err(error("CA"))?;
        let cert = ca_params(common_name)
            .self_signed(&key)
            .map_err(error("CA"))?;
        Ok(Ca {
            cert_pem: cert.pem(),
            issuer: Issuer::new(ca_params(common_name), key),
        })
    }

    /// A CA made earlier, from its certificate and key. `common_name` must be the one it was
    /// generated with: the issuer is rebuilt from the same parameters, so the certificates it
    /// signs name the CA's subject.
    pub fn from_pem(common_name: &str, cert_pem: &str, key_pem: &str) -> Result<Ca, CertError> {
        let key = KeyPair::from_pem(key_pem).map_err(error("CA (reading its key)"))?;
        Ok(Ca {
            cert_pem: cert_pem.to_string(),
            issuer: Issuer::new(ca_params(common_name), key),
        })
    }

    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    pub fn key_pem(&self) -> String {
        self.issuer.key().serialize_pem()
    }

    /// SHA-256 of the CA's public key, in hex (the first 16 bytes): tells one CA from another
    /// without showing anything secret.
    pub fn fingerprint(&self) -> String {
        let der = self.issuer.key().subject_public_key_info();
        let digest = ring::digest::digest(&ring::digest::SHA256, &der);
        digest.as_ref()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// A certificate signed by this CA. `sans` are IP addresses or DNS names (what a client
    /// dials); the first is also the common name when `common_name` is empty.
    pub fn issue(
        &self,
        common_name: &str,
        sans: &[String],
        usage: Usage,
    ) -> Result<Leaf, CertError> {
        let what = format!("{common_name} ({usage:?})");
        let mut params = CertificateParams::new(sans.to_vec()).map_err(error(&what))?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = match usage {
            Usage::Server => vec![ExtendedKeyUsagePurpose::ServerAuth],
            Usage::Client => vec![ExtendedKeyUsagePurpose::ClientAuth],
            Usage::Both => vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
        };
        params.use_authority_key_identifier_extension = true;
        validity(&mut params);
        let key = KeyPair::generate().map_err(error(&what))?;
        let cert = params.signed_by(&key, &self.issuer).map_err(error(&what))?;
        Ok(Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// The CA's parameters: the same every time, so a CA read back signs as it did.
fn ca_params(common_name: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
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

fn error(what: &str) -> impl FnOnce(rcgen::Error) -> CertError {
    let what = what.to_string();
    move |source| CertError { what, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_read_back_has_the_same_fingerprint_and_another_ca_has_another() {
        let ca = Ca::generate("test CA").unwrap();
        let again = Ca::from_pem("test CA", ca.cert_pem(), &ca.key_pem()).unwrap();
        assert_eq!(again.fingerprint(), ca.fingerprint());
        assert_eq!(ca.fingerprint().len(), 32);
        assert_ne!(
            Ca::generate("test CA").unwrap().fingerprint(),
            ca.fingerprint()
        );
    }

    #[test]
    fn a_leaf_debug_shows_no_key() {
        let ca = Ca::generate("test CA").unwrap();
        let leaf = ca
            .issue("n", &["10.0.0.1".to_string(), "n".to_string()], Usage::Both)
            .unwrap();
        assert!(leaf.key_pem.contains("PRIVATE KEY"));
        assert!(!format!("{leaf:?}").contains("PRIVATE"));
        assert!(!format!("{ca:?}").contains("PRIVATE"));
    }
}
