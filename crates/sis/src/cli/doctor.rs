//! `sis doctor`'s arguments.

use std::path::PathBuf;

use clap::Args;

use super::Output;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The cluster spec (YAML).
    pub file: PathBuf,
    #[arg(long, short, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}
