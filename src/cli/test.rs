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
use ruleq::ruletest::snapshot::{self, Outcome};
use ruleq::ruletest::{
    expectations, failure_lines, junit, scaffold, seen_alerts, Failure, SeenAlert,
};
use serde_json::{json, Map, Value as Json};
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
    /// Write snapshots directly, without review (`RULEQ_UPDATE=always`).
    #[arg(long)]
    update: bool,
    /// Accept the pending snapshots (`.snap.new`) of the selected tests,
    /// without running cases.
    #[arg(long, conflicts_with_all = ["reject", "review", "update"])]
    accept: bool,
    /// Delete the pending snapshots of the selected tests, without running
    /// cases.
    #[arg(long, conflicts_with_all = ["review", "update"])]
    reject: bool,
    /// Review the pending snapshots of the selected tests one by one
    /// (accept, reject or skip), on a terminal.
    #[arg(long, conflicts_with = "update")]
    review: bool,
    /// What to do with snapshots no case records any more (default: warn,
    /// or reject when `CI` is set).
    #[arg(long, value_enum, value_name = "WHAT")]
    unreferenced: Option<UnreferencedArg>,
}

/// `--unreferenced`.
#[derive(Clone, Copy, ValueEnum)]
pub enum UnreferencedArg {
    /// Say so.
    Warn,
    /// Say so and fail.
    Reject,
    /// Delete them.
    Delete,
    /// Say nothing.
    Ignore,
}

/// A case's result.
enum Status {
    Passed,
    Failed(Vec<Failure>),
    Skipped(String),
    Error(String),
    /// Its expectations held; its snapshot waits for review.
    Pending,
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
    /// The alert documents, in output order (for its snapshot).
    documents: Vec<Map<String, Json>>,
    /// What became of its snapshot, when it has one.
    snapshot: Option<Outcome>,
}

/// One test file, its rule, its cases' results.
struct FileResult<'a> {
    test: &'a TestFile,
    rule: Option<(&'a RuleFile, &'a Rule)>,
    results: Vec<CaseResult>,
    /// Its AST snapshot, when `[snapshots] ast = true`.
    ast: Option<Result<Outcome, String>>,
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
    let ci = snapshot::is_ci();
    let env = std::env::var("RULEQ_UPDATE").ok();
    let mode = match snapshot::Mode::resolve(args.update, env.as_deref(), ci) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
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
    let mut unloaded = Vec::new();
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
                unloaded.push(path.clone());
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
    // The snapshot folders this run looks at: all of them, or those of the
    // selected test files.
    let narrowed: Option<Vec<PathBuf>> =
        (!args.paths.is_empty()).then(|| selected.iter().map(|t| t.path.clone()).collect());
    let snap_dirs: Vec<PathBuf> = match &narrowed {
        None => snapshot::dirs_below(&args.tests),
        Some(paths) => {
            let mut d: Vec<PathBuf> = paths.iter().map(|p| snapshot::dir(p)).collect();
            d.dedup();
            d
        }
    };
    let pending: Vec<PathBuf> = snapshot::files_in(&snap_dirs, true)
        .into_iter()
        .filter(|p| narrowed.as_ref().is_none_or(|n| snapshot::owned_by(p, n)))
        .collect();
    if args.accept || args.reject || args.review {
        return review(&args, &pending);
    }
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
                documents: Vec::new(),
                snapshot: None,
            },
        };
        (result, started.elapsed())
    });
    let (ran, times): (Vec<CaseResult>, Vec<_>) = ran.into_iter().unzip();
    let mut ran = ran.into_iter();
    let mut results: Vec<FileResult> = selected
        .iter()
        .map(|t| FileResult {
            test: t,
            rule: by_id.get(t.rule_id.as_str()).copied(),
            results: ran.by_ref().take(t.cases.len()).collect(),
            ast: None,
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
    let snaps = match settle_snapshots(&mut results, &args, mode) {
        Ok(()) => {
            let all: Vec<&TestFile> = tests.iter().collect();
            Snapshots::after(
                &results,
                &args,
                &snap_dirs,
                &all,
                &unloaded,
                narrowed.as_deref(),
                ci,
            )
        }
        Err(e) => {
            eprintln!("error: writing snapshots: {e}");
            return 2;
        }
    };
    let summary = Summary::of(&results, load_errors, untested.len(), &snaps);
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
        TestFormat::Human => print!("{}", human(&results, &summary, &untested, &args, &snaps)),
        TestFormat::Json => println!("{}", json_report(&results, &summary, &snaps)),
    }
    if let Some(path) = &args.junit {
        if let Err(e) = write_junit(path, &results, &times, &load_problems, args.strict) {
            eprintln!("error: --junit {}: {e}", path.display());
            return 2;
        }
    }
    if load_errors > 0 || summary.errors > 0 {
        3
    } else if summary.failed > 0
        || summary.snapshots_pending > 0
        || snaps.failed > 0
        || snaps.fail
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
        documents: Vec::new(),
        snapshot: None,
    };
    if case.has_placeholders() {
        // `ruleq test --new` wrote these events: nothing is tested yet.
        return CaseResult {
            status: Status::Failed(vec![Failure {
                kind: ruleq::ruletest::FailureKind::Placeholder,
                expected: "fill them in with real values, then remove `_placeholder`".into(),
                actual: "placeholder events".into(),
                alert: None,
                field: None,
            }]),
            ..error(String::new())
        };
    }
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
    let exceptions = match case::exceptions(test, case, now) {
        Ok(e) => e,
        Err(why) => return error(why),
    };
    let lists = match case::indicators(test, case) {
        Ok(i) => case::Lists {
            exceptions,
            indicators: std::sync::Arc::new(i),
        },
        Err(why) => return error(why),
    };
    let run = |execution| case::run(file, rule, &events, execution, now, mapping, &lists);
    let (alerts, documents) = match run(execution) {
        Ok(r) => (seen_alerts(&r.documents, &r.groups), r.documents),
        Err(NotRun::Skipped(why)) => {
            return CaseResult {
                status: Status::Skipped(why),
                vacuous: false,
                alerts: Vec::new(),
                hint: None,
                ignored: None,
                explanation: None,
                documents: Vec::new(),
                snapshot: None,
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
            documents,
            snapshot: None,
        };
    }
    // Would the case pass without Kibana's windows? Say so.
    let hint = match (execution, run(Execution::All)) {
        (Execution::All, _) | (_, Err(_)) => None,
        (_, Ok(all)) => {
            let all = seen_alerts(&all.documents, &all.groups);
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
        documents,
        snapshot: None,
    }
}

/// Accepts, rejects or reviews the pending snapshots, without running
/// cases.
fn review(args: &TestArgs, pending: &[PathBuf]) -> i32 {
    if args.review && !std::io::stdin().is_terminal() {
        eprintln!("error: --review asks about each pending snapshot and needs a terminal; use --accept or --reject in scripts");
        return 2;
    }
    if pending.is_empty() {
        println!("no pending snapshots");
        return 0;
    }
    if args.review {
        let stdin = std::io::stdin();
        return match snapshot::review(pending, stdin.lock(), std::io::stdout()) {
            Ok(done) => {
                println!(
                    "{} accepted, {} rejected, {} skipped",
                    done.accepted, done.rejected, done.skipped
                );
                0
            }
            Err(e) => {
                eprintln!("error: {e}");
                2
            }
        };
    }
    for p in pending {
        let done = if args.accept {
            snapshot::accept(p).map(|to| println!("accepted {}", to.display()))
        } else {
            snapshot::reject(p).map(|()| println!("rejected {}", p.display()))
        };
        if let Err(e) = done {
            eprintln!("error: {}: {e}", p.display());
            return 2;
        }
    }
    0
}

/// Compares (and writes, as `mode` says) the snapshots of the cases that
/// ran and the AST snapshots; a snapshot that fails fails its case, a
/// pending one makes a passing case pending.
fn settle_snapshots(
    results: &mut [FileResult],
    args: &TestArgs,
    mode: snapshot::Mode,
) -> std::io::Result<()> {
    for f in results {
        let source = snapshot::source_name(&f.test.path, &args.tests);
        let rule_id = f.test.rule_id.as_str();
        for (case, r) in f.test.cases.iter().zip(&mut f.results) {
            if !case.snapshot || !matches!(r.status, Status::Passed | Status::Failed(_)) {
                continue;
            }
            let path = snapshot::case_path(&f.test.path, case);
            let text = snapshot::case_contents(&source, case, rule_id, &r.documents);
            let outcome = snapshot::settle(&path, &text, mode)?;
            if outcome.fails() {
                let failure = Failure {
                    kind: ruleq::ruletest::FailureKind::Snapshot,
                    expected: path.display().to_string(),
                    actual: if outcome == Outcome::Missing {
                        "missing"
                    } else {
                        "changed"
                    }
                    .into(),
                    alert: None,
                    field: None,
                };
                match &mut r.status {
                    Status::Failed(failures) => failures.push(failure),
                    status => *status = Status::Failed(vec![failure]),
                }
            } else if matches!(outcome, Outcome::Pending { .. })
                && matches!(r.status, Status::Passed)
            {
                r.status = Status::Pending;
            }
            r.snapshot = Some(outcome);
        }
        if let (true, Some((_, rule))) = (f.test.ast_snapshot, f.rule) {
            f.ast = Some(match snapshot::ast_contents(&source, rule_id, rule) {
                Ok(text) => Ok(snapshot::settle(
                    &snapshot::ast_path(&f.test.path),
                    &text,
                    mode,
                )?),
                Err(e) => Err(e),
            });
        }
    }
    Ok(())
}

/// What became of the snapshots of a run.
#[derive(Default)]
struct Snapshots {
    matched: usize,
    written: usize,
    /// Pending: of cases, of AST snapshots, and left from earlier runs.
    pending: usize,
    /// Missing or changed where nothing may be written, or not made.
    failed: usize,
    /// Pending files no case of this run wrote.
    stray: Vec<PathBuf>,
    /// Snapshots nothing records any more.
    unreferenced: Vec<PathBuf>,
    /// What `--unreferenced` said to do with them.
    policy: Option<UnreferencedArg>,
    /// Whether they fail the run (`--unreferenced=reject`).
    fail: bool,
    /// Whether anything was said about snapshots at all.
    any: bool,
}

impl Snapshots {
    #[allow(clippy::too_many_arguments)]
    fn after(
        results: &[FileResult],
        args: &TestArgs,
        dirs: &[PathBuf],
        tests: &[&TestFile],
        unloaded: &[PathBuf],
        narrowed: Option<&[PathBuf]>,
        ci: bool,
    ) -> Snapshots {
        let mut s = Snapshots::default();
        let mut written_pending = Vec::new();
        let outcomes = results.iter().flat_map(|f| {
            f.results
                .iter()
                .filter_map(|r| r.snapshot.as_ref().map(Ok))
                .chain(f.ast.as_ref().map(|a| a.as_ref()))
        });
        for o in outcomes {
            s.any = true;
            match o {
                Ok(Outcome::Matched) => s.matched += 1,
                Ok(Outcome::Written) => s.written += 1,
                Ok(Outcome::Pending { path, .. }) => {
                    s.pending += 1;
                    written_pending.push(path.clone());
                }
                Ok(Outcome::Missing | Outcome::Changed { .. }) | Err(_) => s.failed += 1,
            }
        }
        s.stray = snapshot::files_in(dirs, true)
            .into_iter()
            .filter(|p| narrowed.is_none_or(|n| snapshot::owned_by(p, n)))
            .filter(|p| !written_pending.contains(p))
            .collect();
        s.pending += s.stray.len();
        let policy = args.unreferenced.unwrap_or(if ci {
            UnreferencedArg::Reject
        } else {
            UnreferencedArg::Warn
        });
        if !matches!(policy, UnreferencedArg::Ignore) {
            s.unreferenced = snapshot::unreferenced(dirs, tests, unloaded, narrowed);
        }
        if matches!(policy, UnreferencedArg::Delete) {
            for p in &s.unreferenced {
                if let Err(e) = std::fs::remove_file(p) {
                    eprintln!("error: {}: {e}", p.display());
                }
            }
        }
        s.fail = matches!(policy, UnreferencedArg::Reject) && !s.unreferenced.is_empty();
        s.any |= s.pending > 0 || !s.unreferenced.is_empty();
        s.policy = Some(policy);
        s
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
    /// Cases whose expectations held, with a snapshot pending review.
    pending: usize,
    load_errors: usize,
    rules_without_tests: usize,
    /// Pending snapshots of all kinds (they fail the run).
    snapshots_pending: usize,
}

impl Summary {
    fn of(
        results: &[FileResult],
        load_errors: usize,
        untested: usize,
        snaps: &Snapshots,
    ) -> Summary {
        let mut s = Summary {
            test_files: results.len(),
            load_errors,
            rules_without_tests: untested,
            snapshots_pending: snaps.pending,
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
                Status::Pending => s.pending += 1,
            }
        }
        s
    }
}

/// The lines that say what became of a snapshot, when anything is worth
/// saying (`what` names it: "snapshot", "AST snapshot").
fn snapshot_lines(what: &str, path: &Path, outcome: &Outcome, verbose: bool) -> Vec<String> {
    let mut lines = Vec::new();
    // A long diff (a new snapshot is all additions) is cut short: the
    // `.snap.new` file holds it all.
    const SHOWN: usize = 60;
    let diff = |d: &str, lines: &mut Vec<String>| {
        lines.extend(d.lines().take(SHOWN).map(|l| format!("        {l}")));
        let more = d.lines().count().saturating_sub(SHOWN);
        if more > 0 {
            lines.push(format!("        … {more} more lines"));
        }
    };
    match outcome {
        Outcome::Matched if verbose => {
            lines.push(format!("      {what} matches {}", path.display()))
        }
        Outcome::Matched => {}
        Outcome::Written => lines.push(format!("      {what} written: {}", path.display())),
        Outcome::Pending { path, diff: d } => {
            lines.push(format!("      {what} pending review ({})", path.display()));
            diff(d, &mut lines);
        }
        Outcome::Missing => lines.push(format!(
            "      {what} missing: {} (nothing is written with CI set or RULEQ_UPDATE=no)",
            path.display()
        )),
        Outcome::Changed { diff: d } => {
            lines.push(format!("      {what} changed: {}", path.display()));
            diff(d, &mut lines);
        }
    }
    lines
}

fn human(
    results: &[FileResult],
    s: &Summary,
    untested: &[(PathBuf, String, bool, bool)],
    args: &TestArgs,
    snaps: &Snapshots,
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
            let snap = r.snapshot.as_ref().map_or(Vec::new(), |o| {
                let path = snapshot::case_path(&f.test.path, case);
                snapshot_lines("snapshot", &path, o, args.verbose)
            });
            match &r.status {
                Status::Passed if r.vacuous => lines.push(format!(
                    "  {} {}  :{at}\n      vacuous: none of its events reaches the rule (its index patterns, filters, event category, or a step of its sequence), so it tests nothing",
                    if args.strict { "✗" } else { "⚠" },
                    case.name
                )),
                Status::Passed if args.verbose || !snap.is_empty() => {
                    lines.push(format!("  ✓ {}", case.name));
                    lines.extend(snap);
                }
                Status::Passed => {}
                Status::Pending => {
                    lines.push(format!("  ● {}  :{at}", case.name));
                    lines.extend(snap);
                }
                Status::Skipped(why) => lines.push(format!("  - {}: skipped ({why})", case.name)),
                Status::Error(why) => {
                    lines.push(format!("  ! {}  :{at}", case.name));
                    for l in why.lines() {
                        lines.push(format!("      {l}"));
                    }
                }
                Status::Failed(failures) => {
                    lines.push(format!("  ✗ {}  :{at}", case.name));
                    for line in failure_lines(failures, &r.alerts) {
                        lines.push(format!("      {line}"));
                    }
                    lines.extend(snap);
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
        match &f.ast {
            Some(Ok(o)) => {
                let more = snapshot_lines(
                    "AST snapshot",
                    &snapshot::ast_path(&f.test.path),
                    o,
                    args.verbose,
                );
                if !more.is_empty() {
                    let mark = match o {
                        Outcome::Pending { .. } => "●",
                        Outcome::Missing | Outcome::Changed { .. } => "✗",
                        _ => "✓",
                    };
                    lines.push(format!("  {mark} [snapshots] ast"));
                    lines.extend(more);
                }
            }
            Some(Err(why)) => lines.push(format!("  ! [snapshots] ast: {why}")),
            None => {}
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
    if s.pending > 0 {
        tail.push(format!("{} pending", s.pending));
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
    out.push_str(&snapshot_summary(snaps));
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

/// The snapshot lines of the human summary: pending files no case wrote,
/// unreferenced snapshots, the counts and what to do next.
fn snapshot_summary(snaps: &Snapshots) -> String {
    let mut out = String::new();
    if !snaps.any {
        return out;
    }
    for p in &snaps.stray {
        out.push_str(&format!(
            "pending snapshot no case of this run wrote: {}\n",
            p.display()
        ));
    }
    let (verb, fix) = match snaps.policy {
        Some(UnreferencedArg::Delete) => ("deleted", ""),
        Some(UnreferencedArg::Reject) => ("rejected", " (--unreferenced=delete removes it)"),
        _ => ("warning", " (--unreferenced=delete removes it)"),
    };
    for p in &snaps.unreferenced {
        out.push_str(&format!(
            "{verb}: unreferenced snapshot {}{fix}\n",
            p.display()
        ));
    }
    out.push_str(&format!(
        "snapshots: {} matched, {} written, {} pending, {} failed, {} unreferenced\n",
        snaps.matched,
        snaps.written,
        snaps.pending,
        snaps.failed,
        snaps.unreferenced.len()
    ));
    if snaps.pending > 0 {
        out.push_str(
            "review pending snapshots with `ruleq test --review` (or --accept, --reject)\n",
        );
    }
    out
}

/// A snapshot outcome as JSON.
fn outcome_json(path: &Path, o: &Outcome) -> Json {
    let (status, diff, path) = match o {
        Outcome::Matched => ("matched", None, path.to_path_buf()),
        Outcome::Written => ("written", None, path.to_path_buf()),
        Outcome::Pending { path, diff } => ("pending", Some(diff), path.clone()),
        Outcome::Missing => ("missing", None, path.to_path_buf()),
        Outcome::Changed { diff } => ("changed", Some(diff), path.to_path_buf()),
    };
    let mut out = json!({"path": path.display().to_string(), "status": status});
    if let Some(d) = diff {
        out["diff"] = Json::String(d.clone());
    }
    out
}

fn json_report(results: &[FileResult], s: &Summary, snaps: &Snapshots) -> String {
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
                Status::Pending => ("pending", Json::Null),
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
            if let Some(o) = &r.snapshot {
                result["snapshot"] = outcome_json(&snapshot::case_path(&f.test.path, case), o);
            }
            cases.push(result);
        }
    }
    json!({
        "summary": {
            "test_files": s.test_files, "cases": s.cases, "passed": s.passed, "failed": s.failed,
            "skipped": s.skipped, "errors": s.errors, "vacuous": s.vacuous, "pending": s.pending, "load_errors": s.load_errors,
            "rules_without_tests": s.rules_without_tests,
            "snapshots": {
                "matched": snaps.matched, "written": snaps.written, "pending": snaps.pending,
                "failed": snaps.failed, "unreferenced": snaps.unreferenced.len(),
            },
        },
        "results": cases,
        "ast_snapshots": results.iter().filter_map(|f| {
            let path = snapshot::ast_path(&f.test.path);
            let mut out = match f.ast.as_ref()? {
                Ok(o) => outcome_json(&path, o),
                Err(why) => json!({"path": path.display().to_string(), "status": "error", "reason": why}),
            };
            out["file"] = Json::String(f.test.path.display().to_string());
            Some(out)
        }).collect::<Vec<_>>(),
        "pending_snapshots": snaps.stray.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "unreferenced_snapshots": snaps.unreferenced.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
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
    strict: bool,
) -> std::io::Result<()> {
    let mut times = times.iter();
    // Under --strict a vacuous case fails the run, and its testcase.
    let vacuous = Failure {
        kind: ruleq::ruletest::FailureKind::Vacuous,
        expected: "an event that reaches the rule".into(),
        actual: "vacuous: none of its events reaches the rule".into(),
        alert: None,
        field: None,
    };
    // A snapshot pending review fails its case in CI's eyes.
    let pending = Failure {
        kind: ruleq::ruletest::FailureKind::Snapshot,
        expected: "a reviewed snapshot".into(),
        actual: "a snapshot pending review (.snap.new)".into(),
        alert: None,
        field: None,
    };
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
                        Status::Passed if strict && r.vacuous => junit::Outcome::Failed {
                            failures: std::slice::from_ref(&vacuous),
                            alerts: &r.alerts,
                            hint: None,
                        },
                        Status::Passed => junit::Outcome::Passed,
                        Status::Failed(failures) => junit::Outcome::Failed {
                            failures,
                            alerts: &r.alerts,
                            hint: r.hint.as_deref(),
                        },
                        Status::Pending => junit::Outcome::Failed {
                            failures: std::slice::from_ref(&pending),
                            alerts: &r.alerts,
                            hint: None,
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
