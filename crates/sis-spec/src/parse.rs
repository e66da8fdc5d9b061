//! Reading a spec: YAML → [`Spec`], then validation.

use std::path::Path;

use crate::{Spec, SpecError, SpecProblem};

/// Reads and validates the spec at `path`.
pub fn load(path: &Path) -> Result<Spec, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_str(&path.display().to_string(), &text)
}

/// Parses and validates spec text; `file` names it in error messages.
pub fn parse_str(file: &str, text: &str) -> Result<Spec, SpecError> {
    let spec: Spec = serde_yaml::from_str(text).map_err(|e| {
        let loc = e.location();
        SpecError::Invalid(vec![SpecProblem {
            file: file.to_string(),
            line: loc.as_ref().map(|l| l.line()),
            column: loc.as_ref().map(|l| l.column()),
            message: e.to_string(),
        }])
    })?;
    let problems = crate::validate::validate(file, &spec);
    if problems.is_empty() {
        Ok(spec)
    } else {
        Err(SpecError::Invalid(problems))
    }
}
