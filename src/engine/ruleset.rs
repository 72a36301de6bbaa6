//! Many queries over one stream of events, each event read once: the
//! queries are compiled against one shared field table, the projector
//! decodes an event onto it once, and every query's [`Collector`] evaluates
//! the same record. This is how a folder of rules runs in one pass.

use super::{
    compile_eql_in, compile_kql_in, Collector, CompiledQuery, Evaluated, EventFilter,
    IndexPatterns, Kept, Matches, Origin, Output, QueryOptions,
};
use super::{evaluate_in, index_key, EventTime, IndexKey, StageMask};
use crate::compile::ir::FieldId;
use crate::compile::ir::{FieldTable, Fields};
use crate::diag::Diagnostic;
use crate::event::{Projector, Record};
use crate::mapping::Mapping;
use crate::syntax::{eql, kql};
use rustc_hash::FxHashMap;
use std::collections::HashMap;

/// Compiled queries that share one field table.
#[derive(Debug, Clone)]
pub struct RuleSet {
    /// Every field any query reads.
    pub fields: FieldTable,
    /// The queries, in the order they were added.
    pub queries: Vec<CompiledQuery>,
    /// Per query: the indices it searches (`None`: every event).
    pub indices: Vec<Option<IndexPatterns>>,
    /// Per query: the rule's filters, all of which an event must pass.
    pub filters: Vec<Vec<EventFilter>>,
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
        RuleSetBuilder {
            fields: Fields::new(mapping),
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
    pub fn finish(self) -> RuleSet {
        RuleSet {
            fields: self.fields.table,
            queries: self.queries,
            indices: self.indices,
            filters: self.filters,
        }
    }
}

/// The queries keyed on one field, each with the filters (stages) the key
/// concerns and which of the filter's two key sets it belongs to.
struct KeyIndex {
    field: FieldId,
    /// Per key: the queries and filters it concerns.
    queries: FxHashMap<String, Vec<Mark>>,
    /// The filters with a numeric key here (a value too large to key
    /// exactly concerns them all).
    numeric: Vec<Mark>,
}

/// A filter of a query met by an event value. Small, since the lists of
/// common values are long and walked for every event.
#[derive(Debug, Clone, Copy)]
struct Mark {
    query: u32,
    /// The filter's bit number in the query's [`StageMask`].
    bit: u8,
}

impl Mark {
    fn new(query: usize, stage: usize) -> Mark {
        Mark {
            query: query as u32,
            bit: stage.min(63) as u8,
        }
    }
}

/// The second key sets of filters on one field, as bit sets over the
/// filters that have one: a second set is usually on a common field (the
/// operating system, the event type), whose lists of filters would be long
/// to walk for every event; or-ing a few bit sets is cheap.
struct SecondIndex {
    field: FieldId,
    /// Per key: the filters whose second set it meets.
    values: FxHashMap<String, Vec<u64>>,
    /// The filters with a numeric second key here.
    numeric: Vec<u64>,
}

fn set_bit(bits: &mut Vec<u64>, i: usize) {
    if bits.len() <= i / 64 {
        bits.resize(i / 64 + 1, 0);
    }
    bits[i / 64] |= 1 << (i % 64);
}

fn or_into(into: &mut [u64], bits: &[u64]) {
    for (a, b) in into.iter_mut().zip(bits) {
        *a |= b;
    }
}

/// Runs a [`RuleSet`] over a stream of events.
pub struct Runner<'s> {
    projector: Projector<'s>,
    collectors: Vec<Collector<'s>>,
    /// Filters that see every event (they state no index keys), per query.
    always: Vec<(usize, StageMask)>,
    /// The other filters by their index keys (see
    /// [`CompiledQuery::stage_keys`]).
    by_key: Vec<KeyIndex>,
    /// Scratch, per query: the filters whose first key set the current
    /// event meets, then those it may meet.
    masks: Vec<u64>,
    /// Per query: its filters with a second key set, as (mask bit, number
    /// among all such filters).
    second: Vec<Vec<(u8, u32)>>,
    /// The second key sets by field.
    second_index: Vec<SecondIndex>,
    /// Scratch: the filters whose second key set the current event meets.
    second_met: Vec<u64>,
    /// Scratch: the queries with a mask set.
    touched: Vec<usize>,
    /// Scratch: the queries the current event is offered to.
    chosen: Vec<usize>,
    /// Scratch for an event value's key.
    scratch: String,
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
        let mut runner = Runner::new(set);
        runner.collectors = set.queries.iter().map(Collector::streaming).collect();
        runner
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
        let mut always = Vec::new();
        let mut by_key: Vec<KeyIndex> = Vec::new();
        let mut second: Vec<Vec<(u8, u32)>> = vec![Vec::new(); set.queries.len()];
        let mut second_index: Vec<SecondIndex> = Vec::new();
        let mut seconds = 0usize;
        for (i, q) in set.queries.iter().enumerate() {
            let mut keyless = StageMask(0);
            for (stage, conditions) in q.stage_keys().into_iter().enumerate() {
                let bit = StageMask::of(stage);
                let mut conditions = conditions.into_iter();
                let Some(first) = conditions.next() else {
                    keyless.0 |= bit.0;
                    continue;
                };
                for (field, values) in first.0 {
                    let slot = match by_key.iter().position(|k| k.field == field) {
                        Some(p) => p,
                        None => {
                            by_key.push(KeyIndex {
                                field,
                                queries: FxHashMap::default(),
                                numeric: Vec::new(),
                            });
                            by_key.len() - 1
                        }
                    };
                    let index = &mut by_key[slot];
                    let mut numeric = false;
                    for v in values {
                        numeric |= v.parse::<i64>().is_ok();
                        index
                            .queries
                            .entry(v)
                            .or_default()
                            .push(Mark::new(i, stage));
                    }
                    if numeric {
                        index.numeric.push(Mark::new(i, stage));
                    }
                }
                // Filters sharing the last mask bit keep their first set only.
                let Some(keys) = conditions.next().filter(|_| stage < 63) else {
                    continue;
                };
                let n = seconds;
                seconds += 1;
                second[i].push((stage as u8, n as u32));
                for (field, values) in keys.0 {
                    let slot = match second_index.iter().position(|k| k.field == field) {
                        Some(p) => p,
                        None => {
                            second_index.push(SecondIndex {
                                field,
                                values: FxHashMap::default(),
                                numeric: Vec::new(),
                            });
                            second_index.len() - 1
                        }
                    };
                    let index = &mut second_index[slot];
                    for v in values {
                        if v.parse::<i64>().is_ok() {
                            set_bit(&mut index.numeric, n);
                        }
                        set_bit(index.values.entry(v).or_default(), n);
                    }
                }
            }
            if keyless.0 != 0 {
                always.push((i, keyless));
            }
        }
        Runner {
            projector: Projector::new(&set.fields),
            collectors: set.queries.iter().map(Collector::new).collect(),
            always,
            by_key,
            masks: vec![0; set.queries.len()],
            second,
            second_index,
            second_met: vec![0; seconds.div_ceil(64)],
            touched: Vec::new(),
            chosen: Vec::new(),
            scratch: String::new(),
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
        let record = self.projector.project(bytes)?;
        self.select(&record);
        let mut time = EventTime::default();
        for &i in &self.chosen {
            if let Evaluated::Kept(k) = evaluate_in(
                self.collectors[i].query,
                origin.clone(),
                &record,
                seq,
                &mut time,
                StageMask(self.masks[i]),
            ) {
                out.push((i, k));
            }
        }
        self.projector.recycle(record);
        Ok(())
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
        // Offer the event only to the queries its keys concern.
        for (q, keyless) in &self.always {
            if self.masks[*q] == 0 {
                self.touched.push(*q);
            }
            self.masks[*q] |= keyless.0;
        }
        let (masks, touched) = (&mut self.masks, &mut self.touched);
        let mut mark = |m: &Mark| {
            let q = m.query as usize;
            if masks[q] == 0 {
                touched.push(q);
            }
            masks[q] |= 1 << m.bit;
        };
        for k in &self.by_key {
            for v in record.values(k.field) {
                match index_key(&v, &mut self.scratch) {
                    Some(IndexKey::Key(key)) => {
                        if let Some(qs) = k.queries.get(key) {
                            qs.iter().for_each(&mut mark);
                        }
                    }
                    Some(IndexKey::AnyNumber) => k.numeric.iter().for_each(&mut mark),
                    None => {}
                }
            }
        }
        // Then the second key sets, where filters have them.
        self.second_met.fill(0);
        for k in &self.second_index {
            for v in record.values(k.field) {
                match index_key(&v, &mut self.scratch) {
                    Some(IndexKey::Key(key)) => {
                        if let Some(bits) = k.values.get(key) {
                            or_into(&mut self.second_met, bits);
                        }
                    }
                    Some(IndexKey::AnyNumber) => or_into(&mut self.second_met, &k.numeric),
                    None => {}
                }
            }
        }
        self.chosen.clear();
        for &q in &self.touched {
            for &(bit, n) in &self.second[q] {
                let n = n as usize;
                if self.second_met[n / 64] & (1 << (n % 64)) == 0 {
                    self.masks[q] &= !(1u64 << bit);
                }
            }
            if self.masks[q] != 0 {
                self.chosen.push(q);
            }
        }
        self.chosen.sort_unstable();
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
