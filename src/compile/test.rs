//! What a value passes: a term-level [`Test`] of the IR applied to one
//! (non-null) value, and the comparisons it is made of (term equality and
//! ordering, dates with Elasticsearch's rounding, semantic versions, the
//! text of a literal as a term).
//!
//! Layer: part of the compiled IR's meaning, below evaluation. It imports
//! the IR and its prepared matchers ([`super::ir`], [`super::date`],
//! [`super::cidr`]), the event layer's values and the syntax's operators;
//! the evaluator (`crate::eval`) calls it, and the compile passes that need
//! to know what a test accepts ([`super::typed`], [`super::optimize`]) use
//! it too. Nothing here may import `crate::eval`.

use super::cidr::parse_ip;
use super::date::{self, DateFormat, Instant};
use super::ir::{Lit, Test};
use crate::event::{Num, Value};
use crate::syntax::eql::CompareOp;
use std::cmp::Ordering;

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
            date_value(value, format).is_some_and(|v| date_holds(v, *op, *bound))
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
            Value::Str(s) => op_holds(*op, version_cmp(s, bound)),
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
        Lit::Float(f) => java_double(*f),
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

/// Java's `Double.toString`: `1.0`, `0.5`, `1.0E20`, `1.0E-5`.
pub fn java_double(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let a = f.abs();
    if a == 0.0 || (1e-3..1e7).contains(&a) {
        return format!("{f:?}");
    }
    let s = format!("{f:e}");
    let (mantissa, exp) = s.split_once('e').expect("{:e} always has an exponent");
    let mantissa = if mantissa.contains('.') {
        mantissa.to_string()
    } else {
        format!("{mantissa}.0")
    };
    format!("{mantissa}E{exp}")
}

/// Whether a date value (as read from the event) satisfies `value OP bound`,
/// with Elasticsearch's rounding: `<` and `>=` use the bound's first
/// instant, `<=` and `>` its last, `==` the whole span.
pub fn date_holds(value: i64, op: CompareOp, bound: Instant) -> bool {
    match op {
        CompareOp::Eq => bound.lo <= value && value <= bound.hi,
        CompareOp::Ne => !(bound.lo <= value && value <= bound.hi),
        CompareOp::Lt => value < bound.lo,
        CompareOp::Le => value <= bound.hi,
        CompareOp::Gt => value > bound.hi,
        CompareOp::Ge => value >= bound.lo,
    }
}

/// Reads a date field's value: numbers are epoch milliseconds (exact to the
/// nanosecond), strings are read with the field's formats.
pub fn date_value(value: &Value, format: &DateFormat) -> Option<i64> {
    match value {
        // Read from the number's text: nanoseconds do not survive an f64.
        Value::Number(n) => date::epoch_millis_number(n.text()),
        Value::Str(s) => format.read(s).map(|t| t.lo),
        _ => None,
    }
}

/// A parsed semantic version: numeric core, then pre-release identifiers.
fn semver(s: &str) -> Option<(Vec<u64>, Vec<&str>)> {
    let s = s.split('+').next()?;
    let (core, pre) = match s.split_once('-') {
        Some((c, p)) => (c, p.split('.').collect()),
        None => (s, Vec::new()),
    };
    let nums = core
        .split('.')
        .map(|p| {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                None
            } else {
                p.parse().ok()
            }
        })
        .collect::<Option<Vec<u64>>>()?;
    if nums.is_empty() || nums.len() > 3 {
        return None;
    }
    Some((nums, pre))
}

/// Orders two values of a `version` field: semantic-version precedence
/// (a pre-release sorts before its release), strings that are not versions
/// after all versions, in byte order among themselves.
pub fn version_cmp(a: &str, b: &str) -> Ordering {
    match (semver(a), semver(b)) {
        (Some((na, pa)), Some((nb, pb))) => {
            na.cmp(&nb)
                .then_with(|| match (pa.is_empty(), pb.is_empty()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => Ordering::Greater,
                    (false, true) => Ordering::Less,
                    (false, false) => {
                        for (x, y) in pa.iter().zip(&pb) {
                            let o = match (x.parse::<u64>(), y.parse::<u64>()) {
                                (Ok(i), Ok(j)) => i.cmp(&j),
                                (Ok(_), Err(_)) => Ordering::Less,
                                (Err(_), Ok(_)) => Ordering::Greater,
                                (Err(_), Err(_)) => x.cmp(y),
                            };
                            if o != Ordering::Equal {
                                return o;
                            }
                        }
                        pa.len().cmp(&pb.len())
                    }
                })
        }
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.as_bytes().cmp(b.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_double_formatting() {
        assert_eq!(java_double(1.0), "1.0");
        assert_eq!(java_double(0.5), "0.5");
        assert_eq!(java_double(1e20), "1.0E20");
        assert_eq!(java_double(1.5e-5), "1.5E-5");
        assert_eq!(java_double(-2.0), "-2.0");
    }

    #[test]
    fn versions_order_semantically() {
        assert_eq!(version_cmp("1.11.3", "1.5.0"), Ordering::Greater);
        assert_eq!(version_cmp("1.2.4-SNAPSHOT", "1.5.0"), Ordering::Less);
        assert_eq!(version_cmp("1.2.4-SNAPSHOT", "1.2.4"), Ordering::Less);
        assert_eq!(
            version_cmp("1.0.0-alpha.1", "1.0.0-alpha.beta"),
            Ordering::Less
        );
        assert_eq!(version_cmp("bad", "99.0.0"), Ordering::Greater);
        assert_eq!(version_cmp("bad", "bad"), Ordering::Equal);
    }

    #[test]
    fn date_rounding() {
        let second = date::parse_iso("2017-08-30T20:47:33Z").unwrap();
        let inside = second.lo + 500_000_000;
        assert!(date_holds(inside, CompareOp::Eq, second));
        assert!(date_holds(inside, CompareOp::Le, second));
        assert!(!date_holds(inside, CompareOp::Gt, second));
        assert!(!date_holds(inside, CompareOp::Lt, second));
        assert!(date_holds(second.lo - 1, CompareOp::Lt, second));
    }
}
