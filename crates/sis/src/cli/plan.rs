//! `sis plan`'s arguments.

use std::path::PathBuf;

use clap::Args;

use super::Output;

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The cluster spec (YAML).
    pub file: PathBuf,
    /// Plan against a recorded observation (`sis status FILE --output json`) instead of the hosts.
    #[arg(long, value_name = "STATE.json")]
    pub observed: Option<PathBuf>,
    #[arg(long, short, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Plan even when a host cannot hold its nodes by sis's capacity estimate (idle CPU,
    /// memory, free disk per node); the estimate then comes as a warning.
    #[arg(long)]
    pub ignore_capacity: bool,
}
