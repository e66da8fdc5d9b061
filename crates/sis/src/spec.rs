//! Loading the spec a command is given.

use std::path::Path;

use sis_spec::Spec;

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

/// `--target` hosts as the executor's targets; `None` when none were given. Every name must
/// be a host of the spec.
pub fn targets(spec: &Spec, names: &[String]) -> Result<Option<sis_executor::Targets>, String> {
    if names.is_empty() {
        return Ok(None);
    }
    for name in names {
        if !spec.hosts.iter().any(|h| &h.name == name) {
            let known: Vec<&str> = spec.hosts.iter().map(|h| h.name.as_str()).collect();
            return Err(format!(
                "--target host:{name}: the spec has no host {name:?} (its hosts: {})",
                known.join(", ")
            ));
        }
    }
    Ok(Some(sis_executor::Targets {
        hosts: names.iter().cloned().collect(),
    }))
}
