//! `sis lab`: simulated hosts on the local engine, and sis across them. The hosts are reached
//! the way a user would reach them: `docker -H tcp://IP:PORT` from this machine.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::support::{docker, docker_quiet, require_engine, sis, Run, NODE_IMAGE};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A lab with a unique name and bridge subnet, taken down when dropped (also when the test
/// fails); its spec and certificates live in a temporary directory.
pub(crate) struct Lab {
    pub(crate) name: String,
    pub(crate) subnet: String,
    pub(crate) dir: PathBuf,
}

impl Lab {
    pub(crate) fn new(tag: &str) -> Lab {
        require_engine();
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let pid = std::process::id();
        let name = format!("l{tag}-{pid}-{n}");
        // 10.190–10.199 are the labs' (the cluster tests use 10.210 and up).
        let subnet = format!("10.{}.{}.0/24", 190 + n % 10, pid % 250);
        let dir = std::env::temp_dir().join(format!("sis-e2e-{name}"));
        std::fs::create_dir_all(&dir).unwrap();
        let lab = Lab { name, subnet, dir };
        lab.teardown();
        lab
    }

    pub(crate) fn spec(&self) -> PathBuf {
        self.dir.join("lab.yaml")
    }

    /// `sis lab up` with this lab's name, subnet and spec path, and `extra` arguments.
    pub(crate) fn up(&self, hosts: u32, extra: &[&str]) -> Run {
        let hosts = hosts.to_string();
        let spec = self.spec();
        let mut args = vec![
            "lab",
            "up",
            "--hosts",
            &hosts,
            "--name",
            &self.name,
            "--subnet",
            &self.subnet,
            "--spec-out",
            path(&spec),
        ];
        args.extend(extra);
        sis(&args)
    }

    pub(crate) fn ip(&self, index: u32) -> String {
        let prefix = self.subnet.trim_end_matches("0/24");
        format!("{prefix}{}", 10 + index)
    }

    /// `docker -H tcp://IP:2375 ARGS` against host `index`.
    pub(crate) fn on_host(&self, index: u32, args: &[&str]) -> String {
        let endpoint = format!("tcp://{}:2375", self.ip(index));
        let mut all = vec!["-H", endpoint.as_str()];
        all.extend(args);
        docker(&all)
    }

    /// Host container name → ID.
    fn host_ids(&self) -> BTreeMap<String, String> {
        let label = format!("label=sis.lab={}", self.name);
        docker(&[
            "ps",
            "-a",
            "--filter",
            &label,
            "--format",
            "{{.Names}} {{.ID}}",
        ])
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(n, i)| (n.to_string(), i.to_string()))
        .collect()
    }

    /// Everything on the local engine labelled with the lab's name.
    pub(crate) fn leftovers(&self) -> Vec<String> {
        let label = format!("label=sis.lab={}", self.name);
        let mut left: Vec<String> =
            docker(&["ps", "-a", "--filter", &label, "--format", "{{.Names}}"])
                .lines()
                .map(|l| format!("container {l}"))
                .collect();
        left.extend(
            docker(&["network", "ls", "--filter", &label, "--format", "{{.Name}}"])
                .lines()
                .map(|l| format!("network {l}")),
        );
        left
    }

    fn teardown(&self) {
        sis(&["lab", "down", "--name", &self.name]);
        // Should `lab down` itself be broken, still leave the engine clean for other tests.
        let label = format!("label=sis.lab={}", self.name);
        for id in docker_quiet(&["ps", "-aq", "--filter", &label]).split_whitespace() {
            docker_quiet(&["rm", "-f", "-v", id]);
        }
        for id in docker_quiet(&["network", "ls", "-q", "--filter", &label]).split_whitespace() {
            docker_quiet(&["network", "rm", id]);
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.teardown();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub(crate) fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The anonymous volumes of the lab's hosts.
fn host_volumes(lab: &Lab) -> Vec<String> {
    lab.host_ids()
        .keys()
        .flat_map(|name| {
            docker(&[
                "inspect",
                "--format",
                "{{range .Mounts}}{{if eq .Type \"volume\"}}{{.Name}} {{end}}{{end}}",
                name,
            ])
            .split_whitespace()
            .map(String::from)
            .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn lab_up_gives_engines_over_tcp_with_the_image_again_changes_nothing_down_removes_all() {
    let lab = Lab::new("up");
    let start = Instant::now();
    let run = lab.up(2, &[]);
    let first = start.elapsed();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("sis apply"), "{run:?}");

    for i in 1..=2 {
        let version = lab.on_host(i, &["version", "--format", "{{.Server.Version}}"]);
        assert!(!version.trim().is_empty(), "host {i} answered no version");
        let tags = lab.on_host(i, &["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"]);
        assert!(
            tags.lines().any(|t| t == NODE_IMAGE),
            "host {i} lacks {NODE_IMAGE}: {tags}"
        );
    }
    let spec = sis(&["validate", path(&lab.spec())]);
    assert_eq!(spec.code, 0, "{spec:?}");
    assert!(spec.stdout.contains("2 hosts"), "{spec:?}");

    // Again: nothing is made, copied or replaced, and it is quick.
    let ids = lab.host_ids();
    assert_eq!(ids.len(), 2, "{ids:?}");
    let start = Instant::now();
    let again = lab.up(2, &[]);
    let second = start.elapsed();
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stdout.contains("nothing changed"), "{again:?}");
    assert!(!again.stderr.contains("copying"), "{again:?}");
    assert_eq!(lab.host_ids(), ids);
    assert!(
        second < Duration::from_secs(5) && second < first,
        "second run took {second:?} (first {first:?})"
    );
    eprintln!("lab up --hosts 2: first {first:?}, second {second:?}");

    let volumes = host_volumes(&lab);
    assert_eq!(volumes.len(), 2, "{volumes:?}");
    let down = sis(&["lab", "down", "--name", &lab.name]);
    assert_eq!(down.code, 0, "{down:?}");
    assert_eq!(lab.leftovers(), Vec::<String>::new());
    for v in volumes {
        assert!(
            docker_quiet(&["volume", "inspect", &v]).trim() == "[]",
            "volume {v} of a host is left"
        );
    }
    // Down again: nothing to do, no error.
    let again = sis(&["lab", "down", "--name", &lab.name]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stdout.contains("nothing to remove"), "{again:?}");
}

#[test]
fn lab_with_tls_serves_the_generated_client_and_refuses_a_foreign_ca_clearly() {
    let lab = Lab::new("tls");
    let run = lab.up(1, &["--tls"]);
    assert_eq!(run.code, 0, "{run:?}");
    let client = lab.dir.join(format!("{}-tls", lab.name)).join("client");
    let endpoint = format!("tcp://{}:2376", lab.ip(1));
    let file = |f: &str| client.join(f).to_str().unwrap().to_string();
    let version = docker(&[
        "--tlsverify",
        "--tlscacert",
        &file("ca.pem"),
        "--tlscert",
        &file("cert.pem"),
        "--tlskey",
        &file("key.pem"),
        "-H",
        &endpoint,
        "version",
        "--format",
        "{{.Server.Version}}",
    ]);
    assert!(!version.trim().is_empty());
    // Without a client certificate the engine refuses.
    let plain = std::process::Command::new("docker")
        .args([
            "--tlsverify",
            "--tlscacert",
            &file("ca.pem"),
            "-H",
            &endpoint,
            "version",
        ])
        .output()
        .unwrap();
    assert!(
        !plain.status.success(),
        "the engine served a client without a certificate"
    );

    let status = sis(&["status", path(&lab.spec())]);
    assert_eq!(status.code, 0, "{status:?}");
    assert!(status.stdout.contains("host h1: tcp://"), "{status:?}");
    assert!(!status.stdout.contains("UNREACHABLE"), "{status:?}");

    // A spec that trusts another CA: the error names the host and says why.
    let other = lab.dir.join("other-ca");
    sis_lab::LabCerts::new(&other).ensure(&[]).unwrap();
    let text = std::fs::read_to_string(lab.spec()).unwrap();
    let ca = format!("{}-tls/client/ca.pem", lab.name);
    assert!(text.contains(&ca), "{text}");
    let foreign = lab.dir.join("foreign-ca.yaml");
    std::fs::write(&foreign, text.replace(&ca, "other-ca/ca.pem")).unwrap();
    let plan = sis(&["plan", path(&foreign)]);
    assert_eq!(plan.code, 1, "{plan:?}");
    assert!(plan.stderr.contains("host `h1`"), "{plan:?}");
    assert!(
        plan.stderr.contains("certificate was not trusted"),
        "{plan:?}"
    );
    assert!(plan.stderr.contains("other-ca/ca.pem"), "{plan:?}");

    let tls_dir = lab.dir.join(format!("{}-tls", lab.name));
    assert!(tls_dir.is_dir());
    let down = sis(&["lab", "down", "--name", &lab.name]);
    assert_eq!(down.code, 0, "{down:?}");
    assert!(!tls_dir.exists(), "{down:?}");
    assert!(
        other.join("ca.pem").exists(),
        "down removed a CA that is not the lab's"
    );
}

#[test]
fn lab_up_without_the_image_says_how_to_build_it() {
    let lab = Lab::new("noimg");
    let run = lab.up(1, &["--image", "sis-node:absent"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("sis-node:absent"), "{run:?}");
    assert!(run.stderr.contains("tests/node-image/build.sh"), "{run:?}");
    assert_eq!(lab.leftovers(), Vec::<String>::new());
}

#[test]
fn lab_down_removes_a_lab_whose_hosts_run_nodes_in_one_call() {
    let lab = Lab::new("dn");
    let run = lab.up(2, &["--nodes-per-host", "3"]);
    assert_eq!(run.code, 0, "{run:?}");
    // The hosts run the engine's init as process 1, which reaps what the nodes orphan.
    for name in lab.host_ids().keys() {
        let init = docker(&["inspect", "--format", "{{.HostConfig.Init}}", name]);
        assert_eq!(init.trim(), "true", "host {name} runs without an init");
    }
    let apply = sis(&["apply", path(&lab.spec())]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let label = format!("label=sis.cluster={}", lab.name);
    for i in 1..=2 {
        let nodes = lab.on_host(i, &["ps", "-q", "--filter", &label]);
        assert_eq!(nodes.lines().count(), 3, "host {i}: {nodes}");
    }

    let volumes = host_volumes(&lab);
    assert_eq!(volumes.len(), 2, "{volumes:?}");
    let start = Instant::now();
    let down = sis(&["lab", "down", "--name", &lab.name]);
    eprintln!("lab down with 2 hosts × 3 nodes: {:?}", start.elapsed());
    assert_eq!(down.code, 0, "{down:?}");
    assert_eq!(lab.leftovers(), Vec::<String>::new(), "{down:?}");
    for v in volumes {
        assert!(
            docker_quiet(&["volume", "inspect", &v]).trim() == "[]",
            "volume {v} of a host is left"
        );
    }
}
