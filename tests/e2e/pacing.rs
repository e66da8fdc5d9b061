//! The load sampler that paces node creation reads the real machine: the kernel's boot ID,
//! cores, load and CPU pressure, through one long-lived container per host that goes away
//! with its reader.

use std::time::Duration;

use sis_engine::{DockerHost, HostEngine, SAMPLER_PID};

use crate::path;
use crate::support::{docker, require_engine, sis, wait_for, Cluster, NODE_IMAGE};

/// The sampler containers of this test process.
fn samplers() -> Vec<String> {
    let filter = format!("label={SAMPLER_PID}={}", std::process::id());
    docker(&["ps", "-a", "--filter", &filter, "--format", "{{.ID}}"])
        .lines()
        .map(str::to_string)
        .collect()
}

fn proc(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn the_sampler_reads_this_machine_with_one_container_that_leaves_with_its_reader() {
    require_engine();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let host = DockerHost::connect("unix:///var/run/docker.sock", None)
        .unwrap()
        .with_probe_image(NODE_IMAGE);
    let first = rt.block_on(host.load_sample()).expect("a sample");
    assert_eq!(
        first.machine,
        proc("/proc/sys/kernel/random/boot_id").trim(),
        "{first:?}"
    );
    let cores = std::thread::available_parallelism().unwrap().get() as u32;
    assert_eq!(first.cpus, cores, "{first:?}");
    if std::path::Path::new("/proc/pressure/cpu").exists() {
        let p = first.cpu_pressure.expect("the kernel reports CPU pressure");
        assert!((0.0..=100.0).contains(&p), "{first:?}");
    }
    // The load average moves slowly: the sample is what /proc/loadavg says about now.
    let load_now: f64 = proc("/proc/loadavg")
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (first.load1 - load_now).abs() <= 1.0 + load_now / 2.0,
        "sampled load {} but /proc/loadavg says {load_now}",
        first.load1
    );
    // Later samples come from the same container, a line a second, with the machine's CPU
    // time (the first sample may come before its CPU time line).
    std::thread::sleep(Duration::from_millis(2500));
    let second = rt.block_on(host.load_sample()).expect("a second sample");
    assert_eq!(second.machine, first.machine);
    let time = second.cpu_time.expect("the CPU time of /proc/stat");
    assert!(time.busy > 0 && time.total > time.busy, "{second:?}");
    if let Some(earlier) = first.cpu_time {
        assert!(time.total >= earlier.total, "{first:?} {second:?}");
    }
    assert_eq!(samplers().len(), 1, "one sampler: {:?}", samplers());
    // It goes when its reader does.
    drop(host);
    wait_for(
        "the load sampler to remove itself",
        Duration::from_secs(60),
        || samplers().is_empty().then_some(()),
    );
    drop(rt);
}

#[test]
fn a_grow_stops_at_a_check_point_when_the_machine_is_busy_at_rest() {
    require_engine();
    let c = Cluster::new("rest");
    let run = sis(&["apply", path(&c.spec(1, 1, "")), "--quiet"]);
    assert_eq!(run.code, 0, "{run:?}");
    // Any machine keeps more than 0.01 % of its cores busy: the check point before the
    // second node (with a share that small, the first comes at once) stops the grow.
    let two = c.spec(2, 1, "");
    let run = sis(&["apply", path(&two), "--rest-limit", "0.01"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("no idle headroom left on host local: at rest its 1 node(s) keep"),
        "{run:?}"
    );
    assert!(
        run.stderr
            .contains("sis adds no nodes at 0.01 % or more (`--rest-limit`)"),
        "{run:?}"
    );
    // The check point shows in the progress lines.
    assert!(
        run.stderr
            .contains("pacing (local): measuring the machine at rest with 1 node(s)"),
        "{run:?}"
    );
    assert_eq!(c.node_ids().len(), 1, "nothing was added");
    // Without it the grow goes on.
    let run = sis(&["apply", path(&two), "--quiet"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(c.node_ids().len(), 2);
}
