//! Images between engines, as streams with no file in between: an image copied from one
//! host's engine to another's (`docker save` → `docker load`), and the preloaded images loaded
//! from a node's host into the node (`docker load` run inside it, fed through exec's stdin).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use sis_engine::{EngineError, HostEngine};
use sis_types::ImageRef;

use crate::events::{Event, Progress};

/// How often a copy in progress is reported.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// Bound on loading one image into one node: a load that hangs must end. Generous, as a big
/// image on a busy host takes long.
const NODE_LOAD_TIMEOUT: Duration = Duration::from_secs(600);

/// An export stream as load input, counting its bytes and keeping its error: when the export
/// fails the load fails too, and the export's error is the one worth reporting.
struct Counted {
    bytes: Arc<AtomicU64>,
    export_error: Arc<Mutex<Option<EngineError>>>,
}

impl Counted {
    fn new() -> Counted {
        Counted {
            bytes: Arc::new(AtomicU64::new(0)),
            export_error: Arc::new(Mutex::new(None)),
        }
    }

    /// `export` counted. Generic over the chunk type so that this crate needs no `bytes`.
    fn wrap<S, B>(
        &self,
        export: S,
    ) -> impl Stream<Item = Result<B, std::io::Error>> + Send + 'static
    where
        S: Stream<Item = Result<B, EngineError>> + Send + 'static,
        B: AsRef<[u8]> + Send + 'static,
    {
        let bytes = Arc::clone(&self.bytes);
        let export_error = Arc::clone(&self.export_error);
        export.map(move |chunk| match chunk {
            Ok(b) => {
                bytes.fetch_add(b.as_ref().len() as u64, Ordering::Relaxed);
                Ok(b)
            }
            Err(e) => {
                let text = e.to_string();
                *export_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                Err(std::io::Error::other(text))
            }
        })
    }

    fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// The export's error if it failed, else `load_error`.
    fn cause(&self, load_error: EngineError) -> EngineError {
        self.export_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or(load_error)
    }
}

/// Copies `image` from host `from` to host `to`, reporting progress; checks that `to` then
/// lists the image with the ID it has on `from`. Done at once when `to` has it already (an
/// earlier attempt got through).
pub(crate) async fn copy_between_hosts<E: HostEngine>(
    (from_host, from): (&str, &E),
    (to_host, to): (&str, &E),
    image: &str,
    progress: &dyn Progress,
) -> Result<(), EngineError> {
    let id = from.image_id(image).await?.ok_or_else(|| {
        EngineError::Other(format!(
            "host {from_host} does not have image {image} any more, so it cannot be copied to \
             host {to_host}; run sis apply again to plan anew"
        ))
    })?;
    if to.image_id(image).await?.as_deref() == Some(id.as_str()) {
        return Ok(());
    }
    let counted = Counted::new();
    let load = to.import_image(counted.wrap(from.export_image(image)));
    tokio::pin!(load);
    let start = Instant::now();
    let report = |done: bool| {
        progress.event(&Event::Transfer {
            image,
            from: from_host,
            to: to_host,
            bytes: counted.bytes(),
            elapsed: start.elapsed(),
            done,
        })
    };
    let mut ticks =
        tokio::time::interval_at(tokio::time::Instant::now() + PROGRESS_EVERY, PROGRESS_EVERY);
    let loaded = loop {
        tokio::select! {
            loaded = &mut load => break loaded,
            _ = ticks.tick() => report(false),
        }
    };
    loaded.map_err(|e| counted.cause(e))?;
    let now = to.image_id(image).await?;
    if now.as_deref() != Some(id.as_str()) {
        return Err(EngineError::Other(format!(
            "copying image {image} from host {from_host} to host {to_host}: the load ended, but \
             host {to_host} lists {} instead of ID {id}",
            now.unwrap_or_else(|| "no such image".to_string())
        )));
    }
    report(true);
    let seconds = start.elapsed().as_secs_f64();
    tracing::info!(
        %image,
        from = %from_host,
        to = %to_host,
        bytes = counted.bytes(),
        "copied in {seconds:.1} s ({:.1} MB/s)",
        counted.bytes() as f64 / 1e6 / seconds.max(1e-3)
    );
    Ok(())
}

/// Loads `images` from the engine of `host` into its node `node`, one after another.
pub(crate) async fn load_into_node<E: HostEngine>(
    engine: &E,
    host: &str,
    node: &str,
    images: &[ImageRef],
) -> Result<(), EngineError> {
    for image in images {
        let start = Instant::now();
        let counted = Counted::new();
        engine
            .load_image_in_container(
                node,
                counted.wrap(engine.export_image(image)),
                NODE_LOAD_TIMEOUT,
            )
            .await
            .map_err(|e| counted.cause(e))?;
        tracing::debug!(
            %image,
            %host,
            %node,
            bytes = counted.bytes(),
            "loaded into the node in {:.1} s",
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
