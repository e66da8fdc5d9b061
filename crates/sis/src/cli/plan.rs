//! `sis plan`'s arguments.

use std::path::PathBuf;

use clap::Args;

use super::{parse_target, Output};

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
    /// Also write the plan as a saved plan (docs/saved-plan.md) for `sis apply FILE.json`,
    /// which carries out exactly this plan, or refuses when the hosts or the spec changed.
    #[arg(long, value_name = "FILE.json")]
    pub out: Option<PathBuf>,
    /// Limit the plan to a host's actions (host:NAME; repeat for more hosts). The plan says
    /// how many actions on other hosts it left out.
    #[arg(long = "target", value_name = "host:NAME", value_parser = parse_target)]
    pub targets: Vec<String>,
    /// Plan even when a host cannot hold its nodes by sis's capacity estimate (idle CPU,
    /// memory, free disk per node); the estimate then comes as a warning.
    #[arg(long)]
    pub ignore_capacity: bool,
}
