//! Lowering of KQL into the predicate IR, as Kibana turns KQL into
//! Elasticsearch queries: every KQL condition is an index query, so `not`
//! is `must_not` and matches events that lack the field.
//!
//! * `field:value` (quoted or not) is an exact, case-sensitive term on a
//!   keyword; a number written as text also matches numeric values, a CIDR
//!   block matches IP addresses inside it.
//! * An unquoted value with `*` is a wildcard pattern; `field:*` tests that
//!   the field exists.
//! * `field:(a or b and not c)` combines the value tests on one field.
//! * Ranges compare numbers numerically and strings as bytes; date math
//!   (`now-30d/d`) compares as a date, relative to the given `now`.
//!
//! * `path:{ query }` holds when one object of the array at `path`
//!   satisfies the query on its own (field names inside are relative).
//!
//! * Free text (a value with no field) tests every field of the event, a
//!   field-name wildcard (`host.*:web01`) every field whose name matches;
//!   these read the whole event, so they cost more than named fields.

use super::cidr::CidrSet;
use super::date::{self, DateFormat};
use super::ir::{self, Fields, Filter, Lit, Test};
use super::wildcard::{Piece, Wildcard};
use crate::diag::Diagnostic;
use crate::syntax::eql::CompareOp;
use crate::syntax::kql::{Expr, Field, Part, Query, RangeOp, Value, ValueExpr};
use crate::syntax::Span;

type Result<T> = std::result::Result<T, Diagnostic>;

/// Lowers a KQL query; the empty query matches everything. `now` (in
/// nanoseconds since the epoch) anchors date math such as `now-30d/d`.
pub fn query(q: &Query, fields: &mut Fields, now: i64) -> Result<Filter> {
    match &q.expr {
        None => Ok(Filter::Const(true)),
        Some(e) => expr(e, fields, now, ""),
    }
}

/// Every field a filter reads.
fn fields_of(f: &Filter, out: &mut Vec<crate::compile::ir::FieldId>) {
    match f {
        Filter::And(c) | Filter::Or(c) => c.iter().for_each(|x| fields_of(x, out)),
        Filter::Not(c) | Filter::Shared(_, c) => fields_of(c, out),
        Filter::Exists(id) | Filter::ExplicitNull(id) | Filter::Test { field: id, .. } => {
            out.push(*id)
        }
        Filter::Nested { fields, .. } => out.extend(fields),
        Filter::Const(_) | Filter::Script(_) | Filter::AnyField { .. } => {}
    }
}

fn unsupported(what: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "kql::unsupported",
        format!("{what} is not evaluated by ruleq yet"),
        span,
    )
    .with_help(
        "`ruleq parse` and `ruleq check` accept it; name the fields explicitly to evaluate it now",
    )
}

/// Lowers `e`; `prefix` (`path.`) makes field names inside a nested query
/// full paths.
fn expr(e: &Expr, fields: &mut Fields, now: i64, prefix: &str) -> Result<Filter> {
    Ok(match e {
        Expr::Or { operands, .. } => Filter::Or(
            operands
                .iter()
                .map(|o| expr(o, fields, now, prefix))
                .collect::<Result<_>>()?,
        ),
        Expr::And { operands, .. } => Filter::And(
            operands
                .iter()
                .map(|o| expr(o, fields, now, prefix))
                .collect::<Result<_>>()?,
        ),
        Expr::Not { operand, .. } => Filter::Not(Box::new(expr(operand, fields, now, prefix)?)),
        Expr::Match { field, value, .. } => {
            let target = target(field, prefix, fields);
            value_expr(value, &target)?
        }
        Expr::Range {
            field, op, value, ..
        } => {
            let target = target(field, prefix, fields);
            let op = match op {
                RangeOp::Lt => CompareOp::Lt,
                RangeOp::Lte => CompareOp::Le,
                RangeOp::Gt => CompareOp::Gt,
                RangeOp::Gte => CompareOp::Ge,
            };
            let lit = match value {
                Value::Quoted { value, .. } | Value::Unquoted { value, .. } => {
                    Lit::Str(value.clone())
                }
                Value::Bool { value, .. } => Lit::Bool(*value),
                Value::Null { span } | Value::Wildcard { span, .. } => {
                    return Err(Diagnostic::error(
                        "kql::range",
                        "a range needs a number, a date or a string",
                        *span,
                    ))
                }
            };
            let test = match &lit {
                // Date math is relative to `now` and compares as a date.
                Lit::Str(text) if text.trim_start().starts_with("now") || text.contains("||") => {
                    let bound = date::parse_date_math(text, now).ok_or_else(|| {
                        Diagnostic::error(
                            "kql::date-math",
                            format!("[{text}] is not valid date math"),
                            value.span(),
                        )
                        .with_help("write e.g. now-30d, now-1h/h or 2024-01-01||+1M/d (units y M w d h m s)")
                    })?;
                    Test::Date {
                        op,
                        bound,
                        format: DateFormat::parse("strict_date_optional_time||epoch_millis")
                            .expect("built-in formats parse"),
                    }
                }
                _ => Test::Range(op, lit),
            };
            target.leaf(Some(test))
        }
        Expr::Nested { path, query, .. } => {
            let path = format!("{prefix}{}", field_name(path)?);
            let inner = expr(query, fields, now, &format!("{path}."))?;
            let mut read = Vec::new();
            fields_of(&inner, &mut read);
            read.sort_by_key(|f| f.index());
            read.dedup();
            Filter::Nested {
                scope: fields.node(&path),
                fields: read,
                inner: Box::new(inner),
            }
        }
        Expr::FreeText { value, .. } => {
            value_expr(&ValueExpr::Value(value.clone()), &Target::Any(None))?
        }
    })
}

fn field_name(f: &Field) -> Result<&str> {
    match f {
        Field::Name { name, .. } => Ok(name),
        Field::Pattern { span, .. } => Err(unsupported("a field name with wildcards", *span)),
    }
}

/// What a KQL condition tests: one field, or every field whose name
/// matches a pattern (all fields, for free text).
enum Target {
    /// A field, and whether the mapping makes it a `text` field.
    Field(crate::compile::ir::FieldId, bool),
    Any(Option<Wildcard>),
}

impl Target {
    /// The filter for one value test (`None`: the field exists).
    fn leaf(&self, test: Option<Test>) -> Filter {
        match (self, test) {
            (Target::Field(id, _), Some(test)) => Filter::Test { field: *id, test },
            (Target::Field(id, _), None) => Filter::Exists(*id),
            (Target::Any(pattern), test) => Filter::AnyField {
                pattern: pattern.clone(),
                test,
            },
        }
    }
}

fn target(field: &Field, prefix: &str, fields: &mut Fields) -> Target {
    match field {
        Field::Name { name, .. } => {
            let full = format!("{prefix}{name}");
            let text = fields.field_mapping(&full).is_some_and(|m| m.ty.is_text());
            Target::Field(fields.intern(&full), text)
        }
        Field::Pattern { parts, .. } => {
            let mut pieces = vec![Piece::Literal(prefix.to_string())];
            pieces.extend(parts.iter().map(|p| match p {
                Part::Text { value } => Piece::Literal(value.clone()),
                Part::Wildcard => Piece::Any,
            }));
            Target::Any(Some(Wildcard::from_pieces(&pieces, false)))
        }
    }
}

fn value_expr(v: &ValueExpr, target: &Target) -> Result<Filter> {
    Ok(match v {
        ValueExpr::Or { operands, .. } => Filter::Or(
            operands
                .iter()
                .map(|o| value_expr(o, target))
                .collect::<Result<_>>()?,
        ),
        ValueExpr::And { operands, .. } => Filter::And(
            operands
                .iter()
                .map(|o| value_expr(o, target))
                .collect::<Result<_>>()?,
        ),
        ValueExpr::Not { operand, .. } => Filter::Not(Box::new(value_expr(operand, target)?)),
        ValueExpr::Value(value) => match value {
            Value::Wildcard { parts, .. } if parts.iter().all(|p| *p == Part::Wildcard) => {
                target.leaf(None)
            }
            Value::Wildcard { parts, .. } => {
                let pieces: Vec<Piece> = parts
                    .iter()
                    .map(|p| match p {
                        Part::Text { value } => Piece::Literal(value.clone()),
                        Part::Wildcard => Piece::Any,
                    })
                    .collect();
                target.leaf(Some(Test::Wildcard(Wildcard::from_pieces(&pieces, false))))
            }
            Value::Quoted { value, .. } => term(target, value, true),
            Value::Unquoted { value, .. } => term(target, value, false),
            Value::Bool { value, .. } => target.leaf(Some(Test::Eq(Lit::Bool(*value)))),
            Value::Null { .. } => target.leaf(Some(Test::Eq(Lit::Str("null".into())))),
        },
    })
}

/// A term: the exact text, and, when the text is a CIDR block, IP addresses
/// inside it (as a term query on an `ip` field does); analysed terms on a
/// `text` field.
fn term(target: &Target, text: &str, quoted: bool) -> Filter {
    // On a text field, Kibana's match (or match_phrase, quoted) query
    // compares analysed terms.
    if let Target::Field(_, true) = target {
        return target.leaf(Some(Test::Text {
            terms: ir::analyze(text),
            phrase: quoted,
        }));
    }
    let eq = target.leaf(Some(Test::Eq(Lit::Str(text.to_string()))));
    if text.contains('/') {
        if let Ok(set) = CidrSet::parse([text]) {
            return Filter::Or(vec![eq, target.leaf(Some(Test::Cidr(set)))]);
        }
    }
    eq
}
