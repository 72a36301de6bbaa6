//! Three-valued evaluation of script expressions, and the EQL functions.
//!
//! Null propagates through comparisons, arithmetic and functions; `and` and
//! `or` follow SQL's null logic (`false and null` is false, `true or null` is
//! true); `not null` is null. A multi-valued field contributes its first
//! value. Strings are measured and indexed in UTF-16 code units, as the Java
//! implementation does.
//!
//! Layer: evaluation. It imports the compiled IR ([`crate::compile::ir`],
//! [`crate::compile::test`]), the event layer's values and the syntax's
//! operators; compilation does not import it.

use super::Document;
use crate::compile::cidr::{parse_ip, CidrSet};
use crate::compile::ir::{Script, ScriptLit};
use crate::compile::test::op_holds;
// Java's `Double.toString`, here for the engine's callers.
pub use crate::compile::test::java_double;
use crate::event::{self, Num};
use crate::syntax::eql::{ArithOp, Function};
use std::borrow::Cow;
use std::cmp::Ordering;

/// A value computed by a script.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// Missing, null, or the result of an operation on null.
    Null,
    /// A boolean.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// Any other number.
    Float(f64),
    /// A string.
    Str(Cow<'a, str>),
}

impl Value<'_> {
    fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The value as text, as `string()` and `concat()` render it.
    pub fn to_text(&self) -> Option<String> {
        match self {
            Value::Null => None,
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(java_double(*f)),
            Value::Str(s) => Some(s.to_string()),
        }
    }
}

fn from_event(v: event::Value<'_>) -> Value<'_> {
    match v {
        event::Value::Null => Value::Null,
        event::Value::Bool(b) => Value::Bool(b),
        event::Value::Number(n) => match n.value() {
            Num::Int(i) => Value::Int(i),
            _ => Value::Float(n.as_f64()),
        },
        event::Value::Str(s) => Value::Str(Cow::Borrowed(s)),
    }
}

/// Evaluates a script against an event.
pub fn eval<'d, D: Document>(s: &Script, doc: &'d D) -> Value<'d> {
    match s {
        Script::Lit(l) => match l {
            ScriptLit::Null => Value::Null,
            ScriptLit::Bool(b) => Value::Bool(*b),
            ScriptLit::Int(i) => Value::Int(*i),
            ScriptLit::Float(f) => Value::Float(*f),
            ScriptLit::Str(s) => Value::Str(Cow::Owned(s.clone())),
        },
        Script::Field(f) => doc.present(*f).next().map_or(Value::Null, from_event),
        Script::Not(inner) => match eval(inner, doc) {
            Value::Bool(b) => Value::Bool(!b),
            _ => Value::Null,
        },
        Script::IsNull(inner) => Value::Bool(eval(inner, doc) == Value::Null),
        Script::And(parts) => connective(parts, doc, false),
        Script::Or(parts) => connective(parts, doc, true),
        Script::Compare(op, l, r) => match compare(&eval(l, doc), &eval(r, doc)) {
            Some(o) => Value::Bool(op_holds(*op, o)),
            None => Value::Null,
        },
        Script::EqFold(l, r) => match (eval(l, doc), eval(r, doc)) {
            (Value::Str(a), Value::Str(b)) => Value::Bool(a.eq_ignore_ascii_case(&b)),
            _ => Value::Null,
        },
        Script::In {
            value,
            list,
            case_insensitive,
        } => {
            let v = eval(value, doc);
            if v == Value::Null {
                return Value::Null;
            }
            let mut saw_null = false;
            for item in list {
                let c = eval(item, doc);
                let equal = match (&v, &c) {
                    (_, Value::Null) => {
                        saw_null = true;
                        false
                    }
                    (Value::Str(a), Value::Str(b)) if *case_insensitive => {
                        a.eq_ignore_ascii_case(b)
                    }
                    (a, b) => compare(a, b) == Some(Ordering::Equal),
                };
                if equal {
                    return Value::Bool(true);
                }
            }
            if saw_null {
                Value::Null
            } else {
                Value::Bool(false)
            }
        }
        Script::Wildcard(value, patterns) => match eval(value, doc) {
            Value::Str(s) => Value::Bool(patterns.iter().any(|p| p.matches(&s))),
            Value::Null => Value::Null,
            other => match other.to_text() {
                Some(t) => Value::Bool(patterns.iter().any(|p| p.matches(&t))),
                None => Value::Null,
            },
        },
        Script::Regex(value, patterns) => match eval(value, doc) {
            Value::Str(s) => Value::Bool(patterns.iter().any(|p| p.matches(&s))),
            _ => Value::Null,
        },
        Script::Arith(op, l, r) => arith(*op, &eval(l, doc), &eval(r, doc)),
        Script::Neg(inner) => match eval(inner, doc) {
            Value::Int(i) => i.checked_neg().map_or(Value::Null, Value::Int),
            Value::Float(f) => Value::Float(-f),
            _ => Value::Null,
        },
        Script::Cidr(value, set) => match eval(value, doc) {
            Value::Str(s) => Value::Bool(parse_ip(&s).is_some_and(|a| set.contains(a))),
            _ => Value::Null,
        },
        Script::Call {
            function,
            case_insensitive,
            args,
        } => {
            let args: Vec<Value> = args.iter().map(|a| eval(a, doc)).collect();
            call(*function, *case_insensitive, args)
        }
    }
}

/// `and` (`decisive` false) or `or` (`decisive` true) with SQL null logic:
/// the decisive value wins outright, otherwise any null makes the result null.
fn connective<D: Document>(parts: &[Script], doc: &D, decisive: bool) -> Value<'static> {
    let mut saw_null = false;
    for p in parts {
        match eval(p, doc) {
            Value::Bool(b) if b == decisive => return Value::Bool(decisive),
            Value::Bool(_) => {}
            _ => saw_null = true,
        }
    }
    if saw_null {
        Value::Null
    } else {
        Value::Bool(!decisive)
    }
}

/// Orders two values of compatible types; `None` for null or mixed types.
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Str(x), Value::Str(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (x, y) => x.as_f64()?.partial_cmp(&y.as_f64()?),
    }
}

fn arith<'a>(op: ArithOp, a: &Value, b: &Value) -> Value<'a> {
    if let (Value::Int(x), Value::Int(y)) = (a, b) {
        let r = match op {
            ArithOp::Add => x.checked_add(*y),
            ArithOp::Sub => x.checked_sub(*y),
            ArithOp::Mul => x.checked_mul(*y),
            ArithOp::Div => x.checked_div(*y),
            ArithOp::Mod => x.checked_rem(*y),
        };
        return r.map_or(Value::Null, Value::Int);
    }
    let (Some(x), Some(y)) = (a.as_f64(), b.as_f64()) else {
        return Value::Null;
    };
    let r = match op {
        ArithOp::Add => x + y,
        ArithOp::Sub => x - y,
        ArithOp::Mul => x * y,
        ArithOp::Div if y == 0.0 => return Value::Null,
        ArithOp::Div => x / y,
        ArithOp::Mod if y == 0.0 => return Value::Null,
        ArithOp::Mod => x % y,
    };
    Value::Float(r)
}

/// Byte offset of `needle` in `hay` at or after byte `from`, ASCII case
/// folded when `ci`.
fn find_from(hay: &str, needle: &str, from: usize, ci: bool) -> Option<usize> {
    if ci {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        if n.len() > h.len() {
            return None;
        }
        (from..=h.len() - n.len())
            .filter(|&i| hay.is_char_boundary(i))
            .find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
    } else {
        hay.get(from..)?.find(needle).map(|i| i + from)
    }
}

fn rfind(hay: &str, needle: &str, ci: bool) -> Option<usize> {
    if ci {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        if n.len() > h.len() {
            return None;
        }
        (0..=h.len() - n.len())
            .rev()
            .filter(|&i| hay.is_char_boundary(i))
            .find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
    } else {
        hay.rfind(needle)
    }
}

/// UTF-16 length of a string, as Java's `String.length()`.
fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// Byte offset of UTF-16 index `idx` (clamped to the string).
fn byte_at_utf16(s: &str, idx: usize) -> usize {
    let mut units = 0;
    for (b, c) in s.char_indices() {
        if units >= idx {
            return b;
        }
        units += c.len_utf16();
    }
    s.len()
}

fn call<'a>(f: Function, ci: bool, args: Vec<Value<'a>>) -> Value<'a> {
    let text = |i: usize| -> Option<String> { args.get(i)?.to_text() };
    match f {
        Function::Add => arith(ArithOp::Add, &args[0], &args[1]),
        Function::Subtract => arith(ArithOp::Sub, &args[0], &args[1]),
        Function::Multiply => arith(ArithOp::Mul, &args[0], &args[1]),
        Function::Divide => arith(ArithOp::Div, &args[0], &args[1]),
        Function::Modulo => arith(ArithOp::Mod, &args[0], &args[1]),
        Function::Concat => {
            let mut out = String::new();
            for a in &args {
                match a.to_text() {
                    Some(t) => out.push_str(&t),
                    None => return Value::Null,
                }
            }
            Value::Str(Cow::Owned(out))
        }
        Function::String => args[0]
            .to_text()
            .map_or(Value::Null, |t| Value::Str(Cow::Owned(t))),
        Function::Length => match &args[0] {
            Value::Str(s) => Value::Int(utf16_len(s) as i64),
            _ => Value::Null,
        },
        Function::StartsWith | Function::EndsWith | Function::StringContains => {
            let (Some(s), Some(x)) = (args[0].as_str(), args[1].as_str()) else {
                return Value::Null;
            };
            let (s, x) = (s.as_bytes(), x.as_bytes());
            let eq = |a: &[u8], b: &[u8]| {
                if ci {
                    a.eq_ignore_ascii_case(b)
                } else {
                    a == b
                }
            };
            Value::Bool(match f {
                Function::StartsWith => s.len() >= x.len() && eq(&s[..x.len()], x),
                Function::EndsWith => s.len() >= x.len() && eq(&s[s.len() - x.len()..], x),
                _ => {
                    find_from(args[0].as_str().unwrap(), args[1].as_str().unwrap(), 0, ci).is_some()
                }
            })
        }
        Function::IndexOf => {
            let (Some(s), Some(sub)) = (args[0].as_str(), args[1].as_str()) else {
                return Value::Null;
            };
            let start = match args.get(2) {
                None | Some(Value::Null) => 0,
                Some(v) => match v.as_int() {
                    Some(i) => i.max(0) as usize,
                    None => return Value::Null,
                },
            };
            let from = byte_at_utf16(s, start);
            match find_from(s, sub, from, ci) {
                Some(b) => Value::Int(utf16_len(&s[..b]) as i64),
                None => Value::Null,
            }
        }
        Function::Between => {
            let (Some(s), Some(left), Some(right)) = (text(0), text(1), text(2)) else {
                return Value::Null;
            };
            let greedy = match args.get(3) {
                None => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => return Value::Null,
            };
            let Some(l) = find_from(&s, &left, 0, ci) else {
                return Value::Str(Cow::Borrowed(""));
            };
            let start = l + left.len();
            let end = if greedy {
                rfind(&s, &right, ci).filter(|&e| e >= start)
            } else {
                find_from(&s, &right, start, ci)
            };
            match end {
                Some(e) => Value::Str(Cow::Owned(s[start..e].to_string())),
                None => Value::Str(Cow::Borrowed("")),
            }
        }
        Function::Substring => {
            let Some(s) = args[0].as_str() else {
                return Value::Null;
            };
            let len = utf16_len(s) as i64;
            let Some(start) = args[1].as_int() else {
                return Value::Null;
            };
            let end = match args.get(2) {
                None | Some(Value::Null) => len,
                Some(v) => match v.as_int() {
                    Some(e) => e,
                    None => return Value::Null,
                },
            };
            // Python-style: negative positions count from the end.
            let norm = |p: i64| if p < 0 { (len + p).max(0) } else { p.min(len) };
            let (a, b) = (norm(start), norm(end));
            if a >= b {
                return Value::Str(Cow::Borrowed(""));
            }
            let (ba, bb) = (byte_at_utf16(s, a as usize), byte_at_utf16(s, b as usize));
            Value::Str(Cow::Owned(s[ba..bb].to_string()))
        }
        Function::Number => {
            let Some(s) = args[0].as_str() else {
                return match &args[0] {
                    Value::Int(_) | Value::Float(_) => args[0].clone(),
                    _ => Value::Null,
                };
            };
            let base = match args.get(1) {
                None | Some(Value::Null) => 10,
                Some(v) => match v.as_int() {
                    Some(b) if (2..=36).contains(&b) => b as u32,
                    _ => return Value::Null,
                },
            };
            let t = s.trim();
            if base == 10 {
                if let Ok(i) = t.parse::<i64>() {
                    return Value::Int(i);
                }
                return t.parse::<f64>().map_or(Value::Null, Value::Float);
            }
            let (neg, digits) = match t.strip_prefix('-') {
                Some(d) => (true, d),
                None => (false, t),
            };
            let digits = if base == 16 {
                digits
                    .strip_prefix("0x")
                    .or_else(|| digits.strip_prefix("0X"))
                    .unwrap_or(digits)
            } else {
                digits
            };
            match i64::from_str_radix(digits, base) {
                Ok(i) => Value::Int(if neg { -i } else { i }),
                Err(_) => Value::Null,
            }
        }
        Function::CidrMatch => {
            let Some(ip) = args[0].as_str().and_then(parse_ip) else {
                return Value::Null;
            };
            let blocks: Option<Vec<&str>> = args[1..].iter().map(Value::as_str).collect();
            match blocks.and_then(|b| CidrSet::parse(b).ok()) {
                Some(set) => Value::Bool(set.contains(ip)),
                None => Value::Null,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value<'static> {
        Value::Str(Cow::Owned(x.to_string()))
    }

    #[test]
    fn string_functions() {
        let between = |a: &str, l: &str, r: &str, g: bool, ci: bool| {
            call(
                Function::Between,
                ci,
                vec![s(a), s(l), s(r), Value::Bool(g)],
            )
        };
        assert_eq!(
            between(
                "C:\\Windows\\System32\\cmd.exe",
                "System32\\",
                ".exe",
                false,
                false
            ),
            s("cmd")
        );
        assert_eq!(
            between(
                "C:\\Windows\\System32\\cmd.exe",
                "system32\\",
                ".exe",
                false,
                false
            ),
            s("")
        );
        assert_eq!(
            between(
                "C:\\Windows\\System32\\cmd.exe",
                "system32\\",
                ".exe",
                false,
                true
            ),
            s("cmd")
        );
        assert_eq!(between("a.b.c.exe", "a", ".", true, false), s(".b.c"));
        assert_eq!(
            call(
                Function::Substring,
                false,
                vec![s("start.exe"), Value::Int(-4)]
            ),
            s(".exe")
        );
        assert_eq!(
            call(
                Function::Substring,
                false,
                vec![s("start.exe"), Value::Int(1), Value::Int(3)]
            ),
            s("ta")
        );
        assert_eq!(
            call(
                Function::IndexOf,
                false,
                vec![s("abcabc"), s("c"), Value::Int(3)]
            ),
            Value::Int(5)
        );
        assert_eq!(
            call(Function::IndexOf, false, vec![s("abc"), s("z")]),
            Value::Null
        );
        assert_eq!(call(Function::Length, false, vec![s("é😀")]), Value::Int(3));
        assert_eq!(
            call(Function::Number, false, vec![s("0x1F"), Value::Int(16)]),
            Value::Int(31)
        );
        assert_eq!(
            call(Function::Number, false, vec![s("1.5")]),
            Value::Float(1.5)
        );
        assert_eq!(
            call(
                Function::Concat,
                false,
                vec![s("a"), Value::Int(1), Value::Bool(true)]
            ),
            s("a1true")
        );
        assert_eq!(
            call(Function::Concat, false, vec![s("a"), Value::Null]),
            Value::Null
        );
        assert_eq!(
            call(Function::StartsWith, true, vec![s("TELNET"), s("tel")]),
            Value::Bool(true)
        );
        assert_eq!(
            call(Function::EndsWith, false, vec![s("TELNET"), s("net")]),
            Value::Bool(false)
        );
        assert_eq!(
            call(Function::Divide, false, vec![Value::Int(7), Value::Int(2)]),
            Value::Int(3)
        );
        assert_eq!(
            call(Function::Divide, false, vec![Value::Int(7), Value::Int(0)]),
            Value::Null
        );
    }
}
