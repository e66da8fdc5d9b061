//! `sis lab up|down|status`: simulated swarm1 hosts on this machine's Docker engine.

use sis_lab::{DownOptions, LabEvent, SpecWrite, UpOptions};

use crate::cli::{LabCommand, LabDownArgs, LabStatusArgs, LabUpArgs};
use crate::exit::CliResult;
use crate::output::plural;

pub async fn lab(command: LabCommand) -> CliResult {
    match command {
        LabCommand::Up(args) => up(args).await,
        LabCommand::Down(args) => down(args).await,
        LabCommand::Status(args) => status(args).await,
    }
}

/// Progress goes to stderr, one line per step; the summary and next steps to stdout.
fn print_event(event: &LabEvent) {
    eprintln!("{event}");
}

fn error(e: &sis_lab::LabError) -> String {
    sis_executor::error_chain(e)
}

/// `sis lab up`'s arguments as the lab's options.
fn up_options(args: LabUpArgs) -> UpOptions {
    let mut options = UpOptions::new(&args.name, args.hosts);
    options.subnet = args.subnet;
    options.tls = args.tls;
    options.ssh = args.ssh;
    options.ssh_image = args.ssh_image;
    if let Some(path) = args.spec_out {
        options.spec_out = path;
    }
    options.nodes_per_host = args.nodes_per_host;
    options.image = args.image;
    options
}

async fn up(args: LabUpArgs) -> CliResult {
    let options = up_options(args);
    let report = sis_lab::up(&options, &print_event)
        .await
        .map_err(|e| error(&e))?;

    let verb = if report.changed {
        "is up"
    } else {
        "was up already; nothing changed"
    };
    println!(
        "lab {} {verb} ({:.1} s): {} host{}",
        options.name,
        report.elapsed.as_secs_f64(),
        report.hosts.len(),
        plural(report.hosts.len())
    );
    for h in &report.hosts {
        println!("  {}  {}", h.container, h.endpoint);
    }
    if let Some((bytes, elapsed)) = report.copy {
        println!(
            "  image {} copied: {} in {:.1} s ({})",
            options.image,
            sis_lab::megabytes(bytes),
            elapsed.as_secs_f64(),
            sis_lab::rate(bytes, elapsed)
        );
    }
    let spec = report.spec.display();
    if report.spec_write == SpecWrite::Unchanged {
        println!("spec: {spec} (unchanged)");
    } else {
        println!("spec: {spec}");
    }
    println!("\nNext:\n  sis apply {spec}\n  sis status {spec}");
    if let (Some(dir), Some(first)) = (&report.client_tls, report.hosts.first()) {
        println!(
            "  DOCKER_CERT_PATH={} docker --tlsverify -H {} info",
            dir.display(),
            first.endpoint
        );
    } else if let (true, Some(first)) = (options.ssh, report.hosts.first()) {
        let dir = sis_lab::ssh_dir_beside(&report.spec, &options.name);
        println!(
            "  ssh -i {} -o UserKnownHostsFile={} root@{} docker info",
            dir.join("id_ed25519").display(),
            dir.join("known_hosts").display(),
            first.ip
        );
    } else if let Some(first) = report.hosts.first() {
        println!("  docker -H {} info", first.endpoint);
    }
    println!("  sis lab down --name {}", options.name);
    Ok(())
}

async fn down(args: LabDownArgs) -> CliResult {
    let report = sis_lab::down(&DownOptions::new(&args.name), &print_event)
        .await
        .map_err(|e| error(&e))?;
    if report.is_empty() {
        println!("no lab named {}: nothing to remove", args.name);
    } else {
        println!(
            "lab {} is down: {} host{}, {} network{} removed",
            args.name,
            report.hosts.len(),
            plural(report.hosts.len()),
            report.networks.len(),
            plural(report.networks.len()),
        );
    }
    for path in &report.left {
        println!(
            "left {}: it holds files sis lab did not write",
            path.display()
        );
    }
    Ok(())
}

async fn status(args: LabStatusArgs) -> CliResult {
    let hosts = sis_lab::status(&args.name, sis_lab::DEFAULT_ENGINE)
        .await
        .map_err(|e| error(&e))?;
    if hosts.is_empty() {
        println!(
            "no lab named {}: `sis lab up --hosts N --name {}` makes one",
            args.name, args.name
        );
        return Ok(());
    }
    println!(
        "lab {}: {} host{}",
        args.name,
        hosts.len(),
        plural(hosts.len())
    );
    for h in hosts {
        let endpoint = h.endpoint.as_deref().unwrap_or("(no address)");
        let engine = match &h.engine {
            Ok(version) => format!("engine {version} answers"),
            Err(why) => format!("engine: {why}"),
        };
        println!("  {}  {}  {endpoint}  {engine}", h.container, h.state);
    }
    Ok(())
}
