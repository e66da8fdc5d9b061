//! Command-line arguments: every clap type of sis, one file per command with arguments of
//! its own. The commands (`crate::commands`) turn them into options for the libraries.

mod apply;
mod chaos;
mod destroy;
mod doctor;
mod lab;
mod plan;
mod status;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use apply::ApplyArgs;
pub use chaos::{ChaosAction, ChaosArgs, CommonArgs, FaultArgs, ReportArgs, RunArgs, WatchArgs};
pub use destroy::DestroyArgs;
pub use doctor::DoctorArgs;
pub use lab::{LabCommand, LabDownArgs, LabStatusArgs, LabUpArgs};
pub use plan::PlanArgs;
pub use status::StatusArgs;

/// The clap command of sis, for completions and man pages.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

#[derive(Debug, Parser)]
#[command(
    name = "sis",
    version,
    about = "swarm in swarm: nested Docker Swarm clusters of hundreds of dind nodes on a few hosts",
    long_about = "sis builds a nested Docker Swarm from a YAML spec: the hosts form swarm1, an \
attachable overlay network (the seed's ring2net) spans them, dind nodes run on every host, and the \
nodes form swarm2. `sis plan` shows what would change; `sis apply` makes it so, idempotently.",
    after_help = "Examples:\n  sis validate specs/local.yaml\n  sis plan specs/local.yaml\n  \
sis apply specs/local.yaml\n  sis status specs/local.yaml --output json > state.json\n  \
sis plan specs/local.yaml --observed state.json --detailed-exitcode\n  \
sis plan specs/local.yaml --out plan.json && sis apply plan.json\n  \
sis apply specs/local.yaml --target host:h1 --output jsonl\n  sis destroy specs/local.yaml\n\n\
Exit codes: 0 success (no changes), 1 error, 2 changes present (plan --detailed-exitcode), \
3 stale saved plan (apply PLAN.json), 130 interrupted."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More log output on stderr (-v: debug, -vv: trace; the HTTP client stays at info, as
    /// its debug output holds join tokens). RUST_LOG overrides it, and can print secrets.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a spec file and report every problem with file:line:column.
    Validate(ValidateArgs),
    /// Print the JSON Schema of the spec format (as in docs/sis.schema.json).
    Schema,
    /// Show the actions that would bring the hosts to the spec, changing nothing.
    Plan(PlanArgs),
    /// Observe, plan and execute until the hosts match the spec.
    #[command(
        long_about = "Observe, plan and execute until the hosts match the spec.\n\n\
Prints the plan, then carries it out: phase by phase, bounded per host (--per-host) and for \
swarm2 joins (--joins), with transient errors retried. Then it observes again and plans again, \
until nothing is left to do or --timeout passes. Running it on a converged cluster changes \
nothing; changing `nodes:` grows or shrinks swarm2.\n\n\
Only one apply or destroy of a cluster runs at a time: a second one refuses and says who holds \
the lock (a container named CLUSTER.sis-lock on every reachable host). A lock left by a run on \
this machine whose process is gone is taken over, with a note. Ctrl-C, SIGTERM and SIGHUP let \
running actions finish and start no new ones; run apply again to finish.\n\n\
Given a saved plan (`sis plan SPEC --out FILE.json`) instead of a spec, apply carries out \
exactly that plan, one pass, after checking that the spec and the hosts are as the plan saw \
them; otherwise it refuses (exit 3) and lists what changed (docs/saved-plan.md)."
    )]
    Apply(ApplyArgs),
    /// Show what is on the hosts: per host nodes running/total, swarm2 ready/down, managers;
    /// with a K/V store, its health, key count and the latency of a write, read and delete.
    Status(StatusArgs),
    /// Remove every container, volume and network of the cluster from its hosts
    /// (`--swarm1`: and swarm1, when sis made it for the cluster).
    Destroy(DestroyArgs),
    /// Check each host's limits (pids, inotify, open files, neighbour table, conntrack, keys,
    /// disk, memory, cores, capabilities, engine) against what the spec needs; exit 1 when
    /// one blocks it.
    #[command(
        long_about = "Check each host's limits against what the spec needs.\n\n\
Per host: kernel.pid_max and threads-max, inotify instances and watches, open files, the \
neighbour table against the containers on the spec's network, conntrack, root's kernel keys, \
vm.max_map_count, free disk and inodes where the engine keeps the nodes' volumes, memory, \
cores, the capability bounding set and the engine. Each check shows the value, what the spec \
needs (with the formula) and the fix. The values are read through the Docker API by a \
short-lived container, so remote hosts are checked the same way.\n\n\
Exits 1 when any check blocks the spec, 0 otherwise."
    )]
    Doctor(DoctorArgs),
    /// Remove the cluster's lock from its hosts, saying who held it (a lock left by a run of
    /// another machine that died; one left on this machine is taken over by the next run).
    Unlock(UnlockArgs),
    #[command(subcommand)]
    Lab(LabCommand),
    /// Break the cluster on purpose (kill, stop, pause, partition, netem), list and heal faults.
    #[command(
        long_about = "Break the cluster on purpose, inside its own containers only.\n\n\
Faults: kill, stop, pause, restart (containers), partition (iptables DROP rules in the nodes' \
network namespaces), netem (loss, rate; delay where the kernel has sch_netem). Targets are \
selectors resolved against the observed cluster: leader, managers, workers, all, kvstore, \
node:NAME, host:NAME, random:N, random:P%. Every fault is recorded on the hosts, so `heal` \
and `list` find it from any machine, even after sis was killed.\n\n\
Examples:\n  sis chaos c.yaml kill --target leader\n  \
sis chaos c.yaml partition --shape isolate --target random:1 --duration 30s\n  \
sis chaos c.yaml netem --target workers --loss 20% --rate 1mbit\n  sis chaos c.yaml list\n  \
sis chaos c.yaml heal\n  sis chaos c.yaml run scenario.yaml --plan"
    )]
    Chaos(ChaosArgs),
    /// Sample the cluster (nodes, leader, API latency, host CPU, memory, disk) into a
    /// JSON-lines file.
    Watch(WatchArgs),
    /// Turn run files (`sis watch --out`, `sis apply --report`) into one self-contained HTML
    /// page of plots on one time axis.
    #[command(
        long_about = "Turn run files into one self-contained HTML page of plots (inline \
SVG, no script, nothing fetched at view time).\n\n\
A run file is JSON lines in the sis-run format: `sis watch --out` samples the cluster into one, \
`sis chaos --events` adds the faults, `sis apply --report` the apply's phases and every node's \
milestones (create, dockerd ready, joined, Ready). Several files are merged on one time axis: \
the samples as line charts with the faults shaded, the applies as a waterfall, a bar per node.\n\n\
Examples:\n  sis report run.jsonl --out report.html\n  \
sis report apply.jsonl watch.jsonl --out report.html"
    )]
    Report(ReportArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(long_about = "Print a shell completion script on stdout.\n\n\
Examples:\n  sis completions bash > /etc/bash_completion.d/sis\n  \
sis completions zsh > \"${fpath[1]}/_sis\"\n  \
sis completions fish > ~/.config/fish/completions/sis.fish")]
    Completions(CompletionsArgs),
    /// Write sis's man pages (sis.1 and one per command, e.g. sis-apply.1).
    #[command(long_about = "Write sis's man pages: sis.1 and one page per command \
(sis-apply.1, sis-lab-up.1, …) into DIR, or sis.1 alone on stdout without --out-dir.\n\n\
Example:\n  sis man --out-dir /usr/local/share/man/man1 && man sis-apply")]
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Directory to write every page into (created if missing); without it, sis.1 goes to
    /// stdout.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The cluster spec (YAML).
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// The cluster spec (YAML).
    pub file: PathBuf,
    /// Remove it even when its holder is a process that still runs on this machine.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// For people.
    Text,
    /// For scripts: one JSON document on stdout.
    Json,
}

/// How `apply` and `destroy` report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunOutput {
    /// For people.
    Text,
    /// For scripts: one JSON document on stdout at the end.
    Json,
    /// For scripts that follow along: one JSON event per line on stdout as it happens
    /// (docs/events.schema.json).
    Jsonl,
}

/// How `chaos` and `watch` report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StreamOutput {
    /// For people.
    Text,
    /// For scripts that follow along: one JSON event per line on stdout as it happens
    /// (docs/events.schema.json).
    Jsonl,
}

/// `host:NAME` of `--target`: the host's name.
pub fn parse_target(text: &str) -> Result<String, String> {
    match text.split_once(':') {
        Some(("host", name)) if !name.is_empty() => Ok(name.to_string()),
        _ => Err(format!(
            "{text:?} is not a target: write host:NAME, NAME one of the spec's hosts"
        )),
    }
}

/// `90`, `90s`, `5m`, `1h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration: use e.g. 90s, 10m or 1h"))?;
    let seconds = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("{text:?}: unknown unit {unit:?}: use s, m or h")),
    };
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert!(parse_duration("10 parsecs").is_err());
    }

    #[test]
    fn targets_name_a_host() {
        assert_eq!(parse_target("host:h1").unwrap(), "h1");
        assert!(parse_target("h1").is_err());
        assert!(parse_target("node:h1-1").is_err());
        assert!(parse_target("host:").is_err());
    }

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
