//! A rule set reads each event once for all its queries; its results must
//! be exactly each query's results run on its own with its filters as
//! written (the optimised path, index and rewrites, against the plain one),
//! on generated events, and so must the streaming results `ruleq run` takes
//! (in any order).

mod common;

use ruleq::engine::{
    compile_eql, compile_kql, Collector, Origin, Output, QueryOptions, RuleSetBuilder, Runner,
};
use ruleq::rule::{self, Language, RuleType};
use ruleq::syntax::{eql, kql};

enum Q {
    Eql(eql::Query),
    Kql(kql::Query),
}

fn ids(outputs: &[Output]) -> Vec<Vec<u64>> {
    outputs
        .iter()
        .map(|o| match o {
            Output::Event(h) => vec![h.origin.line],
            Output::Sequence { events, .. } => events
                .iter()
                .map(|e| e.as_ref().map_or(0, |h| h.origin.line))
                .collect(),
            Output::Sample { events, .. } => events.iter().map(|h| h.origin.line).collect(),
        })
        .collect()
}

fn compare(queries: &[Q], events: &[String]) -> usize {
    let options = QueryOptions {
        now: 1_772_323_200_000_000_000,
        ..QueryOptions::default()
    };
    compare_with(queries, events, &options)
}

fn compare_with(queries: &[Q], events: &[String], options: &QueryOptions) -> usize {
    let options = options.clone();
    let mut builder = RuleSetBuilder::new(None);
    for q in queries {
        match q {
            Q::Eql(q) => builder.add_eql(q, &options).unwrap(),
            Q::Kql(q) => builder.add_kql(q, &options).unwrap(),
        };
    }
    let set = builder.finish();
    let mut runner = Runner::new(&set);
    for (i, e) in events.iter().enumerate() {
        runner
            .offer(
                Origin {
                    file: 0,
                    line: i as u64 + 1,
                },
                e.as_bytes(),
            )
            .unwrap();
    }
    let together = runner.finish();
    // The streaming path `ruleq run` takes: events evaluated apart from the
    // collecting runner (as on worker threads), results taken as they
    // become final.
    let mut streaming = Runner::streaming(&set);
    let mut evaluating = Runner::new(&set);
    let mut streamed: Vec<Vec<Output>> = vec![Vec::new(); set.queries.len()];
    let mut kept = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let origin = Origin {
            file: 0,
            line: i as u64 + 1,
        };
        evaluating
            .evaluate(&origin, i as u64, e.as_bytes(), &mut kept)
            .unwrap();
        for (q, k) in kept.drain(..) {
            streaming.push(q, k);
        }
        streaming.take_ready(|q, out| streamed[q].push(out));
    }
    for (q, rest) in streaming.finish().into_iter().enumerate() {
        streamed[q].extend(rest);
    }
    // Events evaluated in batches (as worker threads do), chunk by chunk:
    // the same events kept for the same queries in the same order, so the
    // same results.
    let mut one_by_one = Vec::new();
    let mut by_batch = Vec::new();
    let mut evaluating = Runner::new(&set);
    let mut batching = Runner::new(&set);
    // As with worker threads, the runner collecting only collects.
    let mut streaming = Runner::collecting(&set, true);
    let mut batch_streamed: Vec<Vec<Output>> = vec![Vec::new(); set.queries.len()];
    let origins: Vec<Origin> = (0..events.len())
        .map(|i| Origin {
            file: 0,
            line: i as u64 + 1,
        })
        .collect();
    for (i, e) in events.iter().enumerate() {
        evaluating
            .evaluate(&origins[i], i as u64, e.as_bytes(), &mut kept)
            .unwrap();
        one_by_one.extend(kept.drain(..).map(|(q, k)| (q, k.hit().origin.line)));
    }
    // Batches that are not whole chunks.
    for (b, batch) in events.chunks(ruleq::engine::CHUNK * 2 + 7).enumerate() {
        let first = b * (ruleq::engine::CHUNK * 2 + 7);
        let items = batch
            .iter()
            .enumerate()
            .map(|(i, e)| (&origins[first + i], (first + i) as u64, e.as_bytes()));
        batching.evaluate_batch(items, &mut kept, |i, e| panic!("event {i}: {e}"));
        for (q, k) in kept.drain(..) {
            by_batch.push((q, k.hit().origin.line));
            streaming.push(q, k);
        }
        streaming.take_ready(|q, out| batch_streamed[q].push(out));
    }
    assert_eq!(by_batch, one_by_one, "batches keep what single events keep");
    for (q, rest) in streaming.finish().into_iter().enumerate() {
        batch_streamed[q].extend(rest);
    }
    for (a, b) in streamed.iter().zip(&batch_streamed) {
        assert_eq!(
            ids(a),
            ids(b),
            "batches give the results single events give"
        );
    }
    let mut alerting = 0;
    for ((q, got), streamed) in queries.iter().zip(&together).zip(&streamed) {
        let mut a = ids(got);
        let mut b = ids(streamed);
        a.sort();
        b.sort();
        assert_eq!(a, b, "streamed results differ");
        // Alone, and with filters as written: the rewrites the set's
        // queries get change no result.
        let plain = QueryOptions {
            optimize: false,
            ..options.clone()
        };
        let alone = match q {
            Q::Eql(q) => compile_eql(q, &plain).unwrap(),
            Q::Kql(q) => compile_kql(q, &plain).unwrap(),
        };
        let mut c = Collector::new(&alone);
        for (i, e) in events.iter().enumerate() {
            c.offer(
                Origin {
                    file: 0,
                    line: i as u64 + 1,
                },
                e.as_bytes(),
            )
            .unwrap();
        }
        let want = c.finish();
        assert_eq!(ids(got), ids(&want));
        alerting += usize::from(!want.is_empty());
    }
    alerting
}

fn generated(n: u64) -> Vec<String> {
    let mut lines = Vec::new();
    ruleq::gen::generate(n, 3, |l| lines.push(l.to_string()));
    lines
}

#[test]
fn seed_rules_together_equal_seed_rules_alone() {
    let mut queries = Vec::new();
    for file in rule::collect_paths(&[std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/rules"
    ))])
    .unwrap()
    {
        let loaded = rule::load_file(&file).unwrap();
        for r in &loaded.rules {
            let text = &r.query.as_ref().unwrap().text;
            queries.push(match r.language.as_ref().unwrap().value {
                Language::Eql => Q::Eql(eql::parse(text).unwrap()),
                _ => Q::Kql(kql::parse(text).unwrap()),
            });
        }
    }
    assert_eq!(queries.len(), 5);
    assert_eq!(
        compare(&queries, &generated(5_000)),
        5,
        "every seed rule's query matches"
    );
}

#[test]
fn corpus_rules_together_equal_corpus_rules_alone() {
    let Some(dir) = common::shared("corpus/detection-rules") else {
        return;
    };
    let mut queries = Vec::new();
    for file in rule::collect_paths(&[dir]).unwrap() {
        let loaded = rule::load_file(&file).unwrap();
        for r in &loaded.rules {
            let runnable = matches!(
                r.rule_type.as_ref().map(|t| t.value),
                Some(RuleType::Query | RuleType::Eql)
            );
            if !runnable || r.is_deprecated() {
                continue;
            }
            let (Some(q), Some(lang)) = (&r.query, &r.language) else {
                continue;
            };
            queries.push(match lang.value {
                Language::Eql => Q::Eql(eql::parse(&q.text).unwrap()),
                Language::Kuery => Q::Kql(kql::parse(&q.text).unwrap()),
                _ => continue,
            });
        }
    }
    let alerting = compare(&queries, &generated(300));
    println!(
        "corpus: {} query and eql rules run together; {alerting} alert on generated events",
        queries.len()
    );
    assert!(queries.len() > 1_000);
}

#[test]
fn elasticsearch_spec_queries_together_equal_alone() {
    // Elasticsearch's specs match many events each, so they exercise the
    // rule set's category and value indexes where generated events cannot.
    let Some(dir) = common::shared("conformance") else {
        return;
    };
    let mut events: Vec<serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(dir.join("python-eql/test_data.json")).unwrap(),
    )
    .unwrap();
    for e in &mut events {
        let ticks = e["timestamp"].as_i64().unwrap();
        e["@timestamp"] = serde_json::Value::from(ticks / 10_000 - 11_644_473_600_000);
    }
    let lines: Vec<String> = events.iter().map(|e| e.to_string()).collect();
    let mut queries = Vec::new();
    for file in ["test_queries.toml", "additional_test_queries.toml"] {
        let text = std::fs::read_to_string(dir.join("elasticsearch-eql").join(file)).unwrap();
        let doc: toml::Table = text.parse().unwrap();
        for q in doc["queries"].as_array().unwrap() {
            queries.push(Q::Eql(eql::parse(q["query"].as_str().unwrap()).unwrap()));
        }
    }
    let options = QueryOptions {
        category_field: "event_type".into(),
        tiebreaker_field: Some("serial_event_id".into()),
        ..QueryOptions::default()
    };
    let alerting = compare_with(&queries, &lines, &options);
    assert!(
        alerting > 150,
        "{alerting} of {} spec queries match",
        queries.len()
    );
}

#[test]
fn the_index_lets_through_every_event_a_query_matches() {
    // Values that meet a query's literal only loosely: another case, a
    // number written as a string or with a fraction part, numbers too large
    // for a double to tell apart, keys spread over sequence stages.
    let eql = |t: &str| Q::Eql(eql::parse(t).unwrap());
    let kql = |t: &str| Q::Kql(kql::parse(t).unwrap());
    let queries = vec![
        eql(r#"network where destination.port == 23"#),
        kql("destination.port:23"),
        eql(r#"any where process.name : "Telnet""#),
        eql(r#"any where process.name == "telnet""#),
        eql(r#"any where process.name : ("x", "TELNET", "y*")"#),
        eql(r#"any where process.pid == 9007199254740993"#),
        kql("process.pid:9007199254740993"),
        eql(r#"any where user.name in ("Root", "admin")"#),
        eql(r#"any where user.name in~ ("Root", "admin")"#),
        kql("user.name:(root or ADMIN)"),
        eql(
            r#"sequence [process where process.name : "bash"] [network where destination.port == 23]"#,
        ),
        eql(r#"any where destination.port == "23""#),
    ];
    let values = [
        (r#""destination":{"port":23}"#, "network"),
        (r#""destination":{"port":"23"}"#, "network"),
        (r#""destination":{"port":23.0}"#, "network"),
        (r#""destination":{"port":2.3e1}"#, "network"),
        (r#""destination":{"port":"023"}"#, "network"),
        (r#""destination":{"port":[24,23]}"#, "network"),
        (r#""process":{"name":"telnet"}"#, "process"),
        (r#""process":{"name":"TELNET"}"#, "process"),
        (r#""process":{"name":"Telnet"}"#, "process"),
        (r#""process":{"name":"t\u00e9lnet"}"#, "process"),
        (r#""process":{"name":"BASH"}"#, "process"),
        (r#""process":{"name":"yes"}"#, "process"),
        (r#""process":{"pid":9007199254740992}"#, "process"),
        (r#""process":{"pid":9007199254740993}"#, "process"),
        (r#""process":{"pid":9007199254740993.0}"#, "process"),
        (r#""process":{"pid":"9007199254740993"}"#, "process"),
        (r#""user":{"name":"root"}"#, "iam"),
        (r#""user":{"name":"ROOT"}"#, "iam"),
        (r#""user":{"name":"Root"}"#, "iam"),
        (r#""user":{"name":"Admin"}"#, "iam"),
        (r#""destination":{"port":23}"#, "network"),
    ];
    let events: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, (fields, category))| {
            format!(
                r#"{{"@timestamp":"2026-03-01T10:00:{i:02}Z","event":{{"category":"{category}"}},{fields}}}"#
            )
        })
        .collect();
    let alerting = compare(&queries, &events);
    assert_eq!(alerting, queries.len(), "every query matches some event");
}

#[test]
fn shared_conditions_are_remembered_per_event_not_across_events_or_objects() {
    // Conditions several queries state alike are evaluated once per event
    // (`RuleSet::shared`): a verdict must not leak to the next event, nor
    // into a nested query, where the same term holds of one object at a
    // time, nor lose a `not` around it.
    let eql = |t: &str| Q::Eql(eql::parse(t).unwrap());
    let kql = |t: &str| Q::Kql(kql::parse(t).unwrap());
    let queries = vec![
        eql(r#"process where host.os.type == "windows" and process.name == "a.exe""#),
        eql(r#"process where host.os.type == "windows" and not process.name == "a.exe""#),
        eql(r#"process where host.os.type == "linux" or process.name == "a.exe""#),
        eql(
            r#"sequence by host.id [process where process.name == "a.exe"] [process where host.os.type == "windows" and process.name : "b*"]"#,
        ),
        kql(r#"host.os.type:windows and not process.name:"a.exe""#),
        kql(r#"items:{ name:"a" and price:5 }"#),
        kql(r#"items.name:"a" and items.price:5"#),
        kql(r#"items.name:"a""#),
    ];
    let events: Vec<String> = [
        r#""host":{"id":"h","os":{"type":"windows"}},"process":{"name":"a.exe"}"#,
        r#""host":{"id":"h","os":{"type":"windows"}},"process":{"name":"b.exe"}"#,
        r#""host":{"id":"h","os":{"type":"linux"}},"process":{"name":"b.exe"}"#,
        r#""host":{"id":"h","os":{"type":"windows"}},"process":{"name":["x","a.exe"]}"#,
        r#""host":{"id":"h"},"process":{"name":"c"}"#,
        r#""items":[{"name":"a","price":1},{"name":"b","price":5}]"#,
        r#""items":[{"name":"b","price":1},{"name":"a","price":5}]"#,
    ]
    .iter()
    .enumerate()
    .map(|(i, fields)| {
        format!(
            r#"{{"@timestamp":"2026-03-01T10:00:{i:02}Z","event":{{"category":"process"}},{fields}}}"#
        )
    })
    .collect();
    let options = QueryOptions::default();
    let mut builder = RuleSetBuilder::new(None);
    for q in &queries {
        match q {
            Q::Eql(q) => builder.add_eql(q, &options).unwrap(),
            Q::Kql(q) => builder.add_kql(q, &options).unwrap(),
        };
    }
    assert!(
        builder.finish().shared >= 3,
        "the os type and process name tests are shared"
    );
    assert_eq!(compare(&queries, &events), queries.len());
}

#[test]
fn a_batch_reports_malformed_events_by_place_and_evaluates_the_rest() {
    let query = eql::parse(r#"process where process.name == "a.exe""#).unwrap();
    let mut builder = RuleSetBuilder::new(None);
    builder.add_eql(&query, &QueryOptions::default()).unwrap();
    let set = builder.finish();
    // Enough events to span chunks, with bad ones in the first and last.
    let events: Vec<String> = (0..ruleq::engine::CHUNK * 2 + 3)
        .map(|i| match i {
            5 => "{\"process\":".to_string(),
            i if i == ruleq::engine::CHUNK * 2 + 1 => "[1, 2".to_string(),
            i => format!(
                r#"{{"@timestamp":"2026-03-01T10:00:00Z","event":{{"category":"process"}},"process":{{"name":"{}"}}}}"#,
                if i % 3 == 0 { "a.exe" } else { "b.exe" }
            ),
        })
        .collect();
    let origins: Vec<Origin> = (0..events.len())
        .map(|i| Origin {
            file: 0,
            line: i as u64 + 1,
        })
        .collect();
    let mut runner = Runner::new(&set);
    let (mut kept, mut failed) = (Vec::new(), Vec::new());
    let items = events
        .iter()
        .enumerate()
        .map(|(i, e)| (&origins[i], i as u64, e.as_bytes()));
    runner.evaluate_batch(items, &mut kept, |i, e| failed.push((i, e.to_string())));
    let places: Vec<usize> = failed.iter().map(|(i, _)| *i).collect();
    assert_eq!(places, [5, ruleq::engine::CHUNK * 2 + 1]);
    assert!(failed[0].1.contains("EOF"), "{}", failed[0].1);
    let lines: Vec<u64> = kept.iter().map(|(_, k)| k.hit().origin.line).collect();
    let want: Vec<u64> = (0..events.len())
        .filter(|i| i % 3 == 0 && *i != ruleq::engine::CHUNK * 2 + 1)
        .map(|i| i as u64 + 1)
        .collect();
    assert_eq!(lines, want);
}
