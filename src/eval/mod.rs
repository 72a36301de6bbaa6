//! Evaluation of the predicate IR against one event.
//!
//! Events are seen through the [`Document`] trait: the values of a field by
//! [`FieldId`], nothing else, so the reader behind it can decode only the
//! fields a plan uses. [`matches`] runs a [`Filter`] with index-query
//! semantics; scripts run three-valued in [`script`].

pub mod json;
pub mod script;
pub mod sequence;

use crate::compile::cidr::parse_ip;
use crate::compile::ir::{FieldId, Filter, Lit, Test};
use crate::syntax::eql::CompareOp;
use std::cmp::Ordering;

/// One value of a field, as read from the event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar<'a> {
    /// A boolean.
    Bool(bool),
    /// A whole number that fits in 64 bits.
    Int(i64),
    /// Any other number.
    Float(f64),
    /// A string.
    Str(&'a str),
}

/// Field access for the evaluator.
pub trait Document {
    /// The non-null values of a field: empty when the field is missing or
    /// null; several for a JSON array.
    fn values(&self, field: FieldId) -> &[Scalar<'_>];
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
        Filter::Exists(field) => !doc.values(*field).is_empty(),
        Filter::Test { field, test } => doc.values(*field).iter().any(|v| passes(test, v)),
        Filter::Script(s) => script::eval(s, doc) == script::Value::Bool(true),
    }
}

/// Whether one value passes a term-level test.
pub fn passes(test: &Test, value: &Scalar) -> bool {
    match test {
        Test::Eq(lit) => term_eq(value, lit),
        Test::EqFold(lower) => match value {
            Scalar::Str(s) => s.eq_ignore_ascii_case(lower),
            other => term_eq(other, &Lit::Str(lower.clone())),
        },
        Test::Range(op, lit) => term_cmp(value, lit).is_some_and(|o| op_holds(*op, o)),
        Test::Wildcard(w) => matches!(value, Scalar::Str(s) if w.matches(s)),
        Test::Regex(r) => matches!(value, Scalar::Str(s) if r.matches(s)),
        Test::Cidr(set) => match value {
            Scalar::Str(s) => parse_ip(s).is_some_and(|a| set.contains(a)),
            _ => false,
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

fn lit_text(lit: &Lit) -> String {
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
fn term_eq(value: &Scalar, lit: &Lit) -> bool {
    match (value, lit) {
        (Scalar::Str(s), Lit::Str(l)) => s == l,
        (Scalar::Str(s), other) => *s == lit_text(other),
        (Scalar::Int(i), Lit::Int(l)) => i == l,
        (Scalar::Int(i), other) => lit_number(other).is_some_and(|n| n == *i as f64),
        (Scalar::Float(f), other) => lit_number(other).is_some_and(|n| n == *f),
        (Scalar::Bool(b), Lit::Bool(l)) => b == l,
        (Scalar::Bool(b), Lit::Str(l)) => l == if *b { "true" } else { "false" },
        (Scalar::Bool(_), _) => false,
    }
}

/// Ordering of a value against a range bound: keywords compare as bytes,
/// numbers numerically.
fn term_cmp(value: &Scalar, lit: &Lit) -> Option<Ordering> {
    match value {
        Scalar::Str(s) => Some(s.as_bytes().cmp(lit_text(lit).as_bytes())),
        Scalar::Int(i) => match lit {
            Lit::Int(l) => Some(i.cmp(l)),
            other => (*i as f64).partial_cmp(&lit_number(other)?),
        },
        Scalar::Float(f) => f.partial_cmp(&lit_number(lit)?),
        Scalar::Bool(b) => match lit {
            Lit::Bool(l) => Some(b.cmp(l)),
            _ => None,
        },
    }
}
