//! `sis doctor`: the hosts' limits against what the spec needs. Exits 1 when any check
//! blocks the spec.

use std::fmt::Write;

use sis_executor::doctor::{doctor as run_doctor, DoctorReport, Status};

use crate::cli::{DoctorArgs, Output};
use crate::exit::{self, CliError, CliResult};
use crate::output::{plural, print_json};
use crate::spec::load_spec;

pub async fn doctor(args: DoctorArgs) -> CliResult {
    let spec = load_spec(&args.file)?;
    let hosts = crate::hosts::connect(&spec, &args.file)?;
    let report = run_doctor(&spec, &hosts).await;
    match args.output {
        Output::Json => print_json(&report),
        Output::Text => print!("{}", render(&report)),
    }
    if report.blockers().next().is_some() {
        return Err(CliError::code(exit::ERROR));
    }
    Ok(())
}

/// Per host, one line per check (status, name, value, need), its fix below it; a summary.
fn render(report: &DoctorReport) -> String {
    let mut out = String::new();
    let width = report
        .checks
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0);
    let mut host = None;
    for c in &report.checks {
        if host != Some(&c.host) {
            let _ = writeln!(out, "host {}", c.host);
            host = Some(&c.host);
        }
        let status = match c.status {
            Status::Ok => "ok",
            Status::Warning => "WARNING",
            Status::Blocker => "BLOCKER",
        };
        let _ = writeln!(
            out,
            "  {status:<7}  {:<width$}  {}  (needs {})",
            c.name, c.value, c.need
        );
        if let Some(fix) = &c.fix {
            let _ = writeln!(out, "  {:<7}  {:<width$}  fix: {fix}", "", "");
        }
    }
    let count = |s: Status| report.checks.iter().filter(|c| c.status == s).count();
    let (blockers, warnings) = (count(Status::Blocker), count(Status::Warning));
    let _ = writeln!(
        out,
        "\n{} checks: {blockers} blocker{}, {warnings} warning{}.",
        report.checks.len(),
        plural(blockers),
        plural(warnings)
    );
    out
}
