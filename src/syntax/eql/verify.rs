//! What Elasticsearch checks after parsing: a query can be valid EQL text and
//! still be refused by its analyzer (argument types, constant arguments,
//! boolean conditions) or by its query planner (comparisons between two
//! fields). [`verify`] runs those checks on a built AST, without an index
//! mapping, and reports the first failure with Elasticsearch's reason.
//!
//! Types are known here only where they do not depend on a field: literals,
//! and the results of functions and operators over them. A check whose
//! outcome would depend on a field's mapped type is left alone.
//!
//! The checks run in Elasticsearch's order: join keys (its parser), then
//! types and constants (its analyzer, bottom-up), then field comparisons
//! (its planner).

use super::ast::*;
use super::functions;
use crate::diag::Diagnostic;
use crate::syntax::Span;

type Result = std::result::Result<(), Diagnostic>;

/// Checks a parsed query as Elasticsearch does before running it; `src` is
/// the text the query was parsed from (messages quote it).
pub(super) fn verify(query: &Query, src: &str) -> Result {
    let v = Verifier { src };
    let (filters, keys): (Vec<&EventFilter>, Vec<&Expr>) = match &query.body {
        QueryBody::Event { filter } => (vec![filter], vec![]),
        QueryBody::Sequence(s) => {
            let steps = || s.steps.iter().chain(&s.until);
            (
                steps().map(|st| &st.filter).collect(),
                s.by.iter().chain(steps().flat_map(|st| &st.by)).collect(),
            )
        }
        QueryBody::Sample(s) => (
            s.steps.iter().map(|st| &st.filter).collect(),
            s.by.iter()
                .chain(s.steps.iter().flat_map(|st| &st.by))
                .collect(),
        ),
    };
    for key in keys {
        v.join_key(key)?;
    }
    for filter in &filters {
        v.expr(&filter.condition)?;
        v.condition(filter)?;
    }
    for filter in &filters {
        v.field_comparisons(&filter.condition)?;
    }
    Ok(())
}

/// The types a value can have without reference to a mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Null,
    Boolean,
    Integer,
    Long,
    Double,
    Keyword,
}

impl Ty {
    /// Elasticsearch's name for the type, as its messages show it.
    fn name(self) -> &'static str {
        match self {
            Ty::Null => "null",
            Ty::Boolean => "boolean",
            Ty::Integer => "integer",
            Ty::Long => "long",
            Ty::Double => "double",
            Ty::Keyword => "keyword",
        }
    }

    fn is_numeric(self) -> bool {
        matches!(self, Ty::Integer | Ty::Long | Ty::Double)
    }

    /// Whether an `in` list may hold both types (Elasticsearch's
    /// `areCompatible`: equal, null, both strings or both numbers).
    fn compatible(self, other: Ty) -> bool {
        self == other
            || self == Ty::Null
            || other == Ty::Null
            || (self.is_numeric() && other.is_numeric())
    }
}

/// What an argument must be.
#[derive(Debug, Clone, Copy)]
enum Want {
    String,
    Boolean,
    Integer,
    Numeric,
    Ip,
}

impl Want {
    fn name(self) -> &'static str {
        match self {
            Want::String => "string",
            Want::Boolean => "boolean",
            Want::Integer => "integer",
            Want::Numeric => "numeric",
            Want::Ip => "ip",
        }
    }

    /// Null fits every parameter.
    fn accepts(self, t: Ty) -> bool {
        t == Ty::Null
            || match self {
                Want::String => t == Ty::Keyword,
                Want::Boolean => t == Ty::Boolean,
                Want::Integer => matches!(t, Ty::Integer | Ty::Long),
                Want::Numeric => t.is_numeric(),
                // No literal is an IP address: a string is a keyword.
                Want::Ip => false,
            }
    }
}

/// The type of an expression, when no field decides it.
fn type_of(e: &Expr) -> Option<Ty> {
    match e {
        Expr::Literal(l) => Some(match &l.value {
            Value::Null => Ty::Null,
            Value::Boolean(_) => Ty::Boolean,
            Value::Integer(n) if i32::try_from(*n).is_ok() => Ty::Integer,
            Value::Integer(_) => Ty::Long,
            Value::Float(_) => Ty::Double,
            Value::String(_) => Ty::Keyword,
        }),
        Expr::Field(_) => None,
        Expr::Logical { .. }
        | Expr::Not { .. }
        | Expr::Compare { .. }
        | Expr::In { .. }
        | Expr::Match { .. } => Some(Ty::Boolean),
        Expr::Arithmetic { left, right, .. } => common_type(left, right),
        Expr::Negate { operand, .. } => type_of(operand),
        Expr::Call { function, args, .. } => match function {
            Function::Between | Function::Concat | Function::String | Function::Substring => {
                Some(Ty::Keyword)
            }
            Function::Length | Function::IndexOf => Some(Ty::Integer),
            Function::Number => Some(Ty::Double),
            Function::CidrMatch
            | Function::EndsWith
            | Function::StartsWith
            | Function::StringContains => Some(Ty::Boolean),
            Function::Add
            | Function::Subtract
            | Function::Multiply
            | Function::Divide
            | Function::Modulo => common_type(&args[0], &args[1]),
        },
    }
}

/// The type of arithmetic on two operands: the wider number.
fn common_type(a: &Expr, b: &Expr) -> Option<Ty> {
    let (a, b) = (type_of(a)?, type_of(b)?);
    Some(match (a, b) {
        (Ty::Null, t) | (t, Ty::Null) => t,
        (Ty::Double, _) | (_, Ty::Double) => Ty::Double,
        (Ty::Long, _) | (_, Ty::Long) => Ty::Long,
        _ => a,
    })
}

/// Whether Elasticsearch may compute the expression without an event: it
/// names no field, or only optional ones (`?x`), which Elasticsearch
/// replaces with `null` when the index does not map them. Only a `false`
/// here leads to an error, so an optional field gets the benefit of the
/// doubt.
fn foldable(e: &Expr) -> bool {
    match e {
        Expr::Literal(_) => true,
        Expr::Field(f) => f.optional,
        Expr::Logical { operands, .. } => operands.iter().all(foldable),
        Expr::Not { operand, .. } | Expr::Negate { operand, .. } => foldable(operand),
        Expr::Compare { left, right, .. } | Expr::Arithmetic { left, right, .. } => {
            foldable(left) && foldable(right)
        }
        Expr::In { value, list, .. } => {
            // A list of nulls folds (to null) whatever the value.
            let all_null = || {
                list.iter().all(|e| {
                    matches!(
                        e,
                        Expr::Literal(Literal {
                            value: Value::Null,
                            ..
                        })
                    )
                })
            };
            list.iter().all(foldable) && (foldable(value) || all_null())
        }
        Expr::Match { value, .. } => foldable(value),
        Expr::Call { args, .. } => args.iter().all(foldable),
    }
}

/// `first `, `second `, ... for an argument's position (from 0), as
/// Elasticsearch names up to the fifth; later ones go unnamed.
fn ordinal(index: usize) -> &'static str {
    ["first ", "second ", "third ", "fourth ", "fifth "]
        .get(index)
        .copied()
        .unwrap_or("")
}

/// `1st`, `2nd`, `3rd`, `4th`, ... (the `in` list's numbering).
fn ordinal_suffixed(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

struct Verifier<'a> {
    src: &'a str,
}

impl Verifier<'_> {
    /// The text of a span, as Elasticsearch quotes expressions.
    fn text(&self, span: Span) -> &str {
        self.src.get(span.start..span.end).unwrap_or("")
    }

    // ------------------------------------------------------------ join keys

    fn join_key(&self, key: &Expr) -> Result {
        if matches!(key, Expr::Field(_)) {
            return Ok(());
        }
        Err(Diagnostic::error(
            "eql::join-key",
            format!(
                "Unsupported join key [{}]: join keys must be field names",
                self.text(key.span())
            ),
            key.span(),
        )
        .with_label("not a field")
        .with_help(
            "Elasticsearch joins on the values of fields as stored; \
             it does not compute keys. Write a field: `by process.entity_id`",
        ))
    }

    // ------------------------------------------------------- types, bottom-up

    /// Checks an expression's children, then the expression.
    fn expr(&self, e: &Expr) -> Result {
        match e {
            Expr::Literal(_) | Expr::Field(_) => Ok(()),
            Expr::Logical { op, operands, .. } => {
                for o in operands {
                    self.expr(o)?;
                }
                // `a and b and c` is `(a and b) and c` to Elasticsearch.
                for (i, o) in operands.iter().enumerate() {
                    let whole = operands[0].span().join(operands[i.max(1)].span());
                    let what = match op {
                        LogicalOp::And => "and",
                        LogicalOp::Or => "or",
                    };
                    self.want(o, Want::Boolean, ordinal(i.min(1)), whole, what)?;
                }
                Ok(())
            }
            Expr::Not { operand, span } => {
                self.expr(operand)?;
                self.want(operand, Want::Boolean, "", *span, "not")
            }
            Expr::Compare { left, right, .. } => {
                self.expr(left)?;
                self.expr(right)
            }
            Expr::Match { value, .. } => self.expr(value),
            Expr::In {
                value, list, span, ..
            } => {
                self.expr(value)?;
                for item in list {
                    self.expr(item)?;
                }
                self.in_list(value, list, *span)
            }
            Expr::Arithmetic {
                op,
                left,
                right,
                span,
            } => {
                self.expr(left)?;
                self.expr(right)?;
                let what = op.as_str();
                self.want(left, Want::Numeric, "first ", *span, what)?;
                self.want(right, Want::Numeric, "second ", *span, what)
            }
            Expr::Negate { operand, span } => {
                self.expr(operand)?;
                self.want(operand, Want::Numeric, "", *span, "-")
            }
            Expr::Call {
                function,
                args,
                span,
                ..
            } => {
                for a in args {
                    self.expr(a)?;
                }
                self.call(*function, args, *span)
            }
        }
    }

    /// The argument `arg` of `whole` (an operator or call; `what` names it
    /// for the hint) must be of type `want`, where its type is known.
    fn want(&self, arg: &Expr, want: Want, ordinal: &str, whole: Span, what: &str) -> Result {
        let Some(ty) = type_of(arg) else {
            return Ok(());
        };
        if want.accepts(ty) {
            return Ok(());
        }
        let help = match (want, ty) {
            (Want::String, _) => format!(
                "`{what}` takes a string here: quote the value, e.g. \"{}\"",
                self.text(arg.span()).trim_matches('"')
            ),
            (Want::Ip, _) => "the first argument of `cidrMatch` must be a field of type ip, \
                 such as `source.ip`; a string literal is not an IP address"
                .to_string(),
            (Want::Boolean, _) => format!(
                "`{what}` takes a condition (true or false) here, \
                 such as `process.name == \"cmd.exe\"` or `true`"
            ),
            (Want::Integer, _) => format!("`{what}` takes a whole number here, such as `2`"),
            (Want::Numeric, _) => format!("`{what}` takes a number here, such as `2` or `1.5`"),
        };
        Err(Diagnostic::error(
            "eql::argument-type",
            format!(
                "{ordinal}argument of [{}] must be [{}], found value [{}] type [{}]",
                self.text(whole),
                want.name(),
                self.text(arg.span()),
                ty.name()
            ),
            arg.span(),
        )
        .with_label(format!("{} here", want.name()))
        .with_help(help))
    }

    /// A function's argument types and constant arguments.
    fn call(&self, function: Function, args: &[Expr], whole: Span) -> Result {
        use Want::*;
        let sig = functions::signature(function);
        let usage = |d: Diagnostic| d.with_help(format!("usage: {}", sig.usage));
        let typed: &[Want] = match function {
            Function::Between => &[String, String, String, Boolean],
            Function::EndsWith | Function::StartsWith | Function::StringContains => {
                &[String, String]
            }
            Function::IndexOf => &[String, String, Integer],
            Function::Number => &[String, Integer],
            Function::Substring => &[String, Integer, Integer],
            Function::Add
            | Function::Subtract
            | Function::Multiply
            | Function::Divide
            | Function::Modulo => &[Numeric, Numeric],
            Function::Length => {
                // Elasticsearch names no position for length's one argument.
                return self
                    .want(&args[0], String, "", whole, sig.name)
                    .map_err(usage);
            }
            Function::CidrMatch => {
                self.want(&args[0], Ip, "first ", whole, sig.name)?;
                for (i, a) in args.iter().enumerate().skip(1) {
                    if !foldable(a) {
                        return Err(Diagnostic::error(
                            "eql::argument-constant",
                            format!(
                                "{}argument of [{}] must be a constant, received [{}]",
                                ordinal(i),
                                self.text(whole),
                                self.text(a.span())
                            ),
                            a.span(),
                        )
                        .with_label("not a constant")
                        .with_help(
                            "cidrMatch tests against fixed CIDR blocks: write a string \
                             such as \"10.0.0.0/8\", not a field",
                        ));
                    }
                    self.want(a, String, ordinal(i), whole, sig.name)?;
                }
                return Ok(());
            }
            Function::Concat | Function::String => &[],
        };
        for (i, (arg, want)) in args.iter().zip(typed).enumerate() {
            self.want(arg, *want, ordinal(i), whole, sig.name)?;
        }
        Ok(())
    }

    /// `x in (...)`: every candidate a constant, of a type the value's type
    /// can be compared with.
    fn in_list(&self, value: &Expr, list: &[Expr], whole: Span) -> Result {
        if let Some(item) = list.iter().find(|e| !foldable(e)) {
            return Err(field_comparison(
                self.text(item.span()),
                self.text(whole),
                item.span(),
            ));
        }
        let Some(vt) = type_of(value) else {
            return Ok(());
        };
        for (i, item) in list.iter().enumerate() {
            let Some(it) = type_of(item) else { continue };
            if !vt.compatible(it) {
                return Err(Diagnostic::error(
                    "eql::argument-type",
                    format!(
                        "{} argument of [{}] must be [{}], found value [{}] type [{}]",
                        ordinal_suffixed(i + 1),
                        self.text(whole),
                        vt.name(),
                        self.text(item.span()),
                        it.name()
                    ),
                    item.span(),
                )
                .with_label(format!("{} here", vt.name()))
                .with_help("every candidate of `in` must have the type of the value tested"));
            }
        }
        Ok(())
    }

    /// The condition of a filter must be boolean. Elasticsearch adds the
    /// category test (`event.category == "process" and ...`) first, so
    /// under a category a null condition passes and the message names the
    /// whole filter.
    fn condition(&self, filter: &EventFilter) -> Result {
        let cond = &filter.condition;
        let Some(ty) = type_of(cond) else {
            return Ok(());
        };
        if filter.category.is_some() {
            return self.want(cond, Want::Boolean, "second ", filter.span, "where");
        }
        if ty == Ty::Boolean {
            return Ok(());
        }
        Err(Diagnostic::error(
            "eql::condition-type",
            format!(
                "Condition expression needs to be boolean, found [{}]",
                ty.name().to_ascii_uppercase()
            ),
            cond.span(),
        )
        .with_label("not a condition")
        .with_help(
            "write a condition after `where`, such as `process.name == \"cmd.exe\"` or `true`",
        ))
    }

    // ----------------------------------------------------------- the planner

    /// Comparisons that Elasticsearch turns into index queries (those joined
    /// by `and`, `or` and `not` from the top of a condition) must compare
    /// with something constant: after it moves a constant to the right, the
    /// right side must not name a field.
    fn field_comparisons(&self, e: &Expr) -> Result {
        match e {
            Expr::Logical { operands, .. } => {
                for o in operands {
                    self.field_comparisons(o)?;
                }
                Ok(())
            }
            Expr::Not { operand, .. } => self.field_comparisons(operand),
            Expr::Compare {
                op, left, right, ..
            } if !foldable(left) && !foldable(right) => Err(field_comparison(
                self.text(right.span()),
                op.as_str(),
                right.span(),
            )),
            _ => Ok(()),
        }
    }
}

fn field_comparison(offender: &str, within: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "eql::field-comparison",
        format!(
            "Comparisons against fields are not (currently) supported; \
             offender [{offender}] in [{within}]"
        ),
        span,
    )
    .with_label("names a field")
    .with_help(
        "Elasticsearch compares a field only with constants; to match events \
         whose fields share a value, use a sequence joined on them: \
         `sequence [... ] by field_a [...] by field_b`",
    )
}
