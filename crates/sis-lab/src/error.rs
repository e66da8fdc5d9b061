//! Why a lab could not be brought up or taken down.

use std::path::PathBuf;

use sis_engine::EngineError;

/// Errors of `sis lab`.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// The options do not describe a lab that can exist.
    #[error("{0}")]
    Invalid(String),
    /// The image the hosts run is not on the local engine.
    #[error(
        "image {image} is not on the local engine ({endpoint}); build it with \
         tests/node-image/build.sh (or `docker load` it) and run `sis lab up` again"
    )]
    NodeImageMissing { image: String, endpoint: String },
    /// A network or container of the lab's name exists but is not the lab's, or was made
    /// with other settings that cannot be changed in place.
    #[error("{0}")]
    Conflict(String),
    /// The engine failed an operation.
    #[error("{what}")]
    Engine {
        what: String,
        #[source]
        source: Box<EngineError>,
    },
    /// A host container runs, but its engine did not answer in time.
    #[error("host {host}: its engine did not answer at {endpoint} within {seconds} s{detail}")]
    HostNotReady {
        host: String,
        endpoint: String,
        seconds: u64,
        detail: String,
    },
    /// Copying the node image into a host failed.
    #[error("copying image {image} into host {host} failed")]
    Copy {
        image: String,
        host: String,
        #[source]
        source: Box<EngineError>,
    },
    /// Certificates could not be made.
    #[error("generating the {what} certificate")]
    Certificate {
        what: String,
        #[source]
        source: sis_certs::CertError,
    },
    /// A file of the lab (certificate, spec) could not be read or written.
    #[error("{what} {}", path.display())]
    File {
        what: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl LabError {
    /// Wraps an engine error with what the lab was doing.
    pub(crate) fn engine(what: impl Into<String>) -> impl FnOnce(EngineError) -> LabError {
        let what = what.into();
        move |source| LabError::Engine {
            what,
            source: Box::new(source),
        }
    }

    pub(crate) fn file(
        what: impl Into<String>,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> LabError {
        let (what, path) = (what.into(), path.into());
        move |source| LabError::File { what, path, source }
    }
}

/// The error and its causes on one line.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}
