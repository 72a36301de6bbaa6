//! The predicate IR both query languages lower into.
//!
//! Elasticsearch runs a condition one of two ways, and the IR keeps them
//! apart because missing fields behave differently in each:
//!
//! * [`Filter`] is an index query: two-valued, a leaf holds when any value of
//!   its field passes its [`Test`], and `not` is Lucene's `must_not`, so an
//!   event that lacks the field matches `not field == "x"`.
//! * [`Script`] is what Elasticsearch evaluates as a script: three-valued,
//!   null propagates, and a filter leaf `Filter::Script` holds only when the
//!   script yields `true`.
//!
//! Field names are interned in a [`FieldTable`]; the event reader uses the
//! same table to read only the fields the plan needs.

use super::cidr::CidrSet;
use super::lucene_regex::LuceneRegex;
use super::wildcard::Wildcard;
use crate::syntax::eql::{ArithOp, CompareOp, Function};

pub use crate::event::{FieldId, FieldTable};
use crate::mapping::Mapping;

/// Interns the fields a query names, through the mapping's aliases when a
/// mapping is known (an alias reads its target field).
#[derive(Debug, Clone, Default)]
pub struct Fields<'m> {
    /// The interned fields.
    pub table: FieldTable,
    mapping: Option<&'m Mapping>,
    /// Set for a rule set's fields: the queries compiled against them get
    /// the set's table when the set is finished, not a copy each.
    pub(crate) in_set: bool,
}

impl<'m> Fields<'m> {
    /// An empty set of fields, resolving aliases through `mapping`.
    pub fn new(mapping: Option<&'m Mapping>) -> Self {
        Fields {
            table: FieldTable::new(),
            mapping,
            in_set: false,
        }
    }

    /// How the mapping maps the field `name` reads, if a mapping is known.
    pub fn field_mapping(&self, name: &str) -> Option<&'m crate::mapping::FieldMapping> {
        self.mapping?.field(name)
    }

    /// The trie node of `path`, for nested queries.
    pub fn node(&mut self, path: &str) -> crate::event::NodeId {
        self.table.intern_node(path)
    }

    /// The id of the field `name` reads (a field the mapping gives a
    /// constant value is given it in the table: see
    /// [`FieldTable::constants`]).
    pub fn intern(&mut self, name: &str) -> FieldId {
        match self.mapping {
            Some(m) => {
                let path = m.resolve(name);
                let id = self.table.intern(path);
                if let Some(value) = m.field(path).and_then(|f| f.constant_value()) {
                    self.table.set_constant(id, value);
                }
                id
            }
            None => self.table.intern(name),
        }
    }
}

/// A literal a field is compared with.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    /// A string.
    Str(String),
    /// A whole number.
    Int(i64),
    /// A number with a fraction.
    Float(f64),
    /// `true` / `false`.
    Bool(bool),
}

/// An index-query condition (two-valued).
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Always or never.
    Const(bool),
    /// Every child holds.
    And(Vec<Filter>),
    /// Some child holds.
    Or(Vec<Filter>),
    /// `must_not`: the child does not hold (missing fields included).
    Not(Box<Filter>),
    /// The field has at least one non-null value.
    Exists(FieldId),
    /// The field holds an explicit JSON `null` (for a mapping's `null_value`).
    ExplicitNull(FieldId),
    /// KQL free text (`pattern` none) or a field-name wildcard (`host.*:x`):
    /// some field whose dotted name matches `pattern` has a value passing
    /// `test` (`None`: has a non-null value).
    AnyField {
        /// Which field names count (all, for free text).
        pattern: Option<Wildcard>,
        /// The value test.
        test: Option<Test>,
    },
    /// KQL `path:{ query }`: some one object of the array at `scope`
    /// satisfies `inner` on its own.
    Nested {
        /// The array of objects (its trie node).
        scope: crate::event::NodeId,
        /// The fields `inner` reads (full paths), to find the objects.
        fields: Vec<FieldId>,
        /// The condition on one object.
        inner: Box<Filter>,
    },
    /// Some value of the field passes the test.
    Test {
        /// The field tested.
        field: FieldId,
        /// The test.
        test: Test,
    },
    /// A script condition: holds when the script yields `true`.
    Script(Script),
    /// A condition several filters of a rule set state alike (see
    /// [`crate::engine::RuleSet::shared`]): its verdict on an event is
    /// remembered under this number, and the others reuse it (see
    /// [`crate::eval::Document::shared`]).
    Shared(u32, Box<Filter>),
}

impl Filter {
    /// The filter with `f` applied to each of its direct sub-filters (of
    /// `and`, `or`, `not` and nested queries); a leaf is returned as it is.
    pub fn map_children(self, mut f: impl FnMut(Filter) -> Filter) -> Filter {
        match self {
            Filter::And(c) => Filter::And(c.into_iter().map(&mut f).collect()),
            Filter::Or(c) => Filter::Or(c.into_iter().map(&mut f).collect()),
            Filter::Not(c) => Filter::Not(Box::new(f(*c))),
            Filter::Shared(id, c) => Filter::Shared(id, Box::new(f(*c))),
            Filter::Nested {
                scope,
                fields,
                inner,
            } => Filter::Nested {
                scope,
                fields,
                inner: Box::new(f(*inner)),
            },
            leaf => leaf,
        }
    }
}

/// A test of one field value, as a term-level query would run it.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// Term equality, case-sensitive.
    Eq(Lit),
    /// Term equality ignoring ASCII case; the literal is already lower-cased.
    EqFold(String),
    /// A range bound: `value OP literal`.
    Range(CompareOp, Lit),
    /// A wildcard pattern.
    Wildcard(Wildcard),
    /// A Lucene regular expression.
    Regex(LuceneRegex),
    /// The value is an IP address inside one of the blocks.
    Cidr(CidrSet),
    /// A date field compared with a date literal (see [`crate::compile::typed`]).
    Date {
        /// The comparison.
        op: CompareOp,
        /// The literal and the span of time it names.
        bound: super::date::Instant,
        /// How the field's values are written.
        format: super::date::DateFormat,
    },
    /// A `version` field against a bound, in semantic-version order.
    Version(CompareOp, String),
    /// A KQL value on a `text` field: the value's terms (lower-cased
    /// tokens); any term matches, or all in sequence for a quoted phrase.
    Text {
        /// The analysed terms.
        terms: Vec<String>,
        /// A quoted value: the terms must appear consecutively.
        phrase: bool,
    },
    /// Any of several term tests (see [`super::optimize`]).
    AnyOf(Box<super::optimize::TestSet>),
}

/// Splits text into the terms Elasticsearch's standard analyzer would
/// index: runs of letters and digits, lower-cased.
pub fn analyze(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// A script expression (three-valued: any part may be null).
#[derive(Debug, Clone, PartialEq)]
pub enum Script {
    /// A constant.
    Lit(ScriptLit),
    /// A field's value (the first one, for multi-valued fields), or null.
    Field(FieldId),
    /// Logical not; null stays null.
    Not(Box<Script>),
    /// `x == null`: true when the value is null, never null itself.
    IsNull(Box<Script>),
    /// `and` with SQL null logic.
    And(Vec<Script>),
    /// `or` with SQL null logic.
    Or(Vec<Script>),
    /// A comparison.
    Compare(CompareOp, Box<Script>, Box<Script>),
    /// Case-insensitive equality of strings.
    EqFold(Box<Script>, Box<Script>),
    /// Membership in a list of values.
    In {
        /// The value looked up.
        value: Box<Script>,
        /// The candidates.
        list: Vec<Script>,
        /// `in~`.
        case_insensitive: bool,
    },
    /// A wildcard match of a computed value.
    Wildcard(Box<Script>, Vec<Wildcard>),
    /// A regex match of a computed value.
    Regex(Box<Script>, Vec<LuceneRegex>),
    /// Arithmetic.
    Arith(ArithOp, Box<Script>, Box<Script>),
    /// Unary minus.
    Neg(Box<Script>),
    /// A function call.
    Call {
        /// The function.
        function: Function,
        /// Its `~` variant.
        case_insensitive: bool,
        /// Arguments.
        args: Vec<Script>,
    },
    /// `cidrMatch` of a computed value against literal blocks.
    Cidr(Box<Script>, CidrSet),
}

/// A constant in a script.
#[derive(Debug, Clone, PartialEq)]
pub enum ScriptLit {
    /// `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A number with a fraction.
    Float(f64),
    /// A string.
    Str(String),
}
