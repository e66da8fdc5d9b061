//! `sis status`'s arguments.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{parse_duration, Output};

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The cluster spec (YAML).
    pub file: PathBuf,
    /// `json` prints the observed state that `sis plan --observed` reads (with the K/V
    /// store's probe under `kvstore`, times in microseconds).
    #[arg(long, short, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Observe again every --interval until Ctrl-C: on a terminal the screen is redrawn in
    /// place (like watch(1)); otherwise each status follows the last after a line with the time.
    #[arg(long, short)]
    pub watch: bool,
    /// Time between two looks with --watch (e.g. 2s, 1m).
    #[arg(long, value_parser = parse_duration, default_value = "2s", value_name = "DURATION", requires = "watch")]
    pub interval: Duration,
}
