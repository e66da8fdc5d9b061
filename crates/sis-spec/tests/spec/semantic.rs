//! The meaning of a well-formed spec. One test per message.

use crate::{base_and, base_with, problems, yaml};

#[test]
fn version_must_be_1() {
    assert_eq!(
        problems(&base_with(1, "version: 2")),
        ["cluster.yaml:1:10: version: 2 is not a spec version sis knows; use 1"]
    );
}

#[test]
fn cluster_name_characters() {
    assert_eq!(
        problems(&base_with(2, "name: My_Cluster")),
        ["cluster.yaml:2:7: name: \"My_Cluster\" contains \"M\"; use lower-case letters, digits and \"-\", e.g. \"my-cluster\" (it prefixes every container name)"]
    );
}

#[test]
fn cluster_name_start() {
    assert_eq!(
        problems(&base_with(2, "name: -demo")),
        ["cluster.yaml:2:7: name: \"-demo\" must start with a lower-case letter or a digit (it prefixes every container name)"]
    );
}

#[test]
fn cluster_name_length() {
    let long = format!("name: {}", "d".repeat(33));
    assert_eq!(
        problems(&base_with(2, &long)),
        [format!("cluster.yaml:2:7: name: \"{}\" has 33 characters; at most 32 are allowed (it prefixes every container name)", "d".repeat(33))]
    );
}

#[test]
fn cluster_name_not_empty() {
    assert_eq!(
        problems(&base_with(2, "name: ''")),
        ["cluster.yaml:2:7: name: must not be empty (it prefixes every container name)"]
    );
}

#[test]
fn at_least_one_host() {
    let text = base_with(3, "hosts: []").replacen("  - name: a\n    nodes: 3\n", "", 1);
    assert_eq!(
        problems(&text),
        ["cluster.yaml:3:8: hosts: at least one host is needed"]
    );
}

#[test]
fn host_names_are_unique() {
    let text = base_with(
        5,
        "    nodes: 3\n  - name: b\n    endpoint: ssh://b\n  - name: a\n    endpoint: ssh://c",
    );
    assert_eq!(
        problems(&text),
        ["cluster.yaml:8:11: hosts[2].name: \"a\" is already the name of hosts[0] (line 4 column 11); host names must be unique"]
    );
}

#[test]
fn host_names_follow_the_name_rules() {
    assert_eq!(
        problems(&base_with(4, "  - name: Wily.1")),
        ["cluster.yaml:4:11: hosts[0].name: \"Wily.1\" contains \"W\"; use lower-case letters, digits and \"-\", e.g. \"wily-1\" (it is part of the container name of each of its nodes)"]
    );
}

#[test]
fn node_hostnames_fit_in_63_characters_at_the_nodes() {
    let (cluster, host) = ("d".repeat(32), "h".repeat(28));
    let text = base_with(2, &format!("name: {cluster}"))
        .replace("name: a", &format!("name: {host}"))
        .replace("nodes: 3", "nodes: 10");
    assert_eq!(
        problems(&text),
        [format!("cluster.yaml:5:12: hosts[0].nodes: node 10 would be named \"{cluster}.{host}-10\", 64 characters, but a hostname has at most 63; use fewer nodes or a shorter cluster or host name")]
    );
    assert_eq!(
        problems(&text.replace("nodes: 10", "nodes: 9")),
        Vec::<String>::new()
    );
}

#[test]
fn node_hostnames_fit_in_63_characters_at_the_host_name() {
    let (cluster, host) = ("d".repeat(32), "h".repeat(32));
    let text =
        base_with(2, &format!("name: {cluster}")).replace("name: a", &format!("name: {host}"));
    assert_eq!(
        problems(&text),
        [format!("cluster.yaml:4:11: hosts[0].name: node 3 would be named \"{cluster}.{host}-3\", 67 characters, but a hostname has at most 63; use a shorter cluster or host name")]
    );
}

#[test]
fn endpoints_need_a_scheme() {
    let text = base_with(5, "    endpoint: 172.19.9.45:2377");
    assert_eq!(
        problems(&text),
        ["cluster.yaml:5:15: hosts[0].endpoint: \"172.19.9.45:2377\" has no scheme; write unix:///PATH, tcp://HOST:PORT or ssh://USER@HOST"]
    );
}

#[test]
fn endpoint_schemes_are_unix_tcp_or_ssh() {
    let text = base_with(5, "    endpoint: http://172.19.9.45:2377");
    assert_eq!(
        problems(&text),
        ["cluster.yaml:5:15: hosts[0].endpoint: unsupported scheme \"http://\"; use unix://, tcp:// or ssh://"]
    );
}

#[test]
fn endpoints_name_an_address() {
    let text = base_with(5, "    endpoint: tcp://");
    assert_eq!(
        problems(&text),
        ["cluster.yaml:5:15: hosts[0].endpoint: \"tcp://\" names no address"]
    );
}

#[test]
fn each_host_is_a_different_engine() {
    let text = base_with(5, "    nodes: 3\n  - name: b");
    assert_eq!(
        problems(&text),
        ["cluster.yaml:6:5: hosts[1].endpoint: \"unix:///var/run/docker.sock\" is already the endpoint of hosts[0] (line 4 column 5); each host must be a different engine"]
    );
}

#[test]
fn ssh_files_only_with_ssh_and_not_empty() {
    let text = base_with(
        5,
        "    ssh: {identity: id_ed25519, known_hosts: known_hosts}",
    );
    assert_eq!(
        problems(&text),
        ["cluster.yaml:5:10: hosts[0].ssh: ssh files work only with an ssh:// endpoint, and this host's endpoint is \"unix:///var/run/docker.sock\""]
    );
    let text = base_with(
        5,
        "    endpoint: ssh://root@10.0.0.1\n    ssh:\n      identity: ''",
    );
    assert_eq!(
        problems(&text),
        ["cluster.yaml:7:17: hosts[0].ssh.identity: must not be empty; leave it out to use ssh's own"]
    );
}

#[test]
fn tls_only_with_tcp() {
    let text = base_with(5, "    tls: {ca: ca.pem, cert: cert.pem, key: key.pem}");
    assert_eq!(
        problems(&text),
        ["cluster.yaml:5:10: hosts[0].tls: TLS works only with a tcp:// endpoint, and this host's endpoint is \"unix:///var/run/docker.sock\""]
    );
}

#[test]
fn advertise_addr_not_empty() {
    let text = base_with(5, "    advertise_addr: ''");
    assert_eq!(
        problems(&text),
        ["cluster.yaml:5:21: hosts[0].advertise_addr: must not be empty; leave it out to let the engine choose"]
    );
}

#[test]
fn disk_floor_is_a_size() {
    let text = base_with(5, "    nodes: 3\n    disk_floor: 2 gigs");
    let more = base_and(&["capacity:", "  disk_floor: lots"]);
    assert_eq!(
        problems(&text),
        ["cluster.yaml:6:17: hosts[0].disk_floor: \"2 gigs\" is not a size; write a number and a unit, such as 2GB, 500MB or 1.5GiB (0 for none)"]
    );
    assert_eq!(
        problems(&more),
        ["cluster.yaml:10:15: capacity.disk_floor: \"lots\" is not a size; write a number and a unit, such as 2GB, 500MB or 1.5GiB (0 for none)"]
    );
}

#[test]
fn disk_floor_of_a_host_overrides_the_spec_default() {
    let spec = |text: &str| sis_spec::parse_str("cluster.yaml", text).unwrap();
    assert_eq!(spec(&yaml(crate::BASE)).disk_floor("a"), 2_000_000_000);
    let both = base_with(5, "    nodes: 3\n    disk_floor: 1.5GiB");
    let both = format!("{both}capacity:\n  disk_floor: 500MB\n");
    assert_eq!(spec(&both).disk_floor("a"), 1_610_612_736);
    let default = base_and(&["capacity:", "  disk_floor: 0"]);
    assert_eq!(spec(&default).disk_floor("a"), 0);
}

#[test]
fn subnet_is_a_cidr() {
    assert_eq!(
        problems(&base_with(8, "  subnet: 10.9.0/16")),
        ["cluster.yaml:8:11: network.subnet: \"10.9.0/16\" is not an IPv4 CIDR such as 10.9.0.0/16"]
    );
}

#[test]
fn subnet_prefix_range() {
    assert_eq!(
        problems(&base_with(8, "  subnet: 10.0.0.0/7")),
        ["cluster.yaml:8:11: network.subnet: prefix /7 is out of range; use a prefix from /8 to /30"]
    );
}

#[test]
fn subnet_is_a_network_address() {
    assert_eq!(
        problems(&base_with(8, "  subnet: 10.9.1.0/16")),
        ["cluster.yaml:8:11: network.subnet: \"10.9.1.0/16\" is not the network address of its prefix; did you mean 10.9.0.0/16?"]
    );
}

#[test]
fn subnet_is_not_a_reserved_range() {
    for (subnet, range, what) in [
        ("0.0.0.0/16", "0.0.0.0/8", "\"this network\""),
        ("127.0.0.0/8", "127.0.0.0/8", "loopback"),
        ("169.254.0.0/24", "169.254.0.0/16", "link-local"),
        ("224.0.0.0/8", "224.0.0.0/4", "multicast"),
        ("240.0.0.0/8", "240.0.0.0/4", "reserved"),
    ] {
        assert_eq!(
            problems(&base_with(8, &format!("  subnet: {subnet}"))),
            [format!("cluster.yaml:8:11: network.subnet: {subnet} overlaps {range}, which is reserved ({what}) and cannot carry a container network; use a private range such as 10.9.0.0/16")]
        );
    }
}

#[test]
fn subnet_leaves_room_for_nodes() {
    let text = base_with(8, "  subnet: 10.9.0.32/27");
    assert_eq!(
        problems(&text),
        ["cluster.yaml:8:11: network.subnet: 10.9.0.32/27 leaves no room for nodes: the lower half of the subnet (16 addresses) holds the fixed addresses sis keeps for itself (16 of them) and Docker hands out the upper half; use a /26 or a shorter prefix such as 10.9.0.0/24"]
    );
}

#[test]
fn a_host_holds_no_more_nodes_than_its_addresses() {
    let text = base_with(5, "    nodes: 17").replace("10.9.0.0/16", "10.9.1.0/24");
    assert_eq!(
        problems(&text),
        ["cluster.yaml:5:12: hosts[0].nodes: 17 nodes do not fit: the default network.addresses_per_host for this subnet is 16, one fixed address per node on ring2net; use a bigger subnet (a shorter prefix than /24), set network.addresses_per_host to at least 17, or fewer nodes on host \"a\""]
    );
    let text = base_with(8, "  subnet: 10.9.0.0/16\n  addresses_per_host: 2");
    assert_eq!(
        problems(&text),
        ["cluster.yaml:5:12: hosts[0].nodes: 3 nodes do not fit: network.addresses_per_host is 2, one fixed address per node on ring2net; use a bigger subnet (a shorter prefix than /16), raise network.addresses_per_host to at least 3, or fewer nodes on host \"a\""]
    );
}

#[test]
fn the_lower_half_holds_every_hosts_addresses() {
    let text = base_with(8, "  subnet: 10.9.1.0/24\n  addresses_per_host: 40");
    let text = text.replace(
        "  - name: a\n    nodes: 3",
        "  - {name: a, endpoint: 'tcp://10.0.0.1:2375', nodes: 3}\n  - {name: b, endpoint: 'tcp://10.0.0.2:2375', nodes: 3}\n  - {name: c, endpoint: 'tcp://10.0.0.3:2375', nodes: 3}\n  - {name: d, endpoint: 'tcp://10.0.0.4:2375', nodes: 3}",
    );
    assert_eq!(
        problems(&text),
        ["cluster.yaml:10:11: network.subnet: 10.9.1.0/24 has room for 2 hosts of 40 node addresses in its lower half, but the spec has 4 hosts; use a bigger subnet (a shorter prefix than /24) or a smaller network.addresses_per_host"]
    );
}

#[test]
fn addresses_per_host_is_not_zero() {
    let text = base_with(8, "  subnet: 10.9.0.0/16\n  addresses_per_host: 0");
    assert_eq!(
        problems(&text),
        ["cluster.yaml:9:23: network.addresses_per_host: must be at least 1 (each node of a host takes one); leave it out for the default (1024 for 10.9.0.0/16)"]
    );
}

#[test]
fn no_subnet_holds_billions() {
    let text = base_with(5, "    nodes: 4000000000");
    assert_eq!(
        problems(&text),
        ["cluster.yaml:5:12: hosts[0].nodes: 4000000000 nodes do not fit: the default network.addresses_per_host for this subnet is 1024, one fixed address per node on ring2net; use a bigger subnet (a shorter prefix than /16), set network.addresses_per_host to at least 4000000000, or fewer nodes on host \"a\""]
    );
}

#[test]
fn network_name_not_empty() {
    assert_eq!(
        problems(&base_with(7, "  name: \"\"")),
        ["cluster.yaml:7:9: network.name: must not be empty"]
    );
}

#[test]
fn network_name_is_a_swarm_network_name() {
    assert_eq!(
        problems(&base_with(7, "  name: ring2.net")),
        ["cluster.yaml:7:9: network.name: \"ring2.net\" is not a valid swarm network name; use letters, digits, \"-\" and \"_\", starting and ending with a letter or digit, at most 63 characters"]
    );
}

#[test]
fn network_name_is_not_dockers_own() {
    assert_eq!(
        problems(&base_with(7, "  name: ingress")),
        ["cluster.yaml:7:9: network.name: \"ingress\" is the name of a network Docker makes itself; choose another"]
    );
}

#[test]
fn kvstore_host_is_one_of_the_hosts() {
    let text = base_and(&["kvstore:", "  kind: consul", "  host: b"]);
    assert_eq!(
        problems(&text),
        ["cluster.yaml:11:9: kvstore.host: no host is named \"b\"; the hosts are a"]
    );
    let text = base_and(&["kvstore:", "  kind: consul", "  host: wily-2"])
        .replace("name: a", "name: wily-1");
    assert_eq!(
        problems(&text),
        ["cluster.yaml:11:9: kvstore.host: no host is named \"wily-2\" (did you mean \"wily-1\"?); the hosts are wily-1"]
    );
}

#[test]
fn kvstore_image_not_empty() {
    let text = base_and(&["kvstore: {kind: etcd, host: a, image: ''}"]);
    assert_eq!(
        problems(&text),
        ["cluster.yaml:9:39: kvstore.image: must not be empty; leave it out for the default (quay.io/coreos/etcd:v3.5.17)"]
    );
}

#[test]
fn managers_at_least_one() {
    let text = base_and(&["swarm2:", "  managers: 0"]);
    assert_eq!(
        problems(&text),
        ["cluster.yaml:10:13: swarm2.managers: at least 1 manager is needed"]
    );
}

#[test]
fn managers_odd() {
    let text = base_and(&["swarm2:", "  managers: 2"]);
    assert_eq!(
        problems(&text),
        ["cluster.yaml:10:13: swarm2.managers: 2 is even; use an odd number such as 1 or 3, so that a majority of managers survives a failure"]
    );
}

#[test]
fn managers_at_most_the_nodes() {
    let text = base_and(&["swarm2:", "  managers: 5"]).replace("nodes: 3", "nodes: 4");
    assert_eq!(
        problems(&text),
        ["cluster.yaml:10:13: swarm2.managers: 5 managers, but the hosts run only 4 nodes; use 3 or fewer"]
    );
    // Without nodes there is nothing to manage yet, and nothing to compare with.
    let text = base_and(&["swarm2:", "  managers: 5"]).replace("nodes: 3", "nodes: 0");
    assert_eq!(problems(&text), Vec::<String>::new());
}

#[test]
fn managers_mean_nothing_in_classic_mode() {
    let text = base_and(&[
        "kvstore: {kind: consul, host: a}",
        "swarm2:",
        "  mode: classic",
        "  managers: 3",
    ]);
    assert_eq!(
        problems(&text),
        ["cluster.yaml:12:13: swarm2.managers: has no effect in classic mode, which runs a single swarm manager container; remove it"]
    );
}

#[test]
fn classic_mode_needs_a_kvstore() {
    let text = base_and(&["swarm2:", "  mode: classic"]);
    assert_eq!(
        problems(&text),
        ["cluster.yaml:10:9: swarm2.mode: classic mode needs a kvstore, through which its nodes find each other; add one, e.g. \"kvstore: {kind: consul, host: a}\""]
    );
}

#[test]
fn classic_manager_host_must_be_a_host() {
    let text = base_and(&[
        "kvstore: {kind: etcd, host: a}",
        "swarm2:",
        "  mode: classic",
        "  classic: {host: zz, image: 'Swarm'}",
    ]);
    let found = problems(&text);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].contains("swarm2.classic.host: no host is named \"zz\""),
        "{found:?}"
    );
    assert!(found[1].contains("swarm2.classic.image"), "{found:?}");
}

#[test]
fn classic_settings_mean_nothing_in_swarm_mode() {
    let text = base_and(&["swarm2:", "  classic: {image: 'swarm:1.2.9'}"]);
    let found = problems(&text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("swarm2.classic: has no effect in swarm mode"),
        "{found:?}"
    );
}

#[test]
fn classic_defaults_follow_the_seed() {
    let text = base_and(&["kvstore: {kind: etcd, host: a}", "swarm2: {mode: classic}"]);
    let spec = sis_spec::parse_str("cluster.yaml", &text).unwrap();
    assert_eq!(spec.swarm2.publish_port(), 2398);
    assert_eq!(spec.swarm2.classic_image().to_string(), "swarm:1.2.9");
    assert_eq!(spec.classic_manager_host(), Some("a"));
}

#[test]
fn node_image_not_empty() {
    let text = base_and(&["swarm2:", "  image: ''"]);
    assert_eq!(
        problems(&text),
        ["cluster.yaml:10:10: swarm2.image: must not be empty"]
    );
}

#[test]
fn cap_drop_without_the_cap_prefix() {
    let text = base_and(&["swarm2:", "  cap_drop: [CAP_SYS_RESOURCE]"]);
    assert_eq!(
        problems(&text),
        ["cluster.yaml:10:14: swarm2.cap_drop[0]: \"CAP_SYS_RESOURCE\": leave out the CAP_ prefix and write \"SYS_RESOURCE\""]
    );
}

#[test]
fn cap_drop_in_upper_case() {
    let text = base_and(&["swarm2:", "  cap_drop: [sys_resource]"]);
    assert_eq!(
        problems(&text),
        ["cluster.yaml:10:14: swarm2.cap_drop[0]: \"sys_resource\": capability names are upper case; write \"SYS_RESOURCE\""]
    );
}

#[test]
fn cap_drop_names_a_capability() {
    let text = base_and(&["swarm2:", "  cap_drop: [SYS_RESOURCE, SYS_RESOURSE]"]);
    assert_eq!(
        problems(&text),
        ["cluster.yaml:10:28: swarm2.cap_drop[1]: \"SYS_RESOURSE\" is not a Linux capability (did you mean \"SYS_RESOURCE\"?)"]
    );
}

#[test]
fn cap_drop_all_is_refused() {
    let text = base_and(&["swarm2:", "  cap_drop: [ALL]"]);
    assert_eq!(
        problems(&text),
        ["cluster.yaml:10:14: swarm2.cap_drop[0]: dropping ALL leaves the nodes without the capabilities dockerd needs; name the capabilities to drop"]
    );
}

#[test]
fn cap_drop_with_privileged_true() {
    let text = base_and(&[
        "swarm2:",
        "  privileged: true",
        "  cap_drop: [SYS_RESOURCE]",
    ]);
    assert_eq!(
        problems(&text),
        ["cluster.yaml:11:13: swarm2.cap_drop: has no effect with privileged: true, as privileged nodes keep every capability; remove it, or set privileged to false or auto"]
    );
}

#[test]
fn preload_entries_are_image_references() {
    let text = base_and(&[
        "swarm2:",
        "  preload: ['', 'busy box', Sis-Workload:test, localhost:5000/Web:1, sis-workload:test]",
    ]);
    assert_eq!(
        problems(&text),
        [
            "cluster.yaml:10:13: swarm2.preload[0]: must not be empty; name an image, e.g. \"busybox:1.36\"",
            "cluster.yaml:10:17: swarm2.preload[1]: \"busy box\" contains a blank; an image reference has none",
            "cluster.yaml:10:29: swarm2.preload[2]: \"Sis-Workload:test\": repository names are lower case; write \"sis-workload:test\"",
            "cluster.yaml:10:48: swarm2.preload[3]: \"localhost:5000/Web:1\": repository names are lower case; write \"localhost:5000/web:1\"",
        ]
    );
}

#[test]
fn preload_lists_an_image_once() {
    let text = base_and(&["swarm2:", "  preload: [busybox:1.36, nginx, busybox:1.36]"]);
    assert_eq!(
        problems(&text),
        ["cluster.yaml:10:34: swarm2.preload[2]: \"busybox:1.36\" is listed twice (also preload[0])"]
    );
}

#[test]
fn publish_is_a_port() {
    let text = base_and(&["swarm2:", "  publish: 0"]);
    assert_eq!(
        problems(&text),
        ["cluster.yaml:10:12: swarm2.publish: 0 is not a port; use a port from 1 to 65535, or leave publish out"]
    );
}

#[test]
fn every_semantic_problem_is_reported_at_once_in_file_order() {
    let text = yaml(&[
        "version: 1",
        "name: Demo",
        "hosts:",
        "  - name: a",
        "    nodes: 300",
        "  - name: a",
        "    endpoint: tcp://10.0.0.2:2375",
        "network:",
        "  name: ring2net",
        "  subnet: 10.9.0.0/24",
        "kvstore: {kind: consul, host: c}",
        "swarm2:",
        "  managers: 4",
        "  publish: 0",
    ]);
    assert_eq!(
        problems(&text),
        [
            "cluster.yaml:2:7: name: \"Demo\" contains \"D\"; use lower-case letters, digits and \"-\", e.g. \"demo\" (it prefixes every container name)",
            "cluster.yaml:5:12: hosts[0].nodes: 300 nodes do not fit: the default network.addresses_per_host for this subnet is 16, one fixed address per node on ring2net; use a bigger subnet (a shorter prefix than /24), set network.addresses_per_host to at least 300, or fewer nodes on host \"a\"",
            "cluster.yaml:6:11: hosts[1].name: \"a\" is already the name of hosts[0] (line 4 column 11); host names must be unique",
            "cluster.yaml:11:31: kvstore.host: no host is named \"c\"; the hosts are a",
            "cluster.yaml:13:13: swarm2.managers: 4 is even; use an odd number such as 3 or 5, so that a majority of managers survives a failure",
            "cluster.yaml:14:12: swarm2.publish: 0 is not a port; use a port from 1 to 65535, or leave publish out",
        ]
    );
}
