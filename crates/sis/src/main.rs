//! `sis`: the command-line front end. Each command turns its arguments into options and calls
//! the libraries: `sis-spec` (the spec), `sis-planner` (pure planning), `sis-executor`
//! (observe, execute, converge) and `sis-engine` (Docker).

mod cli;
mod commands;
mod exit;
mod hosts;
mod interrupt;
mod output;
mod progress;
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
        Command::Unlock(args) => block_on(commands::unlock(args)),
        Command::Lab(command) => block_on(commands::lab(command)),
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

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "sis=debug,sis_executor=debug,sis_engine=debug,info",
        _ => "trace",
    };
    // bollard logs request and response bodies at debug level: an exec's body carries a
    // swarm2 join token in its environment, a swarm inspection swarm1's tokens. No
    // verbosity shows them.
    let quiet_bodies = "bollard::docker=info".parse().expect("a valid directive");
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default))
        .add_directive(quiet_bodies);
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
