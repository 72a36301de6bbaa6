//! The values an event holds for a field, as the engine reads them (the
//! projected record), with where in the event's JSON each came from.

use crate::compile::ir::Fields;
use crate::engine::QueryOptions;
use crate::event::{Projector, Value};
use serde::Serialize;

/// The values of one field in one event.
#[derive(Debug, Clone, Serialize)]
pub struct FieldValues {
    /// The field, as the query names it.
    pub field: String,
    /// The field the mapping resolves it to, when it is an alias.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias_of: Option<String>,
    /// Its values in document order (explicit nulls included); none when
    /// the event lacks the field.
    pub values: Vec<FieldValue>,
}

impl FieldValues {
    /// Whether the event lacks the field.
    pub fn missing(&self) -> bool {
        self.values.is_empty()
    }
}

/// One value of a field.
#[derive(Debug, Clone, Serialize)]
pub struct FieldValue {
    /// The value.
    pub value: serde_json::Value,
    /// `string`, `number`, `bool` or `null`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Where it came from: a JSON pointer into the event (`/a/b` nested
    /// objects, `/a.b` a dotted key, `/a/0` an array element), and what
    /// that is; `mapping constant` for a `constant_keyword` value the event
    /// does not send.
    pub from: String,
}

/// The values `event` (JSON bytes) holds for `name`, as a query compiled
/// with `options` reads them.
pub fn field_values(name: &str, event: &[u8], options: &QueryOptions) -> FieldValues {
    let mut fields = Fields::new(options.mapping.as_ref());
    let id = fields.intern(name);
    let target = fields.table.path(id).to_string();
    let alias_of = (target != name).then(|| target.clone());
    let mut projector = Projector::new(&fields.table);
    let mut values = Vec::new();
    if let Ok(record) = projector.project(event) {
        let json: Option<serde_json::Value> = serde_json::from_slice(record.source()).ok();
        let mut places = Vec::new();
        if let Some(json) = &json {
            locate(json, &target, &mut String::new(), &mut places);
        }
        let read: Vec<Value> = record.values(id).collect();
        let paired = places.len() == read.len();
        for (i, v) in read.iter().enumerate() {
            let (value, kind) = match v {
                Value::Null => (serde_json::Value::Null, "null"),
                Value::Bool(b) => (serde_json::Value::Bool(*b), "bool"),
                Value::Number(n) => (
                    serde_json::from_str(n.text())
                        .unwrap_or_else(|_| serde_json::Value::String(n.text().into())),
                    "number",
                ),
                Value::Str(s) => (serde_json::Value::String((*s).into()), "string"),
            };
            let from = if paired {
                places[i].clone()
            } else if places.is_empty() {
                "mapping constant".into()
            } else {
                places.join(", ")
            };
            values.push(FieldValue { value, kind, from });
        }
    }
    FieldValues {
        field: name.to_string(),
        alias_of,
        values,
    }
}

/// Appends to `out` each place in `v` that holds a value of the dotted
/// `path`, as a JSON pointer (`pointer` so far) and what kind of place it is.
fn locate(v: &serde_json::Value, path: &str, pointer: &mut String, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, child) in map {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&k.replace('~', "~0").replace('/', "~1"));
                if k == path {
                    leaf(child, pointer, out);
                } else if let Some(rest) = path.strip_prefix(k.as_str()) {
                    if let Some(rest) = rest.strip_prefix('.') {
                        locate(child, rest, pointer, out);
                    }
                }
                pointer.truncate(len);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push_str(&format!("/{i}"));
                locate(item, path, pointer, out);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

/// The places of the values at the end of a path: each element of an
/// array (arrays of arrays flattened), or the value itself.
fn leaf(v: &serde_json::Value, pointer: &mut String, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push_str(&format!("/{i}"));
                leaf(item, pointer, out);
                pointer.truncate(len);
            }
        }
        serde_json::Value::Object(_) => {}
        _ => out.push(describe(pointer)),
    }
}

/// A pointer and the kinds of place it passes through.
fn describe(pointer: &str) -> String {
    let segments: Vec<&str> = pointer.split('/').skip(1).collect();
    let mut kinds = Vec::new();
    let keys = segments
        .iter()
        .filter(|s| !s.bytes().all(|b| b.is_ascii_digit()))
        .count();
    if segments.iter().any(|s| s.contains('.')) {
        kinds.push("dotted key");
    }
    if keys > 1 {
        kinds.push("nested object");
    }
    if keys < segments.len() {
        kinds.push("array element");
    }
    if kinds.is_empty() {
        pointer.to_string()
    } else {
        format!("{pointer} ({})", kinds.join(", "))
    }
}
