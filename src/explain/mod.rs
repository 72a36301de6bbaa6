//! Why a rule did or did not fire on some events (`ruleq explain`).
//!
//! For each event: the rule-level gates it met (the rule's `index`
//! patterns, its `filters`, the execution window), and
//!
//! * for an event query (KQL, or an EQL event query), the query as a tree
//!   of clauses, each with its verdict (true, false or null), the rule
//!   that decided it when that is not plain, and the values the event holds
//!   for the fields it reads; the first failing clause marked;
//! * for a sequence or sample, the steps it matched and its join keys;
//!   and for each partial sequence, why it did not complete (another key,
//!   `maxspan`, `until`, a missing-event step, a newer partial replacing
//!   it) or that it did.
//!
//! Verdicts come from the engine itself: each clause is compiled alone
//! with the rule's own options and evaluated on the projected event; a
//! sequence is replayed from the candidate records the engine's stateless
//! stage keeps. The matches are then checked against a real run of the
//! rule (its rule set, index patterns and filters included); should they
//! differ, [`Explanation::approximate`] is set and the engine's results are
//! given.
//!
//! ```
//! use ruleq::explain::{explain, ExplainEvent, ExplainOptions};
//!
//! let file = ruleq::rule::load_file("rules/command_and_control_telnet_port_activity.toml".as_ref()).unwrap();
//! let event = br#"{"@timestamp":"2026-03-01T09:00:00Z","event":{"category":"network"},"network":{"transport":"tcp"},"destination":{"port":2323}}"#;
//! let events = [ExplainEvent { name: "e1".into(), bytes: event.to_vec() }];
//! let explanation = explain(&file.rules[0], &events, &ExplainOptions::default()).unwrap();
//! assert!(!explanation.events[0].matched);
//! let failed = explanation.events[0].query.as_ref().unwrap().first_failure().unwrap();
//! assert_eq!(failed.text, "destination.port:23");
//! assert!(explanation.human().contains("first failing clause"));
//! ```

mod clauses;
mod render;
mod sequence;
mod values;

pub use clauses::{Clause, Op, Verdict};
pub use sequence::SequenceExplanation;
pub use values::{FieldValue, FieldValues};

use crate::check::query::ParsedQuery;
use crate::compile::date::format_iso;
use crate::compile::ir::Fields;
use crate::detect::executor::executor;
use crate::detect::schedule::Schedule;
use crate::detect::select::{rule_name, rule_options};
use crate::engine::{
    compile_eql, compile_kql, evaluate, now_nanos, CompiledQuery, Evaluated, EventFilter,
    IndexPatterns, Kept, Origin, Output, Plan, QueryOptions, RuleSetBuilder, Runner,
};
use crate::eval::sequence::{Key, KeyValue};
use crate::event::{FieldTable, Projector};
use crate::mapping::Mapping;
use crate::rule::Rule;
use crate::syntax::{eql, kql};
use clauses::{Compiler, Template};
use serde::Serialize;

/// One event to explain: its name (its `_id`, else `file:line` as `ruleq
/// run` names it) and its JSON text.
#[derive(Debug, Clone)]
pub struct ExplainEvent {
    /// What the explanation calls the event.
    pub name: String,
    /// The event's JSON (an exported search hit is unwrapped).
    pub bytes: Vec<u8>,
}

/// How the rule runs, as `ruleq run` takes it.
#[derive(Debug, Clone, Default)]
pub struct ExplainOptions {
    /// The execution time in nanoseconds since the epoch: with it, the
    /// explanation is of Kibana's execution at that time, which searches
    /// the rule's window `from`..`to` around it (KQL date math counts from
    /// it too). Without it one execution sees all the events, as `ruleq
    /// run` has it, and date math counts from the clock.
    pub now: Option<i64>,
    /// Say which executions of the rule's schedule (every `interval`) see
    /// each event, as `ruleq run --schedule` replays them.
    pub schedule: bool,
    /// The index of events without `_index` (`--index`).
    pub index: Option<String>,
    /// The index mapping: field types, aliases, constant keywords.
    pub mapping: Option<Mapping>,
}

/// Why a rule did or did not fire on each of some events.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// The rule's name and `rule_id` (none for a bare query).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// `kql`, `eql event query`, `eql sequence` or `eql sample`.
    pub kind: &'static str,
    /// The query in canonical form.
    pub query: String,
    /// A sequence's or sample's steps (runs expanded) and `until`: each
    /// labelled (`step 2`, `missing step 3`, `until`) with its filter.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<String>,
    /// The execution window `[from, to]` (RFC 3339), when one applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<(String, String)>,
    /// Each event's explanation, in the order given.
    pub events: Vec<EventExplanation>,
    /// Each partial sequence's fate, in the order they started.
    pub sequences: Vec<SequenceExplanation>,
    /// The results of the real run: per result, its events' names (one for
    /// an event query's match; a missing-event step as `(missing)`).
    pub results: Vec<Vec<String>>,
    /// Whether the explanation's matches differ from the run's results:
    /// then `results` is what the engine found, and the explanation is
    /// approximate.
    pub approximate: bool,
}

/// One event's explanation.
#[derive(Debug, Clone, Serialize)]
pub struct EventExplanation {
    /// The event's name.
    pub name: String,
    /// Its time (RFC 3339), when it has one the rule reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Whether it is a result (an event query's match), or for sequences
    /// and samples whether it matched any step.
    pub matched: bool,
    /// Why the rule does not see it at all: its index, a filter, the
    /// window. Empty when the rule sees it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub excluded: Vec<String>,
    /// Notes: which executions see it (`schedule`), an unreadable event,
    /// a matching event without a time.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// An event query's clause tree.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<Clause>,
    /// A sequence's or sample's steps (and `until`), as this event meets them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepMatch>,
}

/// How an event meets one step of a sequence or sample.
#[derive(Debug, Clone, Serialize)]
pub struct StepMatch {
    /// `step 2`, `missing step 3` or `until`.
    pub step: String,
    /// The step's filter.
    pub filter: String,
    /// Whether the event matches it.
    pub matched: bool,
    /// The join keys it joins on there (several for multi-valued keys).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub join_keys: Vec<Vec<serde_json::Value>>,
    /// For a step it does not match, the first failing clause and its
    /// verdict.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<Clause>,
}

impl Explanation {
    /// The explanation for people.
    pub fn human(&self) -> String {
        render::human(self)
    }

    /// The explanation for tools: one JSON document per line, one per
    /// event (`"kind": "event"`), one per partial sequence (`"kind":
    /// "sequence"`), then a summary (`"kind": "summary"`: the rule, the
    /// query, the run's results, whether the explanation is approximate).
    pub fn json(&self) -> String {
        render::json(self)
    }
}

/// Explains why `rule` did or did not fire on `events`. Errors name what
/// keeps the rule from running: a type without an executor, a query that
/// does not parse or compile, unsupported filters.
pub fn explain(
    rule: &Rule,
    events: &[ExplainEvent],
    options: &ExplainOptions,
) -> Result<Explanation, String> {
    let name = rule_name(rule);
    let exec = executor(rule).map_err(|why| format!("{name}: {why}"))?;
    let text = rule
        .query
        .as_ref()
        .ok_or_else(|| format!("{name}: the rule has no query"))?;
    let query = exec
        .parse(&text.text)
        .map_err(|d| format!("{name}: {}", d.message))?;
    let base = base_options(options);
    let qopts = rule_options(rule, &base, true);
    let label = match rule.id() {
        Some(id) => format!("{name} ({id})"),
        None => name.to_string(),
    };
    Subject {
        label: Some(label),
        query,
        qopts,
        rule: Some(rule),
    }
    .explain(events, options)
}

/// Explains why a bare query (`--eql` / `--kql`) did or did not match
/// `events`; no index patterns, filters or window apply.
pub fn explain_query(
    query: &ParsedQuery,
    events: &[ExplainEvent],
    options: &ExplainOptions,
) -> Result<Explanation, String> {
    Subject {
        label: None,
        query: query.clone(),
        qopts: base_options(options),
        rule: None,
    }
    .explain(events, options)
}

fn base_options(options: &ExplainOptions) -> QueryOptions {
    QueryOptions {
        now: options.now.unwrap_or_else(now_nanos),
        mapping: options.mapping.clone(),
        ..QueryOptions::default()
    }
}

/// What is explained: a query with its options, and the rule around it.
struct Subject<'r> {
    label: Option<String>,
    query: ParsedQuery,
    qopts: QueryOptions,
    rule: Option<&'r Rule>,
}

/// A rule's gates compiled: its index patterns and its filters (each with
/// its own field table, to name the one that excludes an event).
struct Gates {
    patterns: Option<(IndexPatterns, Vec<String>)>,
    filters: Vec<(String, FieldTable, EventFilter)>,
    window: Option<(i64, i64)>,
    schedule: Option<Schedule>,
}

impl Subject<'_> {
    fn compile(&self) -> Result<CompiledQuery, String> {
        match &self.query {
            ParsedQuery::Eql(q) => compile_eql(q, &self.qopts),
            ParsedQuery::Kql(q) => compile_kql(q, &self.qopts),
        }
        .map_err(|d| d.message)
    }

    fn gates(&self, options: &ExplainOptions) -> Result<Gates, String> {
        let Some(rule) = self.rule else {
            return Ok(Gates {
                patterns: None,
                filters: Vec::new(),
                window: None,
                schedule: None,
            });
        };
        let patterns = (rule.data_view_id.is_none() && !rule.index.is_empty()).then(|| {
            let list: Vec<String> = rule.index.iter().map(|p| p.value.clone()).collect();
            (IndexPatterns::new(list.iter().map(String::as_str)), list)
        });
        let mut filters = Vec::new();
        if let Some(serde_json::Value::Array(items)) = rule.extra("filters") {
            for (i, item) in items.iter().enumerate() {
                let mut fields = Fields::new(self.qopts.mapping.as_ref());
                if let Some(f) = EventFilter::from_kibana(item, &mut fields)? {
                    let shown = item.get("query").unwrap_or(item);
                    filters.push((format!("filter {} {shown}", i + 1), fields.table, f));
                }
            }
        }
        let schedule = Schedule::of(rule).ok();
        let window = match (&schedule, options.now) {
            (Some(s), Some(now)) if !options.schedule => Some((now + s.from, now + s.to)),
            _ => None,
        };
        Ok(Gates {
            patterns,
            filters,
            window,
            schedule: schedule.filter(|_| options.schedule),
        })
    }

    fn explain(
        &self,
        events: &[ExplainEvent],
        options: &ExplainOptions,
    ) -> Result<Explanation, String> {
        let cq = self.compile()?;
        let gates = self.gates(options)?;
        let compiler = Compiler {
            options: &self.qopts,
        };
        let (kind, text, shape) = match &self.query {
            ParsedQuery::Kql(q) => (
                "kql",
                kql::print(q),
                Shape::Event(Box::new(compiler.kql(q))),
            ),
            ParsedQuery::Eql(q) => {
                let text = eql::print(q);
                match &q.body {
                    eql::QueryBody::Event { filter } => (
                        "eql event query",
                        text,
                        Shape::Event(Box::new(compiler.eql_filter(filter))),
                    ),
                    eql::QueryBody::Sequence(seq) => {
                        let mut steps = Vec::new();
                        for s in &seq.steps {
                            for _ in 0..s.runs.unwrap_or(1) {
                                steps.push((s.missing, compiler.eql_filter(&s.filter), s));
                            }
                        }
                        let steps = steps
                            .into_iter()
                            .enumerate()
                            .map(|(i, (missing, t, s))| StepTemplate {
                                label: match missing {
                                    true => format!("missing step {}", i + 1),
                                    false => format!("step {}", i + 1),
                                },
                                filter: format!(
                                    "{}[{}]",
                                    if missing { "!" } else { "" },
                                    eql_filter_text(&s.filter)
                                ),
                                template: t,
                            })
                            .chain(seq.until.iter().map(|u| StepTemplate {
                                label: "until".into(),
                                filter: format!("[{}]", eql_filter_text(&u.filter)),
                                template: compiler.eql_filter(&u.filter),
                            }))
                            .collect();
                        ("eql sequence", text, Shape::Steps(steps))
                    }
                    eql::QueryBody::Sample(sample) => {
                        let steps = sample
                            .steps
                            .iter()
                            .enumerate()
                            .map(|(i, s)| StepTemplate {
                                label: format!("step {}", i + 1),
                                filter: format!("[{}]", eql_filter_text(&s.filter)),
                                template: compiler.eql_filter(&s.filter),
                            })
                            .collect();
                        ("eql sample", text, Shape::Steps(steps))
                    }
                }
            }
        };
        let mut explained = Vec::with_capacity(events.len());
        // The events the rule's query sees, with what the engine kept of them.
        let mut kept: Vec<(usize, Kept)> = Vec::new();
        let mut projector = Projector::new(&cq.fields);
        for (i, event) in events.iter().enumerate() {
            let mut e = EventExplanation {
                name: event.name.clone(),
                time: None,
                matched: false,
                excluded: Vec::new(),
                notes: Vec::new(),
                query: None,
                steps: Vec::new(),
            };
            let record = match projector.project(&event.bytes) {
                Ok(r) => r,
                Err(err) => {
                    e.notes.push(format!("malformed event: {err}"));
                    explained.push(e);
                    continue;
                }
            };
            let origin = Origin {
                file: 0,
                line: i as u64,
            };
            let evaluated = evaluate(&cq, origin, &record, i as u64);
            let index = record
                .index()
                .map(str::to_string)
                .or_else(|| options.index.clone());
            projector.recycle(record);
            e.excluded = gates.exclusions(index.as_deref(), &event.bytes);
            let taken = match evaluated {
                Evaluated::Kept(k) => {
                    e.time = k.hit.timestamp.map(|t| format_iso(t, false));
                    if let (Some((from, to)), Some(t)) = (gates.window, k.hit.timestamp) {
                        if t < from || t > to {
                            e.excluded.push(format!(
                                "outside the execution window {} .. {}",
                                format_iso(from, false),
                                format_iso(to, false)
                            ));
                        }
                    }
                    if gates.window.is_some() && k.hit.timestamp.is_none() {
                        e.excluded
                            .push("no time: outside every execution window".to_string());
                    }
                    Some(k)
                }
                Evaluated::WithoutTimestamp => {
                    e.notes.push(format!(
                        "it matches a step but has no usable `{}`: it takes no part in sequences",
                        self.qopts.timestamp_field
                    ));
                    None
                }
                Evaluated::Nothing => None,
            };
            if let (Some(s), Some(t)) = (
                &gates.schedule,
                taken.as_ref().and_then(|k| k.hit.timestamp),
            ) {
                let runs = s.executions(&[t]);
                if let (Some(first), Some(last)) = (runs.first(), runs.last()) {
                    e.notes.push(format!(
                        "seen by {} scheduled executions, {} .. {}",
                        runs.len(),
                        format_iso(*first, false),
                        format_iso(*last, false)
                    ));
                }
            }
            match &shape {
                Shape::Event(t) => {
                    let clause = clauses::evaluate(t, &event.bytes, &self.qopts);
                    e.matched = clause.verdict == Verdict::True && e.excluded.is_empty();
                    e.query = Some(clause);
                }
                Shape::Steps(steps) => {
                    e.steps = step_matches(steps, &event.bytes, &self.qopts, taken.as_ref(), &cq);
                    e.matched = e.excluded.is_empty()
                        && e.steps.iter().any(|s| s.matched && s.step != "until");
                }
            }
            if let Some(k) = taken {
                if e.excluded.is_empty() {
                    kept.push((i, k));
                }
            }
            explained.push(e);
        }
        kept.sort_by(|a, b| a.1.sort.cmp(&b.1.sort));
        let name = |i: usize| events[i].name.clone();
        let in_sequence = matches!(cq.plan, Plan::Sequence { .. });
        let render_key = |k: &Key| key_json(k, in_sequence);
        let (sequences, mine): (Vec<SequenceExplanation>, Option<Vec<Vec<String>>>) = match &cq.plan
        {
            Plan::Events(_) => (
                Vec::new(),
                Some(
                    explained
                        .iter()
                        .filter(|e| e.matched)
                        .map(|e| vec![e.name.clone()])
                        .collect(),
                ),
            ),
            Plan::Sequence {
                stages, maxspan, ..
            } => {
                let candidates: Vec<sequence::Candidate> = kept
                    .iter()
                    .map(|(i, k)| sequence::Candidate {
                        name: &events[*i].name,
                        kept: k,
                    })
                    .collect();
                let missing: Vec<bool> = stages.iter().map(|s| s.missing).collect();
                let (records, done) =
                    sequence::replay(&candidates, &missing, *maxspan, &render_key);
                let done = done
                    .into_iter()
                    .map(|events| {
                        let mut names = events.into_iter().map(|p| name(kept[p].0));
                        missing
                            .iter()
                            .map(|m| match m {
                                true => "(missing)".to_string(),
                                false => names.next().unwrap_or_default(),
                            })
                            .collect()
                    })
                    .collect();
                (records, Some(done))
            }
            Plan::Sample { .. } => (Vec::new(), None),
        };
        let results = self.run(events, options, &gates)?;
        let approximate = match &mine {
            Some(m) => {
                let (mut a, mut b) = (m.clone(), results.clone());
                a.sort();
                b.sort();
                a != b
            }
            None => false,
        };
        let step_texts = match &shape {
            Shape::Steps(steps) => steps
                .iter()
                .map(|s| format!("{}: {}", s.label, s.filter))
                .collect(),
            Shape::Event(_) => Vec::new(),
        };
        Ok(Explanation {
            rule: self.label.clone(),
            kind,
            query: text,
            steps: step_texts,
            window: gates
                .window
                .map(|(f, t)| (format_iso(f, false), format_iso(t, false))),
            events: explained,
            sequences,
            results,
            approximate,
        })
    }

    /// The rule run for real, as `ruleq run` runs it: its rule set with
    /// its index patterns and filters; the results' events by name.
    fn run(
        &self,
        events: &[ExplainEvent],
        options: &ExplainOptions,
        gates: &Gates,
    ) -> Result<Vec<Vec<String>>, String> {
        let mut builder = RuleSetBuilder::new(self.qopts.mapping.as_ref());
        let filters = match self.rule.and_then(|r| r.extra("filters")) {
            Some(serde_json::Value::Array(items)) => builder.kibana_filters(&items)?,
            _ => Vec::new(),
        };
        let index = match &self.query {
            ParsedQuery::Eql(q) => builder.add_eql(q, &self.qopts),
            ParsedQuery::Kql(q) => builder.add_kql(q, &self.qopts),
        }
        .map_err(|d| d.message)?;
        builder.set_filters(index, filters);
        if let Some((patterns, _)) = &gates.patterns {
            builder.restrict(index, patterns.clone());
        }
        let set = builder.finish();
        let mut runner = Runner::new(&set);
        runner.set_default_index(options.index.clone());
        for (i, e) in events.iter().enumerate() {
            let origin = Origin {
                file: 0,
                line: i as u64,
            };
            // A malformed event is reported with its explanation.
            let _ = runner.offer(origin, &e.bytes);
        }
        let matches = runner.finish_matches().swap_remove(index);
        let outputs = match gates.window {
            Some((from, to)) => matches.within(from, to),
            None => matches.all(),
        };
        let name = |h: &crate::engine::Hit| events[h.origin.line as usize].name.clone();
        Ok(outputs
            .iter()
            .map(|o| match o {
                Output::Event(h) => vec![name(h)],
                Output::Sequence { events, .. } => events
                    .iter()
                    .map(|e| e.as_ref().map_or_else(|| "(missing)".to_string(), name))
                    .collect(),
                Output::Sample { events, .. } => events.iter().map(name).collect(),
            })
            .collect())
    }
}

impl Gates {
    /// Why the rule does not see an event from `index`: its index patterns,
    /// a filter that excludes it.
    fn exclusions(&self, index: Option<&str>, bytes: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        if let (Some((patterns, list)), Some(index)) = (&self.patterns, index) {
            if !patterns.matches(index) {
                out.push(format!(
                    "index `{index}` is not matched by the rule's index patterns {}",
                    list.join(", ")
                ));
            }
        }
        for (text, table, filter) in &self.filters {
            let mut projector = Projector::new(table);
            if let Ok(record) = projector.project(bytes) {
                if !filter.passes(&record) {
                    out.push(format!("excluded by the rule's {text}"));
                }
            }
        }
        out
    }
}

enum Shape {
    Event(Box<Template>),
    Steps(Vec<StepTemplate>),
}

struct StepTemplate {
    label: String,
    filter: String,
    template: Template,
}

fn eql_filter_text(f: &eql::EventFilter) -> String {
    format!(
        "{} where {}",
        f.category.as_deref().unwrap_or("any"),
        eql::print_expr(&f.condition)
    )
}

/// The steps an event matches, with its keys there from what the engine
/// kept of it.
fn step_matches(
    steps: &[StepTemplate],
    bytes: &[u8],
    options: &QueryOptions,
    kept: Option<&Kept>,
    cq: &CompiledQuery,
) -> Vec<StepMatch> {
    let in_sequence = matches!(cq.plan, Plan::Sequence { .. });
    // Positive stage index of each stage (sequences number positive
    // stages apart from missing ones).
    let missing: Vec<bool> = match &cq.plan {
        Plan::Sequence { stages, .. } => stages.iter().map(|s| s.missing).collect(),
        Plan::Sample { stages, .. } => vec![false; stages.len()],
        Plan::Events(_) => Vec::new(),
    };
    let mut positive = 0;
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let clause = clauses::evaluate(&s.template, bytes, options);
            let matched = clause.verdict == Verdict::True;
            let keys: Vec<Key> = match kept {
                None => Vec::new(),
                Some(k) if s.label == "until" => k
                    .cancels
                    .as_ref()
                    .map(|c| c.until.to_vec())
                    .unwrap_or_default(),
                Some(k) if missing.get(i) == Some(&true) => k
                    .cancels
                    .as_ref()
                    .and_then(|c| c.missing.iter().find(|(st, _)| *st == i))
                    .map(|(_, keys)| keys.to_vec())
                    .unwrap_or_default(),
                Some(k) => {
                    let p = if in_sequence { positive } else { i };
                    k.stages
                        .iter()
                        .find(|(st, _)| *st == p)
                        .map(|(_, keys)| keys.to_vec())
                        .unwrap_or_default()
                }
            };
            if missing.get(i) == Some(&false) {
                positive += 1;
            }
            StepMatch {
                step: s.label.clone(),
                filter: s.filter.clone(),
                matched,
                join_keys: keys.iter().map(|k| key_json(k, in_sequence)).collect(),
                failed: (!matched)
                    .then(|| clause.first_failure().cloned())
                    .flatten()
                    .map(|mut c| {
                        c.children.clear();
                        c
                    }),
            }
        })
        .collect()
}

/// Join-key values as JSON, each with the type it has in the events.
fn key_json(key: &Key, in_sequence: bool) -> Vec<serde_json::Value> {
    key.iter()
        .map(|part| match part {
            None => serde_json::Value::Null,
            Some(KeyValue::Str(s)) => serde_json::Value::String(s.to_string()),
            Some(KeyValue::Num(n)) => {
                serde_json::from_str(n).unwrap_or_else(|_| serde_json::Value::String(n.to_string()))
            }
            Some(KeyValue::Bool(b)) => serde_json::Value::Bool(*b),
            Some(KeyValue::Date(t)) => {
                serde_json::Value::String(KeyValue::date_text(*t, in_sequence))
            }
        })
        .collect()
}
