//! `ruleq run` on input out of time order: an event taken out of order may
//! cost a missed alert (reported), never a false one. `ruleq query`, which
//! orders all of its input first, is the reference.

mod common;

use common::ruleq_stdin as ruleq;
use std::path::Path;

const QUERY: &str = r#"sequence by host.id with maxspan=5m [any where event.kind=="alert"] ![any where event.category in ("file","process")]"#;

/// A folder holding one EQL rule with `query`, removed when dropped.
struct Rules(std::path::PathBuf);

impl Rules {
    fn eql(tag: &str, query: &str) -> Rules {
        let dir = std::env::temp_dir().join(format!("ruleq-order-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let seed = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("rules/command_and_control_telnet_port_activity.toml"),
        )
        .unwrap();
        let edits = [
            ("language = \"kuery\"", "language = \"eql\"".to_string()),
            ("type = \"query\"", "type = \"eql\"".to_string()),
            (
                "event.category:(network or network_traffic) and network.transport:tcp and destination.port:23",
                query.to_string(),
            ),
        ];
        let mut rule = seed;
        for (from, to) in edits {
            assert!(rule.contains(from), "the seed rule has no {from:?}");
            rule = rule.replace(from, &to);
        }
        std::fs::write(dir.join("rule.toml"), rule).unwrap();
        Rules(dir)
    }

    /// Sequences `ruleq run` alerts on (shell alerts), at `threads`.
    fn sequences(&self, events: &str, threads: &str) -> (usize, String) {
        let dir = self.0.to_str().unwrap();
        let out = ruleq(
            &["run", "-r", dir, "--format", "ndjson", "--threads", threads],
            events,
        );
        assert_eq!(out.status.code(), Some(0));
        let shells = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter(|l| !l.contains("\"kibana.alert.building_block_type\""))
            .count();
        (shells, String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

impl Drop for Rules {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn event(time: &str, host: &str, what: &str) -> String {
    format!(r#"{{"@timestamp":"{time}","host":{{"id":"{host}"}},{what}}}"#) + "\n"
}

fn alert(time: &str, host: &str) -> String {
    event(time, host, r#""event":{"kind":"alert"}"#)
}

fn file(time: &str, host: &str) -> String {
    event(time, host, r#""event":{"category":"file"}"#)
}

/// `n` process events of host h2, all on 1 June (matching the missing step
/// for their own host only).
fn filler(n: usize) -> String {
    (0..n)
        .map(|i| {
            event(
                &format!("2024-06-01T00:00:{:02}.{:03}Z", i / 1000, i % 1000),
                "h2",
                r#""event":{"category":"process"}"#,
            )
        })
        .collect()
}

/// Sequences `ruleq query` finds (it sorts all its input first).
fn reference(events: &str) -> usize {
    let out = ruleq(&["query", "--eql", QUERY], events);
    assert_eq!(out.status.code(), Some(0));
    String::from_utf8(out.stdout).unwrap().lines().count()
}

#[test]
fn a_late_event_never_completes_a_sequence_a_later_event_cancels() {
    let rules = Rules::eql("late-first", QUERY);
    for n in [0, 1, 255, 256, 300, 2000] {
        // The fillers come first and are a later time: the alert and the file
        // event that cancels its sequence come after them, out of order.
        let events =
            filler(n) + &alert("2024-01-01T00:00:00Z", "h1") + &file("2024-01-01T00:00:01Z", "h1");
        assert_eq!(reference(&events), 0, "{n} fillers");
        for threads in ["1", "2"] {
            let (got, err) = rules.sequences(&events, threads);
            assert_eq!(got, 0, "{n} fillers, --threads {threads}: {err}");
        }
    }
}

#[test]
fn a_late_event_still_cancels_a_sequence_found_earlier() {
    let rules = Rules::eql("late-cancel", QUERY);
    for n in [0, 255, 256, 300, 2000] {
        // The alert comes in order; the fillers move time on past its
        // maxspan; the file event that cancels it comes last, out of order.
        let without = alert("2024-01-01T00:00:00Z", "h1") + &filler(n);
        let with = without.clone() + &file("2024-01-01T00:00:01Z", "h1");
        assert_eq!(
            (reference(&without), reference(&with)),
            (1, 0),
            "{n} fillers"
        );
        for threads in ["1", "2"] {
            assert_eq!(
                rules.sequences(&without, threads).0,
                1,
                "{n}, --threads {threads}"
            );
            let (got, err) = rules.sequences(&with, threads);
            assert_eq!(got, 0, "{n} fillers, --threads {threads}: {err}");
        }
    }
}

#[test]
fn a_late_event_takes_no_step_of_a_sequence_and_is_reported() {
    // A plain two-step sequence: the second event comes late (after 300
    // later events of another host) and a minute before the first:
    // Elasticsearch, ordering by time, finds no sequence; neither may run.
    let query = r#"sequence by host.id [any where event.kind=="alert"] [file where true]"#;
    let rules = Rules::eql("late-step", query);
    let later: String = (0..300)
        .map(|i| file(&format!("2024-01-01T00:02:00.{i:03}Z"), "h2"))
        .collect();
    let events = alert("2024-01-01T00:01:00Z", "h1") + &later + &file("2024-01-01T00:00:00Z", "h1");
    let out = ruleq(&["query", "--eql", query], &events);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 0);
    for threads in ["1", "2"] {
        let (got, err) = rules.sequences(&events, threads);
        assert_eq!(got, 0, "--threads {threads}");
        assert!(
            err.contains("1 events came more than 256 candidates out of time order"),
            "{err}"
        );
        assert!(err.contains("sort the input by time"), "{err}");
    }
}

#[test]
fn partial_sequences_past_the_limit_are_dropped_oldest_first_and_reported() {
    let query = "sequence by host.id [process where true] [network where true]";
    let rules = Rules::eql("partials", query);
    let hosts = 8;
    let mut events = String::new();
    for h in 0..hosts {
        let what = r#""event":{"category":"process"}"#;
        events += &event(&format!("2024-01-01T00:00:0{h}Z"), &format!("h{h}"), what);
    }
    for h in 0..hosts {
        let what = r#""event":{"category":"network"}"#;
        events += &event(&format!("2024-01-01T00:00:1{h}Z"), &format!("h{h}"), what);
    }
    let dir = rules.0.to_str().unwrap();
    // At the limit, every sequence; one past it, the two oldest partials
    // (down to three quarters of 7) are gone, and the note says so.
    for (limit, want, note) in [("8", 8, None), ("7", 6, Some(2))] {
        for threads in ["1", "2"] {
            let args = [
                "run",
                "-r",
                dir,
                "--format",
                "ndjson",
                "--threads",
                threads,
                "--max-partials",
                limit,
            ];
            let out = ruleq(&args, &events);
            assert_eq!(out.status.code(), Some(0));
            let stdout = String::from_utf8_lossy(&out.stdout);
            let shells = stdout
                .lines()
                .filter(|l| !l.contains("building_block_type"))
                .count();
            assert_eq!(shells, want, "--max-partials {limit}, --threads {threads}");
            let err = String::from_utf8_lossy(&out.stderr);
            match note {
                Some(n) => assert!(
                    err.contains(&format!("held more than {limit} partial sequences at once (--max-partials); the {n} oldest were dropped")),
                    "{err}"
                ),
                None => assert!(!err.contains("--max-partials"), "{err}"),
            }
            // The oldest hosts are the ones missing.
            assert_eq!(stdout.contains(r#""h0""#), note.is_none());
        }
        let out = ruleq(&["query", "--eql", query, "--max-partials", limit], &events);
        assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), want);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.contains("oldest were dropped"), note.is_some(), "{err}");
    }
    let zero = ruleq(&["run", "-r", dir, "--max-partials", "0"], &events);
    assert_eq!(zero.status.code(), Some(2));
}
