//! Candidate records ([`Kept`]) are what the stateless stage of a run
//! (events read, filters and sequence steps evaluated) hands to the
//! stateful one (sorting, sequence and sample state machines). A
//! distributed run ships them between machines as JSON lines: each record
//! written to one line and read back must give the stateful stage exactly
//! the results the in-process run gives, streamed in input order or
//! collected whole in any order.

use ruleq::engine::{Kept, Origin, Output, QueryOptions, RuleSet, RuleSetBuilder, Runner};
use ruleq::eval::sequence::KeyValue;
use ruleq::mapping::Mapping;
use ruleq::syntax::eql;

/// A run's results: per query, its outputs.
type Results = Vec<Vec<Output>>;

fn options(mapping: Option<&Mapping>) -> QueryOptions {
    QueryOptions {
        now: 1_772_323_200_000_000_000,
        tiebreaker_field: Some("event.sequence".into()),
        mapping: mapping.cloned(),
        ..QueryOptions::default()
    }
}

fn rule_set(queries: &[&str], mapping: Option<&Mapping>) -> RuleSet {
    let options = options(mapping);
    let mut builder = RuleSetBuilder::new(mapping);
    for q in queries {
        builder
            .add_eql(&eql::parse(q).unwrap(), &options)
            .unwrap_or_else(|e| panic!("{q}: {e:?}"));
    }
    builder.finish()
}

fn origin(i: usize) -> Origin {
    // Two input files, interleaved.
    Origin {
        file: i % 2,
        line: i as u64 / 2 + 1,
    }
}

/// The stateless stage: every event evaluated for every query, the
/// candidate records as (query, record) in input order.
fn candidates(set: &RuleSet, events: &[String]) -> Vec<(usize, Kept)> {
    let mut evaluating = Runner::new(set);
    let mut out = Vec::new();
    for (i, e) in events.iter().enumerate() {
        evaluating
            .evaluate(&origin(i), i as u64, e.as_bytes(), &mut out)
            .unwrap();
    }
    out
}

/// The stateful stage, streaming as `ruleq run` does: records pushed in
/// input order, results taken as they become final.
fn streamed(set: &RuleSet, records: impl IntoIterator<Item = (usize, Kept)>) -> Results {
    let mut collecting = Runner::collecting(set, true);
    let mut results: Results = vec![Vec::new(); set.queries.len()];
    for (q, k) in records {
        collecting.push(q, k);
        collecting.take_ready(|q, out| results[q].push(out));
    }
    for (q, rest) in collecting.finish().into_iter().enumerate() {
        results[q].extend(rest);
    }
    results
}

/// The stateful stage keeping every record, which sorts them: pushed in
/// any order.
fn whole(set: &RuleSet, records: impl IntoIterator<Item = (usize, Kept)>) -> Results {
    let mut collecting = Runner::collecting(set, false);
    for (q, k) in records {
        collecting.push(q, k);
    }
    collecting.finish()
}

/// Each record as one JSON line, (query, record), as a distributed run
/// ships them.
fn to_lines(records: &[(usize, Kept)]) -> Vec<String> {
    records
        .iter()
        .map(|(q, k)| {
            let line = serde_json::to_string(&(q, k)).unwrap();
            assert!(!line.contains('\n'), "one record, one line: {line}");
            line
        })
        .collect()
}

fn from_lines(lines: &[String]) -> Vec<(usize, Kept)> {
    lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Runs `queries` over `events` in process and through JSON lines, asserts
/// the results are the same, and returns them.
fn both_ways(queries: &[&str], mapping: Option<&Mapping>, events: &[String]) -> Results {
    let set = rule_set(queries, mapping);
    let records = candidates(&set, events);
    let lines = to_lines(&records);
    let read = from_lines(&lines);
    assert_eq!(read, records, "records read back are the records written");

    // Streamed, in input order.
    let in_process = streamed(&set, records.clone());
    let shipped = streamed(&set, read.clone());
    assert_eq!(shipped, in_process, "streamed results");

    // Kept whole: records in any order (here reversed, then every other
    // one first) give the results of the in-process run in input order.
    let whole_in_process = whole(&set, records);
    let mut shuffled = read;
    shuffled.reverse();
    let (a, b): (Vec<_>, Vec<_>) = shuffled
        .into_iter()
        .enumerate()
        .partition(|(i, _)| i % 2 == 0);
    let shuffled = a.into_iter().chain(b).map(|(_, r)| r);
    assert_eq!(
        whole(&set, shuffled),
        whole_in_process,
        "results of records collected whole, in another order"
    );
    // And what `ruleq query` computes, every event offered to one runner.
    let mut offered = Runner::new(&set);
    for (i, e) in events.iter().enumerate() {
        offered.offer(origin(i), e.as_bytes()).unwrap();
    }
    assert_eq!(offered.finish(), whole_in_process, "offered whole");
    in_process
}

/// An output's events as (file, line) (`None` for a missing-event stage),
/// and its join keys.
type Shown = (Vec<Option<(usize, u64)>>, Vec<Option<KeyValue>>);

/// Each output as [`Shown`].
fn shown(outputs: &[Output]) -> Vec<Shown> {
    let at = |h: &ruleq::engine::Hit| (h.origin.file, h.origin.line);
    outputs
        .iter()
        .map(|o| match o {
            Output::Event(h) => (vec![Some(at(h))], Vec::new()),
            Output::Sequence { join_keys, events } => (
                events.iter().map(|e| e.as_ref().map(at)).collect(),
                join_keys.clone(),
            ),
            Output::Sample { join_keys, events } => (
                events.iter().map(|h| Some(at(h))).collect(),
                join_keys.clone(),
            ),
        })
        .collect()
}

fn events(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|l| l.to_string()).collect()
}

fn s(v: &str) -> Option<KeyValue> {
    Some(KeyValue::Str(v.into()))
}

#[test]
fn event_query_records_round_trip() {
    let events = events(&[
        // Out of time order, ties broken by `event.sequence`, one without
        // a time (last), one a search hit with `_id` and `_index`.
        r#"{"@timestamp":"2024-01-01T00:00:02Z","event":{"category":"process","sequence":2},"process":{"name":"cmd.exe"}}"#,
        r#"{"@timestamp":"2024-01-01T00:00:01Z","event":{"category":"process","sequence":9},"process":{"name":"cmd.exe"}}"#,
        r#"{"@timestamp":"2024-01-01T00:00:01Z","event":{"category":"process","sequence":3},"process":{"name":"cmd.exe"}}"#,
        r#"{"event":{"category":"process"},"process":{"name":"cmd.exe"}}"#,
        r#"{"_id":"x1","_index":"logs-a","_source":{"@timestamp":"2024-01-01T00:00:00Z","event":{"category":"process"},"process":{"name":"cmd.exe","args":["/c","é \"q\""]}}}"#,
        r#"{"@timestamp":"2024-01-01T00:00:00Z","event":{"category":"process"},"process":{"name":"sh"}}"#,
    ]);
    let results = both_ways(
        &[r#"process where process.name == "cmd.exe""#],
        None,
        &events,
    );
    let got = shown(&results[0]);
    let order: Vec<_> = got.iter().map(|(e, _)| e[0].unwrap()).collect();
    // Streamed event results come as they are evaluated.
    assert_eq!(order, [(0, 1), (1, 1), (0, 2), (1, 2), (0, 3)]);
    let Output::Event(hit) = &results[0][4] else {
        panic!()
    };
    assert_eq!(hit.id(), Some("x1"));
    assert_eq!(hit.index(), Some("logs-a"));
    assert!(hit.source.starts_with(br#"{"@timestamp""#));
}

#[test]
fn sequence_records_with_date_and_multi_valued_keys_round_trip() {
    // `session.start` is a date: its values join as instants, whatever
    // their text; `user.name` may hold several values, one key each.
    let mapping = Mapping::parse(
        r#"{"properties": {
            "@timestamp": {"type": "date"},
            "session": {"properties": {"start": {"type": "date"}}},
            "user": {"properties": {"name": {"type": "keyword"}}}
        }}"#,
    )
    .unwrap();
    let events = events(&[
        r#"{"@timestamp":"2024-01-01T00:00:00Z","event":{"category":"process","sequence":1},"host":{"id":"h1"},"session":{"start":"2024-01-01T00:00:00Z"},"user":{"name":["alice","bob"]},"process":{"name":"cmd.exe"}}"#,
        r#"{"@timestamp":"2024-01-01T00:00:05Z","event":{"category":"network","sequence":2},"host":{"id":"h1"},"session":{"start":1704067200000},"user":{"name":"bob"}}"#,
        r#"{"@timestamp":"2024-01-01T00:00:06Z","event":{"category":"network","sequence":3},"host":{"id":"h1"},"session":{"start":"2024-01-01"},"user":{"name":["alice","carol"]}}"#,
        // Another session: no join.
        r#"{"@timestamp":"2024-01-01T00:00:07Z","event":{"category":"network","sequence":4},"host":{"id":"h1"},"session":{"start":"2024-01-02"},"user":{"name":"alice"}}"#,
        r#"{"@timestamp":"2024-01-01T00:00:08Z","event":{"category":"process","sequence":5},"host":{"id":"h2"},"session":{"start":"2024-01-01T00:00:00Z"},"user":{"name":"dave"},"process":{"name":"cmd.exe"}}"#,
        r#"{"@timestamp":"2024-01-01T00:00:09Z","event":{"category":"network","sequence":6},"host":{"id":"h2"},"session":{"start":"2024-01-01T00:00:00.000Z"},"user":{"name":"dave"}}"#,
    ]);
    let results = both_ways(
        &[r#"sequence by host.id, session.start with maxspan=1h
               [process where process.name == "cmd.exe"] by user.name
               [network where true] by user.name"#],
        Some(&mapping),
        &events,
    );
    let day = Some(KeyValue::Date(1_704_067_200_000_000_000));
    assert_eq!(
        shown(&results[0]),
        [
            (
                vec![Some((0, 1)), Some((1, 1))],
                vec![s("h1"), day.clone(), s("bob")]
            ),
            (
                vec![Some((0, 1)), Some((0, 2))],
                vec![s("h1"), day.clone(), s("alice")]
            ),
            (
                vec![Some((0, 3)), Some((1, 3))],
                vec![s("h2"), day, s("dave")]
            ),
        ]
    );
}

#[test]
fn missing_event_sequence_records_with_until_round_trip() {
    let events = events(&[
        // h1: a stop between start and file cancels the sequence.
        r#"{"@timestamp":"2024-01-01T00:00:00Z","event":{"category":"process","type":"start"},"host":{"id":"h1"}}"#,
        r#"{"@timestamp":"2024-01-01T00:00:01Z","event":{"category":"process","type":"stop"},"host":{"id":"h1"}}"#,
        r#"{"@timestamp":"2024-01-01T00:00:02Z","event":{"category":"file"},"host":{"id":"h1"}}"#,
        // h2: nothing between: a sequence, with a gap for the missing stage.
        r#"{"@timestamp":"2024-01-01T00:00:03Z","event":{"category":"process","type":"start"},"host":{"id":"h2"}}"#,
        r#"{"@timestamp":"2024-01-01T00:00:04Z","event":{"category":"file"},"host":{"id":"h2"}}"#,
        // h3: `until` closes the partial sequence.
        r#"{"@timestamp":"2024-01-01T00:00:05Z","event":{"category":"process","type":"start"},"host":{"id":"h3"}}"#,
        r#"{"@timestamp":"2024-01-01T00:00:06Z","event":{"category":"process","type":"end"},"host":{"id":"h3"}}"#,
        r#"{"@timestamp":"2024-01-01T00:00:07Z","event":{"category":"file"},"host":{"id":"h3"}}"#,
        // h4: a stop of another host cancels nothing.
        r#"{"@timestamp":"2024-01-01T00:00:08Z","event":{"category":"process","type":"start"},"host":{"id":"h4"}}"#,
        r#"{"@timestamp":"2024-01-01T00:00:09Z","event":{"category":"process","type":"stop"},"host":{"id":"h5"}}"#,
        r#"{"@timestamp":"2024-01-01T00:00:10Z","event":{"category":"file"},"host":{"id":"h4"}}"#,
    ]);
    let set = rule_set(&[MISSING], None);
    // Events that only cancel keep no text: their source is `null`.
    let records = candidates(&set, &events);
    let cancelling = to_lines(&records)
        .into_iter()
        .filter(|l| l.contains(r#""source":null"#))
        .count();
    assert_eq!(cancelling, 3, "two stops and one end");
    let results = both_ways(&[MISSING], None, &events);
    assert_eq!(
        shown(&results[0]),
        [
            (vec![Some((1, 2)), None, Some((0, 3))], vec![s("h2")]),
            (vec![Some((0, 5)), None, Some((0, 6))], vec![s("h4")]),
        ]
    );
}

const MISSING: &str = r#"sequence by host.id with maxspan=1m
    [process where event.type == "start"]
    ![process where event.type == "stop"]
    [file where true]
  until [process where event.type == "end"]"#;

#[test]
fn sample_records_round_trip() {
    let events = events(&[
        r#"{"@timestamp":"2024-01-01T00:00:03Z","event":{"category":"process"},"host":{"id":"h1"}}"#,
        r#"{"@timestamp":"2024-01-01T00:00:02Z","event":{"category":"network"},"host":{"id":"h2"}}"#,
        r#"{"@timestamp":"2024-01-01T00:00:01Z","event":{"category":"network"},"host":{"id":"h1"}}"#,
        r#"{"event":{"category":"process"},"host":{"id":"h2"}}"#,
        r#"{"@timestamp":"2024-01-01T00:00:00Z","event":{"category":"process"},"host":{"id":"h3"}}"#,
    ]);
    let results = both_ways(
        &[r#"sample by host.id [process where true] [network where true]"#],
        None,
        &events,
    );
    assert_eq!(
        shown(&results[0]),
        [
            (vec![Some((0, 1)), Some((0, 2))], vec![s("h1")]),
            (vec![Some((1, 2)), Some((1, 1))], vec![s("h2")]),
        ]
    );
}

#[test]
fn queries_of_one_set_share_records_and_round_trip() {
    // All four kinds in one set, over the seed rules' generated events:
    // records of every query interleave, and each goes back to its query.
    let mut lines = Vec::new();
    ruleq::gen::generate(3_000, 3, |l| lines.push(l.to_string()));
    let mut queries: Vec<String> = vec![
        r#"process where process.name : "*.exe""#.into(),
        "sequence by host.id with maxspan=5m [process where true] by process.pid [network where true] by process.pid".into(),
        MISSING.into(),
        "sample by host.id [process where true] [network where true] [file where true]".into(),
    ];
    for file in ruleq::rule::collect_paths(&[std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/rules"
    ))])
    .unwrap()
    {
        for r in &ruleq::rule::load_file(&file).unwrap().rules {
            if r.language.as_ref().unwrap().value == ruleq::rule::Language::Eql {
                queries.push(r.query.as_ref().unwrap().text.clone());
            }
        }
    }
    let queries: Vec<&str> = queries.iter().map(String::as_str).collect();
    let results = both_ways(&queries, None, &lines);
    assert!(
        results.iter().all(|r| !r.is_empty()),
        "every query has results: {:?}",
        results.iter().map(Vec::len).collect::<Vec<_>>()
    );
}

#[test]
fn wire_form_reads_as_documented() {
    let events = events(&[
        r#"{"@timestamp":"2024-01-01T00:00:00Z","event":{"category":"process","sequence":7},"host":{"id":"h1"}}"#,
    ]);
    let set = rule_set(
        &["sequence by host.id [process where true] [network where true]"],
        None,
    );
    let records = candidates(&set, &events);
    let line = serde_json::to_string(&records[0].1).unwrap();
    assert_eq!(
        line,
        concat!(
            r#"{"hit":{"origin":{"file":0,"line":1},"#,
            r#""source":{"@timestamp":"2024-01-01T00:00:00Z","event":{"category":"process","sequence":7},"host":{"id":"h1"}},"#,
            r#""timestamp":1704067200000000000,"names":null},"#,
            r#""sort":{"time":1704067200000000000,"tie":{"num":7.0},"seq":0},"#,
            r#""stages":[[0,[[{"str":"h1"}]]]],"cancels":null}"#,
        )
    );
}

#[test]
fn sources_that_are_not_one_line_objects_round_trip() {
    use ruleq::engine::Hit;
    use std::sync::Arc;
    let hit = |source: &[u8]| Hit {
        origin: Origin { file: 3, line: 9 },
        source: Arc::from(source),
        timestamp: None,
        names: None,
    };
    for (source, wire) in [
        (&b""[..], "null"),
        (b"{\"a\":\n 1}", r#""{\"a\":\n 1}""#),
        (b"{\"a\":1} ", r#""{\"a\":1} ""#),
        (b"{\"a\":", r#""{\"a\":""#),
        (b"\"text\"", r#""\"text\"""#),
        (b"null", r#""null""#),
        (b"[1,2]", r#""[1,2]""#),
        (b"{\"a\":\xff}", "[123,34,97,34,58,255,125]"),
        (
            b"{ \"a\" : [1, 2.50, \"\\u00e9\"] }",
            r#"{ "a" : [1, 2.50, "\u00e9"] }"#,
        ),
    ] {
        let h = hit(source);
        let text = serde_json::to_string(&h).unwrap();
        let embedded = format!(r#""source":{wire},"#);
        assert!(text.contains(&embedded), "{text} has {embedded}");
        let back: Hit = serde_json::from_str(&text).unwrap();
        assert_eq!(back, h, "{text}");
        // Through a `serde_json::Value` too (the same JSON, if not the
        // same bytes, for an embedded object).
        let value = serde_json::to_value(&h).unwrap();
        let back: Hit = serde_json::from_value(value).unwrap();
        if source.first() == Some(&b'{') && text.contains(r#""source":{"#) {
            let a: serde_json::Value = serde_json::from_slice(&back.source).unwrap();
            let b: serde_json::Value = serde_json::from_slice(source).unwrap();
            assert_eq!(a, b);
        } else {
            assert_eq!(back, h, "through a Value: {text}");
        }
    }
}

#[test]
fn tiebreakers_round_trip() {
    use ruleq::engine::Tie;
    for tie in [
        Tie::None,
        Tie::Num(-0.5),
        Tie::Num(1e300),
        Tie::Num(f64::INFINITY),
        Tie::Num(f64::NEG_INFINITY),
        Tie::Str("b".into()),
    ] {
        let text = serde_json::to_string(&tie).unwrap();
        assert_eq!(serde_json::from_str::<Tie>(&text).unwrap(), tie, "{text}");
    }
    let nan = serde_json::to_string(&Tie::Num(f64::NAN)).unwrap();
    assert_eq!(nan, r#"{"num":"NaN"}"#);
    assert!(matches!(
        serde_json::from_str::<Tie>(&nan).unwrap(),
        Tie::Num(n) if n.is_nan()
    ));
}

#[test]
#[cfg(target_pointer_width = "64")]
fn records_stay_small() {
    // Records pass between threads by the million: making them
    // serializable added nothing to their size (168 bytes before).
    assert!(std::mem::size_of::<Kept>() <= 168);
}
