//! Engine errors.

/// Why an engine operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The engine could not be reached or answered with a transport error.
    #[error("cannot reach the Docker engine at {endpoint}: {source}")]
    Connect {
        endpoint: String,
        #[source]
        source: bollard::errors::Error,
    },
    /// The engine answered an API call with an error.
    #[error("{op}: {source}")]
    Docker {
        op: String,
        #[source]
        source: bollard::errors::Error,
    },
    /// A command run inside a container (exec) failed.
    #[error("{op}: `{command}` in {container} exited with {exit_code}: {stderr}")]
    Exec {
        op: String,
        container: String,
        command: String,
        exit_code: i64,
        stderr: String,
    },
    /// Something did not happen in time.
    #[error("{op}: timed out after {seconds} s: {detail}")]
    Timeout {
        op: String,
        seconds: u64,
        detail: String,
    },
    /// Anything else, already worded for the user.
    #[error("{0}")]
    Other(String),
}

impl EngineError {
    /// Whether retrying the same operation may succeed (connection resets, 5xx, timeouts).
    pub fn is_transient(&self) -> bool {
        use bollard::errors::Error as B;
        match self {
            EngineError::Connect { .. } | EngineError::Timeout { .. } => true,
            EngineError::Docker { source, .. } => match source {
                B::DockerResponseServerError { status_code, .. } => *status_code >= 500,
                B::HyperResponseError { .. } | B::RequestTimeoutError | B::IOError { .. } => true,
                _ => false,
            },
            EngineError::Exec { .. } | EngineError::Other(_) => false,
        }
    }
}
