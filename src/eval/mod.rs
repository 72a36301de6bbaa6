//! Evaluation of the predicate IR against one event.
//!
//! Events are seen through the [`Document`] trait: the values of a field by
//! [`FieldId`], nothing else, so the reader behind it (the event layer's
//! projected [`Record`]) decodes only the fields a plan uses. [`matches`](fn@matches)
//! runs a [`Filter`] with index-query semantics; scripts run three-valued in
//! [`script`]. An explicit JSON `null` is no value, like a missing field.

pub mod flat;
pub mod script;
pub mod sequence;

use crate::compile::cidr::parse_ip;
use crate::compile::ir::{FieldId, Filter, Lit, Test};
use crate::compile::typed;
use crate::compile::wildcard::Wildcard;
use crate::event::{ElemId, NodeId, Num, Number, Record, Value};
use crate::syntax::eql::CompareOp;
use std::cell::Cell;
use std::cmp::Ordering;

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

/// Whether one (non-null) value passes a term-level test.
pub fn passes(test: &Test, value: &Value) -> bool {
    match test {
        Test::Eq(lit) => term_eq(value, lit),
        Test::EqFold(lower) => match value {
            Value::Str(s) => s.eq_ignore_ascii_case(lower),
            other => term_eq(other, &Lit::Str(lower.clone())),
        },
        Test::Range(op, lit) => term_cmp(value, lit).is_some_and(|o| op_holds(*op, o)),
        Test::Wildcard(w) => matches!(value, Value::Str(s) if w.matches(s)),
        Test::Regex(r) => matches!(value, Value::Str(s) if r.matches(s)),
        Test::Cidr(set) => match value {
            Value::Str(s) => parse_ip(s).is_some_and(|a| set.contains(a)),
            _ => false,
        },
        Test::Date { op, bound, format } => {
            typed::date_value(value, format).is_some_and(|v| typed::date_holds(v, *op, *bound))
        }
        Test::Text { terms, phrase } => match value {
            Value::Str(s) => {
                let tokens = crate::compile::ir::analyze(s);
                if *phrase {
                    !terms.is_empty() && tokens.windows(terms.len()).any(|w| w == terms.as_slice())
                } else {
                    terms.iter().any(|t| tokens.contains(t))
                }
            }
            _ => false,
        },
        Test::Version(op, bound) => match value {
            Value::Str(s) => op_holds(*op, typed::version_cmp(s, bound)),
            _ => false,
        },
        Test::AnyOf(set) => match value {
            Value::Str(s) => set.matches_str(s),
            other => set.tests.iter().any(|t| passes(t, other)),
        },
    }
}

/// Whether a comparison outcome satisfies an operator.
pub fn op_holds(op: CompareOp, o: Ordering) -> bool {
    match op {
        CompareOp::Eq => o == Ordering::Equal,
        CompareOp::Ne => o != Ordering::Equal,
        CompareOp::Lt => o == Ordering::Less,
        CompareOp::Le => o != Ordering::Greater,
        CompareOp::Gt => o == Ordering::Greater,
        CompareOp::Ge => o != Ordering::Less,
    }
}

fn lit_number(lit: &Lit) -> Option<f64> {
    match lit {
        Lit::Int(i) => Some(*i as f64),
        Lit::Float(f) => Some(*f),
        Lit::Str(s) => s.trim().parse().ok(),
        Lit::Bool(_) => None,
    }
}

/// The text a string value must have to equal `lit` as a term.
pub(crate) fn lit_text(lit: &Lit) -> String {
    match lit {
        Lit::Str(s) => s.clone(),
        Lit::Int(i) => i.to_string(),
        Lit::Float(f) => script::java_double(*f),
        Lit::Bool(b) => b.to_string(),
    }
}

/// Term equality the way a term query on a dynamically mapped field
/// behaves: strings are keywords (the literal is compared as text), numbers
/// compare numerically (a numeric string literal is converted), booleans
/// accept `true`/`false` and their strings.
fn term_eq(value: &Value, lit: &Lit) -> bool {
    match (value, lit) {
        (Value::Str(s), Lit::Str(l)) => s == l,
        (Value::Str(s), other) => *s == lit_text(other),
        (Value::Number(n), Lit::Int(l)) => match n.value() {
            Num::Int(i) => i == *l,
            _ => n.as_f64() == *l as f64,
        },
        (Value::Number(n), other) => lit_number(other).is_some_and(|x| x == n.as_f64()),
        (Value::Bool(b), Lit::Bool(l)) => b == l,
        (Value::Bool(b), Lit::Str(l)) => l == if *b { "true" } else { "false" },
        (Value::Bool(_), _) | (Value::Null, _) => false,
    }
}

/// Ordering of a value against a range bound: keywords compare as bytes,
/// numbers numerically.
fn term_cmp(value: &Value, lit: &Lit) -> Option<Ordering> {
    match value {
        Value::Str(s) => Some(match lit {
            Lit::Str(l) => s.as_bytes().cmp(l.as_bytes()),
            other => s.as_bytes().cmp(lit_text(other).as_bytes()),
        }),
        Value::Number(n) => match (n.value(), lit) {
            (Num::Int(i), Lit::Int(l)) => Some(i.cmp(l)),
            (_, other) => n.as_f64().partial_cmp(&lit_number(other)?),
        },
        Value::Bool(b) => match lit {
            Lit::Bool(l) => Some(b.cmp(l)),
            _ => None,
        },
        Value::Null => None,
    }
}
