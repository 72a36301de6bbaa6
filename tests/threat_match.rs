//! Indicator match rules through `ruleq run --indicators`: the worked
//! examples of the design text (IM-1..IM-3, retyped here as small rules,
//! indicators and events), with Kibana's ids and enrichment shapes, and
//! cases for each statement I1-I8 and the choices on the open questions.

mod common;

use common::logs_a_events as events;
use serde_json::{json, Value};
use std::path::PathBuf;

const SO: &str = "11111111-1111-1111-1111-111111111111";

/// An indicator match rule: `extra` lines go in `[rule]`, `mapping` is the
/// `[[rule.threat_mapping]]` tables.
fn rule(query: &str, threat_query: &str, extra: &str, mapping: &str) -> String {
    format!(
        r#"[metadata]
creation_date = "2024/05/01"
maturity = "production"
updated_date = "2024/05/01"

[rule]
author = ["ruleq"]
description = "An indicator match test rule."
type = "threat_match"
rule_id = "im-test"
name = "IOC match"
index = ["logs-*"]
language = "kuery"
query = "{query}"
interval = "5m"
from = "now-6m"
severity = "high"
risk_score = 73
threat_index = ["ti-*"]
threat_language = "kuery"
threat_query = '{threat_query}'
{extra}
{mapping}
"#
    )
}

/// One mapping group of (event field, indicator field, negated) entries.
fn group(entries: &[(&str, &str, bool)]) -> String {
    let mut out = String::from("[[rule.threat_mapping]]\n");
    for (field, value, negate) in entries {
        out.push_str(&format!(
            "[[rule.threat_mapping.entries]]\nfield = \"{field}\"\ntype = \"mapping\"\nvalue = \"{value}\"\n"
        ));
        if *negate {
            out.push_str("negate = true\n");
        }
    }
    out
}

/// Indicators as NDJSON, each (`_id`, its source), in index `ti-1`.
fn indicators(list: &[(&str, Value)]) -> String {
    let mut out = String::new();
    for (id, rest) in list {
        let mut doc = json!({"_index": "ti-1", "_id": id, "@timestamp": "2024-04-30T00:00:00Z"});
        for (k, v) in rest.as_object().unwrap() {
            doc[k] = v.clone();
        }
        out.push_str(&doc.to_string());
        out.push('\n');
    }
    out
}

type Run = common::RuleRun;

impl Run {
    /// The alert of the event with `_id` `id`.
    fn of(&self, id: &str) -> Option<&Value> {
        self.alerts
            .iter()
            .find(|a| a["kibana.alert.ancestors"][0]["id"] == id)
    }

    /// The ids of the events alerted, in output order.
    fn events(&self) -> Vec<String> {
        self.alerts
            .iter()
            .map(|a| {
                a["kibana.alert.ancestors"][0]["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }

    /// An alert's enrichments as (indicator id, matched field).
    fn matched(&self, id: &str) -> Vec<(String, String)> {
        self.of(id).unwrap()["threat"]["enrichments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let m = &e["matched"];
                (
                    m["id"].as_str().unwrap().to_string(),
                    m["field"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }
}

/// Runs the rule over the events with the indicators (none when `None`),
/// in a fresh folder, with `args`.
fn run(tag: &str, rule: &str, events: &str, iocs: Option<&str>, args: &[&str]) -> Run {
    let files: Vec<(&str, &str)> = iocs.map(|i| ("iocs.ndjson", i)).into_iter().collect();
    let mut all: Vec<&str> = Vec::new();
    if iocs.is_some() {
        all.extend(["--indicators", "iocs.ndjson"]);
    }
    all.extend(args);
    common::run_rule(&format!("threat-{tag}"), rule, events, &files, &all)
}

fn im1_rule() -> String {
    rule(
        "destination.ip:*",
        "threat.indicator.type:ipv4-addr",
        "threat_indicator_path = \"threat.indicator\"",
        &group(&[("destination.ip", "threat.indicator.ip", false)]),
    )
}

fn im1_indicators() -> String {
    indicators(&[
        (
            "i1",
            json!({"threat": {"feed": {"name": "AbuseFeed"}, "indicator": {"ip": "203.0.113.7", "type": "ipv4-addr", "provider": "feedA"}}}),
        ),
        (
            "i2",
            json!({"threat": {"indicator": {"ip": "198.51.100.9", "type": "ipv4-addr"}}}),
        ),
        (
            "i3",
            json!({"threat": {"indicator": {"ip": "203.0.113.7", "type": "url"}}}),
        ),
    ])
}

fn im1_events() -> String {
    events(&[
        (
            "ev1",
            "2024-05-01T10:03:00Z",
            json!({"destination": {"ip": "203.0.113.7"}}),
        ),
        (
            "ev2",
            "2024-05-01T10:04:00Z",
            json!({"destination": {"ip": "192.0.2.1"}}),
        ),
        (
            "ev3",
            "2024-05-01T09:50:00Z",
            json!({"destination": {"ip": "203.0.113.7"}}),
        ),
    ])
}

/// IM-1: the 10:05 execution alerts ev1 only, with Kibana's id and one
/// enrichment from i1 (i3 fails the threat_query, i2 matches nothing);
/// ev3, outside that window, is alerted by the 09:50 execution.
#[test]
fn im1_single_mapping_enrichment_shape() {
    let r = run(
        "im1",
        &im1_rule(),
        &im1_events(),
        Some(&im1_indicators()),
        &["--schedule", "--saved-object-id", SO],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.events(), ["ev3", "ev1"], "{}", r.stderr);
    let ev1 = r.of("ev1").unwrap();
    assert_eq!(
        ev1["kibana.alert.uuid"],
        "3d3988719b8b38bfe75a39fc971e6bd77d9cb20fcef5e781f7f9a62ea0923ea6"
    );
    assert_eq!(
        ev1["kibana.alert.original_time"],
        "2024-05-01T10:03:00.000Z"
    );
    assert_eq!(ev1["@timestamp"], "2024-05-01T10:05:00.000Z");
    assert_eq!(ev1["kibana.alert.rule.rule_type_id"], "siem.indicatorRule");
    assert_eq!(
        ev1["threat"]["enrichments"],
        json!([{
            "feed": {"name": "AbuseFeed"},
            "indicator": {"ip": "203.0.113.7", "type": "ipv4-addr", "provider": "feedA"},
            "matched": {"atomic": "203.0.113.7", "field": "destination.ip", "id": "i1", "index": "ti-1", "type": "indicator_match_rule"}
        }])
    );
    assert_eq!(
        r.of("ev3").unwrap()["@timestamp"],
        "2024-05-01T09:50:00.000Z"
    );
    assert!(
        r.stderr.contains("indicators: 3 read (0 malformed)"),
        "{}",
        r.stderr
    );
}

/// Without --schedule the rule runs once over all the input: ev1 and ev3.
#[test]
fn im1_one_execution_over_the_input() {
    let r = run(
        "im1-single",
        &im1_rule(),
        &im1_events(),
        Some(&im1_indicators()),
        &["--now", "2024-05-01T10:05:00Z"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.events(), ["ev3", "ev1"]);
    // Without a saved-object id, ruleq's own id: stable, not Kibana's.
    assert_ne!(
        r.of("ev1").unwrap()["kibana.alert.uuid"],
        "3d3988719b8b38bfe75a39fc971e6bd77d9cb20fcef5e781f7f9a62ea0923ea6"
    );
}

fn im2_rule() -> String {
    let mapping = group(&[
        ("source.ip", "threat.indicator.ip", false),
        ("destination.port", "threat.indicator.port", false),
    ]) + &group(&[("url.domain", "threat.indicator.url.domain", false)]);
    rule("*", "*", "", &mapping)
}

fn im2_indicators() -> String {
    indicators(&[
        (
            "i4",
            json!({"threat": {"indicator": {"ip": "10.1.1.1", "port": 4444}}}),
        ),
        (
            "i5",
            json!({"threat": {"indicator": {"ip": "10.1.1.1", "port": 8080}}}),
        ),
        (
            "i6",
            json!({"threat": {"indicator": {"url": {"domain": "evil.example"}}}}),
        ),
    ])
}

/// IM-2: entries of a group hold against one indicator; groups are OR-ed;
/// one element per indicator and matched entry, none from partial matches.
#[test]
fn im2_and_within_a_group_or_across_groups() {
    let evs = events(&[
        (
            "ev4",
            "2024-05-01T10:01:00Z",
            json!({"source": {"ip": "10.1.1.1"}, "destination": {"port": 8080}}),
        ),
        (
            "ev5",
            "2024-05-01T10:02:00Z",
            json!({"source": {"ip": "10.1.1.1"}, "destination": {"port": 22}, "url": {"domain": "evil.example"}}),
        ),
        (
            "ev6",
            "2024-05-01T10:03:00Z",
            json!({"source": {"ip": "10.1.1.1"}, "destination": {"port": 4444}, "url": {"domain": "evil.example"}}),
        ),
        (
            "ev7",
            "2024-05-01T10:04:00Z",
            json!({"source": {"ip": "10.1.1.1"}}),
        ),
    ]);
    let r = run(
        "im2",
        &im2_rule(),
        &evs,
        Some(&im2_indicators()),
        &["--schedule", "--saved-object-id", SO],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut alerted = r.events();
    alerted.sort();
    assert_eq!(alerted, ["ev4", "ev5", "ev6"]);
    let pair = |i: &str, f: &str| (i.to_string(), f.to_string());
    assert_eq!(
        r.matched("ev4"),
        [pair("i5", "source.ip"), pair("i5", "destination.port")]
    );
    let ev4 = &r.of("ev4").unwrap()["threat"]["enrichments"];
    assert_eq!(ev4[0]["matched"]["atomic"], "10.1.1.1");
    assert_eq!(ev4[1]["matched"]["atomic"], 8080);
    assert_eq!(ev4[0]["feed"], json!({}));
    assert_eq!(r.matched("ev5"), [pair("i6", "url.domain")]);
    assert_eq!(
        r.matched("ev6"),
        [
            pair("i4", "source.ip"),
            pair("i4", "destination.port"),
            pair("i6", "url.domain")
        ]
    );
    assert_eq!(
        r.of("ev4").unwrap()["kibana.alert.uuid"],
        "20cd7113ce6adb862ad1c6e2d398fd37e43ef3d0d66e56c098e754eac2bec43c"
    );
}

fn exceptions_file(dir_tag: &str, entry: Value) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("threat-lists-{dir_tag}"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("list.ndjson");
    let list = json!({"list_id": "ioc-noise", "namespace_type": "single", "type": "detection", "name": "IOC noise", "description": "known", "id": "l1"});
    let item = json!({"list_id": "ioc-noise", "namespace_type": "single", "type": "simple", "item_id": "it1", "name": "noise", "description": "known", "entries": [entry]});
    std::fs::write(&path, format!("{list}\n{item}\n")).unwrap();
    path
}

fn with_list(rule: &str) -> String {
    rule.replace(
        "[[rule.threat_mapping]]",
        "[[rule.exceptions_list]]\nid = \"l1\"\nlist_id = \"ioc-noise\"\nnamespace_type = \"single\"\ntype = \"detection\"\n\n[[rule.threat_mapping]]",
    )
}

/// IM-3: the rule's exceptions remove indicators too (an item on an
/// indicator field removes i1, and ev1 has no other indicator), and
/// events (an item on the event's field).
#[test]
fn im3_exceptions_remove_indicators_and_events() {
    let rule = with_list(&im1_rule());
    for (tag, entry) in [
        (
            "indicator",
            json!({"field": "threat.indicator.provider", "operator": "included", "type": "match", "value": "feedA"}),
        ),
        (
            "event",
            json!({"field": "destination.ip", "operator": "included", "type": "match", "value": "203.0.113.7"}),
        ),
    ] {
        let list = exceptions_file(tag, entry);
        let evs = events(&[(
            "ev1",
            "2024-05-01T10:03:00Z",
            json!({"destination": {"ip": "203.0.113.7"}}),
        )]);
        let r = run(
            &format!("im3-{tag}"),
            &rule,
            &evs,
            Some(&im1_indicators()),
            &["--schedule", "--exceptions", list.to_str().unwrap()],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(r.alerts.is_empty(), "{tag}: {:?}", r.events());
        // Without the list, ev1 alerts.
        let r = run(
            &format!("im3-{tag}-without"),
            &im1_rule(),
            &evs,
            Some(&im1_indicators()),
            &["--schedule"],
        );
        assert_eq!(r.events(), ["ev1"]);
    }
}

/// I3, negated entries: with an indicator value, the event's field must not
/// hold it (an event without the field satisfies it); without one, the
/// event must have the field. Negated entries add no enrichment (§7.3).
#[test]
fn i3_negated_entries() {
    let mapping = group(&[
        ("source.ip", "threat.indicator.ip", false),
        ("host.name", "threat.indicator.allowed_host", true),
    ]);
    let r = rule("*", "*", "", &mapping);
    let iocs = indicators(&[(
        "i1",
        json!({"threat": {"indicator": {"ip": "10.9.9.9", "allowed_host": "scanner"}}}),
    )]);
    let evs = events(&[
        (
            "other-host",
            "2024-05-01T10:01:00Z",
            json!({"source": {"ip": "10.9.9.9"}, "host": {"name": "web-1"}}),
        ),
        (
            "allowed-host",
            "2024-05-01T10:02:00Z",
            json!({"source": {"ip": "10.9.9.9"}, "host": {"name": "scanner"}}),
        ),
        (
            "no-host",
            "2024-05-01T10:03:00Z",
            json!({"source": {"ip": "10.9.9.9"}}),
        ),
    ]);
    let run1 = run("i3-negate", &r, &evs, Some(&iocs), &["--schedule"]);
    assert_eq!(run1.code, 0, "{}", run1.stderr);
    assert_eq!(run1.events(), ["other-host", "no-host"]);
    assert_eq!(
        run1.matched("other-host"),
        [("i1".to_string(), "source.ip".to_string())]
    );
    // An indicator without the negated entry's field: the event must have
    // the field.
    let iocs = indicators(&[("i2", json!({"threat": {"indicator": {"ip": "10.9.9.9"}}}))]);
    let run2 = run("i3-negate-missing", &r, &evs, Some(&iocs), &["--schedule"]);
    assert_eq!(run2.events(), ["other-host", "allowed-host"]);
}

/// I3 values: a multi-valued event field matches when any value does;
/// numbers and their text are one term; a CIDR indicator is a range; IP
/// text compares by address; keywords are case-sensitive.
#[test]
fn i3_value_comparisons() {
    let mapping = group(&[("destination.ip", "threat.indicator.ip", false)])
        + &group(&[("destination.port", "threat.indicator.port", false)])
        + &group(&[("user.name", "threat.indicator.user", false)]);
    let r = rule("*", "*", "", &mapping);
    let iocs = indicators(&[
        (
            "net",
            json!({"threat": {"indicator": {"ip": "192.0.2.0/24"}}}),
        ),
        (
            "v6",
            json!({"threat": {"indicator": {"ip": "2001:db8::1"}}}),
        ),
        ("port", json!({"threat": {"indicator": {"port": "4444"}}})),
        (
            "user",
            json!({"threat": {"indicator": {"user": "Mallory"}}}),
        ),
    ]);
    let evs = events(&[
        (
            "in-net",
            "2024-05-01T10:01:00Z",
            json!({"destination": {"ip": ["198.51.100.1", "192.0.2.77"]}}),
        ),
        (
            "v6-long",
            "2024-05-01T10:02:00Z",
            json!({"destination": {"ip": "2001:0db8:0000::0001"}}),
        ),
        (
            "port-number",
            "2024-05-01T10:03:00Z",
            json!({"destination": {"port": 4444}}),
        ),
        (
            "user-case",
            "2024-05-01T10:04:00Z",
            json!({"user": {"name": "mallory"}}),
        ),
        (
            "user-exact",
            "2024-05-01T10:04:30Z",
            json!({"user": {"name": "Mallory"}}),
        ),
    ]);
    let out = run("i3-values", &r, &evs, Some(&iocs), &["--schedule"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.events(),
        ["in-net", "v6-long", "port-number", "user-exact"]
    );
    // matched.atomic is the event's value as written (an array stays one).
    assert_eq!(
        out.of("in-net").unwrap()["threat"]["enrichments"][0]["matched"]["atomic"],
        json!(["198.51.100.1", "192.0.2.77"])
    );
}

/// I3: a multi-valued indicator field makes its group unusable for that
/// indicator.
#[test]
fn i3_multi_valued_indicator_is_unusable() {
    let r = rule(
        "*",
        "*",
        "",
        &group(&[("destination.ip", "threat.indicator.ip", false)]),
    );
    let iocs = indicators(&[(
        "many",
        json!({"threat": {"indicator": {"ip": ["203.0.113.7", "203.0.113.8"]}}}),
    )]);
    let evs = events(&[(
        "e",
        "2024-05-01T10:01:00Z",
        json!({"destination": {"ip": "203.0.113.7"}}),
    )]);
    let out = run("i3-many", &r, &evs, Some(&iocs), &["--schedule"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.alerts.is_empty());
}

/// I4/I5: an event's own `threat.enrichments` are kept, the new ones
/// appended; at most 200 enrichments, in the canonical order (indicator
/// index, then id).
#[test]
fn i4_i5_appended_and_capped() {
    let r = rule(
        "*",
        "*",
        "",
        &group(&[("destination.ip", "threat.indicator.ip", false)]),
    );
    let mut iocs = String::new();
    for n in (0..250).rev() {
        let doc = json!({"_index": format!("ti-{}", n % 2), "_id": format!("i{n:03}"), "threat": {"indicator": {"ip": "203.0.113.7"}}});
        iocs.push_str(&format!("{doc}\n"));
    }
    let evs = events(&[(
        "e",
        "2024-05-01T10:01:00Z",
        json!({"destination": {"ip": "203.0.113.7"}, "threat": {"enrichments": [{"note": "earlier"}]}}),
    )]);
    let out = run("i5-cap", &r, &evs, Some(&iocs), &["--schedule"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let list = out.alerts[0]["threat"]["enrichments"].as_array().unwrap();
    assert_eq!(list.len(), 201);
    assert_eq!(list[0], json!({"note": "earlier"}));
    assert_eq!(list[1]["matched"]["index"], "ti-0");
    assert_eq!(list[1]["matched"]["id"], "i000");
    assert_eq!(list[2]["matched"]["id"], "i002");
    assert_eq!(list[125]["matched"]["id"], "i248");
    assert_eq!(list[126]["matched"]["index"], "ti-1");
    assert_eq!(list[126]["matched"]["id"], "i001");
}

/// I7: when max_signals cuts an execution, the newest events are written.
#[test]
fn i7_newest_events_first_under_max_signals() {
    let r = rule(
        "*",
        "*",
        "max_signals = 2",
        &group(&[("destination.ip", "threat.indicator.ip", false)]),
    );
    let evs = events(&[
        (
            "old",
            "2024-05-01T10:01:00Z",
            json!({"destination": {"ip": "203.0.113.7"}}),
        ),
        (
            "mid",
            "2024-05-01T10:02:00Z",
            json!({"destination": {"ip": "203.0.113.7"}}),
        ),
        (
            "new",
            "2024-05-01T10:03:00Z",
            json!({"destination": {"ip": "203.0.113.7"}}),
        ),
    ]);
    let iocs = indicators(&[(
        "i1",
        json!({"threat": {"indicator": {"ip": "203.0.113.7"}}}),
    )]);
    let out = run("i7", &r, &evs, Some(&iocs), &["--schedule"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // All three fall in the 10:05 execution's window only: it writes the
    // two newest.
    let mut got = out.events();
    got.sort();
    assert_eq!(got, ["mid", "new"], "{}", out.stderr);
}

/// I2: threat_index decides which indicators a rule searches (by their
/// `_index`; one without serves every rule, named by its file and line);
/// threat_filters apply.
#[test]
fn i2_threat_index_filters_and_unnamed_indicators() {
    let filters = r#"
[[rule.threat_filters]]
[rule.threat_filters.meta]
disabled = false
negate = false
[rule.threat_filters.query.match_phrase]
"event.kind" = "enrichment"
"#;
    let r = rule(
        "*",
        "*",
        filters,
        &group(&[("destination.ip", "threat.indicator.ip", false)]),
    );
    let iocs = [
        json!({"_index": "other-1", "_id": "elsewhere", "event": {"kind": "enrichment"}, "threat": {"indicator": {"ip": "203.0.113.1"}}}),
        json!({"_index": "ti-1", "_id": "not-enrichment", "event": {"kind": "event"}, "threat": {"indicator": {"ip": "203.0.113.2"}}}),
        json!({"event": {"kind": "enrichment"}, "threat": {"indicator": {"ip": "203.0.113.3"}}}),
    ]
    .iter()
    .map(|d| format!("{d}\n"))
    .collect::<String>();
    let evs = events(&[
        (
            "a",
            "2024-05-01T10:01:00Z",
            json!({"destination": {"ip": "203.0.113.1"}}),
        ),
        (
            "b",
            "2024-05-01T10:02:00Z",
            json!({"destination": {"ip": "203.0.113.2"}}),
        ),
        (
            "c",
            "2024-05-01T10:03:00Z",
            json!({"destination": {"ip": "203.0.113.3"}}),
        ),
    ]);
    let out = run("i2-index", &r, &evs, Some(&iocs), &["--schedule"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.events(), ["c"]);
    let m = &out.alerts[0]["threat"]["enrichments"][0]["matched"];
    assert_eq!(m["index"], "iocs.ndjson");
    assert_eq!(m["id"], "iocs.ndjson:3");
}

/// Date math in threat_query resolves at the execution time: replayed at
/// the data's time the indicators count; at a later clock they do not,
/// and a note says so.
#[test]
fn date_math_resolves_at_the_execution() {
    let r = rule(
        "*",
        r#"@timestamp >= "now-30d/d""#,
        "",
        &group(&[("destination.ip", "threat.indicator.ip", false)]),
    );
    let iocs = indicators(&[(
        "i1",
        json!({"threat": {"indicator": {"ip": "203.0.113.7"}}}),
    )]);
    let evs = events(&[(
        "e",
        "2024-05-01T10:01:00Z",
        json!({"destination": {"ip": "203.0.113.7"}}),
    )]);
    let then = run(
        "date-then",
        &r,
        &evs,
        Some(&iocs),
        &["--now", "2024-05-01T10:05:00Z"],
    );
    assert_eq!(then.events(), ["e"], "{}", then.stderr);
    assert!(!then.stderr.contains("date math"), "{}", then.stderr);
    let later = run(
        "date-later",
        &r,
        &evs,
        Some(&iocs),
        &["--now", "2024-09-01T00:00:00Z"],
    );
    assert_eq!(later.code, 0);
    assert!(later.alerts.is_empty());
    assert!(
        later.stderr.contains("date math selected no indicator")
            && later.stderr.contains("IOC match"),
        "{}",
        later.stderr
    );
    // Under --schedule each execution has its own time.
    let replayed = run("date-schedule", &r, &evs, Some(&iocs), &["--schedule"]);
    assert_eq!(replayed.events(), ["e"], "{}", replayed.stderr);
}

/// A rule none of whose indicators was given says so, naming its
/// threat_index, and exits 0; a Lucene threat_query is not run.
#[test]
fn notes_without_indicators_and_lucene() {
    let r = im1_rule();
    let out = run("no-iocs", &r, &im1_events(), None, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.alerts.is_empty());
    assert!(
        out.stderr
            .contains("indicator match rules without indicators")
            && out.stderr.contains("ti-*"),
        "{}",
        out.stderr
    );
    let lucene = r.replace(
        "threat_language = \"kuery\"",
        "threat_language = \"lucene\"",
    );
    let out = run(
        "lucene",
        &lucene,
        &im1_events(),
        Some(&im1_indicators()),
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("not run: 1 indicator match rules with a Lucene threat_query"),
        "{}",
        out.stderr
    );
}

/// A malformed indicator is reported with its file and line and counted;
/// the others still serve; `--strict` exits 2.
#[test]
fn malformed_indicators_are_reported_and_counted() {
    let iocs = format!("{{\"_index\": \"ti-1\", broken\n{}", im1_indicators());
    let out = run("bad-iocs", &im1_rule(), &im1_events(), Some(&iocs), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("iocs.ndjson:1: malformed event"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("indicators: 4 read (1 malformed)"),
        "{}",
        out.stderr
    );
    assert_eq!(out.events(), ["ev3", "ev1"]);
    let strict = run(
        "bad-iocs-strict",
        &im1_rule(),
        &im1_events(),
        Some(&iocs),
        &["--strict"],
    );
    assert_eq!(strict.code, 2, "{}", strict.stderr);
}

/// The default thread count and one thread write the same alerts.
#[test]
fn threads_do_not_change_the_alerts() {
    let mut evs = String::new();
    for n in 0..3000 {
        let doc = json!({"_id": format!("e{n}"), "_index": "logs-a", "@timestamp": format!("2024-05-01T10:{:02}:{:02}Z", n / 60 % 60, n % 60), "destination": {"ip": format!("203.0.113.{}", n % 50)}});
        evs.push_str(&format!("{doc}\n"));
        if n % 700 == 0 {
            evs.push_str("not json\n");
        }
    }
    let iocs: String = (0..10)
        .map(|k| format!("{}\n", json!({"_index": "ti-1", "_id": format!("i{k}"), "threat": {"indicator": {"ip": format!("203.0.113.{}", k * 5)}}})))
        .collect();
    let r = rule(
        "*",
        "*",
        "",
        &group(&[("destination.ip", "threat.indicator.ip", false)]),
    );
    let many = run(
        "threads-default",
        &r,
        &evs,
        Some(&iocs),
        &["--now", "2024-05-01T12:00:00Z"],
    );
    let one = run(
        "threads-one",
        &r,
        &evs,
        Some(&iocs),
        &["--now", "2024-05-01T12:00:00Z", "--threads", "1"],
    );
    assert_eq!(many.code, 0, "{}", many.stderr);
    assert_eq!(many.alerts.len(), 600);
    assert_eq!(many.alerts, one.alerts);
    assert!(
        many.stderr.contains("3005 events read (5 malformed)"),
        "{}",
        many.stderr
    );
}

/// `ruleq check` accepts `negate` and refuses a group whose entries are all
/// negated, at the entry's line and column.
#[test]
fn check_negated_groups() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("threat-check");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let fine = rule(
        "*",
        "*",
        "",
        &group(&[
            ("source.ip", "threat.indicator.ip", false),
            ("host.name", "threat.indicator.host", true),
        ]),
    );
    std::fs::write(dir.join("fine.toml"), fine).unwrap();
    let out = common::ruleq(&["check", dir.join("fine.toml").to_str().unwrap()]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let bad = rule(
        "*",
        "*",
        "",
        &group(&[("host.name", "threat.indicator.host", true)]),
    );
    std::fs::write(dir.join("bad.toml"), &bad).unwrap();
    let out = common::ruleq(&["check", dir.join("bad.toml").to_str().unwrap()]);
    assert!(!out.status.success());
    let text = format!("{}{}", common::stdout(&out), common::stderr(&out));
    assert!(text.contains("rule::threat-mapping"), "{text}");
    let line = bad.lines().position(|l| l == "negate = true").unwrap() + 1;
    assert!(text.contains(&format!("bad.toml:{line}:")), "{text}");
}

/// S-5: per execution, an indicator match rule suppresses in memory: two
/// matches on h1 and one on h2 in one execution give two alerts (h1's
/// earliest event, docs_count 1; h2, 0), terms as sorted arrays; a later
/// execution's h1 match is a new alert. Events no indicator matches count
/// nowhere. Without --schedule the groups span the input.
#[test]
fn s5_suppression_in_memory() {
    let suppression = "[rule.alert_suppression]\ngroup_by = [\"host.name\"]\nmissing_fields_strategy = \"suppress\"\n";
    let r = rule(
        "*",
        "*",
        "",
        &(group(&[("destination.ip", "threat.indicator.ip", false)]) + "\n" + suppression),
    );
    let iocs = indicators(&[(
        "i1",
        json!({"threat": {"indicator": {"ip": "203.0.113.7"}}}),
    )]);
    let hit = |host: &str| json!({"destination": {"ip": "203.0.113.7"}, "host": {"name": host}});
    let evs = events(&[
        ("a", "2024-05-01T10:01:00Z", hit("h1")),
        (
            "miss",
            "2024-05-01T10:01:30Z",
            json!({"destination": {"ip": "192.0.2.1"}, "host": {"name": "h1"}}),
        ),
        ("b", "2024-05-01T10:02:00Z", hit("h2")),
        ("c", "2024-05-01T10:03:00Z", hit("h1")),
        ("d", "2024-05-01T10:12:00Z", hit("h1")),
    ]);
    let out = run(
        "s5",
        &r,
        &evs,
        Some(&iocs),
        &["--schedule", "--saved-object-id", SO],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.events(), ["a", "b", "d"], "{}", out.stderr);
    let a = out.of("a").unwrap();
    assert_eq!(a["kibana.alert.suppression.docs_count"], 1);
    assert_eq!(
        a["kibana.alert.suppression.terms"],
        json!([{"field": "host.name", "value": ["h1"]}])
    );
    assert_eq!(
        a["kibana.alert.suppression.start"],
        "2024-05-01T10:01:00.000Z"
    );
    assert_eq!(
        a["kibana.alert.suppression.end"],
        "2024-05-01T10:03:00.000Z"
    );
    assert_eq!(a["threat"]["enrichments"][0]["matched"]["id"], "i1");
    assert_eq!(
        out.of("b").unwrap()["kibana.alert.suppression.docs_count"],
        0
    );
    assert_eq!(
        out.of("d").unwrap()["kibana.alert.suppression.docs_count"],
        0
    );
    assert_eq!(
        a["kibana.alert.instance.id"],
        out.of("d").unwrap()["kibana.alert.instance.id"]
    );
    // One execution over the input: h1's three matches are one alert.
    let single = run(
        "s5-single",
        &r,
        &evs,
        Some(&iocs),
        &["--now", "2024-05-01T11:00:00Z"],
    );
    assert_eq!(single.code, 0, "{}", single.stderr);
    assert_eq!(single.events(), ["a", "b"]);
    assert_eq!(
        single.of("a").unwrap()["kibana.alert.suppression.docs_count"],
        2
    );
    assert_eq!(
        single.of("a").unwrap()["threat"]["enrichments"][0]["matched"]["id"],
        "i1"
    );
}

/// An indicator given again with the same `_index` and `_id` (an updated
/// feed in a second file) replaces the earlier one, as indexing it again
/// does: the event is enriched once, from the later document.
#[test]
fn a_later_indicator_with_the_same_index_and_id_replaces_the_earlier() {
    let r = rule(
        "*",
        "*",
        "",
        &group(&[("destination.ip", "threat.indicator.ip", false)]),
    );
    let iocs = indicators(&[
        (
            "i1",
            json!({"threat": {"indicator": {"ip": "203.0.113.7", "confidence": "Low"}}}),
        ),
        (
            "i1",
            json!({"threat": {"indicator": {"ip": "203.0.113.7", "confidence": "High"}}}),
        ),
    ]);
    let evs = events(&[(
        "e",
        "2024-05-01T10:01:00Z",
        json!({"destination": {"ip": "203.0.113.7"}}),
    )]);
    let out = run(
        "replaced",
        &r,
        &evs,
        Some(&iocs),
        &["--now", "2024-05-01T10:05:00Z"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let list = out.alerts[0]["threat"]["enrichments"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["indicator"]["confidence"], "High");
    assert!(
        out.stderr
            .contains("1 replaced an earlier indicator with the same _index and _id"),
        "{}",
        out.stderr
    );
}
