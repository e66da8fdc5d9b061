//! `sis validate`: load the spec and say what it describes.

use crate::cli::ValidateArgs;
use crate::exit::CliResult;
use crate::output::plural;
use crate::spec::load_spec;

pub fn validate(args: ValidateArgs) -> CliResult {
    let file = &args.file;
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
    Ok(())
}
