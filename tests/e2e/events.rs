//! `--output jsonl`: every line of stdout checked against docs/events.schema.json (the
//! event's branch, its required fields and their JSON types).

use serde_json::Value;

fn schema() -> Value {
    let text = include_str!("../../docs/events.schema.json");
    serde_json::from_str(text).expect("docs/events.schema.json parses")
}

fn check_line(schema: &Value, line: &Value) -> Result<(), String> {
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
        let ok = match branch["properties"][field]["type"].as_str() {
            Some("string") => value.is_string(),
            Some("integer") => value.is_u64() || value.is_i64(),
            Some("number") => value.is_number(),
            Some("boolean") => value.is_boolean(),
            Some("object") => value.is_object(),
            Some("array") => value.is_array(),
            _ => true,
        };
        if !ok {
            return Err(format!("{kind}: {field} has the wrong type: {value}"));
        }
    }
    Ok(())
}

/// The events of a run's stdout, each checked; the first must be `start` naming the format
/// and version, the last `end`.
pub(crate) fn checked_events(stdout: &str) -> Vec<Value> {
    let schema = schema();
    let events: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    for e in &events {
        check_line(&schema, e).unwrap_or_else(|why| panic!("{why}: {e}"));
    }
    let first = events.first().expect("at least one event");
    assert_eq!(first["event"], "start", "{first}");
    assert_eq!(first["format"], "sis-events", "{first}");
    assert_eq!(first["version"], 1, "{first}");
    assert_eq!(events.last().unwrap()["event"], "end");
    events
}
