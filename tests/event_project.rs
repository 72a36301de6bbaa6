//! The projection deserializer: values of the requested fields, read from
//! nested, dotted and mixed keys, arrays, hits; written as tables of inline
//! JSON.

mod common;

use common::show;
use ruleq::event::{ElemId, FieldTable, Num, Projector, Value};

/// Projects `json` onto `fields`; returns each field's values rendered.
fn project(fields: &[&str], json: &str) -> Vec<Vec<String>> {
    let mut table = FieldTable::new();
    let ids: Vec<_> = fields.iter().map(|f| table.intern(f)).collect();
    let mut p = Projector::new(&table);
    let rec = p
        .project(json.as_bytes())
        .unwrap_or_else(|e| panic!("{json}: {e}"));
    ids.iter()
        .map(|&id| rec.values(id).map(show).collect())
        .collect()
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn nested_dotted_and_mixed_keys_give_the_same_values() {
    let fields = ["process.name", "process.parent.name", "host.os.type"];
    let expected = vec![
        strs(&["\"cmd.exe\""]),
        strs(&["\"explorer.exe\""]),
        strs(&["\"windows\""]),
    ];
    let docs = [
        r#"{"process": {"name": "cmd.exe", "parent": {"name": "explorer.exe"}}, "host": {"os": {"type": "windows"}}}"#,
        r#"{"process.name": "cmd.exe", "process.parent.name": "explorer.exe", "host.os.type": "windows"}"#,
        r#"{"process": {"name": "cmd.exe", "parent.name": "explorer.exe"}, "host.os": {"type": "windows"}}"#,
        r#"{"process.parent": {"name": "explorer.exe"}, "process": {"name": "cmd.exe"}, "host": {"os.type": "windows"}}"#,
        // Unrelated keys everywhere, including ones sharing prefixes.
        r#"{"a": [1, {"b": null}], "process": {"pid": 4, "name": "cmd.exe", "names": "x", "parent": {"pid": 1, "name": "explorer.exe"}}, "host": {"name": "h", "os": {"type": "windows", "family": "w"}}, "process.parent.pid": 2}"#,
    ];
    for doc in docs {
        assert_eq!(project(&fields, doc), expected, "{doc}");
    }
}

#[test]
fn one_field_from_several_spellings_keeps_every_value_in_document_order() {
    let got = project(&["a.b"], r#"{"a": {"b": 1}, "a.b": 2, "a": {"b": [3, 4]}}"#);
    assert_eq!(got, vec![strs(&["#1", "#2", "#3", "#4"])]);
}

#[test]
fn arrays_are_multi_valued_and_flattened() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "event.category",
            r#"{"event": {"category": ["process", "network"]}}"#,
            &["\"process\"", "\"network\""],
        ),
        (
            "tags",
            r#"{"tags": [[1, [2]], "x", true, null]}"#,
            &["#1", "#2", "\"x\"", "true", "null"],
        ),
        ("tags", r#"{"tags": []}"#, &[]),
        (
            "dns.answers.data",
            r#"{"dns": {"answers": [{"data": "a"}, {"data": "b", "ttl": 3}]}}"#,
            &["\"a\"", "\"b\""],
        ),
        (
            "dns.answers.data",
            r#"{"dns.answers": [{"data": "a"}, {"data": ["b", "c"]}]}"#,
            &["\"a\"", "\"b\"", "\"c\""],
        ),
        (
            "dns.answers.data",
            r#"{"dns": [{"answers": {"data": "a"}}, {"answers": [{"data.x": 1}, {"data": "b"}]}]}"#,
            &["\"a\"", "\"b\""],
        ),
        ("a", r#"{"a": {"b": 1}}"#, &[]),
        ("a", r#"{"a": [{"b": 1}, 2]}"#, &["#2"]),
    ];
    for (field, doc, want) in cases {
        assert_eq!(project(&[field], doc), vec![strs(want)], "{doc}");
    }
}

#[test]
fn a_path_can_be_both_a_field_and_a_prefix() {
    let got = project(&["a", "a.b"], r#"{"a": [1, {"b": 2}], "a.b": 3}"#);
    assert_eq!(got, vec![strs(&["#1"]), strs(&["#2", "#3"])]);
}

#[test]
fn explicit_null_differs_from_missing() {
    let mut table = FieldTable::new();
    let a = table.intern("a");
    let b = table.intern("b");
    let c = table.intern("c.d");
    let mut p = Projector::new(&table);
    let rec = p.project(br#"{"a": null, "c": null}"#).unwrap();
    assert!(rec.contains(a));
    assert_eq!(rec.first(a), Some(Value::Null));
    assert!(!rec.contains(b));
    assert_eq!(rec.first(b), None);
    // `c` is null, not an object: `c.d` is missing.
    assert!(!rec.contains(c));
}

#[test]
fn numbers_keep_value_and_text() {
    let cases: &[(&str, Num, &str)] = &[
        ("0", Num::Int(0), "0"),
        ("-42", Num::Int(-42), "-42"),
        (
            "9223372036854775807",
            Num::Int(i64::MAX),
            "9223372036854775807",
        ),
        (
            "-9223372036854775808",
            Num::Int(i64::MIN),
            "-9223372036854775808",
        ),
        (
            "18446744073709551615",
            Num::UInt(u64::MAX),
            "18446744073709551615",
        ),
        (
            "18446744073709551616",
            Num::Float(1.8446744073709552e19),
            "18446744073709551616",
        ),
        ("1.50", Num::Float(1.5), "1.50"),
        ("-2.5e-3", Num::Float(-0.0025), "-2.5e-3"),
        ("1E3", Num::Float(1000.0), "1E3"),
        ("23.0", Num::Float(23.0), "23.0"),
    ];
    let mut table = FieldTable::new();
    let n = table.intern("n");
    let mut p = Projector::new(&table);
    for (text, value, written) in cases {
        for doc in [
            format!(r#"{{"n": {text}}}"#),
            format!(r#"{{"n": [{text}]}}"#),
        ] {
            let rec = p.project(doc.as_bytes()).unwrap();
            let num = rec.first(n).and_then(|v| v.as_number()).expect(text);
            assert_eq!(num.value(), *value, "{doc}");
            assert_eq!(num.text(), *written, "{doc}");
            p.recycle(rec);
        }
    }
}

#[test]
fn strings_with_escapes_and_unicode() {
    let cases: &[(&str, &str)] = &[
        (r#""plain""#, "plain"),
        (
            r#""C:\\Windows\\System32\\cmd.exe""#,
            r"C:\Windows\System32\cmd.exe",
        ),
        (
            r#""tab\there\nnewline \"q\" \/""#,
            "tab\there\nnewline \"q\" /",
        ),
        (r#""\u00e9t\u00E9 \ud83d\ude00""#, "été 😀"),
        (r#""日本語 ünïcödé""#, "日本語 ünïcödé"),
        (r#""""#, ""),
    ];
    let mut table = FieldTable::new();
    let s = table.intern("s");
    let t = table.intern("t");
    let mut p = Projector::new(&table);
    for (json, want) in cases {
        // Two escaped values in one event: both must survive in the scratch.
        let doc = format!(r#"{{"s": {json}, "t": [{json}, "x\\y"]}}"#);
        let rec = p.project(doc.as_bytes()).unwrap();
        assert_eq!(rec.first(s).and_then(|v| v.as_str()), Some(*want), "{doc}");
        let tv: Vec<_> = rec
            .values(t)
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        assert_eq!(tv, vec![want.to_string(), "x\\y".to_string()]);
        p.recycle(rec);
    }
}

#[test]
fn escaped_keys_are_field_names_too() {
    let got = project(&["a.b"], r#"{"\u0061": {"\u0062": 1}, "a\u002eb": 2}"#);
    assert_eq!(got, vec![strs(&["#1", "#2"])]);
}

#[test]
fn search_hits_are_unwrapped() {
    let mut table = FieldTable::new();
    let name = table.intern("process.name");
    let index = table.intern("_index");
    let mut p = Projector::new(&table);
    let docs = [
        r#"{"_index": "logs-endpoint", "_id": "abc", "_score": 1.0, "_source": {"process": {"name": "x"}}, "fields": {"process.name": ["y"]}}"#,
        r#"{"_source": {"process.name": "x"}, "_id": "abc", "_index": "logs-endpoint", "process": {"name": "not me"}}"#,
    ];
    for doc in docs {
        let rec = p.project(doc.as_bytes()).unwrap();
        assert!(rec.is_hit());
        assert_eq!(rec.index(), Some("logs-endpoint"));
        assert_eq!(rec.id(), Some("abc"));
        let names: Vec<_> = rec.values(name).map(show).collect();
        assert_eq!(names, strs(&["\"x\""]), "{doc}");
        assert!(!rec.contains(index), "hit metadata is not an event field");
        assert!(std::str::from_utf8(rec.source())
            .unwrap()
            .starts_with("{\"process"));
        p.recycle(rec);
    }
    // A plain event with an `_index` field of its own: not a hit, but the
    // index is still known and the field readable.
    let doc = br#"  {"_index": "a\"b", "process": {"name": "z"}}  "#;
    let rec = p.project(doc).unwrap();
    assert!(!rec.is_hit());
    assert_eq!(rec.index(), Some("a\"b"));
    assert_eq!(rec.id(), None);
    assert_eq!(rec.first(index).and_then(|v| v.as_str()), Some("a\"b"));
    assert_eq!(rec.first(name).and_then(|v| v.as_str()), Some("z"));
    assert_eq!(rec.source(), &doc[2..doc.len() - 2]);
    p.recycle(rec);
    // `_source` that is not an object is not a hit.
    let rec = p
        .project(br#"{"_source": null, "process.name": "w"}"#)
        .unwrap();
    assert!(!rec.is_hit());
    assert_eq!(rec.first(name).and_then(|v| v.as_str()), Some("w"));
}

#[test]
fn array_of_objects_elements_are_kept() {
    let mut table = FieldTable::new();
    let data = table.intern("dns.answers.data");
    let ty = table.intern("dns.answers.type");
    let name = table.intern("dns.question.name");
    let answers = table.intern_node("dns.answers");
    let mut p = Projector::new(&table);
    let rec = p
        .project(
            br#"{"dns": {"question": {"name": "q"}, "answers": [
                {"data": "1.1.1.1", "type": "A"},
                {"type": "CNAME", "data": ["x", "y"]}
            ]}}"#,
        )
        .unwrap();
    let group = |f| -> Vec<(String, Option<ElemId>)> {
        rec.entries(f)
            .map(|(v, e)| (show(v), rec.element_in(e, answers)))
            .collect()
    };
    let d = group(data);
    let t = group(ty);
    assert_eq!(d.len(), 3);
    assert_eq!(t.len(), 2);
    // "1.1.1.1" and "A" share an object; "x", "y" and "CNAME" share another.
    assert_eq!(d[0].1, t[0].1);
    assert_eq!(d[1].1, t[1].1);
    assert_eq!(d[2].1, t[1].1);
    assert_ne!(d[0].1, d[1].1);
    assert!(d.iter().all(|(_, e)| e.is_some()));
    assert_eq!(group(name), vec![("\"q\"".to_string(), None)]);
}

#[test]
fn nested_arrays_of_objects_resolve_to_the_requested_scope() {
    let mut table = FieldTable::new();
    let v = table.intern("a.b.v");
    let outer = table.intern_node("a");
    let inner = table.intern_node("a.b");
    let mut p = Projector::new(&table);
    let rec = p
        .project(br#"{"a": [{"b": [{"v": 1}, {"v": 2}]}, {"b": [{"v": 3}]}]}"#)
        .unwrap();
    let es: Vec<_> = rec.entries(v).map(|(_, e)| e).collect();
    let outs: Vec<_> = es.iter().map(|&e| rec.element_in(e, outer)).collect();
    let ins: Vec<_> = es.iter().map(|&e| rec.element_in(e, inner)).collect();
    assert_eq!(outs[0], outs[1]);
    assert_ne!(outs[1], outs[2]);
    assert_ne!(ins[0], ins[1]);
    assert_ne!(ins[1], ins[2]);
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let mut table = FieldTable::new();
    table.intern("a");
    table.intern("b.c");
    let mut p = Projector::new(&table);
    for doc in [
        "",
        "   ",
        "[1, 2]",
        "\"str\"",
        "42",
        "null",
        "{",
        r#"{"a": }"#,
        r#"{"a": 1,}"#,
        r#"{"a": 1} x"#,
        r#"{"a": 1}{"a": 2}"#,
        r#"{"a": "unterminated}"#,
        r#"{"a": "bad \q escape"}"#,
        r#"{"b": {"c": [1, }}"#,
        r#"{"z": [1, }"#,
        "{\"a\": \"\u{1}\"}",
        r#"{"a": 01}"#,
        r#"{"a": NaN}"#,
    ] {
        assert!(p.project(doc.as_bytes()).is_err(), "{doc:?} should fail");
    }
    assert!(p.project(b"{\"a\": \"\xff\"}").is_err());
    let deep = "[".repeat(100_000);
    assert!(p.project(format!("{{\"a\": {deep}").as_bytes()).is_err());
    assert!(p.project(format!("{{\"z\": {deep}").as_bytes()).is_err());
    // The projector still works afterwards.
    assert!(p.project(br#"{"a": 1}"#).is_ok());
}

#[test]
fn records_are_reused_across_events() {
    let mut table = FieldTable::new();
    let a = table.intern("a");
    let mut p = Projector::new(&table);
    for i in 0..100 {
        let doc = format!(r#"{{"a": ["v{i}\n", {i}], "b": 1}}"#);
        let rec = p.project(doc.as_bytes()).unwrap();
        let vals: Vec<_> = rec.values(a).map(show).collect();
        assert_eq!(
            vals,
            vec![format!("{:?}", format!("v{i}\n")), format!("#{i}")]
        );
        p.recycle(rec);
    }
}

#[test]
fn fields_interned_later_than_a_record_read_as_missing() {
    let mut table = FieldTable::new();
    let a = table.intern("a");
    let mut other = table.clone();
    let late = other.intern("zzz");
    let mut p = Projector::new(&table);
    let rec = p.project(br#"{"a": 1, "zzz": 2}"#).unwrap();
    assert!(rec.contains(a));
    assert!(!rec.contains(late));
    assert_eq!(rec.values(late).count(), 0);
}

#[test]
fn a_recycled_record_forgets_the_previous_events_fields() {
    let mut table = FieldTable::new();
    let x = table.intern("x");
    let y = table.intern("y");
    let mut p = Projector::new(&table);
    let first = p.project(br#"{"x": 1, "y": 2}"#).unwrap();
    assert_eq!(first.values(x).count(), 1);
    p.recycle(first);
    let second = p.project(br#"{"y": 3}"#).unwrap();
    assert_eq!(
        second.values(x).count(),
        0,
        "x is missing from the second event"
    );
    assert!(!second.contains(x));
    assert_eq!(second.values(y).map(show).collect::<Vec<_>>(), ["#3"]);
}
