//! `ruleq test`: run the cases of the test files under `rule_tests/`
//! against the rules they name, and say what failed and why.

use clap::{Args, ValueEnum};
use ruleq::detect::{load_rules, rule_name};
use ruleq::diag::Diagnostic;
use ruleq::explain::{ExplainEvent, ExplainOptions};
use ruleq::mapping::Mapping;
use ruleq::rule::{Rule, RuleFile};
use ruleq::ruletest::case::{self, NotRun};
use ruleq::ruletest::file::{Case, Execution, TestFile};
use ruleq::ruletest::{expectations, junit, scaffold, seen_alerts, Failure, SeenAlert};
use serde_json::{json, Value as Json};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// How results are written.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TestFormat {
    /// Failures with their case's `file:line` and a diff; a summary.
    Human,
    /// One JSON document: a summary and every case's result.
    Json,
}

/// Arguments of `ruleq test`.
#[derive(Args)]
pub struct TestArgs {
    /// Run only these tests: test files, rule files (their tests), or
    /// folders of either. Other tests are still loaded and checked.
    #[arg(value_name = "PATHS")]
    paths: Vec<PathBuf>,
    /// Rule files or folders (repeatable), as for `ruleq run`.
    #[arg(
        short = 'r',
        long = "rules",
        value_name = "PATH",
        default_value = "rules"
    )]
    rules: Vec<PathBuf>,
    /// The folder of test files.
    #[arg(
        short = 't',
        long = "tests",
        value_name = "DIR",
        default_value = "rule_tests"
    )]
    tests: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: TestFormat,
    /// Show passing cases too.
    #[arg(short, long)]
    verbose: bool,
    /// The execution time of cases that run once (`execution = "once"` or
    /// `"all"`), as RFC 3339, over each case's own `now`.
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
    /// Fail unless every rule that runs has a case that must alert and one
    /// that must not.
    #[arg(long)]
    require_tests: bool,
    /// Fail on skipped cases (rule types ruleq cannot evaluate).
    #[arg(long)]
    fail_on_skip: bool,
    /// Fail on vacuous cases: a case that must not alert, none of whose
    /// events reaches the rule (its index patterns, filters, event
    /// category, or any step of a sequence).
    #[arg(long)]
    strict: bool,
    /// An Elasticsearch index mapping (repeatable; merged), as for `ruleq run`.
    #[arg(long = "mapping", value_name = "FILE")]
    mappings: Vec<PathBuf>,
    /// Also write the results as JUnit XML to FILE.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write a test file to fill in for RULE_FILE, at its mirrored path
    /// under the tests folder, and run nothing.
    #[arg(long = "new", value_name = "RULE_FILE", conflicts_with = "paths")]
    new: Option<PathBuf>,
}

/// A case's result.
enum Status {
    Passed,
    Failed(Vec<Failure>),
    Skipped(String),
    Error(String),
}

/// One case's result and what it saw.
struct CaseResult {
    status: Status,
    /// A passing case that must not alert, none of whose events reaches
    /// the rule.
    vacuous: bool,
    alerts: Vec<SeenAlert>,
    /// A note for a failing case: the result under `execution = "all"`.
    hint: Option<String>,
    /// A setting the case's execution ignores.
    ignored: Option<String>,
    /// For a failing case: why each of its events did or did not match.
    explanation: Option<String>,
}

/// One test file, its rule, its cases' results.
struct FileResult<'a> {
    test: &'a TestFile,
    rule: Option<(&'a RuleFile, &'a Rule)>,
    results: Vec<CaseResult>,
}

/// The 1-based line of a byte offset.
fn line(source: &str, offset: usize) -> usize {
    ruleq::diag::line_col(source, offset).0
}

/// Collects the `.toml` files below `dir`, sorted.
fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden || path.file_name().is_some_and(|n| n == "__snapshots__") {
            continue;
        }
        if path.is_dir() {
            toml_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    Ok(())
}

/// Whether `path` is `under` or lies below it.
fn within(path: &Path, under: &Path) -> bool {
    let clean = |p: &Path| {
        p.components()
            .filter(|c| c.as_os_str() != ".")
            .collect::<PathBuf>()
    };
    clean(path).starts_with(clean(under))
}

/// Runs `ruleq test`.
pub fn test(args: TestArgs) -> i32 {
    if let Some(rule) = &args.new {
        return new_test_file(rule, &args.tests);
    }
    let now = match &args.now {
        None => None,
        Some(text) => {
            match ruleq::ruletest::file::rfc3339(text) {
                Some(t) => Some(t),
                None => {
                    eprintln!("error: --now {text}: expected an RFC 3339 time such as 2024-05-01T10:00:00Z");
                    return 2;
                }
            }
        }
    };
    let mapping = match Mapping::from_files(&args.mappings) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let rule_files = match load_rules(&args.rules) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let mut by_id: HashMap<&str, (&RuleFile, &Rule)> = HashMap::new();
    for file in &rule_files {
        for rule in &file.rules {
            if let Some(id) = rule.id() {
                by_id.entry(id).or_insert((file, rule));
            }
        }
    }
    let mut paths = Vec::new();
    if args.tests.is_dir() {
        if let Err(e) = toml_files(&args.tests, &mut paths) {
            eprintln!("error: {}: {e}", args.tests.display());
            return 2;
        }
    } else if !args.paths.is_empty() || args.tests != Path::new("rule_tests") {
        eprintln!(
            "error: {}: no such folder of test files",
            args.tests.display()
        );
        return 2;
    }
    for p in &args.paths {
        if !p.exists() {
            eprintln!("error: {}: no such file or folder", p.display());
            return 2;
        }
    }
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut load_errors = 0usize;
    let mut load_problems = Vec::new();
    let mut tests = Vec::new();
    for path in &paths {
        let source = match std::fs::read_to_string(path) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return 2;
            }
        };
        match TestFile::parse(path, source.clone()) {
            Ok(t) => tests.push(t),
            Err(d) => {
                eprint!("{}", d.render(&path.display().to_string(), &source, color));
                load_problems.push(load_problem(path, &source, &d));
                load_errors += 1;
            }
        }
    }
    // Orphans are errors, whichever tests the paths select.
    for t in &tests {
        match by_id.get(t.rule_id.as_str()) {
            None => {
                let d = Diagnostic::error(
                    "test::orphan",
                    format!("no rule loaded from {} has rule_id {}", describe(&args.rules), t.rule_id),
                    t.rule_id_span,
                )
                .with_help("the rule was deleted or its id changed, or -r does not load it: fix the id or remove the test file");
                eprint!(
                    "{}",
                    d.render(&t.path.display().to_string(), &t.source, color)
                );
                load_problems.push(load_problem(&t.path, &t.source, &d));
                load_errors += 1;
            }
            Some((file, rule)) => {
                if let Some((name, span)) = &t.rule_name {
                    if name != rule_name(rule) {
                        let d = Diagnostic::warning(
                            "test::rule-name",
                            format!(
                                "rule_name \"{name}\" is not the name of rule {}: \"{}\"",
                                t.rule_id,
                                rule_name(rule)
                            ),
                            *span,
                        )
                        .with_help("a pasted wrong rule_id, or a renamed rule: fix one of them");
                        eprint!(
                            "{}",
                            d.render(&t.path.display().to_string(), &t.source, color)
                        );
                    }
                }
                let mirror = args.tests.join(&file.path);
                let clean = |p: &Path| {
                    p.components()
                        .filter(|c| c.as_os_str() != ".")
                        .collect::<PathBuf>()
                };
                if clean(&mirror) != clean(&t.path) {
                    eprintln!(
                        "warning: {} tests {}, whose test file belongs at {}: git mv {} {}",
                        t.path.display(),
                        file.path.display(),
                        mirror.display(),
                        t.path.display(),
                        mirror.display()
                    );
                }
            }
        }
    }
    let selected: Vec<&TestFile> = tests
        .iter()
        .filter(|t| {
            args.paths.is_empty()
                || args.paths.iter().any(|p| {
                    within(&t.path, p)
                        || by_id
                            .get(t.rule_id.as_str())
                            .is_some_and(|(file, _)| within(&file.path, p))
                })
        })
        .collect();
    let jobs: Vec<(usize, usize)> = selected
        .iter()
        .enumerate()
        .flat_map(|(i, t)| (0..t.cases.len()).map(move |c| (i, c)))
        .collect();
    let ran = ruleq::par::map(&jobs, |&(i, c)| {
        let t = selected[i];
        let started = std::time::Instant::now();
        let result = match by_id.get(t.rule_id.as_str()) {
            Some(&(file, rule)) => run_case(t, &t.cases[c], file, rule, now, mapping.as_ref()),
            None => CaseResult {
                status: Status::Error(format!("no rule has rule_id {}", t.rule_id)),
                vacuous: false,
                alerts: Vec::new(),
                hint: None,
                ignored: None,
                explanation: None,
            },
        };
        (result, started.elapsed())
    });
    let (ran, times): (Vec<CaseResult>, Vec<_>) = ran.into_iter().unzip();
    let mut ran = ran.into_iter();
    let results: Vec<FileResult> = selected
        .iter()
        .map(|t| FileResult {
            test: t,
            rule: by_id.get(t.rule_id.as_str()).copied(),
            results: ran.by_ref().take(t.cases.len()).collect(),
        })
        .collect();
    // Which rules lack a positive or a negative case.
    let mut untested = Vec::new();
    for file in &rule_files {
        for rule in &file.rules {
            if rule.is_deprecated() || ruleq::detect::executor::executor(rule).is_err() {
                continue;
            }
            let cases: Vec<&Case> = tests
                .iter()
                .filter(|t| Some(t.rule_id.as_str()) == rule.id())
                .flat_map(|t| &t.cases)
                .collect();
            let positive = cases.iter().any(|c| c.is_positive());
            let negative = cases.iter().any(|c| c.is_negative());
            if !positive || !negative {
                untested.push((
                    file.path.clone(),
                    rule_name(rule).to_string(),
                    positive,
                    negative,
                ));
            }
        }
    }
    let summary = Summary::of(&results, load_errors, untested.len());
    if now.is_some() {
        let scheduled = selected
            .iter()
            .flat_map(|t| t.cases.iter().map(|c| c.execution.or(t.execution)))
            .filter(|e| e.unwrap_or(Execution::Schedule) == Execution::Schedule)
            .count();
        if scheduled > 0 {
            eprintln!(
                "note: --now is ignored by the {scheduled} cases that run under execution = \"schedule\": each execution runs at its own time"
            );
        }
    }
    match args.format {
        TestFormat::Human => print!("{}", human(&results, &summary, &untested, &args)),
        TestFormat::Json => println!("{}", json_report(&results, &summary)),
    }
    if let Some(path) = &args.junit {
        if let Err(e) = write_junit(path, &results, &times, &load_problems) {
            eprintln!("error: --junit {}: {e}", path.display());
            return 2;
        }
    }
    if load_errors > 0 || summary.errors > 0 {
        3
    } else if summary.failed > 0
        || (args.require_tests && !untested.is_empty())
        || (args.fail_on_skip && summary.skipped > 0)
        || (args.strict && summary.vacuous > 0)
    {
        1
    } else {
        0
    }
}

fn describe(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs one case.
fn run_case(
    test: &TestFile,
    case: &Case,
    file: &RuleFile,
    rule: &Rule,
    now: Option<i64>,
    mapping: Option<&Mapping>,
) -> CaseResult {
    let error = |why: String| CaseResult {
        status: Status::Error(why),
        vacuous: false,
        alerts: Vec::new(),
        hint: None,
        ignored: None,
        explanation: None,
    };
    let events = match case::events(test, case) {
        Ok(e) => e,
        Err(why) => return error(why),
    };
    let execution = case
        .execution
        .or(test.execution)
        .unwrap_or(Execution::Schedule);
    // Each execution of a schedule has its own time.
    let ignored = (execution == Execution::Schedule && case.now.is_some()).then(|| {
        "`now` is ignored under execution = \"schedule\": each execution runs at its own time"
            .to_string()
    });
    let now = now
        .or(case.now)
        .or_else(|| case::latest(&events))
        .unwrap_or(0);
    let run = |execution| case::run(file, rule, &events, execution, now, mapping);
    let alerts = match run(execution) {
        Ok(r) => seen_alerts(&r.documents),
        Err(NotRun::Skipped(why)) => {
            return CaseResult {
                status: Status::Skipped(why),
                vacuous: false,
                alerts: Vec::new(),
                hint: None,
                ignored: None,
                explanation: None,
            }
        }
        Err(NotRun::Error(why)) => return error(why),
    };
    let failures = expectations(case, &alerts);
    if failures.is_empty() {
        let vacuous = case.is_negative() && !case::reaches(file, rule, &events, mapping);
        return CaseResult {
            status: Status::Passed,
            vacuous,
            alerts,
            hint: None,
            ignored,
            explanation: None,
        };
    }
    // Would the case pass without Kibana's windows? Say so.
    let hint = match (execution, run(Execution::All)) {
        (Execution::All, _) | (_, Err(_)) => None,
        (_, Ok(all)) => {
            let all = seen_alerts(&all.documents);
            (expectations(case, &all).is_empty() || all.len() != alerts.len()).then(|| {
                format!(
                    "under execution = \"all\" (one execution over every event, no window) it gives {} alert(s){}",
                    all.len(),
                    if expectations(case, &all).is_empty() { " and passes" } else { "" }
                )
            })
        }
    };
    // Why each event did or did not match, as `ruleq explain` says it.
    let explained: Vec<ExplainEvent> = events
        .iter()
        .map(|e| ExplainEvent {
            name: e.id.clone(),
            bytes: e.text.clone().into_bytes(),
        })
        .collect();
    let options = ExplainOptions {
        now: (execution == Execution::Once).then_some(now),
        schedule: execution == Execution::Schedule,
        index: None,
        mapping: mapping.cloned(),
    };
    let explanation = ruleq::explain::explain(rule, &explained, &options)
        .map(|e| e.human())
        .ok();
    CaseResult {
        status: Status::Failed(failures),
        vacuous: false,
        alerts,
        hint,
        ignored,
        explanation,
    }
}

/// Counts over all cases.
#[derive(Default)]
struct Summary {
    test_files: usize,
    cases: usize,
    passed: usize,
    failed: usize,
    skipped: usize,
    errors: usize,
    vacuous: usize,
    load_errors: usize,
    rules_without_tests: usize,
}

impl Summary {
    fn of(results: &[FileResult], load_errors: usize, untested: usize) -> Summary {
        let mut s = Summary {
            test_files: results.len(),
            load_errors,
            rules_without_tests: untested,
            ..Summary::default()
        };
        for r in results.iter().flat_map(|f| &f.results) {
            s.cases += 1;
            s.vacuous += usize::from(r.vacuous);
            match r.status {
                Status::Passed => s.passed += 1,
                Status::Failed(_) => s.failed += 1,
                Status::Skipped(_) => s.skipped += 1,
                Status::Error(_) => s.errors += 1,
            }
        }
        s
    }
}

/// An alert in one line: its events and its reason.
fn alert_line(n: usize, alert: &SeenAlert) -> String {
    let reason = alert
        .document
        .get("kibana.alert.reason")
        .and_then(Json::as_str)
        .unwrap_or("");
    format!(
        "alert {n}  events: {}   reason: {reason:?}",
        alert.events.join(", ")
    )
}

fn human(
    results: &[FileResult],
    s: &Summary,
    untested: &[(PathBuf, String, bool, bool)],
    args: &TestArgs,
) -> String {
    let mut out = String::new();
    for f in results {
        let name = f.rule.map_or("", |(_, r)| rule_name(r));
        let mut lines = Vec::new();
        for (case, r) in f.test.cases.iter().zip(&f.results) {
            let at = line(&f.test.source, case.span.start);
            if let Some(note) = &r.ignored {
                lines.push(format!("  note: {}: {note}", case.name));
            }
            match &r.status {
                Status::Passed if r.vacuous => lines.push(format!(
                    "  {} {}  :{at}\n      vacuous: none of its events reaches the rule (its index patterns, filters, event category, or a step of its sequence), so it tests nothing",
                    if args.strict { "✗" } else { "⚠" },
                    case.name
                )),
                Status::Passed if args.verbose => lines.push(format!("  ✓ {}", case.name)),
                Status::Passed => {}
                Status::Skipped(why) => lines.push(format!("  - {}: skipped ({why})", case.name)),
                Status::Error(why) => {
                    lines.push(format!("  ! {}  :{at}", case.name));
                    for l in why.lines() {
                        lines.push(format!("      {l}"));
                    }
                }
                Status::Failed(failures) => {
                    lines.push(format!("  ✗ {}  :{at}", case.name));
                    for fail in failures {
                        match (fail.alert, &fail.field) {
                            (None, _) => {
                                lines.push(format!(
                                    "      expected {} alerts, got {}",
                                    fail.expected, fail.actual
                                ));
                                for (n, a) in r.alerts.iter().enumerate() {
                                    lines.push(format!("      + {}", alert_line(n + 1, a)));
                                }
                            }
                            (Some(n), Some(field)) => {
                                lines.push(format!("      alert {n}: {field}"));
                                lines.push(format!("        - {}", fail.expected));
                                lines.push(format!("        + {}", fail.actual));
                            }
                            (Some(n), None) => {
                                lines.push(format!("      alert {n}: events"));
                                lines.push(format!("        - {}", fail.expected));
                                lines.push(format!("        + {}", fail.actual));
                            }
                        }
                    }
                    if let Some(hint) = &r.hint {
                        lines.push(format!("      note: {hint}"));
                    }
                    if let Some(explanation) = &r.explanation {
                        lines.push("      why:".to_string());
                        for l in explanation.lines() {
                            lines.push(format!("        {l}"));
                        }
                    }
                }
            }
        }
        if !lines.is_empty() {
            out.push_str(&format!("{}  {name}\n", f.test.path.display()));
            for l in lines {
                out.push_str(&l);
                out.push('\n');
            }
        }
    }
    if !out.is_empty() {
        out.push('\n');
    }
    let mut tail = Vec::new();
    if s.skipped > 0 {
        tail.push(format!("{} skipped", s.skipped));
    }
    if s.errors > 0 {
        tail.push(format!("{} errors", s.errors));
    }
    if s.vacuous > 0 {
        tail.push(format!("{} vacuous", s.vacuous));
    }
    out.push_str(&format!(
        "{} test files, {} cases: {} passed, {} failed{}{}\n",
        s.test_files,
        s.cases,
        s.passed,
        s.failed,
        if tail.is_empty() { "" } else { ", " },
        tail.join(", ")
    ));
    if s.load_errors > 0 {
        out.push_str(&format!(
            "{} test files could not be loaded or name no loaded rule\n",
            s.load_errors
        ));
    }
    if !untested.is_empty() {
        if args.require_tests {
            for (path, name, positive, negative) in untested {
                let lacks = match (positive, negative) {
                    (false, false) => "no case that must alert and none that must not",
                    (false, true) => "no case that must alert",
                    _ => "no case that must not alert",
                };
                out.push_str(&format!("untested: {} ({name}): {lacks}\n", path.display()));
            }
        } else {
            out.push_str(&format!(
                "{} rules lack a case that must alert or one that must not (use --require-tests to fail on this)\n",
                untested.len()
            ));
        }
    }
    out
}

fn json_report(results: &[FileResult], s: &Summary) -> String {
    let mut cases = Vec::new();
    for f in results {
        for (case, r) in f.test.cases.iter().zip(&f.results) {
            let (status, detail) = match &r.status {
                Status::Passed => ("passed", Json::Null),
                Status::Failed(failures) => (
                    "failed",
                    Json::Array(
                        failures
                            .iter()
                            .map(|f| {
                                json!({"kind": f.kind.name(), "expected": f.expected, "actual": f.actual,
                                       "alert": f.alert, "field": f.field})
                            })
                            .collect(),
                    ),
                ),
                Status::Skipped(why) => ("skipped", Json::String(why.clone())),
                Status::Error(why) => ("error", Json::String(why.clone())),
            };
            let mut result = json!({
                "file": f.test.path.display().to_string(),
                "line": line(&f.test.source, case.span.start),
                "rule_id": f.test.rule_id,
                "rule_file": f.rule.map(|(file, _)| file.path.display().to_string()),
                "case": case.name,
                "status": status,
                "alerts": r.alerts.iter().map(|a| json!({
                    "events": a.events,
                    "kibana.alert.reason": a.document.get("kibana.alert.reason"),
                })).collect::<Vec<_>>(),
            });
            match status {
                "failed" => result["failures"] = detail,
                "skipped" | "error" => result["reason"] = detail,
                _ => {}
            }
            if let Some(hint) = &r.hint {
                result["hint"] = Json::String(hint.clone());
            }
            if r.vacuous {
                result["vacuous"] = Json::Bool(true);
            }
            if let Some(explanation) = &r.explanation {
                result["explanation"] = Json::String(explanation.clone());
            }
            cases.push(result);
        }
    }
    json!({
        "summary": {
            "test_files": s.test_files, "cases": s.cases, "passed": s.passed, "failed": s.failed,
            "skipped": s.skipped, "errors": s.errors, "vacuous": s.vacuous, "load_errors": s.load_errors,
            "rules_without_tests": s.rules_without_tests,
        },
        "results": cases,
    })
    .to_string()
}

/// A test file's load problem, for the JUnit report.
fn load_problem(path: &Path, source: &str, d: &Diagnostic) -> junit::LoadProblem {
    junit::LoadProblem {
        path: path.to_path_buf(),
        line: line(source, d.span.start),
        message: d.message.clone(),
        detail: d.render(&path.display().to_string(), source, false),
    }
}

/// Writes the JUnit report; `times` are the cases' times in run order.
fn write_junit(
    path: &Path,
    results: &[FileResult],
    times: &[std::time::Duration],
    problems: &[junit::LoadProblem],
) -> std::io::Result<()> {
    let mut times = times.iter();
    let suites: Vec<junit::SuiteReport> = results
        .iter()
        .map(|f| junit::SuiteReport {
            test: f.test,
            rule: f.rule,
            cases: f
                .results
                .iter()
                .map(|r| junit::CaseReport {
                    outcome: match &r.status {
                        Status::Passed => junit::Outcome::Passed,
                        Status::Failed(failures) => junit::Outcome::Failed {
                            failures,
                            alerts: &r.alerts,
                            hint: r.hint.as_deref(),
                        },
                        Status::Skipped(why) => junit::Outcome::Skipped(why),
                        Status::Error(why) => junit::Outcome::Error(why),
                    },
                    time: times.next().copied().unwrap_or_default(),
                })
                .collect(),
        })
        .collect();
    junit::write(path, &junit::report(&suites, problems))
}

/// `ruleq test --new RULE_FILE`: writes the scaffold test file.
fn new_test_file(rule: &Path, tests: &Path) -> i32 {
    match scaffold::write_new(rule, tests) {
        Ok(path) => {
            println!("{}", path.display());
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}
