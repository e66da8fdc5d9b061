//! Spec errors: every problem found, each with where it comes from.

use std::fmt;
use std::path::PathBuf;

use crate::yaml::Pos;

/// One problem in a spec file. Renders as `FILE:LINE:COLUMN: MESSAGE`, where the message
/// starts with the path of the value it is about (`hosts[2].name: ...`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SpecProblem {
    /// The file, as given by the user.
    pub file: String,
    /// 1-based line in the file, where the problem comes from the YAML.
    pub line: Option<usize>,
    /// 1-based column (in characters) in the file, where the problem comes from the YAML.
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

/// A problem before it is tied to a file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub pos: Option<Pos>,
    pub message: String,
}

impl Problem {
    pub fn at(pos: Pos, message: String) -> Problem {
        Problem {
            pos: Some(pos),
            message,
        }
    }

    pub fn in_file(self, file: &str) -> SpecProblem {
        SpecProblem {
            file: file.to_string(),
            line: self.pos.map(|p| p.line),
            column: self.pos.map(|p| p.column),
            message: self.message,
        }
    }
}

/// The problems of `file` as one error, in the order they appear in the file
/// (problems about the file as a whole first).
pub(crate) fn invalid(file: &str, problems: Vec<Problem>) -> SpecError {
    let mut problems: Vec<SpecProblem> = problems.into_iter().map(|p| p.in_file(file)).collect();
    problems.sort();
    problems.dedup();
    SpecError::Invalid(problems)
}
