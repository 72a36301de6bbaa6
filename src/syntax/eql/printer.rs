//! [`Query`] → canonical EQL text.
//!
//! The output parses back to the same AST (spans aside): parentheses appear
//! exactly where precedence needs them, strings are re-escaped, field name
//! segments that are not plain identifiers are backticked. Sequences and
//! samples put each step on its own line.

use super::ast::*;
use super::functions;
use std::fmt::Write;

/// Renders a query as canonical EQL.
pub fn print(query: &Query) -> String {
    let mut out = String::new();
    match &query.body {
        QueryBody::Event { filter } => filter_text(&mut out, filter),
        QueryBody::Sequence(seq) => {
            out.push_str("sequence");
            keys(&mut out, &seq.by);
            if let Some(m) = &seq.maxspan {
                let _ = write!(out, " with maxspan={}{}", m.value, m.unit.as_str());
            }
            for step in &seq.steps {
                out.push_str("\n  ");
                seq_step(&mut out, step);
            }
            if let Some(until) = &seq.until {
                out.push_str("\nuntil ");
                seq_step(&mut out, until);
            }
        }
        QueryBody::Sample(sample) => {
            out.push_str("sample");
            keys(&mut out, &sample.by);
            for step in &sample.steps {
                out.push_str("\n  [");
                filter_text(&mut out, &step.filter);
                out.push(']');
                keys(&mut out, &step.by);
            }
        }
    }
    // Pipes go on their own line after a multi-line sequence or sample.
    let sep = if out.contains('\n') { "\n" } else { " " };
    for pipe in &query.pipes {
        let (name, count) = match pipe {
            Pipe::Head { count, .. } => ("head", count),
            Pipe::Tail { count, .. } => ("tail", count),
        };
        let _ = write!(out, "{sep}| {name} {count}");
    }
    out
}

/// Renders one expression as canonical EQL.
pub fn print_expr(expr: &Expr) -> String {
    let mut out = String::new();
    expr_at(&mut out, expr, Prec::Or);
    out
}

fn seq_step(out: &mut String, step: &SequenceStep) {
    out.push_str(if step.missing { "![" } else { "[" });
    filter_text(out, &step.filter);
    out.push(']');
    keys(out, &step.by);
    if let Some(runs) = step.runs {
        let _ = write!(out, " with runs={runs}");
    }
}

fn keys(out: &mut String, by: &[Expr]) {
    if by.is_empty() {
        return;
    }
    out.push_str(" by ");
    list(out, by);
}

fn list(out: &mut String, items: &[Expr]) {
    for (i, e) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        expr_at(out, e, Prec::Or);
    }
}

fn filter_text(out: &mut String, filter: &EventFilter) {
    match &filter.category {
        None => out.push_str("any"),
        // Categories that are not plain names are written as strings, the
        // form Elasticsearch documents for them.
        Some(c) if is_plain_identifier(c) => out.push_str(c),
        Some(c) => string(out, c),
    }
    out.push_str(" where ");
    expr_at(out, &filter.condition, Prec::Or);
}

/// Binding strength, weakest first. An expression printed where a stronger
/// context is required gets parentheses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Prec {
    Or,
    And,
    Not,
    Compare,
    Add,
    Mul,
    Unary,
    Primary,
}

fn prec(e: &Expr) -> Prec {
    match e {
        Expr::Logical {
            op: LogicalOp::Or, ..
        } => Prec::Or,
        Expr::Logical {
            op: LogicalOp::And, ..
        } => Prec::And,
        Expr::Not { .. } => Prec::Not,
        Expr::Compare { .. } => Prec::Compare,
        Expr::Arithmetic {
            op: ArithOp::Add | ArithOp::Sub,
            ..
        } => Prec::Add,
        Expr::Arithmetic { .. } => Prec::Mul,
        Expr::Negate { .. } | Expr::In { .. } | Expr::Match { .. } => Prec::Unary,
        Expr::Literal(Literal {
            value: Value::Integer(n),
            ..
        }) if *n < 0 => Prec::Unary,
        Expr::Literal(Literal {
            value: Value::Float(f),
            ..
        }) if f.is_sign_negative() => Prec::Unary,
        Expr::Call { .. } | Expr::Field(_) | Expr::Literal(_) => Prec::Primary,
    }
}

/// Prints `e` where the context needs at least `min` binding strength.
fn expr_at(out: &mut String, e: &Expr, min: Prec) {
    if prec(e) < min {
        out.push('(');
        expr(out, e);
        out.push(')');
    } else {
        expr(out, e);
    }
}

fn expr(out: &mut String, e: &Expr) {
    match e {
        Expr::Logical { op, operands, .. } => {
            let (word, child) = match op {
                LogicalOp::Or => (" or ", Prec::And),
                LogicalOp::And => (" and ", Prec::Not),
            };
            for (i, operand) in operands.iter().enumerate() {
                if i > 0 {
                    out.push_str(word);
                }
                expr_at(out, operand, child);
            }
        }
        Expr::Not { operand, .. } => {
            out.push_str("not ");
            expr_at(out, operand, Prec::Not);
        }
        Expr::Compare {
            op, left, right, ..
        } => {
            expr_at(out, left, Prec::Add);
            let _ = write!(out, " {} ", op.as_str());
            expr_at(out, right, Prec::Add);
        }
        Expr::Arithmetic {
            op, left, right, ..
        } => {
            let level = prec(e);
            expr_at(out, left, level);
            let _ = write!(out, " {} ", op.as_str());
            // Left-associative: a right operand of the same level needs parentheses.
            let right_min = if level == Prec::Add {
                Prec::Mul
            } else {
                Prec::Unary
            };
            expr_at(out, right, right_min);
        }
        Expr::Negate { operand, .. } => {
            out.push('-');
            if matches!(**operand, Expr::Negate { .. }) || prec(operand) == Prec::Unary {
                out.push(' ');
            }
            expr_at(out, operand, Prec::Unary);
        }
        Expr::In {
            value,
            list: items,
            negated,
            case_insensitive,
            ..
        } => {
            expr_at(out, value, Prec::Primary);
            if *negated {
                out.push_str(" not");
            }
            out.push_str(if *case_insensitive { " in~ (" } else { " in (" });
            list(out, items);
            out.push(')');
        }
        Expr::Match {
            op,
            case_insensitive,
            value,
            patterns,
            ..
        } => {
            expr_at(out, value, Prec::Primary);
            out.push_str(match (op, case_insensitive) {
                (MatchOp::Colon, _) => " : ",
                (MatchOp::Like, false) => " like ",
                (MatchOp::Like, true) => " like~ ",
                (MatchOp::Regex, false) => " regex ",
                (MatchOp::Regex, true) => " regex~ ",
            });
            if let [single] = patterns.as_slice() {
                literal(out, &single.value);
            } else {
                out.push('(');
                for (i, p) in patterns.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    literal(out, &p.value);
                }
                out.push(')');
            }
        }
        Expr::Call {
            function,
            case_insensitive,
            args,
            ..
        } => {
            out.push_str(functions::signature(*function).name);
            if *case_insensitive {
                out.push('~');
            }
            out.push('(');
            list(out, args);
            out.push(')');
        }
        Expr::Field(f) => {
            if f.optional {
                out.push('?');
            }
            for (i, segment) in f.name.split('.').enumerate() {
                if i > 0 {
                    out.push('.');
                }
                identifier(out, segment);
            }
        }
        Expr::Literal(l) => literal(out, &l.value),
    }
}

const KEYWORDS: &[&str] = &[
    "and", "any", "by", "false", "in", "join", "like", "maxspan", "not", "null", "of", "or",
    "regex", "sample", "sequence", "true", "until", "where", "with",
];

fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '@')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !KEYWORDS.contains(&name)
}

/// Writes a name bare when the grammar reads it back as the same identifier,
/// in backticks otherwise.
fn identifier(out: &mut String, name: &str) {
    if is_plain_identifier(name) {
        out.push_str(name);
    } else {
        out.push('`');
        out.push_str(&name.replace('`', "``"));
        out.push('`');
    }
}

fn literal(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Integer(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Float(f) => {
            // `{:?}` is the shortest text that reads back as the same f64 and
            // always carries a `.` or an exponent, so it stays a float.
            let _ = write!(out, "{f:?}");
        }
        Value::String(s) => string(out, s),
    }
}

fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:04X}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
