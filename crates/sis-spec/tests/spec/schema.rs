//! The JSON Schema checked in as docs/sis.schema.json.

use std::path::Path;

use serde_json::json;

#[test]
fn the_checked_in_schema_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/sis.schema.json");
    let current = sis_spec::json_schema_text();
    if std::env::var_os("SIS_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &current).unwrap();
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == current,
        "docs/sis.schema.json is stale (or missing); regenerate it with\n    \
         SIS_UPDATE_SCHEMA=1 cargo test -p sis-spec --test spec schema\nand commit it"
    );
}

#[test]
fn privileged_is_described_as_true_false_or_auto() {
    let schema = sis_spec::json_schema();
    let privileged = &schema["$defs"]["Privileged"];
    let choices: Vec<_> = privileged["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["type"].clone(), c.get("const").cloned()))
        .collect();
    assert_eq!(
        choices,
        [
            (json!("boolean"), None),
            (json!("string"), Some(json!("auto")))
        ]
    );
    assert_eq!(
        schema["$defs"]["Swarm2"]["properties"]["privileged"]["default"],
        "auto"
    );
}

#[test]
fn field_docs_become_descriptions() {
    let schema = sis_spec::json_schema();
    let described =
        |v: &serde_json::Value| v["description"].as_str().is_some_and(|d| !d.is_empty());
    for (name, def) in schema["$defs"].as_object().unwrap() {
        assert!(described(def), "$defs.{name} has a description");
        if let Some(properties) = def["properties"].as_object() {
            for (key, property) in properties {
                assert!(described(property), "$defs.{name}.{key} has a description");
            }
        }
    }
    for (key, property) in schema["properties"].as_object().unwrap() {
        assert!(described(property), "{key} has a description");
    }
    assert!(
        schema["$defs"]["Host"]["properties"]["nodes"]["description"]
            .as_str()
            .unwrap()
            .contains("dind nodes")
    );
}
