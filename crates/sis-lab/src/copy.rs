//! The node image copied from the local engine into the hosts: one `docker save` stream,
//! fanned out to one `docker load` per host, with no file in between.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use sis_engine::{DockerHost, EngineError, HostEngine};
use tokio::sync::mpsc;

use crate::event::LabEvent;
use crate::{LabError, LabHost};

/// How often a copy in progress is reported (when it moved).
const PROGRESS_EVERY: Duration = Duration::from_secs(2);
/// Chunks buffered per host: a slow host holds the others back by at most this much.
const BUFFERED_CHUNKS: usize = 32;

/// How far a copy is, for progress reports.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Bytes read from the source (and handed to every target).
    bytes: AtomicU64,
    /// The whole archive was read; the targets may still be loading it.
    exported: AtomicBool,
}

/// Streams `image` from `source` into every engine of `targets` at once, counting in
/// `counters`. Returns each target's outcome; `Err` when the export itself failed (then no
/// target has the image).
pub(crate) async fn fan_out(
    source: &DockerHost,
    image: &str,
    targets: Vec<(String, DockerHost)>,
    counters: &Counters,
) -> Result<Vec<(String, Result<(), EngineError>)>, EngineError> {
    let mut senders = Vec::with_capacity(targets.len());
    let mut loads = Vec::with_capacity(targets.len());
    for (name, engine) in targets {
        let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(BUFFERED_CHUNKS);
        let tar = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        senders.push(Some(tx));
        loads.push((
            name,
            tokio::spawn(async move { engine.import_image(tar).await }),
        ));
    }

    let mut export = source.export_image(image);
    let mut export_error = None;
    while let Some(chunk) = export.next().await {
        match chunk {
            Ok(bytes) => {
                counters
                    .bytes
                    .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                for slot in senders.iter_mut() {
                    // A host whose load failed stopped reading: its error comes from its task.
                    let closed = match slot {
                        Some(tx) => tx.send(Ok(bytes.clone())).await.is_err(),
                        None => false,
                    };
                    if closed {
                        *slot = None;
                    }
                }
            }
            Err(e) => {
                // Abort every load: a truncated archive must not look like a complete one.
                for tx in senders.iter().flatten() {
                    let _ = tx
                        .send(Err(std::io::Error::other(format!(
                            "the export of {image} failed"
                        ))))
                        .await;
                }
                export_error = Some(e);
                break;
            }
        }
    }
    drop(senders);
    counters.exported.store(true, Ordering::Relaxed);

    let mut outcomes = Vec::with_capacity(loads.len());
    for (name, load) in loads {
        let outcome = load.await.unwrap_or_else(|panic| {
            Err(EngineError::Other(format!(
                "loading {image} into host {name}: {panic}"
            )))
        });
        outcomes.push((name, outcome));
    }
    match export_error {
        Some(e) => Err(e),
        None => Ok(outcomes),
    }
}

/// Copies the image into the hosts that lack it (by ID), all at once; checks they have it
/// after. Returns the bytes streamed and the time taken, or `None` when every host had it.
pub(crate) async fn copy_image(
    local: &DockerHost,
    image: &str,
    image_id: &str,
    size: u64,
    hosts: &[LabHost],
    engines: &[DockerHost],
    report: &dyn Fn(&LabEvent),
) -> Result<Option<(u64, Duration)>, LabError> {
    let mut targets = Vec::new();
    for (h, engine) in hosts.iter().zip(engines) {
        let present = engine
            .image_info(image)
            .await
            .map_err(LabError::engine(format!(
                "looking for {image} on host {}",
                h.container
            )))?;
        if present.is_some_and(|p| p.id == image_id) {
            report(&LabEvent::ImagePresent {
                host: h.container.clone(),
                image: image.to_string(),
            });
        } else {
            targets.push((h.container.clone(), engine.clone()));
        }
    }
    if targets.is_empty() {
        return Ok(None);
    }
    let names: Vec<String> = targets.iter().map(|(n, _)| n.clone()).collect();
    report(&LabEvent::CopyStarted {
        image: image.to_string(),
        hosts: names.clone(),
        size,
    });
    let start = Instant::now();
    let counters = Counters::default();
    let copy = fan_out(local, image, targets.clone(), &counters);
    tokio::pin!(copy);
    let mut ticks = tokio::time::interval(PROGRESS_EVERY);
    ticks.tick().await;
    let mut reported = (0, false);
    let outcomes = loop {
        tokio::select! {
            outcomes = &mut copy => break outcomes,
            _ = ticks.tick() => {
                let now = (
                    counters.bytes.load(Ordering::Relaxed),
                    counters.exported.load(Ordering::Relaxed),
                );
                if now != reported {
                    reported = now;
                    report(&LabEvent::CopyProgress {
                        copied: now.0,
                        size,
                        exported: now.1,
                        elapsed: start.elapsed(),
                    });
                }
            }
        }
    };
    let outcomes = outcomes.map_err(|source| LabError::Copy {
        image: image.to_string(),
        host: names.join(", "),
        source: Box::new(source),
    })?;
    for (host, outcome) in outcomes {
        outcome.map_err(|source| LabError::Copy {
            image: image.to_string(),
            host: host.clone(),
            source: Box::new(source),
        })?;
    }
    // A load that ended early without an error would leave a host without the image.
    for (host, engine) in &targets {
        let loaded = engine
            .image_info(image)
            .await
            .map_err(LabError::engine(format!(
                "looking for {image} on host {host}"
            )))?;
        if loaded.is_none_or(|l| l.id != image_id) {
            return Err(LabError::Copy {
                image: image.to_string(),
                host: host.clone(),
                source: Box::new(sis_engine::EngineError::Other(
                    "the load finished but the host does not list the image with its ID"
                        .to_string(),
                )),
            });
        }
    }
    let bytes = counters.bytes.load(Ordering::Relaxed);
    let elapsed = start.elapsed();
    report(&LabEvent::CopyDone {
        image: image.to_string(),
        hosts: names,
        bytes,
        elapsed,
    });
    Ok(Some((bytes, elapsed)))
}
