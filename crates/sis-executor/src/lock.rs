//! The apply lock: one labelled object on the cluster's first host, so two applies of one
//! cluster from any machines cannot run at once. No local state file.

use std::collections::BTreeMap;

use sis_engine::{EngineError, HostEngine, LockOutcome};
use sis_spec::Spec;
use sis_types::labels;

use crate::observe::Hosts;

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "cluster {cluster} is locked by {owner} since {since} (object {name} on host {host}); \
         wait for that run to finish, or if it died, run `sis unlock` with the same spec"
    )]
    Held {
        cluster: String,
        name: String,
        host: String,
        owner: String,
        since: String,
    },
    #[error("cannot take the lock of cluster {cluster} on host {host}: {source}")]
    Engine {
        cluster: String,
        host: String,
        #[source]
        source: EngineError,
    },
}

/// Name of the lock object.
pub fn lock_name(cluster: &str) -> String {
    format!("{cluster}-sis-lock")
}

/// Who we are, for the lock's owner label: `sis apply (pid 123 on hostname)`.
pub fn owner(command: &str) -> String {
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown host".to_string());
    format!("sis {command} (pid {} on {hostname})", std::process::id())
}

fn lock_host<'a, E>(spec: &'a Spec, hosts: &'a Hosts<E>) -> (&'a str, &'a E) {
    let host = &spec.hosts[0].name;
    (host, hosts[host].as_ref())
}

/// Takes the lock or says who holds it.
pub async fn acquire<E: HostEngine>(
    spec: &Spec,
    hosts: &Hosts<E>,
    owner: &str,
) -> Result<(), LockError> {
    let (host, engine) = lock_host(spec, hosts);
    let name = lock_name(&spec.name);
    let labels = BTreeMap::from([
        (labels::CLUSTER.to_string(), spec.name.clone()),
        (labels::ROLE.to_string(), labels::ROLE_LOCK.to_string()),
    ]);
    match engine.acquire_lock(&name, owner, labels).await {
        Ok(LockOutcome::Acquired) => Ok(()),
        Ok(LockOutcome::Held { owner, since }) => Err(LockError::Held {
            cluster: spec.name.clone(),
            name,
            host: host.to_string(),
            owner,
            since,
        }),
        Err(source) => Err(LockError::Engine {
            cluster: spec.name.clone(),
            host: host.to_string(),
            source,
        }),
    }
}

/// Releases the lock (also used by `sis unlock`).
pub async fn release<E: HostEngine>(spec: &Spec, hosts: &Hosts<E>) -> Result<(), EngineError> {
    let (_, engine) = lock_host(spec, hosts);
    engine.release_lock(&lock_name(&spec.name)).await
}
