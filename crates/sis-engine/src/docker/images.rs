//! Images as tar streams: `docker save` from an engine, `docker load` into an engine or into a
//! container's own dockerd (exec with stdin), with no temporary file.

use std::time::Duration;

use bollard::body_try_stream;
use bollard::exec::StartExecResults;
use bollard::query_parameters::ImportImageOptions;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use tokio::io::AsyncWriteExt;

use super::DockerHost;
use crate::EngineError;

/// The image as the tar stream of `docker save`.
pub(super) fn export(
    host: &DockerHost,
    image: &str,
) -> impl Stream<Item = Result<Bytes, EngineError>> + Send + Unpin + 'static {
    let host = host.clone();
    let image = image.to_string();
    Box::pin(
        futures::stream::once(async move {
            let docker = host.client().await?.clone();
            let op = host.op(format!("export image {image}"));
            Ok::<_, EngineError>(docker.export_image(&image).map(move |chunk| {
                chunk.map_err(|source| EngineError::Docker {
                    op: op.clone(),
                    source,
                })
            }))
        })
        .map(|result| match result {
            Ok(stream) => stream.left_stream(),
            Err(e) => futures::stream::once(async { Err(e) }).right_stream(),
        })
        .flatten(),
    )
}

/// Bound on loading one archive into an engine. dockerd answers `POST /images/load` only once
/// it has read (and unpacked) the whole archive, so the client's usual request timeout would
/// cut off big images on slow links; this bounds a transfer that stalls.
const IMPORT_TIMEOUT: Duration = Duration::from_secs(3600);

/// Loads images from a tar stream in the format of `docker save` (`docker load`).
pub(super) async fn import<S>(host: &DockerHost, tar: S) -> Result<(), EngineError>
where
    S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
{
    // A clone shares the connection pool and the negotiated API version.
    let docker = host.client().await?.clone().with_timeout(IMPORT_TIMEOUT);
    let mut output = docker.import_image(
        ImportImageOptions {
            quiet: true,
            ..ImportImageOptions::default()
        },
        body_try_stream(tar),
        None,
    );
    while let Some(item) = output.next().await {
        item.map_err(host.fail("load images"))?;
    }
    Ok(())
}

/// `docker load` run inside container `name`, fed `tar` on its stdin.
pub(super) async fn load_in_container<S>(
    host: &DockerHost,
    name: &str,
    tar: S,
    timeout: Duration,
) -> Result<(), EngineError>
where
    S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
{
    let op = || host.op(format!("docker load in {name}"));
    match tokio::time::timeout(timeout, load_unbounded(host, name, tar)).await {
        Ok(result) => result,
        Err(_) => Err(EngineError::Timeout {
            op: op(),
            seconds: timeout.as_secs(),
            detail: "the image was not loaded in time".to_string(),
        }),
    }
}

async fn load_unbounded<S>(host: &DockerHost, name: &str, tar: S) -> Result<(), EngineError>
where
    S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
{
    let docker = host.client().await?;
    let what = format!("docker load in {name}");
    let cmd = vec!["docker".into(), "load".into(), "--quiet".into()];
    let (id, started) =
        super::container::start_attached_exec(host, name, cmd, Vec::new(), true, &what).await?;
    let StartExecResults::Attached { mut output, input } = started else {
        return Err(EngineError::Other(format!(
            "{}: the engine did not attach to the command",
            host.op(&what)
        )));
    };
    // Feed stdin while reading the output: `docker load` writes as it goes, and a full
    // output buffer must not stall its input.
    let feed = async move {
        let mut input = input;
        let mut tar = Box::pin(tar);
        let mut fed = Ok(());
        while let Some(chunk) = tar.next().await {
            let written = match chunk {
                Ok(bytes) => input.write_all(&bytes).await,
                Err(e) => Err(e),
            };
            if written.is_err() {
                fed = written;
                break;
            }
        }
        // End of stdin, also after a failure: `docker load` sees the end of the archive (or
        // a truncated one, which it refuses) and exits instead of waiting.
        let closed = input.shutdown().await;
        fed.and(closed)
    };
    let read = async {
        let mut stderr = Vec::new();
        while let Some(chunk) = output.next().await {
            if let bollard::container::LogOutput::StdErr { message } =
                chunk.map_err(host.fail(&what))?
            {
                stderr.extend_from_slice(&message);
            }
        }
        Ok::<_, EngineError>(stderr)
    };
    let (fed, stderr) = futures::join!(feed, read);
    // A failed input explains a failed load better than what `docker load` says of it.
    fed.map_err(|e| {
        EngineError::Other(format!(
            "{}: feeding the archive to the command: {e}",
            host.op(&what)
        ))
    })?;
    let stderr = stderr?;
    let inspected = docker.inspect_exec(&id).await.map_err(host.fail(&what))?;
    let exit_code = inspected.exit_code.unwrap_or(-1);
    if exit_code != 0 {
        return Err(EngineError::Exec {
            op: host.op("load images into a node"),
            container: name.to_string(),
            command: "docker load".to_string(),
            exit_code,
            stderr: String::from_utf8_lossy(&stderr).trim().to_string(),
        });
    }
    Ok(())
}

/// A pull that shows no progress this long is given up: a registry that stopped answering
/// would otherwise hold its action, and so the whole pass, forever. The error is transient,
/// so the pull is tried again.
pub(super) const PULL_STALL: Duration = Duration::from_secs(120);

/// The next item of a progress stream, or a timeout error (`op` names what and where) when
/// none comes within `stall`.
pub(super) async fn next_or_stall<S>(
    stream: &mut S,
    stall: Duration,
    op: impl FnOnce() -> String,
) -> Result<Option<S::Item>, EngineError>
where
    S: Stream + Unpin,
{
    tokio::time::timeout(stall, stream.next())
        .await
        .map_err(|_| EngineError::Timeout {
            op: op(),
            seconds: stall.as_secs(),
            detail: "no progress from the engine for that long; giving this try up".to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_stream_without_progress_is_a_transient_timeout_naming_it() {
        let mut stalled = futures::stream::pending::<u32>();
        let op = || "pull image busybox:1 on unix:///var/run/docker.sock".to_string();
        let e = next_or_stall(&mut stalled, PULL_STALL, op)
            .await
            .unwrap_err();
        assert!(e.is_transient());
        let text = e.to_string();
        assert!(
            text.contains("busybox:1") && text.contains("unix:///var/run/docker.sock"),
            "{text}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_that_moves_is_read_to_its_end() {
        let mut moving = futures::stream::iter([1, 2]);
        let op = String::new;
        assert_eq!(
            next_or_stall(&mut moving, PULL_STALL, op).await.unwrap(),
            Some(1)
        );
        assert_eq!(
            next_or_stall(&mut moving, PULL_STALL, op).await.unwrap(),
            Some(2)
        );
        assert_eq!(
            next_or_stall(&mut moving, PULL_STALL, op).await.unwrap(),
            None
        );
    }
}
