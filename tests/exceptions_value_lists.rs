//! Value lists of every type through `ruleq run --exceptions FILE
//! --value-list ID=FILE`: an exception entry `{"type": "list", "list":
//! {"id", "type"}}` names the list and its type. ip_range lists (CIDR
//! blocks, `a-b` ranges, single addresses, IPv4 and IPv6, compared as
//! addresses), text lists (Kibana's `match` with operator `and` against
//! each item), numbers, numeric ranges, dates, booleans; a type ruleq does
//! not apply and a value not of the list's type are reported and the item
//! is not applied.

use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;

/// A rule of `type_` over index `logs-*` referencing list `vl-test`.
fn rule(body: &str) -> String {
    format!(
        r#"[metadata]
creation_date = "2026/03/01"
maturity = "production"
updated_date = "2026/03/01"

[rule]
author = ["ruleq"]
description = "A value list test rule."
rule_id = "value-list-test"
name = "Value list test"
index = ["logs-*"]
language = "kuery"
interval = "5m"
from = "now-6m"
severity = "low"
risk_score = 21
{body}

[[rule.exceptions_list]]
id = "c-vl-test"
list_id = "vl-test"
namespace_type = "single"
type = "detection"
"#
    )
}

const QUERY: &str = "type = \"query\"\nquery = \"event.kind:event\"";

/// An exception list export whose one item is a list entry on `field`.
fn list_export(field: &str, list_id: &str, list_type: &str, excluded: bool) -> String {
    let container = json!({
        "id": "c-vl-test", "list_id": "vl-test", "name": "vl-test", "description": "test",
        "type": "detection", "namespace_type": "single", "os_types": [], "tags": [],
        "immutable": false, "version": 1
    });
    let item = json!({
        "id": "i-1", "item_id": "item-1", "list_id": "vl-test", "name": "item 1",
        "description": "", "type": "simple", "namespace_type": "single", "os_types": [],
        "tags": [], "comments": [],
        "entries": [{"field": field, "type": "list",
            "operator": if excluded { "excluded" } else { "included" },
            "list": {"id": list_id, "type": list_type}}]
    });
    let summary = json!({
        "exported_exception_list_count": 1, "exported_exception_list_item_count": 1,
        "missing_exception_list_item_count": 0, "missing_exception_list_items": [],
        "missing_exception_lists": [], "missing_exception_lists_count": 0
    });
    format!("{container}\n{item}\n{summary}\n")
}

/// Events (id, fields), a second apart from 10:01, in `logs-a`.
fn events(list: &[(&str, Value)]) -> String {
    let mut out = String::new();
    for (n, (id, rest)) in list.iter().enumerate() {
        let mut doc = json!({"_id": id, "_index": "logs-a",
            "@timestamp": format!("2026-03-01T10:01:{n:02}Z"), "event": {"kind": "event"}});
        for (k, v) in rest.as_object().unwrap() {
            doc[k] = v.clone();
        }
        out.push_str(&doc.to_string());
        out.push('\n');
    }
    out
}

struct Run {
    code: i32,
    ids: Vec<String>,
    stderr: String,
}

/// Runs `rule` over `events` with the exception list `export` and the
/// value list `values` (id `list_id`).
fn run(tag: &str, rule: &str, events: &str, export: &str, list_id: &str, values: &str) -> Run {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("value-lists-{tag}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("rule.toml"), rule).unwrap();
    std::fs::write(dir.join("events.ndjson"), events).unwrap();
    std::fs::write(dir.join("lists.ndjson"), export).unwrap();
    std::fs::write(dir.join("values.txt"), values).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ruleq"))
        .current_dir(&dir)
        .args([
            "run",
            "-r",
            "rule.toml",
            "events.ndjson",
            "--format",
            "ndjson",
        ])
        .args([
            "--now",
            "2026-03-01T10:05:00Z",
            "--exceptions",
            "lists.ndjson",
        ])
        .args(["--value-list", &format!("{list_id}=values.txt")])
        .output()
        .unwrap();
    let mut ids: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let a: Value = serde_json::from_str(l).unwrap();
            a["kibana.alert.ancestors"][0]["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    ids.sort();
    Run {
        code: out.status.code().unwrap_or(-1),
        ids,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn ip(addr: &str) -> Value {
    json!({"source": {"ip": addr}})
}

fn sorted(ids: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

const RANGES: &str =
    "10.0.0.0/8\n192.168.1.10-192.168.1.20\n\n203.0.113.7\n2001:db8::/32\nfe80::1 - fe80::ff\n";

fn ip_events() -> String {
    events(&[
        ("cidr-in", ip("10.200.3.4")),
        ("cidr-out", ip("11.0.0.1")),
        ("mapped-in", ip("::ffff:10.1.1.1")),
        ("dash-in", ip("192.168.1.15")),
        ("dash-low", ip("192.168.1.9")),
        // Above the range as an address, inside it in text order.
        ("dash-above", ip("192.168.1.100")),
        ("single-in", ip("203.0.113.7")),
        ("single-next", ip("203.0.113.8")),
        ("v6-cidr-in", ip("2001:db8:1::5")),
        (
            "v6-long-form-in",
            ip("2001:0db8:0000:0000:0000:0000:0000:0009"),
        ),
        ("v6-cidr-out", ip("2001:db9::1")),
        ("v6-dash-in", ip("fe80::80")),
        ("v6-dash-out", ip("fe80::100")),
        ("no-ip", json!({})),
    ])
}

#[test]
fn an_ip_range_list_excepts_addresses_in_its_blocks_ranges_and_addresses() {
    let r = run(
        "ip-range",
        &rule(QUERY),
        &ip_events(),
        &list_export("source.ip", "trusted-nets", "ip_range", false),
        "trusted-nets",
        RANGES,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("is not applied"), "{}", r.stderr);
    assert_eq!(
        r.ids,
        sorted(&[
            "cidr-out",
            "dash-low",
            "dash-above",
            "single-next",
            "v6-cidr-out",
            "v6-dash-out",
            "no-ip"
        ])
    );
}

#[test]
fn an_excluded_ip_range_list_excepts_addresses_outside_it() {
    let r = run(
        "ip-range-excluded",
        &rule(QUERY),
        &ip_events(),
        &list_export("source.ip", "trusted-nets", "ip_range", true),
        "trusted-nets",
        RANGES,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.ids,
        sorted(&[
            "cidr-in",
            "mapped-in",
            "dash-in",
            "single-in",
            "v6-cidr-in",
            "v6-long-form-in",
            "v6-dash-in"
        ])
    );
}

#[test]
fn an_ip_list_compares_addresses() {
    let r = run(
        "ip",
        &rule(QUERY),
        &ip_events(),
        &list_export("source.ip", "hosts", "ip", false),
        "hosts",
        "2001:db8::9\n192.168.1.15\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.ids.contains(&"v6-long-form-in".to_string()));
    assert!(!r.ids.contains(&"dash-in".to_string()));
    assert_eq!(r.ids.len(), 12, "{:?}", r.ids);
}

#[test]
fn a_malformed_line_is_a_located_usage_error() {
    for (list_type, values, line, shown) in [
        (
            "ip_range",
            "10.0.0.0/8\n\n10.0.0.0/33\n",
            3,
            "\"10.0.0.0/33\"",
        ),
        (
            "ip_range",
            "10.0.0.9-10.0.0.1\n",
            1,
            "\"10.0.0.9-10.0.0.1\"",
        ),
        ("ip", "10.0.0.1\n10.0.0.0/8\n", 2, "\"10.0.0.0/8\""),
    ] {
        let r = run(
            "malformed",
            &rule(QUERY),
            &ip_events(),
            &list_export("source.ip", "nets", list_type, false),
            "nets",
            values,
        );
        // As Kibana's import of the list refuses it: a usage error at
        // the list's file and line, before any event is read.
        assert_eq!(r.code, 2, "{}", r.stderr);
        let located = format!("--value-list nets=values.txt:{line}: ");
        assert!(
            r.stderr.contains(&located) && r.stderr.contains(shown),
            "{list_type}: {}",
            r.stderr
        );
        assert!(r.ids.is_empty(), "{list_type}");
    }
    // The library check names the line as well.
    let values = ruleq::exceptions::filter::read_value_list("10.0.0.0/8\n\n10.0.0.0/33\n");
    assert!(matches!(
        ruleq::exceptions::filter::check_value_list("ip_range", &values),
        Err(ruleq::exceptions::filter::ListError::Line(3, _))
    ));
}

#[test]
fn a_text_list_matches_values_whose_terms_an_item_holds() {
    let msg = |m: &str| json!({"message": m});
    let evs = events(&[
        ("subset", msg("report final")),
        ("case", msg("QUARTERLY")),
        ("punctuation", msg("backup-job")),
        ("whole", msg("Nightly backup job")),
        ("extra-term", msg("report draft")),
        ("partial-term", msg("quarter")),
        ("no-terms", msg("--")),
        ("no-message", json!({})),
    ]);
    let r = run(
        "text",
        &rule(QUERY),
        &evs,
        &list_export("message", "benign", "text", false),
        "benign",
        "Quarterly Report (final)\nNightly BACKUP job\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.ids,
        sorted(&["extra-term", "partial-term", "no-terms", "no-message"])
    );
}

#[test]
fn numeric_date_and_boolean_lists() {
    let port = |p: Value| json!({"destination": {"port": p}});
    let evs = events(&[
        ("listed", port(json!(22))),
        ("listed-text", port(json!("3389"))),
        ("in-range", port(json!(1500))),
        ("other", port(json!(23))),
    ]);
    let r = run(
        "long",
        &rule(QUERY),
        &evs,
        &list_export("destination.port", "ports", "long", false),
        "ports",
        "22\n3389\n",
    );
    assert_eq!(r.ids, sorted(&["in-range", "other"]), "{}", r.stderr);
    let r = run(
        "long-range",
        &rule(QUERY),
        &evs,
        &list_export("destination.port", "ports", "long_range", false),
        "ports",
        "1000-2000\n22\n",
    );
    assert_eq!(r.ids, sorted(&["listed-text", "other"]), "{}", r.stderr);
    let r = run(
        "long-bad",
        &rule(QUERY),
        &evs,
        &list_export("destination.port", "ports", "long", false),
        "ports",
        "22\nssh\n",
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("--value-list ports=values.txt:2: \"ssh\" is not a long number"),
        "{}",
        r.stderr
    );
    assert!(r.ids.is_empty());

    let day = |d: &str| json!({"file": {"created": d}});
    let evs = events(&[
        ("same-instant", day("2026-02-01T00:00:00.000Z")),
        ("other-day", day("2026-02-02T00:00:00Z")),
    ]);
    let r = run(
        "date",
        &rule(QUERY),
        &evs,
        &list_export("file.created", "days", "date", false),
        "days",
        "2026-02-01T00:00:00Z\n",
    );
    assert_eq!(r.ids, sorted(&["other-day"]), "{}", r.stderr);

    let flag = |b: bool| json!({"process": {"interactive": b}});
    let evs = events(&[("yes", flag(true)), ("no", flag(false))]);
    let r = run(
        "boolean",
        &rule(QUERY),
        &evs,
        &list_export("process.interactive", "flags", "boolean", false),
        "flags",
        "true\n",
    );
    assert_eq!(r.ids, sorted(&["no"]), "{}", r.stderr);
}

#[test]
fn an_unsupported_type_is_reported_and_the_item_not_applied() {
    let r = run(
        "geo",
        &rule(QUERY),
        &ip_events(),
        &list_export("source.geo.location", "places", "geo_point", false),
        "places",
        "52.37,4.89\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "value lists of type geo_point are not applied (these are: keyword, ip, ip_range, text"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(r.ids.len(), 14);
}

#[test]
fn threshold_rules_do_not_apply_lists_kibana_applies_after_the_search() {
    let threshold = "type = \"threshold\"\nquery = \"event.kind:event\"\n\n[rule.threshold]\nfield = []\nvalue = 1";
    let msg = |m: &str| json!({"message": m});
    let evs = events(&[("a", msg("backup job")), ("b", msg("backup job"))]);
    let r = run(
        "threshold-text",
        &rule(threshold),
        &evs,
        &list_export("message", "benign", "text", false),
        "benign",
        "backup job\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "uses value list benign of type text, which Kibana applies only after the search"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(
        r.ids.len(),
        1,
        "one threshold alert: the list is not applied"
    );
    // A keyword list is a query: it applies.
    let r = run(
        "threshold-keyword",
        &rule(threshold),
        &evs,
        &list_export("message", "benign", "keyword", false),
        "benign",
        "backup job\n",
    );
    assert!(r.ids.is_empty(), "{}", r.stderr);
}
