//! A [`Document`] over an already parsed `serde_json::Value`: the simple,
//! allocation-heavy way to read an event, used by tests and small inputs.
//! Fields resolve through nested objects, flat dotted keys and any mix of
//! the two; arrays (also of objects) make a field multi-valued; nulls are
//! absent.

use super::{Document, Scalar};
use crate::compile::ir::{FieldId, FieldTable};
use serde_json::Value;

/// The values of every field of a [`FieldTable`], resolved from one event.
pub struct JsonDocument<'a> {
    values: Vec<Vec<Scalar<'a>>>,
}

impl<'a> JsonDocument<'a> {
    /// Resolves every field of `fields` in `event`.
    pub fn new(event: &'a Value, fields: &FieldTable) -> Self {
        let values = fields
            .names()
            .iter()
            .map(|name| {
                let mut out = Vec::new();
                collect(event, name, &mut out);
                out
            })
            .collect();
        JsonDocument { values }
    }
}

impl Document for JsonDocument<'_> {
    fn values(&self, field: FieldId) -> &[Scalar<'_>] {
        &self.values[field as usize]
    }
}

/// Adds the values at dotted `path` below `v` to `out`.
fn collect<'a>(v: &'a Value, path: &str, out: &mut Vec<Scalar<'a>>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| collect(i, path, out)),
        _ if path.is_empty() => push_scalar(v, out),
        Value::Object(map) => {
            for (key, child) in map {
                if let Some(rest) = path.strip_prefix(key.as_str()) {
                    if rest.is_empty() {
                        collect(child, "", out);
                    } else if let Some(rest) = rest.strip_prefix('.') {
                        collect(child, rest, out);
                    }
                }
            }
        }
        _ => {}
    }
}

fn push_scalar<'a>(v: &'a Value, out: &mut Vec<Scalar<'a>>) {
    match v {
        Value::Bool(b) => out.push(Scalar::Bool(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => out.push(Scalar::Int(i)),
            None => out.push(Scalar::Float(n.as_f64().unwrap_or(f64::NAN))),
        },
        Value::String(s) => out.push(Scalar::Str(s)),
        Value::Array(items) => items.iter().for_each(|i| push_scalar(i, out)),
        Value::Null | Value::Object(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_dotted_mixed_and_arrays_resolve_alike() {
        let mut fields = FieldTable::new();
        let name = fields.intern("process.parent.name");
        let data = fields.intern("dns.answers.data");
        let cat = fields.intern("event.category");
        for event in [
            json!({"process": {"parent": {"name": "bash"}}}),
            json!({"process.parent.name": "bash"}),
            json!({"process": {"parent.name": "bash"}}),
            json!({"process.parent": {"name": ["bash"]}}),
        ] {
            let doc = JsonDocument::new(&event, &fields);
            assert_eq!(doc.values(name), &[Scalar::Str("bash")], "{event}");
        }
        let event = json!({
            "dns": {"answers": [{"data": "a"}, {"data": "b"}, {"data": null}]},
            "event": {"category": ["network", "process"]}
        });
        let doc = JsonDocument::new(&event, &fields);
        assert_eq!(doc.values(data), &[Scalar::Str("a"), Scalar::Str("b")]);
        assert_eq!(doc.values(cat).len(), 2);
        assert!(JsonDocument::new(&json!({"process": null}), &fields)
            .values(name)
            .is_empty());
    }
}
