//! The apply lock: one labelled object named `<cluster>.sis-lock` on every reachable host of
//! the cluster, so two applies or destroys of one cluster from any machines cannot run at
//! once, whatever the order of the spec's hosts and even when some host is down. No local
//! state file.
//!
//! Hosts are locked in sorted name order, so two runs that both want the lock never each
//! hold a part and wait for the other: the second stops at the first host the first run
//! holds, releases what it took and refuses. The lock's labels say who took it (hostname,
//! boot, PID namespace, PID and the process's start time), so a lock left by a run on this
//! machine whose process is gone (`kill -9`, a panic, a crash) is taken over with a note.

use std::collections::BTreeMap;

use sis_engine::{EngineError, HostEngine, LockHolder, LockOutcome};
use sis_spec::Spec;
use sis_types::labels;

use crate::observe::{error_chain, Hosts};

pub use crate::owner::{Liveness, Owner};

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

/// Name of the lock object: `<cluster>.sis-lock`.
pub use sis_types::labels::lock_name;

/// The lock as this run holds it: the objects it made, to release exactly those.
#[derive(Debug, Default)]
pub struct Lock {
    /// `(host, lock object ID)`, in the order they were taken.
    pub taken: Vec<(String, String)>,
    /// What the user should know: hosts skipped as unreachable, locks taken over.
    pub notes: Vec<String>,
}

/// The spec's host names, sorted: the order every run takes the lock in.
fn lock_order(spec: &Spec) -> Vec<String> {
    let mut names: Vec<String> = spec.hosts.iter().map(|h| h.name.clone()).collect();
    names.sort();
    names
}

/// Takes the lock on every reachable host, or says who holds it (and keeps nothing).
///
/// An unreachable host is skipped with a note: `apply` refuses to plan with it anyway, and
/// `destroy` goes on with the others. A holder on this machine whose process is gone is
/// removed and the lock taken, with a note.
pub async fn acquire<E: HostEngine>(
    spec: &Spec,
    hosts: &Hosts<E>,
    owner: &Owner,
) -> Result<Lock, LockError> {
    let name = lock_name(&spec.name);
    let mut lock = Lock::default();
    for host in lock_order(spec) {
        let engine = hosts[&host].as_ref();
        match take(engine, &name, owner, &spec.name, &host, &mut lock.notes).await {
            Ok(Some(id)) => lock.taken.push((host, id)),
            Ok(None) => {}
            Err(e) => {
                release(hosts, &lock).await;
                return Err(e);
            }
        }
    }
    Ok(lock)
}

/// Takes the lock on one host: its ID, or `None` when the host is unreachable.
async fn take<E: HostEngine>(
    engine: &E,
    name: &str,
    owner: &Owner,
    cluster: &str,
    host: &str,
    notes: &mut Vec<String>,
) -> Result<Option<String>, LockError> {
    let engine_error = |source| LockError::Engine {
        cluster: cluster.to_string(),
        host: host.to_string(),
        source,
    };
    let lock_labels = lock_labels(cluster, owner);
    // At most one takeover per host: what holds it after ours is another run's, and is named.
    let mut took_over = false;
    loop {
        let held = match engine
            .acquire_lock(name, &owner.describe(), lock_labels.clone())
            .await
        {
            Ok(LockOutcome::Acquired { id }) => return Ok(Some(id)),
            Ok(LockOutcome::Held(held)) => held,
            Err(e) if e.is_unreachable() => {
                notes.push(format!(
                    "host {host} is unreachable, so its lock was not taken ({})",
                    error_chain(&e)
                ));
                return Ok(None);
            }
            Err(e) => return Err(engine_error(e)),
        };
        let gone = Owner::from_labels(&held.labels)
            .is_some_and(|o| o.liveness_from(owner) == Liveness::Gone);
        if !gone || took_over {
            return Err(LockError::Held {
                cluster: cluster.to_string(),
                name: name.to_string(),
                host: host.to_string(),
                owner: held.owner,
                since: held.since,
            });
        }
        // By ID: if another run took it over first, this removes nothing and the next
        // create tells who holds it now.
        engine.release_lock(&held.id).await.map_err(engine_error)?;
        notes.push(format!(
            "took over the lock of cluster {cluster} on host {host} from {} (since {}): \
             that process is gone",
            held.owner, held.since
        ));
        took_over = true;
    }
}

/// Releases the lock objects this run took (and no other), on every host it took one on.
/// Returns the hosts where that failed, with the error.
pub async fn release<E: HostEngine>(hosts: &Hosts<E>, lock: &Lock) -> Vec<(String, EngineError)> {
    let mut failed = Vec::new();
    for (host, id) in lock.taken.iter().rev() {
        if let Err(e) = hosts[host].release_lock(id).await {
            failed.push((host.clone(), e));
        }
    }
    failed
}

/// One host's lock as `sis unlock` sees it.
#[derive(Debug)]
pub enum Found {
    Free,
    Held(LockHolder),
    Unreachable(EngineError),
}

/// Who holds the cluster's lock on each host, in lock order.
pub async fn holders<E: HostEngine>(spec: &Spec, hosts: &Hosts<E>) -> Vec<(String, Found)> {
    let name = lock_name(&spec.name);
    let mut found = Vec::new();
    for host in lock_order(spec) {
        let state = match hosts[&host].lock_holder(&name).await {
            Ok(Some(held)) => Found::Held(held),
            Ok(None) => Found::Free,
            Err(e) => Found::Unreachable(e),
        };
        found.push((host, state));
    }
    found
}

/// Whether `held` belongs to a process of this machine that is still running.
pub fn held_by_live_local_process(held: &LockHolder, here: &Owner) -> bool {
    Owner::from_labels(&held.labels).is_some_and(|o| o.liveness_from(here) == Liveness::Alive)
}

/// Removes one lock object by its ID (`sis unlock`).
pub async fn remove<E: HostEngine>(
    hosts: &Hosts<E>,
    host: &str,
    held: &LockHolder,
) -> Result<(), EngineError> {
    hosts[host].release_lock(&held.id).await
}

/// The labels of the lock object: the cluster's, and the owner's identity.
pub fn lock_labels(cluster: &str, owner: &Owner) -> BTreeMap<String, String> {
    let mut l = owner.labels();
    l.insert(labels::CLUSTER.to_string(), cluster.to_string());
    l.insert(labels::ROLE.to_string(), labels::ROLE_LOCK.to_string());
    l
}
