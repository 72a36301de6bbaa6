//! Command-line interface: argument parsing (clap) and dispatch. Exit codes
//! follow one contract everywhere: 0 ok, 1 findings (query or rule errors),
//! 2 usage and I/O errors.

use clap::{Parser, Subcommand};

mod check;
mod explain;
mod inputs;
mod parse;
mod query;
mod run;
mod test;

/// Offline interpreter for Elastic Security detection rules (EQL and KQL).
#[derive(Parser)]
#[command(name = "ruleq", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse a query (or a rule file's query) and print its syntax tree as JSON.
    Parse(parse::ParseArgs),
    /// Print a query (or a rule file's query) in canonical form.
    Fmt(parse::FmtArgs),
    /// Check rule files (TOML, JSON, NDJSON) for CI.
    Check(check::CheckArgs),
    /// Run a query over event files and print the results as NDJSON.
    Query(query::QueryArgs),
    /// Run rules over event files and write the alerts Kibana would write.
    Run(run::RunArgs),
    /// Run the rules' test cases (under rule_tests/) and report what failed.
    Test(test::TestArgs),
    /// Explain why a rule did or did not fire on each event, clause by clause.
    Explain(explain::ExplainArgs),
}

/// Parses the arguments, runs the subcommand and returns the exit code.
pub fn run() -> i32 {
    let cli = Cli::parse();
    match cli.command {
        Command::Parse(args) => parse::parse(args),
        Command::Fmt(args) => parse::fmt(args),
        Command::Check(args) => check::check(args),
        Command::Query(args) => query::query(args),
        Command::Run(args) => run::run(args),
        Command::Test(args) => test::test(args),
        Command::Explain(args) => explain::explain_cmd(args),
    }
}
