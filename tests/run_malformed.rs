//! `ruleq run` over event files with malformed lines mixed in, at every
//! thread count and every way of reading: no good event after a bad one is
//! lost, every line is accounted for, and the output is that of the same
//! events without the bad lines.
//!
//! Workers take 1,024 lines at a time and evaluate them 64 at a time, so the
//! layouts put whole malformed chunks at the start, middle and end of a
//! batch, several chunks in a row, blocks one short of and one past a chunk,
//! and a bad line between every two good ones.

mod common;

use common::ruleq_stdin as ruleq;
use std::io::Write;
use std::path::Path;
use std::process::Output;

const NOW: &str = "2026-03-01T10:00:00Z";

/// A well-formed event no seed rule alerts on.
const FILLER: &str =
    r#"{"@timestamp":"2024-05-01T09:00:00Z","event":{"category":"file"},"host":{"name":"quiet"}}"#;

/// A line that is not JSON.
const BAD: &str = r#"{"bad"#;

fn example_lines() -> Vec<String> {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/telnet-events.ndjson"),
    )
    .unwrap()
    .lines()
    .map(str::to_string)
    .collect()
}

/// One input layout: its lines and how many of them are malformed.
struct Layout {
    name: &'static str,
    lines: Vec<String>,
    bad: usize,
}

/// `good` filler lines, `bad` malformed ones, then the example events.
fn block(name: &'static str, good: usize, bad: usize) -> Layout {
    let mut lines = vec![FILLER.to_string(); good];
    lines.extend(std::iter::repeat_n(BAD.to_string(), bad));
    lines.extend(example_lines());
    Layout { name, lines, bad }
}

fn layouts() -> Vec<Layout> {
    let mut every_other = vec![FILLER.to_string()];
    for line in example_lines() {
        every_other.push(BAD.to_string());
        every_other.push(line);
    }
    let n = example_lines().len();
    // Bad lines between, then a malformed block ending the file.
    let mut tail = block("bad block at the end of the file", 1, 0);
    tail.lines.extend(std::iter::repeat_n(BAD.to_string(), 130));
    tail.bad = 130;
    // The last event ends a whole batch: the bad lines after it come in a
    // batch of no event.
    let mut after_batch = Layout {
        name: "a bad block right after a whole batch of events",
        lines: vec![FILLER.to_string(); 1024 - n],
        bad: 40,
    };
    after_batch.lines.extend(example_lines());
    after_batch
        .lines
        .extend(std::iter::repeat_n(BAD.to_string(), 40));
    vec![
        // Line 1 is good (so the file reads as NDJSON); the rest of the
        // first chunk and the whole second one are bad.
        block("70 bad lines after the first", 1, 70),
        block("a whole chunk after one good chunk", 64, 64),
        block("a whole chunk starting the second batch", 1024, 64),
        block("a whole chunk in the middle of a batch", 512, 64),
        block("a whole chunk ending the first batch", 960, 64),
        block("three chunks in a row", 64, 192),
        block("a whole batch of bad lines", 1024, 1024),
        block("63 bad lines", 64, 63),
        block("65 bad lines", 64, 65),
        Layout {
            name: "a bad line between every two good ones",
            lines: every_other,
            bad: n,
        },
        tail,
        after_batch,
    ]
}

fn gzip(text: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(text).unwrap();
    enc.finish().unwrap()
}

/// The summary line's counts: (events read, malformed, alert documents).
fn counts(out: &Output) -> (u64, u64, u64) {
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.contains(" events read ("))
        .unwrap_or_else(|| panic!("no summary in {err}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let num = |w: &str| w.trim_start_matches('(').parse::<u64>().unwrap();
    (num(words[0]), num(words[3]), num(words[5]))
}

/// `ruleq run` in `mode` (`--schedule` or one execution at a fixed time)
/// on `threads` threads, writing NDJSON.
fn run_args<'a>(mode: Option<&'a str>, threads: &'a str) -> Vec<&'a str> {
    let mut args = vec!["run", "--format", "ndjson", "--threads", threads];
    match mode {
        Some(mode) => args.push(mode),
        // `--schedule` stamps alerts with each execution's time instead.
        None => args.extend(["--now", NOW]),
    }
    args
}

#[test]
fn a_file_of_malformed_lines_only_reports_and_counts_each() {
    let dir = std::env::temp_dir().join(format!("ruleq-run-all-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for n in [1usize, 3, 1500] {
        let text = vec![BAD; n].join("\n") + "\n";
        let plain = dir.join("bad.ndjson");
        std::fs::write(&plain, &text).unwrap();
        let plain = plain.to_str().unwrap();
        for threads in ["1", "2"] {
            for mode in [None, Some("--schedule")] {
                for stdin in [false, true] {
                    let mut args = run_args(mode, threads);
                    args.push(if stdin { "-" } else { plain });
                    let out = ruleq(&args, if stdin { text.as_bytes() } else { b"" });
                    let case =
                        format!("{n} bad lines, --threads {threads}, {mode:?}, stdin {stdin}");
                    assert_eq!(out.status.code(), Some(0), "{case}");
                    assert_eq!(counts(&out), (n as u64, n as u64, 0), "{case}");
                    let err = String::from_utf8_lossy(&out.stderr);
                    let first = if stdin {
                        "<stdin>:1: malformed event"
                    } else {
                        "bad.ndjson:1: malformed event"
                    };
                    assert!(err.contains(first), "{case}: line 1 not reported in {err}");
                    if n == 3 {
                        assert!(
                            err.contains(":3: malformed event"),
                            "{case}: line 3 not reported in {err}"
                        );
                    }
                }
            }
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn malformed_lines_never_hide_the_good_events_after_them() {
    let dir = std::env::temp_dir().join(format!("ruleq-run-malformed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for mode in [None, Some("--schedule")] {
        // What the example events alone give in this mode.
        let mut args = run_args(mode, "1");
        args.push("examples/telnet-events.ndjson");
        let clean = ruleq(&args, b"");
        assert_eq!(clean.status.code(), Some(0));
        let want_alerts = counts(&clean).2;
        assert!(want_alerts > 0, "{mode:?}: the example gives no alerts");
        for layout in layouts() {
            let text = layout.lines.join("\n") + "\n";
            let plain = dir.join("events.ndjson");
            let packed = dir.join("events.ndjson.gz");
            std::fs::write(&plain, &text).unwrap();
            std::fs::write(&packed, gzip(text.as_bytes())).unwrap();
            let (plain, packed) = (plain.to_str().unwrap(), packed.to_str().unwrap());
            for threads in ["1", "2", "3"] {
                for (read, file, stdin) in [
                    ("mmap", plain, false),
                    ("--no-mmap", plain, false),
                    (".gz", packed, false),
                    ("stdin", "-", true),
                ] {
                    let mut args = run_args(mode, threads);
                    args.extend((read == "--no-mmap").then_some(read));
                    if !stdin {
                        args.push(file);
                    }
                    let input = if stdin { text.as_bytes() } else { b"" };
                    let out = ruleq(&args, input);
                    let case = format!("{}, {mode:?}, --threads {threads}, {read}", layout.name);
                    assert_eq!(out.status.code(), Some(0), "{case}");
                    assert_eq!(
                        counts(&out),
                        (layout.lines.len() as u64, layout.bad as u64, want_alerts),
                        "{case}"
                    );
                    assert!(out.stdout == clean.stdout, "{case}: not the clean output");
                }
            }
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A rule file like the seed KQL rule, with `query` as its query.
fn kql_rule(query: &str) -> String {
    let seed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("rules/command_and_control_telnet_port_activity.toml"),
    )
    .unwrap();
    let old = "event.category:(network or network_traffic) and network.transport:tcp and destination.port:23";
    assert!(seed.contains(old), "the seed rule changed");
    seed.replace(old, query)
}

/// A process event whose `process.args` holds `arrays` nested arrays
/// around "telnet": the event nests `arrays + 2` levels deep.
fn nested_args(arrays: usize) -> String {
    format!(
        r#"{{"@timestamp":"2024-05-01T10:00:00Z","event":{{"category":"process"}},"process":{{"args":{}"telnet"{}}}}}"#,
        "[".repeat(arrays),
        "]".repeat(arrays)
    )
}

#[test]
fn events_nested_past_the_limit_are_malformed_at_any_depth() {
    let dir = std::env::temp_dir().join(format!("ruleq-run-deep-{}", std::process::id()));
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    // The rule reads the deep field, so every reading path descends into it.
    std::fs::write(rules.join("args.toml"), kql_rule("process.args:telnet")).unwrap();
    let events = dir.join("events.ndjson");
    let limit = ruleq::event::MAX_EVENT_DEPTH as usize;
    for (arrays, read) in [
        (limit - 2, true),
        (limit - 1, false),
        (10_000, false),
        (50_000, false),
    ] {
        let text = format!("{}\n{}\n", nested_args(1), nested_args(arrays));
        std::fs::write(&events, text).unwrap();
        let case = format!("{} levels", arrays + 2);
        for threads in ["1", "2"] {
            let out = ruleq(
                &[
                    "run",
                    "-r",
                    rules.to_str().unwrap(),
                    "--format",
                    "ndjson",
                    "--now",
                    NOW,
                    "--threads",
                    threads,
                    events.to_str().unwrap(),
                ],
                b"",
            );
            assert_eq!(
                out.status.code(),
                Some(0),
                "{case}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let alerts: Vec<serde_json::Value> = String::from_utf8(out.stdout.clone())
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            let want = if read { 2 } else { 1 };
            assert_eq!(
                counts(&out),
                (2, 2 - want, want),
                "{case}, --threads {threads}"
            );
            // An alert keeps the event's own fields, the deep one included.
            for alert in &alerts {
                assert!(alert["process"]["args"].is_array(), "{case}: {alert}");
            }
            let err = String::from_utf8_lossy(&out.stderr);
            if !read {
                assert!(
                    err.contains(&format!(
                        "events.ndjson:2: malformed event: nested deeper than {limit} levels"
                    )),
                    "{case}: {err}"
                );
            }
        }
        let out = ruleq(
            &[
                "query",
                "--kql",
                "process.args:telnet",
                events.to_str().unwrap(),
            ],
            b"",
        );
        assert_eq!(out.status.code(), Some(0), "{case}");
        let lines = String::from_utf8_lossy(&out.stdout).lines().count();
        assert_eq!(lines, if read { 2 } else { 1 }, "{case}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `n` malformed lines in a file named `name` after one good line, then
/// the example events.
fn many_bad(dir: &Path, name: &str, n: usize) -> String {
    let path = dir.join(name);
    let mut lines = vec![FILLER.to_string()];
    lines.extend(std::iter::repeat_n(BAD.to_string(), n));
    lines.extend(example_lines());
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn malformed_reports_are_bounded_per_file_and_strict_fails() {
    let dir = std::env::temp_dir().join(format!("ruleq-run-bounded-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let a = many_bad(&dir, "a.ndjson", 21);
    let b = many_bad(&dir, "b.ndjson", 20);
    for threads in ["1", "2"] {
        let args = [
            "run",
            "--now",
            NOW,
            "--format",
            "ndjson",
            "--threads",
            threads,
        ];
        let out = ruleq(&[&args[..], &[&a, &b]].concat(), b"");
        let err = String::from_utf8_lossy(&out.stderr);
        let shown = |file: &str| {
            err.lines()
                .filter(|l| l.contains(&format!("{file}:")) && l.contains("malformed event:"))
                .count()
        };
        assert_eq!((shown("a.ndjson"), shown("b.ndjson")), (20, 20), "{err}");
        // The first 20 of a.ndjson in line order: lines 2 to 21.
        let lines: Vec<&str> = err.lines().filter(|l| l.contains("a.ndjson:")).collect();
        assert!(lines[0].contains("a.ndjson:2: malformed event"), "{err}");
        assert!(lines[19].contains("a.ndjson:21: malformed event"), "{err}");
        assert!(
            err.contains("a.ndjson: 1 more malformed events not shown (21 in this file)"),
            "{err}"
        );
        assert!(!err.contains("b.ndjson: "), "{err}");
        assert_eq!(counts(&out).1, 41, "{err}");
        assert_eq!(out.status.code(), Some(0));
        // --strict: the same output, then exit 2.
        let strict = ruleq(&[&args[..], &["--strict", &a, &b]].concat(), b"");
        assert_eq!(strict.status.code(), Some(2));
        assert!(strict.stdout == out.stdout);
        assert!(!strict.stdout.is_empty());
    }
    // A clean input passes --strict; --strict ranks before rule errors (3)
    // and --fail-on-alert (1).
    let clean = ruleq(
        &[
            "run",
            "--strict",
            "--fail-on-alert",
            "-q",
            "examples/telnet-events.ndjson",
        ],
        b"",
    );
    assert_eq!(clean.status.code(), Some(1));
    let both = ruleq(&["run", "--strict", "--fail-on-alert", "-q", &a], b"");
    assert_eq!(both.status.code(), Some(2));
    // ruleq query: the same bound, the same --strict.
    let query = ["query", "--kql", "destination.port:23"];
    let out = ruleq(&[&query[..], &[a.as_str(), b.as_str()]].concat(), b"");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.lines()
            .filter(|l| l.contains("malformed event:"))
            .count(),
        40,
        "{err}"
    );
    assert!(
        err.contains("a.ndjson: 1 more malformed events not shown (21 in this file)"),
        "{err}"
    );
    assert!(err.contains("41 malformed events skipped"), "{err}");
    assert_eq!(out.status.code(), Some(0));
    let strict = ruleq(&[&query[..], &["--strict", a.as_str()]].concat(), b"");
    assert_eq!(strict.status.code(), Some(2));
    assert!(!strict.stdout.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}
