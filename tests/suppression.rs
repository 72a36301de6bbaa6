//! Alert suppression (`[rule.alert_suppression]`) through `ruleq run`: the
//! worked examples S-1 to S-4 of the design text (retyped as the rules of
//! `tests/fixtures/suppression/` and small event sets here) with Kibana's
//! ids, an in-memory EQL case in place of S-5, and cases for each
//! statement S1-S8, both modes, thread counts and malformed input.

mod common;

use common::logs_a_events as events;
use serde_json::{json, Value};

const SO: &str = "11111111-1111-1111-1111-111111111111";

const QUERY: &str = include_str!("fixtures/suppression/query_by_host.toml");
const EQL: &str = include_str!("fixtures/suppression/eql_by_host.toml");
const SEQUENCE: &str = include_str!("fixtures/suppression/eql_sequence_by_host.toml");
const NEW_TERMS: &str = include_str!("fixtures/suppression/new_terms_by_host.toml");
const THRESHOLD: &str = include_str!("fixtures/suppression/threshold_by_host.toml");

/// `rule` with each (line, replacement) swapped; every line must be there.
fn with(rule: &str, swaps: &[(&str, &str)]) -> String {
    let mut out = rule.to_string();
    for (from, to) in swaps {
        assert!(out.contains(from), "{from:?} is in the rule");
        out = out.replacen(from, to, 1);
    }
    out
}

type Run = common::RuleRun;

/// Runs `rule` over `events` (and `history`, when given) in a fresh folder,
/// with `args` (at 2030-01-01T00:00:00Z unless under `--schedule`); the run
/// must succeed.
fn run(tag: &str, rule: &str, events: &str, history: Option<&str>, args: &[&str]) -> Run {
    let files: Vec<(&str, &str)> = history.map(|h| ("history.ndjson", h)).into_iter().collect();
    let mut all: Vec<&str> = args.to_vec();
    if !args.contains(&"--schedule") {
        all.extend(["--now", "2030-01-01T00:00:00Z"]);
    }
    if history.is_some() {
        all.extend(["--history", "history.ndjson"]);
    }
    let r = common::run_rule(&format!("suppression-{tag}"), rule, events, &files, &all);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r
}

fn auth(host: Value) -> Value {
    let mut v = json!({"event": {"category": "authentication"}});
    if !host.is_null() {
        v["host"] = json!({"name": host});
    }
    v
}

/// S-1's events: h1 twice, h2 once, two without a host.
fn s1_events() -> String {
    events(&[
        ("e1", "2024-05-01T10:01:00Z", auth(json!("h1"))),
        ("e2", "2024-05-01T10:02:00Z", auth(json!("h1"))),
        ("e3", "2024-05-01T10:03:00Z", auth(Value::Null)),
        ("e4", "2024-05-01T10:03:00Z", auth(json!("h2"))),
        ("e5", "2024-05-01T10:04:00Z", auth(Value::Null)),
    ])
}

fn ancestor(a: &Value) -> &str {
    a["kibana.alert.ancestors"][0]["id"].as_str().unwrap()
}

/// The alert whose ancestor is event `id`.
fn by_event<'a>(r: &'a Run, id: &str) -> &'a Value {
    r.alerts
        .iter()
        .find(|a| ancestor(a) == id)
        .unwrap_or_else(|| panic!("no alert on {id}: {}", r.stdout))
}

fn terms(host: Value) -> Value {
    json!([{"field": "host.name", "value": host}])
}

/// The suppression fields of an alert: (terms, start, end, docs_count).
fn suppression(a: &Value) -> (Value, &str, &str, u64) {
    (
        a["kibana.alert.suppression.terms"].clone(),
        a["kibana.alert.suppression.start"].as_str().unwrap(),
        a["kibana.alert.suppression.end"].as_str().unwrap(),
        a["kibana.alert.suppression.docs_count"].as_u64().unwrap(),
    )
}

const T: &str = "2024-05-01T";

fn at(hms: &str) -> String {
    format!("{T}{hms}.000Z")
}

#[test]
fn s_1_query_per_execution_with_kibanas_ids() {
    let r = run("s1", QUERY, &s1_events(), None, &["--saved-object-id", SO]);
    assert_eq!(r.alerts.len(), 3, "{}", r.stdout);
    let expected = [
        (
            "e1",
            json!("h1"),
            ("10:01:00", "10:02:00", 1),
            "2f2c4f3b2c770a02734ca22adbc80f97a048a906",
            "8654836fc1186151ac202d5ed3797de1fc9f6e18",
        ),
        (
            "e4",
            json!("h2"),
            ("10:03:00", "10:03:00", 0),
            "7c3394cd4c7bf77c9099751b01627c03a9949d2d",
            "98c877cd1e873ed9f92f1f65fb9c3334df479f9a",
        ),
        (
            "e3",
            Value::Null,
            ("10:03:00", "10:04:00", 1),
            "44440c013f23624df759a5d1e8d317d98d6bbeff",
            "a29aae409373f07db6c60b8629c7b117ac65c849",
        ),
    ];
    for (event, host, (start, end, docs), instance, id) in expected {
        let a = by_event(&r, event);
        assert_eq!(
            suppression(a),
            (terms(host), at(start).as_str(), at(end).as_str(), docs),
            "{event}"
        );
        assert_eq!(a["kibana.alert.instance.id"], instance, "{event}");
        assert_eq!(a["kibana.alert.uuid"], id, "{event}");
        assert_eq!(a["kibana.alert.rule.type"], "query");
    }
    // The representative keeps its source fields; the others' are not in it.
    assert_eq!(by_event(&r, "e1")["host"]["name"], "h1");
    assert_eq!(
        by_event(&r, "e1")["kibana.alert.original_time"],
        at("10:01:00")
    );
    // Nothing says suppression is not applied.
    assert!(!r.stderr.contains("not applied"), "{}", r.stderr);
}

#[test]
fn s_1_do_not_suppress_alerts_events_missing_a_field_one_by_one() {
    let rule = with(QUERY, &[("\"suppress\"", "\"doNotSuppress\"")]);
    let r = run(
        "s1-dns",
        &rule,
        &s1_events(),
        None,
        &["--saved-object-id", SO],
    );
    assert_eq!(r.alerts.len(), 4, "{}", r.stdout);
    assert_eq!(
        by_event(&r, "e1")["kibana.alert.uuid"],
        "8654836fc1186151ac202d5ed3797de1fc9f6e18"
    );
    assert_eq!(
        by_event(&r, "e4")["kibana.alert.uuid"],
        "98c877cd1e873ed9f92f1f65fb9c3334df479f9a"
    );
    for plain in ["e3", "e5"] {
        let a = by_event(&r, plain);
        assert!(a.get("kibana.alert.suppression.terms").is_none(), "{a}");
        assert!(a.get("kibana.alert.instance.id").is_none(), "{a}");
    }
    // The plain alerts are what the rule writes without suppression: the
    // same documents, byte for byte.
    let plain_rule = with(
        QUERY,
        &[(
            "[rule.alert_suppression]\ngroup_by = [\"host.name\"]\nmissing_fields_strategy = \"suppress\"\n",
            "",
        )],
    );
    let unsuppressed = run(
        "s1-plain",
        &plain_rule,
        &s1_events(),
        None,
        &["--saved-object-id", SO],
    );
    for plain in ["e3", "e5"] {
        let line = |r: &Run| {
            r.stdout
                .lines()
                .find(|l| l.contains(&format!("\"id\":\"{plain}\"")))
                .map(str::to_string)
        };
        assert_eq!(line(&r), line(&unsuppressed), "{plain}");
    }
    // Kibana's own ids for these two (C6), which ruleq's event alerts do
    // not use: for the record, the design text's prefixes.
    let c6 = |id: &str| ruleq::alert::threshold::kibana_alert_id("logs-a", id, "default", SO);
    assert!(c6("e3").starts_with("7598ab72") && c6("e3").ends_with("d4ff"));
    assert!(c6("e5").starts_with("1fecf5b5") && c6("e5").ends_with("363a"));
}

/// S-2's events (the history event apart): host-0 on new addresses.
fn s2_events(late: bool) -> String {
    let net =
        |ip: &str| json!({"event": {"category": "network"}, "host": {"name": "host-0", "ip": ip}});
    let mut list = vec![
        ("a", "2020-10-28T05:45:00Z", net("127.0.0.3")),
        ("b", "2020-10-28T05:45:00Z", net("127.0.0.4")),
        ("c", "2020-10-28T06:15:00Z", net("127.0.0.5")),
    ];
    if late {
        list.push(("d", "2020-10-28T06:45:00Z", net("127.0.0.7")));
    }
    events(&list)
}

fn s2_history() -> String {
    events(&[(
        "h",
        "2020-10-20T05:00:00Z",
        json!({"event": {"category": "network"}, "host": {"name": "host-0", "ip": "127.0.0.1"}}),
    )])
}

#[test]
fn s_2_new_terms_two_hour_duration_over_three_executions() {
    for mode in [&[][..], &["--schedule"][..]] {
        let r = run("s2", NEW_TERMS, &s2_events(true), Some(&s2_history()), mode);
        assert_eq!(r.alerts.len(), 1, "{mode:?}: {}", r.stdout);
        let a = &r.alerts[0];
        assert_eq!(a["@timestamp"], "2020-10-28T06:00:00.000Z");
        assert_eq!(a["kibana.alert.start"], "2020-10-28T06:00:00.000Z");
        assert_eq!(a["kibana.alert.last_detected"], "2020-10-28T07:00:00.000Z");
        assert_eq!(a["kibana.alert.original_time"], "2020-10-28T05:45:00.000Z");
        assert_eq!(
            suppression(a),
            (
                json!([{"field": "host.name", "value": ["host-0"]}]),
                "2020-10-28T05:45:00.000Z",
                "2020-10-28T06:45:00.000Z",
                3
            )
        );
        // The earliest candidate stands: .3 before .4 (same time, term
        // order).
        assert_eq!(a["kibana.alert.new_terms"], json!(["127.0.0.3"]));
        assert!(r.stderr.contains("schedule: 3 executions"), "{}", r.stderr);
    }
}

#[test]
fn s_3_a_duration_shorter_than_the_interval_does_not_reach_the_next_execution() {
    // One matching event per execution (05:45 and 06:15), as the caution
    // of the example says: two alerts, docs_count 0 each.
    let rule = with(
        NEW_TERMS,
        &[("unit = \"h\"\nvalue = 2", "unit = \"m\"\nvalue = 20")],
    );
    let net =
        |ip: &str| json!({"event": {"category": "network"}, "host": {"name": "host-0", "ip": ip}});
    let evs = events(&[
        ("a", "2020-10-28T05:45:00Z", net("127.0.0.3")),
        ("c", "2020-10-28T06:15:00Z", net("127.0.0.5")),
    ]);
    let r = run("s3", &rule, &evs, Some(&s2_history()), &[]);
    assert_eq!(r.alerts.len(), 2, "{}", r.stdout);
    let (a, b) = (by_event(&r, "a"), by_event(&r, "c"));
    assert_eq!(a["kibana.alert.start"], "2020-10-28T06:00:00.000Z");
    assert_eq!(b["kibana.alert.start"], "2020-10-28T06:30:00.000Z");
    for (x, t) in [
        (a, "2020-10-28T05:45:00.000Z"),
        (b, "2020-10-28T06:15:00.000Z"),
    ] {
        let (_, start, end, docs) = suppression(x);
        assert_eq!((start, end, docs), (t, t, 0));
        assert_eq!(x["kibana.alert.last_detected"], x["kibana.alert.start"]);
    }
    assert_eq!(a["kibana.alert.instance.id"], b["kibana.alert.instance.id"]);
    // With S-2's four events the statements give three alerts: 1, 0, 0.
    let r = run(
        "s3-s2-data",
        &rule,
        &s2_events(true),
        Some(&s2_history()),
        &[],
    );
    let mut docs: Vec<u64> = r.alerts.iter().map(|a| suppression(a).3).collect();
    docs.sort_unstable();
    assert_eq!(docs, [0, 0, 1], "{}", r.stdout);
}

fn th1_events() -> String {
    events(&[
        ("e1", "2024-05-01T10:04:10Z", auth(json!("h1"))),
        ("e2", "2024-05-01T10:04:20Z", auth(json!("h1"))),
        ("e3", "2024-05-01T10:04:30Z", auth(json!("h1"))),
        ("e4", "2024-05-01T10:04:40Z", auth(json!("h2"))),
        ("e5", "2024-05-01T10:06:00Z", auth(json!("h1"))),
        ("e6", "2024-05-01T10:07:00Z", auth(json!("h1"))),
        ("e7", "2024-05-01T10:08:00Z", auth(json!("h1"))),
    ])
}

#[test]
fn s_4_threshold_duration_updates_the_first_alert() {
    // The first execution alone: the alert as created.
    let first = th1_events().lines().take(4).collect::<Vec<_>>().join("\n") + "\n";
    let r = run(
        "s4-first",
        THRESHOLD,
        &first,
        None,
        &["--saved-object-id", SO],
    );
    assert_eq!(r.alerts.len(), 1, "{}", r.stdout);
    let a = &r.alerts[0];
    assert_eq!(
        suppression(a),
        (
            terms(json!("h1")),
            at("10:04:10").as_str(),
            at("10:04:30").as_str(),
            0
        )
    );
    assert_eq!(
        a["kibana.alert.instance.id"],
        "f318d9c0986583cf5a40dbccda34d57c359295a2"
    );
    assert_eq!(
        a["kibana.alert.uuid"],
        "da106522d1ea15b5064f5205e35d9094d1af8472"
    );
    assert_eq!(a["kibana.alert.last_detected"], at("10:05:00"));
    // Both executions: the same alert, updated; no second document.
    for mode in [
        &["--saved-object-id", SO][..],
        &["--saved-object-id", SO, "--schedule"][..],
    ] {
        let r = run("s4", THRESHOLD, &th1_events(), None, mode);
        assert_eq!(r.alerts.len(), 1, "{}", r.stdout);
        let a = &r.alerts[0];
        assert_eq!(
            a["kibana.alert.uuid"],
            "da106522d1ea15b5064f5205e35d9094d1af8472"
        );
        assert_eq!(
            suppression(a),
            (
                terms(json!("h1")),
                at("10:04:10").as_str(),
                at("10:08:00").as_str(),
                1
            )
        );
        assert_eq!(a["kibana.alert.last_detected"], at("10:10:00"));
        // `@timestamp`, start, original time and the threshold result stay
        // the first execution's.
        assert_eq!(a["@timestamp"], at("10:05:00"));
        assert_eq!(a["kibana.alert.start"], at("10:05:00"));
        assert_eq!(a["kibana.alert.original_time"], at("10:04:30"));
        assert_eq!(a["kibana.alert.threshold_result"]["count"], 3);
        assert!(r.stderr.contains("schedule: 2 executions"), "{}", r.stderr);
    }
    // Without a saved object: ruleq's digests, the same shape.
    let r = run("s4-no-so", THRESHOLD, &th1_events(), None, &[]);
    assert_eq!(r.alerts.len(), 1);
    assert_eq!(r.alerts[0]["kibana.alert.uuid"].as_str().unwrap().len(), 64);
    assert_eq!(suppression(&r.alerts[0]).3, 1);
}

#[test]
fn s4_threshold_beyond_the_duration_writes_a_new_alert() {
    // A 4-minute duration: the 10:10 execution's window starts at 10:06,
    // after the first alert's start (10:05): a second alert.
    let rule = with(
        THRESHOLD,
        &[("unit = \"h\"\nvalue = 1", "unit = \"m\"\nvalue = 4")],
    );
    let r = run(
        "s4-short",
        &rule,
        &th1_events(),
        None,
        &["--saved-object-id", SO],
    );
    assert_eq!(r.alerts.len(), 2, "{}", r.stdout);
    assert!(r.alerts.iter().all(|a| suppression(a).3 == 0));
    assert_eq!(
        r.alerts[0]["kibana.alert.instance.id"],
        r.alerts[1]["kibana.alert.instance.id"]
    );
}

/// Open question 6: a threshold instance is its sorted values alone, so
/// (a, b) and (b, a) over two fields are one instance.
#[test]
fn s4_threshold_instance_ids_ignore_field_names() {
    let rule = with(
        THRESHOLD,
        &[(
            "field = [\"host.name\"]\nvalue = 3",
            "field = [\"host.name\", \"user.name\"]\nvalue = 1",
        )],
    );
    let ev = |h: &str, u: &str| json!({"event": {"category": "authentication"}, "host": {"name": h}, "user": {"name": u}});
    let evs = events(&[
        ("x", "2024-05-01T10:04:10Z", ev("a", "b")),
        ("y", "2024-05-01T10:04:20Z", ev("b", "a")),
    ]);
    let r = run("s4-collide", &rule, &evs, None, &["--saved-object-id", SO]);
    assert_eq!(r.alerts.len(), 1, "{}", r.stdout);
    assert_eq!(suppression(&r.alerts[0]).3, 1);
    assert_eq!(
        r.alerts[0]["kibana.alert.suppression.terms"],
        json!([{"field": "host.name", "value": "a"}, {"field": "user.name", "value": "b"}])
    );
}

#[test]
fn s_5_eql_event_query_in_memory_per_execution() {
    let evs = events(&[
        ("a", "2024-05-01T10:01:00Z", auth(json!("h1"))),
        ("b", "2024-05-01T10:02:00Z", auth(json!("h2"))),
        ("c", "2024-05-01T10:03:00Z", auth(json!("h1"))),
        ("d", "2024-05-01T10:09:00Z", auth(json!("h1"))),
    ]);
    let r = run("s5", EQL, &evs, None, &["--schedule"]);
    assert_eq!(r.alerts.len(), 3, "{}", r.stdout);
    let a = by_event(&r, "a");
    assert_eq!(
        suppression(a),
        (
            json!([{"field": "host.name", "value": ["h1"]}]),
            at("10:01:00").as_str(),
            at("10:03:00").as_str(),
            1
        )
    );
    assert_eq!(suppression(by_event(&r, "b")).3, 0);
    // The later execution's h1 event: a new alert (per execution), though
    // its instance is the first one's.
    let d = by_event(&r, "d");
    assert_eq!(suppression(d).3, 0);
    assert_eq!(d["kibana.alert.instance.id"], a["kibana.alert.instance.id"]);
    assert_eq!(d["@timestamp"], at("10:10:00"));
    // The in-memory kind keeps the event alert's own id.
    let plain = run("s5-plain", &with(EQL, &[("[rule.alert_suppression]\ngroup_by = [\"host.name\"]\nmissing_fields_strategy = \"suppress\"\n", "")]), &evs, None, &["--schedule"]);
    assert_eq!(
        a["kibana.alert.uuid"],
        by_event(&plain, "a")["kibana.alert.uuid"]
    );
    // One execution over all the input: one alert per host.
    let r = run("s5-all", EQL, &evs, None, &[]);
    assert_eq!(r.alerts.len(), 2, "{}", r.stdout);
    assert_eq!(suppression(by_event(&r, "a")).3, 2);
    assert_eq!(suppression(by_event(&r, "a")).2, at("10:09:00"));
}

#[test]
fn s1_array_values_fall_into_one_query_bucket_each_and_one_in_memory_group() {
    let evs = events(&[
        ("m", "2024-05-01T10:01:00Z", auth(json!(["b", "a"]))),
        ("n", "2024-05-01T10:02:00Z", auth(json!("a"))),
        ("o", "2024-05-01T10:03:00Z", auth(json!(["a", "b"]))),
    ]);
    // Query: buckets a (m, n, o) and b (m, o), both from m.
    let r = run("arrays-query", QUERY, &evs, None, &[]);
    assert_eq!(r.alerts.len(), 2, "{}", r.stdout);
    let mut got: Vec<(Value, u64, String)> = r
        .alerts
        .iter()
        .map(|a| {
            (
                a["kibana.alert.suppression.terms"][0]["value"].clone(),
                suppression(a).3,
                ancestor(a).to_string(),
            )
        })
        .collect();
    got.sort_by_key(|g| g.0.to_string());
    assert_eq!(
        got,
        [
            (json!("a"), 2, "m".to_string()),
            (json!("b"), 1, "m".to_string())
        ]
    );
    // Distinct alert ids though the representative is the same event.
    assert_ne!(
        r.alerts[0]["kibana.alert.uuid"],
        r.alerts[1]["kibana.alert.uuid"]
    );
    // EQL (in memory): identical sorted arrays group; a lone value does not.
    let r = run("arrays-eql", EQL, &evs, None, &[]);
    assert_eq!(r.alerts.len(), 2, "{}", r.stdout);
    assert_eq!(
        by_event(&r, "m")["kibana.alert.suppression.terms"],
        json!([{"field": "host.name", "value": ["a", "b"]}])
    );
    assert_eq!(suppression(by_event(&r, "m")).3, 1);
    assert_eq!(suppression(by_event(&r, "n")).3, 0);
}

#[test]
fn s1_null_group_and_several_fields() {
    let rule = with(
        QUERY,
        &[(
            "group_by = [\"host.name\"]",
            "group_by = [\"host.name\", \"user.name\"]",
        )],
    );
    let ev = |h: Value, u: Value| {
        let mut v = auth(h);
        if !u.is_null() {
            v["user"] = json!({"name": u});
        }
        v
    };
    let evs = events(&[
        ("p", "2024-05-01T10:01:00Z", ev(json!("h1"), json!("u1"))),
        ("q", "2024-05-01T10:02:00Z", ev(json!("h1"), Value::Null)),
        ("r", "2024-05-01T10:03:00Z", ev(Value::Null, Value::Null)),
        ("s", "2024-05-01T10:04:00Z", ev(json!("h1"), json!([]))),
    ]);
    let r = run("nulls", &rule, &evs, None, &[]);
    assert_eq!(r.alerts.len(), 3, "{}", r.stdout);
    assert_eq!(
        by_event(&r, "q")["kibana.alert.suppression.terms"],
        json!([{"field": "host.name", "value": "h1"}, {"field": "user.name", "value": null}])
    );
    assert_eq!(suppression(by_event(&r, "q")).3, 1, "[] is missing too");
    assert_eq!(
        by_event(&r, "r")["kibana.alert.suppression.terms"],
        json!([{"field": "host.name", "value": null}, {"field": "user.name", "value": null}])
    );
}

/// Events on h1 at 10:04:30 and 10:06, seen by the 10:05 and 10:10
/// executions (10:04:30 by both).
fn history_events() -> String {
    events(&[
        ("f", "2024-05-01T10:04:30Z", auth(json!("h1"))),
        ("g", "2024-05-01T10:06:00Z", auth(json!("h1"))),
    ])
}

#[test]
fn s2_bucket_history_keeps_covered_events_out_of_later_buckets() {
    let r = run("history", QUERY, &history_events(), None, &["--schedule"]);
    assert_eq!(r.alerts.len(), 2, "{}", r.stdout);
    let (f, g) = (by_event(&r, "f"), by_event(&r, "g"));
    assert_eq!(suppression(f).1, at("10:04:30"));
    // The 10:10 execution sees f again, but the history leaves it out: g's
    // bucket starts at g.
    assert_eq!(
        suppression(g),
        (
            terms(json!("h1")),
            at("10:06:00").as_str(),
            at("10:06:00").as_str(),
            0
        )
    );
    assert_eq!(g["@timestamp"], at("10:10:00"));
    // An entry whose end is the next window's start is dropped (Kibana keeps
    // entries ending strictly after it): S-1's e5, at 10:04, starts a new
    // null bucket at 10:10.
    let r = run(
        "history-edge",
        QUERY,
        &s1_events(),
        None,
        &["--schedule", "--saved-object-id", SO],
    );
    assert_eq!(r.alerts.len(), 4, "{}", r.stdout);
    let e5 = by_event(&r, "e5");
    assert_eq!(e5["@timestamp"], at("10:10:00"));
    assert_eq!(
        suppression(e5),
        (
            terms(Value::Null),
            at("10:04:00").as_str(),
            at("10:04:00").as_str(),
            0
        )
    );
}

#[test]
fn s3_query_with_a_duration_updates_the_open_alert() {
    let rule = with(QUERY, &[("missing_fields_strategy = \"suppress\"", "missing_fields_strategy = \"suppress\"\n[rule.alert_suppression.duration]\nunit = \"m\"\nvalue = 30")]);
    let r = run(
        "query-duration",
        &rule,
        &history_events(),
        None,
        &["--schedule"],
    );
    assert_eq!(r.alerts.len(), 1, "{}", r.stdout);
    let a = &r.alerts[0];
    assert_eq!(ancestor(a), "f");
    assert_eq!(
        suppression(a),
        (
            terms(json!("h1")),
            at("10:04:30").as_str(),
            at("10:06:00").as_str(),
            1
        )
    );
    assert_eq!(a["kibana.alert.start"], at("10:05:00"));
    assert_eq!(a["kibana.alert.last_detected"], at("10:10:00"));
}

#[test]
fn s6_overlapping_windows_count_an_event_once() {
    // h1 at 10:04:20 and 10:04:30: both executions see both. The second
    // finds the first's own event written (same id) and the other one
    // counted (the open alert ends no earlier): nothing changes.
    let rule = with(EQL, &[("missing_fields_strategy = \"suppress\"", "missing_fields_strategy = \"suppress\"\n[rule.alert_suppression.duration]\nunit = \"h\"\nvalue = 1")]);
    let evs = events(&[
        ("u", "2024-05-01T10:04:20Z", auth(json!("h1"))),
        ("v", "2024-05-01T10:04:30Z", auth(json!("h1"))),
        ("w", "2024-05-01T10:07:00Z", auth(json!("h1"))),
    ]);
    let r = run("overlap", &rule, &evs, None, &["--schedule"]);
    assert_eq!(r.alerts.len(), 1, "{}", r.stdout);
    let a = &r.alerts[0];
    assert_eq!(ancestor(a), "u");
    assert_eq!(
        suppression(a),
        (
            json!([{"field": "host.name", "value": ["h1"]}]),
            at("10:04:20").as_str(),
            at("10:07:00").as_str(),
            2
        )
    );
    assert_eq!(a["kibana.alert.last_detected"], at("10:10:00"));
    assert!(
        r.stderr
            .contains("1 results already alerted by an earlier execution skipped"),
        "{}",
        r.stderr
    );
    // Per execution (no duration), the later execution finds no alert of
    // its own to fold into: v, folded into u's alert at 10:05, stands for
    // a new one at 10:10 (with w), as Kibana's per-execution mode does.
    let r = run("overlap-per-execution", EQL, &evs, None, &["--schedule"]);
    assert_eq!(r.alerts.len(), 2, "{}", r.stdout);
    assert_eq!(suppression(by_event(&r, "u")).3, 1);
    let v = by_event(&r, "v");
    assert_eq!(v["@timestamp"], at("10:10:00"));
    assert_eq!(
        suppression(v),
        (
            json!([{"field": "host.name", "value": ["h1"]}]),
            at("10:04:30").as_str(),
            at("10:07:00").as_str(),
            1
        )
    );
}

#[test]
fn s5_do_not_suppress_in_memory() {
    let rule = with(EQL, &[("\"suppress\"", "\"doNotSuppress\"")]);
    let evs = events(&[
        ("a", "2024-05-01T10:01:00Z", auth(json!("h1"))),
        ("b", "2024-05-01T10:02:00Z", auth(Value::Null)),
        ("c", "2024-05-01T10:03:00Z", auth(json!("h1"))),
        ("d", "2024-05-01T10:04:00Z", auth(Value::Null)),
    ]);
    for mode in [&[][..], &["--schedule"][..]] {
        let r = run("eql-dns", &rule, &evs, None, mode);
        assert_eq!(r.alerts.len(), 3, "{mode:?}: {}", r.stdout);
        assert_eq!(suppression(by_event(&r, "a")).3, 1);
        for e in ["b", "d"] {
            assert!(by_event(&r, e)
                .get("kibana.alert.suppression.docs_count")
                .is_none());
        }
    }
}

#[test]
fn s7_alerts_are_never_closed_offline() {
    // Nothing closes an alert in a run: an open alert is always found by
    // the executions its duration reaches, and written open.
    let rule = with(QUERY, &[("missing_fields_strategy = \"suppress\"", "missing_fields_strategy = \"suppress\"\n[rule.alert_suppression.duration]\nunit = \"h\"\nvalue = 1")]);
    let r = run("open", &rule, &history_events(), None, &["--schedule"]);
    assert_eq!(r.alerts.len(), 1);
    assert_eq!(r.alerts[0]["kibana.alert.workflow_status"], "open");
}

#[test]
fn s8_caps() {
    let hosts = |n: usize, minute: usize| -> Vec<(String, String, Value)> {
        (0..n)
            .map(|i| {
                (
                    format!("x{i}"),
                    format!("2024-05-01T10:0{minute}:{:02}Z", i),
                    auth(json!(format!("h{i}"))),
                )
            })
            .collect()
    };
    let list = |v: &[(String, String, Value)]| {
        events(
            &v.iter()
                .map(|(a, b, c)| (a.as_str(), b.as_str(), c.clone()))
                .collect::<Vec<_>>(),
        )
    };
    // Query: max_signals + 1 buckets in one execution (open question 2),
    // the first in key order.
    let rule = with(QUERY, &[("max_signals = 100", "max_signals = 2")]);
    let r = run(
        "cap-query",
        &rule,
        &list(&hosts(5, 1)),
        None,
        &["--schedule"],
    );
    let mut got: Vec<&str> = r
        .alerts
        .iter()
        .map(|a| a["host"]["name"].as_str().unwrap())
        .collect();
    got.sort_unstable();
    assert_eq!(got, ["h0", "h1", "h2"], "{}", r.stdout);
    // doNotSuppress: plain alerts only as max_signals leaves room (none
    // here: 3 buckets > 2), then room for one.
    let rule_dns = with(&rule, &[("\"suppress\"", "\"doNotSuppress\"")]);
    let mut v = hosts(3, 1);
    v.push((
        "y1".into(),
        "2024-05-01T10:02:00Z".into(),
        auth(Value::Null),
    ));
    v.push((
        "y2".into(),
        "2024-05-01T10:02:30Z".into(),
        auth(Value::Null),
    ));
    let r = run("cap-query-dns", &rule_dns, &list(&v), None, &["--schedule"]);
    assert_eq!(r.alerts.len(), 3, "{}", r.stdout);
    let r = run(
        "cap-query-dns-room",
        &rule_dns,
        &list(&[v[0].clone(), v[3].clone(), v[4].clone()]),
        None,
        &["--schedule"],
    );
    assert_eq!(
        r.alerts.len(),
        2,
        "one bucket, one plain alert: {}",
        r.stdout
    );
    // EQL: max_signals results, then suppression.
    let rule = with(EQL, &[("max_signals = 100", "max_signals = 2")]);
    let r = run("cap-eql", &rule, &list(&hosts(5, 1)), None, &["--schedule"]);
    assert_eq!(r.alerts.len(), 2, "{}", r.stdout);
    assert!(
        r.stderr.contains("1 executions cut at max_signals"),
        "{}",
        r.stderr
    );
    // new_terms: 5 x max_signals candidates, created or suppressed.
    let rule = with(NEW_TERMS, &[("max_signals = 100", "max_signals = 1")]);
    let net = |ip: String| json!({"event": {"category": "network"}, "host": {"name": "host-0", "ip": ip}});
    let many: Vec<(String, String, Value)> = (0..7)
        .map(|i| {
            (
                format!("n{i}"),
                format!("2020-10-28T05:45:0{i}Z"),
                net(format!("10.0.0.{i}")),
            )
        })
        .collect();
    let r = run("cap-nt", &rule, &list(&many), Some(&s2_history()), &[]);
    assert_eq!(r.alerts.len(), 1, "{}", r.stdout);
    assert_eq!(
        suppression(&r.alerts[0]).3,
        4,
        "1 created + 4 suppressed = 5"
    );
    assert!(r.stderr.contains("New address by host (2)"), "{}", r.stderr);
}

#[test]
fn default_mode_groups_over_the_whole_input_schedule_per_execution() {
    let evs = events(&[
        ("a", "2024-05-01T10:01:00Z", auth(json!("h1"))),
        ("b", "2024-05-01T10:02:00Z", auth(json!("h1"))),
        ("c", "2024-05-01T11:01:00Z", auth(json!("h1"))),
    ]);
    let r = run("mode-default", QUERY, &evs, None, &[]);
    assert_eq!(r.alerts.len(), 1, "{}", r.stdout);
    assert_eq!(
        suppression(&r.alerts[0]),
        (
            terms(json!("h1")),
            at("10:01:00").as_str(),
            at("11:01:00").as_str(),
            2
        )
    );
    assert_eq!(r.alerts[0]["@timestamp"], "2030-01-01T00:00:00.000Z");
    let r = run("mode-schedule", QUERY, &evs, None, &["--schedule"]);
    assert_eq!(r.alerts.len(), 2, "{}", r.stdout);
    assert_eq!(suppression(by_event(&r, "a")).3, 1);
    assert_eq!(suppression(by_event(&r, "c")).3, 0);
}

#[test]
fn thread_counts_give_the_same_output() {
    // Many events over hours and hosts, some without one, for every kind.
    let mut list = Vec::new();
    for i in 0..3000u32 {
        let host = match i % 7 {
            0 => Value::Null,
            k => json!(format!("h{}", k % 4)),
        };
        let t = format!(
            "2024-05-01T{:02}:{:02}:{:02}Z",
            10 + i / 900,
            (i / 15) % 60,
            (i * 7) % 60
        );
        let mut ev = auth(host);
        ev["host"]["ip"] = json!(format!("10.0.{}.{}", i % 3, i % 11));
        ev["event"]["category"] = json!(if i % 2 == 0 {
            "authentication"
        } else {
            "network"
        });
        list.push((format!("t{i}"), t, ev));
    }
    let evs = events(
        &list
            .iter()
            .map(|(a, b, c)| (a.as_str(), b.as_str(), c.clone()))
            .collect::<Vec<_>>(),
    );
    let dns = with(QUERY, &[("\"suppress\"", "\"doNotSuppress\"")]);
    for (tag, rule) in [
        ("q", QUERY),
        ("q-dns", dns.as_str()),
        ("eql", EQL),
        ("nt", NEW_TERMS),
        ("th", THRESHOLD),
    ] {
        for mode in [&[][..], &["--schedule"][..]] {
            let one = run(
                &format!("threads-{tag}-1"),
                rule,
                &evs,
                None,
                &[mode, &["--threads", "1"]].concat(),
            );
            let two = run(
                &format!("threads-{tag}-2"),
                rule,
                &evs,
                None,
                &[mode, &["--threads", "2"]].concat(),
            );
            assert!(!one.alerts.is_empty(), "{tag} {mode:?}");
            assert_eq!(one.stdout, two.stdout, "{tag} {mode:?}");
            // The default count (every core) too.
            let default = run(&format!("threads-{tag}-default"), rule, &evs, None, mode);
            assert_eq!(one.stdout, default.stdout, "{tag} {mode:?}");
            assert!(
                one.alerts.iter().any(|a| a
                    .get("kibana.alert.suppression.docs_count")
                    .is_some_and(|d| d.as_u64() > Some(0))),
                "{tag} {mode:?}"
            );
        }
    }
}

#[test]
fn malformed_lines_are_reported_and_counted() {
    let mut evs = s1_events();
    evs.insert_str(0, "{not json\n");
    let r = run("malformed", QUERY, &evs, None, &["--saved-object-id", SO]);
    assert_eq!(r.alerts.len(), 3, "{}", r.stdout);
    assert!(
        r.stderr.contains("6 events read (1 malformed)"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("events.ndjson:1"), "{}", r.stderr);
    assert_eq!(
        by_event(&r, "e1")["kibana.alert.uuid"],
        "8654836fc1186151ac202d5ed3797de1fc9f6e18"
    );
}

#[test]
fn eql_sequences_are_not_suppressed_and_a_note_says_so() {
    let evs = events(&[
        ("a", "2024-05-01T10:01:00Z", auth(json!("h1"))),
        ("b", "2024-05-01T10:02:00Z", auth(json!("h1"))),
    ]);
    let r = run("sequence", SEQUENCE, &evs, None, &[]);
    assert_eq!(r.alerts.len(), 3, "building blocks and shell: {}", r.stdout);
    assert!(r
        .alerts
        .iter()
        .all(|a| a.get("kibana.alert.suppression.terms").is_none()));
    assert!(
        r.stderr.contains("note: alert_suppression of EQL sequences not applied (1 rules): \"Logon pairs by host\""),
        "{}",
        r.stderr
    );
    // Suppressed event queries get no such note.
    let r = run("sequence-none", EQL, &evs, None, &[]);
    assert!(!r.stderr.contains("not applied"), "{}", r.stderr);
}
