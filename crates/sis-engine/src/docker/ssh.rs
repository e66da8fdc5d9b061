//! `ssh://[USER@]HOST[:PORT]` endpoints: the system's `ssh` client (through the openssh
//! crate) keeps one control master per host, and each HTTP connection to the engine is
//! `docker system dial-stdio` run on the host over it. bollard's own SSH transport takes an
//! identity file only and starts a master per connection; this one also takes a
//! known_hosts file, and then checks the host's key strictly: a host whose key is not in
//! that file, or differs, is refused — never added.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bollard::{BollardRequest, Docker, API_DEFAULT_VERSION};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use openssh::{KnownHosts, Session, SessionBuilder, Stdio};
use tokio::net::UnixStream;
use tokio::sync::Mutex;

/// How long ssh may take to connect and authenticate.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// The files ssh uses for one host (the spec's `ssh:`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshPaths {
    /// The private key to log in with (`ssh -i`); default: ssh's own (~/.ssh/id_*, agent).
    pub identity: Option<PathBuf>,
    /// The host keys to trust, checked strictly; default: ssh's own known_hosts, where a
    /// host seen for the first time is added (trust on first use).
    pub known_hosts: Option<PathBuf>,
}

/// A bollard client whose connections go through ssh to `endpoint`.
pub(crate) fn connect(
    endpoint: &str,
    paths: &SshPaths,
    timeout_secs: u64,
) -> Result<Docker, bollard::errors::Error> {
    let mut builder = SessionBuilder::default();
    builder.connect_timeout(CONNECT_TIMEOUT);
    if let Some(identity) = &paths.identity {
        builder.keyfile(identity);
    }
    match &paths.known_hosts {
        Some(file) => {
            builder
                .user_known_hosts_file(file)
                .known_hosts_check(KnownHosts::Strict);
        }
        None => {
            builder.known_hosts_check(KnownHosts::Add);
        }
    }
    let connector = Connector(Arc::new(Master {
        endpoint: endpoint.to_string(),
        builder,
        session: Mutex::new(None),
    }));
    let client = Arc::new(Client::builder(TokioExecutor::new()).build(connector));
    Docker::connect_with_custom_transport(
        move |request: BollardRequest| {
            let client = Arc::clone(&client);
            async move { client.request(request).await.map_err(Into::into) }
        },
        Some(endpoint),
        timeout_secs,
        API_DEFAULT_VERSION,
    )
}

/// What to tell the user about a failed ssh connection (`chain`: the error and its causes,
/// which carry ssh's own message), when ssh refused it for a reason the spec can fix.
pub(super) fn hint(chain: &str, paths: &SshPaths) -> Option<String> {
    let shown = |p: &Option<PathBuf>, default: &str| {
        p.as_ref()
            .map_or(default.to_string(), |p| p.display().to_string())
    };
    if chain.contains("Permission denied") {
        Some(format!(
            "the host refused the login: the public key of {} (`ssh.identity`) must be in the \
             user's authorized_keys on the host",
            shown(&paths.identity, "ssh's default keys")
        ))
    } else if chain.contains("Host key verification failed")
        || chain.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
    {
        Some(format!(
            "the host's key is not the one in {} (`ssh.known_hosts`): add the host's current \
             key there (ssh-keyscan), or check that the endpoint names the right machine",
            shown(&paths.known_hosts, "ssh's known_hosts")
        ))
    } else if chain.contains("No such file") && chain.contains("ssh") {
        Some("sis runs the system's `ssh` for ssh:// endpoints: install the ssh client".into())
    } else {
        None
    }
}

/// The control master of one host, started on first use and again after it died.
struct Master {
    endpoint: String,
    builder: SessionBuilder,
    session: Mutex<Option<Arc<Session>>>,
}

impl Master {
    async fn session(&self) -> Result<Arc<Session>, openssh::Error> {
        let mut slot = self.session.lock().await;
        if let Some(s) = slot.as_ref() {
            if s.check().await.is_ok() {
                return Ok(Arc::clone(s));
            }
        }
        let session = Arc::new(self.builder.connect(&self.endpoint).await?);
        *slot = Some(Arc::clone(&session));
        Ok(session)
    }

    /// A connection to the engine: `docker system dial-stdio` on the host, its stdin and
    /// stdout spliced onto one end of a socket pair; hyper gets the other end.
    async fn dial(&self) -> Result<TokioIo<UnixStream>, openssh::Error> {
        let session = self.session().await?;
        let mut child = session
            .arc_command("docker")
            .args(["system", "dial-stdio"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .await?;
        let (ours, theirs) = UnixStream::pair().map_err(openssh::Error::Ssh)?;
        let (Some(stdin), Some(stdout)) = (child.stdin().take(), child.stdout().take()) else {
            return Err(openssh::Error::Disconnected);
        };
        tokio::spawn(async move {
            let mut remote = tokio::io::join(stdout, stdin);
            let mut local = theirs;
            let _ = tokio::io::copy_bidirectional(&mut local, &mut remote).await;
            // The connection is over; dial-stdio ends when its stdin closes.
            drop(remote);
            let _ = child.wait().await;
        });
        Ok(TokioIo::new(ours))
    }
}

#[derive(Clone)]
struct Connector(Arc<Master>);

impl tower_service::Service<hyper::Uri> for Connector {
    type Response = TokioIo<UnixStream>;
    type Error = openssh::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: hyper::Uri) -> Self::Future {
        let master = Arc::clone(&self.0);
        Box::pin(async move { master.dial().await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_logins_and_unknown_host_keys_name_the_file_to_fix() {
        let paths = SshPaths {
            identity: Some("lab-ssh/id_ed25519".into()),
            known_hosts: Some("lab-ssh/known_hosts".into()),
        };
        let denied =
            "failed to connect to the remote host: root@10.0.0.1: Permission denied (publickey).";
        let hint = hint(denied, &paths).unwrap();
        assert!(hint.contains("lab-ssh/id_ed25519"), "{hint}");
        let unknown = "failed to connect to the remote host: No ED25519 host key is known for \
                       10.0.0.1 and you have requested strict checking.\nHost key verification failed.";
        let hint = super::hint(unknown, &paths).unwrap();
        assert!(hint.contains("lab-ssh/known_hosts"), "{hint}");
        assert_eq!(super::hint("connection refused", &paths), None);
    }
}
