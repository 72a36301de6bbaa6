//! Elasticsearch's own EQL specs (../shared/conformance/elasticsearch-eql),
//! run over the endgame data as the Elasticsearch harness indexes it: event
//! queries and sequences, each spec's results compared, in order, with its
//! expected event ids. Missing-event sequences and samples are counted as
//! not run yet. Needs `RULEQ_SHARED`.

mod common;

use ruleq::compile::date;
use ruleq::compile::eql::event_filter;
use ruleq::compile::ir::{FieldId, FieldTable, Filter};
use ruleq::eval::sequence::{is_cancelled, Candidate, Key, Ordinal, SequenceMatcher};
use ruleq::eval::{matches, Document};
use ruleq::event::{Num, Projector, Record};
use ruleq::syntax::eql::{self, Expr, Pipe, QueryBody};
use serde_json::Value;
use std::collections::HashMap;

/// Events as one Elasticsearch test index holds them, in search order.
struct Dataset {
    events: Vec<Value>,
    /// Each event serialized once, as the projector reads it.
    bytes: Vec<Vec<u8>>,
    /// `@timestamp` of each event, in nanoseconds.
    times: Vec<i64>,
    /// The field holding each event's id (also the tiebreaker).
    id_field: &'static str,
    /// The event category field.
    category_field: &'static str,
}

impl Dataset {
    fn new(
        mut events: Vec<Value>,
        id_field: &'static str,
        category_field: &'static str,
    ) -> Dataset {
        let time = |e: &Value| match &e["@timestamp"] {
            Value::Number(n) => n.as_i64().unwrap() * 1_000_000,
            Value::String(s) => date::parse_default(s).unwrap().lo,
            other => panic!("no @timestamp: {other}"),
        };
        // Elasticsearch orders by @timestamp, then the tiebreaker.
        events.sort_by_key(|e| (time(e), e[id_field].as_i64().unwrap()));
        let times = events.iter().map(time).collect();
        let bytes = events
            .iter()
            .map(|e| serde_json::to_vec(e).unwrap())
            .collect();
        Dataset {
            events,
            bytes,
            times,
            id_field,
            category_field,
        }
    }

    fn id(&self, i: usize) -> i64 {
        self.events[i][self.id_field].as_i64().unwrap()
    }
}

/// The endgame events as the Elasticsearch harness indexes them: `@timestamp`
/// in epoch milliseconds derived from the FILETIME `timestamp`.
fn endgame(shared: &std::path::Path) -> Dataset {
    let text =
        std::fs::read_to_string(shared.join("conformance/python-eql/test_data.json")).unwrap();
    let mut events: Vec<Value> = serde_json::from_str(&text).unwrap();
    for e in &mut events {
        let ticks = e["timestamp"].as_u64().unwrap();
        let millis = ticks / 10_000 - 11_644_473_600_000;
        e["@timestamp"] = Value::from(millis);
    }
    Dataset::new(events, "serial_event_id", "event_type")
}

/// `missing-events.data`, with its `//` comment lines removed as the
/// conformance README says.
fn missing_events(shared: &std::path::Path) -> Dataset {
    let path = shared.join("conformance/elasticsearch-eql/data/missing-events.data");
    let text = std::fs::read_to_string(path).unwrap();
    let text: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    Dataset::new(
        serde_json::from_str(&text).unwrap(),
        "sequence",
        "event_type",
    )
}

struct Spec {
    name: String,
    query: String,
    expected: Vec<i64>,
    size: usize,
}

fn specs(path: &std::path::Path) -> Vec<Spec> {
    let text = std::fs::read_to_string(path).unwrap();
    let doc: toml::Table = text.parse().unwrap();
    doc["queries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| Spec {
            name: q["name"].as_str().unwrap().to_string(),
            query: q["query"].as_str().unwrap().to_string(),
            expected: q["expected_event_ids"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|v| v.as_integer())
                .collect(),
            // The Elasticsearch harness asks for 50 results unless a spec sets `size`.
            size: q.get("size").and_then(|v| v.as_integer()).unwrap_or(50) as usize,
        })
        .collect()
}

/// Canonical text of a join-key value.
fn key_text(v: &ruleq::event::Value) -> String {
    match v {
        ruleq::event::Value::Str(s) => s.to_string(),
        ruleq::event::Value::Number(n) => match n.value() {
            Num::Int(i) => i.to_string(),
            _ => ruleq::eval::script::java_double(n.as_f64()),
        },
        ruleq::event::Value::Bool(b) => b.to_string(),
        ruleq::event::Value::Null => "null".to_string(),
    }
}

/// The keys an event joins on: the cartesian product of the key fields'
/// values; a null non-optional key means the event does not join.
fn keys(doc: &Record, fields: &[(FieldId, bool)]) -> Vec<Key> {
    let mut out: Vec<Key> = vec![Vec::new()];
    for &(id, optional) in fields {
        let mut values: Vec<Option<String>> = Document::present(doc, id)
            .map(|v| Some(key_text(&v)))
            .collect();
        values.dedup();
        if values.is_empty() {
            if !optional {
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

fn key_fields(exprs: &[&Expr], fields: &mut FieldTable) -> Vec<(FieldId, bool)> {
    exprs
        .iter()
        .map(|e| match e {
            Expr::Field(f) => (fields.intern(&f.name), f.optional),
            other => panic!("join keys must be fields, found {other:?}"),
        })
        .collect()
}

/// One expanded sequence stage: its filter, key fields (id, optional) and
/// whether it is a missing-event stage.
type Stage = (Filter, Vec<(FieldId, bool)>, bool);

enum Outcome {
    Ids(Vec<i64>),
    NotRun(&'static str),
}

fn run(query: &eql::Query, data: &Dataset) -> Result<Outcome, String> {
    let events = &data.events;
    let cat = data.category_field;
    let mut fields = FieldTable::new();
    let mut results: Vec<Vec<i64>> = match &query.body {
        QueryBody::Event { filter } => {
            let plan = event_filter(filter, cat, &mut fields).map_err(|d| d.to_string())?;
            let mut projector = Projector::new(&fields);
            (0..events.len())
                .filter(|&i| matches(&plan.filter, &projector.project(&data.bytes[i]).unwrap()))
                .map(|i| vec![data.id(i)])
                .collect()
        }
        QueryBody::Sequence(seq) => {
            // Expand `with runs=N` into N identical stages.
            let mut stages: Vec<Stage> = Vec::new();
            for step in &seq.steps {
                let plan =
                    event_filter(&step.filter, cat, &mut fields).map_err(|d| d.to_string())?;
                let exprs: Vec<&Expr> = seq.by.iter().chain(&step.by).collect();
                let keys = key_fields(&exprs, &mut fields);
                for _ in 0..step.runs.unwrap_or(1) {
                    stages.push((plan.filter.clone(), keys.clone(), step.missing));
                }
            }
            let until = match &seq.until {
                Some(u) => {
                    let plan =
                        event_filter(&u.filter, cat, &mut fields).map_err(|d| d.to_string())?;
                    let exprs: Vec<&Expr> = seq.by.iter().chain(&u.by).collect();
                    Some((plan.filter, key_fields(&exprs, &mut fields)))
                }
                None => None,
            };
            let missing: Vec<bool> = stages.iter().map(|s| s.2).collect();
            let positive: Vec<usize> = (0..stages.len()).filter(|&i| !missing[i]).collect();
            let maxspan = seq.maxspan.as_ref().map(|d| d.millis as i64 * 1_000_000);
            let mut matcher = SequenceMatcher::new(positive.len(), maxspan);
            let mut fillers: Vec<HashMap<Key, Vec<Ordinal>>> = vec![HashMap::new(); stages.len()];
            let mut out = Vec::new();
            let mut projector = Projector::new(&fields);
            for i in 0..events.len() {
                let doc = projector.project(&data.bytes[i]).unwrap();
                let ordinal = Ordinal {
                    timestamp: data.times[i],
                    position: i as u64,
                };
                for (s, (f, k, _)) in stages.iter().enumerate().filter(|(s, _)| missing[*s]) {
                    if matches(f, &doc) {
                        for key in keys(&doc, k) {
                            fillers[s].entry(key).or_default().push(ordinal);
                        }
                    }
                }
                let c = Candidate {
                    ordinal,
                    event: i,
                    stages: positive
                        .iter()
                        .enumerate()
                        .filter(|(_, &s)| matches(&stages[s].0, &doc))
                        .map(|(p, &s)| (p, keys(&doc, &stages[s].1)))
                        .collect(),
                    until: match &until {
                        Some((f, k)) if matches(f, &doc) => keys(&doc, k),
                        _ => Vec::new(),
                    },
                };
                matcher.push(&c, &mut out);
            }
            let none: Vec<Ordinal> = Vec::new();
            out.iter()
                .filter(|m| {
                    if !missing.contains(&true) {
                        return true;
                    }
                    let positives: Vec<Ordinal> = m
                        .events
                        .iter()
                        .map(|&i| Ordinal {
                            timestamp: data.times[i],
                            position: i as u64,
                        })
                        .collect();
                    let f: Vec<&[Ordinal]> = (0..stages.len())
                        .map(|s| fillers[s].get(&m.key).map_or(&none[..], |v| &v[..]))
                        .collect();
                    !is_cancelled(&missing, &positives, &f, maxspan)
                })
                .map(|m| {
                    let mut ids = Vec::new();
                    let mut it = m.events.iter();
                    for &is_missing in &missing {
                        ids.push(if is_missing {
                            -1
                        } else {
                            data.id(*it.next().unwrap())
                        });
                    }
                    ids
                })
                .collect()
        }
        QueryBody::Sample(_) => return Ok(Outcome::NotRun("samples")),
    };
    for pipe in &query.pipes {
        match pipe {
            Pipe::Head { count, .. } => results.truncate(*count as usize),
            Pipe::Tail { count, .. } => {
                let n = results.len().saturating_sub(*count as usize);
                results.drain(..n);
            }
        }
    }
    Ok(Outcome::Ids(results.into_iter().flatten().collect()))
}

fn check(
    data: &Dataset,
    files: &[&str],
    shared: &std::path::Path,
) -> (usize, usize, usize, Vec<String>) {
    let (mut passed, mut not_run, mut total) = (0, 0, 0);
    let mut failed = Vec::new();
    for file in files {
        for spec in specs(&shared.join(file)) {
            total += 1;
            let query = eql::parse(&spec.query).unwrap_or_else(|d| panic!("{}: {d}", spec.name));
            match run(&query, data) {
                Ok(Outcome::Ids(mut ids)) => {
                    // `size` caps results (sequences count as one each).
                    let per = match &query.body {
                        QueryBody::Sequence(s) => {
                            s.steps.iter().map(|s| s.runs.unwrap_or(1) as usize).sum()
                        }
                        _ => 1,
                    };
                    ids.truncate(spec.size * per);
                    if ids == spec.expected {
                        passed += 1;
                    } else {
                        failed.push(format!(
                            "{}: got {ids:?}, expected {:?}\n    {}",
                            spec.name,
                            spec.expected,
                            spec.query.trim()
                        ));
                    }
                }
                Ok(Outcome::NotRun(why)) => {
                    not_run += 1;
                    println!("not run yet ({why}): {}", spec.name);
                }
                Err(e) => failed.push(format!("{}: {e}", spec.name)),
            }
        }
    }
    (passed, not_run, total, failed)
}

#[test]
fn elasticsearch_specs_on_endgame_data() {
    let Some(shared) = common::shared("conformance/elasticsearch-eql") else {
        return;
    };
    let root = shared.parent().unwrap().parent().unwrap().to_path_buf();
    let files = ["test_queries.toml", "additional_test_queries.toml"];
    let (passed, not_run, total, failed) = check(&endgame(&root), &files, &shared);
    println!(
        "Elasticsearch specs on endgame data: {passed} of {total} pass, {not_run} not run yet"
    );
    assert!(
        failed.is_empty(),
        "{} failing specs:\n{}",
        failed.len(),
        failed.join("\n")
    );
    assert_eq!(
        total, 194,
        "test_queries.toml and additional_test_queries.toml hold 194 live specs"
    );
}

#[test]
fn elasticsearch_missing_event_specs() {
    let Some(shared) = common::shared("conformance/elasticsearch-eql") else {
        return;
    };
    let root = shared.parent().unwrap().parent().unwrap().to_path_buf();
    let (passed, not_run, total, failed) = check(
        &missing_events(&root),
        &["test_missing_events.toml"],
        &shared,
    );
    println!("Elasticsearch missing-event specs: {passed} of {total} pass, {not_run} not run yet");
    assert!(
        failed.is_empty(),
        "{} failing specs:\n{}",
        failed.len(),
        failed.join("\n")
    );
    assert_eq!(total, 26);
}
