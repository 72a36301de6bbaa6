//! Lowering of EQL conditions into the predicate IR.
//!
//! The split between [`Filter`] and [`Script`] follows Elasticsearch's query
//! translator: a field compared with literals (`==`, `!=`, ranges, `in`, `:`,
//! `like`, `regex`, their `~` forms), `cidrMatch(field, literals...)`,
//! case-sensitive `stringContains(field, literal)` and `and`/`or`/`not` over
//! these become index queries; anything else (functions of fields,
//! arithmetic, field-to-field comparisons) becomes a script. A `not` over a
//! script stays inside the script, so it keeps three-valued logic.
//! `f(...) == true` is reduced to `f(...)` first, as Elasticsearch's
//! optimizer does, so `cidrMatch(ip, ...) == true` is an index query too.

use super::cidr::CidrSet;
use super::ir::{Fields, Filter, Lit, Script, ScriptLit, Test};
use super::lucene_regex::LuceneRegex;
use super::wildcard::{Piece, Wildcard};
use crate::diag::Diagnostic;
use crate::syntax::eql::{CompareOp, Expr, Function, Literal, LogicalOp, MatchOp, Value};
use crate::syntax::Span;

type Result<T> = std::result::Result<T, Diagnostic>;

/// Lowers a `where` condition into an index-query filter.
pub fn condition(expr: &Expr, fields: &mut Fields) -> Result<Filter> {
    match expr {
        Expr::Logical { op, operands, .. } => {
            let children = operands
                .iter()
                .map(|e| condition(e, fields))
                .collect::<Result<Vec<_>>>()?;
            Ok(match op {
                LogicalOp::And => Filter::And(children),
                LogicalOp::Or => Filter::Or(children),
            })
        }
        Expr::Not { operand, .. } => Ok(match condition(operand, fields)? {
            Filter::Script(s) => Filter::Script(Script::Not(Box::new(s))),
            Filter::Const(b) => Filter::Const(!b),
            other => Filter::Not(Box::new(other)),
        }),
        Expr::Literal(Literal {
            value: Value::Boolean(b),
            ..
        }) => Ok(Filter::Const(*b)),
        Expr::Literal(Literal {
            value: Value::Null, ..
        }) => Ok(Filter::Const(false)),
        Expr::Compare {
            op, left, right, ..
        } => compare(*op, left, right, fields),
        Expr::In {
            value,
            list,
            negated,
            case_insensitive,
            ..
        } => {
            if let (Expr::Field(f), Some(lits)) = (&**value, literals(list)) {
                let id = fields.intern(&f.name);
                let mut alts = Vec::new();
                for lit in lits {
                    alts.push(match lit {
                        None => Filter::Not(Box::new(Filter::Exists(id))),
                        Some(Lit::Str(s)) if *case_insensitive => Filter::Test {
                            field: id,
                            test: Test::EqFold(s.to_ascii_lowercase()),
                        },
                        Some(l) => Filter::Test {
                            field: id,
                            test: Test::Eq(l),
                        },
                    });
                }
                let any = Filter::Or(alts);
                return Ok(if *negated {
                    Filter::Not(Box::new(any))
                } else {
                    any
                });
            }
            Ok(Filter::Script(script(expr, fields)?))
        }
        Expr::Match {
            op,
            case_insensitive,
            value,
            patterns,
            ..
        } => {
            if let Expr::Field(f) = &**value {
                let id = fields.intern(&f.name);
                let tests = patterns
                    .iter()
                    .map(|p| match_test(*op, *case_insensitive, p))
                    .collect::<Result<Vec<_>>>()?;
                return Ok(Filter::Or(
                    tests
                        .into_iter()
                        .map(|test| Filter::Test { field: id, test })
                        .collect(),
                ));
            }
            Ok(Filter::Script(script(expr, fields)?))
        }
        Expr::Call {
            function: Function::CidrMatch,
            args,
            ..
        } => {
            if let (Expr::Field(f), Some(blocks)) = (&args[0], string_literals(&args[1..])) {
                let set = cidr_set(&blocks, &args[1..])?;
                return Ok(Filter::Test {
                    field: fields.intern(&f.name),
                    test: Test::Cidr(set),
                });
            }
            Ok(Filter::Script(script(expr, fields)?))
        }
        Expr::Call {
            function: Function::StringContains,
            case_insensitive: false,
            args,
            ..
        } => {
            if let (Expr::Field(f), Some(Lit::Str(s))) = (&args[0], literal(&args[1]).flatten()) {
                let pattern =
                    Wildcard::from_pieces(&[Piece::Any, Piece::Literal(s), Piece::Any], false);
                return Ok(Filter::Test {
                    field: fields.intern(&f.name),
                    test: Test::Wildcard(pattern),
                });
            }
            Ok(Filter::Script(script(expr, fields)?))
        }
        _ => Ok(Filter::Script(script(expr, fields)?)),
    }
}

fn compare(op: CompareOp, left: &Expr, right: &Expr, fields: &mut Fields) -> Result<Filter> {
    // `f(...) == true` is `f(...)`; `== false` and `!= true` negate it.
    if matches!(op, CompareOp::Eq | CompareOp::Ne) {
        for (side, other) in [(left, right), (right, left)] {
            if let Expr::Literal(Literal {
                value: Value::Boolean(b),
                ..
            }) = other
            {
                if is_boolean(side) {
                    let positive = (op == CompareOp::Eq) == *b;
                    let inner = condition(side, fields)?;
                    return Ok(if positive {
                        inner
                    } else {
                        match inner {
                            Filter::Script(s) => Filter::Script(Script::Not(Box::new(s))),
                            other => Filter::Not(Box::new(other)),
                        }
                    });
                }
            }
        }
    }
    // `expr == null` / `expr != null` test for null (two-valued), as
    // Elasticsearch's optimizer rewrites them; on a field this is an exists query.
    if matches!(op, CompareOp::Eq | CompareOp::Ne) {
        for (side, other) in [(left, right), (right, left)] {
            let is_null = matches!(
                other,
                Expr::Literal(Literal {
                    value: Value::Null,
                    ..
                })
            );
            if is_null && !matches!(side, Expr::Field(_) | Expr::Literal(_)) {
                let test = Script::IsNull(Box::new(script(side, fields)?));
                return Ok(Filter::Script(if op == CompareOp::Eq {
                    test
                } else {
                    Script::Not(Box::new(test))
                }));
            }
        }
    }
    let (field, lit, op) = match (left, right) {
        (Expr::Field(f), other) => match literal(other) {
            Some(l) => (f, l, op),
            None => return Ok(Filter::Script(script_compare(op, left, right, fields)?)),
        },
        (other, Expr::Field(f)) => match literal(other) {
            Some(l) => (f, l, flip(op)),
            None => return Ok(Filter::Script(script_compare(op, left, right, fields)?)),
        },
        _ => return Ok(Filter::Script(script_compare(op, left, right, fields)?)),
    };
    let id = fields.intern(&field.name);
    Ok(match (op, lit) {
        (CompareOp::Eq, None) => Filter::Not(Box::new(Filter::Exists(id))),
        (CompareOp::Ne, None) => Filter::Exists(id),
        // Any other comparison with null is null: never true.
        (_, None) => Filter::Const(false),
        (CompareOp::Eq, Some(l)) => Filter::Test {
            field: id,
            test: Test::Eq(l),
        },
        (CompareOp::Ne, Some(l)) => Filter::Not(Box::new(Filter::Test {
            field: id,
            test: Test::Eq(l),
        })),
        (op, Some(l)) => Filter::Test {
            field: id,
            test: Test::Range(op, l),
        },
    })
}

fn script_compare(op: CompareOp, left: &Expr, right: &Expr, fields: &mut Fields) -> Result<Script> {
    Ok(Script::Compare(
        op,
        Box::new(script(left, fields)?),
        Box::new(script(right, fields)?),
    ))
}

/// `a < b` read from the other side is `b > a`.
fn flip(op: CompareOp) -> CompareOp {
    match op {
        CompareOp::Lt => CompareOp::Gt,
        CompareOp::Le => CompareOp::Ge,
        CompareOp::Gt => CompareOp::Lt,
        CompareOp::Ge => CompareOp::Le,
        other => other,
    }
}

/// Whether an expression yields a boolean (so `x == true` can drop the `== true`).
fn is_boolean(e: &Expr) -> bool {
    match e {
        Expr::Logical { .. }
        | Expr::Not { .. }
        | Expr::Compare { .. }
        | Expr::In { .. }
        | Expr::Match { .. } => true,
        Expr::Call { function, .. } => matches!(
            function,
            Function::CidrMatch
                | Function::StartsWith
                | Function::EndsWith
                | Function::StringContains
        ),
        _ => false,
    }
}

/// `Some(None)` for a null literal, `Some(Some(lit))` for a value, `None`
/// when the expression is not a literal.
fn literal(e: &Expr) -> Option<Option<Lit>> {
    match e {
        Expr::Literal(Literal { value, .. }) => Some(match value {
            Value::Null => None,
            Value::Boolean(b) => Some(Lit::Bool(*b)),
            Value::Integer(i) => Some(Lit::Int(*i)),
            Value::Float(f) => Some(Lit::Float(*f)),
            Value::String(s) => Some(Lit::Str(s.clone())),
        }),
        _ => None,
    }
}

fn literals(list: &[Expr]) -> Option<Vec<Option<Lit>>> {
    list.iter().map(literal).collect()
}

fn string_literals(list: &[Expr]) -> Option<Vec<String>> {
    list.iter()
        .map(|e| match literal(e) {
            Some(Some(Lit::Str(s))) => Some(s),
            _ => None,
        })
        .collect()
}

fn cidr_set(blocks: &[String], exprs: &[Expr]) -> Result<CidrSet> {
    for (text, e) in blocks.iter().zip(exprs) {
        if let Err(bad) = CidrSet::parse([text.as_str()]) {
            return Err(
                Diagnostic::error("eql::cidr", bad.to_string(), e.span()).with_help(
                    "write a block as ADDRESS/PREFIX (10.0.0.0/8, fe80::/10) or a bare address",
                ),
            );
        }
    }
    Ok(CidrSet::parse(blocks.iter().map(String::as_str)).expect("each block parsed above"))
}

fn match_test(op: MatchOp, case_insensitive: bool, pattern: &Literal) -> Result<Test> {
    let text = match &pattern.value {
        Value::String(s) => s.clone(),
        Value::Integer(i) => return Ok(Test::Eq(Lit::Int(*i))),
        Value::Float(f) => return Ok(Test::Eq(Lit::Float(*f))),
        Value::Boolean(b) => return Ok(Test::Eq(Lit::Bool(*b))),
        Value::Null => return Ok(Test::Eq(Lit::Str("null".into()))),
    };
    match op {
        MatchOp::Colon | MatchOp::Like => {
            let w = Wildcard::eql(&text, case_insensitive);
            Ok(if w.is_exact() {
                if case_insensitive {
                    Test::EqFold(text.to_ascii_lowercase())
                } else {
                    Test::Eq(Lit::Str(text))
                }
            } else {
                Test::Wildcard(w)
            })
        }
        MatchOp::Regex => regex(&text, case_insensitive, pattern.span).map(Test::Regex),
    }
}

fn regex(text: &str, case_insensitive: bool, span: Span) -> Result<LuceneRegex> {
    LuceneRegex::new(text, case_insensitive).map_err(|e| {
        Diagnostic::error("eql::regex", e.message, span).with_help(
            "Elasticsearch uses Lucene regular expression syntax; \
                escape special characters with a backslash",
        )
    })
}

/// Lowers an expression that Elasticsearch evaluates as a script.
pub fn script(expr: &Expr, fields: &mut Fields) -> Result<Script> {
    let boxed = |e: &Expr, fields: &mut Fields| script(e, fields).map(Box::new);
    Ok(match expr {
        Expr::Logical { op, operands, .. } => {
            let parts = operands
                .iter()
                .map(|e| script(e, fields))
                .collect::<Result<Vec<_>>>()?;
            match op {
                LogicalOp::And => Script::And(parts),
                LogicalOp::Or => Script::Or(parts),
            }
        }
        Expr::Not { operand, .. } => Script::Not(boxed(operand, fields)?),
        Expr::Compare {
            op, left, right, ..
        } => Script::Compare(*op, boxed(left, fields)?, boxed(right, fields)?),
        Expr::In {
            value,
            list,
            negated,
            case_insensitive,
            ..
        } => {
            let inner = Script::In {
                value: boxed(value, fields)?,
                list: list
                    .iter()
                    .map(|e| script(e, fields))
                    .collect::<Result<Vec<_>>>()?,
                case_insensitive: *case_insensitive,
            };
            if *negated {
                Script::Not(Box::new(inner))
            } else {
                inner
            }
        }
        Expr::Match {
            op,
            case_insensitive,
            value,
            patterns,
            ..
        } => {
            let value = boxed(value, fields)?;
            let texts: Vec<(String, Span)> = patterns
                .iter()
                .map(|p| match &p.value {
                    Value::String(s) => (s.clone(), p.span),
                    other => (literal_text(other), p.span),
                })
                .collect();
            match op {
                MatchOp::Regex => Script::Regex(
                    value,
                    texts
                        .iter()
                        .map(|(t, s)| regex(t, *case_insensitive, *s))
                        .collect::<Result<Vec<_>>>()?,
                ),
                _ => Script::Wildcard(
                    value,
                    texts
                        .iter()
                        .map(|(t, _)| Wildcard::eql(t, *case_insensitive))
                        .collect(),
                ),
            }
        }
        Expr::Arithmetic {
            op, left, right, ..
        } => Script::Arith(*op, boxed(left, fields)?, boxed(right, fields)?),
        Expr::Negate { operand, .. } => Script::Neg(boxed(operand, fields)?),
        Expr::Call {
            function: Function::CidrMatch,
            args,
            ..
        } if string_literals(&args[1..]).is_some() => {
            let blocks = string_literals(&args[1..]).expect("checked by the guard");
            Script::Cidr(boxed(&args[0], fields)?, cidr_set(&blocks, &args[1..])?)
        }
        Expr::Call {
            function,
            case_insensitive,
            args,
            ..
        } => Script::Call {
            function: *function,
            case_insensitive: *case_insensitive,
            args: args
                .iter()
                .map(|e| script(e, fields))
                .collect::<Result<Vec<_>>>()?,
        },
        Expr::Field(f) => Script::Field(fields.intern(&f.name)),
        Expr::Literal(Literal { value, .. }) => Script::Lit(match value {
            Value::Null => ScriptLit::Null,
            Value::Boolean(b) => ScriptLit::Bool(*b),
            Value::Integer(i) => ScriptLit::Int(*i),
            Value::Float(f) => ScriptLit::Float(*f),
            Value::String(s) => ScriptLit::Str(s.clone()),
        }),
    })
}

fn literal_text(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Boolean(b) => b.to_string(),
        Value::Integer(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::String(s) => s.clone(),
    }
}

/// A compiled event query: the category test and the condition, as one filter.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPlan {
    /// The whole filter, category included.
    pub filter: Filter,
}

/// Compiles `CATEGORY where CONDITION`; the category is a term test on
/// `category_field` (`any` tests nothing).
pub fn event_filter(
    filter: &crate::syntax::eql::EventFilter,
    category_field: &str,
    fields: &mut Fields,
) -> Result<EventPlan> {
    let condition = condition(&filter.condition, fields)?;
    let filter = match &filter.category {
        None => condition,
        Some(cat) => Filter::And(vec![
            Filter::Test {
                field: fields.intern(category_field),
                test: Test::Eq(Lit::Str(cat.clone())),
            },
            condition,
        ]),
    };
    Ok(EventPlan { filter })
}
