//! `ruleq check [PATH...]`: validate rule files for CI. Loads every rule
//! file under the paths, runs every check and prints the report in the
//! chosen format; the exit code says whether CI should pass.

use clap::{Args, ValueEnum};
use ruleq::check::{self, output};
use ruleq::diag::Severity;
use ruleq::mapping::Mapping;
use ruleq::rule;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// How the report is printed.
#[derive(Clone, Copy, ValueEnum)]
pub enum OutputFormat {
    /// Code frames and a summary line (colour on a terminal).
    Human,
    /// One JSON object with counts and diagnostics.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
}

/// Arguments of `ruleq check`.
#[derive(Args)]
pub struct CheckArgs {
    /// Rule files (.toml, .json, .ndjson) or directories to walk.
    #[arg(value_name = "PATH", default_value = "rules")]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: OutputFormat,
    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    deny_warnings: bool,
    /// An Elasticsearch index mapping (repeatable; merged): query fields are
    /// checked against it (unknown fields, operators on the wrong type).
    #[arg(long = "mapping", value_name = "FILE")]
    mappings: Vec<PathBuf>,
    /// A folder of rule test files to check too (schema, rule_id,
    /// events_file), without running them. Default: `rule_tests` when it
    /// exists and the paths are the default or hold it.
    #[arg(short = 't', long = "tests", value_name = "DIR")]
    tests: Option<PathBuf>,
    /// An exception-list file to check too (repeatable): a Kibana
    /// exception-list or rule export (NDJSON) or detection-rules TOML. Its
    /// lists that no checked rule references are warned about.
    #[arg(long = "exceptions", value_name = "FILE")]
    exceptions: Vec<PathBuf>,
}

/// A file found under the paths: a rule file, or a rule test file.
enum Loaded {
    Rules(rule::RuleFile),
    Test(PathBuf, String),
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

/// Runs `ruleq check`: exit 0 clean, 1 findings that fail, 2 usage or I/O.
pub fn check(args: CheckArgs) -> i32 {
    let tests_dir = match &args.tests {
        Some(dir) if !dir.is_dir() => {
            eprintln!("error: {}: no such folder of test files", dir.display());
            return 2;
        }
        Some(dir) => Some(dir.clone()),
        None => {
            let dir = Path::new("rule_tests");
            let default = args.paths == [PathBuf::from("rules")];
            (dir.is_dir() && (default || args.paths.iter().any(|p| within(dir, p))))
                .then(|| dir.to_path_buf())
        }
    };
    // Exception files alone: no default `rules` folder is needed.
    let rule_paths: &[PathBuf] = if !args.exceptions.is_empty()
        && args.paths == [PathBuf::from("rules")]
        && !Path::new("rules").exists()
    {
        &[]
    } else {
        &args.paths
    };
    let mut paths = match rule::collect_paths(rule_paths) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    // The test folder's files are test files (or their events), not rules.
    if let Some(dir) = &tests_dir {
        paths.retain(|p| !within(p, dir));
        match ruleq::ruletest::lint::test_files(dir) {
            Ok(found) => paths.extend(found),
            Err(e) => {
                eprintln!("error: {}: {e}", dir.display());
                return 2;
            }
        }
    }
    let mut files = Vec::with_capacity(paths.len());
    let mut tests = Vec::new();
    let mut io_failed = false;
    // Files load on all cores, and are taken in path order. A TOML file
    // that is a test file is checked as one.
    let loaded = ruleq::par::map(&paths, |p| {
        let bytes = std::fs::read(p)?;
        let format = rule::files::format_of(p).unwrap_or(rule::Format::Toml);
        if format == rule::Format::Toml {
            if let Ok(text) = std::str::from_utf8(&bytes) {
                if ruleq::ruletest::lint::looks_like_test_file(text) {
                    return Ok(Loaded::Test(p.clone(), text.to_string()));
                }
            }
        }
        Ok::<_, std::io::Error>(Loaded::Rules(rule::files::load_bytes(
            p.clone(),
            format,
            bytes,
        )))
    });
    for (path, file) in paths.iter().zip(loaded) {
        match file {
            Ok(Loaded::Rules(f)) => files.push(f),
            Ok(Loaded::Test(path, source)) => tests.push((path, source)),
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                io_failed = true;
            }
        }
    }
    let mapping = match Mapping::from_files(&args.mappings) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let mut exception_files = Vec::with_capacity(args.exceptions.len());
    for path in &args.exceptions {
        match ruleq::exceptions::load::read(path) {
            Ok(f) => exception_files.push(f),
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                io_failed = true;
            }
        }
    }
    let mut report = check::check(files, mapping.as_ref());
    check::exceptions::add_exception_files(&mut report, exception_files);
    add_test_files(&mut report, tests);
    let text = match args.format {
        OutputFormat::Human => {
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            output::human(&report, color)
        }
        OutputFormat::Json => format!("{:#}\n", output::json(&report)),
        OutputFormat::Sarif => format!("{:#}\n", output::sarif(&report)),
    };
    print!("{text}");
    if io_failed {
        return 2;
    }
    let failing = report.count(Severity::Error)
        + if args.deny_warnings {
            report.count(Severity::Warning)
        } else {
            0
        };
    i32::from(failing > 0)
}

/// Checks the test files against the checked rules and adds them, and
/// what they break, to the report.
fn add_test_files(report: &mut check::Report, tests: Vec<(PathBuf, String)>) {
    let mut names: std::collections::HashMap<&str, Option<&str>> = Default::default();
    for rule in report.files.iter().flat_map(|f| &f.rules) {
        if let Some(id) = rule.id() {
            names
                .entry(id)
                .or_insert(rule.name.as_ref().map(|n| n.value.as_str()));
        }
    }
    let found: Vec<Vec<ruleq::diag::Diagnostic>> = tests
        .iter()
        .map(|(path, source)| {
            let mut d =
                ruleq::ruletest::lint::check_test_file(path, source, |id| names.get(id).copied());
            d.sort_by_key(|d| (d.span.start, d.span.end));
            d
        })
        .collect();
    for ((path, source), diags) in tests.into_iter().zip(found) {
        let file = report.files.len();
        report
            .findings
            .extend(diags.into_iter().map(|diagnostic| check::Finding {
                file,
                rule: None,
                diagnostic,
            }));
        report.files.push(rule::RuleFile {
            path,
            source,
            format: rule::Format::Toml,
            rules: Vec::new(),
            diagnostics: Vec::new(),
        });
        report.test_files += 1;
    }
}
