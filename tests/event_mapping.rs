//! Index mappings: inline mappings of every shape, merging, aliases,
//! multi-fields, `null_value`, date formats, errors.

use ruleq::mapping::{FieldType, Mapping};
use serde_json::json;

#[test]
fn field_types_nested_properties_and_multi_fields() {
    let m = Mapping::parse(
        r#"{"properties": {
            "@timestamp": {"type": "date"},
            "process": {"properties": {
                "pid": {"type": "long"},
                "name": {"type": "keyword", "ignore_above": 1024},
                "args": {"type": "wildcard"}
            }},
            "file_name": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}},
            "source": {"type": "object", "properties": {"ip": {"type": "ip"}}},
            "ver": {"type": "version"},
            "ok": {"type": "boolean"},
            "b": {"type": "byte"}, "s": {"type": "short"}, "i": {"type": "integer"},
            "d": {"type": "double"}, "f": {"type": "float"}, "h": {"type": "half_float"},
            "sf": {"type": "scaled_float", "scaling_factor": 100},
            "u": {"type": "unsigned_long"},
            "n": {"type": "date_nanos"},
            "dns": {"type": "nested", "properties": {"data": {"type": "keyword"}}},
            "geo": {"type": "geo_point"}
        }}"#,
    )
    .unwrap();
    let ty = |p: &str| m.field(p).map(|f| f.ty.clone());
    assert_eq!(ty("@timestamp"), Some(FieldType::Date));
    assert_eq!(ty("process"), Some(FieldType::Object));
    assert_eq!(ty("process.pid"), Some(FieldType::Long));
    assert_eq!(ty("process.args"), Some(FieldType::Wildcard));
    assert_eq!(m.field("process.name").unwrap().ignore_above, Some(1024));
    assert_eq!(ty("file_name"), Some(FieldType::Text));
    let kw = m.field("file_name.keyword").unwrap();
    assert_eq!(kw.ty, FieldType::Keyword);
    assert_eq!(kw.multi_field_of.as_deref(), Some("file_name"));
    assert_eq!(m.field("file_name").unwrap().multi_field_of, None);
    assert_eq!(ty("source.ip"), Some(FieldType::Ip));
    assert_eq!(ty("ver"), Some(FieldType::Version));
    assert_eq!(ty("ok"), Some(FieldType::Boolean));
    for (p, t) in [
        ("b", "byte"),
        ("s", "short"),
        ("i", "integer"),
        ("u", "unsigned_long"),
    ] {
        assert_eq!(ty(p).unwrap().name(), t);
        assert!(ty(p).unwrap().is_integer());
    }
    for p in ["d", "f", "h", "sf"] {
        let t = ty(p).unwrap();
        assert!(t.is_numeric() && !t.is_integer(), "{p}");
    }
    assert_eq!(m.field("sf").unwrap().scaling_factor, Some(100.0));
    assert_eq!(ty("n"), Some(FieldType::DateNanos));
    assert_eq!(ty("dns"), Some(FieldType::Nested));
    assert_eq!(ty("dns.data"), Some(FieldType::Keyword));
    assert_eq!(ty("geo"), Some(FieldType::Other("geo_point".into())));
    assert_eq!(ty("missing"), None);
    assert!(!m.contains("process.missing"));
}

#[test]
fn every_wrapper_shape_parses_the_same() {
    let props = json!({"a": {"type": "keyword"}, "b": {"type": "long"}});
    let shapes = [
        json!({"properties": props}),
        json!({"mappings": {"properties": props}}),
        json!({"mappings": {"_doc": {"properties": props}}}),
        json!({"my-index": {"mappings": {"properties": props}}}),
        json!({"i1": {"mappings": {"properties": {"a": {"type": "keyword"}}}},
               "i2": {"mappings": {"properties": {"b": {"type": "long"}}}}}),
    ];
    let first = Mapping::from_json(&shapes[0]).unwrap();
    assert_eq!(first.fields().count(), 2);
    for s in &shapes[1..] {
        assert_eq!(Mapping::from_json(s).unwrap(), first, "{s}");
    }
    // Runtime fields count as fields.
    let m = Mapping::parse(r#"{"mappings": {"runtime": {"day": {"type": "keyword"}}}}"#).unwrap();
    assert_eq!(m.field("day").unwrap().ty, FieldType::Keyword);
    assert!(Mapping::parse("{}").unwrap().is_empty());
}

#[test]
fn aliases_resolve_to_their_targets() {
    let m = Mapping::parse(
        r#"{"properties": {
            "event_type": {"type": "keyword"},
            "event": {"properties": {
                "category": {"type": "alias", "path": "event_type"},
                "broken": {"type": "alias", "path": "nowhere"}
            }}
        }}"#,
    )
    .unwrap();
    assert_eq!(m.resolve("event.category"), "event_type");
    assert_eq!(m.resolve("event_type"), "event_type");
    assert_eq!(m.resolve("other"), "other");
    assert_eq!(m.alias_target("event.category"), Some("event_type"));
    assert_eq!(m.field("event.category").unwrap().ty, FieldType::Keyword);
    assert!(m.contains("event.category"));
    assert_eq!(m.dangling_aliases(), vec![("event.broken", "nowhere")]);
}

#[test]
fn null_value_and_date_formats() {
    let m = Mapping::parse(
        r#"{"properties": {
            "opt": {"type": "keyword", "null_value": "NULL"},
            "port": {"type": "long", "null_value": 0},
            "plain": {"type": "keyword", "null_value": null},
            "d1": {"type": "date", "format": "dd-MM-yyyy"},
            "d2": {"type": "date", "format": "yyyy-MM-dd || epoch_millis"},
            "d3": {"type": "date"},
            "n": {"type": "date_nanos"}
        }}"#,
    )
    .unwrap();
    assert_eq!(m.field("opt").unwrap().null_value, Some(json!("NULL")));
    assert_eq!(m.field("port").unwrap().null_value, Some(json!(0)));
    assert_eq!(m.field("plain").unwrap().null_value, None);
    assert_eq!(m.field("d1").unwrap().date_formats(), vec!["dd-MM-yyyy"]);
    assert_eq!(
        m.field("d2").unwrap().formats,
        vec!["yyyy-MM-dd", "epoch_millis"]
    );
    assert_eq!(
        m.field("d3").unwrap().date_formats(),
        vec!["strict_date_optional_time", "epoch_millis"]
    );
    assert_eq!(
        m.field("n").unwrap().date_formats(),
        vec!["strict_date_optional_time_nanos", "epoch_millis"]
    );
}

#[test]
fn merged_mappings_keep_every_format_and_note_type_conflicts() {
    let mut m = Mapping::parse(
        r#"{"properties": {"d": {"type": "date", "format": "dd-MM-yyyy"}, "os": {"type": "keyword"},
            "event": {"properties": {"category": {"type": "alias", "path": "event_type"}}}}}"#,
    )
    .unwrap();
    m.merge(
        Mapping::parse(
            r#"{"properties": {"d": {"type": "date", "format": "yyyy-MM-dd||dd-MM-yyyy"}, "op_sys": {"type": "keyword"},
                "os": {"type": "long"}, "event_type": {"type": "keyword"}}}"#,
        )
        .unwrap(),
    );
    assert_eq!(
        m.field("d").unwrap().formats,
        vec!["dd-MM-yyyy", "yyyy-MM-dd"]
    );
    let os = m.field("os").unwrap();
    assert_eq!(os.ty, FieldType::Keyword);
    assert_eq!(os.other_types, vec![FieldType::Long]);
    assert!(m.field("op_sys").is_some());
    assert!(
        m.dangling_aliases().is_empty(),
        "the target came with the second mapping"
    );
}

#[test]
fn bad_mappings_are_errors() {
    let cases = [
        ("", "EOF"),
        ("[]", "JSON object"),
        (r#"{"properties": []}"#, "`properties` must be an object"),
        (
            r#"{"properties": {"a": 1}}"#,
            "field `a`: a field definition must be an object",
        ),
        (
            r#"{"properties": {"a": {"type": 1}}}"#,
            "`type` must be a string",
        ),
        (r#"{"properties": {"a": {}}}"#, "no `type`"),
        (
            r#"{"properties": {"a": {"properties": {"b": {"type": "alias"}}}}}"#,
            "field `a.b`: an alias needs a `path`",
        ),
        (
            r#"{"properties": {"a": {"type": "date", "format": 3}}}"#,
            "`format` must be a string",
        ),
        (
            r#"{"properties": {"a": {"type": "text", "fields": []}}}"#,
            "`fields` must be an object",
        ),
        (r#"{"mappings": 3}"#, "`mappings` must be an object"),
        (r#"{"mappings": {"a": {}, "b": {}}}"#, "no `properties`"),
        (r#"{"settings": {}}"#, "not a mapping"),
    ];
    for (text, want) in cases {
        let err = Mapping::parse(text).unwrap_err().to_string();
        assert!(err.contains(want), "{text}: {err}");
    }
    let missing = Mapping::from_file(std::path::Path::new("/nonexistent/x.mapping")).unwrap_err();
    assert!(
        missing.to_string().starts_with("/nonexistent/x.mapping: "),
        "{missing}"
    );
}

#[test]
fn constant_keyword_values_and_their_merging() {
    let one = |value: &str| {
        Mapping::parse(&format!(
            r#"{{"properties": {{"event": {{"properties": {{"module": {{"type": "constant_keyword"{value}}}}}}}}}}}"#
        ))
        .unwrap()
    };
    let github = one(r#", "value": "github""#);
    let fm = github.field("event.module").unwrap();
    assert_eq!(fm.constant_value(), Some("github"));
    assert_eq!(
        github.constants().collect::<Vec<_>>(),
        [("event.module", "github")]
    );
    // A number is read as its text; no value is none.
    assert_eq!(
        one(r#", "value": 5"#)
            .field("event.module")
            .unwrap()
            .constant_value(),
        Some("5")
    );
    assert_eq!(
        one("").field("event.module").unwrap().constant_value(),
        None
    );
    assert!(
        Mapping::parse(r#"{"properties": {"m": {"type": "constant_keyword", "value": [1]}}}"#)
            .is_err()
    );
    // Merged indices that agree keep the value; any disagreement (another
    // value, or none) leaves the field without one every document shares.
    let mut same = github.clone();
    same.merge(one(r#", "value": "github""#));
    assert_eq!(
        same.field("event.module").unwrap().constant_value(),
        Some("github")
    );
    for other in [one(r#", "value": "okta""#), one("")] {
        let mut m = github.clone();
        m.merge(other);
        assert_eq!(m.field("event.module").unwrap().constant_value(), None);
    }
    // A keyword in another index is no constant either.
    let mut mixed = github.clone();
    mixed.merge(
        Mapping::parse(
            r#"{"properties": {"event": {"properties": {"module": {"type": "keyword"}}}}}"#,
        )
        .unwrap(),
    );
    assert_eq!(mixed.field("event.module").unwrap().constant_value(), None);
}
