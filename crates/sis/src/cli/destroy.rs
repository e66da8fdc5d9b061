//! `sis destroy`'s arguments.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{parse_duration, RunOutput};

#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// The cluster spec (YAML).
    pub file: PathBuf,
    /// Also make the hosts leave swarm1 — only when sis initialised it for this cluster (the
    /// swarm carries the label sis.swarm1-created-by=CLUSTER). A swarm1 made otherwise stays,
    /// and the plan says so. Other clusters and services on that swarm1 lose it too.
    #[arg(long)]
    pub swarm1: bool,
    /// `jsonl`: one JSON event per line as it happens (docs/events.schema.json).
    #[arg(long, short, value_enum, default_value_t = RunOutput::Text)]
    pub output: RunOutput,
    /// Start no action after this long (e.g. 90s, 10m); the running ones finish.
    #[arg(long, value_parser = parse_duration, default_value = "15m")]
    pub timeout: Duration,
    /// Print only the final summary and errors.
    #[arg(long, short)]
    pub quiet: bool,
}
