//! `ruleq parse` and `ruleq fmt`: a query's AST as JSON, or its canonical text.

use clap::Args;
use ruleq::diag::Diagnostic;
use ruleq::syntax::{self, eql, kql};
use std::io::IsTerminal;

/// Where the query comes from.
#[derive(Args)]
#[group(required = true, multiple = false)]
pub(crate) struct QueryInput {
    /// An EQL query (Elasticsearch Event Query Language).
    #[arg(long, value_name = "QUERY")]
    pub(crate) eql: Option<String>,
    /// A KQL query (Kibana Query Language).
    #[arg(long, value_name = "QUERY")]
    pub(crate) kql: Option<String>,
}

/// Arguments of `ruleq parse`.
#[derive(Args)]
pub struct ParseArgs {
    #[command(flatten)]
    input: QueryInput,
    /// Leave the byte spans out of the AST.
    #[arg(long)]
    no_spans: bool,
}

/// Arguments of `ruleq fmt`.
#[derive(Args)]
pub struct FmtArgs {
    #[command(flatten)]
    input: QueryInput,
}

enum Parsed {
    Eql(eql::Query),
    Kql(kql::Query),
}

fn parse_input(input: &QueryInput) -> Result<Parsed, i32> {
    if let Some(text) = &input.eql {
        return eql::parse(text)
            .map(Parsed::Eql)
            .map_err(|d| report("query", text, &d));
    }
    if let Some(text) = &input.kql {
        return kql::parse(text)
            .map(Parsed::Kql)
            .map_err(|d| report("query", text, &d));
    }
    unreachable!("clap requires one query source")
}

/// Prints the diagnostic on stderr and returns exit code 1.
pub(crate) fn report(name: &str, source: &str, diag: &Diagnostic) -> i32 {
    let color = std::io::stderr().is_terminal();
    eprint!("{}", diag.render(name, source, color));
    1
}

/// Runs `ruleq parse`.
pub fn parse(args: ParseArgs) -> i32 {
    let parsed = match parse_input(&args.input) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let mut json = match &parsed {
        Parsed::Eql(q) => serde_json::to_value(q),
        Parsed::Kql(q) => serde_json::to_value(q),
    }
    .expect("the AST always serializes");
    if args.no_spans {
        syntax::strip_spans(&mut json);
    }
    println!("{}", syntax::to_pretty_json(&json));
    0
}

/// Runs `ruleq fmt`.
pub fn fmt(args: FmtArgs) -> i32 {
    match parse_input(&args.input) {
        Ok(Parsed::Eql(q)) => {
            println!("{}", eql::print(&q));
            0
        }
        Ok(Parsed::Kql(q)) => {
            println!("{}", kql::print(&q));
            0
        }
        Err(code) => code,
    }
}
