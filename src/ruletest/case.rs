//! One case run: its events built into one stream (defaults merged,
//! times stamped, identities given), its rule run on them alone through
//! the executors `ruleq run` uses, and its alerts held to what it expects.

use super::file::{Case, Execution, InlineEvent, TestFile};
use crate::compile::date::{format_iso, parse_default};
use crate::detect::{Config, Detector, Executions, Feedback};
use crate::event::{EventSource, FileNames, Input, Item};
use crate::exceptions::Exceptions;
use crate::indicators::Indicators;
use crate::mapping::Mapping;
use crate::rule::{Rule, RuleFile};
use serde_json::{Map, Value as Json};
use std::path::Path;

/// The default start of a case's time: obviously synthetic.
pub const DEFAULT_START: &str = "2000-01-01T00:00:00Z";

const MILLI: i64 = 1_000_000;

/// One event of a case: its identity and its text (one JSON line).
#[derive(Debug, Clone)]
pub struct CaseEvent {
    /// `_id`, else `<case-slug>#<n>` or `<events_file>:<line>`.
    pub id: String,
    /// The event as the rule reads it.
    pub text: String,
}

/// Deep-merges `under` beneath `over`: `over`'s values win; objects merge.
fn merge_under(over: &mut Map<String, Json>, under: &Map<String, Json>) {
    for (k, v) in under {
        match (over.get_mut(k), v) {
            (Some(Json::Object(o)), Json::Object(u)) => merge_under(o, u),
            (Some(_), _) => {}
            (None, v) => {
                over.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Whether an event holds `@timestamp`, as a top-level key or nested.
fn has_timestamp(fields: &Map<String, Json>) -> bool {
    fields.contains_key("@timestamp")
}

/// Splices `"key":value,` into an object's text after its opening brace.
fn with_member(text: &str, key: &str, value: &str) -> String {
    let open = text.find('{').unwrap_or(0);
    let rest = text[open + 1..].trim_start();
    let comma = if rest.starts_with('}') { "" } else { "," };
    let key = serde_json::to_string(key).unwrap_or_default();
    let value = serde_json::to_string(value).unwrap_or_default();
    format!(
        "{}{{{key}:{value}{comma}{}",
        &text[..open],
        &text[open + 1..]
    )
}

/// The case's events, in stream order: inline tables, then `events_json`,
/// then `events_file`. Inline events get the file's default fields
/// beneath their own, a time when they have none (`start + _at`, else 1 ms
/// after the one before), the case's index when they name none, and
/// `<case-slug>#<n>` as `_id` when they have none; file events are taken as
/// recorded, named `<events_file>:<line>`.
pub fn events(test: &TestFile, case: &Case) -> Result<Vec<CaseEvent>, String> {
    let start = case
        .start
        .or(test.start)
        .unwrap_or_else(|| parse_default(DEFAULT_START).map_or(0, |t| t.lo));
    let index = case.index.as_ref().or(test.index.as_ref());
    let mut out = Vec::new();
    let mut next = start;
    let mut last_at = i64::MIN;
    let inline: Vec<&InlineEvent> = case.events.iter().chain(&case.events_json).collect();
    for (n, event) in inline.into_iter().enumerate() {
        let mut fields = event.fields.clone();
        merge_under(&mut fields, &test.default_event);
        let time = match event.at {
            Some(at) => {
                if at < last_at {
                    return Err(format!(
                        "event {} of the case: `_at` goes back in time (each `_at` must not be less than the one before)",
                        n + 1
                    ));
                }
                last_at = at;
                start + at
            }
            None => next,
        };
        if !has_timestamp(&fields) {
            fields.insert("@timestamp".into(), Json::String(format_iso(time, false)));
            next = time + MILLI;
        } else if let Some(t) = fields["@timestamp"].as_str().and_then(parse_default) {
            next = t.lo + MILLI;
        }
        if let (Some(index), false) = (index, fields.contains_key("_index")) {
            fields.insert("_index".into(), Json::String(index.clone()));
        }
        let id = match fields.get("_id") {
            Some(Json::String(id)) => id.clone(),
            Some(other) => other.to_string(),
            None => {
                let id = format!("{}#{}", case.slug, n + 1);
                fields.insert("_id".into(), Json::String(id.clone()));
                id
            }
        };
        // `_id` and `_index` lead, as in a search hit.
        let mut ordered = Map::new();
        for key in ["_id", "_index"] {
            if let Some(v) = fields.shift_remove(key) {
                ordered.insert(key.into(), v);
            }
        }
        ordered.extend(fields);
        out.push(CaseEvent {
            id,
            text: Json::Object(ordered).to_string(),
        });
    }
    if let Some((file, _)) = &case.events_file {
        let dir = test.path.parent().unwrap_or(Path::new("."));
        let path = dir.join(file);
        let mut source = EventSource::new(&[Input::Path(path.clone())])
            .map_err(|e| format!("events_file: {e}"))?;
        while let Some(item) = source.next_item() {
            match item.map_err(|e| format!("events_file: {e}"))? {
                Item::Event(raw) => {
                    let text = crate::event::compact_json(&String::from_utf8_lossy(raw.bytes))
                        .into_owned();
                    let line = raw.pos.number();
                    let own: Option<String> = serde_json::from_str::<Map<String, Json>>(&text)
                        .ok()
                        .and_then(|m| m.get("_id").and_then(|v| v.as_str().map(str::to_string)));
                    let (id, mut text) = match own {
                        Some(id) => (id, text),
                        None => {
                            let id = format!("{file}:{line}");
                            let text = with_member(&text, "_id", &id);
                            (id, text)
                        }
                    };
                    if let Some(index) = index {
                        if !text.contains("\"_index\"") {
                            text = with_member(&text, "_index", index);
                        }
                    }
                    out.push(CaseEvent { id, text });
                }
                Item::Malformed(m) => return Err(format!("events_file: {m}")),
            }
        }
    }
    Ok(out)
}

/// What running a case gave.
#[derive(Debug, Clone)]
pub struct CaseRun {
    /// The alert documents, in output order.
    pub documents: Vec<Map<String, Json>>,
    /// The execution time used (`now`), when one execution ran.
    pub now: i64,
    /// Per threshold alert (by `kibana.alert.uuid`): the ids of its
    /// group's events, in time order.
    pub groups: std::collections::HashMap<String, Vec<String>>,
}

/// Why a case could not run.
#[derive(Debug, Clone)]
pub enum NotRun {
    /// The rule is of a type (or has a setting) ruleq does not evaluate.
    Skipped(String),
    /// The case's events or its rule could not be used.
    Error(String),
}

/// The lists a case's rule runs with: its exception lists and value lists,
/// and its indicators.
#[derive(Debug, Clone, Default)]
pub struct Lists {
    /// Exception lists (attached as the rule's default lists) and value
    /// lists.
    pub exceptions: Exceptions,
    /// Indicators for an indicator match rule.
    pub indicators: std::sync::Arc<Indicators>,
}

/// Runs `rule` (from `file`) alone over the case's events, as `execution`
/// says, at `now` (for one execution).
pub fn run(
    file: &RuleFile,
    rule: &Rule,
    events: &[CaseEvent],
    execution: Execution,
    now: i64,
    mapping: Option<&Mapping>,
    lists: &Lists,
) -> Result<CaseRun, NotRun> {
    let single = RuleFile {
        rules: vec![rule.clone()],
        diagnostics: Vec::new(),
        ..file.clone()
    };
    let config = Config {
        now,
        mapping: mapping.cloned(),
        executions: match execution {
            Execution::Schedule => Executions::Schedule,
            Execution::Once => Executions::At(now),
            Execution::All => Executions::Single,
        },
        bound_by_look_back: execution != Execution::All,
        threads: 1,
        group_events: true,
        exceptions: lists.exceptions.clone(),
        indicators: std::sync::Arc::clone(&lists.indicators),
        ..Config::default()
    };
    let detector = Detector::new(vec![single], config);
    let selection = detector.selection();
    if selection.selected.is_empty() {
        if let Some((why, _)) = selection.not_run.first() {
            return Err(NotRun::Skipped(why.clone()));
        }
        let mut why = String::from("the rule did not load");
        if let Some(e) = selection.compile_errors.first() {
            why = format!("the rule did not load:\n{e}");
        } else if !selection.errors.findings.is_empty() {
            why = format!(
                "the rule did not load:\n{}",
                crate::check::output::human(&selection.errors, false)
            );
        }
        return Err(NotRun::Error(why));
    }
    if execution == Execution::All && selection.selected[0].executor.windowed() {
        let kind = rule
            .rule_type
            .as_ref()
            .map_or("threshold", |t| crate::rule::Keyword::keyword(t.value));
        return Err(NotRun::Error(format!(
            "execution = \"all\" cannot run a {kind} rule: its results mean nothing \
             outside an execution's window (use \"schedule\" or \"once\")"
        )));
    }
    let mut text = String::new();
    for e in events {
        text.push_str(&e.text);
        text.push('\n');
    }
    let source = EventSource::from_reader("<case>", std::io::Cursor::new(text.into_bytes()))
        .map_err(|e| NotRun::Error(e.to_string()))?;
    let names = FileNames::new(&[Input::Stdin]);
    let outcome = detector.pass(source, &names, &Feedback::quiet()).finish();
    if outcome.malformed > 0 {
        return Err(NotRun::Error(format!(
            "{} of the case's events are not valid JSON objects",
            outcome.malformed
        )));
    }
    let mut documents = Vec::new();
    outcome
        .alerts
        .finish(|doc| {
            if let Ok(map) = serde_json::from_str(doc) {
                documents.push(map);
            }
            Ok(())
        })
        .map_err(|e| NotRun::Error(format!("writing alerts: {e}")))?;
    // The case's events are its lines, in order.
    let groups = outcome
        .groups
        .iter()
        .map(|(uuid, origins)| {
            let ids = origins
                .iter()
                .filter_map(|o| events.get(o.line.checked_sub(1)? as usize))
                .map(|e| e.id.clone())
                .collect();
            (uuid.clone(), ids)
        })
        .collect();
    Ok(CaseRun {
        documents,
        now,
        groups,
    })
}

/// The exception lists and value lists of a case (the file's defaults and
/// its own, relative to the test file), attached to the rule under test as
/// its default lists; their items' expiry is judged at `now`.
pub fn exceptions(test: &TestFile, case: &Case, now: i64) -> Result<Exceptions, String> {
    let dir = test.path.parent().unwrap_or(Path::new("."));
    let mut exceptions = Exceptions {
        now,
        ..Exceptions::default()
    };
    for file in test.exceptions_files.iter().chain(&case.exceptions_files) {
        let path = dir.join(file);
        let loaded = crate::exceptions::load::read(&path)
            .map_err(|e| format!("exceptions_files: {}: {e}", path.display()))?;
        if loaded.has_errors() {
            return Err(format!(
                "exceptions_files: {file} does not load:\n{}",
                loaded.render(false)
            ));
        }
        exceptions.defaults.extend(loaded.lists);
    }
    for (id, file) in test.value_lists.iter().chain(&case.value_lists) {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("value_lists: {}: {e}", path.display()))?;
        exceptions.value_lists.insert(
            id.clone(),
            crate::exceptions::filter::read_value_list(&text),
        );
    }
    Ok(exceptions)
}

/// The indicators of a case (the file's `indicators_files` and its own,
/// relative to the test file); a malformed indicator is an error.
pub fn indicators(test: &TestFile, case: &Case) -> Result<Indicators, String> {
    let dir = test.path.parent().unwrap_or(Path::new("."));
    let inputs: Vec<crate::event::Input> = test
        .indicators_files
        .iter()
        .chain(&case.indicators_files)
        .map(|f| crate::event::Input::Path(dir.join(f)))
        .collect();
    if inputs.is_empty() {
        return Ok(Indicators::default());
    }
    let read = Indicators::read(&inputs).map_err(|e| format!("indicators_files: {e}"))?;
    if read.malformed > 0 || read.io_failed {
        return Err(format!(
            "indicators_files: {} of {} indicators are malformed (reported above with their file and line)",
            read.malformed, read.read
        ));
    }
    Ok(read)
}

/// The latest event time of the case's events (the default `now`).
pub fn latest(events: &[CaseEvent]) -> Option<i64> {
    events
        .iter()
        .filter_map(|e| {
            let v: Json = serde_json::from_str(&e.text).ok()?;
            match v.get("@timestamp")? {
                Json::String(s) => parse_default(s).map(|t| t.lo),
                Json::Number(n) => crate::compile::date::epoch_millis_number(&n.to_string()),
                _ => None,
            }
        })
        .max()
}

/// The EQL event queries that say whether an event reaches `rule` at all:
/// for an EQL event query, its category; for a sequence or a sample, each
/// step (category and condition); for a KQL query, every event (only the
/// rule's index patterns and filters decide).
fn probes(rule: &Rule) -> Vec<String> {
    use crate::syntax::eql::{self, EventFilter, Expr, Query, QueryBody};
    let any = |category: Option<String>, condition: Option<Expr>| {
        let span = crate::syntax::Span::new(0, 0);
        let condition = condition.unwrap_or(Expr::Literal(eql::Literal {
            value: eql::Value::Boolean(true),
            span,
        }));
        eql::print(&Query {
            body: QueryBody::Event {
                filter: EventFilter {
                    category,
                    condition,
                    span,
                },
            },
            pipes: Vec::new(),
            span,
        })
    };
    let text = rule.query.as_ref().map(|q| q.text.as_str()).unwrap_or("");
    let kind = rule.rule_type.as_ref().map(|t| t.value);
    if kind != Some(crate::rule::RuleType::Eql) {
        return vec![any(None, None)];
    }
    match eql::parse(text).map(|q| q.body) {
        Ok(QueryBody::Event { filter }) => vec![any(filter.category, None)],
        Ok(QueryBody::Sequence(s)) => s
            .steps
            .into_iter()
            .map(|st| any(st.filter.category, Some(st.filter.condition)))
            .collect(),
        Ok(QueryBody::Sample(s)) => s
            .steps
            .into_iter()
            .map(|st| any(st.filter.category, Some(st.filter.condition)))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Whether any of the case's events reaches `rule`: it lies in an index
/// the rule searches, passes the rule's filters, and is of an event
/// category the rule queries (for a sequence or a sample: matches one of
/// its steps). A case that must not alert, none of whose events reaches
/// the rule, tests nothing.
pub fn reaches(
    file: &RuleFile,
    rule: &Rule,
    events: &[CaseEvent],
    mapping: Option<&Mapping>,
) -> bool {
    probes(rule).into_iter().any(|probe| {
        let mut probe_rule = rule.clone();
        if let Some(q) = &mut probe_rule.query {
            q.text = probe;
        }
        let span = crate::syntax::Span::new(0, 0);
        probe_rule.rule_type = Some(crate::rule::Spanned {
            value: crate::rule::RuleType::Eql,
            span,
        });
        probe_rule.language = Some(crate::rule::Spanned {
            value: crate::rule::Language::Eql,
            span,
        });
        run(
            file,
            &probe_rule,
            events,
            Execution::All,
            0,
            mapping,
            &Lists::default(),
        )
        .is_ok_and(|r| !r.documents.is_empty())
    })
}
