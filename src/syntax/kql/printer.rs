//! [`Query`] → canonical KQL text: lowercase keywords, single spaces,
//! `field:value` without spaces, `field >= value` with them, parentheses only
//! where the tree needs them, and the fewest escapes that make the text parse
//! back to the same tree.

use super::ast::*;

/// Prints a query as canonical KQL text; parsing the result gives the same
/// AST up to spans. An empty query prints as the empty string.
pub fn print(query: &Query) -> String {
    let mut out = String::new();
    if let Some(expr) = &query.expr {
        expr_text(expr, false, &mut out);
    }
    out
}

// Every printing function takes `spaced`: whether a raw space follows what it
// prints (a ` or `/` and ` separator or a range operator). An unquoted value
// ending in `not`, or in ` or`/` and`, must then escape that word, or Kibana
// would read a keyword there.

fn expr_text(expr: &Expr, spaced: bool, out: &mut String) {
    match expr {
        Expr::Or { operands, .. } => join(operands, " or ", spaced, out, |e, spaced, out| {
            wrapped(e, matches!(e, Expr::Or { .. }), spaced, out)
        }),
        Expr::And { operands, .. } => join(operands, " and ", spaced, out, |e, spaced, out| {
            wrapped(
                e,
                matches!(e, Expr::Or { .. } | Expr::And { .. }),
                spaced,
                out,
            )
        }),
        Expr::Not { operand, .. } => {
            out.push_str("not ");
            let group = matches!(
                **operand,
                Expr::Or { .. } | Expr::And { .. } | Expr::Not { .. }
            );
            wrapped(operand, group, spaced, out);
        }
        Expr::Match { field, value, .. } => {
            field_text(field, false, out);
            out.push(':');
            value_list_text(value, true, spaced, out);
        }
        Expr::Range {
            field, op, value, ..
        } => {
            field_text(field, true, out);
            out.push(' ');
            out.push_str(op.as_str());
            out.push(' ');
            value_text(value, spaced, out);
        }
        Expr::Nested { path, query, .. } => {
            field_text(path, false, out);
            out.push_str(":{");
            expr_text(query, false, out);
            out.push('}');
        }
        Expr::FreeText { value, .. } => value_text(value, spaced, out),
    }
}

/// Items separated by `sep`; all but the last are followed by a space.
fn join<T>(
    items: &[T],
    sep: &str,
    spaced: bool,
    out: &mut String,
    mut each: impl FnMut(&T, bool, &mut String),
) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        each(item, spaced || i + 1 < items.len(), out);
    }
}

fn wrapped(expr: &Expr, group: bool, spaced: bool, out: &mut String) {
    if group {
        out.push('(');
        expr_text(expr, false, out);
        out.push(')');
    } else {
        expr_text(expr, spaced, out);
    }
}

/// A value list; `top` is the position right after `field:`, where a bare
/// `or`/`and`/`not` would end the list, so anything but a value is grouped.
fn value_list_text(list: &ValueExpr, top: bool, spaced: bool, out: &mut String) {
    let group = |inner: &ValueExpr, out: &mut String| {
        out.push('(');
        value_list_text(inner, false, false, out);
        out.push(')');
    };
    match list {
        ValueExpr::Value(v) => value_text(v, spaced, out),
        _ if top => group(list, out),
        ValueExpr::Or { operands, .. } => join(operands, " or ", spaced, out, |v, spaced, out| {
            if matches!(v, ValueExpr::Or { .. }) {
                group(v, out)
            } else {
                value_list_text(v, false, spaced, out)
            }
        }),
        ValueExpr::And { operands, .. } => {
            join(operands, " and ", spaced, out, |v, spaced, out| {
                if matches!(v, ValueExpr::Or { .. } | ValueExpr::And { .. }) {
                    group(v, out)
                } else {
                    value_list_text(v, false, spaced, out)
                }
            })
        }
        ValueExpr::Not { operand, .. } => {
            out.push_str("not ");
            match **operand {
                ValueExpr::Value(_) => value_list_text(operand, false, spaced, out),
                _ => group(operand, out),
            }
        }
    }
}

fn field_text(field: &Field, spaced: bool, out: &mut String) {
    match field {
        Field::Name {
            name, quoted: true, ..
        } => quoted_text(name, out),
        Field::Name { name, .. } => unquoted_text(
            &[Part::Text {
                value: name.clone(),
            }],
            spaced,
            out,
        ),
        Field::Pattern { parts, .. } => unquoted_text(parts, spaced, out),
    }
}

/// A value. An unquoted text that reads as `true`, `false` or `null` cannot
/// occur (Kibana types it), so it needs no special spelling.
fn value_text(value: &Value, spaced: bool, out: &mut String) {
    match value {
        Value::Quoted { value, .. } => quoted_text(value, out),
        Value::Unquoted { value, .. } => unquoted_text(
            &[Part::Text {
                value: value.clone(),
            }],
            spaced,
            out,
        ),
        Value::Wildcard { parts, .. } => unquoted_text(parts, spaced, out),
        Value::Bool { value, .. } => out.push_str(if *value { "true" } else { "false" }),
        Value::Null { .. } => out.push_str("null"),
    }
}

fn quoted_text(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => unicode_escape(c, out),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A control character as Kibana reads it back, in quoted and unquoted
/// text alike: `\u` and four hex digits (control characters all lie in
/// the Basic Multilingual Plane). Raw, it could not be passed as an
/// argument nor pasted into a rule file.
fn unicode_escape(c: char, out: &mut String) {
    use std::fmt::Write;
    let _ = write!(out, "\\u{:04x}", c as u32);
}

/// An unquoted literal. Special characters are escaped; TAB, CR and LF are
/// written as escapes (so they never sit next to a keyword as raw spaces),
/// other control characters as `\uXXXX`;
/// and every `or`/`and` between raw spaces and every `not` before one is
/// escaped, since Kibana would read it as a keyword; the end of the literal
/// counts as a space when `spaced`.
/// `not` gets `\u006e` (or `\N`) because `\n` is a newline before it is an
/// escaped keyword.
fn unquoted_text(parts: &[Part], spaced: bool, out: &mut String) {
    if let [Part::Text { value }] = parts {
        if value.is_empty() {
            // Only escaped whitespace trims down to nothing.
            out.push_str("\\t");
            return;
        }
    }
    for (n, part) in parts.iter().enumerate() {
        let text = match part {
            Part::Wildcard => {
                out.push('*');
                continue;
            }
            Part::Text { value } => value,
        };
        // Adjacent text is merged, so text is followed by a `*` or the end.
        let last = n + 1 == parts.len();
        let chars: Vec<char> = text.chars().collect();
        let space_at = |at: usize| match chars.get(at) {
            Some(c) => *c == ' ' || *c == '\u{a0}',
            None => last && spaced,
        };
        let word_at = |k: &str, at: usize| {
            k.chars().enumerate().all(|(j, kc)| {
                chars
                    .get(at + j)
                    .is_some_and(|c| c.eq_ignore_ascii_case(&kc))
            })
        };
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if word_at("not", i) && space_at(i + 3) {
                out.push_str(if c == 'n' { "\\u006e" } else { "\\N" });
                out.extend(&chars[i + 1..i + 3]);
                i += 3;
                continue;
            }
            if i < chars.len() && space_at(i) {
                if let Some(k) = ["or", "and"]
                    .into_iter()
                    .find(|k| word_at(k, i + 1) && space_at(i + 1 + k.len()))
                {
                    out.push(c);
                    out.push('\\');
                    out.extend(&chars[i + 1..i + 1 + k.len()]);
                    i += 1 + k.len();
                    continue;
                }
            }
            match c {
                '\\' | '(' | ')' | ':' | '<' | '>' | '"' | '*' | '{' | '}' => {
                    out.push('\\');
                    out.push(c);
                }
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                '\n' => out.push_str("\\n"),
                c if c.is_control() => unicode_escape(c, out),
                c => out.push(c),
            }
            i += 1;
        }
    }
}
