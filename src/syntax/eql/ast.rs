//! The EQL abstract syntax tree.
//!
//! Every node carries the byte [`Span`] of the text it came from. The tree
//! serializes to readable JSON: node kinds under `"kind"`, fields by name,
//! spans as `[start, end]`. Syntax sugar that Elasticsearch treats as the same
//! query is normalised here (parentheses vanish, `-5` is a negative literal,
//! function names take their canonical spelling), so two texts that
//! Elasticsearch reads alike give the same tree.

use crate::syntax::Span;
use serde::Serialize;

/// A whole EQL statement: a query followed by pipes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Query {
    /// The event query, sequence or sample.
    #[serde(flatten)]
    pub body: QueryBody,
    /// `| head N` and `| tail N`, in order.
    pub pipes: Vec<Pipe>,
    /// The whole statement.
    pub span: Span,
}

/// The three kinds of EQL query.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum QueryBody {
    /// `CATEGORY where CONDITION`.
    Event {
        /// The category and condition.
        filter: EventFilter,
    },
    /// `sequence [by ...] [with maxspan=...] [..] [..] [until [..]]`.
    Sequence(Sequence),
    /// `sample [by ...] [..] [..]`.
    Sample(Sample),
}

/// `CATEGORY where CONDITION`, as a whole query or inside a step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventFilter {
    /// The event category, or `None` for `any`.
    pub category: Option<String>,
    /// The condition after `where`.
    pub condition: Expr,
    /// From the category to the end of the condition.
    pub span: Span,
}

/// A sequence of steps joined by keys, optionally bounded by `maxspan`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sequence {
    /// Join keys shared by every step (`sequence by ...`).
    pub by: Vec<Expr>,
    /// `with maxspan=...`.
    pub maxspan: Option<Duration>,
    /// The steps, in order (at least two).
    pub steps: Vec<SequenceStep>,
    /// `until [...]`, which closes pending sequences with the same keys.
    pub until: Option<SequenceStep>,
}

/// One `[...]` (or missing-event `![...]`) step of a sequence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SequenceStep {
    /// `true` for a missing-event step `![...]`.
    pub missing: bool,
    /// The step's filter.
    pub filter: EventFilter,
    /// The step's own join keys (`[...] by ...`), positional after the shared keys.
    pub by: Vec<Expr>,
    /// `with runs=N`: the step repeats N times.
    pub runs: Option<u32>,
    /// From the opening bracket to the end of the step.
    pub span: Span,
}

/// A sample: distinct events that share join keys, in no particular order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    /// Join keys shared by every filter (`sample by ...`).
    pub by: Vec<Expr>,
    /// The filters (at least two).
    pub steps: Vec<SampleStep>,
}

/// One `[...]` filter of a sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleStep {
    /// The filter.
    pub filter: EventFilter,
    /// The filter's own join keys.
    pub by: Vec<Expr>,
    /// From the opening bracket to the end of the step.
    pub span: Span,
}

/// A `maxspan` duration, as written and in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Duration {
    /// The number as written.
    pub value: u64,
    /// The unit as written: `ms`, `s`, `m`, `h` or `d`.
    pub unit: TimeUnit,
    /// The duration in milliseconds.
    pub millis: u64,
    /// The text of the duration.
    pub span: Span,
}

/// The units `maxspan` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeUnit {
    /// Milliseconds.
    Ms,
    /// Seconds.
    S,
    /// Minutes.
    M,
    /// Hours.
    H,
    /// Days.
    D,
}

impl TimeUnit {
    /// The unit as written in EQL.
    pub fn as_str(self) -> &'static str {
        match self {
            TimeUnit::Ms => "ms",
            TimeUnit::S => "s",
            TimeUnit::M => "m",
            TimeUnit::H => "h",
            TimeUnit::D => "d",
        }
    }

    /// Milliseconds in one unit.
    pub fn millis(self) -> u64 {
        match self {
            TimeUnit::Ms => 1,
            TimeUnit::S => 1_000,
            TimeUnit::M => 60_000,
            TimeUnit::H => 3_600_000,
            TimeUnit::D => 86_400_000,
        }
    }
}

/// A pipe after the query.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Pipe {
    /// `| head N`: the first N results.
    Head {
        /// N.
        count: u64,
        /// The pipe's text, from `|`.
        span: Span,
    },
    /// `| tail N`: the last N results.
    Tail {
        /// N.
        count: u64,
        /// The pipe's text, from `|`.
        span: Span,
    },
}

/// A condition or value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Expr {
    /// `a and b and ...` / `a or b or ...`, flattened where written without parentheses.
    Logical {
        /// `and` or `or`.
        op: LogicalOp,
        /// Two or more operands.
        operands: Vec<Expr>,
        /// The whole expression.
        span: Span,
    },
    /// `not x`.
    Not {
        /// The negated condition.
        operand: Box<Expr>,
        /// From `not` to the end of the operand.
        span: Span,
    },
    /// `a == b`, `a != b`, `a < b`, ...
    Compare {
        /// The operator.
        op: CompareOp,
        /// Left side.
        left: Box<Expr>,
        /// Right side.
        right: Box<Expr>,
        /// The whole comparison.
        span: Span,
    },
    /// `x in (...)`, `x not in (...)`, `x in~ (...)`.
    In {
        /// The value looked up.
        value: Box<Expr>,
        /// The candidates.
        list: Vec<Expr>,
        /// `not in`.
        negated: bool,
        /// `in~`: case-insensitive.
        case_insensitive: bool,
        /// The whole predicate.
        span: Span,
    },
    /// `x : "a*"`, `x like "a*"`, `x regex~ ".*"`, each with one pattern or a list.
    Match {
        /// `:` (wildcard, case-insensitive), `like` or `regex`.
        op: MatchOp,
        /// Case-insensitive (`:` always is; `like~` and `regex~`).
        case_insensitive: bool,
        /// The value matched.
        value: Box<Expr>,
        /// The patterns; the predicate holds if any matches.
        patterns: Vec<Literal>,
        /// The whole predicate.
        span: Span,
    },
    /// `a + b`, `a - b`, `a * b`, `a / b`, `a % b`.
    Arithmetic {
        /// The operator.
        op: ArithOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
        /// The whole expression.
        span: Span,
    },
    /// `-x` where `x` is not a number literal (negative literals fold).
    Negate {
        /// The operand.
        operand: Box<Expr>,
        /// From `-` to the end of the operand.
        span: Span,
    },
    /// A function call.
    Call {
        /// The function, resolved case-insensitively.
        function: Function,
        /// `name~(...)`: the case-insensitive variant.
        case_insensitive: bool,
        /// The arguments.
        args: Vec<Expr>,
        /// From the name to the closing parenthesis.
        span: Span,
    },
    /// A field reference.
    Field(Field),
    /// A literal value.
    Literal(Literal),
}

impl Expr {
    /// The expressions directly inside this one, in written order (a
    /// match's patterns and literals have none).
    pub fn children(&self) -> Vec<&Expr> {
        match self {
            Expr::Field(_) | Expr::Literal(_) => Vec::new(),
            Expr::Logical { operands, .. } => operands.iter().collect(),
            Expr::Not { operand, .. } | Expr::Negate { operand, .. } => vec![operand],
            Expr::Compare { left, right, .. } | Expr::Arithmetic { left, right, .. } => {
                vec![left, right]
            }
            Expr::In { value, list, .. } => std::iter::once(&**value).chain(list).collect(),
            Expr::Match { value, .. } => vec![value],
            Expr::Call { args, .. } => args.iter().collect(),
        }
    }

    /// The expression's span.
    pub fn span(&self) -> Span {
        match self {
            Expr::Logical { span, .. }
            | Expr::Not { span, .. }
            | Expr::Compare { span, .. }
            | Expr::In { span, .. }
            | Expr::Match { span, .. }
            | Expr::Arithmetic { span, .. }
            | Expr::Negate { span, .. }
            | Expr::Call { span, .. } => *span,
            Expr::Field(f) => f.span,
            Expr::Literal(l) => l.span,
        }
    }
}

/// `and` / `or`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogicalOp {
    /// All operands hold.
    And,
    /// Any operand holds.
    Or,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CompareOp {
    /// `==`, case-sensitive equality.
    #[serde(rename = "==")]
    Eq,
    /// `!=`.
    #[serde(rename = "!=")]
    Ne,
    /// `<`.
    #[serde(rename = "<")]
    Lt,
    /// `<=`.
    #[serde(rename = "<=")]
    Le,
    /// `>`.
    #[serde(rename = ">")]
    Gt,
    /// `>=`.
    #[serde(rename = ">=")]
    Ge,
}

impl CompareOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }
}

/// Pattern-matching operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchOp {
    /// `:`: case-insensitive equality with `*` and `?` wildcards.
    Colon,
    /// `like` / `like~`: wildcard match.
    Like,
    /// `regex` / `regex~`: whole-value regular expression.
    Regex,
}

/// Arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ArithOp {
    /// `+`.
    #[serde(rename = "+")]
    Add,
    /// `-`.
    #[serde(rename = "-")]
    Sub,
    /// `*`.
    #[serde(rename = "*")]
    Mul,
    /// `/`.
    #[serde(rename = "/")]
    Div,
    /// `%`.
    #[serde(rename = "%")]
    Mod,
}

impl ArithOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
            ArithOp::Mod => "%",
        }
    }
}

/// A field reference such as `process.name`, `?user.id` or `` azure.x.`0`.name ``.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field {
    /// The dotted field name, with backticks removed.
    pub name: String,
    /// `?field`: an unknown field is null rather than an error.
    pub optional: bool,
    /// The reference as written.
    pub span: Span,
}

/// A literal value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Literal {
    /// The value.
    #[serde(flatten)]
    pub value: Value,
    /// The literal as written.
    pub span: Span,
}

/// The value of a literal. Serializes as `{"type": ..., "value": ...}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
pub enum Value {
    /// `null`.
    Null,
    /// `true` / `false`.
    Boolean(bool),
    /// An integer that fits in 64 bits.
    Integer(i64),
    /// A number with a fraction or exponent, or a whole number too large for
    /// 64 bits (Elasticsearch reads those as doubles).
    Float(f64),
    /// A string, escapes resolved.
    String(String),
}

/// The functions Elasticsearch EQL provides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Function {
    /// `add(a, b)`.
    #[serde(rename = "add")]
    Add,
    /// `between(source, left, right[, greedy])`.
    #[serde(rename = "between")]
    Between,
    /// `cidrMatch(ip, cidr, ...)`.
    #[serde(rename = "cidrMatch")]
    CidrMatch,
    /// `concat(value, ...)`.
    #[serde(rename = "concat")]
    Concat,
    /// `divide(a, b)`.
    #[serde(rename = "divide")]
    Divide,
    /// `endsWith(source, suffix)`.
    #[serde(rename = "endsWith")]
    EndsWith,
    /// `indexOf(source, substring[, start])`.
    #[serde(rename = "indexOf")]
    IndexOf,
    /// `length(source)`.
    #[serde(rename = "length")]
    Length,
    /// `modulo(a, b)`.
    #[serde(rename = "modulo")]
    Modulo,
    /// `multiply(a, b)`.
    #[serde(rename = "multiply")]
    Multiply,
    /// `number(string[, base])`.
    #[serde(rename = "number")]
    Number,
    /// `startsWith(source, prefix)`.
    #[serde(rename = "startsWith")]
    StartsWith,
    /// `string(value)`.
    #[serde(rename = "string")]
    String,
    /// `stringContains(source, substring)`.
    #[serde(rename = "stringContains")]
    StringContains,
    /// `substring(source, start[, end])`.
    #[serde(rename = "substring")]
    Substring,
    /// `subtract(a, b)`.
    #[serde(rename = "subtract")]
    Subtract,
}
