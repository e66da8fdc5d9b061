//! What the tests of every sis crate share, in one place (like cargo's `cargo-test-support`):
//! the names of the offline images that `tests/engine-up.sh` builds, and a check that the
//! engine has them. The in-memory engine for unit tests is `sis_engine::fake`, behind
//! sis-engine's `fake` feature, which only dev-dependencies turn on.

use std::process::Command;

use serde_json::Value;

/// The dind node image (Debian bookworm + docker.io 20.10), `tests/node-image/build.sh`.
pub const NODE_IMAGE: &str = "sis-node:test";
/// The 2 MB busybox workload image, `tests/workload-image/build.sh`.
pub const WORKLOAD_IMAGE: &str = "sis-workload:test";
/// etcd 3.4 from Debian's etcd-server, the classic mode's K/V store, `tests/etcd-image/build.sh`.
pub const ETCD_IMAGE: &str = "sis-etcd:test";
/// Classic Swarm 1.2.9 built from the shared fixtures, `tests/swarm-image/build.sh`.
pub const SWARM_IMAGE: &str = "sis-swarm:test";

/// Fails the test with instructions when there is no engine or it lacks `image`.
pub fn require_image(image: &str) {
    let ok = Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Id}}", image])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "this test needs a running Docker engine with the image {image}: run \
         tests/engine-up.sh (installs docker.io, starts dockerd, builds the test images), or \
         use tests/run.sh, which does that and runs every test"
    );
}

/// A small check of one `--output jsonl` line against `docs/events.schema.json`: the event's
/// branch of `oneOf`, its required fields, their constants and their JSON types.
pub fn check_event(schema: &Value, line: &Value) -> Result<(), String> {
    let kind = line["event"].as_str().ok_or("no event field")?;
    let branch = schema["oneOf"]
        .as_array()
        .ok_or("schema has no oneOf")?
        .iter()
        .map(|b| match b.get("$ref").and_then(Value::as_str) {
            Some(r) => &schema["$defs"][r.trim_start_matches("#/$defs/")],
            None => b,
        })
        .find(|b| b["properties"]["event"]["const"] == kind)
        .ok_or(format!("event {kind:?} is not in the schema"))?;
    for field in branch["required"].as_array().into_iter().flatten() {
        let field = field.as_str().unwrap_or_default();
        let value = line
            .get(field)
            .ok_or(format!("{kind}: no field {field:?}"))?;
        if let Some(c) = branch["properties"][field].get("const") {
            if c != value {
                return Err(format!("{kind}: {field} is {value}, not {c}"));
            }
        }
        let Some(want) = branch["properties"][field]["type"].as_str() else {
            continue;
        };
        let ok = match want {
            "string" => value.is_string(),
            "integer" => value.is_u64() || value.is_i64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "object" => value.is_object(),
            "array" => value.is_array(),
            _ => true,
        };
        if !ok {
            return Err(format!("{kind}: {field} is not {want}: {value}"));
        }
    }
    Ok(())
}
