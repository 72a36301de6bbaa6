//! `ruleq check [PATH...]`: validate rule files for CI. Loads every rule
//! file under the paths, runs every check and prints the report in the
//! chosen format; the exit code says whether CI should pass.

use clap::{Args, ValueEnum};
use ruleq::check::{self, output};
use ruleq::diag::Severity;
use ruleq::mapping::Mapping;
use ruleq::rule;
use std::io::IsTerminal;
use std::path::PathBuf;

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
}

/// Runs `ruleq check`: exit 0 clean, 1 findings that fail, 2 usage or I/O.
pub fn check(args: CheckArgs) -> i32 {
    let paths = match rule::collect_paths(&args.paths) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let mut files = Vec::with_capacity(paths.len());
    let mut io_failed = false;
    // Files load on all cores, and are taken in path order.
    let loaded = ruleq::par::map(&paths, |p| rule::load_file(p));
    for (path, file) in paths.iter().zip(loaded) {
        match file {
            Ok(f) => files.push(f),
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
    let report = check::check(files, mapping.as_ref());
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
