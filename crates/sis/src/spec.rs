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
