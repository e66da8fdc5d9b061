//! Exit codes, in one place, and the error that carries one out of a command.

/// Success; for `plan --detailed-exitcode`: no changes.
pub const OK: u8 = 0;
/// Any error: bad spec, unreachable host, failed action, no convergence.
pub const ERROR: u8 = 1;
/// `plan --detailed-exitcode`: the plan has changes.
pub const CHANGES: u8 = 2;
/// `apply PLAN.json`: the saved plan is stale (the hosts or the spec changed since it was
/// made); nothing was done.
pub const STALE: u8 = 3;
/// Stopped by Ctrl-C.
pub const INTERRUPTED: u8 = 130;

/// What a command returns: `Ok` exits with [`OK`].
pub type CliResult = Result<(), CliError>;

/// Why a command exits with something other than [`OK`]: the exit code travels with the
/// error, so the command that knows it decides it, and `main` only prints and exits.
#[derive(Debug)]
pub struct CliError {
    /// Printed on stderr as `error: …`; `None` when the command has reported everything
    /// already (a failed apply, changes under `--detailed-exitcode`).
    pub error: Option<String>,
    pub exit_code: u8,
}

impl CliError {
    /// An error to print, exiting with [`ERROR`].
    pub fn new(error: impl Into<String>) -> Self {
        CliError {
            error: Some(error.into()),
            exit_code: ERROR,
        }
    }

    /// An exit code with nothing more to print.
    pub fn code(exit_code: u8) -> Self {
        CliError {
            error: None,
            exit_code,
        }
    }
}

/// Lets `?` turn the libraries' messages into errors that exit with [`ERROR`].
impl From<String> for CliError {
    fn from(error: String) -> Self {
        CliError::new(error)
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.error {
            Some(error) => f.write_str(error),
            None => write!(f, "exit code {}", self.exit_code),
        }
    }
}

impl std::error::Error for CliError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_exits_with_error_and_a_bare_code_prints_nothing() {
        let e: CliError = String::from("cannot read spec.yaml").into();
        assert_eq!(
            (e.error.as_deref(), e.exit_code),
            (Some("cannot read spec.yaml"), ERROR)
        );
        let e = CliError::code(CHANGES);
        assert_eq!((e.error, e.exit_code), (None, CHANGES));
    }
}
