//! `sis`: the command-line front end. Each command turns its arguments into options and calls
//! the libraries: `sis-spec` (the spec), `sis-planner` (pure planning), `sis-executor`
//! (observe, execute, converge) and `sis-engine` (Docker).

mod apply_lock;
mod cli;
mod commands;
mod exit;
mod hosts;
mod jsonl;
mod output;
mod progress;
mod runlog;
mod saved_plan;
mod signals;
mod spec;
mod timeline;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::exit::{CliError, CliResult};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let result = match cli.command {
        Command::Validate(args) => commands::validate(args),
        Command::Schema => commands::schema(),
        Command::Plan(args) => block_on(commands::plan(args)),
        Command::Apply(args) => block_on(commands::apply(args)),
        Command::Status(args) => block_on(commands::status(args)),
        Command::Destroy(args) => block_on(commands::destroy(args)),
        Command::Doctor(args) => block_on(commands::doctor(args)),
        Command::Unlock(args) => block_on(commands::unlock(args)),
        Command::Lab(command) => block_on(commands::lab(command)),
        Command::Chaos(args) => block_on(commands::chaos(args)),
        Command::Watch(args) => block_on(commands::watch(args)),
        Command::Report(args) => commands::report(args),
        Command::Completions(args) => commands::completions(args),
        Command::Man(args) => commands::man(args),
    };
    match result {
        Ok(()) => ExitCode::from(exit::OK),
        Err(CliError { error, exit_code }) => {
            if let Some(message) = error {
                eprintln!("error: {message}");
            }
            ExitCode::from(exit_code)
        }
    }
}

fn block_on<F: std::future::Future<Output = CliResult>>(f: F) -> CliResult {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::new(format!("cannot start the async runtime: {e}")))?
        .block_on(f)
}

/// The HTTP client's crates. At debug and trace they log request and response bodies, and
/// those hold swarm1's join tokens (swarm inspect, swarm join): the default filters keep them
/// at info at every verbosity. `RUST_LOG` replaces the filter entirely, so
/// `RUST_LOG=trace` prints tokens.
const HTTP_CRATES: &[&str] = &[
    "bollard",
    "hyper",
    "hyper_util",
    "hyperlocal",
    "hyper_rustls",
    "h2",
    "http",
    "rustls",
    "tokio_rustls",
    "openssh",
    "tower",
];

/// The filter for `-v` counts when `RUST_LOG` is not set.
fn default_filter(verbose: u8) -> String {
    let ours = match verbose {
        0 => return "warn".to_string(),
        1 => "sis=debug,sis_executor=debug,sis_engine=debug,info",
        _ => "trace",
    };
    let quiet: Vec<String> = HTTP_CRATES.iter().map(|c| format!("{c}=info")).collect();
    format!("{ours},{}", quiet.join(","))
}

fn init_tracing(verbose: u8) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter(verbose)))
        // bollard logs request and response bodies at debug level: an exec's body carries a
        // swarm2 join token in its environment, a swarm inspection swarm1's tokens. Not even
        // RUST_LOG shows them.
        .add_directive("bollard::docker=info".parse().expect("a valid directive"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_http_client_stays_at_info_at_every_verbosity() {
        for verbose in 1..=3 {
            let filter = default_filter(verbose);
            for c in HTTP_CRATES {
                assert!(filter.contains(&format!(",{c}=info")), "{filter}");
            }
            tracing_subscriber::EnvFilter::try_new(&filter).expect("the filter parses");
        }
        assert_eq!(default_filter(0), "warn");
    }
}
