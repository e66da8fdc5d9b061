//! `sis status`'s arguments.

use std::path::PathBuf;

use clap::Args;

use super::Output;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The cluster spec (YAML).
    pub file: PathBuf,
    /// `json` prints the observed state that `sis plan --observed` reads (with the K/V
    /// store's probe under `kvstore`, times in microseconds).
    #[arg(long, short, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}
