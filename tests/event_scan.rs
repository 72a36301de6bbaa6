//! The fast projection scanner against the serde_json projection it
//! stands in for: on generated events and on hand-made edge cases, both
//! give the same values (with their array elements), index, id, source
//! and hit flag, or both fail with the same message.

mod common;

use common::show;
use ruleq::event::{ElemId, FieldTable, Projector};

/// Everything a record says, rendered.
fn render(table: &FieldTable, rec: &ruleq::event::Record<'_>) -> String {
    let mut out = format!(
        "index={:?} id={:?} hit={} source={}\n",
        rec.index(),
        rec.id(),
        rec.is_hit(),
        String::from_utf8_lossy(rec.source())
    );
    for (id, path) in table.fields() {
        let entries: Vec<String> = rec
            .entries(id)
            .map(|(v, e)| {
                let elem = if e == ElemId::NONE {
                    String::new()
                } else {
                    format!("@{e:?}")
                };
                format!("{}{elem}", show(v))
            })
            .collect();
        if !entries.is_empty() {
            out.push_str(&format!("{path}: {}\n", entries.join(", ")));
        }
    }
    out
}

fn table() -> FieldTable {
    let mut t = FieldTable::new();
    for f in [
        "@timestamp",
        "_id",
        "event.category",
        "event.type",
        "event.action",
        "host.name",
        "host.os.type",
        "process.name",
        "process.args",
        "process.pid",
        "process.parent.name",
        "process.entity_id",
        "destination.ip",
        "destination.port",
        "network.transport",
        "user.name",
        "file.path",
        "dll.name",
        "threat.indicator.ip",
        "a.b",
        "a.b.c",
        "x",
        "n",
    ] {
        t.intern(f);
    }
    t
}

fn compare(table: &FieldTable, line: &str) {
    let mut fast = Projector::new(table);
    let mut reference = Projector::new(table);
    let a = fast.project(line.as_bytes()).map(|r| render(table, &r));
    let b = reference
        .project_reference(line.as_bytes())
        .map(|r| render(table, &r));
    match (a, b) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{line}"),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{line}"),
        (a, b) => panic!("{line}: fast {a:?}, reference {b:?}"),
    }
}

#[test]
fn generated_events_project_as_serde_projects_them() {
    let table = table();
    let mut n = 0;
    ruleq::gen::generate(20_000, 11, |line| {
        compare(&table, line);
        n += 1;
    });
    assert_eq!(n, 20_000);
}

#[test]
fn edge_cases_project_as_serde_projects_them() {
    let table = table();
    let deep = format!("{{\"x\":{}1{}}}", "[".repeat(120), "]".repeat(120));
    let deeper = format!("{{\"q\":{}1{}}}", "[".repeat(140), "]".repeat(140));
    let cases = [
        r#"{}"#,
        r#"  {"process": {"name": "cmd.exe"}}  "#,
        r#"{"process.name": "a", "process": {"name": "b", "parent.name": "c"}}"#,
        r#"{"process": {"args": ["-x", "y", 3, null, true, ["nested"]]}}"#,
        r#"{"dll": [{"name": "a.dll"}, {"name": "b.dll"}], "threat": {"indicator": [{"ip": "1.2.3.4"}, {"ip": ["5.6.7.8", "::1"]}]}}"#,
        r#"{"file": {"path": "C:\\Windows\\System32\\cmd.exe"}, "user": {"name": "\u00e9l\u00e8ve \"q\" \/ \t"}}"#,
        r#"{"user": {"name": "\ud83d\ude00"}}"#,
        r#"{"user": {"name": "\ud83d"}}"#,
        r#"{"n": -0, "x": 1.5e3}"#,
        r#"{"n": 18446744073709551616, "x": -12.50E-2}"#,
        r#"{"n": 01}"#,
        r#"{"n": 1.}"#,
        r#"{"n": -}"#,
        r#"{"n": .5}"#,
        r#"{"skip": [1, 2, {"a": [true, false, null]}], "n": 2}"#,
        r#"{"skip": {"a": tru}, "n": 2}"#,
        r#"{"skip": [1, 2,], "n": 2}"#,
        r#"{"skip": {"a": 1,}, "n": 2}"#,
        r#"{"n": 2,}"#,
        r#"{"n": 2} x"#,
        r#"{"n": 2"#,
        "{\"user\": {\"name\": \"a\tb\"}}",
        "{\"skip\": \"a\u{1}b\"}",
        r#"{"skip": "\x"}"#,
        r#"{"skip": "\u12G4"}"#,
        r#"{1: 2}"#,
        r#"[1, 2]"#,
        r#""text""#,
        r#"{"_index": ".ds-logs-endpoint.events.process-default-2026.03.01-000001", "_id": "abc", "_source": {"process": {"name": "x"}, "_id": "inner"}}"#,
        r#"{"_source": {"a": {"b": {"c": 1}}}, "_index": "i"}"#,
        r#"{"_source": "not an object", "_id": 5, "x": 1}"#,
        r#"{"_id": "plain", "x": {"y": 1}}"#,
        r#"{"a": {"b": "leaf", "b.c": 2}}"#,
        r#"{"a": {"b": {"c": 3}}, "a.b": 4}"#,
        r#"{"a": [{"b": [{"c": 1}, {"c": 2}]}, {"b": {"c": 3}}]}"#,
        r#"{"event": {"category": ["process", "network"], "type": ["start"]}}"#,
        r#"{"x": "duplicate", "x": "keys"}"#,
        r#"{"proc\u0065ss": {"name": "escaped key"}}"#,
        &deep,
        &deeper,
    ];
    for case in cases {
        compare(&table, case);
    }
}
