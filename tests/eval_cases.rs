//! Table-driven evaluation cases for both languages
//! (tests/fixtures/eval/{eql,kql}_cases.toml): query, events, expected ids,
//! and the Elasticsearch or Kibana behaviour each case pins.

use ruleq::compile::eql::event_filter;
use ruleq::compile::ir::{Fields, Filter};
use ruleq::eval::matches;
use ruleq::event::Projector;
use ruleq::syntax::eql::{self, QueryBody};
use ruleq::syntax::kql;

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/eval")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

fn run_cases(file: &str, compile: impl Fn(&str, &mut Fields) -> Filter) -> usize {
    let text = fixture("eql_events.ndjson");
    let events: Vec<(&[u8], i64)> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (l.as_bytes(), v["id"].as_i64().unwrap())
        })
        .collect();
    let cases: toml::Table = fixture(file).parse().unwrap();
    let cases = cases["case"].as_array().unwrap();
    let mut failures = Vec::new();
    for case in cases {
        let query = case["query"].as_str().unwrap();
        let want: Vec<i64> = case["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_integer().unwrap())
            .collect();
        let mut fields = Fields::new(None);
        let filter = compile(query, &mut fields);
        let mut projector = Projector::new(&fields.table);
        let mut got = Vec::new();
        for (bytes, id) in &events {
            let record = projector.project(bytes).unwrap();
            if matches(&filter, &record) {
                got.push(*id);
            }
            projector.recycle(record);
        }
        if got != want {
            failures.push(format!(
                "{query}\n  got {got:?}, want {want:?} ({})",
                case["why"].as_str().unwrap()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    cases.len()
}

#[test]
fn eql_cases() {
    let n = run_cases("eql_cases.toml", |text, fields| {
        let query = eql::parse(text).unwrap_or_else(|d| panic!("{text}: {d}"));
        let QueryBody::Event { filter } = &query.body else {
            panic!("{text}: not an event query")
        };
        event_filter(filter, "event.category", fields)
            .unwrap()
            .filter
    });
    assert!(n >= 19);
}

#[test]
fn kql_cases() {
    let n = run_cases("kql_cases.toml", |text, fields| {
        let query = kql::parse(text).unwrap_or_else(|d| panic!("{text}: {d}"));
        ruleq::compile::kql::query(&query, fields, 0).unwrap_or_else(|d| panic!("{text}: {d}"))
    });
    assert!(n >= 18);
}
