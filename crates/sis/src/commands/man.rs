//! `sis man`: roff man pages generated from the CLI's own definition, so they never drift
//! from `--help`.

use std::io::Write as _;
use std::path::Path;

use crate::cli::{command, ManArgs};
use crate::exit::{CliError, CliResult};

pub fn man(args: ManArgs) -> CliResult {
    let cmd = command();
    match args.out_dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut page)
                .map_err(|e| CliError::new(format!("cannot render the man page: {e}")))?;
            match std::io::stdout().write_all(&page) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                Err(e) => Err(CliError::new(format!("cannot write the man page: {e}"))),
            }
        }
        Some(dir) => write_all(&cmd, &dir),
    }
}

/// Writes `sis.1` and a page per subcommand (`sis-lab-up.1`, …) into `dir`.
fn write_all(cmd: &clap::Command, dir: &Path) -> CliResult {
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::new(format!("cannot create {}: {e}", dir.display())))?;
    clap_mangen::generate_to(cmd.clone(), dir).map_err(|e| {
        CliError::new(format!(
            "cannot write man pages into {}: {e}",
            dir.display()
        ))
    })?;
    let count = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".1"))
                .count()
        })
        .unwrap_or(0);
    eprintln!("{count} man pages in {}", dir.display());
    Ok(())
}
