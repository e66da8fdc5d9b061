//! `sis unlock`: remove a stale apply lock.

use crate::cli::UnlockArgs;
use crate::exit::CliResult;
use crate::spec::load_spec;

pub async fn unlock(args: UnlockArgs) -> CliResult {
    let file = &args.file;
    let spec = load_spec(file)?;
    let hosts = crate::hosts::connect(&spec, file)?;
    sis_executor::lock::release(&spec, &hosts)
        .await
        .map_err(|e| format!("cannot remove the lock: {}", sis_executor::error_chain(&e)))?;
    println!("cluster {} is unlocked", spec.name);
    Ok(())
}
