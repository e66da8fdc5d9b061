//! TLS failures said in the user's terms: rustls names them (`UnknownIssuer`, an alert from
//! the engine), the hint says which file of the spec's `tls:` is at fault.

use std::path::Path;

/// What to tell the user about a failed connection to `endpoint` with the CA file `ca`, when
/// it failed for a TLS reason.
pub(super) fn hint(error: &bollard::errors::Error, endpoint: &str, ca: &Path) -> Option<String> {
    let chain = chain(error);
    let host = endpoint
        .trim_start_matches("tcp://")
        .rsplit_once(':')
        .map_or(endpoint, |(host, _)| host);
    let ca = ca.display();
    if chain.contains("UnknownIssuer") || chain.contains("BadSignature") {
        Some(format!(
            "the engine's TLS certificate was not trusted: it is not signed by the CA in {ca} \
             (`tls.ca`); give the CA that signed the engine's certificate"
        ))
    } else if chain.contains("NotValidForName") {
        Some(format!(
            "the engine's TLS certificate is not valid for {host}: its subject alternative \
             names do not include it; use the address the certificate was made for"
        ))
    } else if chain.contains("Expired") || chain.contains("NotValidYet") {
        Some(
            "the engine's TLS certificate is outside its validity period (check the clocks, \
             or renew the certificate)"
                .to_string(),
        )
    } else if chain.contains("received fatal alert") {
        Some(
            "the engine refused the client certificate (`tls.cert`, `tls.key`): it must be \
             signed by a CA the engine trusts (its --tlscacert)"
                .to_string(),
        )
    } else {
        None
    }
}

/// The error and its causes, joined.
pub(super) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io(message: &str) -> bollard::errors::Error {
        bollard::errors::Error::IOError {
            err: std::io::Error::other(message.to_string()),
        }
    }

    #[test]
    fn an_unknown_issuer_names_the_ca_file() {
        let e = io("client error (Connect): invalid peer certificate: UnknownIssuer");
        let hint = hint(&e, "tcp://10.0.0.1:2376", Path::new("certs/ca.pem")).unwrap();
        assert!(hint.contains("not trusted"), "{hint}");
        assert!(hint.contains("certs/ca.pem"), "{hint}");
    }

    #[test]
    fn a_wrong_name_names_the_address() {
        let e = io("invalid peer certificate: NotValidForName");
        let hint = hint(&e, "tcp://10.0.0.1:2376", Path::new("ca.pem")).unwrap();
        assert!(hint.contains("not valid for 10.0.0.1"), "{hint}");
    }

    #[test]
    fn other_failures_get_no_tls_hint() {
        let e = io("Connection refused (os error 111)");
        assert_eq!(hint(&e, "tcp://10.0.0.1:2376", Path::new("ca.pem")), None);
    }
}
