//! `ruleq test --new RULE_FILE` through the binary, on scratch copies of
//! Elastic's telnet rules in `rules/`: the scaffold's path and content, that it loads and fails until
//! filled in, and that it never overwrites a test file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A scratch copy of the bundled rules, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("ruleq-test-new-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("rules")).unwrap();
        // Elastic's two telnet rules, one KQL and one EQL.
        let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        for name in [KQL_RULE, EQL_RULE] {
            let name = Path::new(name).file_name().unwrap();
            std::fs::copy(rules.join(name), dir.join("rules").join(name)).unwrap();
        }
        Scratch(dir)
    }

    fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.0.join(path)).unwrap()
    }

    fn write(&self, path: &str, text: &str) {
        let path = self.0.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn ruleq(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ruleq"))
            .current_dir(&self.0)
            .args(args)
            .output()
            .unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::env::var_os("KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

const KQL_RULE: &str = "rules/command_and_control_telnet_port_activity.toml";
const EQL_RULE: &str = "rules/lateral_movement_telnet_network_activity_external.toml";

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_kql_rule_gets_a_case_of_each_kind_with_the_fields_its_query_reads() {
    let s = Scratch::new("kql");
    let out = s.ruleq(&["test", "--new", KQL_RULE]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let path = format!("rule_tests/{KQL_RULE}");
    assert_eq!(stdout(&out), format!("{path}\n"));
    let text = s.read(&path);
    assert!(text.contains("rule_id = \"34fde489-94b0-4500-a76f-b8a157cf9269\"\n"));
    assert!(text.contains("rule_name = \"Telnet Port Activity\"\n"));
    assert!(text.contains("\nalerts = 1\n"));
    assert!(text.contains("\nalerts = 0\n"));
    assert!(text.contains("# TODO"));
    // Every field the query reads, once per case, valued "TODO".
    for field in ["event.category", "network.transport", "destination.port"] {
        assert_eq!(
            text.matches(&format!("  {field} = \"TODO\"\n")).count(),
            2,
            "{field} in\n{text}"
        );
    }
}

#[test]
fn an_eql_sequence_gets_an_event_per_step_with_its_category() {
    let s = Scratch::new("eql");
    let out = s.ruleq(&["test", "--new", &format!("./{EQL_RULE}")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let path = format!("rule_tests/{EQL_RULE}");
    assert_eq!(stdout(&out), format!("{path}\n"));
    let text = s.read(&path);
    let positive = text.split("\n[[case]]\n").nth(1).unwrap();
    assert!(positive.contains("alerts = 1\n"), "{positive}");
    assert_eq!(positive.matches("[[case.event]]").count(), 2, "{positive}");
    let steps: Vec<&str> = positive.split("[[case.event]]").skip(1).collect();
    assert!(
        steps[0].contains("event.category = \"process\""),
        "{}",
        steps[0]
    );
    assert!(!steps[0].contains("_at"), "{}", steps[0]);
    assert!(steps[1].contains("_at = \"1s\""), "{}", steps[1]);
    assert!(
        steps[1].contains("event.category = \"network\""),
        "{}",
        steps[1]
    );
    // The join key and the fields of each step's condition.
    for step in &steps {
        assert!(step.contains("process.entity_id = \"TODO\""), "{step}");
        assert!(step.contains("process.name = \"TODO\""), "{step}");
    }
    assert!(steps[0].contains("event.type = \"TODO\""));
    assert!(steps[1].contains("destination.ip = \"TODO\""));
}

#[test]
fn a_fresh_scaffold_loads_and_its_cases_fail_until_filled_in() {
    let s = Scratch::new("fails");
    for rule in [KQL_RULE, EQL_RULE] {
        assert_eq!(s.ruleq(&["test", "--new", rule]).status.code(), Some(0));
    }
    let out = s.ruleq(&["test", "-v"]);
    // Loaded (no schema error, no orphan: not 3), and failing.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "no diagnostics, no misplaced test files");
    let text = stdout(&out);
    assert!(
        text.contains(
            "✗ TODO: events the rule must alert on  :11\n      placeholder events: fill them in with real values, then remove `_placeholder`\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "✗ TODO: a sequence the rule must alert on  :11\n      placeholder events: fill them in with real values, then remove `_placeholder`\n"
        ),
        "{text}"
    );
    // The case that must not alert fails too: its placeholder events would
    // pass it while testing nothing.
    assert!(
        text.contains("✗ TODO: a near miss the rule must not alert on"),
        "{text}"
    );
    assert!(
        text.contains("2 test files, 4 cases: 0 passed, 4 failed"),
        "{text}"
    );
    // Filled in (the marker removed), the cases run.
    let path = format!("rule_tests/{KQL_RULE}");
    let filled = std::fs::read_to_string(s.0.join(&path))
        .unwrap()
        .replace("  _placeholder = true\n", "");
    s.write(&path, &filled);
    let text = stdout(&s.ruleq(&["test", "-v"]));
    assert!(
        text.contains(
            "✗ TODO: events the rule must alert on  :11\n      expected 1 alerts, got 0\n"
        ),
        "{text}"
    );

    let out = s.ruleq(&["test", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["summary"]["load_errors"], 0);
    assert_eq!(json["summary"]["rules_without_tests"], 0);
}

#[test]
fn an_existing_test_file_is_never_overwritten() {
    let s = Scratch::new("exists");
    let path = format!("rule_tests/{KQL_RULE}");
    s.write(&path, "# mine\n");
    let out = s.ruleq(&["test", "--new", KQL_RULE]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).contains(&format!("{path} already exists")),
        "{}",
        stderr(&out)
    );
    assert_eq!(s.read(&path), "# mine\n");

    // Nor one it wrote itself.
    let out = s.ruleq(&["test", "--new", EQL_RULE]);
    assert_eq!(out.status.code(), Some(0));
    let first = s.read(&format!("rule_tests/{EQL_RULE}"));
    let out = s.ruleq(&["test", "--new", EQL_RULE]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(s.read(&format!("rule_tests/{EQL_RULE}")), first);
}

#[test]
fn the_tests_folder_is_chosen_with_t() {
    let s = Scratch::new("dir");
    let out = s.ruleq(&["test", "-t", "checks", "--new", KQL_RULE]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("checks/{KQL_RULE}\n"));
    assert!(s.0.join("checks").join(KQL_RULE).is_file());
    assert!(!s.0.join("rule_tests").exists());
    let out = s.ruleq(&["test", "-t", "checks"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
}

#[test]
fn unusual_field_names_and_short_maxspans_still_give_a_file_that_loads() {
    let s = Scratch::new("odd");
    let kql = s
        .read(KQL_RULE)
        .replace("34fde489-94b0-4500-a76f-b8a157cf9269", "00000000-0000-4000-8000-0000000000a1")
        .replace(
            "event.category:(network or network_traffic) and network.transport:tcp and destination.port:23",
            "process.parent.name:bash and process.parent:* and not user.name:root and \
             \"labels.odd key\":1 and process.*:x and nested:{ inner.a:1 } and \"quoted\"",
        );
    s.write("rules/odd_kql.toml", &kql);
    let eql = s.read(EQL_RULE).replace(
        "e19e64ee-130e-4c07-961f-8a339f0b8362",
        "00000000-0000-4000-8000-0000000000a2",
    );
    let start = eql.find("query = '''").unwrap();
    let end = eql[start + 11..].find("'''").unwrap() + start + 14;
    let eql = format!(
        "{}query = '''\nsequence by host.id with maxspan=500ms\n  [process where process.name == \"a\"]\n  \
         [any where file.path : \"x\"]\n  [file where length(file.name) > 3]\n'''{}",
        &eql[..start],
        &eql[end..]
    );
    s.write("rules/odd_eql.toml", &eql);
    for rule in ["rules/odd_kql.toml", "rules/odd_eql.toml"] {
        let out = s.ruleq(&["test", "--new", rule]);
        assert_eq!(out.status.code(), Some(0), "{rule}: {}", stderr(&out));
    }
    let text = s.read("rule_tests/rules/odd_kql.toml");
    assert!(text.contains("  \"process.parent\" = \"TODO\"\n"), "{text}");
    assert!(
        text.contains("  process.parent.name = \"TODO\"\n"),
        "{text}"
    );
    assert!(text.contains("  labels.\"odd key\" = \"TODO\"\n"), "{text}");
    assert!(text.contains("  nested.inner.a = \"TODO\"\n"), "{text}");
    assert!(!text.contains("process.*"), "{text}");
    let text = s.read("rule_tests/rules/odd_eql.toml");
    let positive = text.split("\n[[case]]\n").nth(1).unwrap();
    assert_eq!(positive.matches("[[case.event]]").count(), 3, "{positive}");
    // Three events within 500ms; `any` names no category.
    assert!(positive.contains("_at = \"250ms\""), "{positive}");
    assert!(positive.contains("_at = \"500ms\""), "{positive}");
    assert_eq!(positive.matches("event.category").count(), 2, "{positive}");
    assert_eq!(
        positive.matches("host.id = \"TODO\"").count(),
        3,
        "{positive}"
    );
    assert!(positive.contains("file.name = \"TODO\""), "{positive}");

    let out = s.ruleq(&[
        "test",
        "rule_tests/rules/odd_kql.toml",
        "rule_tests/rules/odd_eql.toml",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(stderr(&out), "");
}

#[test]
fn a_rule_file_that_cannot_be_read_is_a_usage_error() {
    let s = Scratch::new("missing");
    let out = s.ruleq(&["test", "--new", "rules/nope.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("rules/nope.toml"), "{}", stderr(&out));
    assert!(!s.0.join("rule_tests").exists());
}
