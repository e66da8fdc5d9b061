//! `sis status --watch` into a pipe: blocks after a line with the time, one per look, until
//! Ctrl-C ends it with exit code 0. (On a terminal it redraws in place instead.)

use std::io::Read;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::path;
use crate::support::{sis, sis_command, wait_for, Cluster};

#[test]
fn status_watch_in_a_pipe_prints_timed_blocks_until_ctrl_c() {
    let c = Cluster::new("stwatch");
    let spec = c.spec(1, 1, "");
    let mut child = sis_command(&["status", path(&spec), "--watch", "--interval", "1s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let seen = Arc::new(Mutex::new(String::new()));
    let reader = {
        let seen = Arc::clone(&seen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    let blocks = |text: &str| text.lines().filter(|l| l.starts_with("--- ")).count();
    wait_for(
        "two looks of sis status --watch",
        Duration::from_secs(60),
        || (blocks(&seen.lock().unwrap()) >= 2).then_some(()),
    );
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let text = seen.lock().unwrap().clone();
    assert_eq!(status.code(), Some(0), "{text}");
    assert!(
        !text.contains('\x1b'),
        "no terminal codes in a pipe: {text:?}"
    );
    for block in text.split("--- ").skip(1) {
        let (when, body) = block.split_once('\n').unwrap();
        assert!(when.ends_with(" UTC"), "{when:?}");
        assert!(
            body.starts_with(&format!("cluster {}\nhost local: ", c.name)),
            "{body}"
        );
    }

    let json = sis(&["status", path(&spec), "--watch", "--output", "json"]);
    assert_eq!(json.code, 1, "{json:?}");
    assert!(json.stderr.contains("--watch redraws text"), "{json:?}");
}
