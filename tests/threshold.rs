//! Threshold rules through `ruleq run`: the worked examples of the design
//! text (TH-1..TH-4, retyped as small rules and events here) with every
//! alert field and Kibana's ids, and cases for each statement T1-T10.

mod common;

use common::logs_a_events as events;
use serde_json::{json, Value};

const SO: &str = "11111111-1111-1111-1111-111111111111";

/// A threshold rule: `extra` lines go in `[rule]`, `threshold` is the
/// `[rule.threshold]` table's body.
fn rule(rule_id: &str, name: &str, query: &str, extra: &str, threshold: &str) -> String {
    format!(
        r#"[metadata]
creation_date = "2024/05/01"
maturity = "production"
updated_date = "2024/05/01"

[rule]
author = ["ruleq"]
description = "A threshold test rule."
type = "threshold"
rule_id = "{rule_id}"
name = "{name}"
index = ["logs-*"]
language = "kuery"
query = "{query}"
interval = "5m"
from = "now-6m"
severity = "high"
risk_score = 73
{extra}
[rule.threshold]
{threshold}
"#
    )
}

type Run = common::RuleRun;

/// Runs the rule over the events in a fresh folder, with `args`; the run
/// must succeed.
fn run(tag: &str, rule: &str, events: &str, args: &[&str]) -> Run {
    let r = common::run_rule(&format!("threshold-{tag}"), rule, events, &[], args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r
}

fn auth(host: Value) -> Value {
    json!({"event": {"category": "authentication"}, "host": {"name": host}})
}

fn th1_rule() -> String {
    rule(
        "thr-1",
        "Many logons",
        "event.category:authentication",
        "",
        "field = [\"host.name\"]\nvalue = 3",
    )
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

/// The alert's keys that are not Kibana's own: the group fields, its time
/// and `event.kind` only (T6).
fn source_keys(alert: &Value) -> Vec<String> {
    alert
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| !k.starts_with("kibana."))
        .cloned()
        .collect()
}

#[test]
fn th1_one_group_and_history_across_overlapping_windows() {
    let r = run(
        "th1",
        &th1_rule(),
        &th1_events(),
        &["--saved-object-id", SO],
    );
    assert_eq!(r.alerts.len(), 2, "{}", r.stderr);
    let a = &r.alerts[0];
    assert_eq!(a["@timestamp"], "2024-05-01T10:05:00.000Z");
    assert_eq!(a["host.name"], "h1");
    assert_eq!(
        a["kibana.alert.threshold_result"],
        json!({"terms":[{"field":"host.name","value":"h1"}],"count":3,"from":"2024-05-01T10:04:10.000Z"})
    );
    assert_eq!(a["kibana.alert.original_time"], "2024-05-01T10:04:30.000Z");
    assert_eq!(
        a["kibana.alert.ancestors"],
        json!([{"id":"463ed026-77d5-5845-aa31-e866f25b619c","type":"event","index":"logs-*","depth":0}])
    );
    assert_eq!(
        a["kibana.alert.uuid"],
        "d872047c45310e65dad694c59833459b94352f9e85b6c08ba0d45333cb164842"
    );
    assert_eq!(
        a["kibana.alert.reason"],
        "event on h1 created high alert Many logons."
    );
    assert_eq!(a["kibana.alert.depth"], 1);
    assert_eq!(a["kibana.alert.rule.type"], "threshold");
    assert_eq!(a["kibana.alert.rule.rule_type_id"], "siem.thresholdRule");
    assert_eq!(a["kibana.alert.rule.category"], "Threshold Rule");
    assert_eq!(a["event.kind"], "signal");
    assert_eq!(source_keys(a), ["@timestamp", "host.name", "event.kind"]);
    // The second execution: e1-e3 excluded by the history; h1 counts 3.
    let b = &r.alerts[1];
    assert_eq!(b["@timestamp"], "2024-05-01T10:10:00.000Z");
    assert_eq!(
        b["kibana.alert.threshold_result"],
        json!({"terms":[{"field":"host.name","value":"h1"}],"count":3,"from":"2024-05-01T10:06:00.000Z"})
    );
    assert_eq!(b["kibana.alert.original_time"], "2024-05-01T10:08:00.000Z");
    assert_eq!(
        b["kibana.alert.ancestors"][0]["id"],
        "39b85661-b832-5c66-a1d9-7bb94fe16636"
    );
    assert_eq!(
        b["kibana.alert.uuid"],
        "95d61494caa24508ee307c697d166ac7853b427a8dc9ce39ecd60632bf97594e"
    );
}

#[test]
fn th2_cardinality_array_value_and_missing_field() {
    let net = |ip: Value, port: u16| {
        let mut v = json!({"event": {"category": "network"}, "destination": {"port": port}});
        if !ip.is_null() {
            v["source"] = json!({"ip": ip});
        }
        v
    };
    let rule = rule(
        "thr-2",
        "Port fan-out",
        "event.category:network",
        "",
        "field = [\"source.ip\"]\nvalue = 2\n[[rule.threshold.cardinality]]\nfield = \"destination.port\"\nvalue = 3",
    );
    let events = events(&[
        ("n1", "2024-05-01T10:01:00Z", net(json!("10.0.0.5"), 22)),
        ("n2", "2024-05-01T10:02:00Z", net(json!("10.0.0.5"), 23)),
        ("n3", "2024-05-01T10:03:00Z", net(json!("10.0.0.5"), 80)),
        (
            "n4",
            "2024-05-01T10:04:00Z",
            net(json!(["10.0.0.5", "10.0.0.7"]), 443),
        ),
        ("n5", "2024-05-01T10:01:30Z", net(json!("10.0.0.6"), 22)),
        ("n6", "2024-05-01T10:02:30Z", net(json!("10.0.0.6"), 22)),
        ("n7", "2024-05-01T10:03:30Z", net(Value::Null, 8080)),
    ]);
    let r = run("th2", &rule, &events, &["--saved-object-id", SO]);
    assert_eq!(r.alerts.len(), 1, "{}", r.stderr);
    let a = &r.alerts[0];
    assert_eq!(a["source.ip"], "10.0.0.5");
    assert_eq!(
        a["kibana.alert.threshold_result"],
        json!({"terms":[{"field":"source.ip","value":"10.0.0.5"}],"cardinality":[{"field":"destination.port","value":4}],"count":4,"from":"2024-05-01T10:01:00.000Z"})
    );
    assert_eq!(a["kibana.alert.original_time"], "2024-05-01T10:04:00.000Z");
    assert_eq!(
        a["kibana.alert.ancestors"][0]["id"],
        "647025c1-1608-543f-a57a-f57114253997"
    );
    assert_eq!(
        a["kibana.alert.uuid"],
        "6b89fe7486516e5eb114193aaaade1c692ac378ea45160b8f74d5efdb49c9fd9"
    );
    assert_eq!(
        a["kibana.alert.reason"],
        "event with source 10.0.0.5 created high alert Port fan-out."
    );
    assert_eq!(source_keys(a), ["@timestamp", "source.ip", "event.kind"]);
}

fn burst_rule() -> String {
    rule("thr-3", "Burst", "*", "", "field = []\nvalue = 5")
}

#[test]
fn th3_no_group_field() {
    let times = [
        "10:00:30", "10:01:30", "10:02:30", "10:03:30", "10:04:30", "10:06:00", "10:07:00",
        "10:08:00", "10:09:00",
    ];
    let list: Vec<(String, String, Value)> = times
        .iter()
        .enumerate()
        .map(|(i, t)| (format!("b{i}"), format!("2024-05-01T{t}Z"), json!({})))
        .collect();
    let refs: Vec<(&str, &str, Value)> = list
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.clone()))
        .collect();
    let r = run(
        "th3",
        &burst_rule(),
        &events(&refs),
        &["--saved-object-id", SO],
    );
    // The 10:10 execution counts 4 (the 10:04:30 event is in the history).
    assert_eq!(r.alerts.len(), 1, "{}", r.stderr);
    let a = &r.alerts[0];
    assert_eq!(
        a["kibana.alert.threshold_result"],
        json!({"terms":[],"count":5,"from":"2024-05-01T10:00:30.000Z"})
    );
    assert_eq!(a["kibana.alert.original_time"], "2024-05-01T10:04:30.000Z");
    assert_eq!(
        a["kibana.alert.ancestors"][0]["id"],
        "86cb9c98-a861-5b29-92d9-e87d32a23541"
    );
    assert_eq!(
        a["kibana.alert.uuid"],
        "1ea1db392234087aa109a2ea866dc8dd8316c9f8204fdb5d5b702079cb3c0d48"
    );
    assert_eq!(a["kibana.alert.reason"], "event created high alert Burst.");
    assert_eq!(source_keys(a), ["@timestamp", "event.kind"]);
}

#[test]
fn th4_max_signals_and_bucket_order() {
    let rule = rule(
        "thr-4",
        "Users",
        "*",
        "max_signals = 2",
        "field = [\"user.name\"]\nvalue = 1",
    );
    let events = events(&[
        (
            "u1",
            "2024-05-01T10:01:00Z",
            json!({"user": {"name": "carol"}}),
        ),
        (
            "u2",
            "2024-05-01T10:02:00Z",
            json!({"user": {"name": "alice"}}),
        ),
        (
            "u3",
            "2024-05-01T10:03:00Z",
            json!({"user": {"name": "bob"}}),
        ),
    ]);
    let r = run("th4", &rule, &events, &["--saved-object-id", SO]);
    let users: Vec<&str> = r
        .alerts
        .iter()
        .map(|a| a["user.name"].as_str().unwrap())
        .collect();
    // Written in time order (original time): alice 10:02, bob 10:03.
    assert_eq!(users, ["alice", "bob"], "{}", r.stderr);
    let uuid = |a: &Value| a["kibana.alert.uuid"].as_str().unwrap().to_string();
    let alice = uuid(&r.alerts[0]);
    assert!(
        alice.starts_with("9e7632970692") && alice.ends_with("c8b6"),
        "{alice}"
    );
    let bob = uuid(&r.alerts[1]);
    assert!(
        bob.starts_with("6623cd8c70eb") && bob.ends_with("b031"),
        "{bob}"
    );
    assert_eq!(
        r.alerts[0]["kibana.alert.ancestors"][0]["id"],
        "33706c0b-6cfa-5f60-8f1b-4b26e0a948f0"
    );
    assert!(
        r.stderr.contains("1 executions cut at max_signals"),
        "{}",
        r.stderr
    );
}

#[test]
fn t1_cartesian_product_across_fields() {
    let rule = rule(
        "t1",
        "Pairs",
        "*",
        "",
        "field = [\"host.name\", \"user.name\"]\nvalue = 2",
    );
    let ev = |h: Value, u: Value| json!({"host": {"name": h}, "user": {"name": u}});
    let events = events(&[
        (
            "a",
            "2024-05-01T10:01:00Z",
            ev(json!(["h1", "h2"]), json!(["u1", "u2"])),
        ),
        ("b", "2024-05-01T10:02:00Z", ev(json!("h2"), json!("u1"))),
        ("c", "2024-05-01T10:03:00Z", ev(json!("h1"), json!([]))),
        ("d", "2024-05-01T10:03:30Z", ev(json!("h1"), Value::Null)),
    ]);
    let r = run("t1", &rule, &events, &[]);
    assert_eq!(r.alerts.len(), 1, "{}", r.stderr);
    assert_eq!(
        r.alerts[0]["kibana.alert.threshold_result"]["terms"],
        json!([{"field":"host.name","value":"h2"},{"field":"user.name","value":"u1"}])
    );
    assert_eq!(r.alerts[0]["kibana.alert.threshold_result"]["count"], 2);
}

#[test]
fn t2_both_comparisons_are_at_least() {
    let rule = rule(
        "t2",
        "Exactly",
        "*",
        "",
        "field = [\"host.name\"]\nvalue = 2\n[[rule.threshold.cardinality]]\nfield = \"user.name\"\nvalue = 2",
    );
    let ev = |u: &str| json!({"host": {"name": "h"}, "user": {"name": u}});
    let two = events(&[
        ("a", "2024-05-01T10:01:00Z", ev("x")),
        ("b", "2024-05-01T10:02:00Z", ev("y")),
    ]);
    assert_eq!(run("t2a", &rule, &two, &[]).alerts.len(), 1);
    let same = events(&[
        ("a", "2024-05-01T10:01:00Z", ev("x")),
        ("b", "2024-05-01T10:02:00Z", ev("x")),
    ]);
    assert_eq!(run("t2b", &rule, &same, &[]).alerts.len(), 0);
}

#[test]
fn t8_history_excludes_events_from_every_group() {
    let rule = rule(
        "t8",
        "History",
        "*",
        "",
        "field = [\"host.name\"]\nvalue = 2",
    );
    let h = |v: Value| json!({"host": {"name": v}});
    let events = events(&[
        ("a", "2024-05-01T10:04:00Z", h(json!("h1"))),
        ("b", "2024-05-01T10:04:15Z", h(json!(["h1", "h2"]))),
        ("c", "2024-05-01T10:07:00Z", h(json!("h2"))),
    ]);
    // 10:05: h1 counts 2 (a, b): one alert, history h1 until 10:04:15.
    // 10:10: b holds h1 at or before 10:04:15, so it counts in no group:
    // h2 has c only.
    let r = run("t8", &rule, &events, &[]);
    assert_eq!(r.alerts.len(), 1, "{}", r.stderr);
    assert_eq!(r.alerts[0]["host.name"], "h1");
}

#[test]
fn t8_history_entry_expires_before_the_window() {
    // interval 5m, from now-6m: an entry at 10:04:30 is kept at 10:10
    // (10:04:30 > 10:04) and gone at 10:15 (10:04:30 <= 10:09).
    let r = run("t8b", &th1_rule(), &th1_events(), &[]);
    assert_eq!(r.alerts.len(), 2);
}

#[test]
fn modes_default_equals_schedule_and_now_does_not_apply() {
    let default = run(
        "m1",
        &th1_rule(),
        &th1_events(),
        &["--now", "2030-01-01T00:00:00Z"],
    );
    let schedule = run("m2", &th1_rule(), &th1_events(), &["--schedule"]);
    assert_eq!(default.alerts, schedule.alerts);
    assert!(
        default.stderr.contains("--now does not apply to them"),
        "{}",
        default.stderr
    );
    assert_eq!(default.alerts[0]["@timestamp"], "2024-05-01T10:05:00.000Z");
}

#[test]
fn ids_without_a_saved_object_are_ruleqs_and_stable() {
    let a = run("i1", &th1_rule(), &th1_events(), &[]);
    let b = run("i2", &th1_rule(), &th1_events(), &["--threads", "4"]);
    assert_eq!(a.alerts, b.alerts);
    let uuid = a.alerts[0]["kibana.alert.uuid"].as_str().unwrap();
    assert_ne!(
        uuid,
        "d872047c45310e65dad694c59833459b94352f9e85b6c08ba0d45333cb164842"
    );
    // The ancestor id is Kibana's threshold hit uuid either way.
    assert_eq!(
        a.alerts[0]["kibana.alert.ancestors"][0]["id"],
        "463ed026-77d5-5845-aa31-e866f25b619c"
    );
}

#[test]
fn t4_numbers_order_by_value() {
    // Three ports, max_signals 2: 9 and 10 (as text "10" < "100" < "9").
    let rule = rule(
        "t4",
        "Ports",
        "*",
        "max_signals = 2",
        "field = [\"destination.port\"]\nvalue = 1",
    );
    let p = |port: u16| json!({"destination": {"port": port}});
    let events = events(&[
        ("p1", "2024-05-01T10:01:00Z", p(100)),
        ("p2", "2024-05-01T10:02:00Z", p(10)),
        ("p3", "2024-05-01T10:03:00Z", p(9)),
    ]);
    let r = run("t4", &rule, &events, &[]);
    let ports: Vec<&Value> = r.alerts.iter().map(|a| &a["destination.port"]).collect();
    // Output order: original time (10 at 10:02, 9 at 10:03).
    assert_eq!(ports, [&json!(10), &json!(9)], "{}", r.stderr);
    assert!(
        r.stderr.contains("1 executions cut at max_signals"),
        "{}",
        r.stderr
    );
}

#[test]
fn t5_t6_several_fields_typed_values_and_original_event() {
    // The hit uuid's name ends with the values sorted as JavaScript's
    // default sort does (as text: "10" < "9" < "connect"); the group values
    // keep their JSON type; a group field under `event.*` is copied to
    // `kibana.alert.original_event.*`; no other source field is kept (not
    // event.category, not source.ip). Expected ids computed outside ruleq
    // (uuid v5 and sha256 of Appendix A).
    let rule = rule(
        "t5",
        "Connections",
        "*",
        "",
        "field = [\"event.action\", \"destination.port\", \"source.port\"]\nvalue = 1",
    );
    let events = events(&[(
        "c1",
        "2024-05-01T10:02:00Z",
        json!({"event": {"action": "connect", "category": "network"}, "destination": {"port": 9}, "source": {"port": 10, "ip": "10.0.0.1"}}),
    )]);
    let r = run("t5", &rule, &events, &["--saved-object-id", SO]);
    assert_eq!(r.alerts.len(), 1, "{}", r.stderr);
    let a = &r.alerts[0];
    assert_eq!(
        a["kibana.alert.ancestors"],
        json!([{"id":"72ae5f76-99de-5ab9-b570-41b36418f1a1","type":"event","index":"logs-*","depth":0}])
    );
    assert_eq!(
        a["kibana.alert.uuid"],
        "9616693710b95b2cb28785c1219c0c41fed0e65ea991c1154f940935acf2b731"
    );
    assert_eq!(
        a["kibana.alert.threshold_result"],
        json!({"terms":[{"field":"event.action","value":"connect"},{"field":"destination.port","value":9},{"field":"source.port","value":10}],"count":1,"from":"2024-05-01T10:02:00.000Z"})
    );
    assert_eq!(a["event.action"], "connect");
    assert_eq!(a["destination.port"], 9);
    assert_eq!(a["source.port"], 10);
    assert_eq!(a["kibana.alert.original_event.action"], "connect");
    assert!(
        a.get("kibana.alert.original_event.category").is_none(),
        "{a}"
    );
    assert_eq!(
        source_keys(a),
        [
            "@timestamp",
            "event.action",
            "destination.port",
            "source.port",
            "event.kind"
        ]
    );
}

#[test]
fn t3_without_fields_only_the_count_stops_at_10000() {
    // 10,001 events in the 10:05 window, no group field. The count is the
    // search's total hits, which stop at 10,000; the times and the
    // cardinality are aggregations over every event: the last one (the
    // only user "v") makes 2 distinct users and is the original time.
    let rule = rule(
        "thr-cap",
        "Cap",
        "*",
        "",
        "field = []\nvalue = 10000\n[[rule.threshold.cardinality]]\nfield = \"user.name\"\nvalue = 2",
    );
    let start = 36_000_001; // 10:00:00.001, in ms since midnight
    let mut text = String::new();
    for i in 0..10_001u64 {
        let ms = start + 10 * i;
        let time = format!(
            "2024-05-01T{:02}:{:02}:{:02}.{:03}Z",
            ms / 3_600_000,
            ms / 60_000 % 60,
            ms / 1000 % 60,
            ms % 1000
        );
        let user = if i < 10_000 { "u" } else { "v" };
        text.push_str(&events(&[(
            &format!("c{i}"),
            &time,
            json!({"user": {"name": user}}),
        )]));
    }
    let last = text.lines().last().unwrap();
    assert!(last.contains("2024-05-01T10:01:40.001Z"), "{last}");
    let r = run("t3-cap", &rule, &text, &["--saved-object-id", SO]);
    assert_eq!(r.alerts.len(), 1, "{}", r.stderr);
    let a = &r.alerts[0];
    assert_eq!(
        a["kibana.alert.threshold_result"],
        json!({"terms":[],"cardinality":[{"field":"user.name","value":2}],"count":10000,"from":"2024-05-01T10:00:00.001Z"})
    );
    assert_eq!(a["kibana.alert.original_time"], "2024-05-01T10:01:40.001Z");
    assert_eq!(
        a["kibana.alert.ancestors"][0]["id"],
        "b63f0d15-511c-566e-9041-146670652da8"
    );
    assert_eq!(
        a["kibana.alert.uuid"],
        "0c5e3c6ef516ab92a6eac0ee4839242d2363c3806520e6328ad6543aa4d39a8a"
    );
}
