//! `sis apply`'s arguments.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{parse_duration, parse_target, RunOutput};

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The cluster spec (YAML), or a saved plan (`sis plan SPEC --out FILE.json`), told
    /// apart by its content.
    pub file: PathBuf,
    /// `jsonl`: one JSON event per line as it happens (docs/events.schema.json).
    #[arg(long, short, value_enum, default_value_t = RunOutput::Text)]
    pub output: RunOutput,
    /// Limit apply to a host's actions (host:NAME; repeat for more hosts): the other hosts
    /// are left as they are. Not with a saved plan, which keeps the targets it was made with.
    #[arg(long = "target", value_name = "host:NAME", value_parser = parse_target)]
    pub targets: Vec<String>,
    /// Give up when the hosts do not match the spec after this long (e.g. 90s, 10m); past it
    /// no action starts, and the running ones finish.
    #[arg(long, value_parser = parse_duration, default_value = "15m")]
    pub timeout: Duration,
    /// Actions running at once against one host; node creations at most this many at once
    /// per machine (hosts on one machine, as lab hosts, share it).
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub per_host: usize,
    /// Create nodes under the fixed `--per-host` bound alone. By default creation is paced
    /// by each machine's measured headroom (its load per core, the engine's and swarm2's
    /// answer times): slower as the machine gets busy, and stopped, with what was measured,
    /// when it has no headroom left (the nodes made are complete; apply again continues).
    #[arg(long)]
    pub no_pacing: bool,
    /// With pacing: the share of a machine's cores (percent) its idle nodes may keep busy.
    /// Pacing measures each machine at rest at check points while it grows (about 15 s
    /// each, from 67 nodes on 2 cores) and starts no more nodes at this share or above:
    /// past about 50 % a grow saturates the cores long enough for swarm2's gossip and
    /// heartbeats to time out, and the machine tips.
    #[arg(long, value_name = "PERCENT", default_value_t = sis_planner::capacity::CPU_SHARE_PERCENT as f64, value_parser = parse_percent)]
    pub rest_limit: f64,
    /// swarm2 joins running at once over the whole cluster.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub joins: usize,
    /// Run a repair the plan proposes (marked `!`): after swarm2 lost its quorum,
    /// `swarm init --force-new-cluster` on its freshest surviving manager. Without it, a plan
    /// with a repair stops `apply` before anything changes.
    #[arg(long)]
    pub repair: bool,
    /// Run a plan that replaces (removes and creates again) every swarm2 manager or more than
    /// half of the nodes; such a plan loses swarm2's state, and without this flag `apply`
    /// refuses it before anything changes.
    #[arg(long)]
    pub allow_replace_all: bool,
    /// Print only the final summary and errors.
    #[arg(long, short)]
    pub quiet: bool,
    /// Append the run to this JSON-lines run file (the format of `sis watch --out`, drawn by
    /// `sis report`): the phases' wall times and every node's milestones (create, started,
    /// dockerd ready, joined, Ready), written when the apply ends.
    #[arg(long, value_name = "FILE.jsonl")]
    pub report: Option<PathBuf>,
    /// Plan even when a host cannot hold its nodes by sis's capacity estimate (idle CPU,
    /// memory, free disk per node); the estimate then comes as a warning.
    #[arg(long)]
    pub ignore_capacity: bool,
}

/// A share in percent, above 0 and at most 100.
fn parse_percent(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("`{text}` is not a number of percent (e.g. 45)"))?;
    if value > 0.0 && value <= 100.0 {
        Ok(value)
    } else {
        Err(format!(
            "{value} is not a share of the cores: give more than 0 and at most 100"
        ))
    }
}
