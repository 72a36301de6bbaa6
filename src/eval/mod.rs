//! Evaluation of the predicate IR against one event.
//!
//! Events are seen through the [`Document`] trait: the values of a field by
//! [`FieldId`], nothing else, so the reader behind it (the event layer's
//! projected [`Record`]) decodes only the fields a plan uses. [`matches`](fn@matches)
//! runs a [`Filter`] with index-query semantics; scripts run three-valued in
//! [`script`]. An explicit JSON `null` is no value, like a missing field.
//!
//! Layer: above compilation and the event layer. Evaluation imports the
//! compiled IR and what its tests accept ([`crate::compile::test`]) and the
//! event layer's records and values; neither imports it back.

pub mod flat;
pub mod script;
pub mod sequence;

use crate::compile::ir::{FieldId, Filter, Test};
use crate::compile::test::passes;
use crate::compile::wildcard::Wildcard;
use crate::event::{ElemId, NodeId, Number, Record, Value};
use std::cell::Cell;

/// Field access for the evaluator.
pub trait Document {
    /// The values of a field in document order (explicit nulls included);
    /// none when the field is missing.
    fn values(&self, field: FieldId) -> impl Iterator<Item = Value<'_>>;

    /// The non-null values of a field.
    fn present(&self, field: FieldId) -> impl Iterator<Item = Value<'_>> {
        self.values(field).filter(|v| !v.is_null())
    }

    /// Whether some field whose name matches `pattern` (any field when
    /// `None`) has a value passing `test` (a non-null value when `None`).
    /// Documents that cannot list their fields have none.
    fn any_field(&self, pattern: Option<&Wildcard>, test: Option<&Test>) -> bool {
        let _ = (pattern, test);
        false
    }

    /// Whether one object of the array at `scope` satisfies `inner` alone
    /// (KQL nested queries). Documents that do not know their array
    /// structure have no such object.
    fn nested(&self, scope: NodeId, fields: &[FieldId], inner: &Filter) -> bool {
        let _ = (scope, fields, inner);
        false
    }

    /// The verdict of the shared condition `id` ([`Filter::Shared`]) on
    /// this document: the one remembered for it, else `eval`'s, which is
    /// then remembered. Documents without a memo evaluate it every time.
    fn shared(&self, id: u32, eval: impl FnOnce() -> bool) -> bool {
        let _ = id;
        eval()
    }
}

/// A record seen with a memo of the verdicts of shared conditions
/// ([`Filter::Shared`]): per condition, 0 while not evaluated on this record,
/// else 1 for false and 2 for true. Clear the memo for each new record.
/// Conditions numbered beyond the memo are evaluated every time.
pub struct Memoized<'r, 'a> {
    /// The record.
    pub record: &'r Record<'a>,
    /// The verdicts so far: condition `id`'s is `memo[id * stride]`.
    pub memo: &'r [Cell<u8>],
    /// 1 for a memo of this record alone; the number of records for a memo
    /// that interleaves several records' verdicts (condition by condition,
    /// so that one condition's verdicts on consecutive records share a cache
    /// line), `memo` then starting at this record's place.
    pub stride: usize,
}

impl Document for Memoized<'_, '_> {
    fn values(&self, field: FieldId) -> impl Iterator<Item = Value<'_>> {
        Record::values(self.record, field)
    }

    fn any_field(&self, pattern: Option<&Wildcard>, test: Option<&Test>) -> bool {
        Document::any_field(self.record, pattern, test)
    }

    /// Inside a nested query a condition holds of one object, not of the
    /// event: the record's own view, without the memo, evaluates it.
    fn nested(&self, scope: NodeId, fields: &[FieldId], inner: &Filter) -> bool {
        Document::nested(self.record, scope, fields, inner)
    }

    fn shared(&self, id: u32, eval: impl FnOnce() -> bool) -> bool {
        let Some(cell) = self.memo.get(id as usize * self.stride) else {
            return eval();
        };
        match cell.get() {
            0 => {
                let verdict = eval();
                cell.set(1 + u8::from(verdict));
                verdict
            }
            known => known == 2,
        }
    }
}

impl Document for Record<'_> {
    fn values(&self, field: FieldId) -> impl Iterator<Item = Value<'_>> {
        Record::values(self, field)
    }

    /// Reads the whole event again: only free-text and field-wildcard
    /// conditions need every field, and they are rare in rules.
    fn any_field(&self, pattern: Option<&Wildcard>, test: Option<&Test>) -> bool {
        let Ok(event) = serde_json::from_slice::<serde_json::Value>(self.source()) else {
            return false;
        };
        let mut path = String::new();
        any_leaf(&event, &mut path, &mut |name, leaf| {
            if pattern.is_some_and(|p| !p.matches(name)) {
                return false;
            }
            let text;
            let value = match leaf {
                serde_json::Value::Bool(b) => Value::Bool(*b),
                serde_json::Value::String(s) => Value::Str(s),
                serde_json::Value::Number(n) => {
                    text = n.to_string();
                    match Number::parse(&text) {
                        Some(n) => Value::Number(n),
                        None => return false,
                    }
                }
                _ => return false,
            };
            test.is_none_or(|t| passes(t, &value))
        })
    }

    fn nested(&self, scope: NodeId, fields: &[FieldId], inner: &Filter) -> bool {
        Object {
            record: self,
            within: Vec::new(),
        }
        .nested(scope, fields, inner)
    }
}

/// Whether `visit` holds for some scalar leaf of `v` (arrays flattened),
/// given its dotted path.
fn any_leaf(
    v: &serde_json::Value,
    path: &mut String,
    visit: &mut dyn FnMut(&str, &serde_json::Value) -> bool,
) -> bool {
    match v {
        serde_json::Value::Object(map) => map.iter().any(|(k, child)| {
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(k);
            let found = any_leaf(child, path, visit);
            path.truncate(len);
            found
        }),
        serde_json::Value::Array(items) => items.iter().any(|i| any_leaf(i, path, visit)),
        serde_json::Value::Null => false,
        leaf => visit(path, leaf),
    }
}

/// One object of an array of objects (or the single object at the path),
/// seen as a document of its own; inside nested queries of nested queries,
/// an object within an object.
struct Object<'r, 'a> {
    record: &'r Record<'a>,
    /// The objects the view is confined to, outermost first: (array, object).
    within: Vec<(NodeId, Option<ElemId>)>,
}

impl Object<'_, '_> {
    fn inside(&self, elem: ElemId) -> bool {
        self.within
            .iter()
            .all(|(scope, object)| self.record.element_in(elem, *scope) == *object)
    }
}

impl Document for Object<'_, '_> {
    fn values(&self, field: FieldId) -> impl Iterator<Item = Value<'_>> {
        self.record
            .entries(field)
            .filter(move |(_, e)| self.inside(*e))
            .map(|(v, _)| v)
    }

    fn nested(&self, scope: NodeId, fields: &[FieldId], inner: &Filter) -> bool {
        // A single object (not in an array) counts as an array of one:
        // its values have no element in `scope`, and form the `None` object.
        let mut objects: Vec<Option<ElemId>> = fields
            .iter()
            .flat_map(|f| self.record.entries(*f))
            .filter(|(_, e)| self.inside(*e))
            .map(|(_, e)| self.record.element_in(e, scope))
            .collect();
        objects.sort();
        objects.dedup();
        objects.into_iter().any(|object| {
            let mut within = self.within.clone();
            within.push((scope, object));
            let view = Object {
                record: self.record,
                within,
            };
            matches(inner, &view)
        })
    }
}

/// Whether the event satisfies the filter (index-query semantics: a leaf
/// holds when any value of its field passes, `not` matches events that lack
/// the field).
pub fn matches(filter: &Filter, doc: &impl Document) -> bool {
    match filter {
        Filter::Const(b) => *b,
        Filter::And(children) => children.iter().all(|c| matches(c, doc)),
        Filter::Or(children) => children.iter().any(|c| matches(c, doc)),
        Filter::Not(child) => !matches(child, doc),
        Filter::Exists(field) => doc.present(*field).next().is_some(),
        Filter::ExplicitNull(field) => doc.values(*field).any(|v| v.is_null()),
        Filter::Nested {
            scope,
            fields,
            inner,
        } => doc.nested(*scope, fields, inner),
        Filter::AnyField { pattern, test } => doc.any_field(pattern.as_ref(), test.as_ref()),
        Filter::Test { field, test } => doc.present(*field).any(|v| passes(test, &v)),
        Filter::Script(s) => script::eval(s, doc) == script::Value::Bool(true),
        Filter::Shared(id, inner) => doc.shared(*id, || matches(inner, doc)),
    }
}
