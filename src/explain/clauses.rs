//! Event queries as trees of clauses. Each boolean clause (`and`, `or`,
//! `not`, a comparison, a KQL `field:value`) is compiled on its own with
//! the engine's own compiler and options, and evaluated on the projected
//! event with the engine's own evaluator, so that every verdict shown is
//! the one the engine reaches for that clause: an index query is true or
//! false, a script three-valued.

use super::values::{field_values, FieldValues};
use crate::compile::ir::{Filter, Test};
use crate::compile::test::passes;
use crate::engine::{compile_eql, compile_kql, CompiledQuery, Plan, QueryOptions};
use crate::eval::{matches, script};
use crate::event::{Projector, Record};
use crate::syntax::{eql, kql, Span};
use serde::Serialize;

/// A clause's verdict on an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The clause holds.
    True,
    /// It does not.
    False,
    /// A script clause that yields null (three-valued): not true, so the
    /// event does not pass it.
    Null,
}

impl Verdict {
    /// `true`, `false` or `null`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::True => "true",
            Verdict::False => "false",
            Verdict::Null => "null",
        }
    }
}

/// How a clause combines its children.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// Every child holds.
    And,
    /// Some child holds.
    Or,
    /// The child does not hold.
    Not,
    /// A comparison or other leaf clause.
    Leaf,
}

/// One clause evaluated on one event.
#[derive(Debug, Clone, Serialize)]
pub struct Clause {
    /// The clause in canonical form.
    pub text: String,
    /// How it combines its children.
    pub op: Op,
    /// Its verdict.
    pub verdict: Verdict,
    /// The rule that decided the verdict, when it is not plain: a script's
    /// null, `must_not` matching a missing field, any value of an array.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// The values the event holds for the fields a leaf or `not` clause
    /// reads.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldValues>,
    /// Whether this is the first clause that failed: the one that made the
    /// whole query false, in evaluation order.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub first_failure: bool,
    /// The sub-clauses of `and`, `or` and `not`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Clause>,
}

impl Clause {
    /// The first clause that failed, if the clause failed.
    pub fn first_failure(&self) -> Option<&Clause> {
        if self.first_failure {
            return Some(self);
        }
        self.children.iter().find_map(Clause::first_failure)
    }
}

/// A clause compiled, ready to evaluate on events.
pub(crate) struct Template {
    text: String,
    op: Op,
    /// The clause alone as a query (`None` when it does not compile alone,
    /// which the whole query's compilation would have reported).
    query: Option<CompiledQuery>,
    /// The fields a leaf reads, as written.
    fields: Vec<String>,
    children: Vec<Template>,
}

/// The compiled parts of a query that explanations need.
pub(crate) struct Compiler<'o> {
    pub options: &'o QueryOptions,
}

impl Compiler<'_> {
    /// An EQL event filter (`CATEGORY where CONDITION`): an `and` of its
    /// category test and its condition (the condition alone for `any`).
    pub fn eql_filter(&self, filter: &eql::EventFilter) -> Template {
        let whole = self.eql_query(filter.category.clone(), filter.condition.clone());
        let condition = self.eql_expr(&filter.condition);
        let Some(category) = &filter.category else {
            return condition;
        };
        let field = &self.options.category_field;
        let category_clause = Template {
            text: format!("{field} == {}", json_string(category)),
            op: Op::Leaf,
            query: self.eql_query(Some(category.clone()), true_literal()),
            fields: vec![field.clone()],
            children: Vec::new(),
        };
        Template {
            text: format!("{category} where {}", eql::print_expr(&filter.condition)),
            op: Op::And,
            query: whole,
            fields: Vec::new(),
            children: vec![category_clause, condition],
        }
    }

    fn eql_query(&self, category: Option<String>, condition: eql::Expr) -> Option<CompiledQuery> {
        let q = eql::Query {
            body: eql::QueryBody::Event {
                filter: eql::EventFilter {
                    category,
                    condition,
                    span: Span::new(0, 0),
                },
            },
            pipes: Vec::new(),
            span: Span::new(0, 0),
        };
        compile_eql(&q, self.options).ok()
    }

    fn eql_expr(&self, e: &eql::Expr) -> Template {
        let (op, children) = match e {
            eql::Expr::Logical { op, operands, .. } => (
                match op {
                    eql::LogicalOp::And => Op::And,
                    eql::LogicalOp::Or => Op::Or,
                },
                operands.iter().map(|o| self.eql_expr(o)).collect(),
            ),
            eql::Expr::Not { operand, .. } => (Op::Not, vec![self.eql_expr(operand)]),
            _ => (Op::Leaf, Vec::new()),
        };
        let mut fields = Vec::new();
        if op != Op::And && op != Op::Or {
            eql_fields(e, &mut fields);
        }
        Template {
            text: eql::print_expr(e),
            op,
            query: self.eql_query(None, e.clone()),
            fields,
            children,
        }
    }

    /// A KQL query's tree (an empty query is one clause that always holds).
    pub fn kql(&self, q: &kql::Query) -> Template {
        match &q.expr {
            Some(e) => self.kql_expr(e),
            None => Template {
                text: "(empty query: every event)".into(),
                op: Op::Leaf,
                query: compile_kql(q, self.options).ok(),
                fields: Vec::new(),
                children: Vec::new(),
            },
        }
    }

    fn kql_expr(&self, e: &kql::Expr) -> Template {
        let (op, children) = match e {
            kql::Expr::And { operands, .. } => {
                (Op::And, operands.iter().map(|o| self.kql_expr(o)).collect())
            }
            kql::Expr::Or { operands, .. } => {
                (Op::Or, operands.iter().map(|o| self.kql_expr(o)).collect())
            }
            kql::Expr::Not { operand, .. } => (Op::Not, vec![self.kql_expr(operand)]),
            _ => (Op::Leaf, Vec::new()),
        };
        let mut fields = Vec::new();
        if op != Op::And && op != Op::Or {
            kql_fields(e, "", &mut fields);
        }
        let alone = kql::Query {
            expr: Some(e.clone()),
            span: e.span(),
        };
        Template {
            text: kql::print(&alone),
            op,
            query: compile_kql(&alone, self.options).ok(),
            fields,
            children,
        }
    }
}

fn true_literal() -> eql::Expr {
    eql::Expr::Literal(eql::Literal {
        value: eql::Value::Boolean(true),
        span: Span::new(0, 0),
    })
}

fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// The fields an EQL expression reads, in order, once each.
fn eql_fields(e: &eql::Expr, out: &mut Vec<String>) {
    use eql::Expr::*;
    let push = |name: &str, out: &mut Vec<String>| {
        if !out.iter().any(|f| f == name) {
            out.push(name.to_string());
        }
    };
    match e {
        Field(f) => push(&f.name, out),
        Literal(_) => {}
        Logical { operands, .. } => operands.iter().for_each(|o| eql_fields(o, out)),
        Not { operand, .. } | Negate { operand, .. } => eql_fields(operand, out),
        Compare { left, right, .. } | Arithmetic { left, right, .. } => {
            eql_fields(left, out);
            eql_fields(right, out);
        }
        In { value, list, .. } => {
            eql_fields(value, out);
            list.iter().for_each(|o| eql_fields(o, out));
        }
        Match { value, .. } => eql_fields(value, out),
        Call { args, .. } => args.iter().for_each(|o| eql_fields(o, out)),
    }
}

/// The fields a KQL expression names (full paths inside nested queries);
/// field-name patterns and free text name none.
fn kql_fields(e: &kql::Expr, prefix: &str, out: &mut Vec<String>) {
    let push = |f: &kql::Field, out: &mut Vec<String>| {
        if let kql::Field::Name { name, .. } = f {
            let full = format!("{prefix}{name}");
            if !out.contains(&full) {
                out.push(full);
            }
        }
    };
    match e {
        kql::Expr::Or { operands, .. } | kql::Expr::And { operands, .. } => {
            operands.iter().for_each(|o| kql_fields(o, prefix, out))
        }
        kql::Expr::Not { operand, .. } => kql_fields(operand, prefix, out),
        kql::Expr::Match { field, .. } | kql::Expr::Range { field, .. } => push(field, out),
        kql::Expr::Nested { path, query, .. } => {
            if let kql::Field::Name { name, .. } = path {
                kql_fields(query, &format!("{prefix}{name}."), out);
            }
        }
        kql::Expr::FreeText { .. } => {}
    }
}

/// Evaluates a template on an event (`bytes`, its JSON) and marks the
/// first failing clause.
pub(crate) fn evaluate(t: &Template, bytes: &[u8], options: &QueryOptions) -> Clause {
    let mut clause = eval_node(t, bytes, options);
    if clause.verdict != Verdict::True {
        mark(&mut clause);
    }
    clause
}

fn mark(c: &mut Clause) {
    if c.op == Op::And {
        if let Some(child) = c.children.iter_mut().find(|x| x.verdict != Verdict::True) {
            mark(child);
            return;
        }
    }
    c.first_failure = true;
}

fn eval_node(t: &Template, bytes: &[u8], options: &QueryOptions) -> Clause {
    let children: Vec<Clause> = t
        .children
        .iter()
        .map(|c| eval_node(c, bytes, options))
        .collect();
    let fields: Vec<FieldValues> = t
        .fields
        .iter()
        .map(|f| field_values(f, bytes, options))
        .collect();
    let (verdict, decided_by) = match &t.query {
        Some(q) => verdict_of(q, bytes, &fields, t.op),
        None => (Verdict::False, Some("does not compile on its own".into())),
    };
    Clause {
        text: t.text.clone(),
        op: t.op,
        verdict,
        decided_by,
        fields,
        first_failure: false,
        children,
    }
}

/// The engine's verdict on the clause compiled alone, and the rule that
/// decided it when it is worth saying.
fn verdict_of(
    q: &CompiledQuery,
    bytes: &[u8],
    fields: &[FieldValues],
    op: Op,
) -> (Verdict, Option<String>) {
    let Plan::Events(filter) = &q.plan else {
        return (Verdict::False, None);
    };
    let mut projector = Projector::new(&q.fields);
    let Ok(record) = projector.project(bytes) else {
        return (Verdict::False, Some("the event does not parse".into()));
    };
    let missing: Vec<&str> = fields
        .iter()
        .filter(|f| f.values.iter().all(|v| v.kind == "null"))
        .map(|f| f.field.as_str())
        .collect();
    let names = |list: &[&str]| {
        list.iter()
            .map(|f| format!("`{f}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let many = fields.iter().find(|f| f.values.len() > 1);
    match filter {
        Filter::Script(s) => {
            let verdict = match script::eval(s, &record) {
                script::Value::Bool(true) => Verdict::True,
                script::Value::Null => Verdict::Null,
                _ => Verdict::False,
            };
            let why = match (verdict, many) {
                (Verdict::Null, _) if !missing.is_empty() => Some(format!(
                    "script (three-valued): {} is missing or null, null propagates, and null is not true",
                    names(&missing)
                )),
                (Verdict::Null, _) => {
                    Some("script (three-valued): yields null, which is not true".into())
                }
                (_, Some(f)) => Some(format!(
                    "script: reads only the first of the {} values of `{}`",
                    f.values.len(),
                    f.field
                )),
                _ => None,
            };
            (verdict, why)
        }
        f => {
            let holds = matches(f, &record);
            let verdict = if holds { Verdict::True } else { Verdict::False };
            let negated = matches!(f, Filter::Not(_));
            let why = if negated && holds && !missing.is_empty() {
                Some(format!(
                    "must_not: the event lacks {}, and a negated index query matches events without the field",
                    names(&missing)
                ))
            } else if op == Op::Leaf {
                many.map(|m| any_of(f, &record, m, holds))
            } else {
                None
            };
            (verdict, why)
        }
    }
}

/// The any-of-array rule of an index query on a multi-valued field: which
/// value matched, when the clause is a plain test of that field.
fn any_of(f: &Filter, record: &Record, field: &FieldValues, holds: bool) -> String {
    let n = field.values.len();
    let name = &field.field;
    if !holds {
        return format!("any of the array: none of the {n} values of `{name}` matches");
    }
    let tests: Vec<(crate::event::FieldId, &Test)> = match f {
        Filter::Test { field, test } => vec![(*field, test)],
        Filter::Or(children) => children
            .iter()
            .filter_map(|c| match c {
                Filter::Test { field, test } => Some((*field, test)),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let hit = tests.iter().find_map(|(id, test)| {
        record
            .values(*id)
            .position(|v| !v.is_null() && passes(test, &v))
    });
    match hit {
        Some(i) => format!(
            "any of the array: value {} of {n} of `{name}` matches",
            i + 1
        ),
        None => format!("any of the array: some value of the {n} of `{name}` matches"),
    }
}
