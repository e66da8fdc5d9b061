//! `sis unlock`: remove the cluster's lock from its hosts, saying who held it.

use crate::cli::UnlockArgs;
use crate::exit::{CliError, CliResult};

pub async fn unlock(args: UnlockArgs) -> CliResult {
    match crate::apply_lock::unlock(&args.file, args.force).await? {
        0 => Ok(()),
        code => Err(CliError::code(code)),
    }
}
