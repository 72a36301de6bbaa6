//! Table-driven sequence and sample cases through the engine
//! (tests/fixtures/eval/sequence_cases.toml).

use ruleq::engine::{compile_eql, Collector, Origin, Output, QueryOptions};
use ruleq::syntax::eql;

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/eval")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn sequence_and_sample_cases() {
    let events = fixture("sequence_events.ndjson");
    let ids: Vec<i64> = events
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    let cases: toml::Table = fixture("sequence_cases.toml").parse().unwrap();
    let cases = cases["case"].as_array().unwrap();
    assert!(cases.len() >= 9);
    let mut failures = Vec::new();
    for case in cases {
        let text = case["query"].as_str().unwrap();
        let want: Vec<Vec<i64>> = case["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i.as_integer().unwrap())
                    .collect()
            })
            .collect();
        let query = eql::parse(text).unwrap_or_else(|d| panic!("{text}: {d}"));
        let compiled =
            compile_eql(&query, &QueryOptions::default()).unwrap_or_else(|d| panic!("{text}: {d}"));
        let id = |line: u64| ids[(line - 1) as usize];
        let as_ids = |out: Output| match out {
            Output::Event(h) => vec![id(h.origin.line)],
            Output::Sequence { events, .. } => events
                .iter()
                .map(|e| e.as_ref().map_or(0, |h| id(h.origin.line)))
                .collect(),
            Output::Sample { events, .. } => events.iter().map(|h| id(h.origin.line)).collect(),
        };
        // Every case runs twice: keeping every event, as `ruleq query` and
        // `--schedule` do, and streaming, as `ruleq run` does.
        let mut kept = Collector::new(&compiled);
        let mut streaming = Collector::streaming(&compiled);
        let mut streamed = Vec::new();
        for (i, line) in events.lines().enumerate() {
            let origin = Origin {
                file: 0,
                line: i as u64 + 1,
            };
            kept.offer(origin.clone(), line.as_bytes()).unwrap();
            streaming.offer(origin, line.as_bytes()).unwrap();
            streamed.extend(streaming.take_ready().into_iter().map(as_ids));
        }
        streamed.extend(streaming.finish().into_iter().map(as_ids));
        let got: Vec<Vec<i64>> = kept.finish().into_iter().map(as_ids).collect();
        if streamed != want {
            failures.push(format!(
                "{text} (streaming)\n  got {streamed:?}, want {want:?} ({})",
                case["why"].as_str().unwrap()
            ));
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
