//! `sis destroy --swarm1` on a one-host lab: sis marks the swarm1 it initialises, a plain
//! destroy keeps it, and `--swarm1` makes the host leave it. Only lab hosts leave a swarm
//! here: the machine's own engine is the swarm1 of the other tests.

use serde_json::Value;

use crate::lab::{path, Lab};
use crate::support::{sis, Run};

/// The lab host's swarm as `docker info` shows it (`.Swarm`).
fn swarm(lab: &Lab) -> Value {
    let out = lab.on_host(1, &["info", "--format", "{{json .Swarm}}"]);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("docker info: {e}: {out}"))
}

fn state(lab: &Lab) -> String {
    swarm(lab)["LocalNodeState"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Containers and networks on the lab host that carry the cluster's label.
fn labelled(lab: &Lab) -> String {
    let label = format!("label=sis.cluster={}", lab.name);
    lab.on_host(1, &["ps", "-aq", "--filter", &label])
        + &lab.on_host(1, &["network", "ls", "-q", "--filter", &label])
}

fn ok(run: Run) -> Run {
    assert_eq!(run.code, 0, "{run:?}");
    run
}

#[test]
fn destroy_with_swarm1_leaves_the_swarm1_sis_made_and_plain_destroy_keeps_it() {
    let lab = Lab::new("s1");
    ok(lab.up(1, &["--nodes-per-host", "1"]));
    let spec = lab.spec();
    let spec = path(&spec);
    assert_eq!(state(&lab), "inactive", "a new lab host is in no swarm");

    ok(sis(&["apply", spec]));
    let made = swarm(&lab);
    assert_eq!(made["LocalNodeState"], "active", "{made}");
    let sis_spec = made["Cluster"]["Spec"].clone();
    assert_eq!(
        sis_spec["Labels"]["sis.swarm1-created-by"], lab.name,
        "the swarm's labels: {sis_spec}"
    );

    // A plain destroy removes the cluster and keeps swarm1.
    let plain = ok(sis(&["destroy", spec]));
    assert!(!plain.stdout.contains("swarm1"), "{plain:?}");
    assert_eq!(state(&lab), "active");
    assert_eq!(labelled(&lab).trim(), "", "left on the host");

    ok(sis(&["apply", spec]));
    let destroy = ok(sis(&["destroy", spec, "--swarm1"]));
    assert!(
        destroy.stdout.contains("host h1 leaves swarm1 (--force)"),
        "{destroy:?}"
    );
    assert!(destroy.stdout.contains("Destroy complete"), "{destroy:?}");
    assert_eq!(state(&lab), "inactive");
    assert_eq!(labelled(&lab).trim(), "", "left on the host");

    // Again: nothing to leave, and it says so.
    let again = ok(sis(&["destroy", spec, "--swarm1"]));
    assert!(again.stdout.contains("no swarm1 to leave"), "{again:?}");

    // Labels aside, the swarm sis made has the settings of one made by `docker swarm init`.
    let ip = lab.ip(1);
    lab.on_host(1, &["swarm", "init", "--advertise-addr", &ip]);
    let mut by_hand = swarm(&lab)["Cluster"]["Spec"].clone();
    let mut ours = sis_spec;
    for spec in [&mut by_hand, &mut ours] {
        spec.as_object_mut().unwrap().remove("Labels");
    }
    assert_eq!(
        ours, by_hand,
        "sis's swarm1 differs from dockerd's defaults"
    );
    eprintln!("swarm1 spec sis made (labels aside): {ours}");

    // A swarm1 sis did not make: --swarm1 keeps it, and the plan says why.
    let kept = ok(sis(&["destroy", spec, "--swarm1"]));
    assert!(
        kept.stdout.contains(&format!(
            "swarm1 was not created by sis for cluster {}",
            lab.name
        )),
        "{kept:?}"
    );
    assert_eq!(state(&lab), "active");
}
