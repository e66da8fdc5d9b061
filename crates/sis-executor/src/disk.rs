//! The disk floor during a pass: a node is created only while its host's free disk stays
//! above the spec's `disk_floor`. The free space observed before the pass is counted down
//! by each node created, and read again (a short-lived probe container, as `sis doctor`
//! does) when that reading is old or the nodes created since have used half of what was
//! left: nodes cost more than the estimate when images are preloaded into them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use sis_engine::{EngineError, HostEngine};
use sis_planner::capacity::{size, NODE_DISK_BYTES};
use sis_spec::Spec;
use sis_types::{HostObservation, Observed};
use tokio::sync::Mutex;

/// How old a reading of the free disk may get while nodes are created.
const READING_TTL: Duration = Duration::from_secs(30);

/// What a pass keeps free on one host, and what it knew of the host's free disk before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskFloor {
    /// Bytes to keep free (the spec's `disk_floor` for the host).
    pub floor: u64,
    /// Free bytes as observed before the pass, if the observation read them.
    pub free: Option<u64>,
    /// The image to probe the disk with (the spec's node image).
    pub probe_image: String,
}

/// [`DiskFloor`] of each reachable host of `spec`, from `observed`.
pub fn floors(spec: &Spec, observed: &Observed) -> BTreeMap<String, DiskFloor> {
    spec.hosts
        .iter()
        .filter_map(|h| match observed.hosts.get(&h.name) {
            Some(HostObservation::Reachable(facts)) => Some((
                h.name.clone(),
                DiskFloor {
                    floor: spec.disk_floor(&h.name),
                    free: facts.disk.as_ref().map(|d| d.free_bytes),
                    probe_image: spec.swarm2.image.to_string(),
                },
            )),
            _ => None,
        })
        .collect()
}

/// One host's account during a pass.
#[derive(Debug)]
struct Account {
    floor: DiskFloor,
    /// The last reading and when it was taken.
    free: Option<u64>,
    read_at: Option<Instant>,
    /// Bytes given to nodes since that reading.
    used: u64,
    /// Set once a node was refused: the rest of the pass refuses at once, with this reason.
    stopped: Option<String>,
}

/// The accounts of a pass, per host.
#[derive(Debug, Default)]
pub(crate) struct DiskWatch {
    hosts: BTreeMap<String, Mutex<Account>>,
}

impl DiskWatch {
    pub(crate) fn new(floors: &BTreeMap<String, DiskFloor>) -> DiskWatch {
        DiskWatch {
            hosts: floors
                .iter()
                .map(|(host, f)| {
                    // The observation read the disk just before the pass.
                    let account = Account {
                        floor: f.clone(),
                        free: f.free,
                        read_at: f.free.map(|_| Instant::now()),
                        used: 0,
                        stopped: None,
                    };
                    (host.clone(), Mutex::new(account))
                })
                .collect(),
        }
    }

    /// Takes one node's share of `host`'s disk, or refuses (a permanent error, nothing made)
    /// when it would leave less than the floor free. Hosts without an account (no spec given
    /// to the pass, or a floor of 0) always pass.
    pub(crate) async fn take<E: HostEngine>(
        &self,
        host: &str,
        engine: &E,
        node: &str,
    ) -> Result<(), EngineError> {
        let Some(account) = self.hosts.get(host) else {
            return Ok(());
        };
        let mut a = account.lock().await;
        if a.floor.floor == 0 {
            return Ok(());
        }
        if let Some(why) = &a.stopped {
            return Err(EngineError::Other(format!(
                "node {node} not created: {why}"
            )));
        }
        let stale = a.read_at.is_none_or(|t| t.elapsed() >= READING_TTL);
        let spent_half = a
            .free
            .is_some_and(|free| a.used >= free.saturating_sub(a.floor.floor) / 2);
        if stale || spent_half {
            match engine.host_limits(&a.floor.probe_image).await {
                Ok(limits) => {
                    if let Some(d) = limits.disk {
                        a.free = Some(d.free_bytes);
                        a.read_at = Some(Instant::now());
                        a.used = 0;
                    }
                }
                // No fresh reading: go on counting down the last one.
                Err(e) => tracing::debug!("reading the free disk of host {host}: {e}"),
            }
        }
        let Some(free) = a.free else {
            return Ok(());
        };
        let left = free.saturating_sub(a.used);
        if left.saturating_sub(NODE_DISK_BYTES) < a.floor.floor {
            let margin = if left >= a.floor.floor {
                format!(
                    "{} above its floor of {} (disk_floor), less than a node takes ({})",
                    size(left - a.floor.floor),
                    size(a.floor.floor),
                    size(NODE_DISK_BYTES)
                )
            } else {
                format!(
                    "{} below its floor of {} (disk_floor)",
                    size(a.floor.floor - left),
                    size(a.floor.floor)
                )
            };
            let counted = if a.used > 0 {
                format!(
                    " ({} read, less {} for the nodes made since)",
                    size(free),
                    size(a.used)
                )
            } else {
                String::new()
            };
            let why = format!(
                "host {host} has {} of disk free{counted}, {margin}: sis creates no more nodes there. Free space on the host (`docker system df`; remove unused images and volumes) or lower disk_floor in the spec, then apply again",
                size(left)
            );
            a.stopped = Some(why.clone());
            return Err(EngineError::Other(format!(
                "node {node} not created: {why}"
            )));
        }
        a.used += NODE_DISK_BYTES;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use sis_engine::fake::{FakeHost, Op};

    use super::*;

    const GB: u64 = 1_000_000_000;

    fn watch(floor: u64, free: u64) -> DiskWatch {
        let floor = DiskFloor {
            floor,
            free: Some(free),
            probe_image: "sis-node:test".into(),
        };
        DiskWatch::new(&BTreeMap::from([("h1".to_string(), floor)]))
    }

    fn host(free: u64) -> FakeHost {
        let host = FakeHost::new("fake://h1");
        host.state().limits.disk.as_mut().unwrap().free_bytes = free;
        host
    }

    #[tokio::test]
    async fn no_node_is_created_that_would_take_the_host_below_its_floor() {
        // Observed 0.5 MB above the floor.
        let host = host(2 * GB + 500_000);
        let w = watch(2 * GB, 2 * GB + 500_000);
        let e = w.take("h1", &host, "n1").await.unwrap_err();
        assert!(!e.is_transient());
        let text = e.to_string();
        assert_eq!(
            text,
            "node n1 not created: host h1 has 2.0 GB of disk free, 500.0 kB above its floor of 2.0 GB (disk_floor), less than a node takes (1.0 MB): sis creates no more nodes there. Free space on the host (`docker system df`; remove unused images and volumes) or lower disk_floor in the spec, then apply again"
        );
        // Once refused, the host stays stopped for the pass, without reading again.
        let e = w.take("h1", &host, "n2").await.unwrap_err();
        assert!(e
            .to_string()
            .starts_with("node n2 not created: host h1 has"));
        assert!(host.calls_of(Op::HostLimits).is_empty());
        // Unwatched hosts and a floor of 0 pass.
        w.take("h2", &host, "m1").await.unwrap();
        watch(0, 0).take("h1", &host, "n1").await.unwrap();
    }

    #[tokio::test]
    async fn the_free_disk_is_read_again_once_half_of_it_is_used() {
        // The observation saw 20 MB above the floor; after ten nodes (half of it) the next
        // one reads again and finds the disk filled by something else.
        let host = host(2 * GB + 20_000_000);
        let w = watch(2 * GB, 2 * GB + 20_000_000);
        for i in 1..=10 {
            w.take("h1", &host, &format!("n{i}")).await.unwrap();
        }
        assert!(host.calls_of(Op::HostLimits).is_empty());
        host.state().limits.disk.as_mut().unwrap().free_bytes = 2 * GB + 500_000;
        let e = w.take("h1", &host, "n11").await.unwrap_err();
        assert_eq!(host.calls_of(Op::HostLimits).len(), 1);
        assert!(
            e.to_string().contains("host h1 has 2.0 GB of disk free"),
            "{e}"
        );
    }
}
