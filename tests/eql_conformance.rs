//! Elasticsearch's own EQL specs (../shared/conformance/elasticsearch-eql),
//! all 301, over the data as the Elasticsearch harness indexes it. Each data
//! set is written to a file in four layouts (NDJSON, a pretty-printed JSON
//! array, concatenated pretty-printed objects, the array gzipped) and read
//! back through the event reader `ruleq run` and `ruleq query` use; each
//! spec's results are compared, in order, with its expected event ids (any
//! of them, where a spec lists alternatives) and, where it gives them, its
//! join keys as Elasticsearch writes them. Needs `RULEQ_SHARED`.

mod common;

use ruleq::engine::{compile_eql, Collector, Hit, Origin, Output, QueryOptions};
use ruleq::eval::sequence::{KeyPart, KeyValue};
use ruleq::event::{EventSource, Input, Item};
use ruleq::mapping::Mapping;
use ruleq::syntax::eql;
use serde_json::Value;

/// Events as one Elasticsearch test index holds them, in index order, and
/// as the event reader of `ruleq run` and `ruleq query` read them back from
/// a file written in one [`Layout`].
struct Dataset {
    events: Vec<Value>,
    /// The field holding each event's id (also the tiebreaker).
    id_field: &'static str,
    /// The event category field.
    category_field: &'static str,
    /// The index mapping, when the spec file runs with one.
    mapping: Option<Mapping>,
}

impl Dataset {
    fn new(events: Vec<Value>, id_field: &'static str, category_field: &'static str) -> Dataset {
        Dataset {
            events,
            id_field,
            category_field,
            mapping: None,
        }
    }
}

/// How a data set is written to a file before it is read back.
#[derive(Debug, Clone, Copy)]
enum Layout {
    /// One event per line.
    Ndjson,
    /// A JSON array, pretty-printed (as `jq .` writes it).
    PrettyArray,
    /// Pretty-printed objects one after another (as `jq .` writes a stream).
    ConcatenatedPretty,
    /// The pretty-printed array, gzipped.
    PrettyArrayGz,
}

const LAYOUTS: [Layout; 4] = [
    Layout::Ndjson,
    Layout::PrettyArray,
    Layout::ConcatenatedPretty,
    Layout::PrettyArrayGz,
];

/// The events of a data set as read back from a file in `layout`: each
/// event's text and where the reader found it, in file order.
struct Read {
    events: Vec<(Origin, Vec<u8>)>,
    id_field: &'static str,
}

impl Read {
    /// Writes `data` in `layout` to a temporary file and reads it back
    /// through [`EventSource`], which must find every event and nothing
    /// malformed.
    fn new(data: &Dataset, layout: Layout, tag: &str) -> Read {
        let pretty = |e: &Value| serde_json::to_string_pretty(e).unwrap();
        let text = match layout {
            Layout::Ndjson => data
                .events
                .iter()
                .map(|e| serde_json::to_string(e).unwrap() + "\n")
                .collect::<String>(),
            Layout::PrettyArray | Layout::PrettyArrayGz => {
                serde_json::to_string_pretty(&data.events).unwrap() + "\n"
            }
            Layout::ConcatenatedPretty => data
                .events
                .iter()
                .map(|e| pretty(e) + "\n")
                .collect::<String>(),
        };
        let bytes = match layout {
            Layout::PrettyArrayGz => {
                use std::io::Write;
                let mut gz =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                gz.write_all(text.as_bytes()).unwrap();
                gz.finish().unwrap()
            }
            _ => text.into_bytes(),
        };
        let path = std::env::temp_dir().join(format!(
            "ruleq-conformance-{}-{tag}-{layout:?}.json",
            std::process::id()
        ));
        std::fs::write(&path, bytes).unwrap();
        let mut source = EventSource::new(&[Input::Path(path.clone())]).unwrap();
        let mut events = Vec::new();
        while let Some(item) = source.next_item() {
            match item.unwrap() {
                Item::Event(raw) => events.push((
                    Origin {
                        file: raw.file,
                        line: raw.pos.number(),
                    },
                    raw.bytes.to_vec(),
                )),
                Item::Malformed(m) => panic!("{layout:?}: {m}"),
            }
        }
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            events.len(),
            data.events.len(),
            "{layout:?}: every event read back"
        );
        Read {
            events,
            id_field: data.id_field,
        }
    }

    /// The id of a hit, from the event text the reader gave.
    fn id(&self, hit: &Hit) -> i64 {
        let event: Value = serde_json::from_slice(&hit.source).unwrap();
        event[self.id_field].as_i64().unwrap()
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
/// number reinterpreted as nanoseconds since the epoch for `@timestamp`
/// (written as epoch milliseconds with a fraction), `timestamp` divided by
/// 10^6.
fn endgame_nanos(shared: &std::path::Path) -> Dataset {
    let text =
        std::fs::read_to_string(shared.join("conformance/python-eql/test_data.json")).unwrap();
    let mut events: Vec<Value> = serde_json::from_str(&text).unwrap();
    for e in &mut events {
        let ticks = e["timestamp"].as_i64().unwrap();
        // As the harness writes it: epoch milliseconds with a six-digit
        // fraction, text that only a reader keeping nanoseconds gets right.
        e["@timestamp"] = Value::from(format!("{}.{:06}", ticks / 1_000_000, ticks % 1_000_000));
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
    /// The flattened join keys of every result, when the spec gives them.
    join_keys: Option<Vec<String>>,
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
            join_keys: q.get("join_keys").map(|keys| {
                keys.as_array()
                    .unwrap()
                    .iter()
                    .map(|k| k.as_str().unwrap().to_string())
                    .collect()
            }),
            // The Elasticsearch harness asks for 50 results unless a spec sets `size`.
            size: q.get("size").and_then(|v| v.as_integer()).unwrap_or(50) as usize,
            max_samples_per_key: q
                .get("max_samples_per_key")
                .and_then(|v| v.as_integer())
                .unwrap_or(1) as usize,
        })
        .collect()
}

/// One result: its events' ids (`-1` for a missing-event stage) and its
/// join keys as Elasticsearch writes them.
struct Found {
    ids: Vec<i64>,
    keys: Vec<String>,
}

/// A join key as Elasticsearch writes it in a response, as the specs
/// spell it.
fn key_text(key: &KeyPart, in_sequence: bool) -> String {
    match key {
        None => "null".into(),
        Some(KeyValue::Str(s) | KeyValue::Num(s)) => s.to_string(),
        Some(KeyValue::Bool(b)) => b.to_string(),
        Some(KeyValue::Date(nanos)) => KeyValue::date_text(*nanos, in_sequence),
    }
}

/// The spec's results, and whether the streaming path `ruleq run` takes
/// gave them too: with the events in time order for the query, the
/// streaming collector must give the same results in the same order.
fn run(
    query: &eql::Query,
    data: &Dataset,
    read: &Read,
    max_samples_per_key: usize,
) -> Result<(Vec<Found>, bool), String> {
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
    for (origin, bytes) in &read.events {
        collector
            .offer(origin.clone(), bytes)
            .map_err(|e| e.to_string())?;
        streaming
            .offer(origin.clone(), bytes)
            .map_err(|e| e.to_string())?;
        streamed.extend(streaming.take_ready());
    }
    let in_order = streaming.late().is_none();
    streamed.extend(streaming.finish());
    let found = |outputs: Vec<Output>| -> Vec<Found> {
        outputs
            .into_iter()
            .map(|out| match out {
                Output::Event(h) => Found {
                    ids: vec![read.id(&h)],
                    keys: Vec::new(),
                },
                Output::Sequence { join_keys, events } => Found {
                    ids: events
                        .iter()
                        .map(|e| e.as_ref().map_or(-1, |h| read.id(h)))
                        .collect(),
                    keys: join_keys.iter().map(|k| key_text(k, true)).collect(),
                },
                Output::Sample { join_keys, events } => Found {
                    ids: events.iter().map(|h| read.id(h)).collect(),
                    keys: join_keys.iter().map(|k| key_text(k, false)).collect(),
                },
            })
            .collect()
    };
    let kept = found(collector.finish());
    let streamed = found(streamed);
    let flat = |f: &[Found]| -> Vec<i64> { f.iter().flat_map(|r| r.ids.clone()).collect() };
    if in_order && flat(&streamed) != flat(&kept) {
        return Err(format!(
            "streamed {:?}, kept {:?}",
            flat(&streamed),
            flat(&kept)
        ));
    }
    Ok((kept, in_order))
}

/// Counts over one data set's spec files, in every layout.
#[derive(Default)]
struct Tally {
    /// Spec runs that passed (specs times layouts).
    passed: usize,
    /// Spec runs.
    total: usize,
    /// Specs, each once.
    specs: usize,
    /// Spec runs whose join keys were compared.
    keyed: usize,
    /// Spec runs the streaming path was compared on.
    streamed: usize,
    failed: Vec<String>,
}

impl Tally {
    fn assert_clean(&self, what: &str) {
        println!(
            "{what}: {} of {} spec runs pass ({} specs x {} layouts; join keys compared in {}, \
             streaming path in {})",
            self.passed,
            self.total,
            self.specs,
            LAYOUTS.len(),
            self.keyed,
            self.streamed
        );
        assert!(
            self.failed.is_empty(),
            "{} failing spec runs:\n{}",
            self.failed.len(),
            self.failed.join("\n")
        );
        assert_eq!(self.total, self.specs * LAYOUTS.len());
    }
}

/// Runs the specs of `files` over `data`, written and read back in every
/// layout.
fn check(data: &Dataset, files: &[&str], shared: &std::path::Path) -> Tally {
    let mut tally = Tally::default();
    let specs: Vec<Spec> = files.iter().flat_map(|f| specs(&shared.join(f))).collect();
    tally.specs = specs.len();
    for layout in LAYOUTS {
        let read = Read::new(data, layout, files[0]);
        for spec in &specs {
            tally.total += 1;
            let query = eql::parse(&spec.query).unwrap_or_else(|d| panic!("{}: {d}", spec.name));
            let fail =
                |why: String| format!("{layout:?} {}: {why}\n    {}", spec.name, spec.query.trim());
            match run(&query, data, &read, spec.max_samples_per_key) {
                Ok((mut results, compared)) => {
                    tally.streamed += usize::from(compared);
                    // `size` caps results (a sequence or sample counts as one).
                    results.truncate(spec.size);
                    let ids: Vec<i64> = results.iter().flat_map(|r| r.ids.clone()).collect();
                    let keys: Vec<String> = results.iter().flat_map(|r| r.keys.clone()).collect();
                    if !spec.expected.contains(&ids) {
                        tally
                            .failed
                            .push(fail(format!("got {ids:?}, expected {:?}", spec.expected)));
                    } else if spec.join_keys.as_ref().is_some_and(|want| *want != keys) {
                        tally.failed.push(fail(format!(
                            "join keys {keys:?}, expected {:?}",
                            spec.join_keys.as_ref().unwrap()
                        )));
                    } else {
                        tally.keyed += usize::from(spec.join_keys.is_some());
                        tally.passed += 1;
                    }
                }
                Err(e) => tally.failed.push(fail(e)),
            }
        }
    }
    tally
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
    let tally = check(&data, &files, &shared);
    tally.assert_clean("Elasticsearch specs on endgame data");
    assert_eq!(
        tally.specs, 198,
        "the endgame spec files hold 198 live specs"
    );
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
    let tally = check(&extra(&root), &["test_extra.toml"], &shared);
    tally.assert_clean("Elasticsearch extra specs");
    assert_eq!(tally.specs, 40);
    // Every spec with join keys had them compared, in every layout.
    assert_eq!(
        tally.keyed,
        34 * LAYOUTS.len(),
        "specs of test_extra.toml with join keys"
    );
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
    let tally = check(&endgame_nanos(&root), &files, &shared);
    tally.assert_clean("Elasticsearch date_nanos specs");
    assert_eq!(tally.specs, 3);
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
    let mut data = Dataset::new(events, "id", "event_type");
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
    let tally = check(&data, &["test_sample.toml"], &shared);
    tally.assert_clean("Elasticsearch sample specs");
    assert_eq!(tally.specs, 25);
    let multi = sample_data(&root, &["sample-multi"]);
    let tally = check(&multi, &["test_sample_multi.toml"], &shared);
    tally.assert_clean("Elasticsearch sample-multi specs");
    assert_eq!(tally.specs, 9);
}

#[test]
fn elasticsearch_missing_event_specs() {
    let Some(shared) = common::shared("conformance/elasticsearch-eql") else {
        return;
    };
    let root = shared.parent().unwrap().parent().unwrap().to_path_buf();
    let tally = check(
        &missing_events(&root),
        &["test_missing_events.toml"],
        &shared,
    );
    tally.assert_clean("Elasticsearch missing-event specs");
    assert_eq!(tally.specs, 26);
    // The streaming path is compared wherever the data is in time order
    // for the query.
    assert!(
        tally.streamed >= 20 * LAYOUTS.len(),
        "only {} spec runs streamed in order",
        tally.streamed
    );
}
