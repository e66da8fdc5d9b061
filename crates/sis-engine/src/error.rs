//! Engine errors, and which of them are worth retrying.

use bollard::errors::Error as Bollard;

/// Why an engine operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The engine could not be reached or answered with a transport error.
    #[error("cannot reach the Docker engine at {endpoint}: {source}")]
    Connect {
        endpoint: String,
        #[source]
        source: Bollard,
    },
    /// The engine answered an API call with an error.
    #[error("{op}: {source}")]
    Docker {
        op: String,
        #[source]
        source: Bollard,
    },
    /// The engine answered with an error sis can explain; `hint` says what to do about it.
    #[error("{op}: {source}; {hint}")]
    Hinted {
        op: String,
        hint: String,
        #[source]
        source: Bollard,
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
    /// A container of the name sis wants exists but is not the one sis would make (another
    /// cluster's, or not made by sis): it is neither started, adopted nor removed.
    #[error(
        "container {container} on {endpoint} exists but is {found}, not {wanted}; sis neither \
         starts, adopts nor removes it: rename or remove it yourself (`docker rm -f {container}`) \
         if it is not needed, or give the cluster or host another name"
    )]
    NotOurs {
        container: String,
        endpoint: String,
        /// What sis wanted there, e.g. `node 1 of host b of cluster a`.
        wanted: String,
        /// What the container is, e.g. `not made by sis (no sis.cluster label)`.
        found: String,
    },
    /// Anything else, already worded for the user.
    #[error("{0}")]
    Other(String),
}

impl EngineError {
    /// Whether retrying the same operation may succeed: transport errors, timeouts, and
    /// server errors other than the ones known to be permanent (missing capabilities,
    /// invalid options, swarm membership conflicts).
    pub fn is_transient(&self) -> bool {
        match self {
            EngineError::Connect { source, .. } => is_transport(source),
            EngineError::Docker { source, .. } | EngineError::Hinted { source, .. } => {
                is_transient(source)
            }
            EngineError::Timeout { .. } => true,
            EngineError::Exec { .. } | EngineError::NotOurs { .. } | EngineError::Other(_) => false,
        }
    }

    /// The same error with every occurrence of `secret` in its text replaced by
    /// `<redacted>`. The variant, and so [`EngineError::is_transient`], stays: a transient
    /// failure whose message happened to carry a join token is still worth retrying.
    pub fn redact(self, secret: &str) -> EngineError {
        if secret.is_empty() || !self.to_string().contains(secret) {
            return self;
        }
        let scrub = |text: String| text.replace(secret, "<redacted>");
        let scrub_source = |source: Bollard| match source {
            Bollard::DockerResponseServerError {
                status_code,
                message,
            } => Bollard::DockerResponseServerError {
                status_code,
                message: scrub(message),
            },
            Bollard::DockerStreamError { error } => Bollard::DockerStreamError {
                error: scrub(error),
            },
            other => other,
        };
        let redacted = match self {
            EngineError::Connect { endpoint, source } => EngineError::Connect {
                endpoint: scrub(endpoint),
                source: scrub_source(source),
            },
            EngineError::Docker { op, source } => EngineError::Docker {
                op: scrub(op),
                source: scrub_source(source),
            },
            EngineError::Hinted { op, hint, source } => EngineError::Hinted {
                op: scrub(op),
                hint: scrub(hint),
                source: scrub_source(source),
            },
            EngineError::Exec {
                op,
                container,
                command,
                exit_code,
                stderr,
            } => EngineError::Exec {
                op: scrub(op),
                container: scrub(container),
                command: scrub(command),
                exit_code,
                stderr: scrub(stderr),
            },
            EngineError::Timeout {
                op,
                seconds,
                detail,
            } => EngineError::Timeout {
                op: scrub(op),
                seconds,
                detail: scrub(detail),
            },
            EngineError::NotOurs {
                container,
                endpoint,
                wanted,
                found,
            } => EngineError::NotOurs {
                container: scrub(container),
                endpoint: scrub(endpoint),
                wanted: scrub(wanted),
                found: scrub(found),
            },
            EngineError::Other(text) => EngineError::Other(scrub(text)),
        };
        // A transport error of bollard that quotes the secret cannot be rebuilt: its text
        // is all that is kept then, as the permanent error it has to become.
        if redacted.to_string().contains(secret) {
            return EngineError::Other(scrub(redacted.to_string()));
        }
        redacted
    }

    /// Whether the engine could not be reached at all (as opposed to answering with an error).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, EngineError::Connect { .. })
    }

    /// The HTTP status the engine answered with, if it answered at all.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            EngineError::Connect { source, .. }
            | EngineError::Docker { source, .. }
            | EngineError::Hinted { source, .. } => status_code(source),
            _ => None,
        }
    }
}

/// The status code of an error response from the engine.
pub(crate) fn status_code(e: &Bollard) -> Option<u16> {
    match e {
        Bollard::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// The engine's own words: the message of an error response or of a streamed error.
pub(crate) fn message(e: &Bollard) -> &str {
    match e {
        Bollard::DockerResponseServerError { message, .. } => message,
        Bollard::DockerStreamError { error } => error,
        _ => "",
    }
}

fn is_transport(e: &Bollard) -> bool {
    matches!(
        e,
        Bollard::HyperResponseError { .. }
            | Bollard::HyperLegacyError { .. }
            | Bollard::RequestTimeoutError
            | Bollard::IOError { .. }
    )
}

/// Server errors that retrying does not fix (seen from dockerd 20.10).
const PERMANENT_5XX: &[&str] = &[
    "unable to apply caps",
    "invalid --security-opt",
    "executable file not found",
    "no such file or directory",
    "already part of a swarm",
    "not part of a swarm",
    "not a swarm manager",
    "could not choose an IP address",
    "must specify a listening address",
    // Registries: a wrong or unreachable address, an unknown image.
    "connection refused",
    "no such host",
    "pull access denied",
    "manifest unknown",
];

/// Streamed errors (pulls) that a retry may get past; anything else (unknown image,
/// denied access, unreachable registry) stays as it is.
const TRANSIENT_STREAM: &[&str] = &[
    "timeout",
    "connection reset",
    "temporary failure",
    "toomanyrequests",
    "too many requests",
    "unexpected eof",
    "502 bad gateway",
    "503 service unavailable",
];

fn is_transient(e: &Bollard) -> bool {
    match e {
        Bollard::DockerResponseServerError {
            status_code,
            message,
        } => *status_code >= 500 && !PERMANENT_5XX.iter().any(|m| message.contains(m)),
        Bollard::DockerStreamError { error } => {
            let error = error.to_lowercase();
            TRANSIENT_STREAM.iter().any(|m| error.contains(m))
        }
        other => is_transport(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(status_code: u16, message: &str) -> EngineError {
        EngineError::Docker {
            op: "op".into(),
            source: Bollard::DockerResponseServerError {
                status_code,
                message: message.into(),
            },
        }
    }

    #[test]
    fn a_missing_capability_is_not_worth_retrying() {
        let caps = server(
            500,
            "failed to create shim task: OCI runtime create failed: runc create failed: \
             unable to start container process: unable to apply caps: operation not permitted: unknown",
        );
        assert!(!caps.is_transient());
    }

    #[test]
    fn a_network_attach_deadline_is_worth_retrying() {
        let attach = server(
            500,
            "attaching to network failed, make sure your network options are correct and check \
             manager logs: context deadline exceeded",
        );
        assert!(attach.is_transient());
    }

    #[test]
    fn client_errors_are_not_worth_retrying() {
        assert!(!server(404, "No such image: sis-node:nope").is_transient());
        assert!(!server(409, "Conflict. The container name is already in use").is_transient());
        assert!(!server(403, "Pool overlaps with other one on this address space").is_transient());
    }

    #[test]
    fn pull_errors_are_retried_only_when_they_look_passing() {
        let pull = |error: &str| EngineError::Hinted {
            op: "pull".into(),
            hint: "load it".into(),
            source: Bollard::DockerStreamError {
                error: error.into(),
            },
        };
        assert!(pull("Get \"https://r/v2/\": net/http: TLS handshake timeout").is_transient());
        assert!(!pull("pull access denied for nope, repository does not exist").is_transient());
    }

    #[test]
    fn redaction_scrubs_the_secret_and_keeps_the_transient_class() {
        let secret = "SWMTKN-1-secret";
        let timeout = EngineError::Timeout {
            op: format!("exec `docker swarm join --token {secret}` in demo-h1-2"),
            seconds: 60,
            detail: format!("still joining with {secret}"),
        }
        .redact(secret);
        assert!(timeout.is_transient(), "{timeout:?}");
        assert!(matches!(timeout, EngineError::Timeout { seconds: 60, .. }));
        assert!(!timeout.to_string().contains(secret), "{timeout}");
        assert!(timeout.to_string().contains("<redacted>"), "{timeout}");

        let server = server(503, &format!("join with {secret} refused for now")).redact(secret);
        assert!(server.is_transient(), "{server:?}");
        assert_eq!(server.status_code(), Some(503));
        assert!(!format!("{server:?}").contains(secret), "{server:?}");

        let exec = EngineError::Exec {
            op: "join swarm2".into(),
            container: "demo-h1-2".into(),
            command: "docker swarm join".into(),
            exit_code: 1,
            stderr: format!("invalid join token {secret}"),
        }
        .redact(secret);
        assert!(matches!(exec, EngineError::Exec { exit_code: 1, .. }));
        assert!(!exec.to_string().contains(secret), "{exec}");
    }

    #[test]
    fn timeouts_and_dropped_connections_are_worth_retrying() {
        let timeout = EngineError::Docker {
            op: "op".into(),
            source: Bollard::RequestTimeoutError,
        };
        assert!(timeout.is_transient());
        let socket = EngineError::Connect {
            endpoint: "unix:///nope".into(),
            source: Bollard::SocketNotFoundError("/nope".into()),
        };
        assert!(!socket.is_transient());
    }
}
