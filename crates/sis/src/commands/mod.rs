//! One function per command. Each returns the exit code, or an error message for stderr.

mod apply;
mod destroy;
pub mod lab;
mod plan;

use std::path::Path;

use sis_spec::Spec;

pub use apply::apply;
pub use destroy::destroy;
pub use plan::plan;

use crate::cli::{Output, StatusArgs};
use crate::exit;

/// Loads and validates a spec; the error lists every problem, one per line.
pub fn load_spec(file: &Path) -> Result<Spec, String> {
    sis_spec::load(file).map_err(|e| match e {
        sis_spec::SpecError::Invalid(problems) => {
            let mut text = format!(
                "{} is not a valid spec ({} problem{}):",
                file.display(),
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            );
            for p in problems {
                text.push_str(&format!("\n  {p}"));
            }
            text
        }
        other => other.to_string(),
    })
}

pub fn validate(file: &Path) -> Result<u8, String> {
    let spec = load_spec(file)?;
    println!(
        "{}: valid: cluster {}, {} host{}, {} node{}, {} swarm2 manager{}, network {} {}",
        file.display(),
        spec.name,
        spec.hosts.len(),
        plural(spec.hosts.len()),
        spec.total_nodes(),
        plural(spec.total_nodes() as usize),
        spec.swarm2.managers,
        plural(spec.swarm2.managers as usize),
        spec.network.name,
        spec.network.subnet,
    );
    Ok(exit::OK)
}

pub fn schema() -> Result<u8, String> {
    print!("{}", sis_spec::json_schema_text());
    Ok(exit::OK)
}

pub async fn status(args: StatusArgs) -> Result<u8, String> {
    let spec = load_spec(&args.file)?;
    let hosts = crate::hosts::connect(&spec, &args.file)?;
    let observed = sis_executor::observe(&spec, &hosts).await;
    match args.output {
        Output::Json => print_json(&observed),
        Output::Text => print!("{}", crate::status::render(&spec, &observed)),
    }
    Ok(exit::OK)
}

pub async fn unlock(file: &Path, force: bool) -> Result<u8, String> {
    crate::apply_lock::unlock(file, force).await
}

pub fn print_json<T: serde::Serialize>(value: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("output serializes")
    );
}

pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Ctrl-C (or SIGTERM, SIGHUP) once: stop starting actions and let running ones finish.
/// Twice: exit at once.
pub fn interrupt_on_ctrl_c() -> tokio::sync::watch::Receiver<bool> {
    crate::signals::interrupt_on_signals()
}
