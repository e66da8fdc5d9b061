//! `sis apply`'s arguments.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{parse_duration, Output};

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The cluster spec (YAML).
    pub file: PathBuf,
    #[arg(long, short, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Give up when the hosts do not match the spec after this long (e.g. 90s, 10m); past it
    /// no action starts, and the running ones finish.
    #[arg(long, value_parser = parse_duration, default_value = "15m")]
    pub timeout: Duration,
    /// Actions running at once against one host.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub per_host: usize,
    /// swarm2 joins running at once over the whole cluster.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub joins: usize,
    /// Print only the final summary and errors.
    #[arg(long, short)]
    pub quiet: bool,
    /// Write per-phase wall times and every node's timestamps (create, started, dockerd ready,
    /// joined, Ready) to this JSON file.
    #[arg(long, value_name = "FILE.json")]
    pub report: Option<PathBuf>,
    /// Plan even when a host cannot hold its nodes by sis's capacity estimate (idle CPU,
    /// memory, free disk per node); the estimate then comes as a warning.
    #[arg(long)]
    pub ignore_capacity: bool,
}
