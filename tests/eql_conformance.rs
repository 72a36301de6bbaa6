//! Elasticsearch's own EQL specs (../shared/conformance/elasticsearch-eql),
//! run over the endgame data as the Elasticsearch harness indexes it: event
//! queries and sequences, each spec's results compared, in order, with its
//! expected event ids (any of them, where a spec lists alternatives).
//! Needs `RULEQ_SHARED`.

mod common;

use ruleq::compile::date;
use ruleq::engine::{compile_eql, Collector, Hit, Origin, Output, QueryOptions};
use ruleq::mapping::Mapping;
use ruleq::syntax::eql::{self, QueryBody};
use serde_json::Value;

/// Events as one Elasticsearch test index holds them, in search order.
struct Dataset {
    events: Vec<Value>,
    /// Each event serialized once, as the projector reads it.
    bytes: Vec<Vec<u8>>,
    /// The field holding each event's id (also the tiebreaker).
    id_field: &'static str,
    /// The event category field.
    category_field: &'static str,
    /// The index mapping, when the spec file runs with one.
    mapping: Option<Mapping>,
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
        let bytes = events
            .iter()
            .map(|e| serde_json::to_vec(e).unwrap())
            .collect();
        Dataset {
            events,
            bytes,
            id_field,
            category_field,
            mapping: None,
        }
    }

    /// Events that carry no time (samples): input order, as indexed.
    fn unordered(
        events: Vec<Value>,
        id_field: &'static str,
        category_field: &'static str,
    ) -> Dataset {
        let bytes = events
            .iter()
            .map(|e| serde_json::to_vec(e).unwrap())
            .collect();
        Dataset {
            events,
            bytes,
            id_field,
            category_field,
            mapping: None,
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

/// The endgame events as the `date_nanos` index holds them: the FILETIME
/// number reinterpreted as nanoseconds since the epoch for `@timestamp`,
/// `timestamp` divided by 10^6.
fn endgame_nanos(shared: &std::path::Path) -> Dataset {
    let text =
        std::fs::read_to_string(shared.join("conformance/python-eql/test_data.json")).unwrap();
    let mut events: Vec<Value> = serde_json::from_str(&text).unwrap();
    for e in &mut events {
        let ticks = e["timestamp"].as_i64().unwrap();
        e["@timestamp"] = Value::from(date::format_iso(ticks, true));
        e["timestamp"] = Value::from(ticks / 1_000_000);
    }
    let mut data = Dataset::new(events, "serial_event_id", "event.category");
    data.mapping = Some(mapping(shared, "endgame-140-nanos.mapping"));
    data
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
    /// Acceptable answers: one, or several where Elasticsearch itself may
    /// pick different events (samples).
    expected: Vec<Vec<i64>>,
    size: usize,
    max_samples_per_key: usize,
}

fn specs(path: &std::path::Path) -> Vec<Spec> {
    // test_extra.toml writes a bare `null` join key, which strict TOML
    // rejects; the conformance README says to read it as "null".
    let mut in_keys = false;
    let text: String = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| {
            in_keys |= line.starts_with("join_keys");
            let fixed = if in_keys {
                line.replace("[null", "[\"null\"")
                    .replace(", null", ", \"null\"")
            } else {
                line.to_string()
            };
            if line.contains(']') {
                in_keys = false;
            }
            fixed + "\n"
        })
        .collect();
    let doc: toml::Table = text.parse().unwrap();
    doc["queries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| Spec {
            name: q["name"].as_str().unwrap().to_string(),
            query: q["query"].as_str().unwrap().to_string(),
            expected: {
                let ids = q["expected_event_ids"].as_array().unwrap();
                let flat = |v: &toml::Value| -> Vec<i64> {
                    v.as_array()
                        .unwrap()
                        .iter()
                        .map(|i| i.as_integer().unwrap())
                        .collect()
                };
                if ids.first().is_some_and(|v| v.is_array()) {
                    ids.iter().map(flat).collect()
                } else {
                    vec![flat(&q["expected_event_ids"])]
                }
            },
            // The Elasticsearch harness asks for 50 results unless a spec sets `size`.
            size: q.get("size").and_then(|v| v.as_integer()).unwrap_or(50) as usize,
            max_samples_per_key: q
                .get("max_samples_per_key")
                .and_then(|v| v.as_integer())
                .unwrap_or(1) as usize,
        })
        .collect()
}

/// The spec's results as ids, and whether the streaming path `ruleq run`
/// takes gave them too: with the events in time order for the query, the
/// streaming collector must give the same results in the same order.
fn run(
    query: &eql::Query,
    data: &Dataset,
    max_samples_per_key: usize,
) -> Result<(Vec<i64>, bool), String> {
    let options = QueryOptions {
        category_field: data.category_field.into(),
        tiebreaker_field: Some(data.id_field.into()),
        mapping: data.mapping.clone(),
        max_samples_per_key,
        ..QueryOptions::default()
    };
    let compiled = compile_eql(query, &options).map_err(|d| d.to_string())?;
    let mut collector = Collector::new(&compiled);
    let mut streaming = Collector::streaming(&compiled);
    let mut streamed = Vec::new();
    for (i, bytes) in data.bytes.iter().enumerate() {
        let origin = Origin {
            file: 0,
            line: i as u64 + 1,
        };
        collector
            .offer(origin.clone(), bytes)
            .map_err(|e| e.to_string())?;
        streaming.offer(origin, bytes).map_err(|e| e.to_string())?;
        streamed.extend(streaming.take_ready());
    }
    let in_order = streaming.late().is_none();
    streamed.extend(streaming.finish());
    let id = |h: &Hit| data.id((h.origin.line - 1) as usize);
    let ids = |outputs: Vec<Output>| {
        let mut ids = Vec::new();
        for out in outputs {
            match out {
                Output::Event(h) => ids.push(id(&h)),
                Output::Sequence { events, .. } => {
                    ids.extend(events.iter().map(|e| e.as_ref().map_or(-1, id)));
                }
                Output::Sample { events, .. } => ids.extend(events.iter().map(id)),
            }
        }
        ids
    };
    let kept = ids(collector.finish());
    let streamed = ids(streamed);
    if in_order && streamed != kept {
        return Err(format!("streamed {streamed:?}, kept {kept:?}"));
    }
    Ok((kept, in_order))
}

/// (passed, total, failures, specs the streaming path was compared on).
fn check(
    data: &Dataset,
    files: &[&str],
    shared: &std::path::Path,
) -> (usize, usize, Vec<String>, usize) {
    let (mut passed, mut total, mut streamed) = (0, 0, 0);
    let mut failed = Vec::new();
    for file in files {
        for spec in specs(&shared.join(file)) {
            total += 1;
            let query = eql::parse(&spec.query).unwrap_or_else(|d| panic!("{}: {d}", spec.name));
            match run(&query, data, spec.max_samples_per_key) {
                Ok((mut ids, compared)) => {
                    streamed += usize::from(compared);
                    // `size` caps results (sequences count as one each).
                    let per = match &query.body {
                        QueryBody::Sequence(s) => {
                            s.steps.iter().map(|s| s.runs.unwrap_or(1) as usize).sum()
                        }
                        QueryBody::Sample(s) => s.steps.len(),
                        _ => 1,
                    };
                    ids.truncate(spec.size * per);
                    if spec.expected.contains(&ids) {
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
                Err(e) => failed.push(format!("{}: {e}", spec.name)),
            }
        }
    }
    (passed, total, failed, streamed)
}

#[test]
fn elasticsearch_specs_on_endgame_data() {
    let Some(shared) = common::shared("conformance/elasticsearch-eql") else {
        return;
    };
    let root = shared.parent().unwrap().parent().unwrap().to_path_buf();
    let files = [
        "test_queries.toml",
        "additional_test_queries.toml",
        "test_queries_date.toml",
    ];
    let mut data = endgame(&root);
    data.mapping = Some(mapping(&root, "endgame-140.mapping"));
    data.category_field = "event.category";
    let (passed, total, failed, _) = check(&data, &files, &shared);
    println!("Elasticsearch specs on endgame data: {passed} of {total} pass");
    assert!(
        failed.is_empty(),
        "{} failing specs:\n{}",
        failed.len(),
        failed.join("\n")
    );
    assert_eq!(total, 198, "the endgame spec files hold 198 live specs");
}

/// A mapping from the conformance data, with the loader's random keyword
/// type placeholder read as `keyword` and `#` comment lines dropped, as
/// Elasticsearch's test loader does.
fn mapping(shared: &std::path::Path, name: &str) -> Mapping {
    let path = shared.join("conformance/elasticsearch-eql/data").join(name);
    let text: String = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| l.replace("[runtime_random_keyword_type]", "keyword") + "\n")
        .collect();
    Mapping::parse(&text).unwrap()
}

/// `extra.data` with its mapping: aliases, `version`, `null_value`,
/// multi-valued join keys.
fn extra(shared: &std::path::Path) -> Dataset {
    let text =
        std::fs::read_to_string(shared.join("conformance/elasticsearch-eql/data/extra.data"))
            .unwrap();
    let mut data = Dataset::new(
        serde_json::from_str(&text).unwrap(),
        "sequence",
        "event.category",
    );
    data.mapping = Some(mapping(shared, "extra.mapping"));
    data
}

#[test]
fn elasticsearch_extra_specs() {
    let Some(shared) = common::shared("conformance/elasticsearch-eql") else {
        return;
    };
    let root = shared.parent().unwrap().parent().unwrap().to_path_buf();
    let (passed, total, failed, _) = check(&extra(&root), &["test_extra.toml"], &shared);
    println!("Elasticsearch extra specs: {passed} of {total} pass");
    assert!(
        failed.is_empty(),
        "{} failing specs:\n{}",
        failed.len(),
        failed.join("\n")
    );
    assert_eq!(total, 40);
}

#[test]
fn elasticsearch_date_nanos_specs() {
    let Some(shared) = common::shared("conformance/elasticsearch-eql") else {
        return;
    };
    let root = shared.parent().unwrap().parent().unwrap().to_path_buf();
    // Only the date_nanos file: on this index the endgame timeline is 100
    // times shorter, so test_queries.toml's maxspan expectations (written
    // for the millisecond index) do not carry over.
    let files = ["test_queries_date_nanos.toml"];
    let (passed, total, failed, _) = check(&endgame_nanos(&root), &files, &shared);
    println!("Elasticsearch date_nanos specs: {passed} of {total} pass");
    assert!(
        failed.is_empty(),
        "{} failing specs:\n{}",
        failed.len(),
        failed.join("\n")
    );
    assert_eq!(total, 3);
}

/// The sample indices queried together: their events in index order, their
/// mappings merged (they name fields differently: `os` / `op_sys`).
fn sample_data(shared: &std::path::Path, names: &[&str]) -> Dataset {
    let mut events = Vec::new();
    let mut merged: Option<Mapping> = None;
    for name in names {
        let path = shared.join(format!("conformance/elasticsearch-eql/data/{name}.data"));
        let mut part: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        events.append(&mut part);
        let m = mapping(shared, &format!("{name}.mapping"));
        match &mut merged {
            Some(all) => all.merge(m),
            None => merged = Some(m),
        }
    }
    let mut data = Dataset::unordered(events, "id", "event_type");
    data.mapping = merged;
    data
}

#[test]
fn elasticsearch_sample_specs() {
    let Some(shared) = common::shared("conformance/elasticsearch-eql") else {
        return;
    };
    let root = shared.parent().unwrap().parent().unwrap().to_path_buf();
    let data = sample_data(&root, &["sample1", "sample2", "sample3"]);
    let (passed, total, failed, _) = check(&data, &["test_sample.toml"], &shared);
    println!("Elasticsearch sample specs: {passed} of {total} pass");
    let multi = sample_data(&root, &["sample-multi"]);
    let (passed2, total2, failed2, _) = check(&multi, &["test_sample_multi.toml"], &shared);
    println!("Elasticsearch sample-multi specs: {passed2} of {total2} pass");
    let failed: Vec<String> = failed.into_iter().chain(failed2).collect();
    assert!(
        failed.is_empty(),
        "{} failing specs:\n{}",
        failed.len(),
        failed.join("\n")
    );
    assert_eq!((total, total2), (25, 9));
}

#[test]
fn elasticsearch_missing_event_specs() {
    let Some(shared) = common::shared("conformance/elasticsearch-eql") else {
        return;
    };
    let root = shared.parent().unwrap().parent().unwrap().to_path_buf();
    let (passed, total, failed, streamed) = check(
        &missing_events(&root),
        &["test_missing_events.toml"],
        &shared,
    );
    println!(
        "Elasticsearch missing-event specs: {passed} of {total} pass, \
         {streamed} also streamed"
    );
    assert!(
        failed.is_empty(),
        "{} failing specs:\n{}",
        failed.len(),
        failed.join("\n")
    );
    assert_eq!(total, 26);
    // The streaming path is compared wherever the data is in time order
    // for the query.
    assert!(streamed >= 20, "only {streamed} specs streamed in order");
}
