//! `sis chaos`, `sis watch` and `sis report`'s arguments.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use super::{parse_duration, StreamOutput};

#[derive(Debug, Args)]
pub struct ChaosArgs {
    /// The cluster spec (YAML).
    pub file: PathBuf,
    /// `jsonl`: one JSON event per line as it happens (docs/events.schema.json).
    #[arg(long, short, value_enum, default_value_t = StreamOutput::Text, global = true)]
    pub output: StreamOutput,
    #[command(subcommand)]
    pub action: ChaosAction,
}

#[derive(Debug, Subcommand)]
pub enum ChaosAction {
    /// SIGKILL the selected containers (heal starts them again).
    Kill(FaultArgs),
    /// `docker stop` the selected containers (heal starts them again).
    Stop(FaultArgs),
    /// Freeze the selected containers (`docker pause`; heal unpauses them).
    Pause(FaultArgs),
    /// `docker restart` the selected containers.
    Restart(FaultArgs),
    /// Drop packets between groups of nodes (iptables inside the target nodes).
    Partition(PartitionArgs),
    /// Lose packets (--loss), limit bandwidth (--rate) or delay (--delay) in the target nodes.
    Netem(NetemArgs),
    /// Remove every fault sis injected into the cluster, as found on the hosts.
    Heal,
    /// Show the faults active in the cluster, as found on the hosts.
    List,
    /// Run a scenario file of timed faults.
    Run(RunArgs),
}

#[derive(Debug, Args, Clone)]
pub struct FaultArgs {
    /// Which containers: leader, managers, workers, all, kvstore, node:NAME, host:NAME,
    /// random:N, random:P% (several joined by commas).
    #[arg(long, value_name = "SELECTOR")]
    pub target: Option<String>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Args, Clone)]
pub struct CommonArgs {
    /// Heal the fault after this long (sis waits; Ctrl-C heals early). Without it the fault
    /// stays until `sis chaos FILE heal`.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub duration: Option<Duration>,
    /// Seed of random:N, random:P%, halves and majorities-ring (printed when not given).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Append the fault's start and end to this JSON-lines file (the one `sis watch --out` writes).
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// Print the resolved targets and change nothing.
    #[arg(long)]
    pub plan: bool,
}

#[derive(Debug, Args, Clone)]
pub struct PartitionArgs {
    #[command(flatten)]
    pub fault: FaultArgs,
    /// The other side (default: every other container of the cluster).
    #[arg(long, value_name = "SELECTOR")]
    pub from: Option<String>,
    /// isolate (each target alone), halves (all nodes, or the targets, cut in two),
    /// majorities-ring (each node sees a majority, no two the same).
    #[arg(long, value_parser = ["isolate", "halves", "majorities-ring"])]
    pub shape: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct NetemArgs {
    #[command(flatten)]
    pub fault: FaultArgs,
    /// Packet loss each way: 0.3 or 30%.
    #[arg(long, value_parser = parse_probability)]
    pub loss: Option<f64>,
    /// Bandwidth limit (tc units: 1mbit, 500kbit).
    #[arg(long)]
    pub rate: Option<String>,
    /// Added delay (tc units: 100ms); needs the kernel's sch_netem.
    #[arg(long)]
    pub delay: Option<String>,
    /// Delay jitter (tc units: 20ms).
    #[arg(long)]
    pub jitter: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// The scenario (YAML): seed and steps of at, fault, target, duration and fault options.
    pub scenario: PathBuf,
    /// Print each step's resolved targets and change nothing.
    #[arg(long)]
    pub plan: bool,
    /// Append every fault's start and end to this JSON-lines file.
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
}

/// `0.3` or `30%`.
pub fn parse_probability(text: &str) -> Result<f64, String> {
    let value = match text.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|p| p / 100.0),
        None => text.trim().parse::<f64>(),
    }
    .map_err(|_| format!("{text:?} is not a probability: use e.g. 0.3 or 30%"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{text:?}: a probability from 0 to 1 (0% to 100%)"))
    }
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The cluster spec (YAML).
    pub file: PathBuf,
    /// The JSON-lines file to write (appended to when it exists). Needed unless
    /// `--output jsonl` prints the samples on stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// `jsonl`: one JSON event per line on stdout, a sample each interval
    /// (docs/events.schema.json).
    #[arg(long, short, value_enum, default_value_t = StreamOutput::Text)]
    pub output: StreamOutput,
    /// Time between samples.
    #[arg(long, value_parser = parse_duration, default_value = "5s", value_name = "DURATION")]
    pub interval: Duration,
    /// Stop after this long (default: until Ctrl-C).
    #[arg(long = "for", value_parser = parse_duration, value_name = "DURATION")]
    pub for_: Option<Duration>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Run files (JSON lines) written by `sis watch`, `sis chaos --events`, `sis apply
    /// --report`; several are merged on one time axis.
    #[arg(required = true, num_args = 1.., value_name = "RUN")]
    pub runs: Vec<PathBuf>,
    /// The HTML page to write.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}
