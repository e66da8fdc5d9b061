//! The load sampler that paces node creation reads the real machine: the kernel's boot ID,
//! cores, load and CPU pressure, through one long-lived container per host that goes away
//! with its reader.

use std::time::Duration;

use sis_engine::{DockerHost, HostEngine, SAMPLER_PID};

use crate::support::{docker, require_engine, wait_for, NODE_IMAGE};

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
    // Later samples come from the same container, a line a second.
    std::thread::sleep(Duration::from_millis(2500));
    let second = rt.block_on(host.load_sample()).expect("a second sample");
    assert_eq!(second.machine, first.machine);
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
