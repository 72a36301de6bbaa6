//! Elasticsearch's own EQL specs (../shared/conformance/elasticsearch-eql),
//! run over the endgame data as the Elasticsearch harness indexes it: event
//! queries and sequences, each spec's results compared, in order, with its
//! expected event ids. Missing-event sequences and samples are counted as
//! not run yet. Needs `RULEQ_SHARED`.

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
    expected: Vec<i64>,
    size: usize,
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

enum Outcome {
    Ids(Vec<i64>),
    NotRun(&'static str),
}

fn run(query: &eql::Query, data: &Dataset) -> Result<Outcome, String> {
    if matches!(query.body, QueryBody::Sample(_)) {
        return Ok(Outcome::NotRun("samples"));
    }
    let options = QueryOptions {
        category_field: data.category_field.into(),
        tiebreaker_field: Some(data.id_field.into()),
        mapping: data.mapping.clone(),
        ..QueryOptions::default()
    };
    let compiled = compile_eql(query, &options).map_err(|d| d.to_string())?;
    let mut collector = Collector::new(&compiled);
    for (i, bytes) in data.bytes.iter().enumerate() {
        let origin = Origin {
            file: 0,
            line: i as u64 + 1,
        };
        collector.offer(origin, bytes).map_err(|e| e.to_string())?;
    }
    let id = |h: &Hit| data.id((h.origin.line - 1) as usize);
    let mut ids = Vec::new();
    for out in collector.finish() {
        match out {
            Output::Event(h) => ids.push(id(&h)),
            Output::Sequence { events, .. } => {
                ids.extend(events.iter().map(|e| e.as_ref().map_or(-1, id)));
            }
        }
    }
    Ok(Outcome::Ids(ids))
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
    let files = [
        "test_queries.toml",
        "additional_test_queries.toml",
        "test_queries_date.toml",
    ];
    let mut data = endgame(&root);
    data.mapping = Some(mapping(&root, "endgame-140.mapping"));
    data.category_field = "event.category";
    let (passed, not_run, total, failed) = check(&data, &files, &shared);
    println!(
        "Elasticsearch specs on endgame data: {passed} of {total} pass, {not_run} not run yet"
    );
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
    let (passed, not_run, total, failed) = check(&extra(&root), &["test_extra.toml"], &shared);
    println!("Elasticsearch extra specs: {passed} of {total} pass, {not_run} not run yet");
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
    let (passed, not_run, total, failed) = check(&endgame_nanos(&root), &files, &shared);
    println!("Elasticsearch date_nanos specs: {passed} of {total} pass, {not_run} not run yet");
    assert!(
        failed.is_empty(),
        "{} failing specs:\n{}",
        failed.len(),
        failed.join("\n")
    );
    assert_eq!(total, 3);
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
