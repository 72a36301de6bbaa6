//! Elasticsearch's own EQL specs, event queries only (sequences and samples
//! come with the sequence engine): each live spec's query runs over the
//! endgame data and must return the expected event ids in order. Needs
//! `RULEQ_SHARED`.

mod common;

use ruleq::compile::eql::event_filter;
use ruleq::compile::ir::FieldTable;
use ruleq::eval::json::JsonDocument;
use ruleq::eval::matches;
use ruleq::syntax::eql::{self, Pipe, QueryBody};
use serde_json::Value;

/// The endgame events as the Elasticsearch harness indexes them: `@timestamp`
/// in epoch milliseconds derived from the FILETIME `timestamp`.
fn endgame_events(shared: &std::path::Path) -> Vec<Value> {
    let text =
        std::fs::read_to_string(shared.join("conformance/python-eql/test_data.json")).unwrap();
    let mut events: Vec<Value> = serde_json::from_str(&text).unwrap();
    for e in &mut events {
        let ticks = e["timestamp"].as_u64().unwrap();
        let millis = ticks / 10_000 - 11_644_473_600_000;
        e["@timestamp"] = Value::from(millis);
    }
    events
}

fn specs(path: &std::path::Path) -> Vec<(String, String, Vec<u64>, usize)> {
    let text = std::fs::read_to_string(path).unwrap();
    let doc: toml::Table = text.parse().unwrap();
    let mut out = Vec::new();
    for q in doc["queries"].as_array().unwrap() {
        let ids = q["expected_event_ids"].as_array().unwrap();
        // A list of lists means alternatives; event queries never use them.
        let ids: Vec<u64> = ids
            .iter()
            .filter_map(|v| v.as_integer())
            .map(|i| i as u64)
            .collect();
        // The Elasticsearch harness asks for 50 results unless a spec sets `size`.
        let size = q.get("size").and_then(|v| v.as_integer()).unwrap_or(50) as usize;
        out.push((
            q["name"].as_str().unwrap().to_string(),
            q["query"].as_str().unwrap().to_string(),
            ids,
            size,
        ));
    }
    out
}

#[test]
fn elasticsearch_event_query_specs() {
    let Some(shared) = common::shared("conformance/elasticsearch-eql") else {
        return;
    };
    let root = shared.parent().unwrap().parent().unwrap().to_path_buf();
    let events = endgame_events(&root);
    let mut passed = 0;
    let mut failed = Vec::new();
    let mut total = 0;
    for file in ["test_queries.toml", "additional_test_queries.toml"] {
        for (name, text, expected, size) in specs(&shared.join(file)) {
            let query = eql::parse(&text).unwrap_or_else(|d| panic!("{name}: {d}"));
            let QueryBody::Event { filter } = &query.body else {
                continue;
            };
            total += 1;
            let mut fields = FieldTable::new();
            let plan = match event_filter(filter, "event_type", &mut fields) {
                Ok(p) => p,
                Err(d) => {
                    failed.push(format!("{name}: compile error {d}"));
                    continue;
                }
            };
            let mut hits: Vec<(i64, i64)> = Vec::new();
            for e in &events {
                let doc = JsonDocument::new(e, &fields);
                if matches(&plan.filter, &doc) {
                    hits.push((
                        e["@timestamp"].as_i64().unwrap(),
                        e["serial_event_id"].as_i64().unwrap(),
                    ));
                }
            }
            hits.sort();
            let mut ids: Vec<u64> = hits.iter().map(|h| h.1 as u64).collect();
            for pipe in &query.pipes {
                match pipe {
                    Pipe::Head { count, .. } => ids.truncate(*count as usize),
                    Pipe::Tail { count, .. } => {
                        let n = ids.len().saturating_sub(*count as usize);
                        ids.drain(..n);
                    }
                }
            }
            ids.truncate(size);
            if ids == expected {
                passed += 1;
            } else {
                failed.push(format!(
                    "{name}: got {ids:?}, expected {expected:?}\n    {}",
                    text.trim()
                ));
            }
        }
    }
    println!("Elasticsearch event-query specs: {passed} of {total} pass");
    assert!(
        failed.is_empty(),
        "{} failing specs:\n{}",
        failed.len(),
        failed.join("\n")
    );
    assert!(
        total >= 149,
        "expected at least 149 live event-query specs, found {total}"
    );
}
