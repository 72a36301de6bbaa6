//! Test files: one per rule, under `rule_tests/`, naming the rule by
//! `rule_id`, holding its cases. The schema is strict: an unknown key is an
//! error at its line and column, so that a typo (`alert = 0`) cannot turn
//! into a test that asserts nothing.

use crate::diag::Diagnostic;
use crate::rule::value::{Entry, Node, Value};
use crate::syntax::Span;
use serde_json::{Map, Value as Json};
use std::path::{Path, PathBuf};

/// How a case runs its rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Execution {
    /// The executions `ruleq run --schedule` replays (the default).
    Schedule,
    /// One execution at the case's `now`, over the rule's window.
    Once,
    /// One execution over every event, with no window and no look-back
    /// bound on sequences.
    All,
}

impl Execution {
    /// The keyword, as a test file writes it.
    pub fn keyword(self) -> &'static str {
        match self {
            Execution::Schedule => "schedule",
            Execution::Once => "once",
            Execution::All => "all",
        }
    }
}

/// One test file.
#[derive(Debug, Clone)]
pub struct TestFile {
    /// Its path, as found.
    pub path: PathBuf,
    /// Its text.
    pub source: String,
    /// The rule it tests.
    pub rule_id: String,
    /// Where `rule_id` is written.
    pub rule_id_span: Span,
    /// The rule's name, when given (checked against the rule's).
    pub rule_name: Option<(String, Span)>,
    /// Fields deep-merged under every inline event.
    pub default_event: Map<String, Json>,
    /// The start of every case's time, unless the case sets its own.
    pub start: Option<i64>,
    /// The index of events that give none, unless the case sets its own.
    pub index: Option<String>,
    /// How cases run, unless they say.
    pub execution: Option<Execution>,
    /// `[defaults] exceptions_files`: exception list files every case's
    /// rule applies (relative to the test file).
    pub exceptions_files: Vec<String>,
    /// `[defaults] value_lists`: value list files by id.
    pub value_lists: Vec<(String, String)>,
    /// `[defaults] indicators_files`: indicator files every case's
    /// indicator match rule matches against (relative to the test file).
    pub indicators_files: Vec<String>,
    /// The cases, in file order.
    pub cases: Vec<Case>,
    /// Record the syntax trees of the rule's queries (`[snapshots] ast`).
    pub ast_snapshot: bool,
    /// Record every case's alerts (`[snapshots] cases`).
    pub case_snapshots: bool,
}

/// One inline event as written: its fields, and its `_at` offset.
#[derive(Debug, Clone)]
pub struct InlineEvent {
    /// The fields (`_id` and `_index` included when given).
    pub fields: Map<String, Json>,
    /// `_at`: its time after the case's start, in nanoseconds.
    pub at: Option<i64>,
    /// `_placeholder = true`: an event `ruleq test --new` wrote, not filled
    /// in yet; its case fails until the key is removed.
    pub placeholder: bool,
    /// Where it is written.
    pub span: Span,
}

/// One case.
#[derive(Debug, Clone)]
pub struct Case {
    /// Its name (unique in the file).
    pub name: String,
    /// The name as a file-name part: see [`slug`].
    pub slug: String,
    /// Where the case is written (its `[[case]]` header).
    pub span: Span,
    /// `[[case.event]]` tables.
    pub events: Vec<InlineEvent>,
    /// `events_json`: pasted NDJSON or a JSON array, parsed.
    pub events_json: Vec<InlineEvent>,
    /// `events_file`, as written (relative to the test file).
    pub events_file: Option<(String, Span)>,
    /// `alerts`: the exact number of alerts.
    pub alerts: Option<u64>,
    /// `min_alerts`.
    pub min_alerts: Option<u64>,
    /// `max_alerts`.
    pub max_alerts: Option<u64>,
    /// `[[case.alert]]`: the expected alerts, all of them, in output order.
    pub expected: Vec<ExpectedAlert>,
    /// `start`.
    pub start: Option<i64>,
    /// `now`.
    pub now: Option<i64>,
    /// `index`.
    pub index: Option<String>,
    /// `execution`.
    pub execution: Option<Execution>,
    /// `snapshot = true`.
    pub snapshot: bool,
    /// `exceptions_files`: exception list files the rule applies in this
    /// case, besides the file's defaults (relative to the test file).
    pub exceptions_files: Vec<String>,
    /// `value_lists = { ID = "file" }`, besides the file's defaults.
    pub value_lists: Vec<(String, String)>,
    /// `indicators_files`: indicator files an indicator match rule matches
    /// against in this case, besides the file's defaults.
    pub indicators_files: Vec<String>,
}

impl Case {
    /// Whether some inline event is still a placeholder (`_placeholder`).
    pub fn has_placeholders(&self) -> bool {
        self.events
            .iter()
            .chain(&self.events_json)
            .any(|e| e.placeholder)
    }

    /// Whether the case states what must happen.
    pub fn asserts(&self) -> bool {
        self.alerts.is_some()
            || self.min_alerts.is_some()
            || self.max_alerts.is_some()
            || !self.expected.is_empty()
            || self.snapshot
    }

    /// The number of alerts the case expects exactly, when it says.
    pub fn exact(&self) -> Option<u64> {
        self.alerts
            .or_else(|| (!self.expected.is_empty()).then_some(self.expected.len() as u64))
    }

    /// Whether the case says the rule must alert.
    pub fn is_positive(&self) -> bool {
        self.exact().is_some_and(|n| n >= 1) || self.min_alerts.is_some_and(|n| n >= 1)
    }

    /// Whether the case says the rule must not alert.
    pub fn is_negative(&self) -> bool {
        self.exact() == Some(0)
    }
}

/// One expected alert.
#[derive(Debug, Clone)]
pub struct ExpectedAlert {
    /// The ids of its events, in step order.
    pub events: Option<Vec<String>>,
    /// Fields it must hold, compared as JSON.
    pub fields: Map<String, Json>,
    /// Fields it must not hold.
    pub absent: Vec<String>,
    /// Where it is written.
    pub span: Span,
}

/// A file-name part from a case name: lowercased, each run of characters
/// outside `[a-z0-9]` turned into `-`, the ends trimmed.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// Whether a parsed TOML document is a test file: a top-level `rule_id` or
/// `[[case]]`, and no `[rule]`.
pub fn is_test_file(doc: &Node) -> bool {
    doc.get("rule").is_none() && (doc.get("rule_id").is_some() || doc.get("case").is_some())
}

type Result<T> = std::result::Result<T, Diagnostic>;

fn error(message: impl Into<String>, span: Span) -> Diagnostic {
    Diagnostic::error("test::schema", message, span)
}

/// Checks that `table` has only `allowed` keys.
fn known_keys(entries: &[Entry], allowed: &[&str], what: &str) -> Result<()> {
    for e in entries {
        if !allowed.contains(&e.key.as_str()) {
            let close = allowed
                .iter()
                .find(|k| crate::syntax::eql::functions::edit_distance(&e.key, k) <= 2)
                .map(|k| format!("did you mean `{k}`? "))
                .unwrap_or_default();
            return Err(
                error(format!("unknown key `{}` in {what}", e.key), e.key_span).with_help(format!(
                    "{close}the keys of {what} are: {}",
                    allowed.join(", ")
                )),
            );
        }
    }
    Ok(())
}

fn table<'a>(node: &'a Node, what: &str) -> Result<&'a [Entry]> {
    node.entries().ok_or_else(|| {
        error(
            format!("{what} must be a table, found {}", node.value.type_name()),
            node.span,
        )
    })
}

fn string(node: &Node, key: &str) -> Result<String> {
    match &node.value {
        Value::String(s) => Ok(s.clone()),
        other => Err(error(
            format!("`{key}` must be a string, found {}", other.type_name()),
            node.span,
        )),
    }
}

fn count(node: &Node, key: &str) -> Result<u64> {
    match &node.value {
        Value::Integer(n) if *n >= 0 => Ok(*n as u64),
        other => Err(error(
            format!(
                "`{key}` must be a whole number of alerts, found {}",
                other.type_name()
            ),
            node.span,
        )),
    }
}

fn boolean(node: &Node, key: &str) -> Result<bool> {
    match &node.value {
        Value::Bool(b) => Ok(*b),
        other => Err(error(
            format!("`{key}` must be true or false, found {}", other.type_name()),
            node.span,
        )),
    }
}

/// A time: an RFC 3339 string or a TOML date-time, with its offset.
fn time(node: &Node, key: &str) -> Result<i64> {
    let text = match &node.value {
        Value::String(s) | Value::Datetime(s) => s.replace(' ', "T"),
        other => {
            return Err(error(
                format!("`{key}` must be a time, found {}", other.type_name()),
                node.span,
            ))
        }
    };
    rfc3339(&text).ok_or_else(|| {
        error(
            format!("`{key}` is not a time with an offset: {text}"),
            node.span,
        )
        .with_help("write a full RFC 3339 time, such as 2024-05-01T10:00:00Z")
    })
}

/// An RFC 3339 time (a full date and time, with a zone) in nanoseconds.
pub fn rfc3339(text: &str) -> Option<i64> {
    let t = text.find(['T', 't'])?;
    let time = &text[t..];
    let zoned = time.ends_with(['Z', 'z']) || time[1..].contains(['+', '-']);
    if !zoned {
        return None;
    }
    crate::compile::date::parse_iso(text).map(|i| i.lo)
}

/// A duration such as `2s`, `10m`, `1h`, `500ms` or `1d`, in nanoseconds.
pub fn duration(text: &str) -> Option<i64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = t.split_at(split);
    let n: i64 = n.parse().ok()?;
    let unit = match unit {
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        "d" => 86_400_000_000_000,
        _ => return None,
    };
    n.checked_mul(unit)
}

fn execution(node: &Node) -> Result<Execution> {
    match string(node, "execution")?.as_str() {
        "schedule" => Ok(Execution::Schedule),
        "once" => Ok(Execution::Once),
        "all" => Ok(Execution::All),
        other => Err(error(format!("unknown execution `{other}`"), node.span)
            .with_help("execution is \"schedule\" (the default), \"once\" or \"all\"")),
    }
}

/// A TOML value as the JSON of an event field. A date-time must carry an
/// offset and becomes its RFC 3339 text.
fn json(node: &Node) -> Result<Json> {
    Ok(match &node.value {
        Value::Datetime(s) => {
            let text = s.replace(' ', "T");
            if rfc3339(&text).is_none() {
                return Err(error(
                    format!("a date-time in an event needs an offset: {s}"),
                    node.span,
                )
                .with_help("write it with its zone, such as 2024-05-01T10:00:00Z"));
            }
            Json::String(text)
        }
        Value::Array(items) => Json::Array(items.iter().map(json).collect::<Result<_>>()?),
        Value::Table(entries) => {
            let mut map = Map::new();
            for e in entries {
                map.insert(e.key.clone(), json(&e.value)?);
            }
            Json::Object(map)
        }
        _ => node.to_json(),
    })
}

/// An event from its fields: `_at` taken out as a duration.
pub fn inline_event(mut fields: Map<String, Json>, span: Span) -> Result<InlineEvent> {
    let placeholder = match fields.shift_remove("_placeholder") {
        None | Some(Json::Bool(false)) => false,
        Some(Json::Bool(true)) => true,
        Some(other) => {
            return Err(error(
                format!("`_placeholder` must be true or false, found {other}"),
                span,
            ))
        }
    };
    let at = match fields.shift_remove("_at") {
        None => None,
        Some(Json::String(s)) => Some(duration(&s).ok_or_else(|| {
            error(format!("`_at` is not a duration: {s}"), span)
                .with_help("write a duration after the case's start, such as \"2s\" or \"10m\"")
        })?),
        Some(other) => {
            return Err(error(
                format!("`_at` must be a duration such as \"2s\", found {other}"),
                span,
            ))
        }
    };
    Ok(InlineEvent {
        fields,
        at,
        placeholder,
        span,
    })
}

/// Events pasted as NDJSON or a JSON array.
fn pasted(text: &str, span: Span) -> Result<Vec<InlineEvent>> {
    let values: Vec<Json> = if text.trim_start().starts_with('[') {
        match serde_json::from_str::<Json>(text) {
            Ok(Json::Array(items)) => items,
            Ok(_) => Vec::new(),
            Err(e) => return Err(error(format!("`events_json` is not JSON: {e}"), span)),
        }
    } else {
        serde_json::Deserializer::from_str(text)
            .into_iter::<Json>()
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| error(format!("`events_json` is not NDJSON: {e}"), span))?
    };
    values
        .into_iter()
        .map(|v| match v {
            Json::Object(map) => inline_event(map, span),
            other => Err(error(
                format!("an event in `events_json` must be an object, found {other}"),
                span,
            )),
        })
        .collect()
}

fn expected_alert(node: &Node) -> Result<ExpectedAlert> {
    let entries = table(node, "an expected alert")?;
    known_keys(entries, &["events", "fields", "absent"], "[[case.alert]]")?;
    let mut alert = ExpectedAlert {
        events: None,
        fields: Map::new(),
        absent: Vec::new(),
        span: node.span,
    };
    for e in entries {
        match e.key.as_str() {
            "events" => {
                let Value::Array(items) = &e.value.value else {
                    return Err(error("`events` must be a list of event ids", e.value.span));
                };
                alert.events = Some(
                    items
                        .iter()
                        .map(|i| string(i, "events"))
                        .collect::<Result<_>>()?,
                );
            }
            "fields" => {
                for f in table(&e.value, "`fields`")? {
                    alert.fields.insert(f.key.clone(), json(&f.value)?);
                }
            }
            "absent" => {
                let Value::Array(items) = &e.value.value else {
                    return Err(error(
                        "`absent` must be a list of field names",
                        e.value.span,
                    ));
                };
                alert.absent = items
                    .iter()
                    .map(|i| string(i, "absent"))
                    .collect::<Result<_>>()?;
            }
            _ => {}
        }
    }
    Ok(alert)
}

/// A list of strings (`exceptions_files = ["a.ndjson"]`).
fn strings(v: &Node, what: &str) -> Result<Vec<String>> {
    let Value::Array(items) = &v.value else {
        return Err(error(format!("`{what}` must be a list of paths"), v.span));
    };
    items.iter().map(|i| string(i, what)).collect()
}

/// `value_lists = { ID = "file" }`.
fn value_lists(v: &Node) -> Result<Vec<(String, String)>> {
    let entries = table(v, "`value_lists`")?;
    entries
        .iter()
        .map(|e| Ok((e.key.clone(), string(&e.value, "value_lists")?)))
        .collect()
}

fn case(node: &Node) -> Result<Case> {
    let entries = table(node, "a case")?;
    known_keys(
        entries,
        &[
            "name",
            "alerts",
            "min_alerts",
            "max_alerts",
            "alert",
            "event",
            "events_json",
            "events_file",
            "start",
            "now",
            "index",
            "execution",
            "snapshot",
            "exceptions_files",
            "value_lists",
            "indicators_files",
        ],
        "[[case]]",
    )?;
    let name = match node.get("name") {
        Some(e) => string(&e.value, "name")?,
        None => {
            return Err(error("a case needs a `name`", node.span)
                .with_help("name it: name = \"telnet to a public address alerts\""))
        }
    };
    let mut case = Case {
        slug: slug(&name),
        name,
        span: node.span,
        events: Vec::new(),
        events_json: Vec::new(),
        events_file: None,
        alerts: None,
        min_alerts: None,
        max_alerts: None,
        expected: Vec::new(),
        start: None,
        now: None,
        index: None,
        execution: None,
        snapshot: false,
        exceptions_files: Vec::new(),
        value_lists: Vec::new(),
        indicators_files: Vec::new(),
    };
    for e in entries {
        let v = &e.value;
        match e.key.as_str() {
            "alerts" => case.alerts = Some(count(v, "alerts")?),
            "min_alerts" => case.min_alerts = Some(count(v, "min_alerts")?),
            "max_alerts" => case.max_alerts = Some(count(v, "max_alerts")?),
            "alert" => {
                let Value::Array(items) = &v.value else {
                    return Err(error(
                        "`alert = ...` is not a count of alerts: `alert` holds the expected alerts, as [[case.alert]] tables",
                        e.key_span,
                    )
                    .with_help("did you mean `alerts`? (alerts = 0 for a case that must not alert)"));
                };
                case.expected = items.iter().map(expected_alert).collect::<Result<_>>()?;
            }
            "event" => {
                let Value::Array(items) = &v.value else {
                    return Err(error("write events as [[case.event]] tables", v.span));
                };
                for item in items {
                    let Json::Object(map) = json(item)? else {
                        return Err(error("an event must be a table", item.span));
                    };
                    case.events.push(inline_event(map, item.span)?);
                }
            }
            "events_json" => case.events_json = pasted(&string(v, "events_json")?, v.span)?,
            "events_file" => case.events_file = Some((string(v, "events_file")?, v.span)),
            "start" => case.start = Some(time(v, "start")?),
            "now" => case.now = Some(time(v, "now")?),
            "index" => case.index = Some(string(v, "index")?),
            "execution" => case.execution = Some(execution(v)?),
            "snapshot" => case.snapshot = boolean(v, "snapshot")?,
            "exceptions_files" => case.exceptions_files = strings(v, "exceptions_files")?,
            "value_lists" => case.value_lists = value_lists(v)?,
            "indicators_files" => case.indicators_files = strings(v, "indicators_files")?,
            _ => {}
        }
    }
    if let (Some(min), Some(max)) = (case.min_alerts, case.max_alerts) {
        if min > max {
            return Err(error(
                format!("min_alerts ({min}) is above max_alerts ({max})"),
                node.span,
            ));
        }
    }
    if let (Some(n), false) = (case.alerts, case.expected.is_empty()) {
        if n != case.expected.len() as u64 {
            return Err(error(
                format!(
                    "alerts = {n}, but the case lists {} [[case.alert]] entries",
                    case.expected.len()
                ),
                node.span,
            )
            .with_help(
                "the [[case.alert]] list is complete: give every expected alert, or drop `alerts`",
            ));
        }
    }
    if !case.asserts() {
        return Err(error(format!("case \"{}\" asserts nothing", case.name), node.span).with_help(
            "say what must happen: alerts = N, min_alerts/max_alerts, [[case.alert]] entries, or snapshot = true",
        ));
    }
    Ok(case)
}

impl TestFile {
    /// Reads a test file from its text.
    pub fn parse(path: &Path, source: String) -> Result<TestFile> {
        let doc = crate::rule::toml::parse(&source)?;
        let entries = table(&doc, "a test file")?;
        known_keys(
            entries,
            &["rule_id", "rule_name", "defaults", "case", "snapshots"],
            "a test file",
        )?;
        let rule_id = doc.get("rule_id").ok_or_else(|| {
            error(
                "a test file needs the `rule_id` of the rule it tests",
                Span::new(0, 0),
            )
        })?;
        let mut file = TestFile {
            path: path.to_path_buf(),
            rule_id: string(&rule_id.value, "rule_id")?,
            rule_id_span: rule_id.value.span,
            rule_name: None,
            default_event: Map::new(),
            start: None,
            index: None,
            execution: None,
            exceptions_files: Vec::new(),
            value_lists: Vec::new(),
            indicators_files: Vec::new(),
            cases: Vec::new(),
            ast_snapshot: false,
            case_snapshots: false,
            source: String::new(),
        };
        if let Some(e) = doc.get("rule_name") {
            file.rule_name = Some((string(&e.value, "rule_name")?, e.value.span));
        }
        if let Some(d) = doc.get("defaults") {
            let defaults = table(&d.value, "[defaults]")?;
            known_keys(
                defaults,
                &[
                    "event",
                    "start",
                    "index",
                    "execution",
                    "exceptions_files",
                    "value_lists",
                    "indicators_files",
                ],
                "[defaults]",
            )?;
            for e in defaults {
                match e.key.as_str() {
                    "event" => match json(&e.value)? {
                        Json::Object(map) => file.default_event = map,
                        _ => return Err(error("[defaults.event] must be a table", e.value.span)),
                    },
                    "start" => file.start = Some(time(&e.value, "start")?),
                    "index" => file.index = Some(string(&e.value, "index")?),
                    "execution" => file.execution = Some(execution(&e.value)?),
                    "exceptions_files" => {
                        file.exceptions_files = strings(&e.value, "exceptions_files")?
                    }
                    "value_lists" => file.value_lists = value_lists(&e.value)?,
                    "indicators_files" => {
                        file.indicators_files = strings(&e.value, "indicators_files")?
                    }
                    _ => {}
                }
            }
        }
        if let Some(s) = doc.get("snapshots") {
            let snaps = table(&s.value, "[snapshots]")?;
            known_keys(snaps, &["ast", "cases"], "[snapshots]")?;
            for e in snaps {
                match e.key.as_str() {
                    "ast" => file.ast_snapshot = boolean(&e.value, "ast")?,
                    "cases" => file.case_snapshots = boolean(&e.value, "cases")?,
                    _ => {}
                }
            }
        }
        if let Some(c) = doc.get("case") {
            let Value::Array(items) = &c.value.value else {
                return Err(error("write cases as [[case]] tables", c.value.span));
            };
            for item in items {
                let case = case(item)?;
                if let Some(other) = file.cases.iter().find(|o| o.slug == case.slug) {
                    return Err(error(
                        format!(
                            "case \"{}\" has the same name, as a snapshot file name (`{}`), as case \"{}\"",
                            case.name, case.slug, other.name
                        ),
                        item.span,
                    )
                    .with_help("name the cases apart"));
                }
                file.cases.push(case);
            }
        }
        if file.case_snapshots {
            for case in &mut file.cases {
                case.snapshot = true;
            }
        }
        file.source = source;
        Ok(file)
    }
}
