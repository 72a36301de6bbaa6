//! `ruleq run --stage map|reduce` through the binary, as the Spark driver
//! runs it: shares of a file on standard input (a malformed line among
//! them), records shuffled into reduces, alert documents compared with
//! one `ruleq run` over the file; the shares' counts add up to the run's.

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
];

fn ruleq(args: &[&str], stdin: &str) -> (i32, String) {
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
        run.extend(COMMON);
        run.extend(mode);
        let path = file.to_str().unwrap();
        run.push(path);
        let (code, one) = ruleq(&run, "");
        assert_eq!(code, 0);
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
            let (code, out) = ruleq(&map, &(share.join("\n") + "\n"));
            assert_eq!(code, 0, "{out}");
            for line in out.lines() {
                match line.split_once('\t') {
                    Some(("A", doc)) => docs.push(doc.to_string()),
                    Some(("R", _)) => {
                        records.push_str(line);
                        records.push('\n');
                    }
                    Some(("S", stats)) => {
                        let s: Value = serde_json::from_str(stats).unwrap();
                        read += s["read"].as_u64().unwrap();
                        malformed += s["malformed"].as_u64().unwrap();
                    }
                    _ => panic!("an untagged map line: {line}"),
                }
            }
        }
        assert_eq!((read, malformed), (29, 1), "{mode:?}");
        // Records in any order: reversed.
        let reversed: String = records.lines().rev().map(|l| format!("{l}\n")).collect();
        let mut reduce: Vec<&str> = vec!["run", "--stage", "reduce"];
        reduce.extend(COMMON);
        reduce.extend(mode);
        reduce.push("-");
        let (code, out) = ruleq(&reduce, &reversed);
        assert_eq!(code, 0);
        docs.extend(out.lines().map(str::to_string));
        docs.sort();
        assert_eq!(docs.len(), one.len(), "{mode:?}");
        assert!(docs == one, "{mode:?}: documents differ");
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
