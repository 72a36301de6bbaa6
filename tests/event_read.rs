//! Event sources: NDJSON and JSON arrays, blank and malformed entries,
//! compressed files, folders; every line accounted for.

use std::io::Write;
use std::path::{Path, PathBuf};

use ruleq::event::{EventSource, FieldTable, Input, Item, Malformed, Position, Projector};

/// A fresh empty folder for one test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ruleq-event-read-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What a run over a source saw: events as (file name, position, `id`
/// field), malformed reports, and the reader's counts.
#[derive(Debug, Default)]
struct Run {
    events: Vec<(String, Position, String)>,
    malformed: Vec<Malformed>,
    errors: Vec<String>,
}

fn run(mut src: EventSource) -> (Run, ruleq::event::ReadStats) {
    let mut table = FieldTable::new();
    let id = table.intern("id");
    let mut proj = Projector::new(&table);
    let mut out = Run::default();
    while let Some(item) = src.next_item() {
        match item {
            Err(e) => out.errors.push(e.to_string()),
            Ok(Item::Malformed(m)) => out.malformed.push(m),
            Ok(Item::Event(ev)) => match proj.project(ev.bytes) {
                Ok(rec) => {
                    let name = ev.path.file_name().unwrap().to_string_lossy().into_owned();
                    let v = rec.first(id).map(|v| match v {
                        ruleq::event::Value::Str(s) => s.to_string(),
                        ruleq::event::Value::Number(n) => n.text().to_string(),
                        other => format!("{other:?}"),
                    });
                    out.events.push((name, ev.pos, v.unwrap_or_default()));
                    proj.recycle(rec);
                }
                Err(e) => out.malformed.push(Malformed::new(&ev, &e)),
            },
        }
    }
    (out, src.stats())
}

fn run_text(name: &str, text: &str) -> (Run, ruleq::event::ReadStats) {
    let dir = temp_dir(name);
    let path = dir.join(format!("{name}.ndjson"));
    std::fs::write(&path, text).unwrap();
    let mapped = run(EventSource::new(&[Input::Path(path.clone())]).unwrap());
    // Read through a buffer instead of a memory map: the same in every way.
    let buffered = run(EventSource::new(&[Input::Path(path)])
        .unwrap()
        .without_mmap());
    assert_eq!(format!("{mapped:?}"), format!("{buffered:?}"));
    mapped
}

fn ids(run: &Run) -> Vec<(u64, &str)> {
    run.events
        .iter()
        .map(|(_, p, v)| (p.number(), v.as_str()))
        .collect()
}

fn bad(run: &Run) -> Vec<u64> {
    run.malformed.iter().map(|m| m.pos.number()).collect()
}

#[test]
fn ndjson_with_blank_and_malformed_lines() {
    let text =
        "\n  \n{\"id\": 1}\r\n\n{\"id\": 2, oops}\n\t\n{\"id\": 3}\nnot json\n[1]\n{\"id\": 4}";
    let (r, stats) = run_text("ndjson", text);
    assert_eq!(ids(&r), vec![(3, "1"), (7, "3"), (10, "4")]);
    assert_eq!(bad(&r), vec![5, 8, 9]);
    assert!(r
        .events
        .iter()
        .all(|(_, p, _)| matches!(p, Position::Line(_))));
    assert_eq!(stats.units, 10);
    assert_eq!(stats.blank, 4);
    assert_eq!(stats.events, 6);
    assert_eq!(stats.malformed, 0, "the reader itself found nothing wrong");
    assert_eq!(stats.units, stats.blank + stats.events + stats.malformed);
    assert_eq!(stats.bytes, text.len() as u64);
    let report = r.malformed[0].to_string();
    assert!(
        report.contains("ndjson.ndjson:5: malformed event: key must be a string"),
        "{report}"
    );
    assert!(r.errors.is_empty());
}

#[test]
fn ndjson_edge_cases() {
    // text, events as (line, id), blank lines
    type Case<'a> = (&'a str, &'a [(u64, &'a str)], u64);
    let cases: &[Case] = &[
        ("", &[], 0),
        ("\n\n", &[], 2),
        ("{\"id\": 1}", &[(1, "1")], 0),
        ("{\"id\": 1}\n", &[(1, "1")], 0),
        ("\u{feff}{\"id\": \"bom\"}\n", &[(1, "bom")], 0),
        ("   {\"id\": 1}   \n  {\"id\": 2}", &[(1, "1"), (2, "2")], 0),
        ("\n\n   {\"id\": 1}\n", &[(3, "1")], 2),
        (
            "{\"id\": \"[not an array]\"}\n",
            &[(1, "[not an array]")],
            0,
        ),
    ];
    for (i, (text, want, blank)) in cases.iter().enumerate() {
        let (r, stats) = run_text(&format!("edge{i}"), text);
        assert_eq!(ids(&r), *want, "{text:?}");
        assert_eq!(stats.blank, *blank, "{text:?}");
        assert_eq!(stats.units, stats.blank + stats.events, "{text:?}");
        assert!(r.malformed.is_empty(), "{text:?}: {:?}", r.malformed);
    }
}

#[test]
fn json_array_elements_and_malformed_elements() {
    let text = r#"
    [
      {"id": 1, "s": "a ] } [ { , \" \\"},
      {"id": 2, "nested": [[{"x": [1, 2]}], {}]},
      {"id": 3, bad},
      42,
      "str",
      {"id": 6}
    ]
    "#;
    let (r, stats) = run_text("array", text);
    assert_eq!(ids(&r), vec![(1, "1"), (2, "2"), (6, "6")]);
    assert!(r
        .events
        .iter()
        .all(|(_, p, _)| matches!(p, Position::Element(_))));
    assert_eq!(bad(&r), vec![3, 4, 5]);
    assert_eq!(stats.units, 6);
    assert_eq!(stats.events, 6);
    assert_eq!(stats.blank, 0);
    assert_eq!(stats.bytes, text.len() as u64);
}

#[test]
fn json_array_structure_errors() {
    let cases: &[(&str, &[u64], &[u64])] = &[
        // text, good elements, malformed positions
        ("[]", &[], &[]),
        ("  [ ]  ", &[], &[]),
        (r#"[{"id": 1}, {"id": 2}"#, &[1, 2], &[3]),
        (r#"[{"id": 1}, {"id": 2"#, &[1], &[2]),
        (r#"[{"id": 1}, {"id": "2]"#, &[1], &[2]),
        (r#"[{"id": 1} {"id": 2}]"#, &[1], &[2]),
        (r#"[{"id": 1}] trailing"#, &[1], &[2]),
        (r#"[{"id": 1},]"#, &[1], &[]),
        (r#"[{"id": 1}]]"#, &[1], &[2]),
        (r#"[1 2]"#, &[], &[1, 2]),
        ("[", &[], &[1]),
    ];
    for (i, (text, good, malformed)) in cases.iter().enumerate() {
        let (r, stats) = run_text(&format!("arr{i}"), text);
        let g: Vec<u64> = r.events.iter().map(|(_, p, _)| p.number()).collect();
        assert_eq!(&g, good, "{text}");
        assert_eq!(&bad(&r), malformed, "{text}");
        assert_eq!(
            stats.units,
            stats.blank + stats.events + stats.malformed,
            "{text}"
        );
        assert!(r.errors.is_empty());
    }
}

const EVENTS: &str = "{\"id\": \"a\"}\n\n{\"id\": \"b\"}\n";

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn zst(bytes: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(bytes, 3).unwrap()
}

#[test]
fn compressed_files_round_trip() {
    let dir = temp_dir("compressed");
    let array = r#"[{"id": "c"}, {"id": "d"}]"#;
    // A multi-member gzip file (as `cat a.gz b.gz` makes) is read whole.
    let mut two = gz(b"{\"id\": \"a\"}\n");
    two.extend(gz(b"{\"id\": \"b\"}\n"));
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("1.ndjson.gz", gz(EVENTS.as_bytes())),
        ("2.ndjson.zst", zst(EVENTS.as_bytes())),
        ("3.json.gz", gz(array.as_bytes())),
        ("4.json.zst", zst(array.as_bytes())),
        ("5.ndjson.gz", two),
    ];
    for (name, bytes) in &files {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let (r, stats) = run(EventSource::new(&[Input::Path(path)]).unwrap());
        let got: Vec<_> = r.events.iter().map(|(_, p, v)| (*p, v.as_str())).collect();
        let want: Vec<(Position, &str)> = match *name {
            "1.ndjson.gz" | "2.ndjson.zst" => {
                vec![(Position::Line(1), "a"), (Position::Line(3), "b")]
            }
            "5.ndjson.gz" => vec![(Position::Line(1), "a"), (Position::Line(2), "b")],
            _ => vec![(Position::Element(1), "c"), (Position::Element(2), "d")],
        };
        assert_eq!(got, want, "{name}");
        assert!(r.errors.is_empty() && r.malformed.is_empty(), "{name}");
        assert_eq!(stats.files, 1);
    }
    // A stream (as stdin would be) is recognised by its magic bytes.
    for bytes in [
        gz(EVENTS.as_bytes()),
        zst(EVENTS.as_bytes()),
        EVENTS.as_bytes().to_vec(),
    ] {
        let src = EventSource::from_reader("<stdin>", std::io::Cursor::new(bytes)).unwrap();
        let (r, _) = run(src);
        assert_eq!(ids(&r), vec![(1, "a"), (3, "b")]);
    }
}

#[test]
fn corrupt_compressed_file_is_an_io_error_and_reading_goes_on() {
    let dir = temp_dir("corrupt");
    let mut broken = gz(EVENTS.as_bytes());
    let n = broken.len();
    broken.truncate(n - 12);
    std::fs::write(dir.join("a.ndjson.gz"), &broken).unwrap();
    std::fs::write(dir.join("b.ndjson.zst"), b"not zstd at all").unwrap();
    std::fs::write(dir.join("c.ndjson"), EVENTS).unwrap();
    let (r, _) = run(EventSource::new(&[Input::Path(dir.clone())]).unwrap());
    assert_eq!(r.errors.len(), 2, "{:?}", r.errors);
    assert!(r.errors[0].contains("a.ndjson.gz"), "{:?}", r.errors);
    assert!(r.errors[1].contains("b.ndjson.zst"), "{:?}", r.errors);
    let last: Vec<_> = r
        .events
        .iter()
        .filter(|(f, _, _)| f == "c.ndjson")
        .collect();
    assert_eq!(last.len(), 2);
}

#[test]
fn folders_are_walked_in_sorted_order() {
    let dir = temp_dir("folder");
    std::fs::create_dir_all(dir.join("b/sub")).unwrap();
    std::fs::create_dir_all(dir.join(".hidden")).unwrap();
    std::fs::write(dir.join("b/sub/z.jsonl"), "{\"id\": \"bz\"}\n").unwrap();
    std::fs::write(dir.join("b/a.json"), "[{\"id\": \"ba\"}]").unwrap();
    std::fs::write(dir.join("a.ndjson"), "{\"id\": \"a1\"}\n{\"id\": \"a2\"}\n").unwrap();
    std::fs::write(dir.join("c.ndjson.gz"), gz(b"{\"id\": \"c\"}")).unwrap();
    std::fs::write(dir.join("README.md"), "# not events\n").unwrap();
    std::fs::write(dir.join(".hidden/x.ndjson"), "{\"id\": \"hidden\"}\n").unwrap();
    std::fs::write(dir.join(".y.ndjson"), "{\"id\": \"hidden\"}\n").unwrap();
    let extra = dir.join("README.md");
    let (r, stats) =
        run(EventSource::new(&[Input::Path(dir.clone()), Input::Path(extra)]).unwrap());
    let got: Vec<_> = r
        .events
        .iter()
        .map(|(f, _, v)| format!("{f}:{v}"))
        .collect();
    assert_eq!(
        got,
        [
            "a.ndjson:a1",
            "a.ndjson:a2",
            "a.json:ba",
            "z.jsonl:bz",
            "c.ndjson.gz:c"
        ]
    );
    // The README named directly is read, and its line is malformed.
    assert_eq!(r.malformed.len(), 1);
    assert!(r.malformed[0].path.ends_with("README.md"));
    assert_eq!(stats.files, 5);
}

#[test]
fn a_missing_path_fails_before_reading() {
    let err = EventSource::new(&[Input::Path(Path::new("/nonexistent/ruleq/x.ndjson").into())])
        .unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/ruleq/x.ndjson"),
        "{err}"
    );
}

#[test]
fn large_ndjson_stream_counts_every_line() {
    let dir = temp_dir("large");
    let path = dir.join("big.ndjson");
    let mut text = String::new();
    for i in 0..20_000 {
        match i % 100 {
            7 => text.push('\n'),
            13 => text.push_str("{broken\n"),
            _ => text.push_str(&format!(
                "{{\"id\": {i}, \"pad\": \"{}\"}}\n",
                "x".repeat(i % 300)
            )),
        }
    }
    std::fs::write(&path, &text).unwrap();
    let (r, stats) = run(EventSource::new(&[Input::Path(path)]).unwrap());
    assert_eq!(r.events.len(), 19_600);
    assert_eq!(r.malformed.len(), 200);
    assert_eq!(stats.blank, 200);
    assert_eq!(stats.units, 20_000);
    assert!(r
        .events
        .iter()
        .all(|(_, p, v)| p.number() == v.parse::<u64>().unwrap() + 1));
}
