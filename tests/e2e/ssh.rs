//! ssh:// endpoints for real: `sis lab up --ssh` gives the hosts sshd and a generated key,
//! the written spec reaches them over ssh://, and a cluster is applied over it. A key the
//! hosts do not accept fails with exit code 1, naming the host and the key.

use std::process::Command;

use crate::lab::{path, Lab};
use crate::support::sis;

#[test]
fn a_cluster_applies_over_ssh_and_a_wrong_key_is_named() {
    let lab = Lab::new("ssh");
    let up = lab.up(2, &["--ssh"]);
    assert_eq!(up.code, 0, "{up:?}");
    let all = format!("{}{}", up.stdout, up.stderr);
    assert!(!all.contains("PRIVATE KEY"), "a key was printed: {up:?}");
    let spec = lab.spec();
    let text = std::fs::read_to_string(&spec).unwrap();
    assert!(
        text.contains(&format!("endpoint: ssh://root@{}\n", lab.ip(1))),
        "{text}"
    );
    assert!(text.contains("identity: "), "{text}");
    assert!(text.contains("known_hosts: "), "{text}");

    let apply = sis(&["apply", path(&spec), "--quiet"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let status = sis(&["status", path(&spec)]);
    assert_eq!(status.code, 0, "{status:?}");
    assert!(
        status.stdout.contains("swarm2: 4 nodes: 4 ready"),
        "{status:?}"
    );
    assert!(
        status
            .stdout
            .contains(&format!("host h2: ssh://root@{}", lab.ip(2))),
        "{status:?}"
    );

    // Another key: refused by the hosts, named in the error, nothing done.
    let wrong = lab.dir.join("wrong_key");
    let keygen = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&wrong)
        .output()
        .unwrap();
    assert!(keygen.status.success(), "{keygen:?}");
    let lab_key = format!("{}-ssh/id_ed25519", lab.name);
    assert!(text.contains(&lab_key), "{text}");
    let wrong_spec = lab.dir.join("wrong.yaml");
    std::fs::write(&wrong_spec, text.replace(&lab_key, "wrong_key")).unwrap();
    let refused = sis(&["apply", path(&wrong_spec)]);
    assert_eq!(refused.code, 1, "{refused:?}");
    // The apply lock is taken first, on each host: its error names the host and endpoint.
    assert!(refused.stderr.contains("on host h1: "), "{refused:?}");
    assert!(
        refused
            .stderr
            .contains(&format!("ssh://root@{}", lab.ip(1))),
        "{refused:?}"
    );
    assert!(
        refused.stderr.contains("the host refused the login"),
        "{refused:?}"
    );
    assert!(refused.stderr.contains(path(&wrong)), "{refused:?}");

    let destroy = sis(&["destroy", path(&spec), "--quiet"]);
    assert_eq!(destroy.code, 0, "{destroy:?}");
}
