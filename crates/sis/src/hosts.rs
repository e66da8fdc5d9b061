//! Engines for a spec's hosts.

use std::path::Path;
use std::sync::Arc;

use sis_engine::{DockerHost, SshPaths, TlsPaths};
use sis_executor::Hosts;
use sis_spec::Spec;

/// One bollard client per host. TLS and ssh paths in the spec are relative to the spec file.
pub fn connect(spec: &Spec, spec_file: &Path) -> Result<Hosts<DockerHost>, String> {
    let base = spec_file.parent().unwrap_or_else(|| Path::new("."));
    let mut hosts = Hosts::new();
    for h in &spec.hosts {
        let tls = h.tls.as_ref().map(|t| TlsPaths {
            ca: base.join(&t.ca),
            cert: base.join(&t.cert),
            key: base.join(&t.key),
        });
        let endpoint = effective_endpoint(&h.endpoint, std::env::var("DOCKER_HOST").ok());
        let engine = match &h.ssh {
            Some(ssh) => DockerHost::connect_ssh(
                &endpoint,
                &SshPaths {
                    identity: ssh.identity.as_ref().map(|p| base.join(p)),
                    known_hosts: ssh.known_hosts.as_ref().map(|p| base.join(p)),
                },
            ),
            None => DockerHost::connect(&endpoint, tls),
        };
        let engine = engine
            .map_err(|e| {
                format!(
                    "host {} ({}): {}",
                    h.name,
                    endpoint,
                    sis_executor::error_chain(&e)
                )
            })?
            .with_probe_image(&spec.swarm2.image);
        hosts.insert(h.name.clone(), Arc::new(engine));
    }
    Ok(hosts)
}

/// The endpoint to connect to: `DOCKER_HOST` stands in for the default local socket, as it
/// does for the docker CLI; an endpoint written out otherwise is used as written.
fn effective_endpoint(endpoint: &str, docker_host: Option<String>) -> String {
    match docker_host {
        Some(dh) if endpoint == sis_spec::DEFAULT_ENDPOINT && !dh.trim().is_empty() => dh,
        _ => endpoint.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_host_stands_in_for_the_default_socket_only() {
        let dh = Some("tcp://127.0.0.1:2375".to_string());
        assert_eq!(
            effective_endpoint(sis_spec::DEFAULT_ENDPOINT, dh.clone()),
            "tcp://127.0.0.1:2375"
        );
        assert_eq!(
            effective_endpoint("unix:///run/other.sock", dh),
            "unix:///run/other.sock"
        );
        assert_eq!(
            effective_endpoint(sis_spec::DEFAULT_ENDPOINT, None),
            sis_spec::DEFAULT_ENDPOINT
        );
    }
}
