//! The README's threshold and new_terms example, run as a user runs it:
//! the bundled rules over the bundled telnet events, with and
//! without the history file, at the default thread count and at one
//! thread, and over the same events as a pretty-printed, gzipped array
//! with malformed lines mixed in.

mod common;

use common::{ruleq, stderr, stdout};
use flate2::write::GzEncoder;
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::Write;

const COMMAND: &str =
    "cargo run -q -- run examples/telnet-events.ndjson --history examples/telnet-history.ndjson";

/// Runs `ruleq run` on the bundled rules with `args`; the threshold and
/// new_terms alerts.
fn run(args: &[&str]) -> (Vec<Value>, String) {
    let mut all = vec!["run", "--format", "ndjson", "--now", "2026-03-02T00:00:00Z"];
    all.extend_from_slice(args);
    let out = ruleq(&all);
    assert!(out.status.success(), "{}", stderr(&out));
    let alerts = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("an alert a line"))
        .filter(|a| {
            let kind = &a["kibana.alert.rule.type"];
            kind == "threshold" || kind == "new_terms"
        })
        .collect();
    (alerts, stderr(&out))
}

/// The new_terms alerts' pairs of hosts.
fn new_pairs(alerts: &[Value]) -> BTreeSet<(String, String)> {
    alerts
        .iter()
        .filter_map(|a| a["kibana.alert.new_terms"].as_array())
        .map(|t| (t[0].as_str().unwrap().into(), t[1].as_str().unwrap().into()))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn the_readme_shows_the_command() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    assert!(readme.contains(COMMAND), "README lacks `{COMMAND}`");
    let out = ruleq(&["check", "rules"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("0 errors, 0 warnings"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn one_burst_and_four_new_pairs_with_history() {
    let (alerts, err) = run(&[
        "examples/telnet-events.ndjson",
        "--history",
        "examples/telnet-history.ndjson",
    ]);
    assert_eq!(alerts.len(), 5, "{err}");
    let bursts: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["kibana.alert.rule.type"] == "threshold")
        .collect();
    assert_eq!(bursts.len(), 1);
    let burst = bursts[0];
    assert_eq!(burst["source.ip"], "10.1.2.15");
    assert_eq!(burst["@timestamp"], "2026-03-01T09:05:00.000Z");
    assert_eq!(burst["kibana.alert.threshold_result"]["count"], 3);
    assert_eq!(
        burst["kibana.alert.threshold_result"]["from"],
        "2026-03-01T09:00:02.000Z"
    );
    assert_eq!(
        burst["kibana.alert.original_time"],
        "2026-03-01T09:01:31.000Z"
    );
    assert_eq!(
        new_pairs(&alerts),
        pairs(&[
            ("10.1.2.15", "198.51.99.7"),
            ("10.1.2.15", "198.51.99.9"),
            ("10.1.4.9", "198.51.99.7"),
            ("fd00::15", "2a00:1450:4001:80b::200e"),
        ])
    );
    assert!(
        err.contains("history: 2 events read (0 malformed) from --history"),
        "{err}"
    );
    assert!(
        err.contains("2 threshold and new_terms rules ran their schedule's executions"),
        "{err}"
    );
    // The other rules' 15 documents, and these 5.
    assert!(
        err.contains("28 events read (0 malformed), 20 alert documents"),
        "{err}"
    );
}

#[test]
fn without_history_the_pairs_seen_before_are_new_too() {
    let (alerts, err) = run(&["examples/telnet-events.ndjson"]);
    assert_eq!(alerts.len(), 7, "{err}");
    let got = new_pairs(&alerts);
    assert!(got.contains(&("10.1.2.15".into(), "10.1.2.40".into())));
    assert!(got.contains(&("127.0.0.1".into(), "127.0.0.1".into())));
    assert!(err.contains("had a history window reaching before the first event"));
}

#[test]
fn thread_counts_and_file_layouts_give_the_same_alerts() {
    let args = [
        "examples/telnet-events.ndjson",
        "--history",
        "examples/telnet-history.ndjson",
    ];
    let (default, _) = run(&args);
    let mut one = args.to_vec();
    one.extend(["--threads", "1"]);
    let (single, _) = run(&one);
    assert_eq!(default, single);

    // The same events as a pretty-printed array, gzipped, named `.json`,
    // with malformed elements among them, and shuffled in pairs.
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("rule-types-layouts");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string("examples/telnet-events.ndjson").unwrap();
    let mut events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for pair in events.chunks_mut(2) {
        pair.reverse();
    }
    let mut pretty = String::from("[\n");
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            pretty.push_str(",\n");
        }
        pretty.push_str(&serde_json::to_string_pretty(e).unwrap());
        if i % 9 == 4 {
            pretty.push_str(",\n\"not an event\"");
        }
    }
    pretty.push_str("\n]\n");
    let path = dir.join("events.json");
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(pretty.as_bytes()).unwrap();
    std::fs::write(&path, gz.finish().unwrap()).unwrap();
    let path = path.to_str().unwrap();
    for threads in ["1", "2"] {
        let (alerts, err) = run(&[
            path,
            "--history",
            "examples/telnet-history.ndjson",
            "--threads",
            threads,
        ]);
        assert!(err.contains("31 events read (3 malformed)"), "{err}");
        // Alert ids hold the event's file and place: compare what the
        // rules found.
        assert_eq!(new_pairs(&alerts), new_pairs(&default), "{err}");
        let count = |a: &[Value]| {
            a.iter()
                .filter(|a| a["kibana.alert.rule.type"] == "threshold")
                .map(|a| a["kibana.alert.threshold_result"].clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(count(&alerts), count(&default), "{err}");
    }
}
