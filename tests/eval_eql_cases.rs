//! Table-driven EQL evaluation cases (tests/fixtures/eval/eql_cases.toml):
//! query, events, expected ids, and the Elasticsearch behaviour each pins.

use ruleq::compile::eql::event_filter;
use ruleq::compile::ir::Fields;
use ruleq::eval::matches;
use ruleq::event::Projector;
use ruleq::syntax::eql::{self, QueryBody};

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/eval")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn eql_cases() {
    let text = fixture("eql_events.ndjson");
    let events: Vec<(&[u8], i64)> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (l.as_bytes(), v["id"].as_i64().unwrap())
        })
        .collect();
    let cases: toml::Table = fixture("eql_cases.toml").parse().unwrap();
    let cases = cases["case"].as_array().unwrap();
    assert!(cases.len() >= 19);
    let mut failures = Vec::new();
    for case in cases {
        let text = case["query"].as_str().unwrap();
        let want: Vec<i64> = case["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_integer().unwrap())
            .collect();
        let query = eql::parse(text).unwrap_or_else(|d| panic!("{text}: {d}"));
        let QueryBody::Event { filter } = &query.body else {
            panic!("{text}: not an event query")
        };
        let mut fields = Fields::new(None);
        let plan = event_filter(filter, "event.category", &mut fields).unwrap();
        let mut projector = Projector::new(&fields.table);
        let mut got = Vec::new();
        for (bytes, id) in &events {
            let record = projector.project(bytes).unwrap();
            if matches(&plan.filter, &record) {
                got.push(*id);
            }
            projector.recycle(record);
        }
        if got != want {
            failures.push(format!(
                "{text}\n  got {got:?}, want {want:?} ({})",
                case["why"].as_str().unwrap()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
