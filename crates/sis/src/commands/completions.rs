//! `sis completions SHELL`: a completion script generated from the CLI's own definition.

use std::io::Write as _;

use crate::cli::{command, CompletionsArgs};
use crate::exit::{CliError, CliResult};

pub fn completions(args: CompletionsArgs) -> CliResult {
    let mut cmd = command();
    // Into a buffer first: clap_complete panics when its writer fails (e.g. `| head`).
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "sis", &mut script);
    match std::io::stdout().write_all(&script) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::new(format!(
            "cannot write the completion script: {e}"
        ))),
    }
}
