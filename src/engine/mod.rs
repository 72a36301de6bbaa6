//! Running one compiled query over a stream of events, the way the EQL
//! search API answers it: results in (timestamp, tiebreaker, input order)
//! order, sequences in the order they complete, `head`/`tail` and `size`
//! applied last.
//!
//! Events are offered one at a time as raw bytes; each is projected onto the
//! plan's fields and evaluated at once. Only events that can appear in a
//! result (those matching a filter) are kept, with their source text; the
//! ordered, stateful part (sorting, the sequence state machine, missing-event
//! checks) runs in [`Collector::finish`].

mod filters;
mod indices;
mod ruleset;
pub use filters::{Bound, EventFilter};
pub use indices::IndexPatterns;
pub use ruleset::{RuleSet, RuleSetBuilder, Runner, CHUNK};

use crate::compile::date;
use crate::compile::eql::{event_filter, nullify_unknown_optionals};
use crate::compile::ir::{FieldId, FieldTable, Fields, Filter, Lit, Test};
use crate::compile::optimize::COMMON_FIELDS;
use crate::compile::typed::{apply_mapping, as_date_field};
use crate::diag::Diagnostic;
use crate::eval::sequence::{
    is_cancelled, Key, KeyPart, KeyValue, Match, Ordinal, SequenceMatcher,
};
use crate::eval::{matches, Document, Memoized};
use crate::event::{Num, Projector, Record, Value};
use crate::mapping::Mapping;
use crate::syntax::eql::{self, Expr, Pipe, QueryBody};
use compact_str::ToCompactString;
use smallvec::SmallVec;
use std::cmp::Ordering;
use std::collections::HashMap;

/// Search parameters, as the EQL search API takes them.
#[derive(Debug, Clone)]
pub struct QueryOptions {
    /// The event category field (`event.category`).
    pub category_field: String,
    /// The timestamp field (`@timestamp`).
    pub timestamp_field: String,
    /// The field read for events that lack `timestamp_field` (a rule's
    /// `timestamp_override` falls back to `@timestamp`, as Kibana's
    /// combined timestamp does).
    pub timestamp_fallback: Option<String>,
    /// A field that orders events with equal timestamps (none: input order).
    pub tiebreaker_field: Option<String>,
    /// At most this many results (events or sequences).
    pub size: Option<usize>,
    /// The index mapping, when known: aliases resolve through it.
    pub mapping: Option<Mapping>,
    /// The current time for KQL date math, in nanoseconds since the epoch.
    pub now: i64,
    /// Samples per join key (`sample` queries).
    pub max_samples_per_key: usize,
    /// The `maxspan` of sequences that give none, in nanoseconds: a rule's
    /// look-back window, beyond which no execution of it can see a
    /// sequence whole.
    pub default_maxspan: Option<i64>,
    /// Rewrite filters into cheaper forms that give the same results (see
    /// [`crate::compile::optimize`]). On by default; off only to check the
    /// rewrite against the plain form.
    pub optimize: bool,
    /// The partial sequences a sequence query holds at most; past it the
    /// oldest are dropped and counted ([`CompiledQuery::partials_dropped`]).
    pub max_partials: usize,
}

/// The default of [`QueryOptions::max_partials`]: far more than any rule of
/// the corpus holds on the benchmark's events (a partial sequence takes
/// about 100 bytes, so a rule at the limit holds some 100 MB).
pub const MAX_PARTIALS: usize = 1_000_000;

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            category_field: "event.category".into(),
            timestamp_field: "@timestamp".into(),
            timestamp_fallback: None,
            tiebreaker_field: None,
            size: None,
            mapping: None,
            now: now_nanos(),
            max_samples_per_key: 1,
            default_maxspan: None,
            optimize: true,
            max_partials: MAX_PARTIALS,
        }
    }
}

/// The current time in nanoseconds since the epoch.
pub fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// One sequence stage, runs expanded.
#[derive(Debug, Clone)]
pub struct Stage {
    /// The stage's filter, category included.
    pub filter: Filter,
    /// Join-key fields (shared keys first).
    pub keys: Vec<KeyField>,
    /// A missing-event stage `![...]`.
    pub missing: bool,
}

/// A join-key field.
#[derive(Debug, Clone)]
pub struct KeyField {
    /// The field.
    pub id: FieldId,
    /// `?optional`: a missing value is a null key rather than no key.
    pub optional: bool,
    /// For a `date` field, its formats: keys compare as instants
    /// ([`KeyValue::Date`]).
    pub date: Option<crate::compile::date::DateFormat>,
}

/// What a query computes.
#[derive(Debug, Clone)]
pub enum Plan {
    /// Matching events.
    Events(Filter),
    /// Sequences of events.
    Sequence {
        /// The stages, runs expanded.
        stages: Vec<Stage>,
        /// The `until` stage.
        until: Option<Stage>,
        /// `maxspan` in nanoseconds.
        maxspan: Option<i64>,
    },
    /// Samples: per join key, sets of distinct events, one per stage.
    Sample {
        /// The filters with their join keys.
        stages: Vec<Stage>,
        /// At most this many samples per join key.
        per_key: usize,
    },
}

/// A query ready to run.
#[derive(Debug, Clone)]
pub struct CompiledQuery {
    /// What to compute.
    pub plan: Plan,
    /// Every field the plan reads (in a [`RuleSet`], the set's table, which
    /// holds every query's fields, shared).
    pub fields: std::sync::Arc<FieldTable>,
    /// The timestamp field.
    pub timestamp: FieldId,
    /// The field read when the event lacks `timestamp`.
    pub timestamp_fallback: Option<FieldId>,
    /// The event category field (rule sets rank index keys on it after
    /// those on other fields: most events share a few categories).
    pub category: FieldId,
    /// The tiebreaker field.
    pub tiebreaker: Option<FieldId>,
    /// `head` / `tail`, in order.
    pub pipes: Vec<Pipe>,
    /// The result cap.
    pub size: Option<usize>,
    /// The partial sequences held at most (see [`QueryOptions::max_partials`]).
    pub max_partials: usize,
    /// Partial sequences dropped at that limit, over every evaluation.
    dropped: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// For an event query: fields whose values its kept events carry, in
    /// [`Kept::stages`] (what a threshold or new_terms rule groups by,
    /// read as the event is evaluated, where its values are at hand).
    pub values: Vec<KeyField>,
    /// Whether its kept events carry their text (a threshold rule's
    /// alerts show none of it).
    pub keeps_source: bool,
}

/// Compiles an EQL query for [`Collector`].
pub fn compile_eql(
    query: &eql::Query,
    options: &QueryOptions,
) -> Result<CompiledQuery, Diagnostic> {
    compile_eql_in(query, options, &mut Fields::new(options.mapping.as_ref()))
}

/// Compiles an EQL query with its fields interned in `fields`, which several
/// queries may share (a [`RuleSet`] reads each event once for all of them).
pub fn compile_eql_in(
    query: &eql::Query,
    options: &QueryOptions,
    fields: &mut Fields,
) -> Result<CompiledQuery, Diagnostic> {
    // With a mapping, `?optional` fields it does not know are null.
    let owned;
    let query = match &options.mapping {
        Some(m) => {
            let mut q = query.clone();
            let known = |name: &str| m.contains(m.resolve(name));
            for_each_condition(&mut q, |e| nullify_unknown_optionals(e, &known));
            owned = q;
            &owned
        }
        None => query,
    };
    let category = &options.category_field;
    let plan = match &query.body {
        QueryBody::Event { filter } => Plan::Events(event_filter(filter, category, fields)?.filter),
        QueryBody::Sequence(seq) => {
            let mut stage = |filter: &eql::EventFilter, by: &[Expr], missing: bool| {
                build_stage(filter, &seq.by, by, missing, category, fields)
            };
            let mut stages = Vec::new();
            for step in &seq.steps {
                let s = stage(&step.filter, &step.by, step.missing)?;
                for _ in 0..step.runs.unwrap_or(1) {
                    stages.push(s.clone());
                }
            }
            let until = match &seq.until {
                Some(u) => Some(stage(&u.filter, &u.by, false)?),
                None => None,
            };
            Plan::Sequence {
                stages,
                until,
                maxspan: match &seq.maxspan {
                    Some(d) => Some(d.millis as i64 * 1_000_000),
                    None => options.default_maxspan,
                },
            }
        }
        QueryBody::Sample(sample) => {
            let stages = sample
                .steps
                .iter()
                .map(|step| {
                    build_stage(&step.filter, &sample.by, &step.by, false, category, fields)
                })
                .collect::<Result<Vec<_>, _>>()?;
            Plan::Sample {
                stages,
                per_key: options.max_samples_per_key.max(1),
            }
        }
    };
    Ok(assemble(
        options,
        fields,
        query.pipes.clone(),
        |table, ts| typed_plan(plan, table, options, ts),
    ))
}

/// Interns the fields the options name and assembles the query around the
/// plan `typed` builds, given the field table and the timestamp field.
fn assemble(
    options: &QueryOptions,
    fields: &mut Fields,
    pipes: Vec<Pipe>,
    typed: impl FnOnce(&FieldTable, FieldId) -> Plan,
) -> CompiledQuery {
    let timestamp = fields.intern(&options.timestamp_field);
    let timestamp_fallback = options
        .timestamp_fallback
        .as_ref()
        .map(|t| fields.intern(t));
    let tiebreaker = options.tiebreaker_field.as_ref().map(|t| fields.intern(t));
    let category = fields.intern(&options.category_field);
    CompiledQuery {
        plan: typed(&fields.table, timestamp),
        // A rule set hands its queries its own table when it is finished:
        // a copy per query would cost time and memory quadratic in the
        // number of queries.
        fields: if fields.in_set {
            std::sync::Arc::default()
        } else {
            std::sync::Arc::new(fields.table.clone())
        },
        timestamp,
        timestamp_fallback,
        category,
        tiebreaker,
        pipes,
        size: options.size,
        max_partials: options.max_partials,
        dropped: std::sync::Arc::default(),
        values: Vec::new(),
        keeps_source: true,
    }
}

/// Compiles one sequence or sample step: its filter and join-key fields
/// (the shared keys first).
fn build_stage(
    filter: &eql::EventFilter,
    shared: &[Expr],
    own: &[Expr],
    missing: bool,
    category: &str,
    fields: &mut Fields,
) -> Result<Stage, Diagnostic> {
    let plan = event_filter(filter, category, fields)?;
    let mut keys = Vec::new();
    for e in shared.iter().chain(own) {
        match e {
            Expr::Field(f) => {
                let date = fields
                    .field_mapping(&f.name)
                    .filter(|m| m.ty.is_date())
                    .and_then(|m| {
                        crate::compile::date::DateFormat::parse(&m.date_formats().join("||"))
                    });
                keys.push(KeyField {
                    id: fields.intern(&f.name),
                    optional: f.optional,
                    date,
                });
            }
            other => {
                return Err(Diagnostic::error(
                    "eql::join-key",
                    "join keys must be fields",
                    other.span(),
                )
                .with_help("Elasticsearch joins on field values: write `by process.entity_id`"))
            }
        }
    }
    Ok(Stage {
        filter: plan.filter,
        keys,
        missing,
    })
}

/// Applies `f` to every `where` condition of a query.
fn for_each_condition(query: &mut eql::Query, mut f: impl FnMut(&mut Expr)) {
    match &mut query.body {
        QueryBody::Event { filter } => f(&mut filter.condition),
        QueryBody::Sequence(seq) => {
            for step in seq.steps.iter_mut().chain(seq.until.iter_mut()) {
                f(&mut step.filter.condition);
            }
        }
        QueryBody::Sample(sample) => {
            for step in &mut sample.steps {
                f(&mut step.filter.condition);
            }
        }
    }
}

/// Refines a filter with the mapping's field types; the timestamp field is
/// a date even when the mapping does not name it.
fn typed(filter: Filter, table: &FieldTable, options: &QueryOptions, timestamp: FieldId) -> Filter {
    let mapping = options.mapping.as_ref();
    let mapped = mapping.is_some_and(|m| m.field(table.path(timestamp)).is_some());
    let filter = match mapping {
        Some(m) => apply_mapping(filter, table, m),
        None => filter,
    };
    let filter = if mapped {
        filter
    } else {
        as_date_field(filter, timestamp, crate::mapping::DEFAULT_DATE_FORMATS)
    };
    if options.optimize {
        crate::compile::optimize::optimize(filter, table)
    } else {
        filter
    }
}

/// Refines every filter of a plan with [`typed`].
fn typed_plan(plan: Plan, table: &FieldTable, options: &QueryOptions, timestamp: FieldId) -> Plan {
    let stage = |s: Stage| Stage {
        filter: typed(s.filter, table, options, timestamp),
        ..s
    };
    match plan {
        Plan::Events(f) => Plan::Events(typed(f, table, options, timestamp)),
        Plan::Sequence {
            stages,
            until,
            maxspan,
        } => Plan::Sequence {
            stages: stages.into_iter().map(stage).collect(),
            until: until.map(stage),
            maxspan,
        },
        Plan::Sample { stages, per_key } => Plan::Sample {
            stages: stages.into_iter().map(stage).collect(),
            per_key,
        },
    }
}

/// Compiles a KQL query for [`Collector`]: its matching events, in time order.
pub fn compile_kql(
    query: &crate::syntax::kql::Query,
    options: &QueryOptions,
) -> Result<CompiledQuery, Diagnostic> {
    compile_kql_in(query, options, &mut Fields::new(options.mapping.as_ref()))
}

/// Compiles a KQL query with its fields interned in a shared `fields`.
pub fn compile_kql_in(
    query: &crate::syntax::kql::Query,
    options: &QueryOptions,
    fields: &mut Fields,
) -> Result<CompiledQuery, Diagnostic> {
    let filter = crate::compile::kql::query(query, fields, options.now)?;
    Ok(assemble(options, fields, Vec::new(), |table, ts| {
        Plan::Events(typed(filter, table, options, ts))
    }))
}

impl CompiledQuery {
    /// How many partial sequences were dropped because more than
    /// [`CompiledQuery::max_partials`] were held at once (each may have
    /// cost a result).
    pub fn partials_dropped(&self) -> u64 {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The state machine for this query's `positives` positive stages.
    fn matcher(&self, positives: usize, maxspan: Option<i64>) -> SequenceMatcher {
        SequenceMatcher::new(positives, maxspan)
            .with_limit(self.max_partials, std::sync::Arc::clone(&self.dropped))
    }

    /// Whether each matching event is a result by itself, final at once: an
    /// event query without pipes or `size`.
    pub fn streams_at_once(&self) -> bool {
        matches!(self.plan, Plan::Events(_)) && self.pipes.is_empty() && self.size.is_none()
    }

    /// The index keys of each filter the query evaluates, in the order of
    /// [`StageMask`] bits: an event query's filter; a sequence's stages and
    /// then its `until`; a sample's stages. Each filter has a set of keys
    /// per conjunct that states them plainly (see [`index_key`] for how
    /// values are keyed), ordered by how selective their fields are likely
    /// to be, the most selective first; an event can meet the filter only
    /// when it meets every set (none: any event can).
    pub fn stage_keys(&self) -> Vec<Vec<IndexKeys>> {
        let filters: Vec<&Filter> = match &self.plan {
            Plan::Events(f) => vec![f],
            Plan::Sequence { stages, until, .. } => {
                stages.iter().chain(until).map(|s| &s.filter).collect()
            }
            Plan::Sample { stages, .. } => stages.iter().map(|s| &s.filter).collect(),
        };
        filters
            .into_iter()
            .map(|f| key_conditions(f, &self.fields, self.category))
            .collect()
    }
}

/// Which of a query's filters (see [`CompiledQuery::stage_keys`]) an event
/// can meet: bit i for filter i, and the last bit for every filter from
/// the 64th on. A filter whose bit is clear is known not to match and is
/// not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageMask(pub u64);

impl StageMask {
    /// Every filter.
    pub const ALL: StageMask = StageMask(u64::MAX);

    /// The bit of filter `i`.
    pub fn of(i: usize) -> StageMask {
        StageMask(1 << i.min(63))
    }

    /// Whether filter `i` may match.
    pub fn has(self, i: usize) -> bool {
        self.0 & (1 << i.min(63)) != 0
    }
}

/// Exact values a query's events must hold, per field: an event concerns
/// the query only when one of these fields holds one of its values, both
/// taken through [`index_key`]. The condition is loose on purpose (it
/// ignores case, and numbers meet their decimal text): it may let through
/// events the query then rejects, never the reverse.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexKeys(pub std::collections::BTreeMap<FieldId, std::collections::BTreeSet<String>>);

impl IndexKeys {
    fn union(&mut self, other: IndexKeys) {
        for (f, mut values) in other.0 {
            match self.0.entry(f) {
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(values);
                }
                std::collections::btree_map::Entry::Occupied(mut e) => {
                    e.get_mut().append(&mut values)
                }
            }
        }
    }

    fn single(field: FieldId, key: String) -> IndexKeys {
        IndexKeys(std::iter::once((field, std::iter::once(key).collect())).collect())
    }

    /// How many values, in all.
    fn len(&self) -> usize {
        self.0.values().map(|v| v.len()).sum()
    }
}

/// What an event value looks up in a rule set's index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexKey<'v> {
    /// The value meets the keys equal to this text.
    Key(&'v str),
    /// A whole number too large for `f64` to tell from its neighbours: it
    /// may equal any numeric key, so it meets them all.
    AnyNumber,
}

/// Beyond this magnitude a whole number and its `f64` neighbours compare
/// equal, so its decimal text is not its only possible match.
const EXACT_IN_F64: f64 = 9_007_199_254_740_992.0;

/// The key an event value is indexed under, if any: a string ASCII
/// lower-cased, a whole number as its decimal text. Booleans and numbers
/// with a fraction have none (no indexed term test accepts them).
/// `scratch` holds the text when it is not the value's own.
pub fn index_key<'v>(value: &Value<'v>, scratch: &'v mut String) -> Option<IndexKey<'v>> {
    match value {
        Value::Str(s) => Some(IndexKey::Key(
            if s.bytes().any(|b| b.is_ascii_uppercase()) {
                scratch.clear();
                scratch.push_str(s);
                scratch.make_ascii_lowercase();
                scratch.as_str()
            } else {
                s
            },
        )),
        Value::Number(n) => {
            let f = n.as_f64();
            if f.fract() != 0.0 {
                return None;
            }
            if f.abs() >= EXACT_IN_F64 {
                return Some(IndexKey::AnyNumber);
            }
            scratch.clear();
            push_decimal(scratch, f as i64);
            Some(IndexKey::Key(scratch.as_str()))
        }
        _ => None,
    }
}

/// Appends the decimal text of `n` to `out` (what `{}` writes, without the
/// formatting machinery: events carry many numbers).
fn push_decimal(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    let mut digits = [0u8; 20];
    let mut rest = n.unsigned_abs();
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for &d in &digits[at..] {
        out.push(char::from(d));
    }
}

/// The key of a literal a term test compares with: the [`index_key`] of
/// every event value the test can accept. `None` for a literal that could
/// also equal a boolean, or a number written another way ("1.0", " 7").
fn literal_key(lit: &Lit) -> Option<String> {
    match lit {
        Lit::Int(i) => Some(i.to_string()),
        Lit::Str(v) => {
            let whole = v.parse::<i64>().ok();
            let numeric = v.trim().parse::<f64>().is_ok();
            if whole.is_some_and(|w| w.to_string() == *v) {
                Some(v.clone())
            } else if numeric || v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false") {
                None
            } else {
                Some(v.to_ascii_lowercase())
            }
        }
        Lit::Float(_) | Lit::Bool(_) => None,
    }
}

/// How selective a set of keys is likely to be, most selective least:
/// keys on a field most events share come last, the event category
/// (`category`) after the other common fields, then fewer values first.
fn key_rank(keys: &IndexKeys, table: &FieldTable, category: FieldId) -> (bool, bool, usize) {
    let on_category = keys.0.contains_key(&category);
    (
        on_category
            || keys
                .0
                .keys()
                .any(|f| COMMON_FIELDS.contains(&table.path(*f))),
        on_category,
        keys.len(),
    )
}

/// The sets of keys every event `filter` matches meets: one per conjunct
/// of an `and` that [`keys_of`] finds keys for, or the one set it finds,
/// ordered by [`key_rank`] (of equal ranks, the first written first).
fn key_conditions(filter: &Filter, table: &FieldTable, category: FieldId) -> Vec<IndexKeys> {
    /// The conjuncts of `filter`, nested `and`s flattened.
    fn conjuncts<'f>(filter: &'f Filter, out: &mut Vec<&'f Filter>) {
        match filter {
            Filter::And(children) => children.iter().for_each(|c| conjuncts(c, out)),
            other => out.push(other),
        }
    }
    let mut children = Vec::new();
    conjuncts(filter, &mut children);
    let mut all: Vec<IndexKeys> = children
        .into_iter()
        .filter_map(|c| keys_of(c, table, category))
        .collect();
    all.sort_by_key(|k| key_rank(k, table, category));
    all
}

/// The index keys every event `filter` matches meets, when it states them
/// plainly: a term on a field, one conjunct's keys (the most selective),
/// or the keys of every alternative.
fn keys_of(filter: &Filter, table: &FieldTable, category: FieldId) -> Option<IndexKeys> {
    match filter {
        Filter::Const(false) => Some(IndexKeys::default()),
        Filter::Test { field, test } => {
            let key = |t: &Test| match t {
                Test::Eq(lit) => literal_key(lit),
                Test::EqFold(v) => literal_key(&Lit::Str(v.clone())),
                // A pattern without wildcards matches strings only, equal
                // to its text (ignoring case, or not).
                Test::Wildcard(w) => w
                    .exact_text()
                    .and_then(|t| literal_key(&Lit::Str(t.into()))),
                _ => None,
            };
            match test {
                Test::AnyOf(set) => {
                    let all = set.tests.iter().map(key).collect::<Option<_>>()?;
                    Some(IndexKeys(std::iter::once((*field, all)).collect()))
                }
                t => Some(IndexKeys::single(*field, key(t)?)),
            }
        }
        Filter::And(children) => children
            .iter()
            .filter_map(|c| keys_of(c, table, category))
            .min_by_key(|k| key_rank(k, table, category)),
        Filter::Or(children) => {
            let mut all = IndexKeys::default();
            for c in children {
                all.union(keys_of(c, table, category)?);
            }
            Some(all)
        }
        Filter::Shared(_, inner) => keys_of(inner, table, category),
        _ => None,
    }
}

/// Where an event came from, for output.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Origin {
    /// Index of the file in the caller's list.
    pub file: usize,
    /// 1-based line (NDJSON) or element (JSON array).
    pub line: u64,
}

/// An event kept for the result, with its original text.
///
/// Serialized as a map of its fields; see [`source_wire`] for the wire form
/// of `source`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Hit {
    /// Where it came from.
    pub origin: Origin,
    /// The event's `_source` text, as written (shared by the hits of all
    /// queries on the event; a deserialized hit has its own copy). Empty
    /// when no result can show the event (it only cancels sequences).
    #[serde(with = "source_wire")]
    pub source: std::sync::Arc<[u8]>,
    /// Its timestamp in nanoseconds, when it has one.
    pub timestamp: Option<i64>,
    /// Its `_id` and `_index`, when it has either (held apart: most events
    /// have neither, and hits pass between threads by the million).
    pub names: Option<Box<HitNames>>,
}

/// A hit's `_id` and `_index`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HitNames {
    /// The hit's `_id` (or the event's top-level `_id`), when it has one.
    pub id: Option<Box<str>>,
    /// The hit's `_index` (or the event's top-level `_index`), when it has one.
    pub index: Option<Box<str>>,
}

impl Hit {
    /// A hit that no alert shows: where the event came from and its time,
    /// without its text or names.
    pub fn without_text(origin: Origin, timestamp: Option<i64>) -> Hit {
        Hit {
            origin,
            source: std::sync::Arc::default(),
            timestamp,
            names: None,
        }
    }

    /// The hit's `_id` (or the event's top-level `_id`), when it has one.
    pub fn id(&self) -> Option<&str> {
        self.names.as_ref().and_then(|n| n.id.as_deref())
    }

    /// The hit's `_index` (or the event's top-level `_index`), when it has one.
    pub fn index(&self) -> Option<&str> {
        self.names.as_ref().and_then(|n| n.index.as_deref())
    }
}

/// One query result.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// A sample: its join keys and one event per filter.
    Sample {
        /// The join-key values.
        join_keys: Vec<KeyPart>,
        /// The events, in filter order.
        events: Vec<Hit>,
    },
    /// A matching event.
    Event(Hit),
    /// A sequence: its join keys and its events (`None` for a missing-event stage).
    Sequence {
        /// The join-key values.
        join_keys: Vec<KeyPart>,
        /// The events, in stage order.
        events: Vec<Option<Hit>>,
    },
}

/// A candidate record: an event that matched some part of one query's
/// plan, kept for its results. It is what passes from the stateless stage
/// (each event read and every filter and sequence step evaluated:
/// [`evaluate`], [`Runner::evaluate`], [`Runner::evaluate_batch`]) to the
/// ordered, stateful one (sorting, the sequence and sample state machines,
/// time windows: [`Collector::push`], [`Runner::push`]), and all that stage
/// needs of the event: once kept, the event is not read again.
///
/// A record is plain data and serializes with serde, so that the two
/// stages can run on different machines: records deserialized and pushed
/// (with the index of the query they belong to, into a
/// [`Runner::collecting`] for the same rule set) give the results the
/// in-process run gives. In JSON (one record a line) it reads
/// ```json
/// {"hit":{"origin":{"file":0,"line":7},"source":{"@timestamp":"2024-01-01T00:00:00Z","process":{"entity_id":"a"}},
///   "timestamp":1704067200000000000,"names":null},
///  "sort":{"time":1704067200000000000,"tie":"none","seq":6},
///  "stages":[[0,[[{"str":"a"}]]]],"cancels":null}
/// ```
/// (on one line): `source` is the event's JSON itself (see
/// [`source_wire`]), times are nanoseconds since the epoch, join-key values
/// are tagged with their kind ([`KeyValue`]).
///
/// Records of one query must be pushed in input order (by `sort.seq`) to
/// a streaming collector; one that keeps everything
/// ([`Runner::collecting`] with `streaming` false, [`Collector::new`])
/// sorts them by [`Kept::sort`] and takes them in any order.
///
/// The layout is kept small on purpose (records pass between threads and
/// buffers by the million): most records match one stage with one key,
/// held inline, and what they cancel is boxed apart.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Kept {
    /// The event, with its text when a result can show it.
    pub hit: Hit,
    /// Where the event sorts among the query's records.
    pub sort: SortKey,
    /// For each positive stage it matches: its index among positive stages
    /// (a sample's stage index: samples have only positive stages) and
    /// keys, in stage order. For an event query's records, per field of
    /// its [`CompiledQuery::values`] (usually none): the field's place and
    /// its distinct values, each a one-part key. Held
    /// inline: most kept events match one stage, and are evaluated on one
    /// thread and collected on another.
    pub stages: SmallVec<[(usize, Keys); 1]>,
    /// What it cancels, when anything (rare: held apart, to keep the many
    /// kept events small as they pass between threads and buffers).
    pub cancels: Option<Box<Cancels>>,
}

/// Where a candidate record sorts: by time, tiebreaker, then place in the
/// input, as the EQL search API orders events. Unique among one query's
/// records.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct SortKey {
    /// The event's time in nanoseconds since the epoch: for an event query
    /// `i64::MAX` when it has none (last); for a sample always 0 (samples
    /// keep input order).
    pub time: i64,
    /// The query's tiebreaker field's value.
    pub tie: Tie,
    /// The event's place in the input (the `seq` given to
    /// [`Runner::evaluate`]): events of equal time and tiebreaker go in
    /// its order, and a sequence tells its events apart by it, so it is
    /// unique among a query's records. A distributed run must number the
    /// events the same way (increasing in input order, across all
    /// partitions) for the results to come out the same.
    pub seq: u64,
}

/// What a kept event cancels.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Cancels {
    /// For each missing stage (`![...]`) it matches: the stage index (among
    /// all the sequence's stages) and keys.
    pub missing: Vec<(usize, Keys)>,
    /// Its keys as an `until` event (empty when it is not one).
    pub until: Keys,
}

impl Kept {
    /// For each missing stage it matches: the stage index and keys.
    fn missing(&self) -> &[(usize, Keys)] {
        self.cancels.as_ref().map_or(&[], |c| &c.missing)
    }

    /// Its keys as an `until` event.
    fn until(&self) -> &[Key] {
        self.cancels.as_ref().map_or(&[], |c| &c.until)
    }
}

/// The keys an event joins on for one stage: usually one, held inline.
/// More than one when a key field holds several distinct values (the
/// product of the fields' values); none when a key field has no value (the
/// event does not join).
pub type Keys = SmallVec<[Key; 1]>;

/// A tiebreaker value: missing first, then numbers, then strings, each in
/// natural order.
///
/// Serialized as `"none"`, `{"num": 2.5}` or `{"str": "abc"}` (a number
/// that is not finite as the string `"NaN"`, `"inf"` or `"-inf"` in
/// human-readable formats, which JSON needs).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tie {
    /// The event has no tiebreaker value (or the query no tiebreaker).
    None,
    /// A number (a boolean as 0 or 1).
    Num(#[serde(with = "float_wire")] f64),
    /// A string.
    Str(Box<str>),
}

impl Eq for Tie {}

impl PartialOrd for Tie {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Tie {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Tie::None, Tie::None) => Ordering::Equal,
            (Tie::None, _) => Ordering::Less,
            (_, Tie::None) => Ordering::Greater,
            (Tie::Num(a), Tie::Num(b)) => a.total_cmp(b),
            (Tie::Num(_), Tie::Str(_)) => Ordering::Less,
            (Tie::Str(_), Tie::Num(_)) => Ordering::Greater,
            (Tie::Str(a), Tie::Str(b)) => a.cmp(b),
        }
    }
}

/// A join-key value as read from the event.
fn key_value(v: &Value) -> Option<KeyValue> {
    match v {
        Value::Str(s) => Some(KeyValue::Str((*s).into())),
        Value::Number(n) => Some(KeyValue::Num(match n.value() {
            Num::Int(i) => i.to_compact_string(),
            Num::UInt(u) => u.to_compact_string(),
            Num::Float(f) => crate::eval::script::java_double(f).into(),
        })),
        Value::Bool(b) => Some(KeyValue::Bool(*b)),
        Value::Null => None,
    }
}

/// One value of a join-key field as a key part.
fn key_part(v: &Value, key: &KeyField) -> KeyPart {
    match &key.date {
        // Dates join as instants, whatever their text.
        Some(format) => crate::compile::typed::date_value(v, format).map(KeyValue::Date),
        None => key_value(v),
    }
}

/// The keys an event joins on for one stage: the cartesian product of the
/// key fields' distinct values. A key field without a value means the event
/// does not join, unless the key is `?optional`, where null is a value.
fn keys(doc: &Record, fields: &[KeyField]) -> Keys {
    // Most key fields hold one value: one key, built without products.
    let mut single: Key = Vec::with_capacity(fields.len());
    for key in fields {
        let mut values = doc.present(key.id);
        match values.next() {
            None if key.optional => single.push(None),
            None => return Keys::new(),
            Some(v) => {
                let part = key_part(&v, key);
                if values.any(|w| key_part(&w, key) != part) {
                    return Keys::from_vec(key_product(doc, fields));
                }
                single.push(part);
            }
        }
    }
    smallvec::smallvec![single]
}

/// The distinct values of one field of an event, each a one-part key, in
/// the order met (none for a missing or null field).
fn field_values(doc: &Record, field: &KeyField) -> Keys {
    let mut out = Keys::new();
    for v in doc.present(field.id) {
        let part = key_part(&v, field);
        if part.is_some() && !out.iter().any(|k: &Key| k[0] == part) {
            out.push(vec![part]);
        }
    }
    out
}

/// [`keys`] when some key field holds several distinct values.
fn key_product(doc: &Record, fields: &[KeyField]) -> Vec<Key> {
    let mut out: Vec<Key> = vec![Vec::new()];
    for key in fields {
        let mut values: Vec<KeyPart> = Vec::new();
        for v in doc.present(key.id) {
            let t = key_part(&v, key);
            if !values.contains(&t) {
                values.push(t);
            }
        }
        if values.is_empty() {
            if !key.optional {
                return Vec::new();
            }
            values.push(None);
        }
        out = out
            .into_iter()
            .flat_map(|k| {
                values.iter().map(move |v| {
                    let mut k = k.clone();
                    k.push(v.clone());
                    k
                })
            })
            .collect();
    }
    out
}

/// Event time in nanoseconds: epoch milliseconds for numbers, the default
/// date format for strings.
fn timestamp(doc: &Record, field: FieldId) -> Option<i64> {
    match doc.present(field).next()? {
        Value::Number(n) => date::epoch_millis_number(n.text()),
        Value::Str(s) => date::parse_default(s).map(|t| t.lo),
        _ => None,
    }
}

fn tie(doc: &Record, field: Option<FieldId>) -> Tie {
    match field.and_then(|f| doc.present(f).next()) {
        Some(Value::Number(n)) => Tie::Num(n.as_f64()),
        Some(Value::Str(s)) => Tie::Str(s.into()),
        Some(Value::Bool(b)) => Tie::Num(f64::from(u8::from(b))),
        _ => Tie::None,
    }
}

impl Kept {
    /// The event.
    pub fn hit(&self) -> &Hit {
        &self.hit
    }
}

pub mod source_wire {
    //! The wire form of [`Hit::source`](super::Hit::source), the event's
    //! text, chosen for JSON lines (which a distributed run pipes between
    //! stages): in human-readable formats,
    //!
    //! - an event on one line (all that NDJSON input gives) is embedded as
    //!   the JSON object it is, byte for byte: `"source":{"a":1}`, neither
    //!   escaped nor parsed into a value and written again;
    //! - an empty source (the event only cancels sequences) is `null`;
    //! - any other text (an event written over several lines, from a JSON
    //!   array input, which would break a JSON line) is a JSON string of it,
    //!   and bytes that are not UTF-8 (which the engine never keeps) an
    //!   array of numbers.
    //!
    //! Reading gives the same bytes back (through a `serde_json::Value`,
    //! the same JSON). The embedded form is serde_json's [`RawValue`]: the
    //! text is checked to be valid JSON when written (a scan of the event,
    //! off the evaluating path: only records that are shipped pay it), and
    //! read back it needs serde_json's deserializer (or a format that keeps
    //! the struct `RawValue` writes itself as), not one that buffers
    //! (untagged or flattened enclosing types). Binary formats (not
    //! human-readable) write the bytes as bytes.

    use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};
    use serde::ser::{Serialize, Serializer};
    use serde_json::value::RawValue;
    use std::sync::Arc;

    /// Writes `source` in its wire form.
    pub fn serialize<S: Serializer>(source: &Arc<[u8]>, s: S) -> Result<S::Ok, S::Error> {
        if !s.is_human_readable() {
            return s.serialize_bytes(source);
        }
        if source.is_empty() {
            return s.serialize_none();
        }
        let Ok(text) = std::str::from_utf8(source) else {
            return s.collect_seq(source.iter());
        };
        if text.starts_with('{') && memchr::memchr2(b'\n', b'\r', source).is_none() {
            // Exactly the object, nothing around it (else a string, below).
            if let Ok(raw) = serde_json::from_str::<&RawValue>(text) {
                if raw.get().len() == text.len() {
                    return raw.serialize(s);
                }
            }
        }
        s.serialize_str(text)
    }

    /// Reads a source written by [`serialize`].
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<[u8]>, D::Error> {
        if !d.is_human_readable() {
            return d.deserialize_byte_buf(Bytes).map(Arc::from);
        }
        let raw = Box::<RawValue>::deserialize(d)?;
        let text = raw.get();
        let bytes = match text.as_bytes().first() {
            Some(b'{') => return Ok(Arc::from(text.as_bytes())),
            Some(b'n') => serde_json::from_str::<()>(text).map(|()| Vec::new()),
            Some(b'"') => serde_json::from_str::<String>(text).map(String::into_bytes),
            _ => serde_json::from_str::<Vec<u8>>(text),
        };
        bytes.map(Arc::from).map_err(de::Error::custom)
    }

    /// Reads bytes, as bytes or a sequence of numbers.
    struct Bytes;

    impl<'de> Visitor<'de> for Bytes {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an event's bytes")
        }

        fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }

        fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(v)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
            Ok(v.as_bytes().to_vec())
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
            while let Some(b) = seq.next_element()? {
                out.push(b);
            }
            Ok(out)
        }
    }
}

/// The wire form of a tiebreaker number: a number, or in human-readable
/// formats the text `NaN`, `inf` or `-inf` for one that is not finite.
mod float_wire {
    use serde::de::{self, Deserialize, Deserializer, Visitor};
    use serde::ser::Serializer;

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        match v {
            v if v.is_finite() || !s.is_human_readable() => s.serialize_f64(*v),
            v if v.is_nan() => s.serialize_str("NaN"),
            v if *v > 0.0 => s.serialize_str("inf"),
            _ => s.serialize_str("-inf"),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        if !d.is_human_readable() {
            return f64::deserialize(d);
        }
        d.deserialize_any(Float)
    }

    struct Float;

    impl Visitor<'_> for Float {
        type Value = f64;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a number, or NaN, inf or -inf")
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
            Ok(v)
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
            Ok(v as f64)
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
            Ok(v as f64)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
            match v {
                "NaN" => Ok(f64::NAN),
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
            }
        }
    }
}

/// What one query makes of one event.
// Boxing `Kept` would allocate for every kept event, which its inline
// stages exist to avoid.
#[allow(clippy::large_enum_variant)]
pub enum Evaluated {
    /// The event takes no part in the query's results.
    Nothing,
    /// It would take part, but has no usable timestamp.
    WithoutTimestamp,
    /// It is kept for the results.
    Kept(Kept),
}

/// Evaluates one event for one query; `seq` is its place in the input,
/// which orders events of equal time and tiebreaker.
pub fn evaluate(q: &CompiledQuery, origin: Origin, record: &Record, seq: u64) -> Evaluated {
    evaluate_in(
        q,
        origin,
        record,
        seq,
        &mut PerEvent::default(),
        StageMask::ALL,
        (&[], 1),
    )
}

/// What the queries evaluated on one event share: its time, and its text
/// for the hits they keep (one copy, however many queries keep it).
#[derive(Debug, Default)]
pub(crate) struct PerEvent {
    time: EventTime,
    source: Option<std::sync::Arc<[u8]>>,
}

/// An event's time, read once for all the queries that keep the event:
/// the parsed value of each timestamp field read so far (rules with and
/// without a `timestamp_override` share the first field they read).
#[derive(Debug, Default)]
pub(crate) struct EventTime([Option<(FieldId, Option<i64>)>; 4]);

impl EventTime {
    /// The time of `record` for `q`: its timestamp field, else its fallback.
    fn of(&mut self, q: &CompiledQuery, record: &Record) -> Option<i64> {
        self.field(q.timestamp, record)
            .or_else(|| q.timestamp_fallback.and_then(|f| self.field(f, record)))
    }

    /// The time in `field`, parsed once per event (for up to four fields).
    fn field(&mut self, field: FieldId, record: &Record) -> Option<i64> {
        for slot in &mut self.0 {
            match slot {
                Some((f, t)) if *f == field => return *t,
                Some(_) => {}
                None => {
                    let t = timestamp(record, field);
                    *slot = Some((field, t));
                    return t;
                }
            }
        }
        timestamp(record, field)
    }
}

/// [`evaluate`], reading the event's time and text through `per`, which is
/// the same for every query evaluated on the same event, running only the
/// filters `mask` leaves (the others are known not to match), with the
/// verdicts of shared conditions remembered in `memo` with its stride (see
/// [`Memoized`]).
pub(crate) fn evaluate_in(
    q: &CompiledQuery,
    origin: Origin,
    record: &Record,
    seq: u64,
    per: &mut PerEvent,
    mask: StageMask,
    (memo, stride): (&[std::cell::Cell<u8>], usize),
) -> Evaluated {
    let doc = Memoized {
        record,
        memo,
        stride,
    };
    evaluate_with(q, origin, record, seq, per, |i, filter| {
        mask.has(i) && matches(filter, &doc)
    })
}

/// What query `q` makes of an event whose filters' verdicts `verdict`
/// gives: called with each filter's number (the stages' in order, then
/// `until`'s) and the filter, in that order, at most once each.
pub(crate) fn evaluate_with(
    q: &CompiledQuery,
    origin: Origin,
    record: &Record,
    seq: u64,
    per: &mut PerEvent,
    mut verdict: impl FnMut(usize, &Filter) -> bool,
) -> Evaluated {
    let mut no_time = false;
    // The time is read only for events that are kept: most are not.
    let PerEvent { time, source } = per;
    let mut ts = || time.of(q, record);
    let kept = match &q.plan {
        Plan::Events(filter) => verdict(0, filter).then(|| {
            let ts = ts();
            Kept {
                hit: match q.keeps_source {
                    true => hit(record, origin.clone(), ts, source),
                    false => Hit::without_text(origin.clone(), ts),
                },
                sort: SortKey {
                    time: ts.unwrap_or(i64::MAX),
                    tie: tie(record, q.tiebreaker),
                    seq,
                },
                stages: q
                    .values
                    .iter()
                    .enumerate()
                    .map(|(j, field)| (j, field_values(record, field)))
                    .collect(),
                cancels: None,
            }
        }),
        Plan::Sequence { stages, until, .. } => {
            let mut positive = SmallVec::new();
            let mut missing = Vec::new();
            let mut p = 0;
            for (i, s) in stages.iter().enumerate() {
                let m = verdict(i, &s.filter);
                if s.missing {
                    if m {
                        missing.push((i, keys(record, &s.keys)));
                    }
                } else {
                    if m {
                        positive.push((p, keys(record, &s.keys)));
                    }
                    p += 1;
                }
            }
            let until_keys = match until {
                Some(u) if verdict(stages.len(), &u.filter) => keys(record, &u.keys),
                _ => Keys::new(),
            };
            let any = !positive.is_empty() || !missing.is_empty() || !until_keys.is_empty();
            let ts = if any { ts() } else { None };
            match ts {
                // Sequences need time; events without it take no part.
                None if any => {
                    no_time = true;
                    None
                }
                Some(t) if any => Some(Kept {
                    // An event that only cancels sequences (a missing
                    // stage's, or `until`'s) is never written: its text
                    // is not kept.
                    hit: if positive.is_empty() {
                        Hit::without_text(origin.clone(), ts)
                    } else {
                        hit(record, origin.clone(), ts, source)
                    },
                    sort: SortKey {
                        time: t,
                        tie: tie(record, q.tiebreaker),
                        seq,
                    },
                    stages: positive,
                    cancels: (!missing.is_empty() || !until_keys.is_empty()).then(|| {
                        Box::new(Cancels {
                            missing,
                            until: until_keys,
                        })
                    }),
                }),
                _ => None,
            }
        }
        Plan::Sample { stages, .. } => {
            // Samples need no time: input order is kept.
            let matched: SmallVec<[(usize, Keys); 1]> = stages
                .iter()
                .enumerate()
                .filter(|(i, s)| verdict(*i, &s.filter))
                .map(|(i, s)| (i, keys(record, &s.keys)))
                .filter(|(_, k)| !k.is_empty())
                .collect();
            (!matched.is_empty()).then(|| Kept {
                hit: hit(record, origin.clone(), ts(), source),
                sort: SortKey {
                    time: 0,
                    tie: Tie::None,
                    seq,
                },
                stages: matched,
                cancels: None,
            })
        }
    };
    match kept {
        Some(k) => Evaluated::Kept(k),
        None if no_time => Evaluated::WithoutTimestamp,
        None => Evaluated::Nothing,
    }
}

/// Evaluates events one by one and keeps those that can appear in a result.
pub struct Collector<'q> {
    query: &'q CompiledQuery,
    projector: Projector<'q>,
    kept: Vec<Kept>,
    seq: u64,
    /// Events offered that had no usable timestamp, for the caller's report.
    pub without_timestamp: u64,
    /// Set when results are produced as the events come (see
    /// [`Collector::streaming`]).
    stream: Option<Box<Stream>>,
    /// Results final already, for the caller to take.
    ready: Vec<Output>,
}

/// Candidates a streaming sequence query holds back to put them in time
/// order before its state machine sees them.
pub const REORDER: usize = 256;

/// A streaming collector's state: for sequences, the reorder buffer, the
/// state machine and the events its partial sequences hold.
struct Stream {
    buffer: Vec<Kept>,
    /// The latest time fed to the state machine.
    fed: Option<i64>,
    /// `None` for event queries, whose results need no state.
    matcher: Option<SequenceMatcher>,
    /// The events fed that a sequence took, by input serial, with their
    /// place in the fed order, until no partial sequence holds them.
    hits: rustc_hash::FxHashMap<u64, (Hit, Ordinal)>,
    live_after_sweep: usize,
    /// How many candidates were fed: the place of the next in the fed order.
    count: u64,
    /// For sequences with missing-event stages.
    missing: Option<Box<Missing>>,
    /// Candidates that came after later ones had been fed, and the first.
    late: u64,
    first_late: Option<Origin>,
}

/// A streaming sequence's missing-event stages (`![...]`): the events that
/// match them, and the complete sequences waiting to learn whether one of
/// them cancels them. The verdict is [`is_cancelled`]'s, as when
/// everything is kept; a sequence with trailing missing stages waits until
/// no later event in time order can cancel it (its first event plus
/// `maxspan` passed, or the end of the input), and a sequence that passed
/// waits for the end of the input, since an event out of time order may
/// still cancel it (with two or more leading or trailing missing stages,
/// only along with the events within twice `maxspan` of the latest time).
/// Results come out in the order the sequences completed.
struct Missing {
    /// Per stage: whether it is a missing-event stage.
    stages: Vec<bool>,
    maxspan: Option<i64>,
    /// Per missing stage, per key: the events matching it, in fed order.
    /// With `maxspan`, those older than twice it before the latest time
    /// are dropped (no sequence can reach them); without, all are held,
    /// by time and place only.
    fillers: Vec<rustc_hash::FxHashMap<Key, Vec<Ordinal>>>,
    /// Complete sequences, in completion order, with their positive
    /// events' places.
    held: std::collections::VecDeque<Held>,
    /// Sequences no event fed in time order cancels, in completion order,
    /// until the end of the input: an event that comes out of time order
    /// may still cancel one (`None` then).
    passed: Vec<Option<Held>>,
    /// Per key, the places of its sequences in `passed`.
    passed_by_key: rustc_hash::FxHashMap<Key, Vec<usize>>,
    /// Whether a stage after the last positive one is a missing stage.
    trailing: bool,
    /// The latest time fillers were dropped at.
    pruned_at: i64,
}

/// A complete sequence with missing-event stages: the match, its positive
/// events' places, its events with gaps for the missing stages.
type Held = (Match, Vec<Ordinal>, Vec<Option<Hit>>);

impl Missing {
    fn new(stages: &[Stage], maxspan: Option<i64>) -> Missing {
        let flags: Vec<bool> = stages.iter().map(|s| s.missing).collect();
        let trailing = flags
            .iter()
            .rposition(|m| !m)
            .is_some_and(|last| last + 1 < flags.len());
        Missing {
            fillers: vec![rustc_hash::FxHashMap::default(); flags.len()],
            stages: flags,
            maxspan,
            held: std::collections::VecDeque::new(),
            passed: Vec::new(),
            passed_by_key: rustc_hash::FxHashMap::default(),
            trailing,
            pruned_at: i64::MIN,
        }
    }

    /// Records the missing stages an event matches, at `ordinal` (in time
    /// order: an event that came `late` goes where its time puts it, and
    /// withdraws the sequences already passed that it cancels).
    fn fill(&mut self, missing: Vec<(usize, Keys)>, ordinal: Ordinal, late: bool) {
        let place = |o: &Ordinal| (o.timestamp, o.position);
        for (stage, keys) in missing {
            for key in keys {
                let list = self.fillers[stage].entry(key.clone()).or_default();
                let at = list.partition_point(|o| place(o) < place(&ordinal));
                list.insert(at, ordinal);
                if late {
                    self.withdraw_cancelled(&key);
                }
            }
        }
    }

    /// Withdraws the passed sequences of `key` that its fillers now cancel.
    fn withdraw_cancelled(&mut self, key: &Key) {
        let Some(places) = self.passed_by_key.get_mut(key) else {
            return;
        };
        let fillers: Vec<&[Ordinal]> = self
            .fillers
            .iter()
            .map(|f| f.get(key).map_or(&[][..], |v| &v[..]))
            .collect();
        places.retain(|&i| {
            let cancelled = self.passed[i].as_ref().is_none_or(|(_, positives, _)| {
                is_cancelled(&self.stages, positives, &fillers, self.maxspan)
            });
            if cancelled {
                self.passed[i] = None;
            }
            !cancelled
        });
    }

    /// Moves the held sequences that are final, in order, to `ready`: all
    /// of them at the end of the input, else up to the first that a later
    /// event than time `now` could still cancel.
    fn release(&mut self, now: Option<i64>, end: bool, ready: &mut Vec<Output>) {
        while let Some((m, positives, _)) = self.held.front() {
            let waiting = !end
                && self.trailing
                && match (self.maxspan, now) {
                    (Some(span), Some(now)) => positives
                        .first()
                        .is_some_and(|f| now <= f.timestamp.saturating_add(span)),
                    _ => true,
                };
            if waiting {
                break;
            }
            let fillers: Vec<&[Ordinal]> = self
                .fillers
                .iter()
                .map(|f| f.get(&m.key).map_or(&[][..], |v| &v[..]))
                .collect();
            let cancelled = is_cancelled(&self.stages, positives, &fillers, self.maxspan);
            let Some(held) = self.held.pop_front() else {
                break;
            };
            if !cancelled {
                let key = held.0.key.clone();
                self.passed_by_key
                    .entry(key)
                    .or_default()
                    .push(self.passed.len());
                self.passed.push(Some(held));
            }
        }
        if end {
            self.passed_by_key.clear();
            for (m, _, events) in self.passed.drain(..).flatten() {
                ready.push(Output::Sequence {
                    join_keys: m.key,
                    events,
                });
            }
        }
        // Drop the fillers no sequence can reach any more.
        if let (Some(span), Some(now)) = (self.maxspan, now) {
            if now.saturating_sub(self.pruned_at) > span {
                let oldest = match self.held.front() {
                    Some((_, p, _)) => p.first().map_or(now, |f| f.timestamp.min(now)),
                    None => now,
                }
                .saturating_sub(span.saturating_mul(2));
                for stage in &mut self.fillers {
                    stage.retain(|_, list| {
                        let old = list.partition_point(|o| o.timestamp < oldest);
                        list.drain(..old);
                        !list.is_empty()
                    });
                }
                self.pruned_at = now;
            }
        }
    }
}

impl<'q> Collector<'q> {
    /// A collector for one query that keeps every event it evaluates and
    /// computes the results at the end: any plan, any input order, and
    /// results over time ranges ([`Collector::into_matches`]).
    pub fn new(query: &'q CompiledQuery) -> Self {
        Collector {
            query,
            projector: Projector::new(&query.fields),
            kept: Vec::new(),
            seq: 0,
            without_timestamp: 0,
            stream: None,
            ready: Vec::new(),
        }
    }

    /// A collector that produces results as they become final, so that its
    /// memory does not grow with the input: an event query's matches at
    /// once; a sequence's as its last event comes, holding only partial
    /// sequences and a reorder buffer of [`REORDER`] candidates, which puts
    /// events in time order as long as no event comes more than that many
    /// candidates late (the input in time order, or nearly). Later events
    /// are counted ([`Collector::late`]) and take no step of a sequence;
    /// they still cancel (as `until` and missing events), so that they may
    /// cost a result, never make a false one. A sequence with
    /// missing-event stages also holds, per key, the times of the events
    /// matching them within twice its `maxspan` (all of them without one),
    /// and its complete sequences until the end of the input. Queries with pipes, `size` or samples keep everything,
    /// as [`Collector::new`] does.
    pub fn streaming(query: &'q CompiledQuery) -> Self {
        let mut c = Collector::new(query);
        let simple = query.pipes.is_empty() && query.size.is_none();
        let mut missing = None;
        let matcher = match &query.plan {
            Plan::Events(_) if query.streams_at_once() => Some(None),
            Plan::Sequence {
                stages, maxspan, ..
            } if simple => {
                let positives = stages.iter().filter(|s| !s.missing).count();
                if positives < stages.len() {
                    missing = Some(Box::new(Missing::new(stages, *maxspan)));
                }
                (positives > 0).then(|| Some(query.matcher(positives, *maxspan)))
            }
            _ => None,
        };
        c.stream = matcher.map(|matcher| {
            Box::new(Stream {
                buffer: Vec::new(),
                fed: None,
                matcher,
                hits: rustc_hash::FxHashMap::default(),
                live_after_sweep: 0,
                count: 0,
                missing,
                late: 0,
                first_late: None,
            })
        });
        c
    }

    /// Results final already, taken (a streaming collector's).
    pub fn take_ready(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.ready)
    }

    /// How many candidate events came too late to be put in time order,
    /// and where the first came from.
    pub fn late(&self) -> Option<(u64, Origin)> {
        let s = self.stream.as_ref()?;
        Some((s.late, s.first_late.clone()?))
    }

    /// Projects and evaluates one event. A parse error is returned for the
    /// caller to report; nothing is kept then.
    pub fn offer(&mut self, origin: Origin, bytes: &[u8]) -> Result<(), serde_json::Error> {
        let mut projector =
            std::mem::replace(&mut self.projector, Projector::new(&self.query.fields));
        let result = projector.project(bytes).map(|record| {
            self.offer_record(origin, &record);
            projector.recycle(record);
        });
        self.projector = projector;
        result
    }

    /// Evaluates one event already projected onto a field table that
    /// extends the query's (see [`RuleSet`]).
    pub fn offer_record(&mut self, origin: Origin, record: &Record) {
        let seq = self.seq;
        self.seq += 1;
        match evaluate(self.query, origin, record, seq) {
            Evaluated::Kept(k) => self.push(k),
            Evaluated::WithoutTimestamp => self.without_timestamp += 1,
            Evaluated::Nothing => {}
        }
    }

    /// Takes an event [`evaluate`] kept (several threads can evaluate
    /// events for one collector; push them in input order).
    pub fn push(&mut self, kept: Kept) {
        let Some(stream) = &mut self.stream else {
            self.kept.push(kept);
            return;
        };
        if stream.matcher.is_none() {
            self.ready.push(Output::Event(kept.hit));
            return;
        }
        if stream.fed.is_some_and(|fed| kept.sort.time < fed) {
            stream.late += 1;
            if stream.first_late.is_none() {
                stream.first_late = Some(kept.hit.origin.clone());
            }
        }
        stream.buffer.push(kept);
        if stream.buffer.len() >= REORDER {
            stream.release(false, &mut self.ready);
        }
    }

    /// The results not taken yet: for a collector that keeps everything,
    /// all of them, computed now.
    pub fn finish(mut self) -> Vec<Output> {
        match self.stream.take() {
            Some(mut stream) => {
                stream.release(true, &mut self.ready);
                self.ready
            }
            None => {
                let matches = self.into_matches();
                let results = matches.all();
                drop_aside(matches.kept);
                results
            }
        }
    }

    /// Orders what was kept, for results over all of it or over time ranges.
    pub fn into_matches(mut self) -> Matches<'q> {
        // Unique keys (see `Stream::release`): in place, same order.
        self.kept.sort_unstable_by(|a, b| a.sort.cmp(&b.sort));
        Matches {
            query: self.query,
            kept: self.kept,
        }
    }
}

/// Drops `kept`, on a thread of its own when it is large: freeing a
/// query's every kept event (a sample's can be a sixth of the input) takes
/// a tenth of a second that the results need not wait for.
fn drop_aside(kept: Vec<Kept>) {
    if kept.len() < 4096 {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("ruleq-drop".into())
        .spawn(move || drop(kept));
    // Should no thread start, the events were dropped with the closure.
    drop(spawned);
}

impl Stream {
    /// Feeds the buffered candidates to the state machine in time order:
    /// all of them, or all but those at the latest time (a later event may
    /// still share it and sort first on the tiebreaker).
    fn release(&mut self, all: bool, ready: &mut Vec<Output>) {
        // The sort keys end with the input serial, one event per query
        // each: no two are equal, so an unstable sort (in place, where the
        // stable one copies half the buffer aside) gives the same order.
        self.buffer.sort_unstable_by(|a, b| a.sort.cmp(&b.sort));
        let cut = match self.buffer.last() {
            Some(last) if !all => {
                let latest = last.sort.time;
                match self.buffer.partition_point(|k| k.sort.time < latest) {
                    0 => self.buffer.len(),
                    cut => cut,
                }
            }
            _ => self.buffer.len(),
        };
        let Some(matcher) = &mut self.matcher else {
            return;
        };
        let mut complete = Vec::new();
        for k in self.buffer.drain(..cut) {
            let seq = k.sort.seq;
            // An event earlier than one already fed came too late to be put
            // in time order: it takes no step of a sequence (that could
            // pair it with events Elasticsearch orders before it, or close
            // a sequence no later event may then cancel), only cancels.
            let late = self.fed.is_some_and(|fed| k.sort.time < fed);
            self.fed = Some(self.fed.map_or(k.sort.time, |f| f.max(k.sort.time)));
            // Its place in the fed order, as the index in the time-ordered
            // kept events is when everything is kept.
            let place = Ordinal {
                timestamp: k.sort.time,
                position: self.count,
            };
            self.count += 1;
            let Cancels { missing, until } = k.cancels.map(|c| *c).unwrap_or_default();
            if let Some(fillers) = &mut self.missing {
                fillers.fill(missing, place, late);
            }
            let stages = if late { &[][..] } else { &k.stages[..] };
            // Only the events a sequence holds are needed again.
            if matcher.feed(
                k.sort.time,
                seq as usize,
                latest_first(stages),
                &until,
                &mut complete,
            ) {
                self.hits.insert(seq, (k.hit, place));
            }
            for m in complete.drain(..) {
                let found = |e: &usize| self.hits.get(&(*e as u64));
                match &mut self.missing {
                    None => {
                        let events = m.events.iter().map(|e| found(e).map(|h| h.0.clone()));
                        ready.push(Output::Sequence {
                            events: events.collect(),
                            join_keys: m.key,
                        });
                    }
                    Some(missing) => {
                        let positives: Vec<Ordinal> = m
                            .events
                            .iter()
                            .filter_map(|e| found(e).map(|h| h.1))
                            .collect();
                        let own = m.events.iter().map(|e| found(e).map(|h| h.0.clone()));
                        let events = with_gaps(&missing.stages, own);
                        missing.held.push_back((m, positives, events));
                    }
                }
            }
            if let Some(missing) = &mut self.missing {
                missing.release(self.fed, false, ready);
            }
        }
        if all {
            if let Some(missing) = &mut self.missing {
                missing.release(self.fed, true, ready);
            }
        }
        // Drop the events no partial sequence holds any more, now and then.
        if self.hits.len() > 2 * self.live_after_sweep + REORDER {
            let live: rustc_hash::FxHashSet<u64> =
                matcher.pending_events().map(|e| e as u64).collect();
            self.hits.retain(|seq, _| live.contains(seq));
            self.live_after_sweep = self.hits.len();
        }
    }
}

/// One query's evaluated events, in order: the results over all the input
/// or over any time range (a scheduled execution's window) come from it
/// without reading the events again.
pub struct Matches<'q> {
    query: &'q CompiledQuery,
    kept: Vec<Kept>,
}

impl Matches<'_> {
    /// The results over every event.
    pub fn all(&self) -> Vec<Output> {
        let kept: Vec<&Kept> = self.kept.iter().collect();
        self.results(&kept)
    }

    /// The results over the events whose time lies in `[from, to]` (both
    /// ends included, as a rule's range filter does); events without a
    /// time are in no range.
    pub fn within(&self, from: i64, to: i64) -> Vec<Output> {
        let inside = |t: Option<i64>| t.is_some_and(|t| from <= t && t <= to);
        let kept: Vec<&Kept> = match self.query.plan {
            // Samples keep input order; the others are in time order.
            Plan::Sample { .. } => self
                .kept
                .iter()
                .filter(|k| inside(k.hit.timestamp))
                .collect(),
            _ => {
                let lo = self.kept.partition_point(|k| k.sort.time < from);
                let hi = self.kept.partition_point(|k| k.sort.time <= to);
                self.kept[lo..hi.max(lo)]
                    .iter()
                    .filter(|k| inside(k.hit.timestamp))
                    .collect()
            }
        };
        self.results(&kept)
    }

    /// The kept events, in time order (an event query's carry the values
    /// of its [`CompiledQuery::values`]).
    pub fn kept(&self) -> &[Kept] {
        &self.kept
    }

    /// The times of the events that can take part in a result, in order.
    pub fn times(&self) -> Vec<i64> {
        let mut times: Vec<i64> = self.kept.iter().filter_map(|k| k.hit.timestamp).collect();
        times.sort_unstable();
        times
    }

    fn results(&self, kept: &[&Kept]) -> Vec<Output> {
        let q = self.query;
        let mut results: Vec<Output> = match &q.plan {
            Plan::Events(_) => kept.iter().map(|k| Output::Event(k.hit.clone())).collect(),
            Plan::Sequence {
                stages, maxspan, ..
            } => sequences(q, kept, stages, *maxspan),
            Plan::Sample { stages, per_key } => samples(kept, stages.len(), *per_key),
        };
        for pipe in &q.pipes {
            match pipe {
                Pipe::Head { count, .. } => results.truncate(*count as usize),
                Pipe::Tail { count, .. } => {
                    let n = results.len().saturating_sub(*count as usize);
                    results.drain(..n);
                }
            }
        }
        if let Some(size) = q.size {
            results.truncate(size);
        }
        results
    }
}

/// A hit on `record`, its text shared through `source` with the other
/// hits on the same event.
fn hit(
    record: &Record,
    origin: Origin,
    timestamp: Option<i64>,
    source: &mut Option<std::sync::Arc<[u8]>>,
) -> Hit {
    Hit {
        origin,
        source: source.get_or_insert_with(|| record.source().into()).clone(),
        timestamp,
        names: (record.id().is_some() || record.index().is_some()).then(|| {
            Box::new(HitNames {
                id: record.id().map(Into::into),
                index: record.index().map(Into::into),
            })
        }),
    }
}

fn sequences(
    query: &CompiledQuery,
    kept: &[&Kept],
    stages: &[Stage],
    maxspan: Option<i64>,
) -> Vec<Output> {
    let missing: Vec<bool> = stages.iter().map(|s| s.missing).collect();
    let positives = missing.iter().filter(|m| !**m).count();
    let mut matcher = query.matcher(positives, maxspan);
    let mut fillers: Vec<HashMap<Key, Vec<Ordinal>>> = vec![HashMap::new(); stages.len()];
    let mut complete: Vec<Match> = Vec::new();
    let ordinal = |i: usize, k: &Kept| Ordinal {
        timestamp: k.sort.time,
        position: i as u64,
    };
    for (i, k) in kept.iter().enumerate() {
        for (s, ks) in k.missing() {
            for key in ks {
                fillers[*s]
                    .entry(key.clone())
                    .or_default()
                    .push(ordinal(i, k));
            }
        }
        matcher.feed(
            k.sort.time,
            i,
            latest_first(&k.stages),
            k.until(),
            &mut complete,
        );
    }
    let none: Vec<Ordinal> = Vec::new();
    complete
        .into_iter()
        .filter(|m| {
            if !missing.contains(&true) {
                return true;
            }
            let positives: Vec<Ordinal> = m.events.iter().map(|&i| ordinal(i, kept[i])).collect();
            let f: Vec<&[Ordinal]> = (0..stages.len())
                .map(|s| fillers[s].get(&m.key).map_or(&none[..], |v| &v[..]))
                .collect();
            !is_cancelled(&missing, &positives, &f, maxspan)
        })
        .map(|m| {
            let positives = m.events.iter().map(|&i| Some(kept[i].hit.clone()));
            let events = with_gaps(&missing, positives);
            Output::Sequence {
                join_keys: m.key,
                events,
            }
        })
        .collect()
}

/// A kept event's stages and keys as the matcher takes them: the latest
/// stage first (they are kept in stage order).
fn latest_first(stages: &[(usize, Keys)]) -> impl Iterator<Item = (usize, &[Key])> {
    stages.iter().rev().map(|(s, keys)| (*s, keys.as_slice()))
}

/// A sequence's events by stage: those of its positive stages, in order,
/// and no event for each missing-event stage (`missing[i]`).
fn with_gaps(
    missing: &[bool],
    mut positives: impl Iterator<Item = Option<Hit>>,
) -> Vec<Option<Hit>> {
    missing
        .iter()
        .map(|&is_missing| match is_missing {
            true => None,
            false => positives.next().flatten(),
        })
        .collect()
}

/// Orders join keys as a composite aggregation does: a null key first,
/// numbers numerically, dates by instant, strings by their bytes.
fn key_order(a: &Key, b: &Key) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = match (x, y) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(KeyValue::Num(x)), Some(KeyValue::Num(y))) => {
                match (x.parse::<f64>(), y.parse::<f64>()) {
                    (Ok(p), Ok(q)) => p.total_cmp(&q),
                    _ => x.cmp(y),
                }
            }
            (Some(KeyValue::Str(x)), Some(KeyValue::Str(y))) => x.as_bytes().cmp(y.as_bytes()),
            (Some(x), Some(y)) => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

/// Samples: for every join key that every filter has events for (in key
/// order), up to `per_key` samples, each a set of distinct events, one per
/// filter. Events are tried in input order, those not yet used by an earlier
/// sample of the key first, so the samples of a key differ as much as they
/// can; a sample never repeats an earlier one. This reproduces the choices
/// Elasticsearch's specs accept.
fn samples(kept: &[&Kept], stages: usize, per_key: usize) -> Vec<Output> {
    // key -> the stages it has events for (a bit each, when there are at
    // most 64), and its (stage, event) pairs in input order. Keys are
    // borrowed from the events; most keys never meet every stage, and
    // their pairs are never sorted into per-stage lists.
    type Pairs = SmallVec<[(u32, u32); 2]>;
    let mut by_key: rustc_hash::FxHashMap<&Key, (u64, Pairs)> = Default::default();
    by_key.reserve(kept.len());
    for (i, k) in kept.iter().enumerate() {
        for (stage, keys) in &k.stages {
            for key in keys {
                let (met, pairs) = by_key.entry(key).or_default();
                *met |= 1u64.checked_shl(*stage as u32).unwrap_or(0);
                if pairs.last() != Some(&(*stage as u32, i as u32)) {
                    pairs.push((*stage as u32, i as u32));
                }
            }
        }
    }
    let all = 1u64.checked_shl(stages as u32).map_or(u64::MAX, |b| b - 1);
    let mut complete: Vec<(&Key, Vec<Vec<usize>>)> = by_key
        .into_iter()
        .filter(|(_, (met, _))| stages > 64 || *met == all)
        .map(|(key, (_, pairs))| {
            let mut lists = vec![Vec::new(); stages];
            for (stage, i) in pairs {
                lists[stage as usize].push(i as usize);
            }
            (key, lists)
        })
        .filter(|(_, lists)| lists.iter().all(|l| !l.is_empty()))
        .collect();
    // Keys equal in order (numbers written differently) by their text:
    // the map's iteration order must not decide.
    complete.sort_by(|(a, _), (b, _)| key_order(a, b).then_with(|| a.cmp(b)));
    let mut out = Vec::new();
    for (key, lists) in complete {
        let mut taken: Vec<Vec<usize>> = Vec::new();
        let mut used: Vec<Vec<usize>> = vec![Vec::new(); stages];
        for _ in 0..per_key {
            let ordered: Vec<Vec<usize>> = lists
                .iter()
                .zip(&used)
                .map(|(list, used)| {
                    let (fresh, seen): (Vec<usize>, Vec<usize>) =
                        list.iter().partition(|e| !used.contains(e));
                    fresh.into_iter().chain(seen).collect()
                })
                .collect();
            let mut chosen = Vec::with_capacity(stages);
            if !pick(&ordered, &taken, &mut chosen) {
                break;
            }
            for (stage, e) in chosen.iter().enumerate() {
                used[stage].push(*e);
            }
            out.push(Output::Sample {
                join_keys: key.clone(),
                events: chosen.iter().map(|&i| kept[i].hit.clone()).collect(),
            });
            taken.push(chosen);
        }
    }
    out
}

/// Backtracking choice of one event per stage, all distinct, forming a
/// sample not already taken.
fn pick(lists: &[Vec<usize>], taken: &[Vec<usize>], chosen: &mut Vec<usize>) -> bool {
    let stage = chosen.len();
    if stage == lists.len() {
        return !taken.contains(chosen);
    }
    for &e in &lists[stage] {
        if chosen.contains(&e) {
            continue;
        }
        chosen.push(e);
        if pick(lists, taken, chosen) {
            return true;
        }
        chosen.pop();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::push_decimal;

    /// Numbers are keyed by their decimal text: a digit wrong and rules on
    /// ports or event codes would never see their events.
    #[test]
    fn numbers_key_as_their_decimal_text() {
        let mut samples = vec![i64::MIN, i64::MIN + 1, -10, -9, -1, 0, 1, 9, 10, 23, 3389];
        samples.extend([99, 100, 65535, 4624, i64::MAX - 1, i64::MAX]);
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            samples.push(x as i64 >> (x % 60));
        }
        let mut out = String::new();
        for n in samples {
            out.clear();
            push_decimal(&mut out, n);
            assert_eq!(out, n.to_string());
        }
    }
}
