//! Exception lists through `ruleq run --exceptions`: the design text's
//! worked examples EX-1, EX-2, EX-3 and EX-5 (retyped as the project's
//! own fixtures), value lists, lists not given, expiry.

use serde_json::{json, Value};
mod common;

use std::path::PathBuf;
use std::process::Command;

/// A rule of `type_` with `body` (query and type-specific tables) that
/// references the lists `lists` (list_id, namespace_type).
fn rule(rule_id: &str, body: &str, lists: &[(&str, &str)]) -> String {
    let mut refs = String::new();
    for (list_id, namespace) in lists {
        refs.push_str(&format!(
            "\n[[rule.exceptions_list]]\nid = \"c-{list_id}\"\nlist_id = \"{list_id}\"\nnamespace_type = \"{namespace}\"\ntype = \"detection\"\n"
        ));
    }
    format!(
        r#"[metadata]
creation_date = "2024/05/01"
maturity = "production"
updated_date = "2024/05/01"

[rule]
author = ["ruleq"]
description = "An exception test rule."
rule_id = "{rule_id}"
name = "Exception test {rule_id}"
index = ["logs-*"]
language = "kuery"
interval = "5m"
from = "now-6m"
severity = "low"
risk_score = 21
{body}
{refs}"#
    )
}

/// Kibana's exception list export: the container, the items, the summary.
fn export(list_id: &str, items: &[Value]) -> String {
    let mut out = json!({
        "id": format!("c-{list_id}"), "list_id": list_id, "name": list_id,
        "description": "test list", "type": "detection", "namespace_type": "single",
        "os_types": [], "tags": [], "immutable": false, "version": 1
    })
    .to_string();
    out.push('\n');
    for (n, item) in items.iter().enumerate() {
        let mut line = json!({
            "id": format!("i-{n}"), "item_id": format!("item-{}", n + 1), "list_id": list_id,
            "name": format!("item {}", n + 1), "description": "", "type": "simple",
            "namespace_type": "single", "os_types": [], "tags": [], "comments": []
        });
        for (k, v) in item.as_object().unwrap() {
            line[k] = v.clone();
        }
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out.push_str(
        &json!({
            "exported_exception_list_count": 1, "exported_exception_list_item_count": items.len(),
            "missing_exception_list_item_count": 0, "missing_exception_list_items": [],
            "missing_exception_lists": [], "missing_exception_lists_count": 0
        })
        .to_string(),
    );
    out.push('\n');
    out
}

fn entry(field: &str, kind: &str, value: Value, excluded: bool) -> Value {
    let mut e = json!({"field": field, "type": kind,
        "operator": if excluded { "excluded" } else { "included" }});
    if !value.is_null() {
        e["value"] = value;
    }
    e
}

/// Events of `logs-a`, each (id, time, rest), as NDJSON.
fn events(list: &[(&str, &str, Value)]) -> String {
    let mut out = String::new();
    for (id, time, rest) in list {
        let mut doc = json!({"_id": id, "_index": "logs-a", "@timestamp": time});
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
    /// The `_id`s the alerts stand on, sorted.
    fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .alerts
            .iter()
            .map(|a| {
                a["kibana.alert.ancestors"][0]["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        ids.sort();
        ids
    }
}

/// Runs the rule over the events with the files (name, text) and `args`
/// (at 2024-05-01T10:05:00Z unless they give the time or `--schedule`).
fn run(tag: &str, rule: &str, events: &str, files: &[(&str, &str)], args: &[&str]) -> Run {
    let mut all: Vec<&str> = Vec::new();
    if !args.contains(&"--schedule") && !args.contains(&"--now") {
        all.extend(["--now", "2024-05-01T10:05:00Z"]);
    }
    all.extend(args);
    common::run_rule(&format!("exceptions-{tag}"), rule, events, files, &all)
}

const PROCESS: &str = "type = \"query\"\nquery = \"event.category:process\"";

fn process(rest: Value) -> Value {
    let mut v = json!({"event": {"category": "process"}});
    for (k, x) in rest.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

fn noise_list() -> String {
    export(
        "noise-list",
        &[
            json!({"entries": [
                entry("process.name", "match", json!("svchost.exe"), false),
                entry("host.name", "match", json!("lab-1"), false),
            ]}),
            json!({"entries": [
                entry("user.name", "match_any", json!(["svc_backup", "svc_scan"]), false),
            ]}),
        ],
    )
}

#[test]
fn ex1_items_or_entries_and_case_sensitive() {
    let evs = events(&[
        (
            "x1",
            "2024-05-01T10:01:00Z",
            process(json!({"process": {"name": "svchost.exe"}, "host": {"name": "lab-1"}})),
        ),
        (
            "x2",
            "2024-05-01T10:01:10Z",
            process(json!({"process": {"name": "svchost.exe"}, "host": {"name": "prod-1"}})),
        ),
        (
            "x3",
            "2024-05-01T10:01:20Z",
            process(json!({"user": {"name": "svc_scan"}})),
        ),
        (
            "x4",
            "2024-05-01T10:01:30Z",
            process(json!({"user": {"name": ["alice", "svc_backup"]}})),
        ),
        (
            "x5",
            "2024-05-01T10:01:40Z",
            process(json!({"process": {"name": "SVCHOST.EXE"}, "host": {"name": "lab-1"}})),
        ),
    ]);
    let r = run(
        "ex1",
        &rule("ex-1", PROCESS, &[("noise-list", "single")]),
        &evs,
        &[("noise.ndjson", &noise_list())],
        &["--exceptions", "noise.ndjson"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.ids(), ["x2", "x5"], "{}", r.stderr);
    assert!(
        !r.stderr.contains("exceptions_list not applied"),
        "{}",
        r.stderr
    );
    // Without the list: every event alerts, and a note names the list.
    let r = run(
        "ex1-none",
        &rule("ex-1", PROCESS, &[("noise-list", "single")]),
        &evs,
        &[],
        &[],
    );
    assert_eq!(r.ids().len(), 5);
    assert!(
        r.stderr.contains(
            "note: exceptions: 1 rules referencing exception list noise-list, which was not given (--exceptions FILE): \"Exception test ex-1\""
        ),
        "{}",
        r.stderr
    );
    // A list of another namespace is another list.
    let r = run(
        "ex1-agnostic",
        &rule("ex-1", PROCESS, &[("noise-list", "agnostic")]),
        &evs,
        &[("noise.ndjson", &noise_list())],
        &["--exceptions", "noise.ndjson"],
    );
    assert_eq!(r.ids().len(), 5, "{}", r.stderr);
}

#[test]
fn ex2_excluded_matches_events_lacking_the_field() {
    let list = export(
        "not-prod",
        &[json!({"entries": [entry("host.name", "match", json!("prod-1"), true)]})],
    );
    let evs = events(&[
        (
            "prod",
            "2024-05-01T10:01:00Z",
            process(json!({"host": {"name": "prod-1"}})),
        ),
        (
            "dev",
            "2024-05-01T10:01:10Z",
            process(json!({"host": {"name": "dev-3"}})),
        ),
        ("none", "2024-05-01T10:01:20Z", process(json!({}))),
    ]);
    let r = run(
        "ex2",
        &rule("ex-2", PROCESS, &[("not-prod", "single")]),
        &evs,
        &[("list.ndjson", &list)],
        &["--exceptions", "list.ndjson"],
    );
    assert_eq!(r.ids(), ["prod"], "{}", r.stderr);
}

#[test]
fn ex3_wildcard_exists_and_expiry() {
    let list = export(
        "ex3",
        &[
            // The pattern's raw text is C:\\Temp\\*.tmp: each backslash
            // escaped, as Elasticsearch's wildcard query reads it.
            json!({"entries": [
                entry("event.module", "match", json!("sysmon"), false),
                entry("file.path", "wildcard", json!("C:\\\\Temp\\\\*.tmp"), false),
            ]}),
            json!({"entries": [entry("process.parent.name", "exists", Value::Null, true)]}),
            json!({"entries": [entry("event.category", "exists", Value::Null, false)],
                   "expire_time": "2024-05-01T10:00:00Z"}),
        ],
    );
    let file = |path: &str| {
        process(json!({"event": {"category": "process", "module": "sysmon"},
            "file": {"path": path}, "process": {"parent": {"name": "explorer.exe"}}}))
    };
    let evs = events(&[
        ("a", "2024-05-01T10:01:00Z", file("C:\\Temp\\a.tmp")),
        ("sub", "2024-05-01T10:01:10Z", file("C:\\Temp\\sub\\a.tmp")),
        ("lower", "2024-05-01T10:01:20Z", file("c:\\temp\\a.tmp")),
        (
            "orphan",
            "2024-05-01T10:01:30Z",
            process(json!({"process": {"name": "x"}})),
        ),
    ]);
    let r = run(
        "ex3",
        &rule("ex-3", PROCESS, &[("ex3", "single")]),
        &evs,
        &[("list.ndjson", &list)],
        &["--exceptions", "list.ndjson"],
    );
    // `a` and `sub` excepted (the wildcard crosses `\`), `lower` not
    // (case-sensitive), `orphan` excepted (no parent), and the expired
    // item, which would except everything, ignored.
    assert_eq!(r.ids(), ["lower"], "{}", r.stderr);
    // Before the expiry, the third item excepts every event.
    let r = run(
        "ex3-early",
        &rule("ex-3", PROCESS, &[("ex3", "single")]),
        &evs,
        &[("list.ndjson", &list)],
        &[
            "--exceptions",
            "list.ndjson",
            "--now",
            "2024-05-01T09:59:00Z",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.alerts.is_empty(), "{}", r.stderr);
}

#[test]
fn ex5_threshold_counts_only_events_not_excepted() {
    let body = "type = \"threshold\"\nquery = \"event.category:authentication\"\n[rule.threshold]\nfield = [\"host.name\"]\nvalue = 3";
    let list = export(
        "svc",
        &[json!({"entries": [
            entry("host.name", "match", json!("h1"), false),
            entry("user.name", "match", json!("svc"), false),
        ]})],
    );
    let auth = |user: &str| json!({"event": {"category": "authentication"}, "host": {"name": "h1"}, "user": {"name": user}});
    let evs = events(&[
        ("e1", "2024-05-01T10:04:10Z", auth("svc")),
        ("e2", "2024-05-01T10:04:20Z", auth("svc")),
        ("e3", "2024-05-01T10:04:30Z", auth("alice")),
    ]);
    let with = run(
        "ex5",
        &rule("ex-5", body, &[("svc", "single")]),
        &evs,
        &[("list.ndjson", &list)],
        &["--exceptions", "list.ndjson"],
    );
    assert!(with.alerts.is_empty(), "{}", with.stderr);
    let without = run(
        "ex5-none",
        &rule("ex-5", body, &[("svc", "single")]),
        &evs,
        &[],
        &[],
    );
    assert_eq!(without.alerts.len(), 1, "{}", without.stderr);
    assert_eq!(
        without.alerts[0]["kibana.alert.threshold_result"]["count"],
        3
    );
}

#[test]
fn value_lists_and_sequences() {
    let list = export(
        "bad-users",
        &[
            json!({"entries": [{"field": "user.name", "type": "list", "operator": "included",
            "list": {"id": "users.txt", "type": "keyword"}}]}),
        ],
    );
    let evs = events(&[
        (
            "u1",
            "2024-05-01T10:01:00Z",
            process(json!({"user": {"name": "root"}})),
        ),
        (
            "u2",
            "2024-05-01T10:01:10Z",
            process(json!({"user": {"name": "alice"}})),
        ),
    ]);
    let r = run(
        "values",
        &rule("vl", PROCESS, &[("bad-users", "single")]),
        &evs,
        &[("list.ndjson", &list), ("users.txt", "root\nsvc\n")],
        &[
            "--exceptions",
            "list.ndjson",
            "--value-list",
            "users.txt=users.txt",
        ],
    );
    assert_eq!(r.ids(), ["u2"], "{}", r.stderr);
    // Without the value list the item is not applied, with a note.
    let r = run(
        "values-none",
        &rule("vl", PROCESS, &[("bad-users", "single")]),
        &evs,
        &[("list.ndjson", &list)],
        &["--exceptions", "list.ndjson"],
    );
    assert_eq!(r.ids(), ["u1", "u2"], "{}", r.stderr);
    assert!(
        r.stderr
            .contains("was not given (--value-list users.txt=FILE)"),
        "{}",
        r.stderr
    );

    // An EQL sequence needing an excepted event does not form (E7).
    let seq = "type = \"eql\"\nlanguage = \"eql\"\nquery = '''\nsequence by host.name [process where process.name == \"a\"] [process where process.name == \"b\"]\n'''";
    let list = export(
        "no-b-on-lab",
        &[json!({"entries": [
            entry("process.name", "match", json!("b"), false),
            entry("host.name", "match", json!("lab"), false),
        ]})],
    );
    let p = |host: &str, name: &str| {
        process(json!({"host": {"name": host}, "process": {"name": name}}))
    };
    let evs = events(&[
        ("a1", "2024-05-01T10:01:00Z", p("lab", "a")),
        ("b1", "2024-05-01T10:01:10Z", p("lab", "b")),
        ("a2", "2024-05-01T10:01:20Z", p("prod", "a")),
        ("b2", "2024-05-01T10:01:30Z", p("prod", "b")),
    ]);
    let eql_rule =
        rule("seq", seq, &[("no-b-on-lab", "single")]).replace("language = \"kuery\"\n", "");
    let r = run(
        "sequence",
        &eql_rule,
        &evs,
        &[("list.ndjson", &list)],
        &["--exceptions", "list.ndjson"],
    );
    let hosts: Vec<&Value> = r
        .alerts
        .iter()
        .filter(|a| a.get("kibana.alert.building_block_type").is_none())
        .map(|a| &a["host"]["name"])
        .collect();
    assert_eq!(hosts, [&json!("prod")], "{}", r.stderr);
}

#[test]
fn a_broken_exception_file_is_a_located_usage_error() {
    let bad = export(
        "bad",
        &[json!({"entries": [entry("host.name", "matches", json!("x"), false)]})],
    );
    let r = run(
        "broken",
        &rule("broken", PROCESS, &[("bad", "single")]),
        &events(&[("e", "2024-05-01T10:01:00Z", process(json!({})))]),
        &[("bad.ndjson", &bad)],
        &["--exceptions", "bad.ndjson"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("bad.ndjson:2:"), "{}", r.stderr);
    assert!(
        r.stderr.contains("does not load as exception lists"),
        "{}",
        r.stderr
    );
    assert!(r.alerts.is_empty());
}

#[test]
fn a_kibana_rule_export_brings_its_lists() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("exceptions-rule-export");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let rule = json!({"id": "so-1", "rule_id": "4b7c0d7e-0000-4000-8000-000000000001", "name": "Proc",
        "description": "d", "type": "query", "language": "kuery", "query": "event.category:process",
        "index": ["logs-*"], "severity": "low", "risk_score": 21, "from": "now-6m", "interval": "5m",
        "exceptions_list": [{"id": "c-noise", "list_id": "noise", "namespace_type": "single", "type": "detection"}],
        "version": 1});
    let lists = export(
        "noise",
        &[json!({"entries": [entry("host.name", "match", json!("lab-1"), false)]})],
    );
    // The rule, the list and its item, the export details (the list
    // export's summary line stands in for them: both are skipped).
    std::fs::write(dir.join("export.ndjson"), format!("{rule}\n{lists}")).unwrap();
    let evs = events(&[
        (
            "lab",
            "2024-05-01T10:01:00Z",
            process(json!({"host": {"name": "lab-1"}})),
        ),
        (
            "prod",
            "2024-05-01T10:01:00Z",
            process(json!({"host": {"name": "prod"}})),
        ),
    ]);
    std::fs::write(dir.join("events.ndjson"), evs).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ruleq"))
        .current_dir(&dir)
        .args([
            "run",
            "-r",
            "export.ndjson",
            "events.ndjson",
            "--format",
            "ndjson",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let ids: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["kibana.alert.ancestors"][0]["id"].to_string()
        })
        .collect();
    assert_eq!(ids, ["\"prod\""], "{stderr}");
    assert!(!stderr.contains("was not given"), "{stderr}");
}

#[test]
fn ex4_nested_entries_need_one_element_to_hold_them_all() {
    let signed = process(json!({"process": {"Ext": {"code_signature": [
        {"subject_name": "LFC", "trusted": true},
        {"subject_name": "X", "trusted": false},
    ]}}}));
    let evs = events(&[("signed", "2024-05-01T10:01:00Z", signed)]);
    let nested = |trusted: &str| {
        export(
            "sig",
            &[
                json!({"entries": [{"field": "process.Ext.code_signature", "type": "nested", "entries": [
                    entry("subject_name", "match", json!("X"), false),
                    entry("trusted", "match", json!(trusted), false),
                ]}]}),
            ],
        )
    };
    let body = rule("ex-4", PROCESS, &[("sig", "single")]);
    // No single element is both X and trusted: the event alerts.
    let r = run(
        "ex4-nested",
        &body,
        &evs,
        &[("l.ndjson", &nested("true"))],
        &["--exceptions", "l.ndjson"],
    );
    assert_eq!(r.ids(), ["signed"], "{}", r.stderr);
    // The X element is untrusted: excepted.
    let r = run(
        "ex4-match",
        &body,
        &evs,
        &[("l.ndjson", &nested("false"))],
        &["--exceptions", "l.ndjson"],
    );
    assert!(r.alerts.is_empty(), "{}", r.stderr);
    // The same entries flat (an object mapping): each may hold in another
    // element, so the event is excepted.
    let flat = export(
        "sig",
        &[json!({"entries": [
            entry("process.Ext.code_signature.subject_name", "match", json!("X"), false),
            entry("process.Ext.code_signature.trusted", "match", json!("true"), false),
        ]})],
    );
    let r = run(
        "ex4-flat",
        &body,
        &evs,
        &[("l.ndjson", &flat)],
        &["--exceptions", "l.ndjson"],
    );
    assert!(r.alerts.is_empty(), "{}", r.stderr);
}

/// Under `--schedule`, an item's expiry is judged at each execution: an
/// event that every execution searching it sees before the expiry is
/// excepted; one that a later execution searches alerts. (Without a
/// schedule, at `--now`.)
#[test]
fn expiry_is_judged_per_execution_under_schedule() {
    let list = export(
        "expiring",
        &[
            json!({"entries": [entry("event.category", "exists", Value::Null, false)],
                 "expire_time": "2024-05-01T10:07:00Z"}),
        ],
    );
    let evs = events(&[
        // Searched by the 10:05 execution only (window 09:59-10:05).
        ("early", "2024-05-01T10:01:00Z", process(json!({}))),
        // Searched by 10:05 and 10:10 (window 10:04-10:10): 10:10 is after
        // the expiry, and alerts it.
        ("both", "2024-05-01T10:04:30Z", process(json!({}))),
        // Searched by 10:10 only.
        ("late", "2024-05-01T10:06:00Z", process(json!({}))),
    ]);
    let rule = rule("ex-expiry", PROCESS, &[("expiring", "single")]);
    let files = [("list.ndjson", list.as_str())];
    let r = run(
        "expiry-schedule",
        &rule,
        &evs,
        &files,
        &["--exceptions", "list.ndjson", "--schedule"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.ids(), ["both", "late"], "{}", r.stderr);
    // One execution at 10:05: the item holds for every event.
    let r = run(
        "expiry-now",
        &rule,
        &evs,
        &files,
        &[
            "--exceptions",
            "list.ndjson",
            "--now",
            "2024-05-01T10:05:00Z",
        ],
    );
    assert!(r.alerts.is_empty(), "{}", r.stderr);
    // At a clock after the expiry: the item is ignored.
    let r = run(
        "expiry-after",
        &rule,
        &evs,
        &files,
        &[
            "--exceptions",
            "list.ndjson",
            "--now",
            "2024-05-01T10:08:00Z",
        ],
    );
    assert_eq!(r.ids(), ["both", "early", "late"]);
}
