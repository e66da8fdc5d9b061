//! YAML syntax and shape: keys, types, allowed values. One test per message.

use crate::{base_and, base_with, problems, yaml, BASE};

#[test]
fn yaml_syntax_errors_have_a_position() {
    let text = base_with(5, "   nodes: 3");
    assert_eq!(
        problems(&text),
        ["cluster.yaml:5:9: invalid YAML: while parsing a block collection, did not find expected '-' indicator"]
    );
}

#[test]
fn tabs_get_a_hint() {
    let text = base_with(5, "\tnodes: 3");
    assert_eq!(
        problems(&text),
        ["cluster.yaml:5:1: invalid YAML: while scanning a plain scalar, found a tab; YAML indents with spaces, not tabs"]
    );
}

#[test]
fn an_empty_file_says_what_a_spec_needs() {
    let expected = ["cluster.yaml: the spec is empty; it needs at least the keys version, name, hosts and network"];
    assert_eq!(problems(""), expected);
    assert_eq!(problems("# nothing yet\n"), expected);
}

#[test]
fn a_second_document_is_refused() {
    let text = base_and(&["---", "version: 2"]);
    assert_eq!(
        problems(&text),
        ["cluster.yaml:9:1: a second YAML document starts here; a spec is a single document"]
    );
}

#[test]
fn the_top_level_must_be_a_mapping() {
    assert_eq!(
        problems("- version: 1\n"),
        ["cluster.yaml:1:1: expected a mapping, found a list"]
    );
}

#[test]
fn unknown_keys_suggest_the_likely_one() {
    let text = base_with(5, "    nodez: 3");
    assert_eq!(
        problems(&text),
        ["cluster.yaml:5:5: hosts[0]: unknown key \"nodez\" (did you mean \"nodes\"?); allowed keys: name, endpoint, tls, ssh, nodes, advertise_addr, disk_floor"]
    );
}

#[test]
fn unknown_keys_known_elsewhere_say_where_they_belong() {
    let text = base_and(&["managers: 3"]);
    assert_eq!(
        problems(&text),
        ["cluster.yaml:9:1: unknown key \"managers\" (it belongs at swarm2.managers); allowed keys: version, name, hosts, network, kvstore, swarm2, capacity"]
    );
}

#[test]
fn unknown_keys_without_a_likely_one_list_the_allowed_ones() {
    let text = base_and(&["swarm2:", "  color: blue"]);
    assert_eq!(
        problems(&text),
        ["cluster.yaml:10:3: swarm2: unknown key \"color\"; allowed keys: mode, managers, image, privileged, cap_drop, publish, classic, args, ingress, preload"]
    );
}

#[test]
fn merge_keys_are_explained() {
    let text = base_and(&["swarm2:", "  <<: {image: x}"]);
    assert_eq!(
        problems(&text),
        ["cluster.yaml:10:3: swarm2: unknown key \"<<\" (YAML merge keys are not supported: write the keys out); allowed keys: mode, managers, image, privileged, cap_drop, publish, classic, args, ingress, preload"]
    );
}

#[test]
fn duplicate_keys_point_at_the_first() {
    let text = base_and(&["name: again"]);
    assert_eq!(
        problems(&text),
        ["cluster.yaml:9:1: duplicate key \"name\"; it is first set at line 2 column 1"]
    );
}

#[test]
fn missing_required_keys_at_the_top_level() {
    let text = yaml(&BASE[..5]);
    assert_eq!(
        problems(&text),
        ["cluster.yaml:1:1: missing required key \"network\""]
    );
}

#[test]
fn missing_required_keys_in_a_list_item() {
    let text = base_with(4, "  - nodes: 3\n    endpoint: unix:///var/run/docker.sock");
    let text = text.replacen("    nodes: 3\n", "", 1);
    assert_eq!(
        problems(&text),
        ["cluster.yaml:4:5: hosts[0]: missing required key \"name\""]
    );
}

#[test]
fn quoted_numbers_are_strings() {
    let text = base_with(5, "    nodes: \"3\"");
    assert_eq!(
        problems(&text),
        ["cluster.yaml:5:12: hosts[0].nodes: expected an integer, found a string (\"3\"); write 3 without quotes"]
    );
}

#[test]
fn words_are_not_integers() {
    let text = base_with(1, "version: one");
    assert_eq!(
        problems(&text),
        ["cluster.yaml:1:10: version: expected an integer, found a string (\"one\")"]
    );
}

#[test]
fn fractions_are_not_integers() {
    let text = base_with(5, "    nodes: 2.5");
    assert_eq!(
        problems(&text),
        ["cluster.yaml:5:12: hosts[0].nodes: expected an integer, found a number (2.5)"]
    );
}

#[test]
fn leading_zeros_are_refused() {
    let text = base_with(5, "    nodes: 010");
    assert_eq!(
        problems(&text),
        ["cluster.yaml:5:12: hosts[0].nodes: expected an integer, found a string (\"010\"); write it without leading zeros"]
    );
}

#[test]
fn integers_out_of_range() {
    let text = base_with(5, "    nodes: -1");
    assert_eq!(
        problems(&text),
        ["cluster.yaml:5:12: hosts[0].nodes: -1 is out of range; expected an integer from 0 to 4294967295"]
    );
    let text = base_and(&["swarm2:", "  publish: 70000"]);
    assert_eq!(
        problems(&text),
        ["cluster.yaml:10:12: swarm2.publish: 70000 is out of range; expected an integer from 0 to 65535"]
    );
}

#[test]
fn booleans_are_not_strings() {
    let text = base_with(2, "name: true");
    assert_eq!(
        problems(&text),
        ["cluster.yaml:2:7: name: expected a string, found a boolean (true); write \"true\" if you mean the text"]
    );
}

#[test]
fn digits_are_text_where_text_is_expected() {
    let text = base_with(2, "name: 2024");
    assert_eq!(problems(&text), Vec::<String>::new());
    let spec = sis_spec::parse_str("cluster.yaml", &text).unwrap();
    assert_eq!(spec.name, "2024");
}

#[test]
fn empty_required_values() {
    let text = base_with(2, "name:");
    assert_eq!(
        problems(&text),
        ["cluster.yaml:2:1: name: expected a string, found an empty value"]
    );
}

#[test]
fn empty_values_with_a_default_are_refused() {
    let text = base_and(&["swarm2:"]);
    assert_eq!(
        problems(&text),
        ["cluster.yaml:9:1: swarm2: expected a mapping, found an empty value; leave the key out to use the default"]
    );
}

#[test]
fn empty_optional_values_mean_absent() {
    let text = base_and(&["kvstore:", "swarm2:", "  publish: ~"]);
    let spec = sis_spec::parse_str("cluster.yaml", &text).unwrap();
    assert_eq!(spec.kvstore, None);
    assert_eq!(spec.swarm2.publish, None);
}

#[test]
fn a_mapping_where_a_list_belongs() {
    let text = base_with(4, "  name: a");
    let text = text.replacen("    nodes: 3\n", "", 1);
    assert_eq!(
        problems(&text),
        ["cluster.yaml:4:3: hosts: expected a list, found a mapping"]
    );
}

#[test]
fn a_single_value_where_a_list_belongs() {
    let text = base_and(&["swarm2:", "  cap_drop: SYS_RESOURCE"]);
    assert_eq!(
        problems(&text),
        ["cluster.yaml:10:13: swarm2.cap_drop: expected a list, found a string (\"SYS_RESOURCE\"); write [SYS_RESOURCE] for a list of one"]
    );
}

#[test]
fn unknown_enum_values_list_the_allowed_ones() {
    let text = base_and(&["swarm2:", "  mode: clasic"]);
    assert_eq!(
        problems(&text),
        ["cluster.yaml:10:9: swarm2.mode: unknown value \"clasic\" (did you mean \"classic\"?); expected one of swarm, classic"]
    );
    let text = base_and(&["kvstore:", "  kind: zookeeper", "  host: a"]);
    assert_eq!(
        problems(&text),
        ["cluster.yaml:10:9: kvstore.kind: unknown value \"zookeeper\"; expected one of consul, etcd"]
    );
}

#[test]
fn privileged_is_true_false_or_auto() {
    let text = base_and(&["swarm2:", "  privileged: yes"]);
    assert_eq!(
        problems(&text),
        ["cluster.yaml:10:15: swarm2.privileged: expected true, false or auto, found a string (\"yes\")"]
    );
    let text = base_and(&["swarm2:", "  privileged: \"false\""]);
    assert_eq!(
        problems(&text),
        ["cluster.yaml:10:15: swarm2.privileged: expected true, false or auto, found a string (\"false\"); write false without quotes"]
    );
    for (value, expected) in [
        ("true", sis_spec::Privileged::Fixed(true)),
        ("False", sis_spec::Privileged::Fixed(false)),
        ("auto", sis_spec::Privileged::Auto),
        ("'auto'", sis_spec::Privileged::Auto),
    ] {
        let text = base_and(&["swarm2:", &format!("  privileged: {value}")]);
        let spec = sis_spec::parse_str("cluster.yaml", &text).unwrap();
        assert_eq!(spec.swarm2.privileged, expected, "privileged: {value}");
    }
}

#[test]
fn keys_must_be_names() {
    let text = base_and(&["[a, b]: 1"]);
    assert_eq!(
        problems(&text),
        ["cluster.yaml:9:1: expected a key name, found a list"]
    );
}

#[test]
fn tags_other_than_str_are_refused() {
    let text = base_with(5, "    nodes: !!int 3");
    assert_eq!(
        problems(&text),
        ["cluster.yaml:5:18: unsupported YAML tag \"!!int\"; the only tag sis reads is !!str"]
    );
    let text = base_with(2, "name: !!str 7");
    assert_eq!(
        sis_spec::parse_str("cluster.yaml", &text).unwrap().name,
        "7"
    );
}

#[test]
fn anchors_and_aliases_work() {
    let text = yaml(&[
        "version: 1",
        "name: demo",
        "hosts:",
        "  - name: a",
        "    nodes: &n 4",
        "  - name: b",
        "    endpoint: ssh://b",
        "    nodes: *n",
        "network: {name: ring2net, subnet: 10.9.0.0/16}",
    ]);
    let spec = sis_spec::parse_str("cluster.yaml", &text).unwrap();
    assert_eq!(spec.total_nodes(), 8);
}

#[test]
fn every_shape_problem_is_reported_at_once_in_file_order() {
    let text = yaml(&[
        "version: \"1\"",
        "nmae: demo",
        "hosts:",
        "  - name: a",
        "    nodes: many",
        "    tls: {ca: ca.pem}",
        "network:",
        "  name: ring2net",
        "swarm2:",
        "  mode: swarm2",
        "  privileged: maybe",
    ]);
    assert_eq!(
        problems(&text),
        [
            "cluster.yaml:1:1: missing required key \"name\"",
            "cluster.yaml:1:10: version: expected an integer, found a string (\"1\"); write 1 without quotes",
            "cluster.yaml:2:1: unknown key \"nmae\" (did you mean \"name\"?); allowed keys: version, name, hosts, network, kvstore, swarm2, capacity",
            "cluster.yaml:5:12: hosts[0].nodes: expected an integer, found a string (\"many\")",
            "cluster.yaml:6:10: hosts[0].tls: missing required key \"cert\"",
            "cluster.yaml:6:10: hosts[0].tls: missing required key \"key\"",
            "cluster.yaml:8:3: network: missing required key \"subnet\"",
            "cluster.yaml:10:9: swarm2.mode: unknown value \"swarm2\" (did you mean \"swarm\"?); expected one of swarm, classic",
            "cluster.yaml:11:15: swarm2.privileged: expected true, false or auto, found a string (\"maybe\")",
        ]
    );
}

#[test]
fn a_byte_order_mark_is_not_part_of_the_first_key() {
    let text = format!("\u{feff}{}", base_with(1, "version: 2"));
    assert_eq!(
        problems(&text),
        ["cluster.yaml:1:10: version: 2 is not a spec version sis knows; use 1"]
    );
}

#[test]
fn deep_nesting_is_refused_before_it_overflows_the_stack() {
    let text = format!("{}x\n", "- ".repeat(50_000));
    assert_eq!(
        problems(&text),
        ["cluster.yaml:1:129: YAML nested more than 64 levels deep; a spec needs a few levels"]
    );
}

#[test]
fn network_external_is_false_unless_set_and_takes_true_or_false() {
    let spec = sis_spec::parse_str("cluster.yaml", &yaml(BASE)).unwrap();
    assert!(!spec.network.external);
    let text = base_and(&["  external: true"]);
    let spec = sis_spec::parse_str("cluster.yaml", &text).unwrap();
    assert!(spec.network.external);
    let wrong = problems(&base_and(&["  external: maybe"]));
    assert_eq!(wrong.len(), 1, "{wrong:?}");
    assert!(
        wrong[0].starts_with("cluster.yaml:9:13: network.external")
            && wrong[0].contains("true or false"),
        "{wrong:?}"
    );
}
