//! The lock as `apply`, `destroy` and `unlock` use it: notes on stderr, errors worded for
//! the user.

use std::path::Path;

use sis_engine::HostEngine;
use sis_executor::lock::{self, Found, Lock, Owner};
use sis_executor::{error_chain, Hosts};
use sis_spec::Spec;

use crate::exit;
use crate::spec::load_spec;

/// Takes the cluster's lock for `sis <command>`, printing notes (skipped hosts, takeovers).
pub async fn take<E: HostEngine>(
    spec: &Spec,
    hosts: &Hosts<E>,
    command: &str,
) -> Result<Lock, String> {
    let taken = lock::acquire(spec, hosts, &Owner::this_process(command))
        .await
        .map_err(|e| error_chain(&e))?;
    for note in &taken.notes {
        eprintln!("note: {note}");
    }
    Ok(taken)
}

/// Releases what [`take`] took; the error names the hosts where that failed.
pub async fn release<E: HostEngine>(hosts: &Hosts<E>, taken: &Lock) -> Result<(), String> {
    let failed = lock::release(hosts, taken).await;
    if failed.is_empty() {
        return Ok(());
    }
    let text: Vec<String> = failed
        .iter()
        .map(|(host, e)| format!("host {host}: {}", error_chain(e)))
        .collect();
    Err(text.join("; "))
}

/// `sis unlock`: removes the cluster's lock from every host, saying who held it; refuses
/// when the holder is a process on this machine that still runs, unless `force`.
pub async fn unlock(file: &Path, force: bool) -> Result<u8, String> {
    let spec = load_spec(file)?;
    let hosts = crate::hosts::connect(&spec, file)?;
    let here = Owner::this_process("unlock");
    let found = lock::holders(&spec, &hosts).await;
    if !force {
        for (host, f) in &found {
            if let Found::Held(held) = f {
                if lock::held_by_live_local_process(held, &here) {
                    return Err(format!(
                        "cluster {} is locked by {} since {} (on host {host}), a process that \
                         still runs on this machine: wait for it to finish or stop it (Ctrl-C \
                         or SIGTERM lets it finish cleanly); `sis unlock --force` removes the \
                         lock anyway",
                        spec.name, held.owner, held.since
                    ));
                }
            }
        }
    }
    let mut problems = Vec::new();
    let mut removed = 0;
    for (host, f) in found {
        match f {
            Found::Free => {}
            Found::Held(held) => match lock::remove(&hosts, &host, &held).await {
                Ok(()) => {
                    removed += 1;
                    println!(
                        "removed the lock of cluster {} on host {host}, held by {} since {}",
                        spec.name, held.owner, held.since
                    );
                }
                Err(e) => problems.push(format!("host {host}: {}", error_chain(&e))),
            },
            Found::Unreachable(e) => problems.push(format!(
                "host {host} could not be checked: {}",
                error_chain(&e)
            )),
        }
    }
    if !problems.is_empty() {
        return Err(format!(
            "the lock of cluster {} may still be held:\n  {}",
            spec.name,
            problems.join("\n  ")
        ));
    }
    if removed == 0 {
        println!("cluster {} was not locked", spec.name);
    } else {
        println!("cluster {} is unlocked", spec.name);
    }
    Ok(exit::OK)
}
