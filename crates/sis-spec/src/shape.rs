//! The shape of a spec (keys, required keys, types, allowed values), checked on the YAML tree.
//!
//! The tables below mirror the serde types in `types.rs`; a unit test compares them with
//! the JSON Schema generated from those types, so the two cannot drift apart silently.
//! A tree that has the right shape is turned into JSON with exactly the types checked here,
//! and serde builds the [`Spec`](crate::Spec) from that.

use std::collections::HashMap;

use serde_json::{Map, Value as Json};

use crate::error::Problem;
use crate::suggest::closest;
use crate::yaml::{Node, Pos, Resolved, Scalar, Value};

pub(crate) enum Shape {
    Str,
    /// `true` or `false`.
    Bool,
    /// A non-negative integer up to `max`.
    UInt(u64),
    /// `true`, `false` or `auto`.
    Privileged,
    /// One of these strings.
    OneOf(&'static [&'static str]),
    List(&'static Shape),
    Map(&'static [Field]),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Presence {
    Required,
    /// Has a default; leaving the key out uses it, an empty value is a mistake.
    Defaulted,
    /// May be absent; an empty value (`key:` or `key: null`) means absent, as in serde.
    Optional,
}

pub(crate) struct Field {
    pub key: &'static str,
    pub presence: Presence,
    pub shape: Shape,
}

const fn field(key: &'static str, presence: Presence, shape: Shape) -> Field {
    Field {
        key,
        presence,
        shape,
    }
}

use Presence::{Defaulted, Optional, Required};

const U32: Shape = Shape::UInt(u32::MAX as u64);
const U16: Shape = Shape::UInt(u16::MAX as u64);

const TLS: Shape = Shape::Map(&[
    field("ca", Required, Shape::Str),
    field("cert", Required, Shape::Str),
    field("key", Required, Shape::Str),
]);

const SSH: Shape = Shape::Map(&[
    field("identity", Optional, Shape::Str),
    field("known_hosts", Optional, Shape::Str),
]);

const HOST: Shape = Shape::Map(&[
    field("name", Required, Shape::Str),
    field("endpoint", Defaulted, Shape::Str),
    field("tls", Optional, TLS),
    field("ssh", Optional, SSH),
    field("nodes", Defaulted, U32),
    field("advertise_addr", Optional, Shape::Str),
    field("disk_floor", Optional, Shape::Str),
]);

const CAPACITY: Shape = Shape::Map(&[field("disk_floor", Optional, Shape::Str)]);

const NETWORK: Shape = Shape::Map(&[
    field("name", Required, Shape::Str),
    field("subnet", Required, Shape::Str),
    field("external", Defaulted, Shape::Bool),
    field("addresses_per_host", Optional, U32),
]);

const KVSTORE: Shape = Shape::Map(&[
    field("kind", Required, Shape::OneOf(&["consul", "etcd"])),
    field("host", Required, Shape::Str),
    field("image", Optional, Shape::Str),
]);

const CLASSIC: Shape = Shape::Map(&[
    field("image", Optional, Shape::Str),
    field("host", Optional, Shape::Str),
    field("tls", Optional, Shape::Bool),
]);

const SWARM2: Shape = Shape::Map(&[
    field("mode", Defaulted, Shape::OneOf(&["swarm", "classic"])),
    field("managers", Defaulted, U32),
    field("image", Defaulted, Shape::Str),
    field("privileged", Defaulted, Shape::Privileged),
    field("cap_drop", Defaulted, Shape::List(&Shape::Str)),
    field("publish", Optional, U16),
    field("classic", Optional, CLASSIC),
    field("args", Defaulted, Shape::List(&Shape::Str)),
    field("ingress", Defaulted, Shape::Bool),
    field("preload", Defaulted, Shape::List(&Shape::Str)),
]);

pub(crate) const SPEC: Shape = Shape::Map(&[
    field("version", Required, U32),
    field("name", Required, Shape::Str),
    field("hosts", Required, Shape::List(&HOST)),
    field("network", Required, NETWORK),
    field("kvstore", Optional, KVSTORE),
    field("swarm2", Defaulted, SWARM2),
    field("capacity", Defaulted, CAPACITY),
]);

impl Shape {
    /// What a value of this shape is, for "expected …" messages.
    fn expected(&self) -> String {
        match self {
            Shape::Str => "a string".to_string(),
            Shape::Bool => "true or false".to_string(),
            Shape::UInt(_) => "an integer".to_string(),
            Shape::Privileged => "true, false or auto".to_string(),
            Shape::OneOf(values) => format!("one of {}", values.join(", ")),
            Shape::List(_) => "a list".to_string(),
            Shape::Map(_) => "a mapping".to_string(),
        }
    }
}

/// What a node is, for "found …" messages.
fn found(node: &Node) -> String {
    match &node.value {
        Value::Seq(_) => "a list".to_string(),
        Value::Map(_) => "a mapping".to_string(),
        Value::Scalar(s) => match s.resolve() {
            Resolved::Null if s.text.is_empty() => "an empty value".to_string(),
            Resolved::Null => format!("null ({})", s.text),
            Resolved::Bool(_) => format!("a boolean ({})", s.text),
            Resolved::Int(_) => format!("an integer ({})", s.text),
            Resolved::Float => format!("a number ({})", s.text),
            Resolved::Str => format!("a string ({:?})", s.text),
        },
    }
}

/// `path: ` before a message, nothing at the top level.
pub(crate) fn at(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("{path}: ")
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Checks `doc` against the spec's shape; on success, the same data as JSON for serde.
pub(crate) fn check(doc: Option<&Node>) -> Result<Json, Vec<Problem>> {
    let Some(doc) = doc else {
        return Err(vec![Problem {
            pos: None,
            message:
                "the spec is empty; it needs at least the keys version, name, hosts and network"
                    .to_string(),
        }]);
    };
    let mut problems = Vec::new();
    let json = walk(doc, &SPEC, "", &mut problems);
    match json {
        Some(json) if problems.is_empty() => Ok(json),
        _ => Err(problems),
    }
}

fn walk(node: &Node, shape: &Shape, path: &str, out: &mut Vec<Problem>) -> Option<Json> {
    let mismatch = |out: &mut Vec<Problem>, hint: &str| {
        let message = format!(
            "{}expected {}, found {}{hint}",
            at(path),
            shape.expected(),
            found(node)
        );
        out.push(Problem::at(node.pos, message));
        None
    };
    match (shape, &node.value) {
        (Shape::Map(fields), Value::Map(entries)) => walk_map(node.pos, fields, entries, path, out),
        (Shape::List(item), Value::Seq(items)) => {
            let values: Vec<Option<Json>> = items
                .iter()
                .enumerate()
                .map(|(i, n)| walk(n, item, &format!("{path}[{i}]"), out))
                .collect();
            values
                .into_iter()
                .collect::<Option<Vec<_>>>()
                .map(Json::Array)
        }
        (Shape::List(Shape::Str), Value::Scalar(s)) if s.resolve() == Resolved::Str => {
            mismatch(out, &format!("; write [{}] for a list of one", s.text))
        }
        (Shape::Str, Value::Scalar(s)) => match s.resolve() {
            // Digits are text where text is expected (`name: 2024`), as in serde_yaml.
            Resolved::Str | Resolved::Int(_) | Resolved::Float => {
                Some(Json::String(s.text.clone()))
            }
            Resolved::Bool(_) => {
                mismatch(out, &format!("; write \"{}\" if you mean the text", s.text))
            }
            Resolved::Null => mismatch(out, ""),
        },
        (Shape::UInt(max), Value::Scalar(s)) => match s.resolve() {
            Resolved::Int(Some(v)) if (0..=i128::from(*max)).contains(&v) => {
                Some(Json::from(v as u64))
            }
            Resolved::Int(_) => {
                let message = format!(
                    "{}{} is out of range; expected an integer from 0 to {max}",
                    at(path),
                    s.text
                );
                out.push(Problem::at(node.pos, message));
                None
            }
            Resolved::Str if unquoted(s).is_some_and(|r| matches!(r, Resolved::Int(_))) => {
                mismatch(out, &format!("; write {} without quotes", s.text))
            }
            Resolved::Str if s.plain && s.text.bytes().all(|b| b.is_ascii_digit()) => {
                mismatch(out, "; write it without leading zeros")
            }
            _ => mismatch(out, ""),
        },
        (Shape::Bool, Value::Scalar(s)) => match s.resolve() {
            Resolved::Bool(b) => Some(Json::Bool(b)),
            Resolved::Str if unquoted(s).is_some_and(|r| matches!(r, Resolved::Bool(_))) => {
                mismatch(out, &format!("; write {} without quotes", s.text))
            }
            _ => mismatch(out, ""),
        },
        (Shape::Privileged, Value::Scalar(s)) => match s.resolve() {
            Resolved::Bool(b) => Some(Json::Bool(b)),
            Resolved::Str if s.text == "auto" => Some(Json::String("auto".to_string())),
            Resolved::Str if unquoted(s).is_some_and(|r| matches!(r, Resolved::Bool(_))) => {
                mismatch(out, &format!("; write {} without quotes", s.text))
            }
            _ => mismatch(out, ""),
        },
        (Shape::OneOf(values), Value::Scalar(s)) if s.resolve() == Resolved::Str => {
            if values.contains(&s.text.as_str()) {
                return Some(Json::String(s.text.clone()));
            }
            let mut message = format!("{}unknown value {:?}", at(path), s.text);
            if let Some(near) = closest(&s.text, values.iter().copied()) {
                message.push_str(&format!(" (did you mean {near:?}?)"));
            }
            message.push_str(&format!("; expected one of {}", values.join(", ")));
            out.push(Problem::at(node.pos, message));
            None
        }
        _ => mismatch(out, ""),
    }
}

/// What a quoted scalar would have been without its quotes.
fn unquoted(s: &Scalar) -> Option<Resolved> {
    (!s.plain).then(|| {
        Scalar {
            text: s.text.clone(),
            plain: true,
        }
        .resolve()
    })
}

fn walk_map(
    pos: Pos,
    fields: &[Field],
    entries: &[(Node, Node)],
    path: &str,
    out: &mut Vec<Problem>,
) -> Option<Json> {
    let mut object = Map::new();
    let mut ok = true;
    let mut seen: HashMap<&str, Pos> = HashMap::new();
    for (key_node, value) in entries {
        let Some(key) = key_node.scalar_text() else {
            let message = format!("{}expected a key name, found {}", at(path), found(key_node));
            out.push(Problem::at(key_node.pos, message));
            ok = false;
            continue;
        };
        if let Some(first) = seen.insert(key, key_node.pos) {
            let message = format!(
                "{}duplicate key {key:?}; it is first set at line {} column {}",
                at(path),
                first.line,
                first.column
            );
            out.push(Problem::at(key_node.pos, message));
            seen.insert(key, first);
            ok = false;
            continue;
        }
        let Some(field) = fields.iter().find(|f| f.key == key) else {
            out.push(Problem::at(key_node.pos, unknown_key(key, fields, path)));
            ok = false;
            continue;
        };
        let child = join(path, key);
        let is_null = matches!(&value.value, Value::Scalar(s) if s.resolve() == Resolved::Null);
        if is_null && field.presence == Optional {
            continue;
        }
        if is_null && field.presence == Defaulted {
            let message = format!(
                "{}expected {}, found {}; leave the key out to use the default",
                at(&child),
                field.shape.expected(),
                found(value)
            );
            out.push(Problem::at(value.pos, message));
            ok = false;
            continue;
        }
        match walk(value, &field.shape, &child, out) {
            Some(json) => {
                object.insert(key.to_string(), json);
            }
            None => ok = false,
        }
    }
    for f in fields.iter().filter(|f| f.presence == Required) {
        if !seen.contains_key(f.key) {
            let message = format!("{}missing required key {:?}", at(path), f.key);
            out.push(Problem::at(pos, message));
            ok = false;
        }
    }
    ok.then_some(Json::Object(object))
}

fn unknown_key(key: &str, fields: &[Field], path: &str) -> String {
    let mut message = format!("{}unknown key {key:?}", at(path));
    if key == "<<" {
        message.push_str(" (YAML merge keys are not supported: write the keys out)");
    } else if let Some(near) = closest(key, fields.iter().map(|f| f.key)) {
        message.push_str(&format!(" (did you mean {near:?}?)"));
    } else if let Some(home) = home_of(key) {
        message.push_str(&format!(" (it belongs at {home})"));
    }
    let allowed: Vec<&str> = fields.iter().map(|f| f.key).collect();
    message.push_str(&format!("; allowed keys: {}", allowed.join(", ")));
    message
}

/// Where a key that is known in exactly one other place of the spec goes, e.g. `swarm2.managers`.
fn home_of(key: &str) -> Option<String> {
    fn search(shape: &Shape, path: &str, key: &str, homes: &mut Vec<String>) {
        match shape {
            Shape::Map(fields) => {
                for f in *fields {
                    let child = join(path, f.key);
                    if f.key == key {
                        homes.push(child.clone());
                    }
                    search(&f.shape, &child, key, homes);
                }
            }
            Shape::List(item) => search(item, &format!("{path}[N]"), key, homes),
            _ => {}
        }
    }
    let mut homes = Vec::new();
    search(&SPEC, "", key, &mut homes);
    match homes.as_slice() {
        [home] => Some(home.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Follows `$ref` and `Option`'s `anyOf [T, null]`; returns the schema and whether null is allowed.
    fn resolve<'a>(schema: &'a Json, root: &'a Json) -> (&'a Json, bool) {
        if let Some(r) = schema.get("$ref").and_then(Json::as_str) {
            let name = r.trim_start_matches("#/$defs/");
            return resolve(&root["$defs"][name], root);
        }
        if let Some(any) = schema.get("anyOf").and_then(Json::as_array) {
            let non_null: Vec<&Json> = any.iter().filter(|s| s["type"] != "null").collect();
            if non_null.len() == 1 && any.len() == 2 {
                return (resolve(non_null[0], root).0, true);
            }
        }
        let nullable = schema["type"]
            .as_array()
            .is_some_and(|t| t.contains(&json!("null")));
        (schema, nullable)
    }

    fn types(schema: &Json) -> Vec<&str> {
        match &schema["type"] {
            Json::String(t) => vec![t.as_str()],
            Json::Array(ts) => ts
                .iter()
                .filter_map(Json::as_str)
                .filter(|t| *t != "null")
                .collect(),
            _ => vec![],
        }
    }

    fn compare(shape: &Shape, schema: &Json, root: &Json, path: &str) {
        match shape {
            Shape::Str => assert_eq!(types(schema), ["string"], "{path}"),
            Shape::Bool => assert_eq!(types(schema), ["boolean"], "{path}"),
            Shape::UInt(max) => {
                assert_eq!(types(schema), ["integer"], "{path}");
                let format = match max {
                    m if *m == u64::from(u32::MAX) => "uint32",
                    m if *m == u64::from(u16::MAX) => "uint16",
                    m => panic!("{path}: no format for max {m}"),
                };
                assert_eq!(schema["format"], format, "{path}");
            }
            Shape::Privileged => {
                let choices = schema["oneOf"].as_array().expect("privileged has choices");
                let kinds: Vec<(Json, Json)> = choices
                    .iter()
                    .map(|c| {
                        (
                            c["type"].clone(),
                            c.get("const").cloned().unwrap_or_default(),
                        )
                    })
                    .collect();
                assert_eq!(
                    kinds,
                    [
                        (json!("boolean"), Json::Null),
                        (json!("string"), json!("auto"))
                    ],
                    "{path}"
                );
            }
            Shape::OneOf(values) => {
                let consts: Vec<&Json> = match schema.get("oneOf").and_then(Json::as_array) {
                    Some(choices) => choices.iter().map(|c| &c["const"]).collect(),
                    None => schema["enum"].as_array().expect("an enum").iter().collect(),
                };
                let values: Vec<Json> = values.iter().map(|v| json!(v)).collect();
                assert_eq!(consts, values.iter().collect::<Vec<_>>(), "{path}");
            }
            Shape::List(item) => {
                assert_eq!(types(schema), ["array"], "{path}");
                let (items, _) = resolve(&schema["items"], root);
                compare(item, items, root, &format!("{path}[N]"));
            }
            Shape::Map(fields) => {
                assert_eq!(types(schema), ["object"], "{path}");
                assert_eq!(schema["additionalProperties"], false, "{path}");
                let properties = schema["properties"].as_object().expect("properties");
                let mut keys: Vec<&str> = fields.iter().map(|f| f.key).collect();
                let mut schema_keys: Vec<&str> = properties.keys().map(String::as_str).collect();
                keys.sort();
                schema_keys.sort();
                assert_eq!(keys, schema_keys, "keys of {path}");
                let required: Vec<&str> = fields
                    .iter()
                    .filter(|f| f.presence == Required)
                    .map(|f| f.key)
                    .collect();
                let schema_required: Vec<&str> = schema["required"]
                    .as_array()
                    .map(|r| r.iter().filter_map(Json::as_str).collect())
                    .unwrap_or_default();
                assert_eq!(required, schema_required, "required keys of {path}");
                for f in *fields {
                    let child = join(path, f.key);
                    let (sub, nullable) = resolve(&properties[f.key], root);
                    assert_eq!(nullable, f.presence == Optional, "{child} may be null");
                    let has_default = properties[f.key].get("default").is_some();
                    if f.presence == Defaulted && !matches!(f.shape, Shape::List(_)) {
                        assert!(has_default, "{child} shows its default");
                    }
                    compare(&f.shape, sub, root, &child);
                }
            }
        }
    }

    #[test]
    fn the_shape_tables_match_the_json_schema_of_the_types() {
        let root = crate::json_schema();
        compare(&SPEC, &root, &root, "");
    }

    #[test]
    fn keys_known_elsewhere_say_where_they_belong() {
        assert_eq!(home_of("managers").as_deref(), Some("swarm2.managers"));
        assert_eq!(home_of("nodes").as_deref(), Some("hosts[N].nodes"));
        assert_eq!(home_of("subnet").as_deref(), Some("network.subnet"));
        assert_eq!(home_of("nope"), None);
        // Several homes: no single answer.
        assert_eq!(home_of("image"), None);
    }
}
