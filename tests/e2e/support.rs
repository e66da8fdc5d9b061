//! Test clusters on the local engine: unique names, their own /24 subnet, a spec written to a
//! temporary directory, and cleanup of everything labelled with the cluster name even when the
//! test fails (Drop). The `docker` CLI is the oracle: what it shows is what a user sees.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static NEXT: AtomicU32 = AtomicU32::new(0);

pub use sis_test_support::NODE_IMAGE;

/// Fails the test with instructions when there is no engine or no node image.
pub fn require_engine() {
    let ok = Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Id}}", NODE_IMAGE])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "these tests need a running Docker engine with the image {NODE_IMAGE}: \
         run tests/engine-up.sh (installs docker.io, starts dockerd, builds the image), \
         or use tests/run.sh, which does that and runs every test"
    );
}

pub struct Cluster {
    pub name: String,
    pub subnet: String,
    pub dir: PathBuf,
}

impl Cluster {
    /// A new, unique cluster on the local engine.
    pub fn new(tag: &str) -> Cluster {
        require_engine();
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let pid = std::process::id();
        let name = format!("t{tag}-{pid}-{n}");
        let subnet = format!("10.{}.{}.0/24", 210 + pid % 40, (pid / 40 % 200) + n);
        let dir = std::env::temp_dir().join(format!("sis-e2e-{name}"));
        std::fs::create_dir_all(&dir).unwrap();
        let cluster = Cluster { name, subnet, dir };
        cluster.cleanup();
        cluster
    }

    pub fn network(&self) -> String {
        format!("{}-net", self.name)
    }

    /// Writes the spec for `nodes` nodes (and extra YAML under swarm2) and returns its path.
    pub fn spec(&self, nodes: u32, managers: u32, swarm2_extra: &str) -> PathBuf {
        self.spec_with_image(nodes, managers, NODE_IMAGE, swarm2_extra)
    }

    pub fn spec_with_image(&self, nodes: u32, managers: u32, image: &str, extra: &str) -> PathBuf {
        let path = self.dir.join("cluster.yaml");
        let yaml = format!(
            "version: 1\nname: {name}\nhosts:\n  - name: local\n    endpoint: unix:///var/run/docker.sock\n    nodes: {nodes}\n\
             network:\n  name: {net}\n  subnet: {subnet}\n\
             swarm2:\n  managers: {managers}\n  image: {image}\n{extra}",
            name = self.name,
            net = self.network(),
            subnet = self.subnet,
        );
        std::fs::write(&path, yaml).unwrap();
        path
    }

    /// Waits (bounded) until an apply running beside the test has created a node container:
    /// the moment the tests that interrupt an apply strike.
    pub fn wait_for_first_node(&self) {
        wait_for("the first node container", Duration::from_secs(120), || {
            (!self.node_ids().is_empty()).then_some(())
        });
    }

    /// IDs of the cluster's node containers by name.
    pub fn node_ids(&self) -> Vec<(String, String)> {
        let out = docker(&[
            "ps",
            "-a",
            "--filter",
            &format!("label=sis.cluster={}", self.name),
            "--filter",
            "label=sis.role=node",
            "--format",
            "{{.Names}} {{.ID}}",
        ]);
        let mut ids: Vec<(String, String)> = out
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(n, i)| (n.to_string(), i.to_string()))
            .collect();
        ids.sort();
        ids
    }

    /// swarm2's node list as `(hostname, status, manager status)`, asked on the first node.
    pub fn swarm2_nodes(&self) -> Vec<(String, String, String)> {
        let manager = format!("{}.local-1", self.name);
        let out = docker(&[
            "exec",
            &manager,
            "docker",
            "node",
            "ls",
            "--format",
            "{{.Hostname}} {{.Status}} {{.ManagerStatus}}",
        ]);
        let mut nodes: Vec<_> = out
            .lines()
            .map(|l| {
                let mut f = l.split(' ');
                (
                    f.next().unwrap_or("").to_string(),
                    f.next().unwrap_or("").to_string(),
                    f.next().unwrap_or("").to_string(),
                )
            })
            .collect();
        nodes.sort();
        nodes
    }

    /// Everything on the engine that carries the cluster's label: containers, volumes, networks.
    pub fn leftovers(&self) -> Vec<String> {
        let label = format!("label=sis.cluster={}", self.name);
        let mut left = Vec::new();
        for (kind, args) in [
            (
                "container",
                vec!["ps", "-a", "--filter", &label, "--format", "{{.Names}}"],
            ),
            (
                "network",
                vec!["network", "ls", "--filter", &label, "--format", "{{.Name}}"],
            ),
        ] {
            for l in docker(&args).lines().filter(|l| !l.is_empty()) {
                left.push(format!("{kind} {l}"));
            }
        }
        // Anonymous volumes carry no label: a node's volume is found by the container it
        // belonged to, which is gone; dangling volumes are checked by the tests that need it.
        left
    }

    /// Removes everything of the cluster (containers with volumes, networks).
    pub fn cleanup(&self) {
        let label = format!("label=sis.cluster={}", self.name);
        let ids = docker_quiet(&["ps", "-aq", "--filter", &label]);
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(ids);
            docker_quiet(&args);
        }
        let nets = docker_quiet(&["network", "ls", "-q", "--filter", &label]);
        for n in nets.split_whitespace() {
            docker_quiet(&["network", "rm", n]);
        }
        // A network sis had not labelled yet (a run killed mid-create) still has our name.
        docker_quiet(&["network", "rm", &self.network()]);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.cleanup();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A finished `sis` run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

pub fn sis_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sis"));
    cmd.args(args);
    cmd
}

pub fn sis(args: &[&str]) -> Run {
    let out: Output = sis_command(args).output().expect("run sis");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `docker ARGS`; panics with its stderr when it fails.
pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("run docker");
    assert!(
        out.status.success(),
        "docker {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `docker ARGS`, ignoring failure (cleanup).
pub fn docker_quiet(args: &[&str]) -> String {
    Command::new("docker")
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// Polls `check` until it returns Some, at most `timeout`; the message says what was awaited.
pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    let mut delay = Duration::from_millis(50);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {} s waiting for {what}",
            timeout.as_secs()
        );
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(500));
    }
}
