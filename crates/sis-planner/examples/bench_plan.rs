//! Times `plan()` on a large cluster: 50 hosts × 200 nodes = 10,000 nodes, against an
//! observation with nothing on the hosts and one with half of the nodes running in swarm2.
//!
//! `cargo run --release -p sis-planner --example bench_plan`

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use sis_planner::{manager_slots, plan, render_text, resolve_profile};
use sis_types::{
    labels, node_spec_hash, ContainerObservation, HostFacts, HostObservation, NetworkObservation,
    Observed, Swarm1Membership, Swarm2Node, Swarm2Observation,
};

const HOSTS: u32 = 50;
const NODES_PER_HOST: u32 = 200;
const ITERATIONS: usize = 15;

fn spec() -> sis_spec::Spec {
    let mut yaml = String::from("version: 1\nname: bench\nhosts:\n");
    for h in 0..HOSTS {
        // Documentation addresses: nothing is contacted, the planner does no I/O.
        yaml.push_str(&format!(
            "  - {{name: h{h:02}, endpoint: \"tcp://198.51.100.{}:2375\", nodes: {NODES_PER_HOST}}}\n",
            h + 1
        ));
    }
    yaml.push_str("network: {name: ring2net, subnet: 10.9.0.0/16}\n");
    yaml.push_str("swarm2: {managers: 5, image: sis-node:test}\n");
    sis_spec::parse_str("bench.yaml", &yaml).expect("the bench spec is valid")
}

/// Every host in swarm1 with the image; host 0 manages it and lists ring2net. The first
/// `running` nodes of each host run and are in swarm2, the manager slots as managers.
fn observed(spec: &sis_spec::Spec, running: u32) -> Observed {
    let managers: BTreeSet<String> = manager_slots(spec)
        .iter()
        .map(|(h, i)| labels::node_name(&spec.name, h, *i))
        .collect();
    let mut hosts = BTreeMap::new();
    let mut entries = Vec::new();
    for (i, h) in spec.hosts.iter().enumerate() {
        let mut facts = HostFacts {
            endpoint: h.endpoint.clone(),
            version: "20.10.24".into(),
            api_version: "1.41".into(),
            engine_id: Some(format!("engine-{}", h.name)),
            cpus: 64,
            memory_bytes: 256 << 30,
            cap_bnd: Some((1u64 << 41) - 1),
            swarm1: Swarm1Membership {
                state: "active".into(),
                is_manager: i == 0,
                cluster_id: (i == 0).then(|| "swarm1".into()),
                managers: vec!["198.51.100.1:2377".into()],
                ..Swarm1Membership::default()
            },
            images: ["sis-node:test".to_string()].into(),
            ..HostFacts::default()
        };
        if i == 0 {
            facts.networks.push(NetworkObservation {
                id: "ring2net".into(),
                name: "ring2net".into(),
                driver: "overlay".into(),
                scope: "swarm".into(),
                attachable: true,
                subnets: vec!["10.9.0.0/16".parse().unwrap()],
                labels: BTreeMap::new(),
            });
        }
        let (profile, _) = resolve_profile(spec, Some(&facts));
        let hash = node_spec_hash(&spec.swarm2.image, &profile, "ring2net", &[]);
        for index in 1..=running {
            let name = labels::node_name(&spec.name, &h.name, index);
            let node_labels = [
                (labels::CLUSTER, spec.name.as_str()),
                (labels::ROLE, labels::ROLE_NODE),
                (labels::HOST, h.name.as_str()),
                (labels::INDEX, &index.to_string()),
                (labels::SPEC_HASH, &hash),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
            entries.push(Swarm2Node {
                id: format!("{:025}", entries.len()),
                hostname: name.clone(),
                status: "ready".into(),
                availability: "active".into(),
                manager_status: if managers.contains(&name) {
                    "reachable"
                } else {
                    ""
                }
                .into(),
            });
            facts.containers.push(ContainerObservation {
                id: format!("{name}-id"),
                name,
                image: spec.swarm2.image.to_string(),
                state: "running".into(),
                labels: node_labels,
                ring2net_ip: None,
            });
        }
        hosts.insert(h.name.clone(), HostObservation::Reachable(Box::new(facts)));
    }
    let swarm2 = (running > 0).then(|| Swarm2Observation {
        via: labels::node_name(&spec.name, &spec.hosts[0].name, 1),
        cluster_id: Some("swarm2".into()),
        nodes: entries,
        ingress: Some(false),
    });
    Observed {
        cluster: spec.name.clone(),
        hosts,
        swarm2,
        classic: None,
    }
}

fn time(name: &str, spec: &sis_spec::Spec, observed: &Observed) {
    let mut times: Vec<Duration> = Vec::with_capacity(ITERATIONS);
    let mut actions = 0;
    for _ in 0..ITERATIONS {
        let started = Instant::now();
        let p = plan(spec, observed).expect("the bench state plans");
        times.push(started.elapsed());
        actions = p.actions().count();
    }
    times.sort();
    let p = plan(spec, observed).expect("the bench state plans");
    let started = Instant::now();
    let text = render_text(&p);
    let render = started.elapsed();
    println!(
        "{name:<16} {actions:>6} actions   plan: median {:>8.2?}  min {:>8.2?}   render_text: {render:.2?} ({} lines)",
        times[times.len() / 2],
        times[0],
        text.lines().count()
    );
}

fn main() {
    let spec = spec();
    println!(
        "{} hosts, {} nodes, {ITERATIONS} iterations each",
        spec.hosts.len(),
        spec.total_nodes()
    );
    time("empty", &spec, &observed(&spec, 0));
    time(
        "half-converged",
        &spec,
        &observed(&spec, NODES_PER_HOST / 2),
    );
    time("converged", &spec, &observed(&spec, NODES_PER_HOST));
}
