//! `ruleq test --junit FILE`: the results as JUnit XML, for CI dashboards.
//!
//! One `<testsuite>` per test file (named after its rule, with the
//! properties `rule_id`, `rule_file` and `test_file`), one `<testcase>` per
//! case: `classname` is the rule file's path with dots (`rules.x` for
//! `rules/x.toml`), `name` the case's name, and `file` and `line` say where
//! the case is written. A case that failed holds a `<failure>` whose `type`
//! is the kind of its first unmet expectation (`alert_count`,
//! `alert_events`, `alert_field`) and whose text is the diff `ruleq test`
//! prints; a case that could not run holds an `<error>`; a skipped case a
//! `<skipped message="why"/>`. A test file that did not load, or names no
//! loaded rule, is a testcase of its own holding an `<error>`.
//!
//! The report carries no timestamp, host name or id: only the `time`
//! attributes (seconds) change from run to run. `tests/junit.xsd` is the
//! shape written.

use super::file::TestFile;
use super::{Failure, FailureKind, SeenAlert};
use crate::rule::{Rule, RuleFile};
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use std::path::{Component, Path};
use std::time::Duration;

/// What became of one case.
#[derive(Debug, Clone, Copy)]
pub enum Outcome<'a> {
    /// Every expectation held.
    Passed,
    /// Expectations not met: the failures, the alerts the case saw, and a
    /// note (what `execution = "all"` would give).
    Failed {
        /// The unmet expectations, in order.
        failures: &'a [Failure],
        /// The alerts the case saw.
        alerts: &'a [SeenAlert],
        /// A note for the reader, when there is one.
        hint: Option<&'a str>,
    },
    /// Not run: the rule's type is not evaluated (the reason).
    Skipped(&'a str),
    /// Could not run (the reason).
    Error(&'a str),
}

/// One case's result, as the report needs it.
#[derive(Debug, Clone, Copy)]
pub struct CaseReport<'a> {
    /// What became of it.
    pub outcome: Outcome<'a>,
    /// How long it took.
    pub time: Duration,
}

/// One test file's results: a `<testsuite>`.
#[derive(Debug, Clone)]
pub struct SuiteReport<'a> {
    /// The test file.
    pub test: &'a TestFile,
    /// Its rule, when one is loaded with its `rule_id`.
    pub rule: Option<(&'a RuleFile, &'a Rule)>,
    /// Its cases' results, in case order.
    pub cases: Vec<CaseReport<'a>>,
}

/// A test file that did not load, or names no loaded rule.
#[derive(Debug, Clone)]
pub struct LoadProblem {
    /// The test file.
    pub path: std::path::PathBuf,
    /// The line the problem is reported at.
    pub line: usize,
    /// The problem in one line.
    pub message: String,
    /// The full report (the rendered diagnostic).
    pub detail: String,
}

/// The name of a testcase that stands for a whole test file's loading.
pub const LOAD_CASE: &str = "(test file)";

/// A path as a dotted class name: `rules/linux/x.toml` → `rules.linux.x`.
pub fn classname(path: &Path) -> String {
    let path = path.with_extension("");
    path.components()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(p.to_string_lossy().into_owned()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// One failure in one line (a failure element's `message`).
fn headline(f: &Failure) -> String {
    if matches!(f.kind, FailureKind::Placeholder | FailureKind::Vacuous) {
        return format!("{}: {}", f.actual, f.expected);
    }
    match (f.alert, &f.field) {
        (None, _) => format!("expected {} alerts, got {}", f.expected, f.actual),
        (Some(n), Some(field)) => format!(
            "alert {n}: {field}: expected {}, got {}",
            f.expected, f.actual
        ),
        (Some(n), None) => format!(
            "alert {n}: events: expected [{}], got [{}]",
            f.expected, f.actual
        ),
    }
}

/// The diff of a failed case, as `ruleq test` prints it.
pub fn diff(failures: &[Failure], alerts: &[SeenAlert], hint: Option<&str>) -> String {
    let mut lines = super::failure_lines(failures, alerts);
    if let Some(hint) = hint {
        lines.push(format!("note: {hint}"));
    }
    lines.join("\n")
}

fn testcase(
    name: &str,
    classname: &str,
    file: &Path,
    line: usize,
    status: TestCaseStatus,
) -> TestCase {
    let mut case = TestCase::new(name, status);
    case.set_classname(classname);
    case.extra
        .insert("file".into(), file.display().to_string().into());
    case.extra.insert("line".into(), line.to_string().into());
    case
}

fn error(message: &str, detail: &str) -> TestCaseStatus {
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
    status.set_message(message.lines().next().unwrap_or(""));
    status.set_description(detail);
    status
}

fn suite_of(report: &SuiteReport) -> TestSuite {
    let test = report.test;
    let name = match report.rule {
        Some((_, rule)) => crate::detect::rule_name(rule).to_string(),
        None => test
            .rule_name
            .as_ref()
            .map_or_else(|| test.rule_id.clone(), |(n, _)| n.clone()),
    };
    let mut suite = TestSuite::new(name);
    suite.add_property(Property::new("rule_id", test.rule_id.as_str()));
    if let Some((file, _)) = report.rule {
        suite.add_property(Property::new("rule_file", file.path.display().to_string()));
    }
    suite.add_property(Property::new("test_file", test.path.display().to_string()));
    let class = match report.rule {
        Some((file, _)) => classname(&file.path),
        None => classname(&test.path),
    };
    let mut time = Duration::ZERO;
    for (case, result) in test.cases.iter().zip(&report.cases) {
        let line = crate::diag::line_col(&test.source, case.span.start).0;
        let status = match result.outcome {
            Outcome::Passed => TestCaseStatus::success(),
            Outcome::Failed {
                failures,
                alerts,
                hint,
            } => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                let kind = failures.first().map_or(FailureKind::AlertCount, |f| f.kind);
                status.set_type(kind.name());
                status.set_message(failures.iter().map(headline).collect::<Vec<_>>().join("; "));
                status.set_description(diff(failures, alerts, hint));
                status
            }
            Outcome::Skipped(why) => {
                let mut status = TestCaseStatus::skipped();
                status.set_message(why);
                status
            }
            Outcome::Error(why) => error(why, why),
        };
        let mut tc = testcase(&case.name, &class, &test.path, line, status);
        tc.set_time(result.time);
        time += result.time;
        suite.add_test_case(tc);
    }
    suite.set_time(time);
    suite
}

/// The report: a suite per test file, in the order given, and the load
/// problems, each in its test file's suite or, when that file has none, in
/// a suite of its own named after the file.
pub fn report(suites: &[SuiteReport], problems: &[LoadProblem]) -> Report {
    let mut built: Vec<(&Path, TestSuite)> = suites
        .iter()
        .map(|s| (s.test.path.as_path(), suite_of(s)))
        .collect();
    for p in problems {
        let tc = testcase(
            LOAD_CASE,
            &classname(&p.path),
            &p.path,
            p.line,
            error(&p.message, &p.detail),
        );
        match built.iter_mut().find(|(path, _)| *path == p.path) {
            Some((_, suite)) => {
                // First in its suite: the file's problem before its cases.
                suite.tests += 1;
                suite.errors += 1;
                suite.test_cases.insert(0, tc);
            }
            None => {
                let mut suite = TestSuite::new(p.path.display().to_string());
                suite.add_property(Property::new("test_file", p.path.display().to_string()));
                suite.set_time(Duration::ZERO);
                suite.add_test_case(tc);
                built.push((p.path.as_path(), suite));
            }
        }
    }
    let mut report = Report::new("ruleq test");
    let time = built.iter().filter_map(|(_, s)| s.time).sum();
    report.add_test_suites(built.into_iter().map(|(_, s)| s));
    report.set_time(time);
    report
}

/// Writes `report` to `path`.
pub fn write(path: &Path, report: &Report) -> std::io::Result<()> {
    let text = report
        .to_string()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classnames_are_dotted_paths_without_the_extension() {
        assert_eq!(classname(Path::new("rules/linux/x.toml")), "rules.linux.x");
        assert_eq!(classname(Path::new("./rules/x.toml")), "rules.x");
        assert_eq!(classname(Path::new("/tmp/r/x.json")), "tmp.r.x");
    }

    #[test]
    fn a_count_failure_lists_the_alerts_seen() {
        let failures = [Failure {
            kind: FailureKind::AlertCount,
            expected: "0".into(),
            actual: "1".into(),
            alert: None,
            field: None,
        }];
        let alerts = [SeenAlert {
            events: vec!["a".into(), "b".into()],
            document: serde_json::Map::new(),
        }];
        assert_eq!(
            diff(&failures, &alerts, Some("look")),
            "expected 0 alerts, got 1\n+ alert 1  events: a, b   reason: \"\"\nnote: look"
        );
        assert_eq!(headline(&failures[0]), "expected 0 alerts, got 1");
    }
}
