//! `ruleq test` end to end through the binary: the seed rules' tests pass;
//! an edited rule fails with its cases named; test files are strict; orphans,
//! unloadable files, untested rules, skipped and vacuous cases; the three
//! executions; event identities and synthetic time.

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};

/// The seed rules these tests copy: Elastic's two telnet rules.
const SEED_RULES: [&str; 2] = [
    "command_and_control_telnet_port_activity.toml",
    "lateral_movement_telnet_network_activity_external.toml",
];

/// A project folder: the seed rules (optionally edited), the examples,
/// and the given test files.
struct Project {
    dir: PathBuf,
}

impl Project {
    fn new(tag: &str) -> Project {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = std::env::temp_dir().join(format!("ruleq-test-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("rules")).unwrap();
        std::fs::create_dir_all(dir.join("examples")).unwrap();
        // Elastic's two telnet rules (the threshold and new_terms rules of
        // `rules/` have tests of their own).
        for name in SEED_RULES {
            std::fs::copy(root.join("rules").join(name), dir.join("rules").join(name)).unwrap();
        }
        std::fs::copy(
            root.join("examples/telnet-events.ndjson"),
            dir.join("examples/telnet-events.ndjson"),
        )
        .unwrap();
        Project { dir }
    }

    /// With the project's own test files.
    fn with_seed_tests(tag: &str) -> Project {
        let p = Project::new(tag);
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for name in SEED_RULES {
            let text = std::fs::read_to_string(root.join("rule_tests/rules").join(name)).unwrap();
            p.write(&format!("rule_tests/rules/{name}"), &text);
        }
        let lists = root.join("rule_tests/rules/exceptions/known_telnet_admin.ndjson");
        p.write(
            "rule_tests/rules/exceptions/known_telnet_admin.ndjson",
            &std::fs::read_to_string(lists).unwrap(),
        );
        let snapshots = root.join("rule_tests/rules/__snapshots__");
        for entry in std::fs::read_dir(&snapshots).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            p.write(&format!("rule_tests/rules/__snapshots__/{name}"), &text);
        }
        p
    }

    fn write(&self, path: &str, text: &str) {
        let path = self.dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn edit(&self, path: &str, from: &str, to: &str) {
        let file = self.dir.join(path);
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains(from), "{path} holds {from}");
        std::fs::write(file, text.replace(from, to)).unwrap();
    }

    /// Runs `ruleq test` as CI would (snapshots are compared, never
    /// written), whatever the environment of the test run.
    fn test(&self, args: &[&str]) -> (i32, String, String) {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ruleq"))
            .current_dir(&self.dir)
            .arg("test")
            .args(args)
            .env("CI", "true")
            .env_remove("RULEQ_UPDATE")
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const PORT_RULE: &str = "rule_tests/rules/command_and_control_telnet_port_activity.toml";
const PORT_ID: &str = "34fde489-94b0-4500-a76f-b8a157cf9269";

#[test]
fn the_seed_rules_tests_pass() {
    let p = Project::with_seed_tests("seed");
    let (code, out, err) = p.test(&["-v"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("2 test files, 14 cases: 14 passed, 0 failed"),
        "{out}"
    );
    assert!(
        out.contains("✓ exec and connect 10 minutes apart: no single 9-minute window sees both")
    );
}

#[test]
fn an_edited_port_fails_its_cases_by_name_and_line() {
    let p = Project::with_seed_tests("edit");
    p.edit(
        "rules/command_and_control_telnet_port_activity.toml",
        "destination.port:23",
        "destination.port:2323",
    );
    let (code, out, _) = p.test(&[]);
    assert_eq!(code, 1, "{out}");
    // The case is named with its line, and the explanation of its event
    // points at the clause that failed.
    assert!(
        out.contains("✗ tcp/23  :9\n      expected 1 alerts, got 0"),
        "{out}"
    );
    assert!(
        out.contains("false  destination.port:2323   <-- first failing clause"),
        "{out}"
    );
    insta::assert_snapshot!("failing_run", out);
}

#[test]
fn unknown_keys_are_errors_at_their_line_and_column() {
    let p = Project::new("strict");
    p.write(
        PORT_RULE,
        &format!(
            "rule_id = \"{PORT_ID}\"\n\n[[case]]\nname = \"typo\"\nalert = 0\n  [[case.event]]\n  destination.port = 23\n"
        ),
    );
    let (code, out, err) = p.test(&[]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        err.contains("`alert = ...` is not a count of alerts"),
        "{err}"
    );
    assert!(err.contains("did you mean `alerts`?"), "{err}");
    assert!(
        err.contains("command_and_control_telnet_port_activity.toml:5:1"),
        "{err}"
    );
}

#[test]
fn a_case_that_asserts_nothing_is_an_error() {
    let p = Project::new("nothing");
    p.write(
        PORT_RULE,
        &format!("rule_id = \"{PORT_ID}\"\n\n[[case]]\nname = \"what\"\n  [[case.event]]\n  destination.port = 23\n"),
    );
    let (code, _, err) = p.test(&[]);
    assert_eq!(code, 3);
    assert!(err.contains("case \"what\" asserts nothing"), "{err}");
}

#[test]
fn a_test_of_no_loaded_rule_is_an_orphan_even_when_other_tests_are_selected() {
    let p = Project::with_seed_tests("orphan");
    p.write(
        "rule_tests/rules/gone.toml",
        "rule_id = \"00000000-0000-0000-0000-000000000000\"\n[[case]]\nname = \"x\"\nalerts = 0\n",
    );
    // Only the port rule's tests run, yet the orphan is reported.
    let (code, out, err) = p.test(&["rules/command_and_control_telnet_port_activity.toml"]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        err.contains("no rule loaded from rules has rule_id 00000000"),
        "{err}"
    );
    assert!(out.contains("1 test files, 7 cases: 7 passed"), "{out}");
}

#[test]
fn a_test_file_away_from_its_rule_gets_the_git_mv() {
    let p = Project::new("mirror");
    p.write(
        "rule_tests/elsewhere.toml",
        &format!("rule_id = \"{PORT_ID}\"\n[[case]]\nname = \"x\"\nalerts = 0\n  [[case.event]]\n  destination.port = 1\n"),
    );
    let (code, _, err) = p.test(&[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(
            "git mv rule_tests/elsewhere.toml rule_tests/rules/command_and_control_telnet_port_activity.toml"
        ),
        "{err}"
    );
}

#[test]
fn require_tests_names_rules_without_both_kinds_of_case() {
    let p = Project::new("require");
    p.write(
        PORT_RULE,
        &format!("rule_id = \"{PORT_ID}\"\n[[case]]\nname = \"fires\"\nalerts = 1\n  [[case.event]]\n  event.category = \"network\"\n  network.transport = \"tcp\"\n  destination.port = 23\n"),
    );
    let (code, out, _) = p.test(&[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("2 rules lack a case that must alert or one that must not"),
        "{out}"
    );
    let (code, out, _) = p.test(&["--require-tests"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("untested: rules/command_and_control_telnet_port_activity.toml (Telnet Port Activity): no case that must not alert"),
        "{out}"
    );
    assert!(
        out.contains("no case that must alert and none that must not"),
        "{out}"
    );
}

#[test]
fn cases_of_rules_ruleq_cannot_evaluate_are_skipped_with_the_reason() {
    let p = Project::new("skip");
    let rule = "rules/command_and_control_telnet_port_activity.toml";
    p.edit(rule, "type = \"query\"", "type = \"esql\"");
    p.edit(rule, "language = \"kuery\"", "language = \"esql\"");
    p.edit(
        rule,
        "event.category:(network or network_traffic) and network.transport:tcp and destination.port:23",
        "from logs-* | where destination.port == 23",
    );
    p.write(
        PORT_RULE,
        &format!("rule_id = \"{PORT_ID}\"\n[[case]]\nname = \"counted\"\nalerts = 1\n  [[case.event]]\n  destination.port = 23\n"),
    );
    let (code, out, err) = p.test(&[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("- counted: skipped (esql rules cannot be evaluated offline)"),
        "{out}"
    );
    assert!(out.contains("1 skipped"), "{out}");
    let (code, _, _) = p.test(&["--fail-on-skip"]);
    assert_eq!(code, 1);
}

#[test]
fn a_negative_case_no_event_of_which_reaches_the_rule_is_vacuous() {
    let p = Project::new("vacuous");
    p.write(
        PORT_RULE,
        &format!(
            "rule_id = \"{PORT_ID}\"\n[[case]]\nname = \"wrong index\"\nindex = \"logs-other-default\"\nalerts = 0\n  [[case.event]]\n  event.category = \"network\"\n  network.transport = \"udp\"\n  destination.port = 23\n\n[[case]]\nname = \"udp\"\nalerts = 0\n  [[case.event]]\n  event.category = \"network\"\n  network.transport = \"udp\"\n  destination.port = 23\n"
        ),
    );
    let (code, out, _) = p.test(&[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("⚠ wrong index"), "{out}");
    assert!(
        !out.contains("⚠ udp"),
        "the udp event reaches the rule: {out}"
    );
    let (code, out, _) = p.test(&["--strict", "--junit", "junit.xml"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("✗ wrong index"), "{out}");
    // The JUnit report agrees: the vacuous case failed.
    let xml = std::fs::read_to_string(p.dir.join("junit.xml")).unwrap();
    assert!(xml.contains("type=\"vacuous\""), "{xml}");
    assert_eq!(xml.matches("<failure").count(), 1, "{xml}");
}

const SEQUENCE_ID: &str = "e19e64ee-130e-4c07-961f-8a339f0b8362";
const SEQUENCE_TESTS: &str =
    "rule_tests/rules/lateral_movement_telnet_network_activity_external.toml";

/// A telnet session: exec at the start, connect `gap` later.
fn session(execution: &str, expect: u32, gap: &str, now: &str) -> String {
    format!(
        r#"rule_id = "{SEQUENCE_ID}"
[defaults.event]
host.os.type = "linux"
[[case]]
name = "session"
execution = "{execution}"
alerts = {expect}
{now}
  [[case.event]]
  _id = "exec"
  event.category = "process"
  event.type = "start"
  process = {{ name = "telnet", entity_id = "p" }}
  [[case.event]]
  _id = "connect"
  _at = "{gap}"
  event.category = "network"
  process = {{ name = "telnet", entity_id = "p" }}
  destination.ip = "8.8.8.8"
"#
    )
}

#[test]
fn the_three_executions_see_a_split_session_as_kibana_would() {
    let p = Project::new("executions");
    let check = |execution: &str, expect: u32, gap: &str, now: &str| {
        p.write(SEQUENCE_TESTS, &session(execution, expect, gap, now));
        let (code, out, err) = p.test(&[]);
        assert_eq!(code, 0, "{execution} {gap} {now}: {out}{err}");
    };
    // The rule looks back 9 minutes every 5 (at whole multiples of 5
    // minutes): 3 minutes apart, the execution at 00:05 sees both; 8 or 10
    // minutes apart, none does.
    check("schedule", 1, "3m", "");
    check("schedule", 0, "8m", "");
    check("schedule", 0, "10m", "");
    check("all", 1, "10m", "");
    // One execution at the last event sees 9 minutes back.
    check("once", 1, "8m", "");
    check("once", 0, "10m", "");
    // An execution an hour later sees nothing.
    check("once", 0, "1m", "now = 2000-01-01T01:00:00Z");
    // A failing case says when the execution made the difference.
    p.write(SEQUENCE_TESTS, &session("schedule", 1, "10m", ""));
    let (code, out, _) = p.test(&[]);
    assert_eq!(code, 1);
    assert!(
        out.contains("under execution = \"all\" (one execution over every event, no window) it gives 1 alert(s) and passes"),
        "{out}"
    );
}

#[test]
fn events_are_named_by_id_case_and_number_or_file_and_line() {
    let p = Project::new("identity");
    p.write(
        "rule_tests/rules/events/three.ndjson",
        concat!(
            r#"{"event":{"category":"network"},"network":{"transport":"tcp"},"destination":{"port":23}}"#,
            "\n\n",
            r#"{"_id":"mine","event":{"category":"network"},"network":{"transport":"tcp"},"destination":{"port":23}}"#,
            "\n"
        ),
    );
    p.write(
        PORT_RULE,
        &format!(
            r#"rule_id = "{PORT_ID}"
[[case]]
name = "Inline, then a file!"
execution = "all"
events_file = "events/three.ndjson"
  [[case.event]]
  event.category = "network"
  network.transport = "tcp"
  destination.port = 23
  # In output order: the file's events carry no time, so they come first.
  [[case.alert]]
  events = ["events/three.ndjson:1"]
  [[case.alert]]
  events = ["mine"]
  [[case.alert]]
  events = ["inline-then-a-file#1"]
"#
        ),
    );
    let (code, out, err) = p.test(&["--format", "json"]);
    assert_eq!(code, 0, "{out}{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["summary"]["passed"], 1);
    assert_eq!(report["results"][0]["line"], 2);
    assert_eq!(report["results"][0]["status"], "passed");
    assert_eq!(
        report["results"][0]["rule_file"],
        "rules/command_and_control_telnet_port_activity.toml"
    );
}

#[test]
fn failures_in_json_name_their_kind_field_and_values() {
    let p = Project::new("json");
    p.write(
        PORT_RULE,
        &format!(
            r#"rule_id = "{PORT_ID}"
[[case]]
name = "severity"
  [[case.alert]]
  fields."kibana.alert.severity" = "high"
  absent = ["destination.port"]
  [[case.event]]
  event.category = "network"
  network.transport = "tcp"
  destination.port = 23
"#
        ),
    );
    let (code, out, _) = p.test(&["--format", "json"]);
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&out).unwrap();
    let failures = &report["results"][0]["failures"];
    assert_eq!(failures[0]["kind"], "alert_field");
    assert_eq!(failures[0]["field"], "kibana.alert.severity");
    assert_eq!(failures[0]["expected"], "\"high\"");
    assert_eq!(failures[0]["actual"], "\"medium\"");
    assert_eq!(failures[1]["field"], "destination.port");
    assert_eq!(failures[1]["actual"], "23");
}

#[test]
fn times_are_synthetic_and_a_date_time_needs_its_offset() {
    let p = Project::new("time");
    p.write(
        PORT_RULE,
        &format!(
            r#"rule_id = "{PORT_ID}"
[defaults]
start = 2024-05-01T10:00:00Z
[[case]]
name = "stamped"
execution = "all"
  [[case.alert]]
  fields."kibana.alert.original_time" = "2024-05-01T10:00:00.000Z"
  [[case.alert]]
  fields."kibana.alert.original_time" = "2024-05-01T10:00:00.001Z"
  [[case.alert]]
  fields."kibana.alert.original_time" = "2024-05-01T10:00:30.000Z"
  [[case.event]]
  event.category = "network"
  network.transport = "tcp"
  destination.port = 23
  [[case.event]]
  event.category = "network"
  network.transport = "tcp"
  destination.port = 23
  [[case.event]]
  _at = "30s"
  event.category = "network"
  network.transport = "tcp"
  destination.port = 23
"#
        ),
    );
    let (code, out, err) = p.test(&[]);
    assert_eq!(code, 0, "{out}{err}");
    p.write(
        PORT_RULE,
        &format!("rule_id = \"{PORT_ID}\"\n[defaults]\nstart = 2024-05-01T10:00:00\n"),
    );
    let (code, _, err) = p.test(&[]);
    assert_eq!(code, 3);
    assert!(
        err.contains("`start` is not a time with an offset"),
        "{err}"
    );
}
