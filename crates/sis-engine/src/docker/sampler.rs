//! The load sampler: one long-lived container per host that prints the kernel's load
//! counters every second, read through its attach stream. One container for a whole run
//! instead of one exec or probe per sample: a runc exec costs tens of milliseconds of CPU,
//! which is what a loaded host has least of.
//!
//! The container lives exactly as long as sis reads it: its stdin is the attach connection,
//! and the script ends when that closes (sis exits, or no sample was asked for a while);
//! auto-removal then takes the container away. A bound on its loop ends it in any case.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{AttachContainerOptionsBuilder, CreateContainerOptions};
use futures::StreamExt;
use sis_types::{labels, CpuTime, LoadSample};
use tokio::sync::watch;

use super::DockerHost;
use crate::EngineError;

/// The sampler's script: a line per second with the boot ID, the core count, the load
/// averages and the CPU pressure, and a second one with the machine's CPU time (the first
/// line of `/proc/stat`); it ends when its stdin closes, or after an hour.
const SCRIPT: &str = r#"boot=$(cat /proc/sys/kernel/random/boot_id); n=$(nproc)
( i=0; while [ $i -lt 3600 ]; do
  echo "sample $boot $n $(cat /proc/loadavg) $(grep '^some' /proc/pressure/cpu 2>/dev/null)"
  head -n 1 /proc/stat
  i=$((i+1)); sleep 1
done ) &
read -r _; kill $! 2>/dev/null"#;

/// The label with the pid of the sis process that reads a sampler.
pub const SAMPLER_PID: &str = "sis.sampler-pid";

/// The sampler stops when no sample was asked for this long.
const IDLE_STOP: Duration = Duration::from_secs(30);

/// How long the first reading may take after the sampler starts.
const FIRST_READING: Duration = Duration::from_secs(20);

/// A running sampler: its latest reading and when a sample was last asked for.
pub(super) struct Sampler {
    latest: watch::Receiver<Option<Reading>>,
    asked: watch::Sender<Instant>,
}

/// What the kernel told, without the API latency.
#[derive(Debug, Clone, PartialEq)]
struct Reading {
    machine: String,
    cpus: u32,
    load1: f64,
    runnable: u32,
    cpu_pressure: Option<f64>,
    cpu_time: Option<CpuTime>,
}

/// A fresh sample of `host`: the sampler's latest reading (the sampler is started on the
/// first call, and again after it stopped) and the time a ping took.
pub(super) async fn sample(host: &DockerHost) -> Result<LoadSample, EngineError> {
    let docker = host.client().await?;
    let started = Instant::now();
    docker.ping().await.map_err(host.fail("ping the engine"))?;
    let api_millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let mut latest = {
        let mut slot = host.inner.sampler.lock().await;
        let running = slot
            .as_ref()
            .is_some_and(|s| s.latest.has_changed().is_ok());
        if !running {
            *slot = Some(start(host).await?);
        }
        let sampler = slot.as_ref().expect("set above");
        sampler.asked.send_replace(Instant::now());
        sampler.latest.clone()
    };
    let reading = tokio::time::timeout(FIRST_READING, latest.wait_for(Option::is_some))
        .await
        .map_err(|_| {
            EngineError::Other(format!(
                "load sampler on {}: no reading within {} s",
                host.inner.endpoint,
                FIRST_READING.as_secs()
            ))
        })?
        .map_err(|_| {
            EngineError::Other(format!(
                "load sampler on {} ended before its first reading",
                host.inner.endpoint
            ))
        })?
        .clone()
        .expect("waited for it");
    Ok(LoadSample {
        machine: reading.machine,
        cpus: reading.cpus,
        cpu_pressure: reading.cpu_pressure,
        load1: reading.load1,
        runnable: reading.runnable,
        api_millis,
        cpu_time: reading.cpu_time,
    })
}

/// Creates, attaches to and starts the sampler container, and spawns the task that reads it.
async fn start(host: &DockerHost) -> Result<Sampler, EngineError> {
    let docker = host.client().await?.clone();
    super::probe::sweep(host, "load-sampler").await;
    let images = super::observe::images(host).await?;
    let preferred = host.inner.probe_image.as_deref();
    let image = super::observe::probe_candidates(preferred, &images)
        .into_iter()
        .next()
        .ok_or_else(|| {
            EngineError::Other(format!(
                "no image on {} to run the load sampler from (it needs `sh` and `cat`, as the node image has)",
                host.inner.endpoint
            ))
        })?;
    let config = ContainerCreateBody {
        image: Some(image.clone()),
        entrypoint: Some(vec!["sh".to_string()]),
        cmd: Some(vec!["-c".to_string(), SCRIPT.to_string()]),
        open_stdin: Some(true),
        stdin_once: Some(true),
        attach_stdin: Some(true),
        labels: Some(HashMap::from([
            (labels::ROLE.to_string(), "load-sampler".to_string()),
            // Which process reads it, for people and tests.
            (SAMPLER_PID.to_string(), std::process::id().to_string()),
        ])),
        host_config: Some(HostConfig {
            auto_remove: Some(true),
            ..HostConfig::default()
        }),
        ..ContainerCreateBody::default()
    };
    let id = docker
        .create_container(None::<CreateContainerOptions>, config)
        .await
        .map_err(host.fail(format!("create the load sampler from {image}")))?
        .id;
    let attached = docker
        .attach_container(
            &id,
            Some(
                AttachContainerOptionsBuilder::new()
                    .stdin(true)
                    .stdout(true)
                    .stderr(true)
                    .stream(true)
                    .build(),
            ),
        )
        .await
        .map_err(host.fail("attach to the load sampler"));
    let attached = match attached {
        Ok(a) => a,
        Err(e) => {
            remove(&docker, &id).await;
            return Err(e);
        }
    };
    if let Err(e) = docker.start_container(&id, None).await {
        remove(&docker, &id).await;
        return Err(host.fail("start the load sampler")(e));
    }
    let (tx, latest) = watch::channel(None);
    let (asked, asked_rx) = watch::channel(Instant::now());
    let endpoint = host.inner.endpoint.clone();
    tokio::spawn(async move {
        // Holding `input` keeps the sampler's stdin open; dropping it ends the sampler.
        let _input = attached.input;
        let mut output = attached.output;
        let mut line = String::new();
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                chunk = output.next() => {
                    let Some(Ok(chunk)) = chunk else { break };
                    line.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
                    while let Some(end) = line.find('\n') {
                        if let Some(mut reading) = parse(&line[..end]) {
                            // Until its own line comes, the last CPU time stands: the
                            // share of the cores is taken between two of them, whenever
                            // they were read.
                            reading.cpu_time = tx.borrow().as_ref().and_then(|r: &Reading| r.cpu_time);
                            tx.send_replace(Some(reading));
                        } else if let Some(time) = CpuTime::parse(&line[..end]) {
                            // The CPU time follows its sample line.
                            tx.send_modify(|r| {
                                if let Some(r) = r {
                                    r.cpu_time = Some(time);
                                }
                            });
                        }
                        line.drain(..=end);
                    }
                }
                _ = tick.tick() => {
                    if asked_rx.borrow().elapsed() > IDLE_STOP || tx.is_closed() {
                        break;
                    }
                }
            }
        }
        tracing::debug!(%endpoint, "load sampler stopped");
        drop(tx);
        remove(&docker, &id).await;
    });
    Ok(Sampler { latest, asked })
}

async fn remove(docker: &bollard::Docker, id: &str) {
    let options = bollard::query_parameters::RemoveContainerOptionsBuilder::new()
        .force(true)
        .v(true)
        .build();
    if let Err(e) = docker.remove_container(id, Some(options)).await {
        tracing::debug!("removing the load sampler {id}: {e}");
    }
}

/// One line of the sampler:
/// `sample BOOT_ID CPUS LOAD1 LOAD5 LOAD15 RUNNING/TOTAL LASTPID [some avg10=… …]`.
fn parse(line: &str) -> Option<Reading> {
    let mut words = line.split_whitespace();
    if words.next()? != "sample" {
        return None;
    }
    let machine = words.next()?.to_string();
    let cpus = words.next()?.parse().ok()?;
    let load1 = words.next()?.parse().ok()?;
    let _load5 = words.next()?;
    let _load15 = words.next()?;
    let runnable = words.next()?.split('/').next()?.parse().ok()?;
    let cpu_pressure = words
        .find_map(|w| w.strip_prefix("avg10="))
        .and_then(|v| v.parse().ok());
    Some(Reading {
        machine,
        cpus,
        load1,
        runnable,
        cpu_pressure,
        cpu_time: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_gives_machine_cores_load_and_pressure() {
        let r = parse(
            "sample 0b6c1e1f-7d7c 2 0.47 1.15 0.73 1/143 22221 \
             some avg10=2.12 avg60=2.94 avg300=15.25 total=139411989",
        )
        .unwrap();
        assert_eq!(r.machine, "0b6c1e1f-7d7c");
        assert_eq!(r.cpus, 2);
        assert_eq!(r.load1, 0.47);
        assert_eq!(r.runnable, 1);
        assert_eq!(r.cpu_pressure, Some(2.12));
        // A kernel without pressure information.
        let r = parse("sample b 4 12.5 1 1 7/300 1 ").unwrap();
        assert_eq!(r.runnable, 7);
        assert_eq!((r.cpus, r.load1, r.cpu_pressure), (4, 12.5, None));
        assert!(parse("garbage").is_none());
    }
}
