//! `ruleq test` on a rule with alert suppression: its cases run through
//! the same executors as `ruleq run`, so the three executions suppress as
//! `ruleq run` does (one execution over everything groups over all the
//! events; the schedule and one execution per window), and an expected
//! alert is asserted by its representative event and its suppression
//! fields.

use std::path::{Path, PathBuf};

const RULE: &str = include_str!("fixtures/suppression/query_by_host.toml");
const RULE_ID: &str = "c0a80001-5a11-4e55-9000-000000000001";

struct Project {
    dir: PathBuf,
}

impl Project {
    fn new(tag: &str) -> Project {
        let dir = std::env::temp_dir().join(format!(
            "ruleq-test-suppression-{tag}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("rules")).unwrap();
        std::fs::create_dir_all(dir.join("rule_tests/rules")).unwrap();
        std::fs::write(dir.join("rules/logons_by_host.toml"), RULE).unwrap();
        Project { dir }
    }

    fn test(&self, cases: &str) -> (i32, String) {
        std::fs::write(
            self.dir.join("rule_tests/rules/logons_by_host.toml"),
            format!("rule_id = \"{RULE_ID}\"\n{cases}"),
        )
        .unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ruleq"))
            .current_dir(Path::new(&self.dir))
            .args(["test", "-v"])
            .env("CI", "true")
            .env_remove("RULEQ_UPDATE")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), text)
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Three logons on h1 (at 1, 2 and 20 minutes) and one on h2, under
/// `execution`, with `expect` after them.
fn case(name: &str, execution: &str, extra: &str, expect: &str) -> String {
    format!(
        r#"
[[case]]
name = "{name}"
execution = "{execution}"
{extra}
{expect}
  [[case.event]]
  _id = "a"
  _at = "1m"
  event.category = "authentication"
  host.name = "h1"
  [[case.event]]
  _id = "b"
  _at = "2m"
  event.category = "authentication"
  host.name = "h1"
  [[case.event]]
  _id = "h2"
  _at = "3m"
  event.category = "authentication"
  host.name = "h2"
  [[case.event]]
  _id = "c"
  _at = "20m"
  event.category = "authentication"
  host.name = "h1"
"#
    )
}

#[test]
fn the_three_executions_suppress_as_ruleq_run_does() {
    let p = Project::new("executions");
    let all = case(
        "all",
        "all",
        "",
        r#"alerts = 2
  [[case.alert]]
  events = ["a"]
  fields."kibana.alert.suppression.docs_count" = 2
  fields."kibana.alert.suppression.terms" = [{ field = "host.name", value = "h1" }]
  fields."kibana.alert.suppression.start" = "2000-01-01T00:01:00.000Z"
  fields."kibana.alert.suppression.end" = "2000-01-01T00:20:00.000Z"
  [[case.alert]]
  events = ["h2"]
  fields."kibana.alert.suppression.docs_count" = 0"#,
    );
    // The 00:05 execution groups a and b; c is seen at 00:20 and again at
    // 00:25, where the bucket history leaves it out.
    let schedule = case(
        "schedule",
        "schedule",
        "",
        r#"alerts = 3
  [[case.alert]]
  events = ["a"]
  fields."kibana.alert.suppression.docs_count" = 1
  fields."@timestamp" = "2000-01-01T00:05:00.000Z"
  [[case.alert]]
  events = ["h2"]
  [[case.alert]]
  events = ["c"]
  fields."kibana.alert.suppression.docs_count" = 0
  fields."@timestamp" = "2000-01-01T00:20:00.000Z""#,
    );
    let once = case(
        "once",
        "once",
        "now = 2000-01-01T00:06:00Z",
        r#"alerts = 2
  [[case.alert]]
  events = ["a"]
  fields."kibana.alert.suppression.docs_count" = 1
  [[case.alert]]
  events = ["h2"]"#,
    );
    let (code, out) = p.test(&format!("{all}{schedule}{once}"));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("3 passed") || out.contains("passed: 3") || out.matches("pass").count() >= 3,
        "{out}"
    );
    // A wrong count fails, naming the case.
    let wrong = case("schedule-wrong", "schedule", "", "alerts = 2");
    let (code, out) = p.test(&wrong);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("schedule-wrong"), "{out}");
}
