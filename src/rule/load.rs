//! Typing a [`Node`] tree into a [`Rule`].
//!
//! The schema lives here: which keys each table has, their types and enums,
//! and which keys every rule needs. Each problem is a located diagnostic;
//! loading never stops early, so one run reports everything a file has.
//! Unknown keys are warnings (Kibana and detection-rules grow new keys, and a
//! typo should not block CI), with the nearest known key as a hint.

use super::model::*;
use super::value::{Entry, Node, Value};
use crate::diag::Diagnostic;
use crate::syntax::eql::functions::edit_distance;
use crate::syntax::Span;

/// Keys of `[rule]` (and of a Kibana rule object) that the model types.
const RULE_KEYS: &[&str] = &[
    "rule_id",
    "name",
    "description",
    "type",
    "language",
    "query",
    "index",
    "data_view_id",
    "severity",
    "risk_score",
    "interval",
    "from",
    "to",
    "max_signals",
    "threat",
    "threshold",
    "new_terms",
    "alert_suppression",
    "threat_query",
    "threat_language",
    "threat_index",
    "threat_indicator_path",
    "threat_mapping",
    "machine_learning_job_id",
    "anomaly_threshold",
    "tags",
    "author",
    "license",
    "references",
    "false_positives",
    "note",
    "setup",
    "version",
    "enabled",
    "building_block_type",
    "timestamp_override",
];

/// Schema keys no check reads, with the shape they must have.
const PASS_THROUGH: &[(&str, Shape)] = &[
    ("filters", Shape::Array),
    ("threat_filters", Shape::Array),
    ("exceptions_list", Shape::Array),
    ("risk_score_mapping", Shape::Array),
    ("severity_mapping", Shape::Array),
    ("related_integrations", Shape::Array),
    ("required_fields", Shape::Array),
    ("actions", Shape::Array),
    ("response_actions", Shape::Array),
    ("investigation_fields", Shape::Table),
    ("meta", Shape::Table),
    ("rule_name_override", Shape::String),
    ("timeline_id", Shape::String),
    ("timeline_title", Shape::String),
    ("event_category_override", Shape::String),
    ("tiebreaker_field", Shape::String),
    ("timestamp_field", Shape::String),
    ("saved_id", Shape::String),
    ("output_index", Shape::String),
    ("namespace", Shape::String),
    ("throttle", Shape::String),
    ("concurrent_searches", Shape::Integer),
    ("items_per_search", Shape::Integer),
];

/// Keys Kibana adds to the rules it exports; accepted in JSON only.
const KIBANA_MANAGED: &[&str] = &[
    "id",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
    "immutable",
    "rule_source",
    "revision",
    "execution_summary",
    "outcome",
    "alias_purpose",
    "alias_target_id",
    "new_terms_fields",
    "history_window_start",
];

const METADATA_KEYS: &[&str] = &[
    "creation_date",
    "updated_date",
    "deprecation_date",
    "deprecated_reason",
    "maturity",
    "integration",
    "min_stack_version",
    "min_stack_comments",
    "comments",
    "bypass_bbr_timing",
    "promotion",
    "query_schema_validation",
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Shape {
    String,
    Integer,
    Array,
    Table,
}

impl Shape {
    fn matches(self, v: &Value) -> bool {
        matches!(
            (self, v),
            (Shape::String, Value::String(_))
                | (Shape::Integer, Value::Integer(_))
                | (Shape::Array, Value::Array(_))
                | (Shape::Table, Value::Table(_))
        )
    }

    fn name(self) -> &'static str {
        match self {
            Shape::String => "a string",
            Shape::Integer => "an integer",
            Shape::Array => "an array",
            Shape::Table => "a table",
        }
    }
}

/// Reads a detection-rules TOML document: `[metadata]`, `[rule]` and the
/// optional `[transform]`.
pub fn toml_rule(source: &str, doc: &Node, diags: &mut Vec<Diagnostic>) -> Rule {
    let mut l = Loader {
        source,
        format: Format::Toml,
        diags,
    };
    let mut rule = Rule {
        span: doc.span,
        ..Rule::default()
    };
    let mut saw_rule = false;
    for e in doc.entries().unwrap_or_default() {
        match e.key.as_str() {
            "metadata" => {
                if let Some(entries) = l.table(e) {
                    rule.metadata = Some(l.metadata(e.value.span, entries));
                }
            }
            "rule" => {
                saw_rule = true;
                rule.table_span = e.value.span;
                if let Some(entries) = l.table(e) {
                    l.rule_table(&mut rule, e.value.span, entries, "[rule]");
                }
            }
            "transform" => {
                if let Some(entries) = l.table(e) {
                    rule.transform = Some(l.transform(entries));
                }
            }
            _ => l.unknown(e, "the top level", &["metadata", "rule", "transform"]),
        }
    }
    let top = Span::new(0, 0);
    if !saw_rule {
        l.diags.push(
            Diagnostic::error("rule::missing-key", "the file has no `[rule]` table", top)
                .with_help("a detection rule file has a `[metadata]` and a `[rule]` table"),
        );
    }
    if rule.metadata.is_none() {
        l.diags.push(
            Diagnostic::error(
                "rule::missing-key",
                "the file has no `[metadata]` table",
                top,
            )
            .with_help("add `[metadata]` with `creation_date`, `updated_date` and `maturity`"),
        );
    }
    rule
}

/// Reads one Kibana rule object (from a `.json` file or an export line).
pub fn json_rule(source: &str, format: Format, object: &Node, diags: &mut Vec<Diagnostic>) -> Rule {
    let mut l = Loader {
        source,
        format,
        diags,
    };
    // Rule-level findings point at the opening brace: the whole object would
    // draw the entire rule as the location.
    let brace = Span::new(object.span.start, object.span.start + 1);
    let mut rule = Rule {
        span: object.span,
        table_span: brace,
        ..Rule::default()
    };
    let entries = object.entries().unwrap_or_default();
    l.rule_table(&mut rule, brace, entries, "the rule");
    rule
}

struct Loader<'a> {
    source: &'a str,
    format: Format,
    diags: &'a mut Vec<Diagnostic>,
}

impl Loader<'_> {
    fn type_error(&mut self, e: &Entry, expected: &str) {
        let found = match (&e.value.value, self.format) {
            (Value::Table(_), Format::Json | Format::Ndjson) => "an object",
            (v, _) => v.type_name(),
        };
        self.diags.push(
            Diagnostic::error(
                "rule::type",
                format!("`{}` must be {expected}, found {found}", e.key),
                e.value.span,
            )
            .with_label(format!("expected {expected}")),
        );
    }

    fn unknown(&mut self, e: &Entry, place: &str, known: &[&str]) {
        let nearest = known
            .iter()
            .map(|k| (edit_distance(&e.key, k), *k))
            .filter(|&(d, _)| d <= 2)
            .min();
        let mut d = Diagnostic::warning(
            "rule::unknown-key",
            format!("unknown key `{}` in {place}", e.key),
            e.key_span,
        )
        .with_label("not part of the rule schema");
        d = match nearest {
            Some((_, k)) => d.with_help(format!("did you mean `{k}`?")),
            None => {
                d.with_help("Kibana ignores keys it does not know; remove it or check its spelling")
            }
        };
        self.diags.push(d);
    }

    fn missing(&mut self, key: &str, place: &str, span: Span) {
        self.diags.push(
            Diagnostic::error("rule::missing-key", format!("{place} has no `{key}`"), span)
                .with_label(format!("`{key}` is required here")),
        );
    }

    fn string(&mut self, e: &Entry) -> Option<Spanned<String>> {
        match &e.value.value {
            Value::String(s) => Some(Spanned::new(s.clone(), e.value.span)),
            _ => {
                self.type_error(e, "a string");
                None
            }
        }
    }

    fn int(&mut self, e: &Entry) -> Option<Spanned<i64>> {
        match &e.value.value {
            Value::Integer(n) => Some(Spanned::new(*n, e.value.span)),
            _ => {
                self.type_error(e, "an integer");
                None
            }
        }
    }

    fn bool(&mut self, e: &Entry) -> Option<Spanned<bool>> {
        match &e.value.value {
            Value::Bool(b) => Some(Spanned::new(*b, e.value.span)),
            _ => {
                self.type_error(e, "a boolean");
                None
            }
        }
    }

    fn table<'n>(&mut self, e: &'n Entry) -> Option<&'n [Entry]> {
        match &e.value.value {
            Value::Table(entries) => Some(entries),
            _ => {
                self.type_error(e, "a table");
                None
            }
        }
    }

    /// An array whose items must all be tables; other items are reported.
    fn tables<'n>(&mut self, e: &'n Entry) -> Vec<&'n Node> {
        let Value::Array(items) = &e.value.value else {
            self.type_error(e, "an array of tables");
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            if matches!(item.value, Value::Table(_)) {
                out.push(item);
            } else {
                self.item_error(&e.key, item, "a table");
            }
        }
        out
    }

    fn item_error(&mut self, key: &str, item: &Node, expected: &str) {
        self.diags.push(Diagnostic::error(
            "rule::type",
            format!(
                "items of `{key}` must be {expected}, found {}",
                item.value.type_name()
            ),
            item.span,
        ));
    }

    fn strings(&mut self, e: &Entry) -> Vec<Spanned<String>> {
        let Value::Array(items) = &e.value.value else {
            self.type_error(e, "an array of strings");
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            match &item.value {
                Value::String(s) => out.push(Spanned::new(s.clone(), item.span)),
                _ => self.item_error(&e.key, item, "strings"),
            }
        }
        out
    }

    fn string_or_strings(&mut self, e: &Entry) -> Vec<Spanned<String>> {
        match &e.value.value {
            Value::String(s) => vec![Spanned::new(s.clone(), e.value.span)],
            Value::Array(_) => self.strings(e),
            _ => {
                self.type_error(e, "a string or an array of strings");
                Vec::new()
            }
        }
    }

    fn keyword<T: Keyword + PartialEq>(&mut self, e: &Entry) -> Option<Spanned<T>> {
        let s = self.string(e)?;
        if let Some(v) = T::from_keyword(&s.value) {
            return Some(Spanned::new(v, s.span));
        }
        let all: Vec<String> = T::ALL.iter().map(|(k, _)| format!("`{k}`")).collect();
        let nearest = T::ALL
            .iter()
            .map(|(k, _)| {
                (
                    edit_distance(&s.value.to_lowercase(), &k.to_lowercase()),
                    *k,
                )
            })
            .filter(|&(d, _)| d <= 2)
            .min();
        let help = match nearest {
            Some((_, k)) => format!(
                "did you mean `{k}`? {} is one of {}",
                T::WHAT,
                all.join(", ")
            ),
            None => format!("the {} is one of {}", T::WHAT, all.join(", ")),
        };
        self.diags.push(
            Diagnostic::error(
                "rule::enum",
                format!("unknown {} `{}`", T::WHAT, s.value),
                s.span,
            )
            .with_help(help),
        );
        None
    }

    fn date(&mut self, e: &Entry) -> Option<Spanned<Date>> {
        let s = self.string(e)?;
        match Date::parse(&s.value) {
            Some(d) => Some(Spanned::new(d, s.span)),
            None => {
                self.diags.push(
                    Diagnostic::error(
                        "rule::date",
                        format!("`{}` is not a date: `{}`", e.key, s.value),
                        s.span,
                    )
                    .with_help("write dates as YYYY/MM/DD, for example 2024/03/15"),
                );
                None
            }
        }
    }

    fn duration(&mut self, key: &str, s: Spanned<String>) -> Option<Spanned<Duration>> {
        match Duration::parse(&s.value) {
            Some(d) => Some(Spanned::new(d, s.span)),
            None => {
                self.diags.push(
                    Diagnostic::error(
                        "rule::interval",
                        format!("`{key}` is not a duration: `{}`", s.value),
                        s.span,
                    )
                    .with_help("write a positive whole number and a unit s, m, h or d, like `5m`"),
                );
                None
            }
        }
    }

    fn date_math(&mut self, key: &str, s: Spanned<String>) -> Option<Spanned<DateMath>> {
        match DateMath::parse(&s.value) {
            Some(d) => Some(Spanned::new(d, s.span)),
            None => {
                self.diags.push(
                    Diagnostic::error(
                        "rule::date-math",
                        format!("`{key}` is not date math: `{}`", s.value),
                        s.span,
                    )
                    .with_help("write `now` and offsets like `now-9m`, `now-1h` or `now-14d`"),
                );
                None
            }
        }
    }

    fn query(&mut self, e: &Entry) -> Option<QueryText> {
        let s = self.string(e)?;
        let map = match self.format {
            Format::Toml => super::toml::string_map(self.source, s.span, &s.value),
            Format::Json | Format::Ndjson => super::json::string_map(self.source, s.span, &s.value),
        };
        Some(QueryText {
            text: s.value,
            span: s.span,
            map,
        })
    }

    fn metadata(&mut self, span: Span, entries: &[Entry]) -> Metadata {
        let mut m = Metadata {
            span,
            ..Metadata::default()
        };
        for e in entries {
            match e.key.as_str() {
                "creation_date" => m.creation_date = self.date(e),
                "updated_date" => m.updated_date = self.date(e),
                "deprecation_date" => m.deprecation_date = self.date(e),
                "deprecated_reason" => m.deprecated_reason = self.string(e),
                "maturity" => m.maturity = self.keyword(e),
                "integration" => m.integration = self.string_or_strings(e),
                "min_stack_version" => m.min_stack_version = self.string(e),
                "min_stack_comments" => m.min_stack_comments = self.string(e),
                "comments" => m.comments = self.string(e),
                "bypass_bbr_timing" => m.bypass_bbr_timing = self.bool(e),
                "promotion" => m.promotion = self.bool(e),
                "query_schema_validation" => m.query_schema_validation = self.bool(e),
                _ => self.unknown(e, "[metadata]", METADATA_KEYS),
            }
        }
        for (key, present) in [
            ("creation_date", has(entries, "creation_date")),
            ("updated_date", has(entries, "updated_date")),
            ("maturity", has(entries, "maturity")),
        ] {
            if !present {
                self.missing(key, "[metadata]", span);
            }
        }
        m
    }

    fn rule_table(&mut self, rule: &mut Rule, span: Span, entries: &[Entry], place: &str) {
        let json = self.format != Format::Toml;
        for e in entries {
            match e.key.as_str() {
                "rule_id" => rule.rule_id = self.string(e),
                "name" => rule.name = self.string(e),
                "description" => rule.description = self.string(e),
                "type" => rule.rule_type = self.keyword(e),
                "language" => rule.language = self.keyword(e),
                "query" => rule.query = self.query(e),
                "index" => rule.index = self.strings(e),
                "data_view_id" => rule.data_view_id = self.string(e),
                "severity" => rule.severity = self.keyword(e),
                "risk_score" => rule.risk_score = self.int(e),
                "interval" => {
                    rule.interval = self.string(e).and_then(|s| self.duration("interval", s))
                }
                "from" => rule.from = self.string(e).and_then(|s| self.date_math("from", s)),
                "to" => rule.to = self.string(e).and_then(|s| self.date_math("to", s)),
                "max_signals" => rule.max_signals = self.int(e),
                "threat" => {
                    rule.threat = self.tables(e).into_iter().map(|t| self.threat(t)).collect()
                }
                "threshold" => {
                    if let Some(t) = self.table(e) {
                        rule.threshold = Some(self.threshold(e.value.span, t));
                    }
                }
                "new_terms" if !json => {
                    if let Some(t) = self.table(e) {
                        rule.new_terms = Some(self.new_terms(e.value.span, t));
                    }
                }
                "new_terms_fields" if json => {
                    let nt = rule.new_terms.get_or_insert_with(|| NewTerms {
                        span: e.key_span,
                        ..NewTerms::default()
                    });
                    nt.fields = self.string_or_strings(e);
                    self.new_terms_count(e, json);
                }
                "history_window_start" if json => {
                    let start = self
                        .string(e)
                        .and_then(|s| self.date_math("history_window_start", s));
                    let nt = rule.new_terms.get_or_insert_with(|| NewTerms {
                        span: e.key_span,
                        ..NewTerms::default()
                    });
                    nt.history_window_start = start;
                }
                "alert_suppression" => {
                    if let Some(t) = self.table(e) {
                        rule.alert_suppression = Some(self.alert_suppression(e.value.span, t));
                    }
                }
                "threat_query" => rule.threat_query = self.query(e),
                "threat_language" => rule.threat_language = self.keyword(e),
                "threat_index" => rule.threat_index = self.strings(e),
                "threat_indicator_path" => rule.threat_indicator_path = self.string(e),
                "threat_mapping" => {
                    rule.threat_mapping = self
                        .tables(e)
                        .into_iter()
                        .map(|t| self.threat_mapping(t))
                        .collect()
                }
                "machine_learning_job_id" => {
                    rule.machine_learning_job_id = self.string_or_strings(e)
                }
                "anomaly_threshold" => rule.anomaly_threshold = self.int(e),
                "tags" => rule.tags = self.strings(e),
                "author" => rule.author = self.strings(e),
                "license" => rule.license = self.string(e),
                "references" => rule.references = self.strings(e),
                "false_positives" => rule.false_positives = self.strings(e),
                "note" => rule.note = self.string(e),
                "setup" => rule.setup = self.string(e),
                "version" => rule.version = self.int(e),
                "enabled" => rule.enabled = self.bool(e),
                "building_block_type" => rule.building_block_type = self.string(e),
                "timestamp_override" => rule.timestamp_override = self.string(e),
                key => {
                    if let Some((_, shape)) = PASS_THROUGH.iter().find(|(k, _)| *k == key) {
                        if shape.matches(&e.value.value) {
                            rule.other.push(e.clone());
                        } else {
                            self.type_error(e, shape.name());
                        }
                    } else if json && KIBANA_MANAGED.contains(&key) {
                        rule.other.push(e.clone());
                    } else {
                        let known: Vec<&str> = RULE_KEYS
                            .iter()
                            .copied()
                            .chain(PASS_THROUGH.iter().map(|(k, _)| *k))
                            .collect();
                        self.unknown(e, place, &known);
                    }
                }
            }
        }
        let mut required = vec![
            "name",
            "description",
            "type",
            "severity",
            "risk_score",
            "rule_id",
        ];
        if !json {
            required.push("author");
        }
        for key in required {
            if !has(entries, key) {
                self.missing(key, place, span);
            }
        }
    }

    fn mitre_entry(&mut self, node: &Node, place: &str) -> MitreEntry {
        let mut m = MitreEntry {
            span: node.span,
            ..MitreEntry::default()
        };
        let entries = node.entries().unwrap_or_default();
        for e in entries {
            match e.key.as_str() {
                "id" => m.id = self.string(e),
                "name" => m.name = self.string(e),
                "reference" => m.reference = self.string(e),
                "subtechnique" if place == "a technique" => {}
                _ => self.unknown(e, place, &["id", "name", "reference"]),
            }
        }
        for key in ["id", "name", "reference"] {
            if !has(entries, key) {
                self.missing(key, place, node.span);
            }
        }
        m
    }

    fn threat(&mut self, node: &Node) -> Threat {
        let mut t = Threat {
            span: node.span,
            ..Threat::default()
        };
        let entries = node.entries().unwrap_or_default();
        for e in entries {
            match e.key.as_str() {
                "framework" => t.framework = self.string(e),
                "tactic" => {
                    if self.table(e).is_some() {
                        t.tactic = Some(self.mitre_entry(&e.value, "a tactic"));
                    }
                }
                "technique" => {
                    for tech in self.tables(e) {
                        let entry = self.mitre_entry(tech, "a technique");
                        let subtechnique = match tech.get("subtechnique") {
                            Some(sub) => self
                                .tables(sub)
                                .into_iter()
                                .map(|s| self.mitre_entry(s, "a subtechnique"))
                                .collect(),
                            None => Vec::new(),
                        };
                        t.technique.push(Technique {
                            entry,
                            subtechnique,
                        });
                    }
                }
                _ => self.unknown(e, "a threat entry", &["framework", "tactic", "technique"]),
            }
        }
        for key in ["framework", "tactic"] {
            if !has(entries, key) {
                self.missing(key, "the threat entry", node.span);
            }
        }
        t
    }

    fn threshold(&mut self, span: Span, entries: &[Entry]) -> Threshold {
        let mut t = Threshold {
            span,
            ..Threshold::default()
        };
        for e in entries {
            match e.key.as_str() {
                "field" => t.field = self.string_or_strings(e),
                "value" => t.value = self.int(e),
                "cardinality" => {
                    for c in self.tables(e) {
                        let mut card = Cardinality::default();
                        for ce in c.entries().unwrap_or_default() {
                            match ce.key.as_str() {
                                "field" => card.field = self.string(ce),
                                "value" => card.value = self.int(ce),
                                _ => self.unknown(ce, "a cardinality entry", &["field", "value"]),
                            }
                        }
                        t.cardinality.push(card);
                    }
                }
                _ => self.unknown(e, "the threshold", &["field", "value", "cardinality"]),
            }
        }
        if !has(entries, "value") {
            self.missing("value", "the threshold", span);
        }
        t
    }

    fn new_terms(&mut self, span: Span, entries: &[Entry]) -> NewTerms {
        // detection-rules writes new-terms settings as key/value pairs:
        // `field = "new_terms_fields"`, `value = [...]`, and a list of
        // `{field = "history_window_start", value = "now-14d"}`.
        let mut nt = NewTerms {
            span,
            ..NewTerms::default()
        };
        for e in entries {
            match e.key.as_str() {
                "field" => {
                    if let Some(s) = self.string(e) {
                        if s.value != "new_terms_fields" {
                            self.bad_value(&s, "new_terms.field", "new_terms_fields");
                        }
                    }
                }
                "value" => {
                    nt.fields = self.strings(e);
                    self.new_terms_count(e, false);
                }
                "history_window_start" => {
                    for h in self.tables(e) {
                        for he in h.entries().unwrap_or_default() {
                            match he.key.as_str() {
                                "field" => {
                                    if let Some(s) = self.string(he) {
                                        if s.value != "history_window_start" {
                                            self.bad_value(
                                                &s,
                                                "history_window_start.field",
                                                "history_window_start",
                                            );
                                        }
                                    }
                                }
                                "value" => {
                                    nt.history_window_start = self
                                        .string(he)
                                        .and_then(|s| self.date_math("history_window_start", s))
                                }
                                _ => self.unknown(he, "history_window_start", &["field", "value"]),
                            }
                        }
                    }
                }
                _ => self.unknown(
                    e,
                    "[rule.new_terms]",
                    &["field", "value", "history_window_start"],
                ),
            }
        }
        for key in ["field", "value", "history_window_start"] {
            if !has(entries, key) {
                self.missing(key, "[rule.new_terms]", span);
            }
        }
        nt
    }

    /// Kibana's schema takes 1 to 3 `new_terms_fields`. An empty list in
    /// Kibana JSON is left to the rule checks, which report the key as
    /// missing (as when it is absent).
    fn new_terms_count(&mut self, e: &Entry, json: bool) {
        let Value::Array(items) = &e.value.value else {
            return;
        };
        let message = match items.len() {
            0 if json => return,
            0 => "`new_terms_fields` lists no field".to_string(),
            1..=3 => return,
            n => format!("`new_terms_fields` lists {n} fields"),
        };
        self.diags.push(
            Diagnostic::error("rule::new-terms-fields", message, e.value.span).with_help(
                "Kibana takes 1 to 3 fields: a new_terms rule alerts on a new value, \
                 or a new combination of values, of these fields",
            ),
        );
    }

    fn bad_value(&mut self, s: &Spanned<String>, key: &str, expected: &str) {
        self.diags.push(
            Diagnostic::error(
                "rule::enum",
                format!("`{key}` must be `{expected}`, found `{}`", s.value),
                s.span,
            )
            .with_help(format!("write `{expected}`")),
        );
    }

    fn alert_suppression(&mut self, span: Span, entries: &[Entry]) -> AlertSuppression {
        let mut a = AlertSuppression {
            span,
            ..AlertSuppression::default()
        };
        for e in entries {
            match e.key.as_str() {
                "group_by" => {
                    a.group_by = self.strings(e);
                    a.group_by_span = Some(e.value.span);
                }
                "missing_fields_strategy" => a.missing_fields_strategy = self.keyword(e),
                "duration" => {
                    let Some(d) = self.table(e) else { continue };
                    let mut value = None;
                    let mut unit = None;
                    for de in d {
                        match de.key.as_str() {
                            "value" => value = self.int(de),
                            "unit" => unit = self.keyword::<DurationUnit>(de),
                            _ => self.unknown(de, "the suppression duration", &["value", "unit"]),
                        }
                    }
                    match (value, unit) {
                        (Some(v), Some(u)) if v.value > 0 => {
                            a.duration = Some(Spanned::new(
                                Duration {
                                    value: v.value,
                                    unit: u.value,
                                },
                                e.value.span,
                            ))
                        }
                        (Some(v), Some(_)) => self.diags.push(
                            Diagnostic::error(
                                "rule::interval",
                                "the suppression duration must be positive",
                                v.span,
                            )
                            .with_help("suppress for at least one second"),
                        ),
                        (v, u) => {
                            if v.is_none() && !has(d, "value") {
                                self.missing("value", "the suppression duration", e.value.span);
                            }
                            if u.is_none() && !has(d, "unit") {
                                self.missing("unit", "the suppression duration", e.value.span);
                            }
                        }
                    }
                }
                _ => self.unknown(
                    e,
                    "the alert suppression",
                    &["group_by", "duration", "missing_fields_strategy"],
                ),
            }
        }
        a
    }

    fn threat_mapping(&mut self, node: &Node) -> ThreatMapping {
        let mut m = ThreatMapping::default();
        for e in node.entries().unwrap_or_default() {
            if e.key != "entries" {
                self.unknown(e, "a threat mapping", &["entries"]);
                continue;
            }
            for item in self.tables(e) {
                let mut entry = ThreatMappingEntry::default();
                for ie in item.entries().unwrap_or_default() {
                    match ie.key.as_str() {
                        "field" => entry.field = self.string(ie),
                        "type" => entry.kind = self.string(ie),
                        "value" => entry.value = self.string(ie),
                        "negate" => entry.negate = self.bool(ie),
                        _ => self.unknown(
                            ie,
                            "a threat mapping entry",
                            &["field", "type", "value", "negate"],
                        ),
                    }
                }
                m.entries.push(entry);
            }
        }
        m
    }

    fn transform(&mut self, entries: &[Entry]) -> Transform {
        let mut t = Transform::default();
        for e in entries {
            match e.key.as_str() {
                "osquery" => {
                    for o in self.tables(e) {
                        let mut q = OsqueryTransform::default();
                        for oe in o.entries().unwrap_or_default() {
                            match oe.key.as_str() {
                                "label" => q.label = self.string(oe),
                                "query" => q.query = self.string(oe),
                                // Kibana's osquery transform also carries
                                // ECS mappings and saved-query ids.
                                "ecs_mapping" | "saved_query_id" => {}
                                _ => self.unknown(oe, "an osquery transform", &["label", "query"]),
                            }
                        }
                        t.osquery.push(q);
                    }
                }
                "investigate" => {
                    for i in self.tables(e) {
                        t.investigate.push(self.investigate(i));
                    }
                }
                _ => self.unknown(e, "[transform]", &["osquery", "investigate"]),
            }
        }
        t
    }

    fn investigate(&mut self, node: &Node) -> InvestigateTransform {
        let mut it = InvestigateTransform::default();
        for e in node.entries().unwrap_or_default() {
            match e.key.as_str() {
                "label" => it.label = self.string(e),
                "description" => it.description = self.string(e),
                "relativeFrom" => it.relative_from = self.string(e),
                "relativeTo" => it.relative_to = self.string(e),
                "providers" => {
                    let Value::Array(groups) = &e.value.value else {
                        self.type_error(e, "an array of arrays of tables");
                        continue;
                    };
                    for group in groups {
                        let Value::Array(items) = &group.value else {
                            self.item_error("providers", group, "arrays of tables");
                            continue;
                        };
                        let mut providers = Vec::new();
                        for p in items {
                            let Some(pe) = p.entries() else {
                                self.item_error("providers", p, "tables");
                                continue;
                            };
                            let mut pr = InvestigateProvider::default();
                            for x in pe {
                                match x.key.as_str() {
                                    "excluded" => pr.excluded = self.bool(x),
                                    "field" => pr.field = self.string(x),
                                    "queryType" => pr.query_type = self.string(x),
                                    "value" => pr.value = self.string(x),
                                    "valueType" => pr.value_type = self.string(x),
                                    _ => self.unknown(
                                        x,
                                        "an investigate provider",
                                        &["excluded", "field", "queryType", "value", "valueType"],
                                    ),
                                }
                            }
                            providers.push(pr);
                        }
                        it.providers.push(providers);
                    }
                }
                _ => self.unknown(
                    e,
                    "an investigate transform",
                    &[
                        "label",
                        "description",
                        "relativeFrom",
                        "relativeTo",
                        "providers",
                    ],
                ),
            }
        }
        it
    }
}

fn has(entries: &[Entry], key: &str) -> bool {
    entries.iter().any(|e| e.key == key)
}
