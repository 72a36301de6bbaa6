//! Many queries over one stream of events, each event read once: the
//! queries are compiled against one shared field table, the projector
//! decodes an event onto it once, and every query's [`Collector`] evaluates
//! the same record. This is how a folder of rules runs in one pass.

use super::{
    compile_eql_in, compile_kql_in, Collector, CompiledQuery, Evaluated, EventFilter,
    IndexPatterns, Kept, Matches, Origin, Output, QueryOptions,
};
use super::{evaluate_in, evaluate_with, index_key, IndexKey, IndexKeys, PerEvent, StageMask};
use super::{KeyField, Plan};
use crate::compile::ir::FieldId;
use crate::compile::ir::{FieldTable, Fields, Filter, Lit, Test};
use crate::diag::Diagnostic;
use crate::eval::flat::Program;
use crate::eval::Memoized;
use crate::event::{Projector, Record, Value};
use crate::mapping::Mapping;
use crate::syntax::{eql, kql};
use rustc_hash::{FxHashMap, FxHasher};
use std::cell::Cell;
use std::collections::{BTreeSet, HashMap};
use std::hash::{Hash, Hasher};

/// Compiled queries that share one field table.
#[derive(Debug, Clone)]
pub struct RuleSet {
    /// Every field any query reads (each query's
    /// [`fields`](CompiledQuery::fields) is this table).
    pub fields: std::sync::Arc<FieldTable>,
    /// The queries, in the order they were added.
    pub queries: Vec<CompiledQuery>,
    /// Per query: the indices it searches (`None`: every event).
    pub indices: Vec<Option<IndexPatterns>>,
    /// Per query: the rule's filters, all of which an event must pass.
    pub filters: Vec<Vec<EventFilter>>,
    /// How many conditions the queries share: term tests that two filters
    /// or more state alike (`host.os.type == "windows"`, `event.type ==
    /// "start"`, ...) are wrapped in [`Filter::Shared`], numbered from 0, so
    /// that a [`Runner`] evaluates each once per event for all of them.
    pub shared: usize,
}

/// Builds a [`RuleSet`] query by query.
pub struct RuleSetBuilder<'m> {
    fields: Fields<'m>,
    queries: Vec<CompiledQuery>,
    indices: Vec<Option<IndexPatterns>>,
    filters: Vec<Vec<EventFilter>>,
}

impl<'m> RuleSetBuilder<'m> {
    /// An empty set; fields resolve through `mapping` when given (it must be
    /// the mapping the queries' options carry).
    pub fn new(mapping: Option<&'m Mapping>) -> Self {
        let mut fields = Fields::new(mapping);
        fields.in_set = true;
        RuleSetBuilder {
            fields,
            queries: Vec::new(),
            indices: Vec::new(),
            filters: Vec::new(),
        }
    }

    /// Adds an EQL query; returns its index in the set.
    pub fn add_eql(
        &mut self,
        query: &eql::Query,
        options: &QueryOptions,
    ) -> Result<usize, Diagnostic> {
        let compiled = compile_eql_in(query, options, &mut self.fields)?;
        self.queries.push(compiled);
        self.indices.push(None);
        self.filters.push(Vec::new());
        Ok(self.queries.len() - 1)
    }

    /// Adds a KQL query; returns its index in the set.
    pub fn add_kql(
        &mut self,
        query: &kql::Query,
        options: &QueryOptions,
    ) -> Result<usize, Diagnostic> {
        let compiled = compile_kql_in(query, options, &mut self.fields)?;
        self.queries.push(compiled);
        self.indices.push(None);
        self.filters.push(Vec::new());
        Ok(self.queries.len() - 1)
    }

    /// Makes the events event query `query` keeps carry the values of
    /// `fields` (see [`CompiledQuery::values`]), and their text only when
    /// `keep_source`.
    pub fn carry_values(&mut self, query: usize, fields: &[&str], keep_source: bool) {
        let values = fields
            .iter()
            .map(|f| KeyField {
                id: self.fields.intern(f),
                optional: false,
                date: None,
            })
            .collect();
        let q = &mut self.queries[query];
        q.values = values;
        q.keeps_source = keep_source;
    }

    /// Restricts query `query` to events from the indices `patterns`
    /// match; events whose index is unknown still reach it.
    pub fn restrict(&mut self, query: usize, patterns: IndexPatterns) {
        self.indices[query] = Some(patterns);
    }

    /// Compiles a rule's Kibana filter objects against the set's fields;
    /// disabled ones are left out. An unsupported filter is an error naming
    /// it. Compile them before adding the rule's query, so that a rule
    /// whose filters fail adds nothing.
    pub fn kibana_filters(
        &mut self,
        filters: &[serde_json::Value],
    ) -> Result<Vec<EventFilter>, String> {
        let mut compiled = Vec::new();
        for f in filters {
            compiled.extend(EventFilter::from_kibana(f, &mut self.fields)?);
        }
        Ok(compiled)
    }

    /// Gates query `query` behind `filters`: an event reaches it only when
    /// it passes them all.
    pub fn set_filters(&mut self, query: usize, filters: Vec<EventFilter>) {
        self.filters[query] = filters;
    }

    /// The finished set.
    pub fn finish(mut self) -> RuleSet {
        let shared = share(&mut self.queries);
        let fields = std::sync::Arc::new(self.fields.table);
        for q in &mut self.queries {
            q.fields = std::sync::Arc::clone(&fields);
        }
        RuleSet {
            fields,
            queries: self.queries,
            indices: self.indices,
            filters: self.filters,
            shared,
        }
    }
}

/// The filters of a plan (event filter, stages, `until`), in the order of
/// [`CompiledQuery::stage_keys`].
fn plan_filters(plan: &Plan) -> Vec<&Filter> {
    match plan {
        Plan::Events(f) => vec![f],
        Plan::Sequence { stages, until, .. } => {
            stages.iter().chain(until).map(|s| &s.filter).collect()
        }
        Plan::Sample { stages, .. } => stages.iter().map(|s| &s.filter).collect(),
    }
}

/// [`plan_filters`], to rewrite them.
fn plan_filters_mut(plan: &mut Plan) -> Vec<&mut Filter> {
    match plan {
        Plan::Events(f) => vec![f],
        Plan::Sequence { stages, until, .. } => stages
            .iter_mut()
            .chain(until.as_mut())
            .map(|s| &mut s.filter)
            .collect(),
        Plan::Sample { stages, .. } => stages.iter_mut().map(|s| &mut s.filter).collect(),
    }
}

/// Calls `visit` on each term test of `filter` outside nested queries
/// (inside one, a test holds of one object rather than of the event).
fn visit_tests<'f>(filter: &'f Filter, visit: &mut impl FnMut(&'f Filter)) {
    match filter {
        Filter::Test { .. } => visit(filter),
        Filter::And(c) | Filter::Or(c) => c.iter().for_each(|c| visit_tests(c, visit)),
        Filter::Not(c) => visit_tests(c, visit),
        _ => {}
    }
}

/// `filter` with its term tests wrapped in [`Filter::Shared`] where `wrap`
/// gives a number; `wrap` is called for each test [`visit_tests`] visits,
/// in the same order.
fn wrap_tests(filter: Filter, wrap: &mut impl FnMut() -> Option<u32>) -> Filter {
    match filter {
        Filter::Test { .. } => match wrap() {
            Some(id) => Filter::Shared(id, Box::new(filter)),
            None => filter,
        },
        Filter::And(_) | Filter::Or(_) | Filter::Not(_) => {
            filter.map_children(|c| wrap_tests(c, wrap))
        }
        other => other,
    }
}

/// A hash of a term test that equal tests share (unequal ones may too):
/// the field, the kind of test and the text it compares with.
fn test_hash(filter: &Filter) -> u64 {
    fn test(t: &Test, h: &mut FxHasher) {
        std::mem::discriminant(t).hash(h);
        match t {
            Test::Eq(Lit::Str(s)) | Test::EqFold(s) => s.hash(h),
            Test::Eq(Lit::Int(i)) => i.hash(h),
            Test::Eq(Lit::Float(f)) => f.to_bits().hash(h),
            Test::Eq(Lit::Bool(b)) => b.hash(h),
            Test::Wildcard(w) => w.hash(h),
            Test::AnyOf(set) => set.tests.iter().for_each(|t| test(t, h)),
            _ => {}
        }
    }
    let mut h = FxHasher::default();
    if let Filter::Test { field, test: t } = filter {
        field.index().hash(&mut h);
        test(t, &mut h);
    }
    h.finish()
}

/// Wraps the term tests that occur more than once among the filters of
/// `queries` in [`Filter::Shared`], equal tests under one number; returns
/// how many numbers there are.
fn share(queries: &mut [CompiledQuery]) -> usize {
    // Per test visited, in order: which distinct test it is.
    let mut visits: Vec<usize> = Vec::new();
    // Per distinct test: how often it occurs.
    let mut counts: Vec<usize> = Vec::new();
    {
        let mut distinct: FxHashMap<u64, Vec<(&Filter, usize)>> = FxHashMap::default();
        for q in queries.iter() {
            for f in plan_filters(&q.plan) {
                visit_tests(f, &mut |t| {
                    let same = distinct.entry(test_hash(t)).or_default();
                    let i = match same.iter().find(|(other, _)| *other == t) {
                        Some(&(_, i)) => i,
                        None => {
                            same.push((t, counts.len()));
                            counts.push(0);
                            counts.len() - 1
                        }
                    };
                    counts[i] += 1;
                    visits.push(i);
                });
            }
        }
    }
    // Numbers for the tests stated more than once, in order of first use.
    let mut ids = vec![None; counts.len()];
    let mut next = 0u32;
    for &i in &visits {
        if counts[i] > 1 && ids[i].is_none() {
            ids[i] = Some(next);
            next += 1;
        }
    }
    if next == 0 {
        return 0;
    }
    let mut visits = visits.into_iter();
    for q in queries.iter_mut() {
        for f in plan_filters_mut(&mut q.plan) {
            let taken = std::mem::replace(f, Filter::Const(true));
            *f = wrap_tests(taken, &mut || ids[visits.next().expect("visited")]);
        }
    }
    next as usize
}

/// Key sets on one field, as bit sets over all the filters of a rule set
/// (every query's event filter or stages): most events meet common values
/// (an operating system, an event type) that hundreds of filters key on,
/// and or-ing a few bit sets costs less than walking lists of them. Both
/// of a filter's key sets (see [`choose_keys`]) are held here, so that an
/// event value is looked up once for both.
struct KeyIndex {
    /// Per key: its bit sets for the filters keyed by it first and second.
    values: FxHashMap<Box<str>, [Bits; 2]>,
    /// The bit sets of the filters with a numeric key here, first and
    /// second (a value too large to key exactly concerns them all).
    numeric: [Bits; 2],
    /// The length of the longest key, in bytes: a longer string (a
    /// command line, say) meets none, and is not keyed at all.
    longest: usize,
}

/// A bit set over the filters, stored sparse: the range of its non-zero
/// words in [`KeyIndexes::words`].
#[derive(Clone, Copy, Default)]
struct Bits {
    start: u32,
    end: u32,
}

/// One non-zero word of a [`Bits`]: its place among the words, and its
/// bits.
#[derive(Clone, Copy)]
struct Word {
    at: u32,
    bits: u64,
}

/// The key indexes of a rule set, by field. Most keys concern a few
/// filters, so their bit sets are stored as their non-zero words, all in
/// one array: a few cache lines per event value rather than a whole set.
struct KeyIndexes {
    /// Per field (by index): its index in `fields` (`u32::MAX`: none).
    by_field: Vec<u32>,
    fields: Vec<KeyIndex>,
    words: Vec<Word>,
}

/// A [`KeyIndexes`] being built: bit sets as dense words for now.
struct KeyIndexesBuilder {
    by_field: Vec<u32>,
    fields: Vec<DenseKeys>,
}

/// A [`KeyIndex`] being built.
#[derive(Default)]
struct DenseKeys {
    values: FxHashMap<Box<str>, [Vec<u64>; 2]>,
    numeric: [Vec<u64>; 2],
    longest: usize,
}

impl KeyIndexesBuilder {
    fn new(fields: usize) -> Self {
        KeyIndexesBuilder {
            by_field: vec![u32::MAX; fields],
            fields: Vec::new(),
        }
    }

    /// Adds filter `n`'s keys on `field`, as its `layer` (0: first key
    /// set, 1: second).
    fn add(&mut self, field: FieldId, values: &BTreeSet<String>, n: usize, layer: usize) {
        let slot = &mut self.by_field[field.index()];
        if *slot == u32::MAX {
            *slot = self.fields.len() as u32;
            self.fields.push(Default::default());
        }
        let keys = &mut self.fields[*slot as usize];
        for v in values {
            keys.longest = keys.longest.max(v.len());
            if v.parse::<i64>().is_ok() {
                set_bit(&mut keys.numeric[layer], n);
            }
            set_bit(
                &mut keys.values.entry(v.as_str().into()).or_default()[layer],
                n,
            );
        }
    }

    fn finish(self) -> KeyIndexes {
        let mut words = Vec::new();
        let mut pack = |dense: &[u64]| {
            let start = words.len() as u32;
            for (at, &bits) in dense.iter().enumerate() {
                if bits != 0 {
                    words.push(Word {
                        at: at as u32,
                        bits,
                    });
                }
            }
            Bits {
                start,
                end: words.len() as u32,
            }
        };
        let fields = self
            .fields
            .into_iter()
            .map(|keys| KeyIndex {
                values: keys
                    .values
                    .into_iter()
                    .map(|(k, [a, b])| (k, [pack(&a), pack(&b)]))
                    .collect(),
                numeric: [pack(&keys.numeric[0]), pack(&keys.numeric[1])],
                longest: keys.longest,
            })
            .collect();
        KeyIndexes {
            by_field: self.by_field,
            fields,
            words,
        }
    }
}

impl KeyIndexes {
    /// Or-s into `met` the filters whose first, and second, key sets
    /// `value` (a value of `field`) meets.
    fn meet(&self, field: FieldId, value: &Value, scratch: &mut String, met: &mut [Vec<u64>; 2]) {
        let Some(&at) = self.by_field.get(field.index()) else {
            return;
        };
        let Some(index) = self.fields.get(at as usize) else {
            return;
        };
        // A string's key is as long as the string.
        if matches!(value, Value::Str(s) if s.len() > index.longest) {
            return;
        }
        let sets = match index_key(value, scratch) {
            Some(IndexKey::Key(key)) => match index.values.get(key) {
                Some(sets) => sets,
                None => return,
            },
            Some(IndexKey::AnyNumber) => &index.numeric,
            None => return,
        };
        for (into, set) in met.iter_mut().zip(sets) {
            let words = self.words.get(set.start as usize..set.end as usize);
            for w in words.into_iter().flatten() {
                if let Some(word) = into.get_mut(w.at as usize) {
                    *word |= w.bits;
                }
            }
        }
    }
}

/// Per key (field and value): how many filters of the set state it. A
/// value many rules look for (an operating system, `start`, `exec`) is
/// likely common among events too, one few rules name (`ssh_login`) rare.
fn popularity(keys: &[Vec<Vec<IndexKeys>>]) -> FxHashMap<(FieldId, &str), u32> {
    let mut count: FxHashMap<(FieldId, &str), u32> = FxHashMap::default();
    for conditions in keys.iter().flatten() {
        let mut seen = BTreeSet::new();
        for set in conditions {
            for (field, values) in &set.0 {
                for v in values {
                    if seen.insert((*field, v.as_str())) {
                        *count.entry((*field, v.as_str())).or_default() += 1;
                    }
                }
            }
        }
    }
    count
}

/// The one or two sets of keys (on different fields) a filter is indexed
/// by, of the sets its conjuncts state (`conditions`): of the fields most
/// events share last (see [`super::key_rank`]), those whose values fewer
/// filters state first; `None` when there are none.
fn choose_keys<'k>(
    conditions: &'k [IndexKeys],
    q: &CompiledQuery,
    table: &FieldTable,
    popularity: &FxHashMap<(FieldId, &str), u32>,
) -> Option<(&'k IndexKeys, Option<&'k IndexKeys>)> {
    let rank = |k: &&IndexKeys| {
        let (common, category, _) = super::key_rank(k, table, q.category);
        let stated: u64 =
            k.0.iter()
                .flat_map(|(f, values)| values.iter().map(move |v| (*f, v.as_str())))
                .map(|key| u64::from(popularity.get(&key).copied().unwrap_or(0)))
                .sum();
        (common, category, stated)
    };
    // `min_by_key` keeps the first of equal ranks: the first written.
    let first = conditions.iter().min_by_key(rank)?;
    let second = conditions
        .iter()
        .filter(|k| k.0.keys().all(|f| !first.0.contains_key(f)))
        .min_by_key(rank);
    Some((first, second))
}

fn set_bit(bits: &mut Vec<u64>, i: usize) {
    if bits.len() <= i / 64 {
        bits.resize(i / 64 + 1, 0);
    }
    bits[i / 64] |= 1 << (i % 64);
}

/// How many events [`Runner::evaluate_batch`] evaluates together.
pub const CHUNK: usize = 64;

/// A query offered an event of a chunk: the filters offered (or, once
/// evaluated, those that hold).
#[derive(Debug, Clone, Copy, Default)]
struct Offer {
    query: u32,
    event: u32,
    mask: u64,
}

/// `offers` sorted stably into `sorted` by `key` (below `counts.len()`): a
/// counting sort. `counts` is scratch, all zero before and after.
fn sort_offers(
    offers: &[Offer],
    key: impl Fn(&Offer) -> usize,
    counts: &mut [u32],
    sorted: &mut Vec<Offer>,
) {
    for o in offers {
        counts[key(o)] += 1;
    }
    let mut at = 0;
    for c in counts.iter_mut() {
        let n = *c;
        *c = at;
        at += n;
    }
    sorted.clear();
    sorted.resize(offers.len(), Offer::default());
    for o in offers {
        let slot = &mut counts[key(o)];
        sorted[*slot as usize] = *o;
        *slot += 1;
    }
    counts.iter_mut().for_each(|c| *c = 0);
}

/// Runs a [`RuleSet`] over a stream of events.
pub struct Runner<'s> {
    projector: Projector<'s>,
    collectors: Vec<Collector<'s>>,
    /// Whether the runner can evaluate (see [`Runner::collecting`]).
    evaluates: bool,
    /// Every filter of the set, by number: (query, its bit in the query's
    /// [`StageMask`]).
    slots: Vec<(u32, u8)>,
    /// Every filter of the set, flattened, under the same numbers.
    program: Program<'s>,
    /// Per query: the number of its first filter, or `None` for a query
    /// with more filters than a [`StageMask`] tells apart, whose trees are
    /// evaluated instead.
    first_slot: Vec<Option<u32>>,
    /// The filters that see every event (they state no index keys).
    always: Vec<u64>,
    /// The filters' key sets (see [`CompiledQuery::stage_keys`]).
    keys: KeyIndexes,
    /// The filters with a second key set.
    has_second: Vec<u64>,
    /// Scratch: the filters whose first, and second, key set the current
    /// event meets.
    met: [Vec<u64>; 2],
    /// Scratch, per query: the filters the current event may meet.
    masks: Vec<u64>,
    /// Scratch: the queries with a mask set.
    touched: Vec<usize>,
    /// Scratch: the queries the current event is offered to.
    chosen: Vec<usize>,
    /// Scratch for an event value's key.
    scratch: String,
    /// Scratch: the verdicts of the set's shared conditions on the current
    /// event (see [`crate::eval::Memoized`]).
    memo: Vec<Cell<u8>>,
    /// Scratch for [`Runner::evaluate_batch`]: the offers of a chunk's
    /// events, sorted ones, those held, per query a count, and the shared
    /// conditions' verdicts on the chunk's events (condition by condition).
    offers: Vec<Offer>,
    sorted: Vec<Offer>,
    held: Vec<Offer>,
    counts: Vec<u32>,
    chunk_memo: Vec<Cell<u8>>,
    indices: &'s [Option<IndexPatterns>],
    filters: &'s [Vec<EventFilter>],
    /// Per index name seen: whether each query searches it.
    searched: HashMap<String, Vec<bool>>,
    default_index: Option<String>,
    /// Per query: whether this runner evaluates it (all, unless narrowed).
    mine: Vec<bool>,
}

impl<'s> Runner<'s> {
    /// A runner for every query of `set` whose queries stream their results
    /// (see [`Collector::streaming`]): take them with
    /// [`Runner::take_ready`] as the events come, the rest from
    /// [`Runner::finish`].
    pub fn streaming(set: &'s RuleSet) -> Self {
        let collectors = set.queries.iter().map(Collector::streaming).collect();
        Runner::build(set, collectors, true)
    }

    /// A runner that only collects: it takes what other runners'
    /// [`evaluate`](Runner::evaluate) kept, through [`push`](Runner::push),
    /// and builds neither the index nor the flat program that evaluating
    /// needs (for the corpus rules, 60 ms and megabytes). Its results
    /// stream as [`Runner::streaming`]'s do when `streaming`, else they
    /// are kept as [`Runner::new`]'s are.
    ///
    /// # Panics
    ///
    /// When asked to evaluate or offer an event.
    pub fn collecting(set: &'s RuleSet, streaming: bool) -> Self {
        let collectors = set
            .queries
            .iter()
            .map(|q| match streaming {
                true => Collector::streaming(q),
                false => Collector::new(q),
            })
            .collect();
        Runner::build(set, collectors, false)
    }

    /// Results final already, as (query, result).
    pub fn take_ready(&mut self, mut take: impl FnMut(usize, Output)) {
        for (q, c) in self.collectors.iter_mut().enumerate() {
            for out in c.take_ready() {
                take(q, out);
            }
        }
    }

    /// Per streaming query that met events too late to put in time order:
    /// (query, how many, where the first came from).
    pub fn late(&self) -> Vec<(usize, u64, Origin)> {
        self.collectors
            .iter()
            .enumerate()
            .filter_map(|(q, c)| c.late().map(|(n, o)| (q, n, o)))
            .collect()
    }

    /// A runner for every query of `set`, keeping every evaluated event
    /// (for [`Runner::finish_matches`]).
    pub fn new(set: &'s RuleSet) -> Self {
        Runner::build(set, set.queries.iter().map(Collector::new).collect(), true)
    }

    /// A runner with `collectors`, and what evaluating needs when `evaluates`.
    fn build(set: &'s RuleSet, collectors: Vec<Collector<'s>>, evaluates: bool) -> Self {
        let mut slots = Vec::new();
        let mut program = Program::new();
        let mut first_slot = Vec::with_capacity(set.queries.len());
        let (mut always, mut has_second) = (Vec::new(), Vec::new());
        let keys: Vec<Vec<Vec<IndexKeys>>> = match evaluates {
            true => set.queries.iter().map(|q| q.stage_keys()).collect(),
            false => Vec::new(),
        };
        let popularity = popularity(&keys);
        let mut index = KeyIndexesBuilder::new(set.fields.len());
        for (i, (q, filters)) in set.queries.iter().zip(&keys).enumerate() {
            let trees = plan_filters(&q.plan);
            first_slot.push((trees.len() <= 64).then_some(slots.len() as u32));
            for (stage, conditions) in filters.iter().enumerate() {
                let n = slots.len();
                program.add(trees[stage]);
                slots.push((i as u32, stage.min(63) as u8));
                let Some((first, second)) = choose_keys(conditions, q, &set.fields, &popularity)
                else {
                    set_bit(&mut always, n);
                    continue;
                };
                for (field, values) in &first.0 {
                    index.add(*field, values, n, 0);
                }
                if let Some(second) = second {
                    set_bit(&mut has_second, n);
                    for (field, values) in &second.0 {
                        index.add(*field, values, n, 1);
                    }
                }
            }
        }
        let words = slots.len().div_ceil(64);
        always.resize(words, 0);
        has_second.resize(words, 0);
        Runner {
            projector: Projector::new(&set.fields),
            collectors,
            evaluates,
            slots,
            program,
            first_slot,
            always,
            keys: index.finish(),
            has_second,
            met: [vec![0; words], vec![0; words]],
            masks: vec![0; set.queries.len()],
            touched: Vec::new(),
            chosen: Vec::new(),
            scratch: String::new(),
            memo: vec![Cell::new(0); set.shared],
            offers: Vec::new(),
            sorted: Vec::new(),
            held: Vec::new(),
            counts: vec![0; set.queries.len()],
            chunk_memo: Vec::new(),
            indices: &set.indices,
            filters: &set.filters,
            searched: HashMap::new(),
            default_index: None,
            mine: vec![true; set.queries.len()],
        }
    }

    /// Narrows the runner to the queries `keep` selects: several runners
    /// over the same events, each with its share of the queries, can run on
    /// separate threads.
    pub fn keep_only(&mut self, keep: impl Fn(usize) -> bool) {
        for (q, mine) in self.mine.iter_mut().enumerate() {
            *mine = keep(q);
        }
    }

    /// The index of events that carry no `_index` of their own (`--index`).
    pub fn set_default_index(&mut self, index: Option<String>) {
        self.default_index = index;
    }

    /// Reads one event once and offers it to every query. A parse error is
    /// returned for the caller to report.
    pub fn offer(&mut self, origin: Origin, bytes: &[u8]) -> Result<(), serde_json::Error> {
        assert!(self.evaluates, "a collecting runner evaluates nothing");
        let record = self.projector.project(bytes)?;
        self.select(&record);
        for &i in &self.chosen {
            self.collectors[i].offer_record(origin.clone(), &record);
        }
        self.projector.recycle(record);
        Ok(())
    }

    /// Reads one event once and evaluates it for every query, keeping
    /// nothing: what a query keeps goes to `out` as (query, kept), for the
    /// runner that collects results to [`push`](Runner::push) in input
    /// order. `seq` is the event's place in the input. This is how several
    /// threads share the evaluation of one stream of events.
    pub fn evaluate(
        &mut self,
        origin: &Origin,
        seq: u64,
        bytes: &[u8],
        out: &mut Vec<(usize, Kept)>,
    ) -> Result<(), serde_json::Error> {
        assert!(self.evaluates, "a collecting runner evaluates nothing");
        let record = self.projector.project(bytes)?;
        self.select(&record);
        let mut per = PerEvent::default();
        self.memo.iter().for_each(|c| c.set(0));
        let doc = Memoized {
            record: &record,
            memo: &self.memo,
            stride: 1,
        };
        for &i in &self.chosen {
            let mask = match self.first_slot[i] {
                // The offered filters' verdicts first, from the flat
                // program; the query itself is looked at only when one
                // holds (for most queries offered an event, none does).
                Some(first) => match self.program.verdicts(first, self.masks[i], &doc) {
                    0 => continue,
                    verdicts => verdicts,
                },
                None => self.masks[i],
            };
            let kept = self.keep(i, mask, origin, &record, seq, &mut per, (&self.memo, 1));
            out.extend(kept.map(|k| (i, k)));
        }
        self.projector.recycle(record);
        Ok(())
    }

    /// What query `i` keeps of an event offered to it: given the verdicts of
    /// its filters when it has a flat program, else the mask of the filters
    /// offered, which are evaluated from their trees.
    #[allow(clippy::too_many_arguments)]
    fn keep(
        &self,
        i: usize,
        mask: u64,
        origin: &Origin,
        record: &Record,
        seq: u64,
        per: &mut PerEvent,
        (memo, stride): (&[Cell<u8>], usize),
    ) -> Option<Kept> {
        let q = self.collectors[i].query;
        let evaluated = match self.first_slot[i] {
            Some(_) => evaluate_with(q, origin.clone(), record, seq, per, |f, _| {
                mask >> f & 1 == 1
            }),
            None => evaluate_in(
                q,
                origin.clone(),
                record,
                seq,
                per,
                StageMask(mask),
                (memo, stride),
            ),
        };
        match evaluated {
            Evaluated::Kept(k) => Some(k),
            _ => None,
        }
    }

    /// [`evaluate`](Runner::evaluate) for many events, with the same
    /// results in the same order: (query, kept) in `out`, event by event,
    /// each event's in query order. An event that does not parse is handed
    /// to `failed` with its place among `events`, and the others go on.
    ///
    /// Events are taken [`CHUNK`] at a time, and each query offered some of
    /// a chunk's events is evaluated on them one after the other. One event
    /// at a time, every query offered an event loads its filter's nodes and
    /// tests from memory spread over the whole rule set, misses the cache,
    /// and leaves them to be evicted before the next event needs them.
    pub fn evaluate_batch<'b>(
        &mut self,
        events: impl IntoIterator<Item = (&'b Origin, u64, &'b [u8])>,
        out: &mut Vec<(usize, Kept)>,
        mut failed: impl FnMut(usize, serde_json::Error),
    ) {
        assert!(self.evaluates, "a collecting runner evaluates nothing");
        let mut events = events.into_iter().enumerate();
        let mut chunk: Vec<(&Origin, u64, Record<'b>)> = Vec::with_capacity(CHUNK);
        let shared = self.memo.len();
        loop {
            // Each event's offers, event by event.
            self.offers.clear();
            let mut taken = 0;
            for (n, (origin, seq, bytes)) in events.by_ref().take(CHUNK) {
                taken += 1;
                match self.projector.project(bytes) {
                    Ok(record) => {
                        self.select(&record);
                        let event = chunk.len() as u32;
                        self.offers.extend(self.chosen.iter().map(|&q| Offer {
                            query: q as u32,
                            event,
                            mask: self.masks[q],
                        }));
                        chunk.push((origin, seq, record));
                    }
                    Err(e) => failed(n, e),
                }
            }
            if taken == 0 {
                return;
            }
            if chunk.is_empty() {
                // A chunk of malformed events only: the batch goes on.
                continue;
            }
            // Query by query (each query's events in order), the verdicts.
            let by_query = |o: &Offer| o.query as usize;
            sort_offers(&self.offers, by_query, &mut self.counts, &mut self.sorted);
            // The shared conditions' verdicts, condition by condition: a
            // query's events read one condition's verdicts side by side.
            let stride = chunk.len();
            let memo = &mut self.chunk_memo;
            memo.clear();
            memo.resize(stride * shared, Cell::new(0));
            let memo = &self.chunk_memo;
            let events_memo = |e: u32| (memo.get(e as usize..).unwrap_or_default(), stride);
            self.held.clear();
            for o in &self.sorted {
                let mask = match self.first_slot[o.query as usize] {
                    Some(first) => {
                        let (memo, stride) = events_memo(o.event);
                        let doc = Memoized {
                            record: &chunk[o.event as usize].2,
                            memo,
                            stride,
                        };
                        self.program.verdicts(first, o.mask, &doc)
                    }
                    None => o.mask,
                };
                if mask != 0 {
                    self.held.push(Offer { mask, ..*o });
                }
            }
            // Back in event order for what the queries keep.
            let by_event = |o: &Offer| o.event as usize;
            let mut per_event = [0; CHUNK];
            sort_offers(&self.held, by_event, &mut per_event, &mut self.sorted);
            let mut per = PerEvent::default();
            let mut current = None;
            for o in &self.sorted {
                if current != Some(o.event) {
                    per = PerEvent::default();
                    current = Some(o.event);
                }
                let (origin, seq, record) = &chunk[o.event as usize];
                let (i, memo) = (o.query as usize, events_memo(o.event));
                let kept = self.keep(i, o.mask, origin, record, *seq, &mut per, memo);
                out.extend(kept.map(|k| (i, k)));
            }
            for (_, _, record) in chunk.drain(..) {
                self.projector.recycle(record);
            }
        }
    }

    /// Keeps an event another runner's [`evaluate`](Runner::evaluate) kept
    /// for query `query`.
    pub fn push(&mut self, query: usize, kept: Kept) {
        self.collectors[query].push(kept);
    }

    /// Chooses the queries `record` is offered to, into `self.chosen`, and
    /// the filters of each it may meet, into `self.masks`.
    fn select(&mut self, record: &Record) {
        for &q in &self.touched {
            self.masks[q] = 0;
        }
        self.touched.clear();
        // Offer the event only to the filters its keys concern: those
        // whose first key set it meets, and their second where they have one.
        let [first, second] = &mut self.met;
        first.copy_from_slice(&self.always);
        second.fill(0);
        // The event's values, not every indexed field: an event has a few
        // dozen values, the index hundreds of fields.
        for (field, value) in record.all_values() {
            self.keys
                .meet(field, &value, &mut self.scratch, &mut self.met);
        }
        let [first, second] = &self.met;
        for (w, (word, (met2, needs))) in first
            .iter()
            .zip(second.iter().zip(&self.has_second))
            .enumerate()
        {
            let mut bits = word & (met2 | !needs);
            while bits != 0 {
                let (q, bit) = self.slots[w * 64 + bits.trailing_zeros() as usize];
                bits &= bits - 1;
                let q = q as usize;
                if self.masks[q] == 0 {
                    self.touched.push(q);
                }
                self.masks[q] |= 1 << bit;
            }
        }
        // Filters are numbered in query order: `touched` is sorted.
        self.chosen.clear();
        self.chosen.extend_from_slice(&self.touched);
        let mine = &self.mine;
        self.chosen.retain(|&q| mine[q]);
        if let Some(index) = record.index().or(self.default_index.as_deref()) {
            if !self.searched.contains_key(index) {
                let verdicts = self
                    .indices
                    .iter()
                    .map(|p| p.as_ref().is_none_or(|p| p.matches(index)))
                    .collect();
                self.searched.insert(index.to_string(), verdicts);
            }
            let searched = &self.searched[index];
            self.chosen.retain(|&q| searched[q]);
        }
        let filters = self.filters;
        self.chosen
            .retain(|&q| filters[q].iter().all(|f| f.passes(record)));
    }

    /// Every query's results, in the order the queries were added.
    pub fn finish(self) -> Vec<Vec<Output>> {
        self.collectors.into_iter().map(Collector::finish).collect()
    }

    /// Every query's evaluated events, for results over time ranges (see
    /// [`Matches`]), in the order the queries were added.
    pub fn finish_matches(self) -> Vec<Matches<'s>> {
        self.collectors
            .into_iter()
            .map(Collector::into_matches)
            .collect()
    }
}
