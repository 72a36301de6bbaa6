//! `ruleq test --junit FILE` through the binary: a scratch tree of rules and
//! tests with passing, failing, skipped, erroring and orphaned cases; the
//! report read back, and validated against `tests/junit.xsd` with xmllint
//! or Python's xmlschema (skipped without either, except under CI).

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A scratch folder, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("ruleq-test-junit-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn write(&self, path: &str, text: &str) {
        let path = self.0.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn repo(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

fn ruleq(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ruleq"))
        .current_dir(dir)
        .args(args)
        .env_remove("CI")
        .output()
        .unwrap()
}

const PORT_RULE: &str = "rules/command_and_control_telnet_port_activity.toml";
const PORT_ID: &str = "34fde489-94b0-4500-a76f-b8a157cf9269";

/// Tests of the seed KQL rule: one passes, one misses its count, one its
/// field, one's events cannot be read.
const PORT_TESTS: &str = r#"rule_id = "34fde489-94b0-4500-a76f-b8a157cf9269"

[[case]]
name = "tcp/23 alerts"
alerts = 1
  [[case.event]]
  event.category = "network"
  network.transport = "tcp"
  destination.port = 23

[[case]]
name = "udp/23 is said to alert, wrongly"
alerts = 1
  [[case.event]]
  event.category = "network"
  network.transport = "udp"
  destination.port = 23

[[case]]
name = "a wrong risk score"
  [[case.alert]]
  fields."kibana.alert.risk_score" = 73
  [[case.event]]
  event.category = "network"
  network.transport = "tcp"
  destination.port = 23

[[case]]
name = "events that go back in time"
alerts = 0
  [[case.event]]
  _at = "1h"
  event.category = "network"
  [[case.event]]
  _at = "1m"
  event.category = "network"
"#;

/// The seed KQL rule made an ES|QL rule, which ruleq cannot evaluate
/// offline.
fn unevaluated_rule() -> String {
    let rule = repo(PORT_RULE)
        .replace(PORT_ID, "0000aaaa-0000-4000-8000-000000000001")
        .replace("name = \"Telnet Port Activity\"", "name = \"Many telnets\"")
        .replace("type = \"query\"", "type = \"esql\"")
        .replace("language = \"kuery\"", "language = \"esql\"")
        .replace(
            "event.category:(network or network_traffic) and network.transport:tcp and destination.port:23",
            "from logs-* | where destination.port == 23",
        );
    assert!(rule.contains("type = \"esql\"") && rule.contains("from logs-*"));
    rule
}

const ESQL_TESTS: &str = r#"rule_id = "0000aaaa-0000-4000-8000-000000000001"

[[case]]
name = "ten telnets"
min_alerts = 1
  [[case.event]]
  destination.port = 23
"#;

const ORPHAN_TESTS: &str = r#"rule_id = "ffffffff-0000-4000-8000-00000000dead"
rule_name = "A deleted rule"

[[case]]
name = "once alerted"
alerts = 1
  [[case.event]]
  destination.port = 23
"#;

const BROKEN_TESTS: &str = r#"rule_id = "34fde489-94b0-4500-a76f-b8a157cf9269"

[[case]]
name = "a typo"
alets = 0
"#;

fn tree(tag: &str) -> Scratch {
    let s = Scratch::new(tag);
    s.write(PORT_RULE, &repo(PORT_RULE));
    s.write("rules/esql.toml", &unevaluated_rule());
    s.write(&format!("rule_tests/{PORT_RULE}"), PORT_TESTS);
    s.write("rule_tests/rules/esql.toml", ESQL_TESTS);
    s.write("rule_tests/rules/deleted.toml", ORPHAN_TESTS);
    s.write("rule_tests/rules/broken.toml", BROKEN_TESTS);
    s
}

fn suite<'a>(report: &'a Report, name: &str) -> &'a TestSuite {
    report
        .test_suites
        .iter()
        .find(|s| s.name.as_str() == name)
        .unwrap_or_else(|| panic!("no testsuite {name:?}"))
}

fn case<'a>(suite: &'a TestSuite, name: &str) -> &'a TestCase {
    suite
        .test_cases
        .iter()
        .find(|c| c.name.as_str() == name)
        .unwrap_or_else(|| panic!("no testcase {name:?} in {:?}", suite.name))
}

fn extra<'a>(case: &'a TestCase, key: &str) -> &'a str {
    case.extra
        .get(key)
        .map(|v| v.as_str())
        .unwrap_or_else(|| panic!("testcase {:?} has no {key}", case.name))
}

fn property<'a>(suite: &'a TestSuite, name: &str) -> Option<&'a str> {
    suite
        .properties
        .iter()
        .find(|p| p.name.as_str() == name)
        .map(|p| p.value.as_str())
}

/// (kind, type, message, text) of a case that did not pass.
fn non_success(case: &TestCase) -> (NonSuccessKind, Option<&str>, Option<&str>, Option<&str>) {
    match &case.status {
        TestCaseStatus::NonSuccess {
            kind,
            message,
            ty,
            description,
            ..
        } => (
            *kind,
            ty.as_deref(),
            message.as_deref(),
            description.as_deref(),
        ),
        other => panic!("testcase {:?} is {other:?}", case.name),
    }
}

#[test]
fn the_report_has_a_suite_per_test_file_and_a_testcase_per_case() {
    let s = tree("content");
    let out = ruleq(&s.0, &["test", "--junit", "out.xml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Load errors (the broken file, the orphan) rank first.
    assert_eq!(out.status.code(), Some(3), "stderr: {stderr}");
    // The stdout format is still written.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("udp/23 is said to alert, wrongly"),
        "{stdout}"
    );
    let xml = std::fs::read_to_string(s.0.join("out.xml")).unwrap();
    let report = Report::deserialize_from_str(&xml).unwrap();

    // Totals: 4 + 1 + 1 cases, and 2 testcases for the files that did not
    // load or name no rule.
    assert_eq!(report.tests, 8, "{xml}");
    assert_eq!(report.failures, 2, "{xml}");
    assert_eq!(report.errors, 4, "{xml}");
    assert_eq!(report.skipped, 1, "{xml}");
    assert!(report.time.is_some());

    let port = suite(&report, "Telnet Port Activity");
    assert_eq!(property(port, "rule_id"), Some(PORT_ID));
    assert_eq!(property(port, "rule_file"), Some(PORT_RULE));
    assert_eq!((port.tests, port.failures, port.errors), (4, 2, 1));
    let test_file = format!("rule_tests/{PORT_RULE}");
    let names: Vec<&str> = port.test_cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "tcp/23 alerts",
            "udp/23 is said to alert, wrongly",
            "a wrong risk score",
            "events that go back in time"
        ]
    );
    for (c, line) in port.test_cases.iter().zip(["3", "11", "19", "28"]) {
        assert_eq!(
            c.classname.as_deref(),
            Some("rules.command_and_control_telnet_port_activity")
        );
        assert_eq!(extra(c, "file"), test_file);
        assert_eq!(extra(c, "line"), line, "{:?}", c.name);
    }
    assert!(matches!(
        case(port, "tcp/23 alerts").status,
        TestCaseStatus::Success { .. }
    ));

    let (kind, ty, message, text) = non_success(case(port, "udp/23 is said to alert, wrongly"));
    assert_eq!(kind, NonSuccessKind::Failure);
    assert_eq!(ty, Some("alert_count"));
    assert_eq!(message, Some("expected 1 alerts, got 0"));
    assert_eq!(text, Some("expected 1 alerts, got 0"));

    let (kind, ty, message, text) = non_success(case(port, "a wrong risk score"));
    assert_eq!(kind, NonSuccessKind::Failure);
    assert_eq!(ty, Some("alert_field"));
    assert_eq!(
        message,
        Some("alert 1: kibana.alert.risk_score: expected 73, got 47")
    );
    assert_eq!(
        text,
        Some("alert 1: kibana.alert.risk_score\n  - 73\n  + 47")
    );

    let (kind, _, message, _) = non_success(case(port, "events that go back in time"));
    assert_eq!(kind, NonSuccessKind::Error);
    assert!(
        message.unwrap().contains("`_at` goes back in time"),
        "{message:?}"
    );

    let esql = suite(&report, "Many telnets");
    assert_eq!(property(esql, "rule_file"), Some("rules/esql.toml"));
    let skipped = case(esql, "ten telnets");
    assert_eq!(skipped.classname.as_deref(), Some("rules.esql"));
    match &skipped.status {
        TestCaseStatus::Skipped { message, .. } => assert_eq!(
            message.as_deref(),
            Some("esql rules cannot be evaluated offline")
        ),
        other => panic!("the ES|QL case is {other:?}"),
    }

    // The orphan: its file's problem first, then its case, both errors.
    let orphan = suite(&report, "A deleted rule");
    assert_eq!(property(orphan, "rule_file"), None);
    assert_eq!((orphan.tests, orphan.errors), (2, 2));
    let load = &orphan.test_cases[0];
    assert_eq!(load.name.as_str(), "(test file)");
    assert_eq!(extra(load, "file"), "rule_tests/rules/deleted.toml");
    assert_eq!(extra(load, "line"), "1");
    let (kind, _, message, text) = non_success(load);
    assert_eq!(kind, NonSuccessKind::Error);
    assert!(
        message.unwrap().contains("has rule_id ffffffff"),
        "{message:?}"
    );
    assert!(text.unwrap().contains("test::orphan"), "{text:?}");
    let (kind, ..) = non_success(case(orphan, "once alerted"));
    assert_eq!(kind, NonSuccessKind::Error);

    // The file that did not load: a suite named after it, one testcase.
    let broken = suite(&report, "rule_tests/rules/broken.toml");
    assert_eq!(broken.tests, 1);
    let load = &broken.test_cases[0];
    assert_eq!(extra(load, "line"), "5");
    let (kind, _, message, _) = non_success(load);
    assert_eq!(kind, NonSuccessKind::Error);
    assert!(
        message.unwrap().contains("unknown key `alets`"),
        "{message:?}"
    );

    // Nothing that varies from run to run but the times.
    for word in ["timestamp=", "hostname=", "uuid=", "id="] {
        assert!(!xml.contains(&format!(" {word}")), "{word} in {xml}");
    }
}

#[test]
fn the_report_is_written_beside_json_output_and_when_all_pass() {
    let s = Scratch::new("pass");
    s.write(PORT_RULE, &repo(PORT_RULE));
    s.write(
        &format!("rule_tests/{PORT_RULE}"),
        &repo(&format!("rule_tests/{PORT_RULE}")),
    );
    // Its AST snapshot, which the test file asks for, and the exception
    // list a case applies.
    let ast = "rule_tests/rules/__snapshots__/command_and_control_telnet_port_activity.ast.snap";
    s.write(ast, &repo(ast));
    let lists = "rule_tests/rules/exceptions/known_telnet_admin.ndjson";
    s.write(lists, &repo(lists));
    let out = ruleq(
        &s.0,
        &["test", "--format", "json", "--junit", "reports/junit.xml"],
    );
    // The report's folder does not exist: an I/O error, said so.
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--junit reports/junit.xml"));
    std::fs::create_dir(s.0.join("reports")).unwrap();
    let out = ruleq(
        &s.0,
        &["test", "--format", "json", "--junit", "reports/junit.xml"],
    );
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["summary"]["passed"], 7);
    let xml = std::fs::read_to_string(s.0.join("reports/junit.xml")).unwrap();
    let report = Report::deserialize_from_str(&xml).unwrap();
    assert_eq!(
        (report.tests, report.failures, report.errors, report.skipped),
        (7, 0, 0, 0)
    );
    validate(&s.0.join("reports/junit.xml"));
}

/// Validates `xml` against tests/junit.xsd with xmllint, else Python's
/// xmlschema. Without either it says so and returns, except under CI.
fn validate(xml: &Path) {
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/junit.xsd");
    let xmllint = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(xml)
        .output();
    if let Ok(out) = xmllint {
        assert!(
            out.status.success(),
            "xmllint: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(xml).unwrap()
        );
        return;
    }
    let python = Command::new("python3")
        .arg("-c")
        .arg("import sys, xmlschema; xmlschema.XMLSchema(sys.argv[1]).validate(sys.argv[2])")
        .arg(&xsd)
        .arg(xml)
        .output();
    match python {
        Ok(out) if out.status.success() => return,
        Ok(out) if !String::from_utf8_lossy(&out.stderr).contains("No module named") => panic!(
            "xmlschema: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(xml).unwrap()
        ),
        _ => {}
    }
    let why = "neither xmllint (Debian: libxml2-utils) nor Python's xmlschema is installed";
    if std::env::var_os("CI").is_some() {
        panic!("{why}: CI must validate the JUnit report (.ci/run installs one)");
    }
    eprintln!("skipped: the JUnit report was not validated: {why}");
}

#[test]
fn the_report_validates_against_the_schema() {
    let s = tree("schema");
    let out = ruleq(&s.0, &["test", "--junit", "out.xml"]);
    assert_eq!(out.status.code(), Some(3));
    validate(&s.0.join("out.xml"));
}
