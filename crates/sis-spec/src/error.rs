//! Spec errors: every problem found, each with where it comes from.

use std::fmt;
use std::path::PathBuf;

/// One problem in a spec file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecProblem {
    /// The file, as given by the user.
    pub file: String,
    /// 1-based line and column in the file, where the problem comes from the YAML.
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// What is wrong and, where it helps, what to do.
    pub message: String,
}

impl fmt::Display for SpecProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{}:{}: {}", self.file, l, c, self.message),
            (Some(l), None) => write!(f, "{}:{}: {}", self.file, l, self.message),
            _ => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Why a spec could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file could not be read.
    #[error("cannot read spec {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is not a valid spec; every problem found is listed.
    #[error("{}", render_problems(.0))]
    Invalid(Vec<SpecProblem>),
}

fn render_problems(problems: &[SpecProblem]) -> String {
    let mut out = String::new();
    for (i, p) in problems.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&p.to_string());
    }
    out
}

impl SpecError {
    /// The problems of an invalid spec (empty for a read error).
    pub fn problems(&self) -> &[SpecProblem] {
        match self {
            SpecError::Invalid(p) => p,
            SpecError::Read { .. } => &[],
        }
    }
}
