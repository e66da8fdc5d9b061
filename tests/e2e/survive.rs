//! What failures leave behind: an apply killed with SIGKILL leaves its lock, and the next
//! apply on this machine takes it over and converges; SIGTERM stops like Ctrl-C; and no
//! join token reaches the logs, the output or the report, even at `-vv`.

use std::process::{Child, Stdio};

use crate::support::{docker_quiet, sis, sis_command, Cluster, Run};
use crate::{assert_all_ready, path};

/// A running `sis`, killed when the test ends early.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn lock_exists(c: &Cluster) -> bool {
    let lock = format!("{}.sis-lock", c.name);
    let out = docker_quiet(&["ps", "-aq", "--filter", &format!("name=^{lock}$")]);
    !out.trim().is_empty()
}

/// Sends `signal` to the process.
fn kill(child: &Child, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {signal}");
}

#[test]
fn an_apply_killed_mid_run_leaves_a_lock_the_next_apply_takes_over() {
    let c = Cluster::new("kill9");
    let spec = c.spec(4, 1, "");
    let mut first = Running(
        sis_command(&["apply", path(&spec), "--quiet"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    c.wait_for_first_node();
    kill(&first.0, "-KILL");
    first.0.wait().unwrap();
    assert!(lock_exists(&c), "a killed apply cannot release its lock");

    let run = sis(&["apply", path(&spec)]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("took over the lock") && run.stderr.contains("process is gone"),
        "{run:?}"
    );
    assert_all_ready(&c, 4);
    assert!(!lock_exists(&c), "the lock was left behind");
}

#[test]
fn sigterm_stops_like_ctrl_c_and_releases_the_lock() {
    let c = Cluster::new("term");
    let spec = c.spec(3, 1, "");
    let child = sis_command(&["apply", path(&spec)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.wait_for_first_node();
    kill(&child, "-TERM");
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The apply may have finished just before the signal; then it converged.
    let code = out.status.code().unwrap_or(-1);
    assert!(code == 130 || code == 0, "exit {code}\n{stdout}\n{stderr}");
    if code == 130 {
        assert!(stderr.contains("SIGTERM"), "{stdout}\n{stderr}");
        assert!(stdout.contains("Interrupted"), "{stdout}\n{stderr}");
    }
    assert!(!lock_exists(&c), "the lock was left behind");
    let run = sis(&["apply", path(&spec)]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_all_ready(&c, 3);
}

/// Runs `sis ARGS` without RUST_LOG, so the default filters apply.
pub(crate) fn sis_default_log(args: &[&str]) -> Run {
    let out = sis_command(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run sis");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn no_join_token_in_the_logs_output_or_report_even_at_trace() {
    let c = Cluster::new("tokens");
    let spec = c.spec(2, 1, "");
    let report = c.dir.join("report.json");
    let json = sis_default_log(&[
        "-vv",
        "apply",
        path(&spec),
        "--output",
        "json",
        "--report",
        path(&report),
    ]);
    assert_eq!(json.code, 0, "{json:?}");
    assert!(
        json.stderr.lines().count() > 10,
        "-vv logs something: {json:?}"
    );
    assert_all_ready(&c, 2);
    // Text output, and a node replaced so that a join happens again.
    docker_quiet(&["rm", "-f", "-v", &format!("{}.local-2", c.name)]);
    let text = sis_default_log(&["-vv", "apply", path(&spec)]);
    assert_eq!(text.code, 0, "{text:?}");
    let status = sis_default_log(&["-vv", "status", path(&spec), "--output", "json"]);
    assert_eq!(status.code, 0, "{status:?}");
    let written = std::fs::read_to_string(&report).unwrap();
    for (what, content) in [
        ("apply --output json stdout", &json.stdout),
        ("apply --output json stderr", &json.stderr),
        ("apply stdout", &text.stdout),
        ("apply stderr", &text.stderr),
        ("status stdout", &status.stdout),
        ("status stderr", &status.stderr),
        ("the --report file", &written),
    ] {
        assert!(!content.contains("SWMTKN-"), "a join token in {what}");
    }
}
