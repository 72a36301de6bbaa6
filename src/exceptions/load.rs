//! Reading exception lists from files.
//!
//! Three forms are read, told apart by their content (never by extension):
//!
//! - Kibana's exception-list export (NDJSON): container lines (`type` one
//!   of [`CONTAINER_KINDS`]), item lines (`type = "simple"`), and a summary
//!   line (`exported_exception_list_count`, ...), which is skipped.
//! - Kibana's rule export (NDJSON): rule lines (they have `rule_id`), then
//!   containers, items, action connectors and the export-details line. Only
//!   the containers and items are read here.
//! - detection-rules' TOML form (`design/rule-types-semantics.md` §4.2):
//!   `[metadata]`, then `[[exceptions]]` each with `[exceptions.container]`
//!   and `[[exceptions.items]]` holding `[[exceptions.items.entries]]`. The
//!   repository ships no example of it; the layout read here follows its
//!   dataclasses (`TOMLException`, `TOMLExceptionContents`, ...) as
//!   `pytoml.dump` writes them.
//!
//! Items are grouped into their container by `list_id` and
//! `namespace_type`. Items whose container the file lacks still load, into
//! a list of that `list_id` (kind `detection`, named after its `list_id`).
//!
//! Every problem is a located [`Diagnostic`] whose span is a byte range of
//! the file; loading goes on after one, so a file's problems are all
//! reported at once. An item with a bad entry is left out of its list.

use super::{Entry, ExceptionList, Item};
use crate::diag::{line_col, Diagnostic, Severity};
use crate::rule::value::{Node, Value};
use crate::syntax::Span;
use serde_json::Value as Json;
use std::path::{Path, PathBuf};

/// The container `type`s of Kibana's exception lists.
pub const CONTAINER_KINDS: &[&str] = &[
    "detection",
    "endpoint",
    "rule_default",
    "endpoint_trusted_apps",
    "endpoint_events",
    "endpoint_host_isolation_exceptions",
    "endpoint_blocklists",
];

/// Entry `type`s allowed inside a `nested` entry.
const NESTED_INNER: &[&str] = &["match", "match_any", "exists"];

/// The form a file was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileForm {
    /// Kibana NDJSON (an exception-list export or a rule export).
    Ndjson,
    /// detection-rules TOML.
    Toml,
}

/// One exceptions file: its text, the lists read from it and what was
/// found wrong.
#[derive(Debug, Clone)]
pub struct ExceptionFile {
    /// The path as given.
    pub path: PathBuf,
    /// The file's text (invalid UTF-8 replaced, and reported).
    pub source: String,
    /// The form it was read as.
    pub form: FileForm,
    /// The lists, containers first in file order, then lists of items
    /// whose container the file lacks.
    pub lists: Vec<ExceptionList>,
    /// Where each of [`Self::lists`] is named: its container's `list_id`
    /// value, or that of its first item when the container is absent.
    pub spans: Vec<Span>,
    /// Everything found while loading, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl ExceptionFile {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    /// `path:line:col: severity[code]: message`, with the hint on a second
    /// line: a diagnostic of this file in one or two lines of text.
    pub fn located(&self, d: &Diagnostic) -> String {
        let (line, col) = line_col(&self.source, d.span.start);
        let kind = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        };
        let mut out = format!(
            "{}:{line}:{col}: {kind}[{}]: {}",
            self.path.display(),
            d.code,
            d.message
        );
        if let Some(help) = &d.help {
            out.push_str(&format!("\n  help: {help}"));
        }
        out
    }

    /// Every diagnostic as a code frame (see [`Diagnostic::render`]).
    pub fn render(&self, color: bool) -> String {
        let name = self.path.display().to_string();
        self.diagnostics
            .iter()
            .map(|d| d.render(&name, &self.source, color))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Loads the exception lists of one file. The error holds the file's error
/// diagnostics (an unreadable file gives one, code `exceptions::io`); their
/// spans are byte ranges of the file, which [`read`] keeps to render them
/// (or use [`ExceptionFile::located`]).
pub fn load(path: &Path) -> Result<Vec<ExceptionList>, Vec<Diagnostic>> {
    let file = read(path).map_err(|e| {
        vec![Diagnostic::error(
            "exceptions::io",
            format!("cannot read {}: {e}", path.display()),
            Span::new(0, 0),
        )]
    })?;
    if file.has_errors() {
        return Err(file
            .diagnostics
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .collect());
    }
    Ok(file.lists)
}

/// Reads and loads one file, keeping its text and every diagnostic
/// (warnings included). Only I/O fails.
pub fn read(path: &Path) -> std::io::Result<ExceptionFile> {
    let bytes = std::fs::read(path)?;
    Ok(from_bytes(path.to_path_buf(), bytes))
}

/// Loads file content already in memory.
pub fn from_bytes(path: PathBuf, bytes: Vec<u8>) -> ExceptionFile {
    match String::from_utf8(bytes) {
        Ok(source) => parse(path, source),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let source = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let mut file = parse(path, source);
            file.diagnostics.insert(
                0,
                Diagnostic::error(
                    "exceptions::syntax",
                    "the file is not valid UTF-8",
                    Span::new(at, at + 1),
                )
                .with_help("save the file as UTF-8"),
            );
            file
        }
    }
}

/// Loads the text of a file named `path` (the path is only recorded, in
/// diagnostics' files and lists' origins).
pub fn parse(path: PathBuf, source: String) -> ExceptionFile {
    let form = form_of(&source);
    let mut loader = Loader {
        source: &source,
        diags: Vec::new(),
        containers: Vec::new(),
        items: Vec::new(),
    };
    match form {
        FileForm::Ndjson => loader.ndjson(),
        FileForm::Toml => loader.toml(),
    }
    let Loader {
        mut diags,
        containers,
        items,
        ..
    } = loader;
    let (lists, spans) = group(&path, &source, containers, items, &mut diags);
    diags.sort_by_key(|d| (d.span.start, d.span.end));
    ExceptionFile {
        path,
        source,
        form,
        lists,
        spans,
        diagnostics: diags,
    }
}

/// Tells the forms apart: a file whose first significant character opens a
/// JSON object is NDJSON; so is one that opens a JSON array (`[{`, `[]`).
/// Anything else (a `[table]` header, a `key = value`, a `#` comment) is
/// TOML.
fn form_of(source: &str) -> FileForm {
    let text = source.trim_start_matches('\u{feff}').trim_start();
    match text.as_bytes().first() {
        Some(b'{') => FileForm::Ndjson,
        Some(b'[') => {
            let rest = text[1..].trim_start();
            if rest.starts_with('{') || rest.starts_with(']') {
                FileForm::Ndjson
            } else {
                FileForm::Toml
            }
        }
        _ => FileForm::Toml,
    }
}

/// A container as read.
struct RawContainer {
    list_id: String,
    namespace_type: String,
    kind: String,
    name: String,
    span: Span,
}

/// An item as read, with the list it belongs to.
struct RawItem {
    list_id: String,
    namespace_type: String,
    item: Item,
    span: Span,
}

struct Loader<'a> {
    source: &'a str,
    diags: Vec<Diagnostic>,
    containers: Vec<RawContainer>,
    items: Vec<RawItem>,
}

/// Where a missing key of `node` is reported: the table's first character.
fn at_start(node: &Node) -> Span {
    Span::new(node.span.start, node.span.start + 1)
}

impl Loader<'_> {
    fn error(&mut self, code: &'static str, message: String, span: Span, help: &str) {
        self.diags
            .push(Diagnostic::error(code, message, span).with_help(help.to_string()));
    }

    /// A required string key: its value and span.
    fn required_str(&mut self, node: &Node, key: &str, what: &str) -> Option<(String, Span)> {
        match node.get(key) {
            None => {
                self.error(
                    "exceptions::schema",
                    format!("{what} has no `{key}`"),
                    at_start(node),
                    &format!("add `{key}`, a string"),
                );
                None
            }
            Some(e) => match &e.value.value {
                Value::String(s) if !s.is_empty() => Some((s.clone(), e.value.span)),
                Value::String(_) => {
                    self.error(
                        "exceptions::schema",
                        format!("{what}'s `{key}` is empty"),
                        e.value.span,
                        &format!("give `{key}` a value"),
                    );
                    None
                }
                other => {
                    self.error(
                        "exceptions::schema",
                        format!("{what}'s `{key}` is {}, not a string", other.type_name()),
                        e.value.span,
                        &format!("write `{key}` as a string"),
                    );
                    None
                }
            },
        }
    }

    /// An optional string key (`null` counts as absent). `Err` when it has
    /// another type (reported).
    fn optional_str(&mut self, node: &Node, key: &str, what: &str) -> Result<Option<String>, ()> {
        match node.get(key).map(|e| &e.value) {
            None
            | Some(Node {
                value: Value::Null, ..
            }) => Ok(None),
            Some(Node {
                value: Value::String(s),
                ..
            }) => Ok(Some(s.clone())),
            Some(n) => {
                self.error(
                    "exceptions::schema",
                    format!("{what}'s `{key}` is {}, not a string", n.value.type_name()),
                    n.span,
                    &format!("write `{key}` as a string"),
                );
                Err(())
            }
        }
    }

    /// `namespace_type`: `single` (the default) or `agnostic`.
    fn namespace_type(&mut self, node: &Node, what: &str, default: &str) -> Option<String> {
        let value = self.optional_str(node, "namespace_type", what).ok()?;
        match value.as_deref() {
            None => Some(default.to_string()),
            Some(v @ ("single" | "agnostic")) => Some(v.to_string()),
            Some(v) => {
                let span = node
                    .get("namespace_type")
                    .map_or(at_start(node), |e| e.value.span);
                self.error(
                    "exceptions::schema",
                    format!("{what}'s `namespace_type` is `{v}`"),
                    span,
                    "`namespace_type` is `single` (one space) or `agnostic` (all spaces)",
                );
                None
            }
        }
    }

    fn ndjson(&mut self) {
        let source = self.source;
        let mut offset = 0;
        for line in source.split_inclusive('\n') {
            let start = offset;
            offset += line.len();
            let end = start + line.trim_end().len();
            if source[start..end].trim().is_empty() {
                continue;
            }
            let node = match crate::rule::json::parse(source, start, end) {
                Ok(node) => node,
                Err(mut d) => {
                    d.code = "exceptions::syntax";
                    d.help = Some(
                        "each line of a Kibana export is one JSON object; export the lists again \
                         or fix the line"
                            .into(),
                    );
                    self.diags.push(d);
                    continue;
                }
            };
            match &node.value {
                Value::Table(_) => self.json_object(&node),
                // A JSON array of objects (not what Kibana writes, but the
                // same objects).
                Value::Array(elements) => {
                    for element in elements {
                        if matches!(element.value, Value::Table(_)) {
                            self.json_object(element);
                        } else {
                            self.not_an_object(element);
                        }
                    }
                }
                _ => self.not_an_object(&node),
            }
        }
    }

    fn not_an_object(&mut self, node: &Node) {
        self.error(
            "exceptions::schema",
            format!(
                "a line of an export is a JSON object, found {}",
                node.value.type_name()
            ),
            node.span,
            "each line of a Kibana export is one JSON object",
        );
    }

    /// One object of an export: a container, an item, or a line skipped.
    fn json_object(&mut self, node: &Node) {
        if node.get("rule_id").is_some() {
            return; // a rule of a rule export
        }
        let summary = [
            "exported_exception_list_count",
            "exported_exception_list_item_count",
            "exported_count",
            "exported_rules_count",
        ];
        if summary.iter().any(|k| node.get(k).is_some()) {
            return; // the export's summary line
        }
        let ty = node.get("type").and_then(|e| match &e.value.value {
            Value::String(s) => Some(s.as_str()),
            _ => None,
        });
        match ty {
            Some("simple") => {
                if let Some(item) = self.item(node, None) {
                    self.items.push(item);
                }
            }
            Some(kind) if CONTAINER_KINDS.contains(&kind) => {
                if let Some(c) = self.container(node, false) {
                    self.containers.push(c);
                }
            }
            // An action connector (a saved object) of a rule export.
            _ if node.get("attributes").is_some() || ty == Some("action") => {}
            _ => self.diags.push(
                Diagnostic::warning(
                    "exceptions::skipped",
                    "neither an exception list nor an item (nor a rule, connector or summary): \
                     skipped",
                    at_start(node),
                )
                .with_help(format!(
                    "containers have `type` {}; items have `type = \"simple\"`",
                    CONTAINER_KINDS.join(", ")
                )),
            ),
        }
    }

    /// A container. In TOML (`toml`) its `type` is checked here (an export
    /// line is a container because of its `type`); absent, it is
    /// `detection`.
    fn container(&mut self, node: &Node, toml: bool) -> Option<RawContainer> {
        let what = "an exception list";
        let list_id = self.required_str(node, "list_id", what);
        let namespace_type = self.namespace_type(node, what, "single");
        let kind = self.optional_str(node, "type", what).ok()?;
        let kind = kind.unwrap_or_else(|| "detection".into());
        if toml && !CONTAINER_KINDS.contains(&kind.as_str()) {
            let span = node.get("type").map_or(at_start(node), |e| e.value.span);
            self.error(
                "exceptions::schema",
                format!("an exception list's `type` is `{kind}`"),
                span,
                &format!("a list's `type` is one of {}", CONTAINER_KINDS.join(", ")),
            );
            return None;
        }
        let name = self.optional_str(node, "name", what).ok()?;
        let (list_id, span) = list_id?;
        Some(RawContainer {
            name: name.unwrap_or_else(|| list_id.clone()),
            list_id,
            namespace_type: namespace_type?,
            kind,
            span,
        })
    }

    /// An item; `container` gives the `list_id` and `namespace_type` of the
    /// TOML container it sits under (its own keys win when present).
    fn item(&mut self, node: &Node, container: Option<(&str, &str, Span)>) -> Option<RawItem> {
        let what = "an exception item";
        let item_id = self.required_str(node, "item_id", what);
        let list_id = match (container, node.get("list_id")) {
            (Some((id, _, span)), None) => Some((id.to_string(), span)),
            _ => self.required_str(node, "list_id", what),
        };
        let default_ns = container.map_or("single", |c| c.1);
        let namespace_type = self.namespace_type(node, what, default_ns);
        let name = self.optional_str(node, "name", what).ok()?;
        let os_types = self.os_types(node);
        let expire_time = self.expire_time(node);
        let entries = self.entries(node);
        let (item_id, _) = item_id?;
        let (list_id, span) = list_id?;
        Some(RawItem {
            list_id,
            namespace_type: namespace_type?,
            item: Item {
                name: name.unwrap_or_else(|| item_id.clone()),
                item_id,
                entries: entries?,
                os_types: os_types?,
                expire_time: expire_time?,
            },
            span,
        })
    }

    fn os_types(&mut self, node: &Node) -> Option<Vec<String>> {
        let Some(e) = node.get("os_types") else {
            return Some(Vec::new());
        };
        let help = "`os_types` is an array of `windows`, `linux` and `macos`";
        let Value::Array(values) = &e.value.value else {
            if e.value.value == Value::Null {
                return Some(Vec::new());
            }
            self.error(
                "exceptions::schema",
                format!("`os_types` is {}, not an array", e.value.value.type_name()),
                e.value.span,
                help,
            );
            return None;
        };
        let mut out = Vec::new();
        let mut ok = true;
        for v in values {
            match &v.value {
                Value::String(s) if ["windows", "linux", "macos"].contains(&s.as_str()) => {
                    out.push(s.clone())
                }
                other => {
                    let found = match other {
                        Value::String(s) => format!("`{s}`"),
                        other => other.type_name().to_string(),
                    };
                    self.error(
                        "exceptions::schema",
                        format!("`os_types` holds {found}"),
                        v.span,
                        help,
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    /// `expire_time`, in nanoseconds: `Some(None)` when absent.
    fn expire_time(&mut self, node: &Node) -> Option<Option<i64>> {
        let Some(e) = node.get("expire_time") else {
            return Some(None);
        };
        let text = match &e.value.value {
            Value::Null => return Some(None),
            Value::String(s) | Value::Datetime(s) => s.clone(),
            other => {
                self.error(
                    "exceptions::expire-time",
                    format!("`expire_time` is {}, not a date-time", other.type_name()),
                    e.value.span,
                    "write `expire_time` as an ISO 8601 string, e.g. \"2024-05-01T10:00:00Z\"",
                );
                return None;
            }
        };
        match crate::compile::date::parse_iso(&text) {
            Some(instant) => Some(Some(instant.lo)),
            None => {
                self.error(
                    "exceptions::expire-time",
                    format!("`expire_time` `{text}` is not an ISO 8601 date-time"),
                    e.value.span,
                    "write it like \"2024-05-01T10:00:00Z\" (UTC when no zone is given)",
                );
                None
            }
        }
    }

    /// An item's `entries`: a non-empty array. `None` when any is bad.
    fn entries(&mut self, node: &Node) -> Option<Vec<Entry>> {
        let e = match node.get("entries") {
            Some(e) => e,
            None => {
                self.error(
                    "exceptions::schema",
                    "an exception item has no `entries`".into(),
                    at_start(node),
                    "add `entries`, an array of conditions that must all hold",
                );
                return None;
            }
        };
        self.entry_array(&e.value, false)
    }

    fn entry_array(&mut self, node: &Node, nested: bool) -> Option<Vec<Entry>> {
        let what = if nested {
            "a nested entry's `entries`"
        } else {
            "an item's `entries`"
        };
        let Value::Array(values) = &node.value else {
            self.error(
                "exceptions::schema",
                format!("{what} is {}, not an array", node.value.type_name()),
                node.span,
                "`entries` is an array of entries (objects)",
            );
            return None;
        };
        if values.is_empty() {
            self.error(
                "exceptions::schema",
                format!("{what} is empty"),
                node.span,
                "give it at least one entry (Kibana rejects an empty one)",
            );
            return None;
        }
        let mut out = Vec::new();
        let mut ok = true;
        for v in values {
            match self.entry(v, nested) {
                Some(e) => out.push(e),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn entry(&mut self, node: &Node, nested: bool) -> Option<Entry> {
        if !matches!(node.value, Value::Table(_)) {
            self.error(
                "exceptions::schema",
                format!("an entry is {}, not an object", node.value.type_name()),
                node.span,
                "an entry is an object with `field`, `type`, `operator` and usually `value`",
            );
            return None;
        }
        let (ty, ty_span) = self.required_str(node, "type", "an entry")?;
        let known = ["match", "match_any", "exists", "wildcard", "list", "nested"];
        if !known.contains(&ty.as_str()) {
            self.error(
                "exceptions::entry-type",
                format!("unknown entry type `{ty}`"),
                ty_span,
                "an entry's `type` is one of match, match_any, exists, wildcard, list, nested",
            );
            return None;
        }
        if nested && !NESTED_INNER.contains(&ty.as_str()) {
            self.error(
                "exceptions::nested",
                format!("a `{ty}` entry inside a nested entry"),
                ty_span,
                "Kibana allows only match, match_any and exists inside a nested entry; move \
                 this condition out of it (with the full field path)",
            );
            return None;
        }
        let field = self.required_str(node, "field", "an entry");
        if ty == "nested" {
            let entries = match node.get("entries") {
                Some(e) => self.entry_array(&e.value, true),
                None => {
                    self.error(
                        "exceptions::value",
                        "a `nested` entry has no `entries`".into(),
                        at_start(node),
                        "a nested entry holds `entries`: match, match_any or exists conditions \
                         on fields relative to its `field`",
                    );
                    None
                }
            };
            return Some(Entry::Nested {
                field: field?.0,
                entries: entries?,
            });
        }
        let excluded = self.operator(node);
        let value = node.get("value").map(|e| &e.value);
        let shape = |expected: &str| format!("a `{ty}` entry's value is {expected}");
        let entry = match ty.as_str() {
            "match" | "wildcard" => match value {
                Some(Node {
                    value: Value::String(s),
                    ..
                }) if !s.is_empty() => {
                    let (field, excluded) = (field?.0, excluded?);
                    if ty == "match" {
                        Entry::Match {
                            field,
                            value: Json::String(s.clone()),
                            excluded,
                        }
                    } else {
                        Entry::Wildcard {
                            field,
                            pattern: s.clone(),
                            excluded,
                        }
                    }
                }
                found => return self.bad_value(node, found, shape("a non-empty string")),
            },
            "match_any" => match value {
                Some(Node {
                    value: Value::Array(values),
                    ..
                }) if !values.is_empty() => {
                    let mut out = Vec::new();
                    for v in values {
                        match &v.value {
                            Value::String(s) => out.push(Json::String(s.clone())),
                            _ => {
                                return self.bad_value(
                                    node,
                                    Some(v),
                                    "a `match_any` entry's values are strings".into(),
                                )
                            }
                        }
                    }
                    Entry::MatchAny {
                        field: field?.0,
                        values: out,
                        excluded: excluded?,
                    }
                }
                found => return self.bad_value(node, found, shape("a non-empty array of strings")),
            },
            "exists" => {
                if let Some(v) = value {
                    return self.bad_value(
                        node,
                        Some(v),
                        "an `exists` entry takes no value".into(),
                    );
                }
                Entry::Exists {
                    field: field?.0,
                    excluded: excluded?,
                }
            }
            _ => {
                // list
                let list = node.get("list").map(|e| &e.value);
                let Some(
                    list @ Node {
                        value: Value::Table(_),
                        ..
                    },
                ) = list
                else {
                    return self.bad_value_at(
                        node,
                        list.or(value),
                        "a `list` entry names its value list in `list = {id, type}`".into(),
                        "write `list: {\"id\": \"<value list id>\", \"type\": \"keyword\"}`",
                    );
                };
                let id = self.required_str(list, "id", "an entry's `list`");
                let list_type = self.required_str(list, "type", "an entry's `list`");
                Entry::List {
                    field: field?.0,
                    list_id: id?.0,
                    list_type: list_type?.0,
                    excluded: excluded?,
                }
            }
        };
        Some(entry)
    }

    /// `operator`: `Some(true)` for excluded.
    fn operator(&mut self, node: &Node) -> Option<bool> {
        let (op, span) = self.required_str(node, "operator", "an entry")?;
        match op.as_str() {
            "included" => Some(false),
            "excluded" => Some(true),
            _ => {
                self.error(
                    "exceptions::operator",
                    format!("unknown operator `{op}`"),
                    span,
                    "an entry's `operator` is `included` (the condition holds) or `excluded` \
                     (it does not)",
                );
                None
            }
        }
    }

    fn bad_value(&mut self, entry: &Node, found: Option<&Node>, message: String) -> Option<Entry> {
        self.bad_value_at(
            entry,
            found,
            message,
            "match and wildcard take a string `value`, match_any an array of strings, exists \
             none, list a `list` object",
        )
    }

    fn bad_value_at(
        &mut self,
        entry: &Node,
        found: Option<&Node>,
        message: String,
        help: &str,
    ) -> Option<Entry> {
        let (message, span) = match found {
            Some(v) => (format!("{message}, found {}", v.value.type_name()), v.span),
            None => (format!("{message}, but it has none"), at_start(entry)),
        };
        self.error("exceptions::value", message, span, help);
        None
    }

    fn toml(&mut self) {
        let doc = match crate::rule::toml::parse(self.source) {
            Ok(doc) => doc,
            Err(mut d) => {
                d.code = "exceptions::syntax";
                d.help = Some(
                    "an exceptions file is a Kibana export (NDJSON) or detection-rules TOML; \
                     fix the syntax"
                        .into(),
                );
                self.diags.push(d);
                return;
            }
        };
        let Some(exceptions) = doc.get("exceptions") else {
            self.error(
                "exceptions::schema",
                "the TOML file has no `[[exceptions]]`".into(),
                Span::new(0, self.source.len().min(1)),
                "a detection-rules exceptions file holds `[[exceptions]]` tables, each with \
                 `[exceptions.container]` and `[[exceptions.items]]`",
            );
            return;
        };
        let Value::Array(blocks) = &exceptions.value.value else {
            self.error(
                "exceptions::schema",
                format!(
                    "`exceptions` is {}, not an array of tables",
                    exceptions.value.value.type_name()
                ),
                exceptions.value.span,
                "write each list as `[[exceptions]]`",
            );
            return;
        };
        for block in blocks {
            if !matches!(block.value, Value::Table(_)) {
                self.error(
                    "exceptions::schema",
                    format!("an `exceptions` element is {}", block.value.type_name()),
                    block.span,
                    "write each list as `[[exceptions]]`",
                );
                continue;
            }
            let container = match block.get("container") {
                Some(e) if matches!(e.value.value, Value::Table(_)) => {
                    self.container(&e.value, true)
                }
                Some(e) => {
                    self.error(
                        "exceptions::schema",
                        format!("`container` is {}, not a table", e.value.value.type_name()),
                        e.value.span,
                        "write it as `[exceptions.container]`",
                    );
                    None
                }
                None => None,
            };
            let defaults = container
                .as_ref()
                .map(|c| (c.list_id.clone(), c.namespace_type.clone(), c.span));
            if let Some(c) = container {
                self.containers.push(c);
            }
            let Some(items) = block.get("items") else {
                continue;
            };
            let Value::Array(items) = &items.value.value else {
                self.error(
                    "exceptions::schema",
                    format!(
                        "`items` is {}, not an array of tables",
                        items.value.value.type_name()
                    ),
                    items.value.span,
                    "write each item as `[[exceptions.items]]`",
                );
                continue;
            };
            for node in items {
                if !matches!(node.value, Value::Table(_)) {
                    self.error(
                        "exceptions::schema",
                        format!("an item is {}, not a table", node.value.type_name()),
                        node.span,
                        "write each item as `[[exceptions.items]]`",
                    );
                    continue;
                }
                let defaults = defaults
                    .as_ref()
                    .map(|(l, n, s)| (l.as_str(), n.as_str(), *s));
                if let Some(item) = self.item(node, defaults) {
                    self.items.push(item);
                }
            }
        }
    }
}

/// Groups items into their containers by `list_id` and `namespace_type`.
fn group(
    path: &Path,
    source: &str,
    containers: Vec<RawContainer>,
    items: Vec<RawItem>,
    diags: &mut Vec<Diagnostic>,
) -> (Vec<ExceptionList>, Vec<Span>) {
    let mut lists: Vec<ExceptionList> = Vec::new();
    let mut spans: Vec<Span> = Vec::new();
    let origin = |span: Span| (path.to_path_buf(), line_col(source, span.start).0);
    let find = |lists: &[ExceptionList], id: &str, ns: &str| {
        lists
            .iter()
            .position(|l| l.list_id == id && l.namespace_type == ns)
    };
    for c in containers {
        if let Some(i) = find(&lists, &c.list_id, &c.namespace_type) {
            let (line, _) = line_col(source, spans[i].start);
            diags.push(
                Diagnostic::warning(
                    "exceptions::duplicate-list",
                    format!(
                        "the list `{}` ({}) is defined twice",
                        c.list_id, c.namespace_type
                    ),
                    c.span,
                )
                .with_help(format!(
                    "first defined on line {line}; this container is ignored (its items join \
                     the first)"
                )),
            );
            continue;
        }
        lists.push(ExceptionList {
            list_id: c.list_id,
            namespace_type: c.namespace_type,
            kind: c.kind,
            name: c.name,
            items: Vec::new(),
            origin: origin(c.span),
        });
        spans.push(c.span);
    }
    for raw in items {
        let i = match find(&lists, &raw.list_id, &raw.namespace_type) {
            Some(i) => i,
            None => {
                lists.push(ExceptionList {
                    name: raw.list_id.clone(),
                    list_id: raw.list_id,
                    namespace_type: raw.namespace_type,
                    kind: "detection".into(),
                    items: Vec::new(),
                    origin: origin(raw.span),
                });
                spans.push(raw.span);
                lists.len() - 1
            }
        };
        lists[i].items.push(raw.item);
    }
    (lists, spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(source: &str) -> ExceptionFile {
        parse(PathBuf::from("t"), source.to_string())
    }

    /// Line and column of the only diagnostic with `code`.
    fn at(file: &ExceptionFile, code: &str) -> (usize, usize) {
        let found: Vec<_> = file.diagnostics.iter().filter(|d| d.code == code).collect();
        assert_eq!(found.len(), 1, "{:#?}", file.diagnostics);
        assert!(found[0].help.is_some());
        line_col(&file.source, found[0].span.start)
    }

    const CONTAINER: &str = r#"{"id":"c1","list_id":"noise-list","name":"Noise","description":"Known noise","type":"detection","namespace_type":"single","os_types":[],"tags":[],"immutable":false,"version":1}"#;
    const ITEM_1: &str = r#"{"id":"i1","item_id":"item-1","list_id":"noise-list","name":"svchost lab","description":"svchost on the lab host","type":"simple","namespace_type":"single","os_types":[],"tags":[],"comments":[],"entries":[{"field":"process.name","operator":"included","type":"match","value":"svchost.exe"},{"field":"host.name","operator":"included","type":"match","value":"lab-1"}]}"#;
    const ITEM_2: &str = r#"{"id":"i2","item_id":"item-2","list_id":"noise-list","name":"svc accounts","description":"service accounts","type":"simple","namespace_type":"single","os_types":["windows"],"tags":[],"comments":[],"expire_time":"2024-05-01T10:00:00Z","entries":[{"field":"user.name","operator":"included","type":"match_any","value":["svc_backup","svc_scan"]}]}"#;
    const SUMMARY: &str = r#"{"exported_exception_list_count":1,"exported_exception_list_item_count":2,"missing_exception_list_item_count":0,"missing_exception_list_items":[],"missing_exception_lists":[],"missing_exception_lists_count":0}"#;

    fn noise_list_checks(lists: &[ExceptionList]) {
        assert_eq!(lists.len(), 1);
        let l = &lists[0];
        assert_eq!(
            (
                l.list_id.as_str(),
                l.namespace_type.as_str(),
                l.kind.as_str()
            ),
            ("noise-list", "single", "detection")
        );
        assert_eq!(l.name, "Noise");
        assert_eq!(l.items.len(), 2);
        assert_eq!(l.items[0].item_id, "item-1");
        assert_eq!(
            l.items[0].entries,
            vec![
                Entry::Match {
                    field: "process.name".into(),
                    value: Json::String("svchost.exe".into()),
                    excluded: false
                },
                Entry::Match {
                    field: "host.name".into(),
                    value: Json::String("lab-1".into()),
                    excluded: false
                },
            ]
        );
        assert_eq!(
            l.items[1].entries,
            vec![Entry::MatchAny {
                field: "user.name".into(),
                values: vec![Json::from("svc_backup"), Json::from("svc_scan")],
                excluded: false
            }]
        );
    }

    #[test]
    fn a_kibana_list_export_loads_its_container_and_items() {
        let text = [CONTAINER, ITEM_1, ITEM_2, SUMMARY].join("\n") + "\n";
        let file = load_str(&text);
        assert_eq!(file.form, FileForm::Ndjson);
        assert!(file.diagnostics.is_empty(), "{:#?}", file.diagnostics);
        noise_list_checks(&file.lists);
        assert_eq!(file.lists[0].origin, (PathBuf::from("t"), 1));
        let item2 = &file.lists[0].items[1];
        assert_eq!(item2.os_types, vec!["windows".to_string()]);
        // 2024-05-01T10:00:00Z
        assert_eq!(item2.expire_time, Some(1_714_557_600_000_000_000));
    }

    #[test]
    fn a_rule_export_skips_rules_connectors_and_details() {
        let rule = r#"{"rule_id":"11111111-1111-1111-1111-111111111111","name":"Suspicious process","type":"query","query":"event.category:process","exceptions_list":[{"id":"c1","list_id":"noise-list","namespace_type":"single","type":"detection"}]}"#;
        let connector =
            r#"{"id":"a1","type":"action","attributes":{"name":"Slack"},"references":[]}"#;
        let details = r#"{"exported_count":4,"exported_rules_count":1,"missing_rules":[],"missing_rules_count":0,"exported_exception_list_count":1,"exported_exception_list_item_count":2}"#;
        let text = [rule, CONTAINER, ITEM_1, ITEM_2, connector, details].join("\n");
        let file = load_str(&text);
        assert!(file.diagnostics.is_empty(), "{:#?}", file.diagnostics);
        noise_list_checks(&file.lists);
        assert_eq!(file.lists[0].origin.1, 2);
    }

    #[test]
    fn the_detection_rules_toml_form_loads() {
        let text = include_str!("../../tests/fixtures/exceptions/noise-list_exceptions.toml");
        let file = load_str(text);
        assert_eq!(file.form, FileForm::Toml);
        assert!(file.diagnostics.is_empty(), "{:#?}", file.diagnostics);
        noise_list_checks(&file.lists);
        assert_eq!(file.lists[0].origin.1, 11);
    }

    #[test]
    fn items_without_their_container_load_into_a_list_of_their_list_id() {
        let text = [ITEM_1, ITEM_2].join("\n");
        let file = load_str(&text);
        assert!(file.diagnostics.is_empty(), "{:#?}", file.diagnostics);
        assert_eq!(file.lists.len(), 1);
        let l = &file.lists[0];
        assert_eq!(
            (l.name.as_str(), l.kind.as_str()),
            ("noise-list", "detection")
        );
        assert_eq!(l.items.len(), 2);
    }

    #[test]
    fn every_entry_type_loads() {
        let item = r#"{"item_id":"x","list_id":"l","type":"simple","namespace_type":"agnostic","entries":[
{"field":"file.path","operator":"included","type":"wildcard","value":"C:\\\\Temp\\\\*.tmp"},
{"field":"process.parent.name","operator":"excluded","type":"exists"},
{"field":"source.ip","operator":"included","type":"list","list":{"id":"bad-ips","type":"ip"}},
{"field":"process.Ext.code_signature","type":"nested","entries":[{"field":"subject_name","operator":"included","type":"match","value":"X"},{"field":"trusted","operator":"excluded","type":"exists"}]}]}"#;
        let file = load_str(&item.replace('\n', ""));
        assert!(file.diagnostics.is_empty(), "{:#?}", file.diagnostics);
        let l = &file.lists[0];
        assert_eq!(l.namespace_type, "agnostic");
        assert_eq!(
            l.items[0].entries,
            vec![
                Entry::Wildcard {
                    field: "file.path".into(),
                    pattern: r"C:\\Temp\\*.tmp".into(),
                    excluded: false
                },
                Entry::Exists {
                    field: "process.parent.name".into(),
                    excluded: true
                },
                Entry::List {
                    field: "source.ip".into(),
                    list_id: "bad-ips".into(),
                    list_type: "ip".into(),
                    excluded: false
                },
                Entry::Nested {
                    field: "process.Ext.code_signature".into(),
                    entries: vec![
                        Entry::Match {
                            field: "subject_name".into(),
                            value: Json::from("X"),
                            excluded: false
                        },
                        Entry::Exists {
                            field: "trusted".into(),
                            excluded: true
                        },
                    ]
                },
            ]
        );
    }

    /// An item line whose single entry is `entry`, after a container line.
    fn with_entry(entry: &str) -> ExceptionFile {
        let item = format!(
            r#"{{"item_id":"x","list_id":"noise-list","type":"simple","entries":[{entry}]}}"#
        );
        let file = load_str(&format!("{CONTAINER}\n{item}\n"));
        assert!(file.has_errors());
        file
    }

    /// Where the last `needle` of `entry` is in the item line (line 2) of
    /// [`with_entry`].
    fn col_of(entry: &str, needle: &str) -> (usize, usize) {
        let prefix = r#"{"item_id":"x","list_id":"noise-list","type":"simple","entries":["#;
        (2, prefix.chars().count() + entry.rfind(needle).unwrap() + 1)
    }

    #[test]
    fn a_line_that_is_not_json_is_located() {
        let file = load_str(&format!("{CONTAINER}\nthis is not json\n{ITEM_1}\n"));
        assert_eq!(at(&file, "exceptions::syntax"), (2, 1));
        // The other lines still load.
        assert_eq!(file.lists[0].items.len(), 1);
        assert!(load(Path::new("/nonexistent/ruleq-exceptions")).is_err());
    }

    #[test]
    fn an_unknown_entry_type_is_located_at_the_type() {
        let e = r#"{"field":"a","operator":"included","type":"regex","value":"x"}"#;
        assert_eq!(
            at(&with_entry(e), "exceptions::entry-type"),
            col_of(e, r#""regex""#)
        );
    }

    #[test]
    fn an_unknown_operator_is_located_at_the_operator() {
        let e = r#"{"field":"a","operator":"is","type":"match","value":"x"}"#;
        assert_eq!(
            at(&with_entry(e), "exceptions::operator"),
            col_of(e, r#""is""#)
        );
    }

    #[test]
    fn values_of_the_wrong_shape_are_located_at_the_value() {
        for (e, needle) in [
            (
                r#"{"field":"a","operator":"included","type":"match","value":["x"]}"#,
                "[\"x\"]",
            ),
            (
                r#"{"field":"a","operator":"included","type":"match_any","value":"x"}"#,
                "\"x\"",
            ),
            (
                r#"{"field":"a","operator":"included","type":"wildcard","value":3}"#,
                "3",
            ),
            (
                r#"{"field":"a","operator":"included","type":"exists","value":"x"}"#,
                "\"x\"",
            ),
            (
                r#"{"field":"a","operator":"included","type":"list","list":"x"}"#,
                "\"x\"",
            ),
        ] {
            assert_eq!(
                at(&with_entry(e), "exceptions::value"),
                col_of(e, needle),
                "{e}"
            );
        }
        // A missing value: the entry's opening brace.
        let e = r#"{"field":"a","operator":"included","type":"match"}"#;
        assert_eq!(at(&with_entry(e), "exceptions::value"), col_of(e, "{"));
    }

    #[test]
    fn a_nested_entry_allows_only_match_match_any_and_exists() {
        for inner in ["nested", "list", "wildcard"] {
            let e = format!(
                r#"{{"field":"p","type":"nested","entries":[{{"field":"a","operator":"included","type":"{inner}","value":"x"}}]}}"#
            );
            let needle = format!("\"{inner}\"");
            let file = with_entry(&e);
            assert_eq!(
                at(&file, "exceptions::nested"),
                col_of(&e, &needle),
                "{inner}"
            );
            assert!(file.lists[0].items.is_empty());
        }
    }

    #[test]
    fn a_bad_expire_time_is_located_at_it() {
        let item = r#"{"item_id":"x","list_id":"l","type":"simple","expire_time":"tomorrow","entries":[{"field":"a","operator":"included","type":"exists"}]}"#;
        let file = load_str(item);
        let col = item.find("\"tomorrow\"").unwrap() + 1;
        assert_eq!(at(&file, "exceptions::expire-time"), (1, col));
        let errors = load_errors(item);
        assert_eq!(errors.len(), 1);
    }

    fn load_errors(text: &str) -> Vec<Diagnostic> {
        let dir = std::env::temp_dir().join(format!("ruleq-exc-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("errors.ndjson");
        std::fs::write(&path, text).unwrap();
        let out = load(&path).unwrap_err();
        std::fs::remove_dir_all(&dir).ok();
        out
    }

    #[test]
    fn toml_errors_are_located_too() {
        let text = "[[exceptions]]\n[exceptions.container]\nlist_id = \"l\"\ntype = \"detection\"\n\n[[exceptions.items]]\nitem_id = \"x\"\n[[exceptions.items.entries]]\nfield = \"a\"\noperator = \"not\"\ntype = \"match\"\nvalue = \"v\"\n";
        let file = load_str(text);
        assert_eq!(at(&file, "exceptions::operator"), (10, 12));
        let file = load_str("[[exceptions]\n");
        assert_eq!(at(&file, "exceptions::syntax").0, 1);
    }
}
