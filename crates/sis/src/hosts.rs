//! Engines for a spec's hosts.

use std::path::Path;
use std::sync::Arc;

use sis_engine::{DockerHost, TlsPaths};
use sis_executor::Hosts;
use sis_spec::Spec;

/// One bollard client per host. TLS paths in the spec are relative to the spec file.
pub fn connect(spec: &Spec, spec_file: &Path) -> Result<Hosts<DockerHost>, String> {
    let base = spec_file.parent().unwrap_or_else(|| Path::new("."));
    let mut hosts = Hosts::new();
    for h in &spec.hosts {
        let tls = h.tls.as_ref().map(|t| TlsPaths {
            ca: base.join(&t.ca),
            cert: base.join(&t.cert),
            key: base.join(&t.key),
        });
        let engine = DockerHost::connect(&h.endpoint, tls)
            .map_err(|e| {
                format!(
                    "host {} ({}): {}",
                    h.name,
                    h.endpoint,
                    sis_executor::error_chain(&e)
                )
            })?
            .with_probe_image(&spec.swarm2.image);
        hosts.insert(h.name.clone(), Arc::new(engine));
    }
    Ok(hosts)
}
