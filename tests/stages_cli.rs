//! `ruleq run --stage map|reduce|summary` through the binary, as the Spark
//! driver runs it: shares of a file on standard input (a malformed line
//! among them, reported at its line in the file), records shuffled into
//! reduces, alert documents compared with one `ruleq run` over the file;
//! the stages' figures add up to the run's summary, line for line.

mod common;

use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

const COMMON: &[&str] = &[
    "-q",
    "-r",
    "rules",
    "--indicators",
    "examples/telnet-indicators.ndjson",
    "--history",
    "examples/telnet-history.ndjson",
];

fn ruleq(args: &[&str], stdin: &str) -> (i32, String) {
    let (code, out, _) = ruleq_err(args, stdin);
    (code, out)
}

/// The summary without its time (`in 0.01 s (2900 events/s)`).
fn timeless(summary: &str) -> String {
    summary
        .lines()
        .map(|l| match (l.find(" in "), l.find(" events/s)")) {
            (Some(a), Some(b)) if l.contains(" events read (") => {
                format!("{}{}", &l[..a], &l[b + " events/s)".len()..])
            }
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ruleq_err(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ruleq"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn shares_on_stdin_give_one_runs_documents_and_counts() {
    let example = std::fs::read_to_string("examples/telnet-events.ndjson").unwrap();
    let mut lines: Vec<&str> = example.lines().collect();
    lines.insert(12, "{\"@timestamp\": broken");
    let text = lines.join("\n") + "\n";
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("stages-cli");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("telnet-events.ndjson");
    std::fs::write(&file, &text).unwrap();
    for mode in [&["--now", "2026-03-02T00:00:00Z"][..], &["--schedule"][..]] {
        let mut run: Vec<&str> = vec!["run", "--format", "ndjson"];
        run.extend(&COMMON[1..]);
        run.extend(mode);
        let path = file.to_str().unwrap();
        run.push(path);
        let (code, one, one_summary) = ruleq_err(&run, "");
        assert_eq!(code, 0);
        let report = format!("{path}:13: malformed event: ");
        assert!(one_summary.contains(&report), "{one_summary}");
        // Reported by the map stage; the summary has the rest.
        let one_summary: String = one_summary
            .lines()
            .filter(|l| !l.starts_with(&report))
            .map(|l| format!("{l}\n"))
            .collect();
        let mut figures = String::new();
        let mut texts: std::collections::HashMap<String, String> = Default::default();
        let mut one: Vec<&str> = one.lines().collect();
        one.sort();

        let mut docs: Vec<String> = Vec::new();
        let mut records = String::new();
        let (mut read, mut malformed) = (0, 0);
        for (first, share) in [(1, &lines[..9]), (10, &lines[9..20]), (21, &lines[20..])] {
            let first = first.to_string();
            let mut map: Vec<&str> = vec![
                "run",
                "--stage",
                "map",
                "--split-name",
                "telnet-events.ndjson",
                "--split-first-line",
                &first,
            ];
            map.extend(COMMON);
            map.extend(mode);
            map.push("-");
            let (code, out, err) = ruleq_err(&map, &(share.join("\n") + "\n"));
            assert_eq!(code, 0, "{out}");
            // The malformed line, at its line in the whole file.
            if first == "10" {
                assert!(
                    err.starts_with("telnet-events.ndjson:13: malformed event: "),
                    "{err}"
                );
            }
            for line in out.lines() {
                match line.split_once('\t') {
                    Some(("A", doc)) => docs.push(doc.to_string()),
                    Some(("R", _)) => {
                        records.push_str(line);
                        records.push('\n');
                    }
                    Some(("T", rest)) => {
                        let mut parts = rest.splitn(3, '\t');
                        let event = format!("{}\t{}", parts.next().unwrap(), parts.next().unwrap());
                        assert!(
                            texts.insert(event, line.to_string()).is_none(),
                            "a text twice"
                        );
                    }
                    Some(("S", stats)) => {
                        let s: Value = serde_json::from_str(stats).unwrap();
                        read += s["read"].as_u64().unwrap();
                        malformed += s["malformed"].as_u64().unwrap();
                        figures.push_str(line);
                        figures.push('\n');
                    }
                    _ => panic!("an untagged map line: {line}"),
                }
            }
        }
        assert_eq!((read, malformed), (29, 1), "{mode:?}");
        // Records in any order: reversed. The events whose text the
        // alerts show first, then only their texts go with the records.
        let mut reversed: String = records.lines().rev().map(|l| format!("{l}\n")).collect();
        let mut shown: Vec<&str> = vec!["run", "--stage", "shown"];
        shown.extend(COMMON);
        shown.extend(mode);
        shown.push("-");
        let (code, needed) = ruleq(&shown, &reversed);
        assert_eq!(code, 0);
        assert!(
            !needed.is_empty() && needed.lines().count() < texts.len(),
            "{mode:?}"
        );
        for line in needed.lines() {
            let event = line.strip_prefix("U\t").expect("a line of --stage shown");
            reversed.push_str(&texts[event]);
            reversed.push('\n');
        }
        let mut reduce: Vec<&str> = vec!["run", "--stage", "reduce"];
        reduce.extend(COMMON);
        reduce.extend(mode);
        reduce.push("-");
        let (code, out) = ruleq(&reduce, &reversed);
        assert_eq!(code, 0);
        for line in out.lines() {
            match line.strip_prefix("S\t") {
                Some(_) => {
                    figures.push_str(line);
                    figures.push('\n');
                }
                None => docs.push(line.to_string()),
            }
        }
        docs.sort();
        assert_eq!(docs.len(), one.len(), "{mode:?}");
        assert!(docs == one, "{mode:?}: documents differ");
        // Every stage's figures: one run's summary.
        let mut summary = vec!["run", "--stage", "summary", "--elapsed", "1", "-r", "rules"];
        summary.extend(mode);
        summary.push("-");
        let (code, _, printed) = ruleq_err(&summary, &figures);
        assert_eq!(code, 0, "{printed}");
        assert_eq!(timeless(&printed), timeless(&one_summary), "{mode:?}");
        assert!(printed.contains("history: ") && printed.contains("indicators: "));
    }
    // A record line that is no record is a usage error.
    let (code, _) = ruleq(
        &[
            "run",
            "-q",
            "--stage",
            "reduce",
            "-r",
            "rules/command_and_control_telnet_port_activity.toml",
            "-",
        ],
        "R\tx/0\t{\"q\":0,\"rule\":\"other\",\"name\":\"f\",\"kept\":null}\n",
    );
    assert_eq!(code, 2);
}
