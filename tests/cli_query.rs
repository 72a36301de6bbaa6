//! `ruleq query` as a user runs it: NDJSON results on stdout, malformed
//! events reported with their line and skipped, exit codes.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn ruleq(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ruleq"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // ruleq may exit (a usage error, say) before reading its input: a
    // broken pipe here is expected then.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

fn lines(o: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(o.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A query with `--mapping` (the mapping's JSON written to a file for it):
/// its results, after a successful exit.
fn mapped_query(mapping: &str, lang: &str, query: &str, events: &str) -> Vec<serde_json::Value> {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!(
        "ruleq-query-mapping-{}-{n}.json",
        std::process::id()
    ));
    std::fs::write(&path, mapping).unwrap();
    let out = ruleq(
        &["query", "--mapping", path.to_str().unwrap(), lang, query],
        events,
    );
    std::fs::remove_file(&path).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{query}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    lines(&out)
}

const EVENTS: &str = r#"{"@timestamp": "2024-01-01T00:00:03Z", "event": {"category": "process"}, "process": {"name": "telnet", "entity_id": "p1"}}
not json

{"@timestamp": "2024-01-01T00:00:01Z", "event": {"category": "process"}, "process": {"name": "ssh", "entity_id": "p2"}}
{"@timestamp": "2024-01-01T00:00:05Z", "event": {"category": ["network"]}, "process": {"name": "telnet", "entity_id": "p1"}, "destination": {"ip": "8.8.8.8"}}
{"@timestamp": "2024-01-01T00:00:06Z", "event": {"category": ["network"]}, "process": {"name": "telnet", "entity_id": "p1"}, "destination": {"ip": "10.1.1.1"}}
"#;

#[test]
fn event_query_results_in_time_order_with_file_and_line() {
    let out = ruleq(&["query", "--eql", "process where true"], EVENTS);
    assert_eq!(out.status.code(), Some(0));
    let hits = lines(&out);
    assert_eq!(hits.len(), 2);
    // Sorted by @timestamp: line 4 (00:01) before line 1 (00:03).
    assert_eq!(hits[0]["_line"], 4);
    assert_eq!(hits[1]["_line"], 1);
    assert_eq!(hits[0]["_file"], "<stdin>");
    assert_eq!(hits[0]["_source"]["process"]["name"], "ssh");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("<stdin>:2: malformed event"), "{err}");
    assert!(err.contains("1 malformed events skipped"), "{err}");
}

#[test]
fn sequences_print_join_keys_and_events() {
    let q = r#"sequence by process.entity_id
      [process where process.name == "telnet"]
      [network where not cidrmatch(destination.ip, "10.0.0.0/8")]"#;
    let out = ruleq(&["query", "--eql", q], EVENTS);
    assert_eq!(out.status.code(), Some(0));
    let seqs = lines(&out);
    assert_eq!(seqs.len(), 1);
    assert_eq!(seqs[0]["join_keys"], serde_json::json!(["p1"]));
    let lines: Vec<_> = seqs[0]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["_line"].clone())
        .collect();
    assert_eq!(lines, [1, 5]);
}

#[test]
fn pipes_and_size_limit_results() {
    let out = ruleq(&["query", "--eql", "any where true | tail 2"], EVENTS);
    let got: Vec<_> = lines(&out).iter().map(|h| h["_line"].clone()).collect();
    assert_eq!(got, [5, 6]);
    let out = ruleq(&["query", "--size", "1", "--eql", "any where true"], EVENTS);
    assert_eq!(lines(&out).len(), 1);
}

#[test]
fn errors_exit_1_for_queries_and_2_for_missing_files() {
    let out = ruleq(&["query", "--eql", "any where x = 1"], "");
    assert_eq!(out.status.code(), Some(1));
    let out = ruleq(
        &["query", "--eql", "any where true", "/no/such/file.ndjson"],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("/no/such/file.ndjson"));
}

#[test]
fn timestamps_compare_as_dates_and_kql_date_math_uses_now() {
    let events = "{\"@timestamp\": \"2024-04-30T10:00:00Z\", \"id\": 1}\n\
                  {\"@timestamp\": \"2024-05-01T09:00:00.250Z\", \"id\": 2}\n\
                  {\"@timestamp\": 1714555200000, \"id\": 3}\n";
    let ids = |o: &Output| -> Vec<i64> {
        lines(o)
            .iter()
            .map(|h| h["_source"]["id"].as_i64().unwrap())
            .collect()
    };
    let out = ruleq(
        &[
            "query",
            "--now",
            "2024-05-01T12:00:00Z",
            "--kql",
            "@timestamp >= now-1d/d",
        ],
        events,
    );
    assert_eq!(ids(&out), [1, 2, 3]);
    let out = ruleq(
        &[
            "query",
            "--now",
            "2024-05-01T12:00:00Z",
            "--kql",
            "@timestamp > now-12h",
        ],
        events,
    );
    assert_eq!(ids(&out), [2, 3]);
    // A second-precision literal covers its whole second; epoch milliseconds work too.
    let out = ruleq(
        &[
            "query",
            "--eql",
            r#"any where @timestamp == "2024-05-01T09:00:00Z""#,
        ],
        events,
    );
    assert_eq!(ids(&out), [2]);
    let out = ruleq(
        &["query", "--eql", "any where @timestamp == 1714555200000"],
        events,
    );
    assert_eq!(ids(&out), [3]);
    let out = ruleq(&["query", "--now", "yesterday", "--kql", "a:1"], events);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn samples_print_join_keys_and_events_per_key() {
    let events = "{\"event\": {\"category\": \"process\"}, \"host\": \"b\", \"id\": 1}\n\
                  {\"event\": {\"category\": \"network\"}, \"host\": \"b\", \"id\": 2}\n\
                  {\"event\": {\"category\": \"process\"}, \"host\": \"a\", \"id\": 3}\n\
                  {\"event\": {\"category\": \"network\"}, \"host\": \"a\", \"id\": 4}\n\
                  {\"event\": {\"category\": \"process\"}, \"host\": \"a\", \"id\": 5}\n";
    let q = "sample by host [process where true] [network where true]";
    let out = ruleq(&["query", "--eql", q, "--max-samples-per-key", "2"], events);
    assert_eq!(out.status.code(), Some(0));
    let got: Vec<(serde_json::Value, Vec<i64>)> = lines(&out)
        .iter()
        .map(|s| {
            let ids = s["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["_source"]["id"].as_i64().unwrap())
                .collect();
            (s["join_keys"].clone(), ids)
        })
        .collect();
    // Keys in order; a second sample for "a" reuses event 4, never repeats a sample.
    assert_eq!(
        got,
        [
            (serde_json::json!(["a"]), vec![3, 4]),
            (serde_json::json!(["a"]), vec![5, 4]),
            (serde_json::json!(["b"]), vec![1, 2]),
        ]
    );
}

#[test]
fn kql_on_text_fields_matches_analysed_terms_and_phrases() {
    let events = "{\"id\": 1, \"message\": \"Failed password for root from 10.0.0.1\", \"user\": \"Root\"}\n\
                  {\"id\": 2, \"message\": \"Accepted password for alice\", \"user\": \"alice\"}\n";
    let mapping = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/mappings/text.json"
    );
    let ids = |q: &str| -> Vec<i64> {
        let out = ruleq(&["query", "--mapping", mapping, "--kql", q], events);
        assert_eq!(out.status.code(), Some(0), "{q}");
        lines(&out)
            .iter()
            .map(|h| h["_source"]["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids("message:FAILED"), [1], "terms are lower-cased");
    assert_eq!(
        ids("message:failed alice"),
        [1, 2],
        "an unquoted value matches any term"
    );
    assert_eq!(
        ids("message:\"password for root\""),
        [1],
        "a quoted value is a phrase"
    );
    assert_eq!(ids("message:\"root for password\""), Vec::<i64>::new());
    assert_eq!(
        ids("user:root"),
        Vec::<i64>::new(),
        "keyword fields stay exact"
    );
}

#[test]
fn kql_nested_queries_nest() {
    let events = "{\"id\": 1, \"a\": [{\"b\": [{\"c\": 1, \"d\": 2}, {\"c\": 3, \"d\": 4}]}, {\"b\": [{\"c\": 1, \"d\": 4}]}]}\n\
                  {\"id\": 2, \"a\": [{\"b\": [{\"c\": 1, \"d\": 2}]}, {\"b\": [{\"c\": 3, \"d\": 4}]}]}\n";
    let ids = |q: &str| -> Vec<i64> {
        let out = ruleq(&["query", "--kql", q], events);
        assert_eq!(out.status.code(), Some(0), "{q}");
        lines(&out)
            .iter()
            .map(|h| h["_source"]["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(
        ids("a:{ b:{ c:1 and d:4 } }"),
        [1],
        "one b object holds both"
    );
    assert_eq!(
        ids("a:{ b:{ c:1 } and b:{ d:4 } }"),
        [1],
        "two b objects of one a object"
    );
    assert_eq!(
        ids("a.b.c:1 and a.b.d:4"),
        [1, 2],
        "without nesting, any objects"
    );
}

#[test]
fn files_are_named_in_argument_order_and_long_events_skipped() {
    let dir = std::env::temp_dir().join(format!("ruleq-query-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b) = (dir.join("a.ndjson"), dir.join("b.ndjson"));
    let event = |t: u32, name: &str| {
        format!(r#"{{"@timestamp": "2024-01-01T00:00:0{t}Z", "process": {{"name": "{name}"}}}}"#)
    };
    // b's event is the earlier one, and is read first; a's second event
    // is over the limit.
    let long = event(4, &"x".repeat(200));
    std::fs::write(&a, format!("{}\n{long}\n", event(3, "a"))).unwrap();
    std::fs::write(&b, format!("{}\n", event(1, "b"))).unwrap();
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let out = ruleq(
        &[
            "query",
            "--kql",
            "process.name:*",
            "--max-event-bytes",
            "100",
            a,
            b,
        ],
        "",
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(out.status.code(), Some(0));
    let got: Vec<(String, u64)> = lines(&out)
        .iter()
        .map(|r| {
            (
                r["_file"].as_str().unwrap().to_string(),
                r["_line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, [(b.to_string(), 1), (a.to_string(), 1)]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{a}:2: malformed event: event of {} bytes exceeds the limit of 100 bytes",
            long.len()
        )),
        "{err}"
    );
}

#[test]
fn date_nanos_values_keep_every_nanosecond() {
    // Elasticsearch reads epoch milliseconds with a fraction to the
    // nanosecond on a date_nanos field, from a string or a JSON number's
    // text, and epoch seconds with a fraction likewise.
    let mapping = r#"{"properties": {"@timestamp": {"type": "date_nanos"},
        "seen": {"type": "date_nanos", "format": "epoch_second"}}}"#;
    let events = concat!(
        r#"{"id": 1, "@timestamp": "131509374294.365140", "seen": "131509374.294365140"}"#,
        "\n",
        r#"{"id": 2, "@timestamp": 131509374294.365140, "seen": "131509374.294365141"}"#,
        "\n",
        r#"{"id": 3, "@timestamp": 131509374294.365141, "seen": "131509374.294365139"}"#,
        "\n",
    );
    let ids = |query: &str| -> Vec<i64> {
        mapped_query(mapping, "--eql", query, events)
            .iter()
            .map(|r| r["_source"]["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(
        ids(r#"any where @timestamp == "1974-03-03T02:22:54.294365140Z""#),
        [1, 2]
    );
    assert_eq!(
        ids(r#"any where @timestamp > "1974-03-03T02:22:54.294365140Z""#),
        [3]
    );
    assert_eq!(
        ids(r#"any where seen == "1974-03-03T02:22:54.294365140Z""#),
        [1]
    );
}

#[test]
fn date_join_keys_print_as_elasticsearch_writes_them() {
    // A sequence's date key is ISO 8601; a sample's is epoch milliseconds.
    // Keys join by instant, whatever their text.
    let mapping = r#"{"properties": {"day": {"type": "date"}}}"#;
    let events = concat!(
        r#"{"@timestamp": 1, "event": {"category": "process"}, "day": "2024-01-01"}"#,
        "\n",
        r#"{"@timestamp": 2, "event": {"category": "network"}, "day": 1704067200000}"#,
        "\n",
    );
    let keys = |query: &str| -> Vec<serde_json::Value> {
        mapped_query(mapping, "--eql", query, events)
            .iter()
            .map(|r| r["join_keys"].clone())
            .collect()
    };
    assert_eq!(
        keys("sequence by day [process where true] [network where true]"),
        [serde_json::json!(["2024-01-01T00:00:00.000Z"])]
    );
    assert_eq!(
        keys("sample by day [process where true] [network where true]"),
        [serde_json::json!(["1704067200000"])]
    );
}

#[test]
fn a_mapped_constant_keyword_is_every_events_value() {
    // Elasticsearch gives a `constant_keyword` with a mapped `value` that
    // value on every document, sent or not: term, wildcard and exists
    // queries match documents without it, and EQL reads it (join keys
    // included). Without a `value` (set by the first indexed document in
    // Elasticsearch), a field is only what events carry.
    let mapping = r#"{"properties":{"event":{"properties":{
        "module":{"type":"constant_keyword","value":"github"},
        "provider":{"type":"constant_keyword"},
        "alias_module":{"type":"alias","path":"event.module"}}}}}"#;
    let events = r#"{"@timestamp":"2024-01-01T00:00:01Z","event":{"category":"process"},"x":1}
{"@timestamp":"2024-01-01T00:00:02Z","event":{"category":"process","module":"github"},"x":2}
{"@timestamp":"2024-01-01T00:00:03Z","event":{"module":null},"x":3}
"#;
    let count = |lang: &str, q: &str| mapped_query(mapping, lang, q, events).len();
    assert_eq!(count("--kql", "event.module:github"), 3);
    assert_eq!(count("--kql", "event.module:git*"), 3);
    assert_eq!(count("--kql", "event.module:*"), 3);
    assert_eq!(count("--kql", "event.alias_module:github"), 3);
    assert_eq!(count("--kql", "event.module:okta"), 0);
    assert_eq!(count("--kql", "not event.module:github"), 0);
    assert_eq!(count("--kql", "event.provider:*"), 0);
    assert_eq!(count("--eql", r#"any where event.module == "github""#), 3);
    assert_eq!(count("--eql", "any where event.module == null"), 0);
    assert_eq!(
        count(
            "--eql",
            "sequence by event.module [any where x == 1] [any where x == 2]"
        ),
        1
    );
    // Without the mapping, only the event that sends it has it.
    let out = ruleq(&["query", "--kql", "event.module:github"], events);
    assert_eq!(lines(&out).len(), 1);
}
