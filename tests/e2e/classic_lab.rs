//! Classic mode in the seed's own shape, on three simulated hosts (`sis lab`): the K/V store
//! on h1, the manager on h2, two nodes on each host. The classic images are loaded on h1 by
//! hand and reach the other hosts by copy; the manager is reached as a user would, on h2's
//! published port with the client certificate copied out of the CA's container there.

use std::time::Instant;

use crate::classic::{assert_network_global, client_certs, docker_fails, wait_healthy, Manager};
use crate::lab::{path, Lab};
use crate::multihost::{load_on_host, nodes_on, with_counts};
use crate::support::sis;

const SWARM_IMAGE: &str = "sis-swarm:test";
const ETCD_IMAGE: &str = "sis-etcd:test";

#[test]
fn classic_swarm_across_three_lab_hosts_with_the_kv_store_and_the_manager_on_different_hosts() {
    let mut lab = Lab::new("cl");
    lab.subnet = format!("10.203.{}.0/24", 100 + std::process::id() % 100);
    let start = Instant::now();
    let run = lab.up(3, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    eprintln!("lab up --hosts 3: {:?}", start.elapsed());
    for image in [ETCD_IMAGE, SWARM_IMAGE] {
        load_on_host(&lab, 1, image);
    }

    let written = std::fs::read_to_string(lab.spec()).unwrap();
    assert!(written.contains("  mode: swarm\n"), "{written}");
    // Classic mode runs one manager container: the lab's `managers:` has no place there.
    let text = with_counts(&written, &[2, 2, 2])
        .lines()
        .filter(|l| !l.starts_with("  managers:"))
        .map(|l| format!("{l}\n"))
        .collect::<String>()
        .replace("  mode: swarm\n", "  mode: classic\n")
        + &format!(
            "  classic:\n    image: {SWARM_IMAGE}\n    host: h2\n\
             kvstore:\n  kind: etcd\n  host: h1\n  image: {ETCD_IMAGE}\n"
        );
    let spec = lab.dir.join("classic.yaml");
    std::fs::write(&spec, text).unwrap();

    let plan = sis(&["plan", path(&spec)]);
    assert_eq!(plan.code, 0, "{plan:?}");
    for want in [
        format!("copy image {SWARM_IMAGE} from host h1 to host h2"),
        format!("copy image {SWARM_IMAGE} from host h1 to host h3"),
        format!("create etcd K/V store {}.kvstore on host h1", lab.name),
        format!(
            "make the cluster's CA, kept in {}.sis-ca on host h2",
            lab.name
        ),
        format!(
            "create classic swarm manager {}.manager on host h2 at ",
            lab.name
        ),
    ] {
        assert!(plan.stdout.contains(&want), "no `{want}`: {plan:?}");
    }
    assert!(!plan.stdout.contains("pull image"), "{plan:?}");

    let start = Instant::now();
    let apply = sis(&["apply", path(&spec)]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let applied = start.elapsed();

    // The manager's port is published on h2; its certificate names h2's address.
    let h2 = format!("tcp://{}:2375", lab.ip(2));
    let m = Manager {
        endpoint: format!("tcp://{}:2398", lab.ip(2)),
        certs: Some(client_certs(&["-H", &h2], &lab.name, &lab.dir)),
    };
    let listed = wait_healthy(&m, 6);
    eprintln!(
        "classic on 3 lab hosts: apply {:.1} s, 6 Healthy after {:.1} s",
        applied.as_secs_f64(),
        start.elapsed().as_secs_f64()
    );
    for i in 1..=3 {
        let on_host = listed
            .iter()
            .filter(|(n, _)| n.starts_with(&format!("{}.h{i}-", lab.name)))
            .count();
        assert_eq!(on_host, 2, "host h{i}: {listed:?}");
    }
    docker_fails(&["-H", &m.endpoint, "info"]);

    // An overlay network made through the manager is global on every node of every host.
    let net = format!("{}-app", lab.name);
    m.docker(&["network", "create", "-d", "overlay", &net]);
    for i in 1..=3 {
        for node in nodes_on(&lab, i).keys() {
            let host = format!("tcp://{}:2375", lab.ip(i));
            assert_network_global(&["-H", &host], node, &net);
        }
    }
    m.docker(&["network", "rm", &net]);

    let run = sis(&["apply", path(&spec)]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("No changes."), "{run:?}");

    let destroy = sis(&["destroy", path(&spec)]);
    assert_eq!(destroy.code, 0, "{destroy:?}");
    let label = format!("label=sis.cluster={}", lab.name);
    for i in 1..=3 {
        let left = lab.on_host(
            i,
            &["ps", "-a", "--filter", &label, "--format", "{{.Names}}"],
        );
        assert_eq!(left.trim(), "", "containers left on host h{i}");
        let networks = lab.on_host(i, &["network", "ls", "-q", "--filter", &label]);
        assert_eq!(networks.trim(), "", "networks left on host h{i}");
    }
    let down = sis(&["lab", "down", "--name", &lab.name]);
    assert_eq!(down.code, 0, "{down:?}");
    assert_eq!(lab.leftovers(), Vec::<String>::new());
}
