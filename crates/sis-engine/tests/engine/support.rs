//! What every real-engine test needs: the engine, unique names, its own subnet, and a
//! guard that removes what the test made, pass or fail.

use std::collections::BTreeMap;
use std::process::Command;

use sis_engine::{DockerHost, HostEngine};
use sis_types::labels;

/// The node image the tests run (built by `tests/node-image/build.sh`).
pub use sis_test_support::NODE_IMAGE;

/// The engine under test: `DOCKER_HOST`, or the local socket. Fails (never skips) when
/// there is none, saying how to get one.
pub async fn engine() -> DockerHost {
    let endpoint =
        std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
    let help = "these tests need a running Docker engine with the image sis-node:test: run \
                `tests/engine-up.sh` (installs docker.io, starts `dockerd`, builds the image), \
                or start `dockerd` yourself and set DOCKER_HOST if it is not on \
                unix:///var/run/docker.sock";
    let host = DockerHost::connect(&endpoint, None)
        .unwrap_or_else(|e| panic!("{e}\n{help}"))
        .with_probe_image(NODE_IMAGE);
    let facts = host
        .observe("sis-t-reachability", "sis-t-none")
        .await
        .unwrap_or_else(|e| panic!("{e}\n{help}"));
    assert!(
        facts.images.contains(NODE_IMAGE),
        "the engine at {endpoint} has no image {NODE_IMAGE}\n{help}"
    );
    host
}

/// Makes the engine a swarm1 manager if it is in no swarm (overlay networks need one).
/// It stays in the swarm afterwards: other tests need it too. No `sis.swarm1-created-by`
/// label: no cluster owns this engine's swarm.
pub async fn ensure_swarm1(host: &DockerHost) {
    host.swarm1_init(Some("127.0.0.1"), BTreeMap::new())
        .await
        .expect("swarm init of the test engine");
}

/// A /24 of 10.250.0.0/16 for this test process (from its pid) and `slot` (0–4).
/// A test's subnet text as the typed value the engine takes.
pub fn net(text: &str) -> ipnet::Ipv4Net {
    text.parse().expect("a test subnet")
}

pub fn subnet(slot: u32) -> String {
    assert!(slot < 5);
    format!("10.250.{}.0/24", (std::process::id() % 50) * 5 + slot)
}

/// One test's names, subnet and clean-up.
pub struct Scratch {
    /// `sis-t-<test>-<pid>`: the cluster label of everything the test makes, and the
    /// prefix of its names.
    pub cluster: String,
    /// A /24 of 10.250.0.0/16 of its own: from the pid, and the test's `slot` (0–4).
    pub subnet: String,
}

impl Scratch {
    pub fn new(test: &str, slot: u32) -> Scratch {
        let pid = std::process::id();
        Scratch {
            cluster: format!("sis-t-{test}-{pid}"),
            subnet: subnet(slot),
        }
    }

    pub fn name(&self, what: &str) -> String {
        format!("{}-{what}", self.cluster)
    }

    /// The labels that mark an object as the test's.
    pub fn labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (labels::CLUSTER.to_string(), self.cluster.clone()),
            (labels::ROLE.to_string(), labels::ROLE_NODE.to_string()),
        ])
    }
}

impl Drop for Scratch {
    /// Removes the test's containers (with their volumes) and networks, by label, with the
    /// docker CLI: it works whether the test passed, failed or panicked mid-way.
    fn drop(&mut self) {
        let filter = format!("label={}={}", labels::CLUSTER, self.cluster);
        for (list, remove) in [
            (vec!["ps", "-aq"], vec!["rm", "-fv"]),
            (vec!["network", "ls", "-q"], vec!["network", "rm"]),
        ] {
            let ids = Command::new("docker")
                .args(&list)
                .args(["--filter", &filter])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            let ids: Vec<&str> = ids.split_whitespace().collect();
            if !ids.is_empty() {
                let _ = Command::new("docker").args(&remove).args(&ids).output();
            }
        }
    }
}

/// The engine's capability bounding set, read here: the tests talk to a local engine.
pub fn local_cap_bnd() -> u64 {
    let status = std::fs::read_to_string("/proc/1/status").expect("read /proc/1/status");
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .expect("CapBnd in /proc/1/status");
    u64::from_str_radix(hex.trim(), 16).expect("CapBnd is hex")
}

/// The capabilities this host lacks, read here.
pub fn local_caps_missing() -> Vec<String> {
    let last = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .expect("read /proc/sys/kernel/cap_last_cap");
    let last = last.trim().parse().expect("cap_last_cap is a number");
    sis_types::missing_capabilities(local_cap_bnd(), last)
}

/// Whether an IPv4 address is in a /24 like `10.250.7.0/24`.
pub fn in_subnet24(ip: &str, subnet: &str) -> bool {
    let prefix = subnet.trim_end_matches("0/24");
    ip.starts_with(prefix) && ip[prefix.len()..].parse::<u8>().is_ok()
}
