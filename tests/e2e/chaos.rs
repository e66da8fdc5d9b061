//! Fault injection against the real engine, on one small cluster (5 nodes, 3 managers):
//! kill the leader, isolate a worker for a while, pause a manager, heal what a killed
//! `sis chaos` left, and watch it all into a report that headless Chromium renders.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{docker_quiet, sis, sis_command, wait_for, Cluster};
use crate::{assert_all_ready, path};

/// A running `sis`, killed when the test ends early.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Removes the fault markers (not labelled `sis.cluster`, so the cluster's cleanup misses
/// them), after healing what is left.
struct Markers(String);

impl Drop for Markers {
    fn drop(&mut self) {
        let ids = docker_quiet(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label=sis.fault-cluster={}", self.0),
        ]);
        for id in ids.split_whitespace() {
            docker_quiet(&["rm", "-f", id]);
        }
    }
}

/// swarm2's nodes as `(hostname, status, manager status)`, asked on any node that answers.
fn nodes(c: &Cluster) -> Option<Vec<(String, String, String)>> {
    for i in 1..=5 {
        let out = Command::new("docker")
            .args([
                "exec",
                &format!("{}.local-{i}", c.name),
                "docker",
                "node",
                "ls",
                "--format",
                "{{.Hostname}} {{.Status}} {{.ManagerStatus}}",
            ])
            .output()
            .ok()?;
        if out.status.success() {
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let list = text
                .lines()
                .map(|l| {
                    let mut f = l.split(' ');
                    let mut next = || f.next().unwrap_or("").to_string();
                    (next(), next(), next())
                })
                .collect();
            return Some(list);
        }
    }
    None
}

fn leader(c: &Cluster) -> Option<String> {
    nodes(c)?.into_iter().find(|n| n.2 == "Leader").map(|n| n.0)
}

fn status_of(c: &Cluster, node: &str) -> Option<(String, String)> {
    nodes(c)?
        .into_iter()
        .find(|n| n.0 == node)
        .map(|n| (n.1, n.2))
}

fn sis_rules_in(node: &str) -> usize {
    docker_quiet(&["exec", node, "iptables", "-S"])
        .matches("sis-fault:")
        .count()
}

/// A new cluster of 5 nodes (3 managers), applied, with the spec's path.
fn five_nodes(tag: &str) -> (Cluster, Markers, String) {
    let c = Cluster::new(tag);
    let markers = Markers(c.name.clone());
    let spec = path(&c.spec(5, 3, "")).to_string();
    let run = sis(&["apply", &spec]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_all_ready(&c, 5);
    (c, markers, spec)
}

fn all_ready(c: &Cluster, what: &str) {
    wait_for(what, Duration::from_secs(90), || {
        nodes(c)
            .filter(|n| n.len() == 5 && n.iter().all(|n| n.1 == "Ready"))
            .map(|_| ())
    });
}

fn ring2net_ip(node: &str) -> String {
    docker_quiet(&[
        "inspect",
        "-f",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
        node,
    ])
    .trim()
    .to_string()
}

#[test]
fn chaos_kill_the_leader_then_apply() {
    let (c, _markers, spec) = five_nodes("ckill");
    let old = wait_for("a leader", Duration::from_secs(30), || leader(&c));
    let address = ring2net_ip(&old);
    let run = sis(&["chaos", &spec, "kill", "--target", "leader"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains(&format!("kill {old}")), "{run:?}");
    let killed = Instant::now();
    let new = wait_for("a new leader", Duration::from_secs(60), || {
        leader(&c).filter(|l| *l != old)
    });
    eprintln!(
        "new leader {new} after {:.1} s",
        killed.elapsed().as_secs_f64()
    );
    let run = sis(&["apply", &spec]);
    assert_eq!(run.code, 0, "{run:?}");
    // A manager is known to the others by its address: it must come back with the same one.
    assert_eq!(
        ring2net_ip(&old),
        address,
        "{old} came back at another ring2net address"
    );
    all_ready(&c, "every node Ready after apply");
    // apply restarted the killed node; heal removes the kill's record.
    let run = sis(&["chaos", &spec, "heal"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(sis(&["chaos", &spec, "list"])
        .stdout
        .contains("no active faults"));
}

#[test]
fn chaos_isolate_a_worker_for_a_while_pause_a_manager_and_report() {
    let (c, _markers, spec) = five_nodes("ciso");
    let events = c.dir.join("run.jsonl");
    let events_path = path(&events);
    let mut watch = Running(
        sis_command(&[
            "watch",
            &spec,
            "--out",
            events_path,
            "--interval",
            "2s",
            "--for",
            "600s",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap(),
    );

    // Isolate a worker for 20 s: seen Down, then Ready after the fault ends by itself.
    let worker = nodes(&c)
        .unwrap()
        .into_iter()
        .find(|n| n.2.is_empty())
        .unwrap()
        .0;
    let short = worker.split_once('.').unwrap().1.to_string();
    let mut isolate = Running(
        sis_command(&[
            "chaos",
            &spec,
            "partition",
            "--shape",
            "isolate",
            "--target",
            &format!("node:{short}"),
            "--duration",
            "20s",
            "--events",
            events_path,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap(),
    );
    wait_for(
        "the isolated worker seen Down",
        Duration::from_secs(60),
        || status_of(&c, &worker).filter(|s| s.0 == "Down").map(|_| ()),
    );
    let status = isolate.0.wait().unwrap();
    assert!(status.success(), "the isolation run failed");
    assert_eq!(
        sis_rules_in(&worker),
        0,
        "the rules went with the fault's end"
    );
    wait_for("the worker Ready again", Duration::from_secs(90), || {
        status_of(&c, &worker)
            .filter(|s| s.0 == "Ready")
            .map(|_| ())
    });

    // Pause a manager that does not lead: the leader sees it unreachable; heal unpauses it.
    let all = nodes(&c).unwrap();
    let manager = all.iter().find(|n| n.2 == "Reachable").unwrap().0.clone();
    let short = manager.split_once('.').unwrap().1.to_string();
    let run = sis(&[
        "chaos",
        &spec,
        "pause",
        "--target",
        &format!("node:{short}"),
        "--events",
        events_path,
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    wait_for(
        "the paused manager seen unreachable",
        Duration::from_secs(60),
        || {
            status_of(&c, &manager)
                .filter(|s| s.1 == "Unreachable")
                .map(|_| ())
        },
    );
    let list = sis(&["chaos", &spec, "list"]);
    assert!(
        list.stdout.contains("pause") && list.stdout.contains(&manager),
        "{list:?}"
    );
    let run = sis(&["chaos", &spec, "heal"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(&format!("unpaused {manager}")),
        "{run:?}"
    );
    wait_for(
        "the manager reachable again",
        Duration::from_secs(60),
        || {
            status_of(&c, &manager)
                .filter(|s| s.0 == "Ready" && s.1 == "Reachable")
                .map(|_| ())
        },
    );

    // The watched run becomes a report.
    let _ = Command::new("kill")
        .args(["-INT", &watch.0.id().to_string()])
        .status();
    let _ = watch.0.wait();
    let report = c.dir.join("report.html");
    let run = sis(&["report", events_path, "--out", path(&report)]);
    assert_eq!(run.code, 0, "{run:?}");
    let html = std::fs::read_to_string(&report).unwrap();
    assert_eq!(html.matches("<svg").count(), 6);
    assert!(!html.contains("<script"), "no script");
    assert!(
        html.contains("partition isolate") && html.contains("pause node:"),
        "faults shown: {html}"
    );
    render_in_chromium(&c, &report);
}

#[test]
fn chaos_heal_after_a_killed_partition_run() {
    let (c, _markers, spec) = five_nodes("cheal");
    let mut partition = Running(
        sis_command(&[
            "chaos",
            &spec,
            "partition",
            "--shape",
            "halves",
            "--duration",
            "600s",
            "--seed",
            "1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap(),
    );
    let names: Vec<String> = (1..=5).map(|i| format!("{}.local-{i}", c.name)).collect();
    wait_for("the partition's rules", Duration::from_secs(60), || {
        (names.iter().map(|n| sis_rules_in(n)).sum::<usize>() > 0).then_some(())
    });
    let _ = partition.0.kill();
    partition.0.wait().unwrap();
    let list = sis(&["chaos", &spec, "list"]);
    assert!(
        list.stdout.contains("partition halves"),
        "the killed run's fault is listed: {list:?}"
    );
    let run = sis(&["chaos", &spec, "heal"]);
    assert_eq!(run.code, 0, "{run:?}");
    for n in &names {
        assert_eq!(sis_rules_in(n), 0, "sis rules left in {n}");
    }
    assert!(sis(&["chaos", &spec, "list"])
        .stdout
        .contains("no active faults"));
    all_ready(&c, "every node Ready after heal");
    let plan = sis(&["plan", &spec]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(plan.stdout.contains("No changes."), "{plan:?}");
}

#[test]
fn chaos_apply_report_draws_a_waterfall_and_destroy_leaves_no_fault_markers() {
    let c = Cluster::new("cdestroy");
    let _markers = Markers(c.name.clone());
    let spec = path(&c.spec(2, 1, "")).to_string();
    let record = c.dir.join("apply.jsonl");
    let run = sis(&["apply", &spec, "--report", path(&record)]);
    assert_eq!(run.code, 0, "{run:?}");
    // The run file: the header, then every node's milestones up to Ready.
    let text = std::fs::read_to_string(&record).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["format"], "sis-run", "{text}");
    assert!(lines
        .iter()
        .any(|l| l["type"] == "apply" && l["ending"] == "converged"));
    for i in 1..=2 {
        let node = format!("{}.local-{i}", c.name);
        for milestone in ["create", "dockerd_ready", "joined", "ready"] {
            assert!(
                lines
                    .iter()
                    .any(|l| l["node"] == node.as_str() && l["milestone"] == milestone),
                "no {milestone} of {node} in {text}"
            );
        }
    }
    let page = c.dir.join("apply.html");
    let run = sis(&["report", path(&record), "--out", path(&page)]);
    assert_eq!(run.code, 0, "{run:?}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("Apply: a bar per node"), "{html}");
    assert!(html.contains(">local-1<") && html.contains(">local-2<"));
    let worker = format!("{}.local-2", c.name);
    // Faults still active when the cluster goes: a paused node, a rate limit, a partition.
    for fault in [
        vec!["pause", "--target", "workers"],
        vec!["netem", "--target", "managers", "--rate", "1mbit"],
        vec!["partition", "--shape", "isolate", "--target", "leader"],
    ] {
        let mut args = vec!["chaos", spec.as_str()];
        args.extend(fault);
        let run = sis(&args);
        assert_eq!(run.code, 0, "{run:?}");
    }
    let paused = docker_quiet(&["inspect", "-f", "{{.State.Paused}}", &worker]);
    assert_eq!(paused.trim(), "true", "{worker} paused");
    let markers = || {
        docker_quiet(&[
            "ps",
            "-a",
            "--filter",
            &format!("label=sis.fault-cluster={}", c.name),
            "--format",
            "{{.Names}}",
        ])
    };
    assert_eq!(markers().lines().count(), 3, "one marker a fault");
    let run = sis(&["destroy", &spec]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("nothing of cluster"), "{run:?}");
    assert_eq!(markers(), "", "fault markers left after destroy");
    let left = docker_quiet(&[
        "ps",
        "-a",
        "--filter",
        &format!("name=^{}", c.name),
        "--format",
        "{{.Names}}",
    ]);
    assert_eq!(left, "", "containers left after destroy");
    assert!(sis(&["chaos", &spec, "list"])
        .stdout
        .contains("no active faults"));
}

/// Renders the page in headless Chromium (when installed): no console errors, a screenshot.
fn render_in_chromium(c: &Cluster, report: &std::path::Path) {
    let Some(browser) = ["chromium", "chromium-browser"].into_iter().find(|b| {
        Command::new(b)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    }) else {
        panic!("chromium is not installed (tests/engine-up.sh installs it): the report cannot be rendered")
    };
    let profile = c.dir.join("chromium-profile");
    let shot = c.dir.join("report.png");
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1400,1800")
        .arg(format!("file://{}", report.display()))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(shot.exists(), "no screenshot: {stderr}");
    let console: Vec<&str> = stderr.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:?}");
}
