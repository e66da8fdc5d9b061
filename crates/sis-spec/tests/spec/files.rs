//! The spec files that ship with sis, loading from disk, and defaults.

use std::path::{Path, PathBuf};

use sis_spec::{KvKind, Privileged, Spec, SpecError, Swarm2Mode};

fn specs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../specs")
}

#[test]
fn every_file_in_specs_is_valid() {
    let mut seen = 0;
    for entry in std::fs::read_dir(specs_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            if let Err(e) = sis_spec::load(&path) {
                panic!("{} is not a valid spec:\n{e}", path.display());
            }
            seen += 1;
        }
    }
    assert!(seen >= 2, "specs/ holds local.yaml and seed.yaml at least");
}

#[test]
fn the_local_spec_runs_ten_offline_nodes_on_this_engine() {
    let spec = sis_spec::load(&specs_dir().join("local.yaml")).unwrap();
    assert_eq!(spec.name, "demo");
    assert_eq!(spec.hosts.len(), 1);
    assert_eq!(spec.hosts[0].endpoint, "unix:///var/run/docker.sock");
    assert_eq!(spec.total_nodes(), 10);
    assert_eq!(spec.network.name, "ring2net");
    assert_eq!(spec.network.subnet.to_string(), "10.209.0.0/16");
    assert_eq!(spec.kvstore, None);
    assert_eq!(spec.swarm2.mode, Swarm2Mode::Swarm);
    assert_eq!(spec.swarm2.image, "sis-node:test");
    assert_eq!(spec.swarm2.privileged, Privileged::Auto);
    assert_eq!(spec.swarm2.managers, 1);
}

#[test]
fn the_seed_spec_is_the_2016_layout() {
    let spec = sis_spec::load(&specs_dir().join("seed.yaml")).unwrap();
    let hosts: Vec<(&str, &str, u32)> = spec
        .hosts
        .iter()
        .map(|h| (h.name.as_str(), h.endpoint.as_str(), h.nodes))
        .collect();
    assert_eq!(
        hosts,
        [
            ("wily-1", "tcp://172.19.9.45:2377", 100),
            ("wily-2", "tcp://172.19.29.201:2377", 10),
            ("wily-3", "tcp://172.19.108.80:2377", 38),
        ]
    );
    assert_eq!(spec.total_nodes(), 148);
    assert_eq!(
        spec.hosts[2].advertise_addr.as_deref(),
        Some("172.19.108.80")
    );
    let kv = spec.kvstore.as_ref().unwrap();
    assert_eq!((kv.kind, kv.host.as_str()), (KvKind::Consul, "wily-2"));
    assert_eq!(
        (spec.network.name.as_str(), spec.network.subnet.to_string()),
        ("ring2net", "10.9.0.0/16".to_string())
    );
    assert_eq!(spec.swarm2.mode, Swarm2Mode::Classic);
    assert_eq!(spec.swarm2.publish, Some(2398));
    assert_eq!(spec.swarm2.image, "docker:dind");
}

#[test]
fn problems_name_the_file_as_given() {
    let dir = std::env::temp_dir().join(format!("sis-spec-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("broken.yaml");
    std::fs::write(&path, "version: 1\nname: x\n").unwrap();
    let err = sis_spec::load(&path).unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();
    let shown = path.display().to_string();
    assert_eq!(
        err.to_string(),
        format!("{shown}:1:1: missing required key \"hosts\"\n{shown}:1:1: missing required key \"network\"")
    );
}

#[test]
fn a_missing_file_is_a_read_error_naming_it() {
    let err = sis_spec::load(Path::new("/nonexistent/cluster.yaml")).unwrap_err();
    assert!(matches!(err, SpecError::Read { .. }));
    assert!(err.problems().is_empty());
    assert_eq!(
        err.to_string(),
        "cannot read spec /nonexistent/cluster.yaml: No such file or directory (os error 2)"
    );
}

#[test]
fn defaults_fill_in_and_survive_a_round_trip() {
    let text = crate::yaml(crate::BASE);
    let spec = sis_spec::parse_str("cluster.yaml", &text).unwrap();
    let host = &spec.hosts[0];
    assert_eq!(host.endpoint, "unix:///var/run/docker.sock");
    assert_eq!(
        (host.tls.is_none(), host.advertise_addr.is_none()),
        (true, true)
    );
    assert_eq!(spec.swarm2, sis_spec::Swarm2::default());
    assert_eq!(spec.swarm2.mode, Swarm2Mode::Swarm);
    assert_eq!(spec.swarm2.managers, 1);
    assert_eq!(spec.swarm2.image, "docker:dind");
    assert_eq!(spec.swarm2.privileged, Privileged::Auto);
    assert!(spec.swarm2.cap_drop.is_empty() && spec.swarm2.args.is_empty());
    assert_eq!(spec.swarm2.publish, None);

    let written = serde_yaml::to_string(&spec).unwrap();
    let again: Spec = sis_spec::parse_str("written.yaml", &written).unwrap();
    assert_eq!(again, spec);
    for spec in ["local.yaml", "seed.yaml"] {
        let spec = sis_spec::load(&specs_dir().join(spec)).unwrap();
        let written = serde_yaml::to_string(&spec).unwrap();
        assert_eq!(sis_spec::parse_str("written.yaml", &written).unwrap(), spec);
    }
}
