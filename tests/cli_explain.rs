//! `ruleq explain` as a user runs it: clause trees with verdicts and the
//! rules that decided them, rule-level exclusions, partial sequences and
//! their fates, JSON output, rule selection and exit codes.

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

const SEED_KQL: &str = "rules/command_and_control_telnet_port_activity.toml";
const SEED_EQL: &str = "rules/lateral_movement_telnet_network_activity_external.toml";
const EXAMPLE: &str = "examples/telnet-events.ndjson";

/// The binary in the project's folder, `stdin` on its standard input.
fn ruleq(args: &[&str], stdin: &str) -> Output {
    common::ruleq_stdin(args, stdin)
}

fn stdout(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn json_lines(o: &Output) -> Vec<Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A file in a temporary folder of this test run; the folder goes when
/// it is dropped.
struct TempFile(PathBuf);

impl std::ops::Deref for TempFile {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn temp_file(tag: &str, name: &str, text: &str) -> TempFile {
    let dir = std::env::temp_dir().join(format!("ruleq-explain-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    TempFile(path)
}

fn seed(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// The summary document of `--format json` output.
fn summary(docs: &[Value]) -> &Value {
    docs.iter().find(|d| d["kind"] == "summary").unwrap()
}

#[test]
fn event_query_on_the_bundled_example() {
    let out = stdout(&ruleq(&["explain", SEED_KQL, EXAMPLE], ""));
    assert!(out.starts_with("rule: Telnet Port Activity (34fde489-94b0-4500-a76f-b8a157cf9269)\n"));
    assert!(
        out.contains("event evt-002 at 2026-03-01T09:00:02.000Z: matches\n"),
        "{out}"
    );
    assert!(out.contains("event evt-001: does not match\n"), "{out}");
    // evt-001 is a process event: its category fails first.
    let evt1 = out
        .split("\n\n")
        .find(|b| b.starts_with("event evt-001:"))
        .unwrap();
    assert!(
        evt1.contains(
            "false  event.category:(network or network_traffic)   <-- first failing clause"
        ),
        "{evt1}"
    );
    assert!(
        out.contains("matching events (the engine's results): 6\n"),
        "{out}"
    );
    assert!(!out.contains("approximate"), "{out}");
}

#[test]
fn explanations_agree_with_the_engine_on_the_seed_rules() {
    for rule in [SEED_KQL, SEED_EQL] {
        let docs = json_lines(&ruleq(&["explain", rule, EXAMPLE, "--format", "json"], ""));
        let s = summary(&docs);
        assert_eq!(s["approximate"], false, "{rule}: {s}");
        assert!(!s["results"].as_array().unwrap().is_empty(), "{rule}");
    }
    // With a window, too: an execution at 09:05 sees 08:59..09:05 only.
    let docs = json_lines(&ruleq(
        &[
            "explain",
            SEED_KQL,
            EXAMPLE,
            "--format",
            "json",
            "--now",
            "2026-03-01T09:05:00Z",
        ],
        "",
    ));
    assert_eq!(summary(&docs)["approximate"], false);
}

#[test]
fn a_kql_miss_points_at_the_clause_that_failed() {
    let rule = seed(SEED_KQL).replace("destination.port:23\n", "destination.port:2323\n");
    let path = temp_file("port", "port.toml", &rule);
    let out = stdout(&ruleq(&["explain", path.to_str().unwrap(), EXAMPLE], ""));
    let evt2 = out
        .split("\n\n")
        .find(|b| b.starts_with("event evt-002"))
        .unwrap();
    assert!(evt2.contains("event evt-002: does not match"), "{evt2}");
    assert!(
        evt2.contains("false  destination.port:2323   <-- first failing clause"),
        "{evt2}"
    );
    assert!(
        evt2.contains("destination.port = 23 (number) at /destination/port (nested object)"),
        "{evt2}"
    );
    // Two near misses of the example go to port 2323.
    assert!(
        out.contains("matching events (the engine's results): 2\n  evt-014\n  evt-017\n"),
        "{out}"
    );
    // The JSON names the same clause.
    let docs = json_lines(&ruleq(
        &[
            "explain",
            path.to_str().unwrap(),
            EXAMPLE,
            "--format",
            "json",
        ],
        "",
    ));
    let e = docs.iter().find(|d| d["name"] == "evt-002").unwrap();
    let failed = e["query"]["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["first_failure"] == true)
        .unwrap();
    assert_eq!(failed["text"], "destination.port:2323");
    assert_eq!(failed["fields"][0]["field"], "destination.port");
    assert_eq!(failed["fields"][0]["values"][0]["value"], 23);
    assert_eq!(failed["fields"][0]["values"][0]["type"], "number");
}

#[test]
fn must_not_matches_a_missing_field() {
    let event =
        r#"{"_id":"e1","@timestamp":"2026-03-01T09:00:00Z","event":{"category":"network"}}"#;
    let out = stdout(&ruleq(
        &[
            "explain",
            "--kql",
            "event.category:network and not process.name:telnet",
        ],
        event,
    ));
    assert!(
        out.contains("event e1 at 2026-03-01T09:00:00.000Z: matches"),
        "{out}"
    );
    assert!(out.contains("true   not process.name:telnet"), "{out}");
    assert!(
        out.contains("decided by must_not: the event lacks `process.name`"),
        "{out}"
    );
    // EQL `!=` on a field is an index query too.
    let out = stdout(&ruleq(
        &[
            "explain",
            "--eql",
            r#"network where process.name != "telnet""#,
        ],
        event,
    ));
    assert!(out.contains("decided by must_not"), "{out}");
    assert!(
        out.contains("event e1 at 2026-03-01T09:00:00.000Z: matches"),
        "{out}"
    );
}

#[test]
fn a_script_clause_on_a_missing_field_is_null() {
    let event =
        r#"{"_id":"e1","@timestamp":"2026-03-01T09:00:00Z","event":{"category":"process"}}"#;
    let out = stdout(&ruleq(
        &["explain", "--eql", "process where length(process.name) > 3"],
        event,
    ));
    assert!(out.contains("event e1: does not match"), "{out}");
    assert!(
        out.contains("null   length(process.name) > 3   <-- first failing clause"),
        "{out}"
    );
    assert!(
        out.contains("decided by script (three-valued): `process.name` is missing or null"),
        "{out}"
    );
    assert!(out.contains("process.name: missing"), "{out}");
    // `not` over a null script stays null.
    let out = stdout(&ruleq(
        &[
            "explain",
            "--eql",
            "process where not length(process.name) > 3",
        ],
        event,
    ));
    assert!(out.contains("null   not length(process.name) > 3"), "{out}");
}

#[test]
fn arrays_match_when_any_value_does() {
    let event = r#"{"_id":"e1","@timestamp":"2026-03-01T09:00:00Z","event":{"category":["network","process"]},"process":{"args":["a","telnet"]}}"#;
    let out = stdout(&ruleq(&["explain", "--kql", "process.args:telnet"], event));
    assert!(
        out.contains("decided by any of the array: value 2 of 2 of `process.args` matches"),
        "{out}"
    );
    assert!(
        out.contains(r#""telnet" (string) at /process/args/1 (nested object, array element)"#),
        "{out}"
    );
}

#[test]
fn dotted_keys_and_aliases_are_named() {
    let event = r#"{"_id":"e1","@timestamp":"2026-03-01T09:00:00Z","destination.port":23}"#;
    let out = stdout(&ruleq(&["explain", "--kql", "destination.port:23"], event));
    assert!(
        out.contains("destination.port = 23 (number) at /destination.port (dotted key)"),
        "{out}"
    );
}

#[test]
fn the_index_and_the_filters_of_the_rule_exclude_events() {
    let event = r#"{"_id":"e1","@timestamp":"2026-03-01T09:00:00Z","event":{"category":"network"},"network":{"transport":"tcp"},"destination":{"port":23}}"#;
    let out = stdout(&ruleq(
        &["explain", SEED_KQL, "--index", "other-logs"],
        event,
    ));
    assert!(
        out.contains("event e1 at 2026-03-01T09:00:00.000Z: not seen by the rule"),
        "{out}"
    );
    assert!(out.contains("excluded: index `other-logs` is not matched by the rule's index patterns filebeat-*, packetbeat-*, logs-endpoint.events.*"), "{out}");
    assert!(
        out.contains("matching events (the engine's results): 0\n"),
        "{out}"
    );
    // The event's own `_index` wins over --index.
    let hit = r#"{"_index":"packetbeat-8","_id":"h1","_source":{"@timestamp":"2026-03-01T09:00:00Z","event":{"category":"network"},"network":{"transport":"tcp"},"destination":{"port":23}}}"#;
    let out = stdout(&ruleq(&["explain", SEED_KQL, "--index", "other-logs"], hit));
    assert!(
        out.contains("event h1 at 2026-03-01T09:00:00.000Z: matches"),
        "{out}"
    );

    // A filter that needs `process.name`, which the event lacks.
    let rule = seed(SEED_KQL);
    let at = rule.find("[[rule.threat]]").unwrap();
    let filters = "[[rule.filters]]\n[rule.filters.meta]\nnegate = false\n[rule.filters.query.exists]\nfield = \"process.name\"\n\n";
    let path = temp_file(
        "filters",
        "filtered.toml",
        &format!("{}{filters}{}", &rule[..at], &rule[at..]),
    );
    let out = stdout(&ruleq(&["explain", path.to_str().unwrap()], event));
    assert!(out.contains("not seen by the rule"), "{out}");
    assert!(
        out.contains(
            r#"excluded: excluded by the rule's filter 1 {"exists":{"field":"process.name"}}"#
        ),
        "{out}"
    );
    assert!(
        out.contains("matching events (the engine's results): 0\n"),
        "{out}"
    );
}

#[test]
fn the_execution_window_excludes_events() {
    let out = stdout(&ruleq(
        &[
            "explain",
            SEED_KQL,
            EXAMPLE,
            "--now",
            "2026-03-01T09:05:00Z",
        ],
        "",
    ));
    assert!(
        out.contains("execution window: 2026-03-01T08:59:00.000Z .. 2026-03-01T09:05:00.000Z"),
        "{out}"
    );
    assert!(
        out.contains("event evt-002 at 2026-03-01T09:00:02.000Z: matches"),
        "{out}"
    );
    let late = out
        .split("\n\n")
        .find(|b| b.starts_with("event evt-028"))
        .unwrap();
    assert!(
        late.contains("excluded: outside the execution window"),
        "{late}"
    );
}

/// Events for a sequence by `user.name` with maxspan 1m, `until` a stop:
/// one partial expires as its next step comes too late, one while an event
/// of another key matched its next step, one is closed by `until`, one is
/// replaced by a newer one, which completes, and one waits in vain; an
/// event without the key joins nothing.
const SEQUENCE_EVENTS: &str = r#"{"_id":"a1","@timestamp":"2026-03-01T09:00:00Z","event":{"category":"process","action":"start"},"user":{"name":"ann"}}
{"_id":"a2","@timestamp":"2026-03-01T09:02:00Z","event":{"category":"network","action":"connect"},"user":{"name":"ann"}}
{"_id":"b1","@timestamp":"2026-03-01T09:03:00Z","event":{"category":"process","action":"start"},"user":{"name":"bob"}}
{"_id":"c2","@timestamp":"2026-03-01T09:03:10Z","event":{"category":"network","action":"connect"},"user":{"name":"cid"}}
{"_id":"d1","@timestamp":"2026-03-01T09:04:00Z","event":{"category":"process","action":"start"},"user":{"name":"dan"}}
{"_id":"d-stop","@timestamp":"2026-03-01T09:04:05Z","event":{"category":"process","action":"stop"},"user":{"name":"dan"}}
{"_id":"d2","@timestamp":"2026-03-01T09:04:10Z","event":{"category":"network","action":"connect"},"user":{"name":"dan"}}
{"_id":"e1","@timestamp":"2026-03-01T09:05:00Z","event":{"category":"process","action":"start"},"user":{"name":"eve"}}
{"_id":"e1b","@timestamp":"2026-03-01T09:05:05Z","event":{"category":"process","action":"start"},"user":{"name":"eve"}}
{"_id":"e2","@timestamp":"2026-03-01T09:05:10Z","event":{"category":"network","action":"connect"},"user":{"name":"eve"}}
{"@timestamp":"2026-03-01T09:05:20Z","event":{"category":"network","action":"connect"}}
{"_id":"f1","@timestamp":"2026-03-01T09:05:30Z","event":{"category":"process","action":"start"},"user":{"name":"fay"}}
"#;

const SEQUENCE: &str = r#"sequence by user.name with maxspan=1m [process where event.action == "start"] [network where event.action == "connect"] until [process where event.action == "stop"]"#;

#[test]
fn a_sequence_that_breaks() {
    let out = stdout(&ruleq(&["explain", "--eql", SEQUENCE], SEQUENCE_EVENTS));
    insta::assert_snapshot!("sequence_that_breaks", out);
}

#[test]
fn json_has_a_document_per_event_and_per_sequence() {
    let docs = json_lines(&ruleq(
        &["explain", "--eql", SEQUENCE, "--format", "json"],
        SEQUENCE_EVENTS,
    ));
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "event").count(), 12);
    assert_eq!(kinds.iter().filter(|k| **k == "sequence").count(), 6);
    assert_eq!(kinds.last(), Some(&"summary"));
    let a1 = &docs[0];
    assert_eq!(a1["name"], "a1");
    assert_eq!(a1["matched"], true);
    assert_eq!(a1["steps"][0]["step"], "step 1");
    assert_eq!(a1["steps"][0]["matched"], true);
    assert_eq!(a1["steps"][0]["join_keys"], serde_json::json!([["ann"]]));
    assert_eq!(a1["steps"][2]["step"], "until");
    // The event without `_id` is named by its file and line.
    assert_eq!(docs[10]["name"], "<stdin>:11");
    let statuses: Vec<&str> = docs
        .iter()
        .filter(|d| d["kind"] == "sequence")
        .map(|d| d["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "maxspan",
            "maxspan",
            "until",
            "replaced",
            "completed",
            "incomplete"
        ]
    );
    let s = summary(&docs);
    assert_eq!(s["query_kind"], "eql sequence");
    assert_eq!(s["results"], serde_json::json!([["e1b", "e2"]]));
    assert_eq!(s["approximate"], false);
}

#[test]
fn a_missing_event_step_cancels_a_sequence() {
    let query = r#"sequence by user.name [process where event.action == "start"] ![process where event.action == "stop"] [network where true]"#;
    let out = stdout(&ruleq(&["explain", "--eql", query], SEQUENCE_EVENTS));
    assert!(
        out.contains(r#"["dan"] d1 (step 1), d2 (step 3): cancelled by a missing-event step: matched by d-stop (step 2)"#),
        "{out}"
    );
    assert!(!out.contains("approximate"), "{out}");
}

#[test]
fn a_rule_is_picked_by_id_from_an_export() {
    let rule = |id: &str, name: &str, query: &str| {
        serde_json::json!({
            "rule_id": id, "name": name, "description": "d", "type": "query",
            "language": "kuery", "index": ["logs-*"], "query": query,
            "risk_score": 21, "severity": "low", "version": 1
        })
        .to_string()
    };
    let export = format!(
        "{}\n{}\n{}\n",
        rule(
            "11111111-1111-4111-8111-111111111111",
            "First",
            "destination.port:23"
        ),
        rule(
            "22222222-2222-4222-8222-222222222222",
            "Second",
            "destination.port:2323"
        ),
        r#"{"exported_count": 2, "exported_rules_count": 2, "missing_rules": [], "missing_rules_count": 0}"#
    );
    let path = temp_file("export", "export.ndjson", &export);
    let path = path.to_str().unwrap();
    let event = r#"{"_id":"e1","@timestamp":"2026-03-01T09:00:00Z","destination":{"port":2323}}"#;
    let out = stdout(&ruleq(
        &[
            "explain",
            path,
            "--rule",
            "22222222-2222-4222-8222-222222222222",
        ],
        event,
    ));
    assert!(
        out.starts_with("rule: Second (22222222-2222-4222-8222-222222222222)"),
        "{out}"
    );
    assert!(
        out.contains("event e1 at 2026-03-01T09:00:00.000Z: matches"),
        "{out}"
    );
    let out = stdout(&ruleq(
        &[
            "explain",
            path,
            "--rule",
            "11111111-1111-4111-8111-111111111111",
        ],
        event,
    ));
    assert!(out.contains("event e1: does not match"), "{out}");
    // Two rules and no --rule, or an unknown id: a usage error naming them.
    let out = ruleq(&["explain", path], event);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("pick one with --rule ID"), "{err}");
    assert!(
        err.contains("11111111-1111-4111-8111-111111111111"),
        "{err}"
    );
    let out = ruleq(&["explain", path, "--rule", "nope"], event);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn exit_codes() {
    // 2: usage and I/O errors.
    assert_eq!(ruleq(&["explain"], "").status.code(), Some(2));
    assert_eq!(
        ruleq(&["explain", SEED_KQL, "no/such/events.ndjson"], "")
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        ruleq(&["explain", SEED_KQL, "--now", "yesterday"], "")
            .status
            .code(),
        Some(2)
    );
    // 3: the rule cannot be loaded; the diagnostic is located as `ruleq
    // check` prints it.
    let rule = seed(SEED_KQL).replace("destination.port:23\n", "destination.port:(23\n");
    let path = temp_file("broken", "broken.toml", &rule);
    let out = ruleq(&["explain", path.to_str().unwrap(), EXAMPLE], "");
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.toml:"), "{err}");
    assert!(out.stdout.is_empty());
    let out = ruleq(&["explain", "--eql", "process where x = 1"], "");
    assert_eq!(out.status.code(), Some(3));
}
