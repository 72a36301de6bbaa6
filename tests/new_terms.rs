//! New terms rules through `ruleq run`: the worked examples of the design
//! text (NT-1, NT-2, retyped as small rules and events here) with every
//! alert field that matters and Kibana's ids, a case for each statement
//! N1-N8 a user can observe, and the run's modes (`--schedule`, `--now`,
//! `--history`, malformed history lines, unsorted input).
//!
//! Ids given as literals beyond the design text's were computed outside
//! ruleq, with npm `object-hash`'s serialization of
//! `[index, _id, "undefined", "default:" + SO, terms]` (Appendix A3).

mod common;

use common::logs_a_events as events;
use serde_json::{json, Value};

const SO: &str = "11111111-1111-1111-1111-111111111111";

/// A new_terms rule: `extra` lines go in `[rule]` (after the schedule),
/// `fields` is the `new_terms_fields` list as TOML, `history` the
/// `history_window_start`.
fn rule(
    rule_id: &str,
    name: &str,
    query: &str,
    extra: &str,
    fields: &str,
    history: &str,
) -> String {
    format!(
        r#"[metadata]
creation_date = "2024/05/01"
maturity = "production"
updated_date = "2024/05/01"

[rule]
author = ["ruleq"]
description = "A new terms test rule."
type = "new_terms"
rule_id = "{rule_id}"
name = "{name}"
index = ["logs-*"]
language = "kuery"
query = "{query}"
interval = "5m"
from = "now-6m"
severity = "high"
risk_score = 47
{extra}
[rule.new_terms]
field = "new_terms_fields"
value = {fields}
[[rule.new_terms.history_window_start]]
field = "history_window_start"
value = "{history}"
"#
    )
}

/// The NT-1 rule (`rule_id` given: the N6 cases change it).
fn nt1_rule_with_id(rule_id: &str) -> String {
    rule(
        rule_id,
        "New user",
        "event.category:authentication",
        "",
        r#"["user.name"]"#,
        "now-7d",
    )
}

fn nt1_rule() -> String {
    nt1_rule_with_id("nt-1")
}

/// An authentication event's rest: `user.name` = `user`, none when null.
fn auth(user: Value) -> Value {
    let mut v = json!({"event": {"category": "authentication"}});
    if !user.is_null() {
        v["user"] = json!({"name": user});
    }
    v
}

/// NT-1's history: h1 (alice, days before) and e5 (eve, exactly at the
/// 10:05 execution's window start).
fn nt1_history() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("h1", "2024-04-28T12:00:00Z", auth(json!("alice"))),
        ("e5", "2024-05-01T09:59:00Z", auth(json!("eve"))),
    ]
}

/// NT-1's window events; e6 has no `user.name`.
fn nt1_window() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("e1", "2024-05-01T10:02:00Z", auth(json!("alice"))),
        ("e2", "2024-05-01T10:03:00Z", auth(json!("bob"))),
        ("e3", "2024-05-01T10:04:00Z", auth(json!("bob"))),
        ("e4", "2024-05-01T10:04:30Z", auth(json!(["carol", "dave"]))),
        ("e6", "2024-05-01T10:01:00Z", auth(Value::Null)),
    ]
}

/// All of NT-1's events in one file, in time order.
fn nt1_all() -> String {
    let mut all = nt1_history();
    all.extend(nt1_window());
    all.sort_by_key(|e| e.1);
    events(&all)
}

type Run = common::RuleRun;

/// Runs `ruleq run -r rule.toml events.ndjson --format ndjson`, with
/// `--history history.ndjson` when there is a history, and `args`, in a
/// fresh folder.
fn ruleq(tag: &str, rule: &str, events: &str, history: Option<&str>, args: &[&str]) -> Run {
    let files: Vec<(&str, &str)> = history.map(|h| ("history.ndjson", h)).into_iter().collect();
    let mut all: Vec<&str> = Vec::new();
    if history.is_some() {
        all.extend(["--history", "history.ndjson"]);
    }
    all.extend(args);
    common::run_rule(&format!("new-terms-{tag}"), rule, events, &files, &all)
}

/// [`ruleq`], which must succeed.
fn run(tag: &str, rule: &str, events: &str, history: Option<&str>, args: &[&str]) -> Run {
    let r = ruleq(tag, rule, events, history, args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r
}

/// Each alert's `kibana.alert.new_terms`, in output order.
fn terms(r: &Run) -> Vec<Value> {
    r.alerts
        .iter()
        .map(|a| a["kibana.alert.new_terms"].clone())
        .collect()
}

/// The alert whose `kibana.alert.new_terms` is `t`.
fn alert(r: &Run, t: Value) -> &Value {
    let found: Vec<&Value> = r
        .alerts
        .iter()
        .filter(|a| a["kibana.alert.new_terms"] == t)
        .collect();
    assert_eq!(found.len(), 1, "one alert of {t}: {:?}", terms(r));
    found[0]
}

fn uuid(a: &Value) -> &str {
    a["kibana.alert.uuid"].as_str().unwrap()
}

/// The alert's keys that are not Kibana's own: the event's fields and
/// `event.kind`.
fn source_keys(alert: &Value) -> Vec<&str> {
    alert
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| !k.starts_with("kibana."))
        .map(String::as_str)
        .collect()
}

/// The `schedule:` summary line.
fn schedule_line(r: &Run) -> &str {
    r.stderr
        .lines()
        .find(|l| l.starts_with("schedule: "))
        .unwrap_or_else(|| panic!("a schedule line: {}", r.stderr))
}

#[test]
fn nt1_history_file_three_alerts_with_kibana_ids() {
    let r = run(
        "nt1",
        &nt1_rule(),
        &events(&nt1_window()),
        Some(&events(&nt1_history())),
        &["--saved-object-id", SO],
    );
    // alice is old (h1), eve is in the history only (e5, exactly at the
    // window start, raises nothing), e3's bob is e2's, e6 has no user.
    // Output order: original time, then id (dave's dc4a… before carol's
    // de1b…).
    assert_eq!(
        terms(&r),
        [json!(["bob"]), json!(["dave"]), json!(["carol"])],
        "{}",
        r.stderr
    );
    let bob = &r.alerts[0];
    assert_eq!(uuid(bob), "fdf38c41147aded22e428e1b615175e4180958fd");
    assert_eq!(bob["@timestamp"], "2024-05-01T10:05:00.000Z");
    assert_eq!(
        bob["kibana.alert.original_time"],
        "2024-05-01T10:03:00.000Z"
    );
    assert_eq!(
        bob["kibana.alert.ancestors"],
        json!([{"id": "e2", "type": "event", "index": "logs-a", "depth": 0}])
    );
    assert_eq!(bob["kibana.alert.depth"], 1);
    assert_eq!(bob["user"], json!({"name": "bob"}));
    assert_eq!(bob["event"], json!({"category": "authentication"}));
    assert_eq!(bob["event.kind"], "signal");
    assert_eq!(
        bob["kibana.alert.original_event.category"],
        "authentication"
    );
    assert_eq!(
        source_keys(bob),
        ["@timestamp", "event", "user", "event.kind"]
    );
    assert_eq!(
        bob["kibana.alert.reason"],
        "authentication event by bob created high alert New user."
    );
    for a in &r.alerts {
        assert_eq!(a["@timestamp"], "2024-05-01T10:05:00.000Z");
        assert_eq!(a["kibana.alert.rule.type"], "new_terms");
        assert_eq!(a["kibana.alert.rule.rule_type_id"], "siem.newTermsRule");
        assert_eq!(a["kibana.alert.rule.category"], "New Terms Rule");
        assert_eq!(a["kibana.alert.rule.rule_id"], "nt-1");
        assert_eq!(a["kibana.alert.rule.name"], "New user");
        assert_eq!(a["kibana.alert.severity"], "high");
        assert_eq!(a["kibana.alert.risk_score"], 47);
        assert_eq!(
            a["kibana.alert.rule.execution.timestamp"],
            "2024-05-01T10:05:00.000Z"
        );
    }
    // One event, two alerts: same source, distinct terms and ids.
    for (a, t, id) in [
        (
            &r.alerts[1],
            "dave",
            "dc4a416024c3b2ecf528dc26683839d0d30fb767",
        ),
        (
            &r.alerts[2],
            "carol",
            "de1b9c391809457272995570dcfe7b4bb4ab50b2",
        ),
    ] {
        assert_eq!(a["kibana.alert.new_terms"], json!([t]));
        assert_eq!(uuid(a), id);
        assert_eq!(a["kibana.alert.original_time"], "2024-05-01T10:04:30.000Z");
        assert_eq!(
            a["kibana.alert.ancestors"],
            json!([{"id": "e4", "type": "event", "index": "logs-a", "depth": 0}])
        );
        assert_eq!(a["user"], json!({"name": ["carol", "dave"]}));
    }
    // 10:10: bob is old (10:03 <= 10:04); carol and dave are new again,
    // from e4 again: the same ids, skipped.
    assert_eq!(
        schedule_line(&r),
        "schedule: 2 executions; 2 results already alerted by an earlier execution skipped; 0 executions cut at max_signals"
    );
    assert!(
        r.stderr.contains(
            "history: 2 events read (0 malformed) from --history, in the history of 1 new_terms rules (they raise no alerts)"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn nt1_one_file_without_history_alerts_alice_and_eve_too() {
    // With every event in the events file, every event is in some
    // execution's window: h1 is in the window of the execution at its own
    // time (2024-04-28T12:00, whose history holds nothing), so alice is
    // new there; e5 (09:59) is in the 10:00 execution's window, so eve is
    // new there. At 10:05 both are old (eve: 09:59 is the window start),
    // and bob, carol and dave come as with --history.
    let r = run(
        "nt1-one-file",
        &nt1_rule(),
        &nt1_all(),
        None,
        &["--saved-object-id", SO],
    );
    assert_eq!(
        terms(&r),
        [
            json!(["alice"]),
            json!(["eve"]),
            json!(["bob"]),
            json!(["dave"]),
            json!(["carol"])
        ],
        "{}",
        r.stderr
    );
    let expect = [
        (
            "e9bb9a01d5b6afaf62e7cfd25f4b0c1df0e03342",
            "2024-04-28T12:00:00.000Z",
            "h1",
            "2024-04-28T12:00:00.000Z",
        ),
        (
            "6242095fc300b1041eb94dbd5e7543a38e8b6982",
            "2024-05-01T10:00:00.000Z",
            "e5",
            "2024-05-01T09:59:00.000Z",
        ),
        (
            "fdf38c41147aded22e428e1b615175e4180958fd",
            "2024-05-01T10:05:00.000Z",
            "e2",
            "2024-05-01T10:03:00.000Z",
        ),
        (
            "dc4a416024c3b2ecf528dc26683839d0d30fb767",
            "2024-05-01T10:05:00.000Z",
            "e4",
            "2024-05-01T10:04:30.000Z",
        ),
        (
            "de1b9c391809457272995570dcfe7b4bb4ab50b2",
            "2024-05-01T10:05:00.000Z",
            "e4",
            "2024-05-01T10:04:30.000Z",
        ),
    ];
    for (a, (id, at, source, original)) in r.alerts.iter().zip(expect) {
        assert_eq!(uuid(a), id);
        assert_eq!(a["@timestamp"], at);
        assert_eq!(a["kibana.alert.ancestors"][0]["id"], source);
        assert_eq!(a["kibana.alert.original_time"], original);
    }
    // Executions: 12:00 and 12:05 on 04-28 (h1), 10:00, 10:05, 10:10.
    // Skipped: alice at 12:05 (h1 is in that window too, after its
    // start), carol and dave at 10:10; not eve at 10:05 (old there).
    assert_eq!(
        schedule_line(&r),
        "schedule: 5 executions; 3 results already alerted by an earlier execution skipped; 0 executions cut at max_signals"
    );
}

#[test]
fn nt2_two_fields_combinations() {
    let rule = rule(
        "nt-2",
        "New host user",
        "event.category:authentication",
        "",
        r#"["host.name", "user.name"]"#,
        "now-7d",
    );
    let ev = |host: Option<&str>, user: Value| {
        let mut v = auth(user);
        if let Some(h) = host {
            v["host"] = json!({"name": h});
        }
        v
    };
    let events = events(&[
        ("h2", "2024-04-30T08:00:00Z", ev(Some("h1"), json!("alice"))),
        (
            "e7",
            "2024-05-01T10:02:00Z",
            ev(Some("h1"), json!(["alice", "bob"])),
        ),
        ("e8", "2024-05-01T10:03:00Z", ev(None, json!("zed"))),
    ]);
    let r = run("nt2", &rule, &events, None, &["--saved-object-id", SO]);
    // (h1, alice) alerts at h2's own execution (no history before it);
    // at 10:05 it is old, (h1, bob) is new, e8 holds no combination.
    assert_eq!(
        terms(&r),
        [json!(["h1", "alice"]), json!(["h1", "bob"])],
        "{}",
        r.stderr
    );
    let a = &r.alerts[1];
    assert_eq!(uuid(a), "89673353b74cc026adc35faa143fcddf8ccf2237");
    assert_eq!(a["@timestamp"], "2024-05-01T10:05:00.000Z");
    assert_eq!(a["kibana.alert.original_time"], "2024-05-01T10:02:00.000Z");
    assert_eq!(a["kibana.alert.ancestors"][0]["id"], "e7");
    assert_eq!(a["kibana.alert.rule.rule_id"], "nt-2");
    assert_eq!(r.alerts[0]["kibana.alert.ancestors"][0]["id"], "h2");
}

#[test]
fn n1_arrays_give_every_combination() {
    // Kibana's "should generate 5 alerts, 1 for each new unique
    // combination in 2 fields".
    let rule = rule(
        "n1",
        "New pairs",
        "*",
        "",
        r#"["source.ip", "tags"]"#,
        "now-7d",
    );
    let ev = |ip: Value, tags: Value| json!({"source": {"ip": ip}, "tags": tags});
    let history = events(&[
        (
            "old1",
            "2024-04-30T08:00:00Z",
            ev(json!("192.168.1.1"), json!(["tag-1", "tag-2"])),
        ),
        (
            "old2",
            "2024-04-30T09:00:00Z",
            ev(json!("192.168.1.1"), json!("tag-1")),
        ),
    ]);
    let window = events(&[(
        "new",
        "2024-05-01T10:02:00Z",
        ev(
            json!(["192.168.1.1", "192.168.1.2"]),
            json!(["tag-new-1", "tag-2", "tag-new-3"]),
        ),
    )]);
    let r = run("n1", &rule, &window, Some(&history), &[]);
    let mut got: Vec<String> = terms(&r).iter().map(Value::to_string).collect();
    got.sort();
    assert_eq!(
        got,
        [
            r#"["192.168.1.1","tag-new-1"]"#,
            r#"["192.168.1.1","tag-new-3"]"#,
            r#"["192.168.1.2","tag-2"]"#,
            r#"["192.168.1.2","tag-new-1"]"#,
            r#"["192.168.1.2","tag-new-3"]"#,
        ],
        "{}",
        r.stderr
    );
    for a in &r.alerts {
        assert_eq!(a["kibana.alert.ancestors"][0]["id"], "new");
    }
    let mut ids: Vec<&str> = r.alerts.iter().map(uuid).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5);
}

#[test]
fn n1_null_missing_or_empty_fields_give_no_term() {
    // Kibana's "should not generate alerts with null values for single /
    // multiple field(s)"; an array's nulls are no values either.
    let one = rule("n1-null", "Null", "*", "", r#"["user.name"]"#, "now-7d");
    let two = rule(
        "n1-null-2",
        "Null pair",
        "*",
        "",
        r#"["host.name", "user.name"]"#,
        "now-7d",
    );
    let ev = |host: Value, user: Value| json!({"host": {"name": host}, "user": {"name": user}});
    let list = [
        ("a", "2024-05-01T10:01:00Z", ev(json!("h1"), Value::Null)),
        ("b", "2024-05-01T10:01:10Z", json!({"host": {"name": "h1"}})),
        ("c", "2024-05-01T10:01:20Z", ev(json!("h1"), json!([]))),
        ("d", "2024-05-01T10:01:30Z", ev(Value::Null, json!("u1"))),
        ("e", "2024-05-01T10:01:40Z", ev(json!("h2"), json!([null]))),
        (
            "f",
            "2024-05-01T10:01:50Z",
            ev(json!("h3"), json!([null, "u2"])),
        ),
    ];
    let r = run("n1-null", &one, &events(&list), None, &[]);
    // Only d's u1 and f's u2.
    assert_eq!(terms(&r), [json!(["u1"]), json!(["u2"])], "{}", r.stderr);
    assert_eq!(r.alerts[1]["kibana.alert.ancestors"][0]["id"], "f");
    let r = run("n1-null-2", &two, &events(&list), None, &[]);
    // d lacks host.name now: only f's (h3, u2).
    assert_eq!(terms(&r), [json!(["h3", "u2"])], "{}", r.stderr);
}

#[test]
fn n2_an_event_exactly_at_the_window_start_makes_the_term_old() {
    // The 10:05 execution: W = [09:59, 10:05]. History holds eve exactly
    // at 09:59 (old: first_seen is not > from) and frank a millisecond
    // later (after the window start: not history for this execution). A
    // history-only event raises no alert, in a window or not: frank's
    // source is his window event.
    let history = events(&[
        ("h-eve", "2024-05-01T09:59:00.000Z", auth(json!("eve"))),
        ("h-frank", "2024-05-01T09:59:00.001Z", auth(json!("frank"))),
    ]);
    let window = events(&[
        ("w-eve", "2024-05-01T10:02:00Z", auth(json!("eve"))),
        ("w-frank", "2024-05-01T10:02:00Z", auth(json!("frank"))),
    ]);
    let r = run(
        "n2-from",
        &nt1_rule(),
        &window,
        Some(&history),
        &["--saved-object-id", SO],
    );
    assert_eq!(terms(&r), [json!(["frank"])], "{}", r.stderr);
    let a = &r.alerts[0];
    assert_eq!(a["kibana.alert.ancestors"][0]["id"], "w-frank");
    assert_eq!(uuid(a), "5ba441349fd6671bc28f008d6d0c8420df03196d");
}

#[test]
fn n2_an_event_exactly_at_the_history_start_counts_as_history() {
    // The 10:05 execution's history starts 7 days before its window's end:
    // 2024-04-24T10:05:00. ann is there exactly (history), ben a
    // millisecond before (outside it).
    let history = events(&[
        ("h-ann", "2024-04-24T10:05:00.000Z", auth(json!("ann"))),
        ("h-ben", "2024-04-24T10:04:59.999Z", auth(json!("ben"))),
    ]);
    let window = events(&[("w", "2024-05-01T10:02:00Z", auth(json!(["ann", "ben"])))]);
    let r = run("n2-history", &nt1_rule(), &window, Some(&history), &[]);
    assert_eq!(terms(&r), [json!(["ben"])], "{}", r.stderr);
    // The history reaches back to the history start: no partial-history
    // note.
    assert!(
        !r.stderr.contains("history window reaching"),
        "{}",
        r.stderr
    );
}

#[test]
fn n3_history_events_must_match_the_query_filters_and_index() {
    // Events that the rule does not see (another category, an index its
    // patterns miss, one its filter excludes) make no term old; dave's
    // matching history event does.
    let mut rule = nt1_rule();
    rule.push_str(
        r#"
[[rule.filters]]
[rule.filters.meta]
negate = true
[rule.filters.query.match_phrase]
"event.outcome" = "failure"
"#,
    );
    let failed = json!({"event": {"category": "authentication", "outcome": "failure"}, "user": {"name": "carol"}});
    let history = events(&[
        (
            "h-alice",
            "2024-04-30T08:00:00Z",
            json!({"event": {"category": "process"}, "user": {"name": "alice"}}),
        ),
        (
            "h-bob",
            "2024-04-30T08:01:00Z",
            json!({"_index": "other-a", "event": {"category": "authentication"}, "user": {"name": "bob"}}),
        ),
        ("h-carol", "2024-04-30T08:02:00Z", failed.clone()),
        ("h-dave", "2024-04-30T08:03:00Z", auth(json!("dave"))),
    ]);
    let window = events(&[
        // Not seen either: no source.
        (
            "w-alice-0",
            "2024-05-01T10:00:30Z",
            json!({"event": {"category": "process"}, "user": {"name": "alice"}}),
        ),
        ("w-alice", "2024-05-01T10:01:00Z", auth(json!("alice"))),
        ("w-bob", "2024-05-01T10:02:00Z", auth(json!("bob"))),
        ("w-carol", "2024-05-01T10:03:00Z", auth(json!("carol"))),
        ("w-dave", "2024-05-01T10:04:00Z", auth(json!("dave"))),
    ]);
    let r = run("n3", &rule, &window, Some(&history), &[]);
    assert_eq!(
        terms(&r),
        [json!(["alice"]), json!(["bob"]), json!(["carol"])],
        "{}",
        r.stderr
    );
    assert_eq!(r.alerts[0]["kibana.alert.ancestors"][0]["id"], "w-alice");
    // Of the history events, only dave's is in the rule's history.
    assert!(
        r.stderr.contains("history: 4 events read (0 malformed)"),
        "{}",
        r.stderr
    );
}

#[test]
fn n4_the_earliest_window_event_is_the_source() {
    // File order is not time order: x2 is bob's earliest. x3 and x4 tie in
    // time: ruleq takes the first in input order (Kibana leaves ties
    // unspecified). One event, x3, gives two alerts.
    let window = events(&[
        ("x1", "2024-05-01T10:03:00Z", auth(json!("bob"))),
        ("x2", "2024-05-01T10:02:00Z", auth(json!("bob"))),
        ("x3", "2024-05-01T10:01:00Z", auth(json!(["carol", "dave"]))),
        ("x4", "2024-05-01T10:01:00Z", auth(json!("carol"))),
    ]);
    let r = run("n4", &nt1_rule(), &window, None, &["--saved-object-id", SO]);
    let bob = alert(&r, json!(["bob"]));
    assert_eq!(bob["kibana.alert.ancestors"][0]["id"], "x2");
    assert_eq!(
        bob["kibana.alert.original_time"],
        "2024-05-01T10:02:00.000Z"
    );
    assert_eq!(uuid(bob), "e06833915b708a7a70f1d8967d0bfa7d1edd7362");
    let carol = alert(&r, json!(["carol"]));
    let dave = alert(&r, json!(["dave"]));
    for a in [carol, dave] {
        assert_eq!(a["kibana.alert.ancestors"][0]["id"], "x3");
        assert_eq!(a["kibana.alert.original_time"], "2024-05-01T10:01:00.000Z");
        assert_eq!(a["user"], json!({"name": ["carol", "dave"]}));
    }
    assert_eq!(uuid(carol), "461475feeb6bfee9ca408ed4c6097511b9bbae11");
    assert_eq!(uuid(dave), "e3f2c3a541251cf8ce5b95870d80fefc12272aa5");
    assert_eq!(r.alerts.len(), 3);
}

#[test]
fn n5_number_and_boolean_terms_keep_their_type() {
    // Kibana's "one of which is a number" (['user-0', 1]) and "one of
    // which is a boolean" (['user-0', false]); and a lone number field.
    let ev = |rest: Value| {
        let mut v = json!({"user": {"name": "user-0"}});
        for (k, x) in rest.as_object().unwrap() {
            v["user"][k] = x.clone();
        }
        v
    };
    let window = events(&[(
        "t",
        "2024-05-01T10:02:00Z",
        ev(json!({"id": 1, "enabled": false, "score": 1.5})),
    )]);
    let cases = [
        (
            r#"["user.name", "user.id"]"#,
            json!(["user-0", 1]),
            "4d6ae0c7ee2078e6b89ae1aa937183e8eda65928",
        ),
        (
            r#"["user.name", "user.enabled"]"#,
            json!(["user-0", false]),
            "41e849adecf4826a0f0040a58e00c1cb06579a12",
        ),
        (
            r#"["user.score"]"#,
            json!([1.5]),
            "c58290ab19f3237122131ee0e34191fc65a94833",
        ),
    ];
    for (i, (fields, expect, id)) in cases.into_iter().enumerate() {
        let rule = rule("n5", "Typed", "*", "", fields, "now-7d");
        let r = run(
            &format!("n5-{i}"),
            &rule,
            &window,
            None,
            &["--saved-object-id", SO],
        );
        assert_eq!(terms(&r), std::slice::from_ref(&expect), "{}", r.stderr);
        // The id hashes the typed values (`number:1`, `bool:false`).
        assert_eq!(uuid(&r.alerts[0]), id, "{expect}");
    }
    // A lone boolean field: Kibana's terms aggregation may write 0/1 there
    // (the design text's open question 4); ruleq keeps the event's
    // `false`, as for two fields, and says so in the README.
    let lone = rule("n5", "Typed", "*", "", r#"["user.enabled"]"#, "now-7d");
    let r = run("n5-bool", &lone, &window, None, &[]);
    assert_eq!(terms(&r), [json!([false])], "{}", r.stderr);
    // A date-like string stays the text the event holds.
    let dated = events(&[(
        "d",
        "2024-05-01T10:02:00Z",
        json!({"user": {"created": "2024-04-01T00:00:00Z"}}),
    )]);
    let date = rule("n5", "Typed", "*", "", r#"["user.created"]"#, "now-7d");
    let r = run("n5-date", &date, &dated, None, &[]);
    assert_eq!(terms(&r), [json!(["2024-04-01T00:00:00Z"])], "{}", r.stderr);
}

#[test]
fn n6_ids_without_a_saved_object_separate_rule_event_and_terms() {
    let window = || events(&nt1_window());
    let history = events(&nt1_history());
    let ids = |r: &Run| -> Vec<String> { r.alerts.iter().map(|a| uuid(a).to_string()).collect() };
    let a = run("n6-a", &nt1_rule(), &window(), Some(&history), &[]);
    let b = run(
        "n6-b",
        &nt1_rule(),
        &window(),
        Some(&history),
        &["--threads", "1"],
    );
    // Stable across runs, the whole documents too.
    assert_eq!(a.alerts, b.alerts);
    let base = ids(&a);
    assert_eq!(base.len(), 3, "{}", a.stderr);
    // ruleq's own digests, not Kibana's (no saved-object id).
    for id in &base {
        assert_eq!(id.len(), 64, "{id}");
        assert!(!id.starts_with("fdf38c41") && !id.starts_with("dc4a4160"));
    }
    // Terms: e4's two alerts differ.
    assert_ne!(base[1], base[2]);
    // Rule: another rule_id, every id differs.
    let other_rule = run(
        "n6-c",
        &nt1_rule_with_id("nt-1b"),
        &window(),
        Some(&history),
        &[],
    );
    for (x, y) in base.iter().zip(ids(&other_rule)) {
        assert_ne!(*x, y);
    }
    // Event: e2 renamed, bob's id differs and e4's do not.
    let renamed = window().replace(r#""_id":"e2""#, r#""_id":"e2b""#);
    assert_ne!(renamed, window());
    let other_event = run("n6-d", &nt1_rule(), &renamed, Some(&history), &[]);
    let other = ids(&other_event);
    assert_ne!(base[0], other[0]);
    assert_eq!(base[1..], other[1..]);
    // With a saved-object id, Kibana's: another saved object gives other
    // ids; the rule_id is not part of them (the saved object is the rule).
    let so = |tag: &str, rule: &str, so: &str| {
        ids(&run(
            tag,
            rule,
            &window(),
            Some(&history),
            &["--saved-object-id", so],
        ))
    };
    let kibana = so("n6-e", &nt1_rule(), SO);
    assert_eq!(kibana[0], "fdf38c41147aded22e428e1b615175e4180958fd");
    let other_so = so("n6-f", &nt1_rule(), "22222222-2222-2222-2222-222222222222");
    for (x, y) in kibana.iter().zip(&other_so) {
        assert_ne!(x, y);
    }
    assert_eq!(so("n6-g", &nt1_rule_with_id("nt-1b"), SO), kibana);
}

#[test]
fn n7_a_term_new_in_two_overlapping_windows_alerts_once() {
    // zoe at 10:04:30 is in both W(10:05) = [09:59, 10:05] and
    // W(10:10) = [10:04, 10:10], and new in both: one alert, written by
    // the first execution; the second finds its id written.
    let window = events(&[
        ("z", "2024-05-01T10:04:30Z", auth(json!("zoe"))),
        ("y", "2024-05-01T10:07:00Z", auth(json!("yan"))),
    ]);
    let r = run("n7", &nt1_rule(), &window, None, &[]);
    assert_eq!(terms(&r), [json!(["zoe"]), json!(["yan"])], "{}", r.stderr);
    assert_eq!(r.alerts[0]["@timestamp"], "2024-05-01T10:05:00.000Z");
    assert_eq!(r.alerts[1]["@timestamp"], "2024-05-01T10:10:00.000Z");
    assert_eq!(
        schedule_line(&r),
        "schedule: 2 executions; 1 results already alerted by an earlier execution skipped; 0 executions cut at max_signals"
    );
}

#[test]
fn timestamp_override_places_events_in_windows_and_history() {
    // C1/C2: with `timestamp_override`, the override (else `@timestamp`)
    // places an event in a window or in history; `original_time` stays
    // the event's `@timestamp`.
    let rule = nt1_rule().replace(
        "risk_score = 47\n",
        "risk_score = 47\ntimestamp_override = \"event.ingested\"\n",
    );
    assert!(rule.contains("timestamp_override"));
    let ev = |user: &str, ingested: Option<&str>| {
        let mut v = auth(json!(user));
        if let Some(t) = ingested {
            v["event"]["ingested"] = json!(t);
        }
        v
    };
    // o2 is in history by its override (04-30), though its @timestamp is
    // in the window.
    let history = events(&[(
        "o2",
        "2024-05-01T10:02:00Z",
        ev("seen", Some("2024-04-30T10:00:00Z")),
    )]);
    let window = events(&[
        // In the window by its override only.
        (
            "o1",
            "2024-04-01T00:00:00Z",
            ev("late", Some("2024-05-01T10:02:00Z")),
        ),
        (
            "o3",
            "2024-05-01T10:03:00Z",
            ev("seen", Some("2024-05-01T10:03:00Z")),
        ),
        // No override: its @timestamp.
        ("o4", "2024-05-01T10:03:30Z", ev("fallback", None)),
    ]);
    let r = run("override", &rule, &window, Some(&history), &[]);
    assert_eq!(
        terms(&r),
        [json!(["late"]), json!(["fallback"])],
        "{}",
        r.stderr
    );
    let late = &r.alerts[0];
    assert_eq!(late["@timestamp"], "2024-05-01T10:05:00.000Z");
    assert_eq!(
        late["kibana.alert.original_time"],
        "2024-04-01T00:00:00.000Z"
    );
    assert_eq!(late["kibana.alert.ancestors"][0]["id"], "o1");
}

/// The terms of the alerts, sorted by their JSON text.
fn sorted_terms(r: &Run) -> Vec<String> {
    let mut t: Vec<String> = terms(r).iter().map(Value::to_string).collect();
    t.sort();
    t
}

#[test]
fn n8_max_signals_one_field_most_window_events_first() {
    let users = rule(
        "n8-1",
        "Capped",
        "*",
        "max_signals = 2",
        r#"["user.name"]"#,
        "now-7d",
    );
    let u = |name: &str| json!({"user": {"name": name}});
    // c 3 events, b 2, d 2, a 1: c, then b and d by term, then a.
    let window = events(&[
        ("1", "2024-05-01T10:01:00Z", u("a")),
        ("2", "2024-05-01T10:01:10Z", u("d")),
        ("3", "2024-05-01T10:01:20Z", u("b")),
        ("4", "2024-05-01T10:01:30Z", u("c")),
        ("5", "2024-05-01T10:01:40Z", u("d")),
        ("6", "2024-05-01T10:01:50Z", u("c")),
        ("7", "2024-05-01T10:02:00Z", u("b")),
        ("8", "2024-05-01T10:02:10Z", u("c")),
    ]);
    let r = run("n8-1", &users, &window, None, &[]);
    assert_eq!(sorted_terms(&r), [r#"["b"]"#, r#"["c"]"#], "{}", r.stderr);
    assert_eq!(
        schedule_line(&r),
        "schedule: 1 executions; 0 results already alerted by an earlier execution skipped; 1 executions cut at max_signals"
    );
    assert!(
        r.stderr
            .contains("note: 2 results were never written because executions hit max_signals"),
        "{}",
        r.stderr
    );
    // Numbers by value among equal counts: 9, 10 (not "10" < "100" < "9").
    let ports = rule(
        "n8-2",
        "Ports",
        "*",
        "max_signals = 2",
        r#"["destination.port"]"#,
        "now-7d",
    );
    let p = |port: u16| json!({"destination": {"port": port}});
    let window = events(&[
        ("1", "2024-05-01T10:01:00Z", p(100)),
        ("2", "2024-05-01T10:01:10Z", p(10)),
        ("3", "2024-05-01T10:01:20Z", p(9)),
    ]);
    let r = run("n8-2", &ports, &window, None, &[]);
    assert_eq!(sorted_terms(&r), ["[10]", "[9]"], "{}", r.stderr);
}

#[test]
fn n8_max_signals_two_fields_combination_ascending() {
    // Two fields: the combination ascending, whatever the counts; strings
    // by UTF-8 bytes ("B" < "b").
    let rule = rule(
        "n8-3",
        "Capped pairs",
        "*",
        "max_signals = 2",
        r#"["host.name", "user.name"]"#,
        "now-7d",
    );
    let hu = |h: &str, u: &str| json!({"host": {"name": h}, "user": {"name": u}});
    let window = events(&[
        ("1", "2024-05-01T10:01:00Z", hu("h2", "a")),
        ("2", "2024-05-01T10:01:10Z", hu("h2", "a")),
        ("3", "2024-05-01T10:01:20Z", hu("h2", "a")),
        ("4", "2024-05-01T10:01:30Z", hu("h1", "b")),
        ("5", "2024-05-01T10:01:40Z", hu("h1", "B")),
    ]);
    let r = run("n8-3", &rule, &window, None, &[]);
    assert_eq!(
        sorted_terms(&r),
        [r#"["h1","B"]"#, r#"["h1","b"]"#],
        "{}",
        r.stderr
    );
}

#[test]
fn n8_duplicates_do_not_count_against_max_signals() {
    // max_signals 2. 10:05 writes p and q (from the 10:04:30 event). 10:10
    // finds p, q (duplicates) and r, in that order: r is written, as the
    // duplicates use none of the quota.
    let rule = rule(
        "n8-4",
        "Capped again",
        "*",
        "max_signals = 2",
        r#"["user.name"]"#,
        "now-7d",
    );
    let window = events(&[
        (
            "pq",
            "2024-05-01T10:04:30Z",
            json!({"user": {"name": ["p", "q"]}}),
        ),
        ("r", "2024-05-01T10:06:00Z", json!({"user": {"name": "r"}})),
    ]);
    let r = run("n8-4", &rule, &window, None, &[]);
    assert_eq!(
        sorted_terms(&r),
        [r#"["p"]"#, r#"["q"]"#, r#"["r"]"#],
        "{}",
        r.stderr
    );
    assert_eq!(r.alerts[2]["@timestamp"], "2024-05-01T10:10:00.000Z");
    assert_eq!(
        schedule_line(&r),
        "schedule: 2 executions; 2 results already alerted by an earlier execution skipped; 0 executions cut at max_signals"
    );
}

#[test]
fn modes_default_schedule_and_now_give_the_same_alerts() {
    let default = run("m-default", &nt1_rule(), &nt1_all(), None, &[]);
    let schedule = run("m-schedule", &nt1_rule(), &nt1_all(), None, &["--schedule"]);
    let now = run(
        "m-now",
        &nt1_rule(),
        &nt1_all(),
        None,
        &["--now", "2030-01-01T00:00:00Z"],
    );
    assert_eq!(default.alerts.len(), 5, "{}", default.stderr);
    assert_eq!(default.stdout, schedule.stdout);
    assert_eq!(default.stdout, now.stdout);
    assert!(
        now.stderr.contains(
            "1 threshold and new_terms rules ran their schedule's executions, as --schedule does"
        ) && now.stderr.contains("--now does not apply to them"),
        "{}",
        now.stderr
    );
}

#[test]
fn summary_notes_partial_history_and_counts_history_events() {
    // All in one file: h1 (04-28) is the first event, every execution's
    // history window (7 days) starts before it.
    let r = run("s-partial", &nt1_rule(), &nt1_all(), None, &[]);
    assert!(
        r.stderr.contains(
            "note: 5 executions of 1 new_terms rules had a history window reaching before the first event they saw"
        ) && r.stderr.contains("(give older events with --history FILE): \"New user\""),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("from --history"), "{}", r.stderr);
    // A history event older than every execution's history start: no
    // note. It feeds one rule's history, a non-matching one none.
    let mut history = nt1_history();
    history.push(("old", "2024-04-01T00:00:00Z", auth(json!("zed"))));
    history.push((
        "other",
        "2024-04-02T00:00:00Z",
        json!({"event": {"category": "process"}}),
    ));
    let r = run(
        "s-full",
        &nt1_rule(),
        &events(&nt1_window()),
        Some(&events(&history)),
        &[],
    );
    assert_eq!(r.alerts.len(), 3, "{}", r.stderr);
    assert!(
        !r.stderr.contains("history window reaching"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(
            "history: 4 events read (0 malformed) from --history, in the history of 1 new_terms rules (they raise no alerts)"
        ),
        "{}",
        r.stderr
    );
    // History no rule keeps: 0 rules.
    let r = run(
        "s-none",
        &nt1_rule(),
        &events(&nt1_window()),
        Some(&events(&history[3..])),
        &[],
    );
    assert!(
        r.stderr.contains(
            "history: 1 events read (0 malformed) from --history, in the history of 0 new_terms rules"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn malformed_history_lines_are_reported_and_counted() {
    let good = events(&nt1_history());
    let mut lines: Vec<&str> = good.lines().collect();
    lines.insert(1, "{not json");
    lines.push("[1, 2]");
    let history = lines.join("\n") + "\n";
    let window = events(&nt1_window());
    let r = run(
        "bad-history",
        &nt1_rule(),
        &window,
        Some(&history),
        &["--saved-object-id", SO],
    );
    // The good history events still count: the NT-1 alerts, no more.
    assert_eq!(
        terms(&r),
        [json!(["bob"]), json!(["dave"]), json!(["carol"])],
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("history.ndjson:2: malformed event")
            && r.stderr.contains("history.ndjson:4: malformed event"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("history: 4 events read (2 malformed) from --history"),
        "{}",
        r.stderr
    );
    // --strict: the same alerts, then exit 2.
    let strict = ruleq(
        "bad-history-strict",
        &nt1_rule(),
        &window,
        Some(&history),
        &["--saved-object-id", SO, "--strict"],
    );
    assert_eq!(strict.code, 2, "{}", strict.stderr);
    assert_eq!(strict.stdout, r.stdout);
}

#[test]
fn unsorted_input_gives_the_same_alerts() {
    let sorted = run("u-sorted", &nt1_rule(), &nt1_all(), None, &[]);
    let all = nt1_all();
    let lines: Vec<&str> = all.lines().collect();
    // A fixed shuffle of the seven events.
    let order = [4, 0, 6, 2, 5, 1, 3];
    let shuffled: String = order.iter().map(|&i| format!("{}\n", lines[i])).collect();
    assert_ne!(shuffled, all);
    let r = run("u-shuffled", &nt1_rule(), &shuffled, None, &[]);
    assert_eq!(sorted.alerts.len(), 5, "{}", sorted.stderr);
    assert_eq!(r.stdout, sorted.stdout, "{}", r.stderr);
    // The history and window files shuffled as well.
    let mut h = nt1_history();
    h.reverse();
    let mut w = nt1_window();
    w.reverse();
    let a = run(
        "u-history-sorted",
        &nt1_rule(),
        &events(&nt1_window()),
        Some(&events(&nt1_history())),
        &[],
    );
    let b = run(
        "u-history-shuffled",
        &nt1_rule(),
        &events(&w),
        Some(&events(&h)),
        &[],
    );
    assert_eq!(a.alerts.len(), 3, "{}", a.stderr);
    assert_eq!(a.stdout, b.stdout);
}
