//! The KQL syntax tree: what the author wrote, with escapes resolved and
//! every node located by a [`Span`].
//!
//! The tree follows Kibana's own node structure (`or`/`and`/`not` with any
//! number of operands, `is`, `range`, `nested`) but keeps value lists
//! (`field:(a or b)`) as written instead of distributing the field over them,
//! so that printing gives back the author's query. Parentheses leave no node
//! of their own: a parenthesised expression's span includes its parentheses.
//!
//! Serialized as JSON, every node is an object with a `kind` (snake case),
//! its fields by name, and `span` as `[start, end]` byte offsets.

use crate::syntax::{strip_spans, Span};
use serde::Serialize;

/// A whole KQL query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Query {
    /// The query's expression; `None` for an empty (or blank) query, which
    /// Kibana treats as matching every document.
    pub expr: Option<Expr>,
    /// The expression's span (the text without surrounding whitespace);
    /// `[0, 0]` for an empty query.
    pub span: Span,
}

impl Query {
    /// The query as JSON without spans: two queries that differ only in
    /// layout (spacing, redundant parentheses, escapes) compare equal here.
    pub fn without_spans(&self) -> serde_json::Value {
        let mut json = serde_json::to_value(self).expect("the KQL AST always serializes");
        strip_spans(&mut json);
        json
    }
}

/// A query expression.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Expr {
    /// `a or b or c`: at least two operands. A parenthesised `or` inside
    /// another stays a separate node, as in Kibana.
    Or {
        /// The alternatives, in source order.
        operands: Vec<Expr>,
        /// From the first operand to the last.
        span: Span,
    },
    /// `a and b and c`: at least two operands; binds tighter than `or`.
    And {
        /// The conjuncts, in source order.
        operands: Vec<Expr>,
        /// From the first operand to the last.
        span: Span,
    },
    /// `not a`.
    Not {
        /// The negated expression.
        operand: Box<Expr>,
        /// From `not` to the end of the operand.
        span: Span,
    },
    /// `field:value` or `field:(value list)`. With a wildcard value `*`
    /// alone this is Kibana's "field exists" test.
    Match {
        /// The field (possibly a wildcard pattern).
        field: Field,
        /// The value or value list after the colon.
        value: ValueExpr,
        /// From the field to the end of the value.
        span: Span,
    },
    /// `field < value`, `<=`, `>`, `>=`: exactly one value, never a list.
    Range {
        /// The field (possibly a wildcard pattern).
        field: Field,
        /// The comparison.
        op: RangeOp,
        /// The bound, as written (numbers and dates are not interpreted here).
        value: Value,
        /// From the field to the end of the value.
        span: Span,
    },
    /// `path:{ query }`: a query on the objects of a nested field. Field
    /// names inside are relative to `path` (nested paths concatenate).
    Nested {
        /// The nested field's path.
        path: Field,
        /// The query on each nested object.
        query: Box<Expr>,
        /// From the path to the closing brace.
        span: Span,
    },
    /// A value with no field: Kibana searches it in the default fields.
    FreeText {
        /// The value searched for.
        value: Value,
        /// The value's span.
        span: Span,
    },
}

impl Expr {
    /// The node's span.
    pub fn span(&self) -> Span {
        match self {
            Expr::Or { span, .. }
            | Expr::And { span, .. }
            | Expr::Not { span, .. }
            | Expr::Match { span, .. }
            | Expr::Range { span, .. }
            | Expr::Nested { span, .. }
            | Expr::FreeText { span, .. } => *span,
        }
    }

    pub(crate) fn span_mut(&mut self) -> &mut Span {
        match self {
            Expr::Or { span, .. }
            | Expr::And { span, .. }
            | Expr::Not { span, .. }
            | Expr::Match { span, .. }
            | Expr::Range { span, .. }
            | Expr::Nested { span, .. }
            | Expr::FreeText { span, .. } => span,
        }
    }
}

/// What follows `field:`: one value, or a parenthesised list combined with
/// `or`, `and` and `not` (`field:(a or (b and not c))`). Kibana applies the
/// field to every value in the list.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ValueExpr {
    /// `a or b`: at least two operands.
    Or {
        /// The alternatives, in source order.
        operands: Vec<ValueExpr>,
        /// From the first operand to the last (with parentheses if grouped).
        span: Span,
    },
    /// `a and b`: at least two operands.
    And {
        /// The conjuncts, in source order.
        operands: Vec<ValueExpr>,
        /// From the first operand to the last (with parentheses if grouped).
        span: Span,
    },
    /// `not a`; `field:(not *)` means the field is missing.
    Not {
        /// The negated list element.
        operand: Box<ValueExpr>,
        /// From `not` to the end of the operand.
        span: Span,
    },
    /// A single value (serialized as the value itself: `quoted`, `unquoted`,
    /// `wildcard`, `bool` or `null`).
    #[serde(untagged)]
    Value(Value),
}

impl ValueExpr {
    /// The node's span.
    pub fn span(&self) -> Span {
        match self {
            ValueExpr::Or { span, .. }
            | ValueExpr::And { span, .. }
            | ValueExpr::Not { span, .. } => *span,
            ValueExpr::Value(v) => v.span(),
        }
    }

    pub(crate) fn span_mut(&mut self) -> &mut Span {
        match self {
            ValueExpr::Or { span, .. }
            | ValueExpr::And { span, .. }
            | ValueExpr::Not { span, .. } => span,
            ValueExpr::Value(v) => v.span_mut(),
        }
    }
}

/// A value, with its escapes resolved. Which kind it is decides how Kibana
/// matches it: quoted values are phrases, unquoted ones may hold wildcards,
/// and unquoted `true`, `false` and `null` (lowercase) are typed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Value {
    /// `"a phrase"`: every character literal, `*` included.
    Quoted {
        /// The text between the quotes, escapes resolved.
        value: String,
        /// Including the quotes.
        span: Span,
    },
    /// An unquoted value without wildcards, trimmed at both ends. Numbers and
    /// dates stay text: the field's type decides what they mean.
    Unquoted {
        /// The text, escapes resolved.
        value: String,
        /// The value as written, without surrounding whitespace.
        span: Span,
    },
    /// An unquoted value with at least one unescaped `*`.
    Wildcard {
        /// Literal text and wildcards in order; adjacent text is merged.
        parts: Vec<Part>,
        /// The value as written, without surrounding whitespace.
        span: Span,
    },
    /// Unquoted `true` or `false`.
    Bool {
        /// The literal's value.
        value: bool,
        /// The literal.
        span: Span,
    },
    /// Unquoted `null`.
    Null {
        /// The literal.
        span: Span,
    },
}

impl Value {
    /// The node's span.
    pub fn span(&self) -> Span {
        match self {
            Value::Quoted { span, .. }
            | Value::Unquoted { span, .. }
            | Value::Wildcard { span, .. }
            | Value::Bool { span, .. }
            | Value::Null { span } => *span,
        }
    }

    pub(crate) fn span_mut(&mut self) -> &mut Span {
        match self {
            Value::Quoted { span, .. }
            | Value::Unquoted { span, .. }
            | Value::Wildcard { span, .. }
            | Value::Bool { span, .. }
            | Value::Null { span } => span,
        }
    }
}

/// A piece of a wildcard value or field pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Part {
    /// Literal characters (an escaped `\*` is a literal `*`).
    Text {
        /// The characters, escapes resolved.
        value: String,
    },
    /// An unescaped `*`: any run of characters.
    Wildcard,
}

/// A field name, before `:`, a range operator, or as a nested path.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Field {
    /// A plain field name: unquoted without wildcards, or quoted (where `*` is
    /// literal). `true`, `false` and `null` are ordinary names here.
    Name {
        /// The name, escapes resolved.
        name: String,
        /// Whether it was written in double quotes.
        quoted: bool,
        /// The name as written, without surrounding whitespace.
        span: Span,
    },
    /// An unquoted name with unescaped `*`: matches every field it fits
    /// (`process.*`, `*.name`).
    Pattern {
        /// Literal text and wildcards in order.
        parts: Vec<Part>,
        /// The pattern as written, without surrounding whitespace.
        span: Span,
    },
}

impl Field {
    /// The node's span.
    pub fn span(&self) -> Span {
        match self {
            Field::Name { span, .. } | Field::Pattern { span, .. } => *span,
        }
    }
}

/// A range comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RangeOp {
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Lte,
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `>=`
    #[serde(rename = ">=")]
    Gte,
}

impl RangeOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            RangeOp::Lt => "<",
            RangeOp::Lte => "<=",
            RangeOp::Gt => ">",
            RangeOp::Gte => ">=",
        }
    }
}
