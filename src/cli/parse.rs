//! `ruleq parse` and `ruleq fmt`: a query's AST as JSON, or its canonical text.

use clap::Args;
use ruleq::diag::Diagnostic;
use ruleq::rule::{self, Language, Rule};
use ruleq::syntax::{self, eql, kql};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

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
    /// A rule file (detection-rules TOML, Kibana export NDJSON, or rule JSON).
    #[arg(value_name = "RULE_FILE")]
    pub(crate) file: Option<PathBuf>,
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
    /// A rule file: each rule with its parsed query, if it has one ruleq reads.
    Rules(Vec<(Rule, Option<Parsed>)>),
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
    if let Some(path) = &input.file {
        return parse_rule_file(path);
    }
    unreachable!("clap requires one query source")
}

/// Loads a rule file and parses each rule's query; any error (of the file,
/// a rule or a query) is reported at its place in the file.
fn parse_rule_file(path: &Path) -> Result<Parsed, i32> {
    let file = match rule::load_file(path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            return Err(2);
        }
    };
    let name = path.display().to_string();
    let mut failed = false;
    // Problems of the file itself (syntax, encoding) stop parsing; a rule's
    // metadata problems are `ruleq check`'s business.
    for d in &file.diagnostics {
        if d.rule.is_none() && d.diagnostic.severity == ruleq::diag::Severity::Error {
            report(&name, &file.source, &d.diagnostic);
            failed = true;
        }
    }
    let mut rules = Vec::new();
    for r in file.rules {
        let parsed = match (&r.query, r.language.as_ref().map(|l| l.value)) {
            (Some(q), Some(Language::Eql)) => match eql::parse(&q.text) {
                Ok(ast) => Some(Parsed::Eql(ast)),
                Err(d) => {
                    report(&name, &file.source, &ruleq::check::query::into_file(d, q));
                    failed = true;
                    None
                }
            },
            (Some(q), Some(Language::Kuery)) => match kql::parse(&q.text) {
                Ok(ast) => Some(Parsed::Kql(ast)),
                Err(d) => {
                    report(&name, &file.source, &ruleq::check::query::into_file(d, q));
                    failed = true;
                    None
                }
            },
            _ => None,
        };
        rules.push((r, parsed));
    }
    if failed {
        return Err(1);
    }
    Ok(Parsed::Rules(rules))
}

fn ast_json(parsed: &Parsed) -> serde_json::Value {
    match parsed {
        Parsed::Eql(q) => serde_json::to_value(q),
        Parsed::Kql(q) => serde_json::to_value(q),
        Parsed::Rules(rules) => {
            let items: Vec<serde_json::Value> = rules
                .iter()
                .map(|(r, q)| {
                    serde_json::json!({
                        "rule": serde_json::to_value(r).expect("rules always serialize"),
                        "query_ast": q.as_ref().map(ast_json),
                    })
                })
                .collect();
            Ok(if items.len() == 1 {
                items.into_iter().next().expect("one item")
            } else {
                serde_json::Value::Array(items)
            })
        }
    }
    .expect("the AST always serializes")
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
    let mut json = ast_json(&parsed);
    if args.no_spans {
        syntax::strip_spans(&mut json);
    }
    println!("{}", syntax::to_pretty_json(&json));
    0
}

/// Runs `ruleq fmt`: the query in canonical form; for a rule file, each
/// rule's query (blank lines between the rules of an export).
pub fn fmt(args: FmtArgs) -> i32 {
    match parse_input(&args.input) {
        Ok(parsed) => {
            let texts = canonical(&parsed);
            if texts.is_empty() {
                eprintln!("error: no EQL or KQL query in the file to format");
                return 1;
            }
            println!("{}", texts.join("\n\n"));
            0
        }
        Err(code) => code,
    }
}

fn canonical(parsed: &Parsed) -> Vec<String> {
    match parsed {
        Parsed::Eql(q) => vec![eql::print(q)],
        Parsed::Kql(q) => vec![kql::print(q)],
        Parsed::Rules(rules) => rules
            .iter()
            .flat_map(|(_, q)| q.iter().flat_map(canonical))
            .collect(),
    }
}
