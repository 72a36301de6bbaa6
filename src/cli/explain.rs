//! `ruleq explain`: why a rule did or did not fire on some events.

use super::inputs::event_inputs;
use clap::{Args, ValueEnum};
use ruleq::check::query::ParsedQuery;
use ruleq::check::{self, output, Report};
use ruleq::diag::Severity;
use ruleq::event::{EventSource, FieldTable, FileNames, Item, Projector, Reporter};
use ruleq::explain::{explain, explain_query, ExplainEvent, ExplainOptions};
use ruleq::mapping::Mapping;
use ruleq::syntax::{eql, kql};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

/// How the explanation is written.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExplainFormat {
    /// Text for people.
    Human,
    /// One JSON document per event, per partial sequence, then a summary.
    Json,
}

/// Arguments of `ruleq explain`.
#[derive(Args)]
pub struct ExplainArgs {
    /// The rule file (.toml, .json, .ndjson), then event files or folders
    /// (standard input when none is given). With --eql or --kql, all are
    /// event files.
    #[arg(value_name = "RULE_FILE [EVENTS]")]
    paths: Vec<PathBuf>,
    /// Explain this EQL query instead of a rule file's.
    #[arg(long, value_name = "QUERY", conflicts_with_all = ["kql", "rule"])]
    eql: Option<String>,
    /// Explain this KQL query instead of a rule file's.
    #[arg(long, value_name = "QUERY", conflicts_with = "rule")]
    kql: Option<String>,
    /// The rule to explain, by `rule_id`, when the file holds several (a
    /// Kibana NDJSON export).
    #[arg(long = "rule", value_name = "ID")]
    rule: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: ExplainFormat,
    /// The execution time (RFC 3339): explain Kibana's execution at that
    /// time, which searches the rule's `from`..`to` window around it.
    #[arg(long, value_name = "TIME", conflicts_with = "schedule")]
    now: Option<String>,
    /// Say which executions of the rule's schedule see each event.
    #[arg(long)]
    schedule: bool,
    /// The index the event files come from, for events without `_index`.
    #[arg(long, value_name = "NAME")]
    index: Option<String>,
    /// An Elasticsearch index mapping (repeatable; merged).
    #[arg(long = "mapping", value_name = "FILE")]
    mappings: Vec<PathBuf>,
}

/// Runs `ruleq explain`: exit 0 when it ran, 2 usage or I/O errors, 3 when
/// the rule cannot be loaded.
pub fn explain_cmd(args: ExplainArgs) -> i32 {
    let usage = |e: String| {
        eprintln!("error: {e}");
        2
    };
    let now = match &args.now {
        None => None,
        Some(text) => match ruleq::compile::date::parse_iso(text) {
            Some(t) if text.contains('T') || text.contains('t') => Some(t.lo),
            _ => {
                return usage(format!(
                    "--now {text}: expected an RFC 3339 time such as 2024-05-01T10:00:00Z"
                ))
            }
        },
    };
    let mapping = match Mapping::from_files(&args.mappings) {
        Ok(m) => m,
        Err(e) => return usage(e.to_string()),
    };
    let options = ExplainOptions {
        now,
        schedule: args.schedule,
        index: args.index.clone(),
        mapping,
    };
    let bare = args.eql.is_some() || args.kql.is_some();
    let (rule_path, event_paths) = match (bare, args.paths.split_first()) {
        (true, _) => (None, &args.paths[..]),
        (false, Some((first, rest))) => (Some(first.clone()), rest),
        (false, None) => return usage("give a rule file, or --eql / --kql".into()),
    };
    let inputs = match event_inputs(event_paths) {
        Ok(i) => i,
        Err(e) => return usage(e),
    };
    let events = match read_events(&inputs) {
        Ok(e) => e,
        Err(e) => return usage(e),
    };
    let explained = match rule_path {
        None => {
            let parsed = match (&args.eql, &args.kql) {
                (Some(q), _) => eql::parse(q).map(ParsedQuery::Eql).map_err(|d| (q, d)),
                (_, Some(q)) => kql::parse(q).map(ParsedQuery::Kql).map_err(|d| (q, d)),
                _ => unreachable!("a bare query was given"),
            };
            match parsed {
                Ok(q) => explain_query(&q, &events, &options),
                Err((text, d)) => {
                    eprint!("{}", d.render("query", text, false));
                    return 3;
                }
            }
        }
        Some(path) => {
            let file = match ruleq::rule::load_file(&path) {
                Ok(f) => f,
                Err(e) => return usage(format!("{}: {e}", path.display())),
            };
            let report = check::check(vec![file], options.mapping.as_ref());
            let pick = match pick_rule(&report, args.rule.as_deref()) {
                Ok(i) => i,
                Err(e) => return usage(format!("{}: {e}", path.display())),
            };
            let errors: Vec<_> = report
                .findings
                .iter()
                .filter(|f| f.diagnostic.severity == Severity::Error)
                .filter(|f| f.rule.is_none() || f.rule == Some(pick))
                .cloned()
                .collect();
            if !errors.is_empty() || report.files[0].rules.is_empty() {
                let color =
                    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
                let errors = Report {
                    files: report.files.clone(),
                    findings: errors,
                    test_files: 0,
                };
                eprint!("{}", output::human(&errors, color));
                return 3;
            }
            explain(&report.files[0].rules[pick], &events, &options)
        }
    };
    let explanation = match explained {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return 3;
        }
    };
    let text = match args.format {
        ExplainFormat::Human => explanation.human(),
        ExplainFormat::Json => explanation.json(),
    };
    let mut out = std::io::stdout().lock();
    if out
        .write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        return 0;
    }
    0
}

/// The rule to explain: the one with `rule_id` `id`, or the file's only rule.
fn pick_rule(report: &Report, id: Option<&str>) -> Result<usize, String> {
    let rules = &report.files[0].rules;
    match id {
        Some(id) => rules
            .iter()
            .position(|r| r.id() == Some(id))
            .ok_or_else(|| format!("no rule has rule_id {id}")),
        None if rules.len() > 1 => {
            let ids: Vec<&str> = rules.iter().filter_map(|r| r.id()).collect();
            Err(format!(
                "the file holds {} rules; pick one with --rule ID ({})",
                rules.len(),
                ids.join(", ")
            ))
        }
        None => Ok(0),
    }
}

/// Every event of the inputs, named as `ruleq run` names them: `_id`, else
/// `file:line`. Malformed events are reported and skipped.
fn read_events(inputs: &[ruleq::event::Input]) -> Result<Vec<ExplainEvent>, String> {
    let names = FileNames::new(inputs);
    let mut source = EventSource::new(inputs).map_err(|e| e.to_string())?;
    let table = FieldTable::new();
    let mut projector = Projector::new(&table);
    let mut reporter = Reporter::default();
    let mut events = Vec::new();
    while let Some(item) = source.next_item() {
        match item.map_err(|e| e.to_string())? {
            Item::Event(raw) => match projector.project(raw.bytes) {
                Ok(record) => {
                    let name = match record.id() {
                        Some(id) => id.to_string(),
                        None => format!("{}:{}", names.name(raw.path), raw.pos.number()),
                    };
                    projector.recycle(record);
                    events.push(ExplainEvent {
                        name,
                        bytes: raw.bytes.to_vec(),
                    });
                }
                Err(e) => reporter.report(&ruleq::event::Malformed::new(&raw, &e)),
            },
            Item::Malformed(m) => reporter.report(&m),
        }
    }
    reporter.finish();
    Ok(events)
}
