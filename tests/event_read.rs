//! Event sources: NDJSON and JSON arrays, blank and malformed entries,
//! compressed files, folders; every line accounted for.

use std::io::Write;
use std::path::{Path, PathBuf};

use ruleq::event::{EventSource, FieldTable, Input, Item, Malformed, Position, Projector};

/// A fresh empty folder for one test, removed with everything in it when
/// dropped.
struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("ruleq-event-read-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
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
    // Element 3 is not JSON: the reader finds it (reported at its element
    // and line, the elements after it read); 4 and 5 are JSON but not
    // events, which the projection finds.
    assert!(
        r.malformed[0].message.contains("at line 5"),
        "{:?}",
        r.malformed[0]
    );
    assert_eq!(stats.units, 6);
    assert_eq!(stats.events, 5);
    assert_eq!(stats.malformed, 1);
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
fn compression_is_told_by_content_under_any_name() {
    // Logs fetched from object stores often keep a `.json` name over gzip.
    let dir = temp_dir("compressed-by-content");
    let array = r#"[{"id": "c"}, {"id": "d"}]"#;
    for (name, bytes) in [
        ("1.json", gz(EVENTS.as_bytes())),
        ("2.ndjson", zst(EVENTS.as_bytes())),
        ("3.json", gz(array.as_bytes())),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        for mapped in [true, false] {
            let mut src = EventSource::new(&[Input::Path(path.clone())]).unwrap();
            if !mapped {
                src = src.without_mmap();
            }
            let (r, _) = run(src);
            assert!(
                r.malformed.is_empty() && r.errors.is_empty(),
                "{name}: {r:?}"
            );
            let got: Vec<&str> = r.events.iter().map(|(_, _, v)| v.as_str()).collect();
            let want = if name == "3.json" {
                ["c", "d"]
            } else {
                ["a", "b"]
            };
            assert_eq!(got, want, "{name}, mapped: {mapped}");
        }
    }
}

#[cfg(unix)]
#[test]
fn a_named_pipe_is_read_and_its_compression_told_by_content() {
    // `ruleq run <(zcat ...)` and `/dev/stdin` name pipes: they cannot be
    // mapped nor rewound after a look at their first bytes.
    if !Path::new("/proc/self/fd").exists() {
        // No /proc here: nothing to name a pipe by.
        return;
    }
    for bytes in [gz(EVENTS.as_bytes()), EVENTS.as_bytes().to_vec()] {
        let mut child = std::process::Command::new("cat")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || stdin.write_all(&bytes).unwrap());
        let stdout = child.stdout.take().unwrap();
        use std::os::fd::AsRawFd;
        let path = PathBuf::from(format!("/proc/self/fd/{}", stdout.as_raw_fd()));
        let (r, _) = run(EventSource::new(&[Input::Path(path)]).unwrap());
        writer.join().unwrap();
        child.wait().unwrap();
        assert!(r.malformed.is_empty() && r.errors.is_empty(), "{r:?}");
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
    let (mut r, _) = run(EventSource::new(&[Input::Path(dir.to_path_buf())]).unwrap());
    // The files are read merged, so each error comes when its file is
    // read that far: b's at once, a's at its broken end.
    r.errors.sort();
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
        run(EventSource::new(&[Input::Path(dir.to_path_buf()), Input::Path(extra)]).unwrap());
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

/// The events as (position, id) and malformed positions of `text` read
/// as a file (mapped and not: the same) and as a stream (as stdin is).
fn layout(name: &str, text: &str) -> (Vec<(Position, String)>, Vec<Position>) {
    let (r, stats) = run_text(name, text);
    assert_eq!(
        stats.units,
        stats.blank + stats.events + stats.malformed,
        "{text}"
    );
    let (s, _) =
        run(EventSource::from_reader("<stdin>", std::io::Cursor::new(text.to_string())).unwrap());
    let got = |r: &Run| {
        let events = r.events.iter().map(|(_, p, v)| (*p, v.clone())).collect();
        let bad = r.malformed.iter().map(|m| m.pos).collect();
        (events, bad)
    };
    assert_eq!(got(&r), got(&s), "file and stream differ: {text}");
    got(&r)
}

fn lines(ids: &[(u64, &str)]) -> Vec<(Position, String)> {
    ids.iter()
        .map(|(n, v)| (Position::Line(*n), v.to_string()))
        .collect()
}

/// What `jq . events.ndjson` writes: each event pretty-printed.
const PRETTY: &str = "{\n  \"id\": 1,\n  \"s\": \"{ [\"\n}\n{\n  \"id\": 2,\n  \"n\": {\n    \"a\": [1, {\"b\": null}]\n  }\n}\n\n{\"id\": 3} {\"id\": 4}\n";

#[test]
fn a_stream_of_pretty_printed_values_is_read_value_by_value() {
    let (events, bad) = layout("pretty", PRETTY);
    assert_eq!(events, lines(&[(1, "1"), (5, "2"), (12, "3"), (12, "4")]));
    assert!(bad.is_empty());
    // The event's text is the value as written, newlines and all.
    let mut src = EventSource::from_reader("x", std::io::Cursor::new(PRETTY)).unwrap();
    let Some(Ok(Item::Event(first))) = src.next_item() else {
        panic!("an event")
    };
    let end = PRETTY.find("}\n{").unwrap() + 1;
    assert_eq!(first.bytes, &PRETTY.as_bytes()[..end]);
    // With CRLF line ends and a byte-order mark, the same.
    let crlf = format!("\u{feff}{}", PRETTY.replace('\n', "\r\n"));
    assert_eq!(layout("pretty-crlf", &crlf).0, events);
    // Compressed, the same.
    let dir = temp_dir("pretty-gz");
    let path = dir.join("events.json.gz");
    std::fs::write(&path, gz(PRETTY.as_bytes())).unwrap();
    let (r, _) = run(EventSource::new(&[Input::Path(path)]).unwrap());
    let got: Vec<_> = r.events.iter().map(|(_, p, v)| (*p, v.clone())).collect();
    assert_eq!(got, events);
}

#[test]
fn a_first_line_that_is_one_value_makes_ndjson() {
    // An array on the first line, events after it: NDJSON whose first
    // line is not an event (the projection says so), the rest read.
    let mut text = String::from("[1,2]\n\n");
    for i in 0..28 {
        text.push_str(&format!("{{\"id\": {i}}}\n"));
    }
    let (r, stats) = run_text("first-array", &text);
    assert_eq!(r.events.len(), 28);
    assert_eq!(r.events[0].1, Position::Line(3));
    assert_eq!(bad(&r), vec![1]);
    assert_eq!((stats.units, stats.blank, stats.events), (30, 1, 29));
    // An array alone on its one line (trailing blank lines allowed) is an
    // array; so is one that spans lines, or has more on its first line.
    for text in [
        "[{\"id\": 1}, {\"id\": 2}]",
        "  [{\"id\": 1}, {\"id\": 2}]  \r\n\n  \n",
        "[{\"id\": 1},\n {\"id\": 2}]\n",
        "[{\"id\": 1}, {\"id\": 2}\n]",
    ] {
        let (events, bad) = layout("one-line-array", text);
        let want: Vec<_> = [(1, "1"), (2, "2")]
            .iter()
            .map(|(n, v)| (Position::Element(*n), v.to_string()))
            .collect();
        assert_eq!(events, want, "{text:?}");
        assert!(bad.is_empty(), "{text:?}");
    }
    // A scalar or a bad line first is no array: a line, then lines.
    let (events, bad) = layout("first-scalar", "42\n{\"id\": 1}\n");
    assert_eq!(events, lines(&[(2, "1")]));
    assert_eq!(bad, [Position::Line(1)]);
}

#[test]
fn a_bad_value_in_a_stream_resumes_at_the_next_line_starting_an_object() {
    let text = "{\n  \"id\": 1\n}\n{\n  \"id\": 2,\n  oops\n}\n{\n  \"id\": 3\n}\ngarbage {\"id\": \"lost\"}\n{\"id\": 4} ]\n{\"id\": 5, \"x\": [}\n{\"id\": 6}\n{\"id\": 7";
    let (r, stats) = run_text("stream-bad", text);
    assert_eq!(ids(&r), [(1, "1"), (8, "3"), (12, "4"), (14, "6")]);
    // Each bad start once: the value at 4, the garbage line, the stray
    // `]`, the mismatched bracket, and the value the input ends inside.
    assert_eq!(bad(&r), [4, 11, 12, 13, 15]);
    assert_eq!(stats.malformed, 5);
    assert_eq!(stats.units, stats.events + stats.malformed);
    assert!(
        r.malformed[0]
            .to_string()
            .contains("stream-bad.ndjson:4: malformed event: expected a key, found `o` at line 6"),
        "{}",
        r.malformed[0]
    );
    // A value broken off by a line starting an object: read from there.
    let (events, bad) = layout("stream-cut", "{\n  \"id\": 1,\n{\n  \"id\": 2\n}\n");
    assert_eq!(events, lines(&[(3, "2")]));
    assert_eq!(bad, [Position::Line(1)]);
    // A line starting an object inside the bad value, before the error.
    let (events, bad) = layout("stream-inner", "{\"a\": 1\n{\"id\": 2}\n}\n{\"id\": 3}\n");
    assert_eq!(events, lines(&[(2, "2"), (4, "3")]));
    assert_eq!(bad, [Position::Line(1), Position::Line(3)]);
}

#[test]
fn a_bad_array_element_is_skipped_and_the_next_ones_read() {
    let text = "[\n  {\"id\": 1},\n  {\"id\": 2, \"x\": tru},\n  {\"id\": 3, \"y\": [1 2]},\n  {\"id\": 4} {\"id\": 5},\n  {\"id\": 6}\n]\n";
    let (r, stats) = run_text("array-bad", text);
    // Element 5 follows 4 without a comma: it is skipped.
    assert_eq!(ids(&r), [(1, "1"), (4, "4"), (6, "6")]);
    assert_eq!(bad(&r), [2, 3, 5]);
    assert_eq!((stats.units, stats.events, stats.malformed), (6, 3, 3));
    assert!(
        r.malformed[2]
            .message
            .contains("expected `,` or `]` after element 4, found '{' at line 5"),
        "{}",
        r.malformed[2]
    );
}

/// Reads `text` with a limit on the event size; events by id, malformed
/// positions and messages.
fn limited(name: &str, text: &str, max: usize) -> (Vec<String>, Vec<(Position, String)>) {
    let dir = temp_dir(name);
    let path = dir.join("limit.ndjson");
    std::fs::write(&path, text).unwrap();
    let source = |mmap: bool| {
        let s = EventSource::new(&[Input::Path(path.clone())]).unwrap();
        let s = if mmap { s } else { s.without_mmap() };
        s.with_max_event_bytes(max)
    };
    let stream = EventSource::from_reader("s", std::io::Cursor::new(text.to_string()))
        .unwrap()
        .with_max_event_bytes(max);
    let mut all = Vec::new();
    for src in [source(true), source(false), stream] {
        let (r, stats) = run(src);
        assert_eq!(stats.units, stats.blank + stats.events + stats.malformed);
        let ids = r.events.iter().map(|(_, _, v)| v.clone()).collect();
        let bad = r
            .malformed
            .iter()
            .map(|m| (m.pos, m.message.clone()))
            .collect();
        all.push((ids, bad));
    }
    assert!(all.windows(2).all(|w| w[0] == w[1]), "{all:?}");
    all.pop().unwrap()
}

#[test]
fn events_longer_than_the_limit_are_malformed_and_skipped() {
    let at = "{\"id\": \"aaaaaa\"}"; // 16 bytes
    let over = "{\"id\": \"aaaaaaa\"}"; // 17 bytes
    let message = "event of 17 bytes exceeds the limit of 16 bytes (--max-event-bytes)";
    // NDJSON (CRLF line ends do not count).
    let (ids, bad) = limited("limit1", &format!("{at}\r\n{over}\r\n{{\"id\": 3}}\n"), 16);
    assert_eq!(ids, ["aaaaaa", "3"]);
    assert_eq!(bad, [(Position::Line(2), message.to_string())]);
    // The first line over the limit.
    let (ids, bad) = limited("limit2", &format!("{over}\n{at}\n"), 16);
    assert_eq!(ids, ["aaaaaa"]);
    assert_eq!(bad, [(Position::Line(1), message.to_string())]);
    // Array elements.
    let (ids, bad) = limited("limit3", &format!("[\n{at},\n{over},\n{at}\n]"), 16);
    assert_eq!(ids, ["aaaaaa", "aaaaaa"]);
    assert_eq!(bad, [(Position::Element(2), message.to_string())]);
    // A one-line array longer than the limit is still split.
    let (ids, bad) = limited("limit4", &format!("[{at},{over},{at}]"), 16);
    assert_eq!(ids, ["aaaaaa", "aaaaaa"]);
    assert_eq!(bad, [(Position::Element(2), message.to_string())]);
    // Stream values.
    let (ids, bad) = limited("limit5", &format!("{at} {over}\n{{\n\"id\": 3}}"), 16);
    assert_eq!(ids, ["aaaaaa", "3"]);
    assert_eq!(bad, [(Position::Line(1), message.to_string())]);
}

#[test]
fn a_line_longer_than_the_read_buffer_is_skipped_past_the_limit() {
    // 3 MiB: gathered across buffer refills, not held whole.
    let long = format!("{{\"id\": \"{}\"}}", "x".repeat(3 << 20));
    let text = format!("{{\"id\": 1}}\n{long}\n{{\"id\": 2}}\n");
    let (ids, bad) = limited("limit6", &text, 2 << 20);
    assert_eq!(ids, ["1", "2"]);
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].0, Position::Line(2));
    assert!(bad[0].1.contains(&format!("event of {} bytes", long.len())));
}

/// NDJSON lines of `n` events with ids from `first`, each `pad` bytes
/// long or so.
fn padded_events(first: usize, n: usize, pad: usize) -> String {
    (first..first + n)
        .map(|i| format!("{{\"id\": {i}, \"pad\": \"{}\"}}\n", "x".repeat(pad)))
        .collect()
}

#[test]
fn a_mapped_file_truncated_while_read_ends_with_an_error_not_sigbus() {
    let dir = temp_dir("truncated");
    let path = dir.join("shrinks.ndjson");
    // About 10 MiB: three map windows.
    let text = padded_events(0, 10_000, 1000);
    std::fs::write(&path, &text).unwrap();
    let mut src = EventSource::new(&[Input::Path(path.clone())]).unwrap();
    assert!(matches!(src.next_item(), Some(Ok(Item::Event(_)))));
    // Cut after the first window (its pages stay readable): the next
    // window is not mapped over the lost bytes.
    let cut = (5 << 20) as u64;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(cut)
        .unwrap();
    let (mut events, mut errors) = (1, Vec::new());
    while let Some(item) = src.next_item() {
        match item {
            Ok(Item::Event(_)) => events += 1,
            Ok(Item::Malformed(m)) => panic!("{m}"),
            Err(e) => errors.push(e.to_string()),
        }
    }
    assert_eq!(errors.len(), 1, "{errors:?}");
    let want = format!(
        "{}: truncated to {cut} bytes while being read (was {} when opened), at byte {}; use --no-mmap",
        path.display(),
        text.len(),
        4 << 20
    );
    assert!(errors[0].starts_with(&want), "{}", errors[0]);
    // The events of the first window were read; none after the cut.
    assert!((4000..5000).contains(&events), "{events}");
}

#[test]
fn bytes_appended_after_a_file_is_opened_are_not_read() {
    for mmap in [true, false] {
        let dir = temp_dir(&format!("appended-{mmap}"));
        let path = dir.join("grows.ndjson");
        std::fs::write(&path, padded_events(0, 3, 10)).unwrap();
        let src = EventSource::new(&[Input::Path(path.clone())]).unwrap();
        let mut src = if mmap { src } else { src.without_mmap() };
        let Some(Ok(Item::Event(first))) = src.next_item() else {
            panic!("an event");
        };
        assert_eq!(first.pos, Position::Line(1));
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(padded_events(3, 3, 10).as_bytes()).unwrap();
        let (r, stats) = run(src);
        assert_eq!(ids(&r), [(2, "1"), (3, "2")], "mmap {mmap}");
        assert_eq!(stats.events, 3);
    }
}

/// Writes `lines` (NDJSON) to `name` in `dir`.
fn write_lines(dir: &Path, name: &str, lines: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn several_files_are_read_merged_by_time() {
    let dir = temp_dir("merge");
    let a = write_lines(
        &dir,
        "a.ndjson",
        &[
            r#"{"id": "a1", "@timestamp": "2026-03-01T10:00:01Z"}"#,
            r#"{"id": "a2", "@timestamp": "2026-03-01T10:00:03Z"}"#,
            r#"{"id": "a3", "@timestamp": "2026-03-01T10:00:05Z"}"#,
        ],
    );
    // Epoch milliseconds, a time equal to a's (a is named first), and an
    // event without a time (it keeps its place after b1).
    let b = write_lines(
        &dir,
        "b.ndjson",
        &[
            r#"{"id": "b1", "@timestamp": 1772359202000}"#,
            r#"{"id": "b2"}"#,
            r#"{"id": "b3", "@timestamp": "2026-03-01T10:00:03Z"}"#,
            r#"{"id": "b4", "@timestamp": "2026-03-01T10:00:04.5+00:00"}"#,
        ],
    );
    // A pretty-printed stream, as a search hit with the time in _source.
    let c = dir.join("c.json");
    std::fs::write(
        &c,
        "{\n  \"_id\": \"c1\",\n  \"_source\": {\"id\": \"c1\", \"@timestamp\": \"2026-03-01T10:00:00Z\"}\n}\n",
    )
    .unwrap();
    // A file without times at all goes first, in its own order.
    let d = write_lines(&dir, "d.ndjson", &[r#"{"id": "d1"}"#, r#"{"id": "d2"}"#]);
    let inputs: Vec<Input> = [&b, &a, &c, &d]
        .iter()
        .map(|p| Input::Path(p.to_path_buf()))
        .collect();
    let src = EventSource::new(&inputs).unwrap();
    let names: Vec<String> = src
        .files()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["b.ndjson", "a.ndjson", "c.json", "d.ndjson"]);
    let (r, stats) = run(src);
    let got: Vec<&str> = r.events.iter().map(|(_, _, v)| v.as_str()).collect();
    assert_eq!(
        got,
        ["d1", "d2", "c1", "a1", "b1", "b2", "b3", "a2", "b4", "a3"]
    );
    assert_eq!((stats.files, stats.events), (4, 10));
    // Each event keeps its own file's index and position.
    let mut src = EventSource::new(&inputs).unwrap();
    let mut seen = Vec::new();
    while let Some(Ok(Item::Event(ev))) = src.next_item() {
        seen.push((ev.file, ev.pos.number()));
    }
    assert_eq!(seen[..4], [(3, 1), (3, 2), (2, 1), (1, 1)]);
    assert_eq!(seen[4..7], [(0, 1), (0, 2), (0, 3)]);
}

#[test]
fn deeply_nested_values_are_malformed_and_reading_goes_on() {
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let text = format!("{{\"a\": {deep}}}\n{{\"id\": 1}}\n");
    let (events, malformed) = layout("deep", &format!("{{\n{}", &text[1..]));
    assert_eq!(events, lines(&[(3, "1")]));
    assert_eq!(malformed, [Position::Line(1)]);
    let (r, _) = run_text("deep-array", &format!("[{deep}, {{\"id\": 2}}]"));
    assert_eq!(ids(&r), [(2, "2")]);
    assert_eq!(bad(&r), [1]);
}

#[test]
fn a_first_line_longer_than_the_read_buffer_is_told_apart_whole() {
    // 3 MiB first lines: an NDJSON event, and a one-line array.
    let big = format!("{{\"id\": \"big\", \"pad\": \"{}\"}}", "x".repeat(3 << 20));
    let (events, bad) = layout("big-first", &format!("{big}\n{{\"id\": 2}}\n"));
    assert_eq!(events, lines(&[(1, "big"), (2, "2")]));
    assert!(bad.is_empty());
    let (events, bad) = layout("big-array", &format!("[{big}, {{\"id\": 2}}]\n\n"));
    let want: Vec<_> = [(1, "big"), (2, "2")]
        .iter()
        .map(|(n, v)| (Position::Element(*n), v.to_string()))
        .collect();
    assert_eq!(events, want);
    assert!(bad.is_empty());
}

#[test]
fn files_are_merged_by_time_up_to_the_open_file_limit() {
    use ruleq::event::read::MAX_OPEN;
    // File i holds one event whose time falls as i grows: merged, the
    // files come out last one first. Past MAX_OPEN files the next group
    // is merged after the first.
    for files in [MAX_OPEN, MAX_OPEN + 1] {
        let dir = temp_dir(&format!("open-{files}"));
        for i in 0..files {
            let text = format!(
                "{{\"@timestamp\":{},\"id\":{i}}}\n",
                1_700_000_000_000u64 + (files - i) as u64 * 1000
            );
            std::fs::write(dir.join(format!("f{i:03}.ndjson")), text).unwrap();
        }
        let (run, stats) = run(EventSource::new(&[Input::Path(dir.to_path_buf())]).unwrap());
        let order: Vec<usize> = run
            .events
            .iter()
            .map(|(_, _, id)| id.parse().unwrap())
            .collect();
        let mut want: Vec<usize> = (0..files.min(MAX_OPEN)).rev().collect();
        want.extend(MAX_OPEN..files);
        assert_eq!(order, want, "{files} files");
        assert_eq!(stats.files, files as u64);
        drop(dir);
    }
}
