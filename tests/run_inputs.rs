//! How `ruleq run` and `ruleq query` take their event arguments: `-` is
//! standard input, and an event without `_id` is named in alert ids by its
//! file's name (or its path inside the folder given), never by how the path
//! was spelled.

use serde_json::Value;
mod common;

use common::ruleq_in;
use std::path::{Path, PathBuf};
use std::process::Output;

const NOW: &str = "2026-03-01T10:00:00Z";

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The example events without their `_id`.
fn events_without_ids() -> String {
    let text = std::fs::read_to_string(manifest().join("examples/telnet-events.ndjson")).unwrap();
    text.lines()
        .map(|l| {
            let mut v: serde_json::Map<String, Value> = serde_json::from_str(l).unwrap();
            assert!(
                v.shift_remove("_id").is_some(),
                "the example events carry _id"
            );
            serde_json::to_string(&v).unwrap() + "\n"
        })
        .collect()
}

/// A scratch folder: `x.ndjson` and `logs/sub/x.ndjson`, both the example
/// events without `_id`.
fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ruleq-inputs-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("logs/sub")).unwrap();
    let events = events_without_ids();
    std::fs::write(dir.join("x.ndjson"), &events).unwrap();
    std::fs::write(dir.join("logs/sub/x.ndjson"), &events).unwrap();
    dir
}

fn run(dir: &Path, events: &[&str], stdin: &[u8]) -> Output {
    let rules = manifest().join("rules");
    let mut args = vec![
        "run",
        "-r",
        rules.to_str().unwrap(),
        "--now",
        NOW,
        "--format",
        "ndjson",
    ];
    args.extend(events);
    ruleq_in(dir, &args, stdin)
}

fn ancestor_ids(out: &Output) -> Vec<String> {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        // A threshold alert's ancestor is Kibana's synthetic hit, no event.
        .filter(|a| a.get("kibana.alert.threshold_result").is_none())
        .filter_map(|a| {
            a["kibana.alert.ancestors"][0]["id"]
                .as_str()
                .map(str::to_string)
        })
        .collect()
}

#[test]
fn alert_ids_do_not_depend_on_how_the_path_is_spelled() {
    let dir = scratch("identity");
    let absolute = dir.join("x.ndjson");
    let plain = run(&dir, &["x.ndjson"], b"");
    let dotted = run(&dir, &["./x.ndjson"], b"");
    let elsewhere = run(&manifest(), &[absolute.to_str().unwrap()], b"");
    let ids = ancestor_ids(&plain);
    assert_eq!(ids.len(), 21);
    assert!(ids.iter().all(|id| id.starts_with("x.ndjson:")), "{ids:?}");
    assert!(
        plain.stdout == dotted.stdout,
        "./x.ndjson names events otherwise"
    );
    assert!(
        plain.stdout == elsewhere.stdout,
        "an absolute path names events otherwise"
    );
    // A folder: the path inside it, however the folder is spelled.
    let folder = run(&dir, &["logs"], b"");
    let ids = ancestor_ids(&folder);
    assert!(
        ids.iter().all(|id| id.starts_with("sub/x.ndjson:")),
        "{ids:?}"
    );
    let slashed = run(&dir, &["./logs/"], b"");
    let absolute = run(&manifest(), &[dir.join("logs").to_str().unwrap()], b"");
    assert!(folder.stdout == slashed.stdout);
    assert!(folder.stdout == absolute.stdout);
    // Standard input is `<stdin>`.
    let stdin = run(&dir, &["-"], events_without_ids().as_bytes());
    assert!(ancestor_ids(&stdin)
        .iter()
        .all(|id| id.starts_with("<stdin>:")));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn files_that_share_a_name_are_reported() {
    let dir = scratch("clash");
    let out = run(&dir, &["x.ndjson", "logs/sub/x.ndjson"], b"");
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "note: event files x.ndjson, logs/sub/x.ndjson are all named x.ndjson in alert ids"
        ),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_dash_is_standard_input() {
    let dir = scratch("dash");
    let events = events_without_ids();
    // Alone, and between files: read where it stands.
    let alone = run(&dir, &["-"], events.as_bytes());
    assert_eq!(ancestor_ids(&alone).len(), 21);
    let mixed = run(&dir, &["x.ndjson", "-"], events.as_bytes());
    let ids = ancestor_ids(&mixed);
    assert!(ids.iter().any(|id| id.starts_with("x.ndjson:")), "{ids:?}");
    assert!(ids.iter().any(|id| id.starts_with("<stdin>:")), "{ids:?}");
    let query = ruleq_in(
        &dir,
        &["query", "--kql", "destination.port:23", "-"],
        events.as_bytes(),
    );
    assert_eq!(query.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&query.stdout).lines().count() > 0);
    // Twice is a usage error, for both commands.
    for args in [
        &["run", "-", "-"][..],
        &[
            "query",
            "--kql",
            "destination.port:23",
            "-",
            "x.ndjson",
            "-",
        ][..],
    ] {
        let out = ruleq_in(&dir, args, events.as_bytes());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("`-` (standard input) is given more than once"),
            "{err}"
        );
        assert!(out.stdout.is_empty());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Whether process `pid` holds `path` open.
#[cfg(target_os = "linux")]
fn holds_open(pid: u32, path: &Path) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten()
        .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == path))
}

#[cfg(target_os = "linux")]
#[test]
fn a_file_truncated_during_a_run_ends_it_with_exit_2_not_sigbus() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let dir = scratch("truncated");
    // 12 MiB of events, read 4 MiB at a time; then standard input, whose
    // events are later: the run holds the file open while it waits there.
    let big = dir.join("big.ndjson");
    let event = r#"{"@timestamp":"2024-05-01T10:00:00Z","event":{"category":"file"},"pad":"PAD"}"#
        .replace("PAD", &"x".repeat(900));
    let text = format!("{event}\n").repeat((12 << 20) / (event.len() + 1));
    std::fs::write(&big, &text).unwrap();
    let big = big.canonicalize().unwrap();
    let rules = manifest().join("rules");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ruleq"))
        .args(["run", "-r", rules.to_str().unwrap(), "--format", "ndjson"])
        .arg(&big)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !holds_open(child.id(), &big) {
        assert!(
            started.elapsed().as_secs() < 60,
            "ruleq never opened the file"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // Cut to 5 MiB while the run waits for standard input.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&big)
        .unwrap()
        .set_len(5 << 20)
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let later = r#"{"@timestamp":"2024-05-02T10:00:00Z","event":{"category":"file"}}"#;
    let _ = stdin.write_all(format!("{later}\n").as_bytes());
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "{}: truncated to {} bytes",
            big.display(),
            5 << 20
        )),
        "{err}"
    );
    assert!(err.contains("--no-mmap"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
