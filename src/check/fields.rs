//! Checks against an index mapping (`ruleq check --mapping`): fields a query
//! names that the mapping does not know, and operators used on fields of the
//! wrong type, as Elasticsearch's EQL verifier and Kibana report them.
//!
//! EQL rejects an unknown field (write `?field` for one that may be absent)
//! and `cidrMatch` or a wildcard match on a field of the wrong type, so those
//! are errors. KQL runs on unknown fields (they match nothing), so there
//! they are warnings; a wildcard on a number or date is an Elasticsearch
//! error, a CIDR value on a non-`ip` field only matches nothing.

use super::query::into_file;
use crate::diag::Diagnostic;
use crate::mapping::{FieldType, Mapping};
use crate::rule::{Language, QueryText, Rule};
use crate::syntax::{eql, kql, Span};

/// Checks a rule's query fields against `mapping`.
pub fn check_fields(
    rule: &Rule,
    parsed: Option<&eql::Query>,
    mapping: &Mapping,
    diags: &mut Vec<Diagnostic>,
) {
    let (Some(query), Some(language)) = (&rule.query, &rule.language) else {
        return;
    };
    match language.value {
        Language::Eql => {
            if let Some(q) = parsed {
                eql_fields(q, query, mapping, diags);
            }
        }
        Language::Kuery => {
            if let Ok(q) = kql::parse(&query.text) {
                if let Some(e) = &q.expr {
                    kql_fields(e, "", query, mapping, diags);
                }
            }
        }
        Language::Esql | Language::Lucene => {}
    }
}

fn type_of<'m>(mapping: &'m Mapping, name: &str) -> Option<&'m FieldType> {
    mapping.field(name).map(|f| &f.ty)
}

fn unknown(name: &str, span: Span, query: &QueryText, error: bool) -> Diagnostic {
    let d = if error {
        Diagnostic::error(
            "mapping::unknown-field",
            format!("unknown field [{name}]: the mapping does not have it"),
            span,
        )
        .with_help(format!(
            "Elasticsearch rejects the query; check the spelling, or \
                write ?{name} for a field that may be absent"
        ))
    } else {
        Diagnostic::warning(
            "mapping::unknown-field",
            format!(
                "unknown field [{name}]: the mapping does not have \
                it, so this condition matches nothing"
            ),
            span,
        )
        .with_help("check the spelling against the index mapping")
    };
    into_file(d.with_label("not in the mapping"), query)
}

fn misuse(message: String, span: Span, query: &QueryText, error: bool) -> Diagnostic {
    let d = if error {
        Diagnostic::error("mapping::type", message, span)
    } else {
        Diagnostic::warning("mapping::type", message, span)
    };
    into_file(d, query)
}

fn is_stringy(ty: &FieldType) -> bool {
    ty.is_keyword() || ty.is_text()
}

fn eql_fields(q: &eql::Query, query: &QueryText, mapping: &Mapping, diags: &mut Vec<Diagnostic>) {
    let mut exprs: Vec<&eql::Expr> = Vec::new();
    match &q.body {
        eql::QueryBody::Event { filter } => exprs.push(&filter.condition),
        eql::QueryBody::Sequence(s) => {
            exprs.extend(&s.by);
            for step in s.steps.iter().chain(&s.until) {
                exprs.push(&step.filter.condition);
                exprs.extend(&step.by);
            }
        }
        eql::QueryBody::Sample(s) => {
            exprs.extend(&s.by);
            for step in &s.steps {
                exprs.push(&step.filter.condition);
                exprs.extend(&step.by);
            }
        }
    }
    let mut stack = exprs;
    while let Some(e) = stack.pop() {
        match e {
            eql::Expr::Field(f) if !f.optional && !mapping.contains(mapping.resolve(&f.name)) => {
                diags.push(unknown(&f.name, f.span, query, true));
            }
            eql::Expr::Match {
                value,
                patterns,
                op,
                ..
            } => {
                if let eql::Expr::Field(f) = &**value {
                    if let Some(ty) = type_of(mapping, &f.name) {
                        let wildcard = *op != eql::MatchOp::Regex
                            && patterns.iter().any(|p| {
                                matches!(&p.value, eql::Value::String(s) if s.contains(['*', '?']))
                            });
                        if (wildcard || *op == eql::MatchOp::Regex) && !is_stringy(ty) {
                            diags.push(misuse(
                                format!(
                                    "a pattern match on [{}], a [{}] field: patterns \
                                        need a keyword or text field",
                                    f.name,
                                    ty.name()
                                ),
                                e.span(),
                                query,
                                true,
                            ));
                        }
                    }
                }
            }
            eql::Expr::Call { function, args, .. } if *function == eql::Function::CidrMatch => {
                if let Some(eql::Expr::Field(f)) = args.first() {
                    if let Some(ty) = type_of(mapping, &f.name) {
                        if *ty != FieldType::Ip {
                            diags.push(misuse(
                                format!(
                                    "cidrMatch needs an ip field; [{}] is a [{}] field",
                                    f.name,
                                    ty.name()
                                ),
                                f.span,
                                query,
                                true,
                            ));
                        }
                    }
                }
            }
            _ => {}
        }
        stack.extend(e.children());
    }
}

fn kql_fields(
    e: &kql::Expr,
    prefix: &str,
    query: &QueryText,
    mapping: &Mapping,
    diags: &mut Vec<Diagnostic>,
) {
    let named = |field: &kql::Field| match field {
        kql::Field::Name { name, span, .. } => Some((format!("{prefix}{name}"), *span)),
        kql::Field::Pattern { .. } => None,
    };
    match e {
        kql::Expr::Or { operands, .. } | kql::Expr::And { operands, .. } => {
            for o in operands {
                kql_fields(o, prefix, query, mapping, diags);
            }
        }
        kql::Expr::Not { operand, .. } => kql_fields(operand, prefix, query, mapping, diags),
        kql::Expr::Nested {
            path, query: inner, ..
        } => {
            if let Some((name, _)) = named(path) {
                kql_fields(inner, &format!("{name}."), query, mapping, diags);
            }
        }
        kql::Expr::Match { field, value, .. } => {
            let Some((name, span)) = named(field) else {
                return;
            };
            match type_of(mapping, mapping.resolve(&name)) {
                None if !mapping.contains(&name) => diags.push(unknown(&name, span, query, false)),
                None => {}
                Some(ty) => kql_values(value, &name, ty, query, diags),
            }
        }
        kql::Expr::Range { field, .. } => {
            let Some((name, span)) = named(field) else {
                return;
            };
            if !mapping.contains(mapping.resolve(&name)) {
                diags.push(unknown(&name, span, query, false));
            }
        }
        kql::Expr::FreeText { .. } => {}
    }
}

fn kql_values(
    v: &kql::ValueExpr,
    name: &str,
    ty: &FieldType,
    query: &QueryText,
    diags: &mut Vec<Diagnostic>,
) {
    match v {
        kql::ValueExpr::Or { operands, .. } | kql::ValueExpr::And { operands, .. } => {
            for o in operands {
                kql_values(o, name, ty, query, diags);
            }
        }
        kql::ValueExpr::Not { operand, .. } => kql_values(operand, name, ty, query, diags),
        kql::ValueExpr::Value(kql::Value::Wildcard { parts, span }) => {
            let exists = parts.iter().all(|p| *p == kql::Part::Wildcard);
            if !exists && !is_stringy(ty) {
                diags.push(misuse(
                    format!(
                        "a wildcard on [{name}], a [{}] field: Elasticsearch only \
                            runs wildcards on keyword and text fields",
                        ty.name()
                    ),
                    *span,
                    query,
                    true,
                ));
            }
        }
        kql::ValueExpr::Value(
            kql::Value::Quoted { value, span } | kql::Value::Unquoted { value, span },
        ) => {
            let cidr = value.contains('/')
                && crate::compile::cidr::CidrSet::parse([value.as_str()]).is_ok();
            if cidr && *ty != FieldType::Ip {
                diags.push(misuse(
                    format!(
                        "a CIDR block on [{name}], a [{}] field: it matches \
                            only the literal text, not addresses",
                        ty.name()
                    ),
                    *span,
                    query,
                    false,
                ));
            }
        }
        kql::ValueExpr::Value(_) => {}
    }
}
