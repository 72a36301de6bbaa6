//! Alert documents shaped like Kibana's `.alerts-security.alerts-*`
//! documents: the source event's own fields, `event.kind: "signal"`, and
//! flat dotted `kibana.alert.*` keys carrying the rule's metadata.
//!
//! An EQL sequence gives one building-block alert per event plus one shell
//! alert holding the fields every event of the sequence shares, linked by
//! `kibana.alert.group.id`, as Kibana's EQL executor writes them.

use crate::compile::date;
use crate::rule::{Rule, RuleType, Spanned};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::sync::Arc;

pub mod new_terms;
pub mod object_hash;
mod raw;
mod result;
pub mod suppression;
pub mod threshold;

pub use result::{
    event_alert, read_event, record_shown, result_alerts, result_key, take_shown, Naming,
};

/// Serializes a rule keyword (severity, type, language) to JSON.
trait ErasedSerialize {
    fn to_json(&self) -> Value;
}

impl<T: serde::Serialize> ErasedSerialize for T {
    fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// One source event of an alert.
#[derive(Debug, Clone)]
pub struct SourceEvent<'a> {
    /// The event's identity: its `_id`, or `file:line` when it has none.
    pub id: String,
    /// The index it came from (`_index` or `--index`), when known.
    pub index: Option<String>,
    /// The event's `_source` object.
    pub source: &'a Map<String, Value>,
}

/// A source event given up to its alerts: a [`SourceEvent`] that owns its
/// source object, whose members then move into the alert documents.
#[derive(Debug, Clone)]
pub struct OwnedSource {
    /// As [`SourceEvent::id`].
    pub id: String,
    /// As [`SourceEvent::index`].
    pub index: Option<String>,
    /// The event's `_source` object.
    pub source: Map<String, Value>,
}

/// A source event as written: its alerts are written from its `_source`
/// text when that text is canonical (see [`Context::event_alert_text`]).
#[derive(Debug, Clone)]
pub struct SourceText<'a> {
    /// As [`SourceEvent::id`].
    pub id: String,
    /// As [`SourceEvent::index`].
    pub index: Option<String>,
    /// The event's `_source` text.
    pub text: &'a str,
}

/// Where an alert's per-event values are read: a source object, or the
/// members of its canonical text.
trait Fields {
    /// A field by dotted path, as [`lookup`] finds it.
    fn field(&self, path: &str) -> Option<Cow<'_, Value>>;
}

impl Fields for Map<String, Value> {
    fn field(&self, path: &str) -> Option<Cow<'_, Value>> {
        lookup(self, path).map(Cow::Borrowed)
    }
}

impl Fields for raw::Object<'_> {
    fn field(&self, path: &str) -> Option<Cow<'_, Value>> {
        raw::Object::field(self, path)
    }
}

impl OwnedSource {
    /// A copy of a borrowed source event.
    pub fn copied(event: &SourceEvent) -> Self {
        OwnedSource {
            id: event.id.clone(),
            index: event.index.clone(),
            source: event.source.clone(),
        }
    }
}

/// What every alert of one run shares.
#[derive(Debug, Clone)]
pub struct Context<'r> {
    /// The rule that raised the alerts.
    pub rule: &'r Rule,
    /// The execution time (Kibana writes it into `@timestamp`), rendered.
    pub now: String,
    /// The execution's id (`kibana.alert.rule.execution.uuid`).
    pub execution_uuid: String,
    /// Fields every document of the indices holds, sent or not (mapped
    /// `constant_keyword`s), by path, with their value: see
    /// [`Context::with_constants`].
    constants: Arc<[(String, String)]>,
    /// The fields every alert of the execution carries, serialized once:
    /// `"key":value` pairs joined by commas.
    fixed: String,
}

/// Keys an event can change through the rule's overrides: never among a
/// context's fixed fields.
const PER_ALERT: [&str; 6] = [
    "kibana.alert.rule.name",
    "kibana.alert.rule.severity",
    "kibana.alert.rule.risk_score",
    "kibana.alert.severity",
    "kibana.alert.risk_score",
    "kibana.alert.reason",
];

/// One alert document, serialized in two parts: its own fields, and the
/// fields every alert of its execution shares ([`Context::fixed`]), which
/// are held once however many alerts there are ([`Alert::document`]
/// joins them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// Its `kibana.alert.uuid`.
    pub uuid: String,
    /// Its own fields: a compact JSON object without its closing brace.
    pub own: String,
}

impl Alert {
    /// This alert under another id: its `kibana.alert.uuid` replaced (the
    /// key follows every source field, so its last occurrence is the
    /// alert's own; a key inside a string value has its quotes escaped).
    pub fn with_uuid(self, uuid: &str) -> Alert {
        let old = format!("\"kibana.alert.uuid\":{}", json_text(&self.uuid));
        let mut own = self.own;
        match own.rfind(&old) {
            Some(at) => {
                let new = format!("\"kibana.alert.uuid\":{}", json_text(uuid));
                own.replace_range(at..at + old.len(), &new);
            }
            // Never so (an alert has its id): the document read back.
            None => {
                own.push('}');
                let mut doc: Map<String, Value> = serde_json::from_str(&own).unwrap_or_default();
                doc.insert("kibana.alert.uuid".into(), uuid.into());
                own = serde_json::to_string(&doc).unwrap_or_else(|_| "{}".into());
                own.pop();
            }
        }
        Alert {
            uuid: uuid.to_string(),
            own,
        }
    }

    /// The whole document, as compact JSON, given its context's fixed part.
    pub fn document(&self, fixed: &str) -> String {
        let mut out = String::with_capacity(self.own.len() + fixed.len() + 2);
        join(&self.own, fixed, |part| out.push_str(part));
        out
    }
}

/// Hands the parts of a document to `write` in order: its own fields
/// (`{...` without the closing brace), a comma when both parts have
/// fields, the fixed fields, the closing brace.
pub fn join(own: &str, fixed: &str, mut write: impl FnMut(&str)) {
    write(own);
    if own.len() > 1 && !fixed.is_empty() {
        write(",");
    }
    write(fixed);
    write("}");
}

impl<'r> Context<'r> {
    /// The context of one execution of `rule` at `now` (rendered as
    /// Elasticsearch renders dates); its execution id is derived from both,
    /// so that re-runs agree.
    pub fn new(rule: &'r Rule, now: String) -> Self {
        let execution = digest(&["execution", rule.id().unwrap_or(""), &now]);
        let execution_uuid = uuid_text(&execution);
        let mut ctx = Context {
            rule,
            now,
            execution_uuid,
            constants: Arc::new([]),
            fixed: String::new(),
        };
        let mut fields = Map::new();
        ctx.rule_fields(&mut fields);
        for key in PER_ALERT {
            fields.shift_remove(key);
        }
        let text = serde_json::to_string(&fields).unwrap_or_default();
        ctx.fixed = text[1..text.len().saturating_sub(1)].to_string();
        ctx
    }

    /// This context, its sources completed with `constants` (path and
    /// value: a mapping's `constant_keyword`s) where they lack them.
    ///
    /// Elasticsearch returns a `constant_keyword`'s value in a hit's
    /// `fields` whether the document sent it or not, and Kibana's default
    /// merge strategy (`missingFields`) sets the `fields` a source lacks
    /// into it before building the alert: the value is then in the alert,
    /// and in its `kibana.alert.original_event.*` when under `event`.
    pub fn with_constants(mut self, constants: Arc<[(String, String)]>) -> Self {
        self.constants = constants;
        self
    }

    /// Sets the constants a source lacks into it, as Kibana merges a hit's
    /// missing `fields`.
    fn complete(&self, source: &mut Map<String, Value>) {
        for (path, value) in self.constants.iter() {
            if robust_get(source, path).is_none() && path_valid(source, path) {
                robust_set(source, path, value.as_str().into());
            }
        }
    }

    /// Whether a canonical source holds every constant already (else it
    /// takes the map path, which sets them).
    fn completed(&self, top: &raw::Object) -> bool {
        self.constants
            .iter()
            .all(|(path, _)| top.lookup(path).is_some_and(|v| v != "null"))
    }

    /// The fields every alert of this execution carries, serialized:
    /// `"key":value` pairs joined by commas.
    pub fn fixed(&self) -> &str {
        &self.fixed
    }

    /// The alert of these fields (its own: the fixed ones come with
    /// [`Alert::document`]).
    fn finish(&self, alert: &Map<String, Value>) -> Alert {
        let uuid = alert
            .get("kibana.alert.uuid")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let mut own = serde_json::to_string(alert).unwrap_or_else(|_| "{}".into());
        own.pop();
        Alert { uuid, own }
    }
}

/// A hex digest shaped as a UUID (8-4-4-4-12), as Kibana's ids are.
fn uuid_text(hex: &str) -> String {
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// A hex SHA-256 of the parts, each followed by a separator byte, so that
/// re-runs give the same alert ids.
fn digest(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(64);
    for b in h.finalize() {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
    }
    out
}

impl Context<'_> {
    fn rule_id(&self) -> &str {
        self.rule.id().unwrap_or("")
    }

    /// Kibana's `rule_type_id` and `category` for the rule's type.
    fn rule_kind(&self) -> (&'static str, &'static str) {
        match self.rule.rule_type.as_ref().map(|t| t.value) {
            Some(RuleType::Eql) => ("siem.eqlRule", "Event Correlation Rule"),
            Some(RuleType::Threshold) => ("siem.thresholdRule", "Threshold Rule"),
            Some(RuleType::NewTerms) => ("siem.newTermsRule", "New Terms Rule"),
            Some(RuleType::ThreatMatch) => ("siem.indicatorRule", "Indicator Match Rule"),
            Some(RuleType::MachineLearning) => ("siem.mlRule", "Machine Learning Rule"),
            Some(RuleType::Esql) => ("siem.esqlRule", "ES|QL Rule"),
            _ => ("siem.queryRule", "Custom Query Rule"),
        }
    }

    /// The `kibana.alert.rule.*` keys, and the other keys every alert of
    /// the rule carries.
    fn rule_fields(&self, out: &mut Map<String, Value>) {
        let rule = self.rule;
        let id = self.rule_id();
        let (type_id, category) = self.rule_kind();
        let mut put = |k: &str, v: Value| {
            out.insert(format!("kibana.alert.rule.{k}"), v);
        };
        put("category", category.into());
        put("consumer", "siem".into());
        put("producer", "siem".into());
        put("rule_type_id", type_id.into());
        // Offline there is no saved object: its id is derived from the rule id.
        put("uuid", digest(&["rule", id])[..32].to_string().into());
        put("rule_id", id.into());
        let strings = |list: &[Spanned<String>]| -> Value {
            list.iter().map(|s| Value::from(s.value.as_str())).collect()
        };
        let text = |s: &Option<Spanned<String>>| s.as_ref().map(|s| Value::from(s.value.as_str()));
        if let Some(v) = text(&rule.name) {
            put("name", v);
        }
        if let Some(v) = text(&rule.description) {
            put("description", v);
        }
        if let Some(t) = &rule.rule_type {
            put("type", t.value.to_json());
        }
        if let Some(l) = &rule.language {
            put("language", l.value.to_json());
        }
        if let Some(q) = &rule.query {
            put("query", q.text.as_str().into());
        }
        if rule.data_view_id.is_none() {
            put("index", strings(&rule.index));
        } else if let Some(v) = text(&rule.data_view_id) {
            put("data_view_id", v);
        }
        if let Some(s) = &rule.severity {
            put("severity", s.value.to_json());
        }
        if let Some(r) = &rule.risk_score {
            put("risk_score", r.value.into());
        }
        put("tags", strings(&rule.tags));
        put("references", strings(&rule.references));
        put("author", strings(&rule.author));
        put("false_positives", strings(&rule.false_positives));
        if let Some(v) = text(&rule.license) {
            put("license", v);
        }
        put(
            "threat",
            serde_json::to_value(&rule.threat).unwrap_or_default(),
        );
        // Kibana's defaults where the rule file leaves them out.
        let interval = rule
            .interval
            .as_ref()
            .map_or("5m".into(), |i| i.value.to_string());
        let from = rule
            .from
            .as_ref()
            .map_or("now-6m".into(), |f| f.value.to_string());
        let to = rule
            .to
            .as_ref()
            .map_or("now".into(), |t| t.value.to_string());
        put("interval", interval.into());
        put("from", from.into());
        put("to", to.into());
        put(
            "max_signals",
            rule.max_signals.as_ref().map_or(100, |m| m.value).into(),
        );
        put(
            "version",
            rule.version.as_ref().map_or(1, |v| v.value).into(),
        );
        put(
            "enabled",
            rule.enabled.as_ref().is_none_or(|e| e.value).into(),
        );
        for (key, value) in [
            ("building_block_type", &rule.building_block_type),
            ("timestamp_override", &rule.timestamp_override),
            ("note", &rule.note),
            ("setup", &rule.setup),
        ] {
            if let Some(v) = text(value) {
                put(key, v);
            }
        }
        put("immutable", false.into());
        put("revision", 0.into());
        // As the rule writes them; Kibana stores empty lists when absent.
        for key in ["exceptions_list", "severity_mapping", "risk_score_mapping"] {
            put(key, rule.extra(key).unwrap_or(Value::Array(Vec::new())));
        }
        if let Some(field) = rule.extra("rule_name_override") {
            put("rule_name_override", field);
        }
        // The rule's parameters, as Kibana keeps them beside the alerting
        // framework's own rule attributes (name, tags, schedule, ids).
        let mut parameters = Map::new();
        for (k, v) in out.iter() {
            let Some(key) = k.strip_prefix("kibana.alert.rule.") else {
                continue;
            };
            let framework = [
                "category",
                "consumer",
                "producer",
                "rule_type_id",
                "uuid",
                "name",
                "tags",
                "interval",
                "enabled",
                "revision",
            ];
            if !framework.contains(&key) {
                parameters.insert(key.to_string(), v.clone());
            }
        }
        for key in ["filters", "event_category_override", "tiebreaker_field"] {
            if let Some(v) = rule.extra(key) {
                parameters.insert(key.to_string(), v);
            }
        }
        out.insert(
            "kibana.alert.rule.parameters".into(),
            Value::Object(parameters),
        );
        let severity = rule
            .severity
            .as_ref()
            .and_then(|s| serde_json::to_value(s).ok())
            .unwrap_or(Value::Null);
        out.insert("kibana.alert.severity".into(), severity);
        let risk = rule
            .risk_score
            .as_ref()
            .map_or(Value::Null, |r| r.value.into());
        out.insert("kibana.alert.risk_score".into(), risk);
        out.insert("kibana.alert.status".into(), "active".into());
        out.insert("kibana.alert.workflow_status".into(), "open".into());
        out.insert(
            "kibana.space_ids".into(),
            vec![Value::from("default")].into(),
        );
        out.insert(
            "kibana.alert.rule.execution.type".into(),
            "scheduled".into(),
        );
        out.insert(
            "kibana.alert.rule.execution.uuid".into(),
            self.execution_uuid.clone().into(),
        );
        out.insert(
            "kibana.alert.rule.execution.timestamp".into(),
            self.now.clone().into(),
        );
        // A new alert starts, and was last detected, at its execution.
        out.insert("kibana.alert.start".into(), self.now.clone().into());
        out.insert("kibana.alert.last_detected".into(), self.now.clone().into());
        out.insert(
            "kibana.alert.intended_timestamp".into(),
            self.now.clone().into(),
        );
    }

    fn severity_text(&self) -> String {
        self.rule
            .severity
            .as_ref()
            .and_then(|s| serde_json::to_value(s).ok())
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "unknown".into())
    }

    fn rule_name(&self) -> &str {
        self.rule.name.as_ref().map_or("", |n| n.value.as_str())
    }

    /// One alert per matching event (query rules and EQL event queries).
    pub fn event_alert(&self, event: &SourceEvent) -> Alert {
        self.event_alert_owned(OwnedSource::copied(event))
    }

    /// [`Context::event_alert`] for an event whose source object the caller
    /// gives up: its members move into the alert instead of being copied
    /// (the same document).
    pub fn event_alert_owned(&self, mut event: OwnedSource) -> Alert {
        self.complete(&mut event.source);
        let uuid = digest(&["event", self.rule_id(), &event.id]);
        let ancestor = ancestor(&event.id, event.index.as_deref());
        let tail = event_tail(&uuid, ancestor, self.overrides(&event.source));
        let time = original_time(event.source.get("@timestamp"));
        let mut alert = self.base(event.source, time);
        alert.extend(tail);
        self.finish(&alert)
    }

    /// [`Context::event_alert`] written from the event's text: the same
    /// document, or `None` when the text is not canonical (then the event
    /// is to be read into a map).
    pub fn event_alert_text(&self, event: &SourceText) -> Option<Alert> {
        let top = raw::indexed(event.text).filter(|t| self.completed(t))?;
        let uuid = digest(&["event", self.rule_id(), &event.id]);
        let ancestor = ancestor(&event.id, event.index.as_deref());
        let tail = event_tail(&uuid, ancestor, self.overrides(&top));
        let own = written(|own| {
            self.raw_base(own, &top, Time::Source)?;
            splice(own, &tail);
            Some(())
        })?;
        Some(Alert { uuid, own })
    }

    /// The alerts of one EQL sequence: a building block per event, in
    /// stage order, then the shell alert.
    pub fn sequence_alerts(&self, events: &[SourceEvent]) -> Vec<Alert> {
        self.sequence_alerts_owned(events.iter().map(OwnedSource::copied).collect())
    }

    /// [`Context::sequence_alerts`] for events whose source objects the
    /// caller gives up: their members move into the building blocks
    /// instead of being copied (the same documents).
    pub fn sequence_alerts_owned(&self, mut events: Vec<OwnedSource>) -> Vec<Alert> {
        for e in &mut events {
            self.complete(&mut e.source);
        }
        let group = self.group(events.iter().map(|e| e.id.as_str()));
        // The shell's fields every event shares, intersected by reference
        // (only what is shared is copied) before the sources move.
        let shared = match events.as_slice() {
            [] => Map::new(),
            [only] => only.source.clone(),
            [first, second, rest @ ..] => {
                let mut acc = intersect_maps(&first.source, &second.source);
                for e in rest {
                    acc = intersect_maps(&acc, &e.source);
                }
                acc
            }
        };
        let mut out = Vec::with_capacity(events.len() + 1);
        let mut ancestors = Vec::new();
        for (i, event) in events.into_iter().enumerate() {
            let uuid = digest(&["building-block", &group, &i.to_string()]);
            let source_ancestor = ancestor(&event.id, event.index.as_deref());
            let overrides = self.overrides(&event.source);
            let tail = self.block_tail(&uuid, &group, i, source_ancestor.clone(), overrides);
            let time = original_time(event.source.get("@timestamp"));
            let mut alert = self.base(event.source, time);
            alert.extend(tail);
            self.link(&mut ancestors, source_ancestor, uuid);
            out.push(self.finish(&alert));
        }
        // The shell: the fields every event shares, as a building block
        // holds them, stamped with the execution time (Kibana writes it
        // over the events' shared time, and reads the shell's original
        // time from its first building block's `@timestamp`), and the
        // group. An `event` left empty is not shared: Kibana intersects the
        // building blocks, whose `event` objects are already without `kind`.
        let tail = self.shell_tail(&group, ancestors, &shared);
        let mut shell = self.base(shared, Some(self.now.clone()));
        if shell
            .get("event")
            .is_some_and(|e| e.as_object().is_some_and(Map::is_empty))
        {
            shell.shift_remove("event");
        }
        shell.extend(tail);
        out.push(self.finish(&shell));
        out
    }

    /// [`Context::sequence_alerts`] written from the events' texts: the
    /// same documents, or `None` when a text is not canonical.
    pub fn sequence_alerts_text(&self, events: &[SourceText]) -> Option<Vec<Alert>> {
        let tops: Vec<raw::Object> = events
            .iter()
            .map(|e| raw::indexed(e.text).filter(|t| self.completed(t)))
            .collect::<Option<_>>()?;
        let group = self.group(events.iter().map(|e| e.id.as_str()));
        let top_level = |k: &str| k == "_id" || k == "_index";
        let shared = match events {
            [] => "{}".to_string(),
            [only] => {
                let mut text = String::from("{");
                for (k, v) in raw::members(only.text).filter(|(k, _)| !top_level(k)) {
                    if text.len() > 1 {
                        text.push(',');
                    }
                    raw::push_key(&mut text, k);
                    text.push_str(v);
                }
                text.push('}');
                text
            }
            [first, second, rest @ ..] => {
                let mut acc = raw::intersect(first.text, second.text, &top_level);
                for e in rest {
                    if acc.is_empty() {
                        break;
                    }
                    acc = raw::intersect(&acc, e.text, &top_level);
                }
                if acc.is_empty() {
                    acc.push_str("{}");
                }
                acc
            }
        };
        let mut out = Vec::with_capacity(events.len() + 1);
        let mut ancestors = Vec::new();
        for (i, (event, top)) in events.iter().zip(&tops).enumerate() {
            let uuid = digest(&["building-block", &group, &i.to_string()]);
            let source_ancestor = ancestor(&event.id, event.index.as_deref());
            let overrides = self.overrides(top);
            let tail = self.block_tail(&uuid, &group, i, source_ancestor.clone(), overrides);
            let own = written(|own| {
                self.raw_base(own, top, Time::Source)?;
                splice(own, &tail);
                Some(())
            })?;
            self.link(&mut ancestors, source_ancestor, uuid.clone());
            out.push(Alert { uuid, own });
        }
        // The shell, as the map path writes it.
        let shared_top = raw::Object::new(&shared);
        let tail = self.shell_tail(&group, ancestors, &shared_top);
        let own = written(|own| {
            self.raw_base(own, &shared_top, Time::Execution)?;
            splice(own, &tail);
            Some(())
        })?;
        let uuid = tail
            .get("kibana.alert.uuid")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        out.push(Alert { uuid, own });
        Some(out)
    }

    /// A sequence's group id, from its events' ids.
    fn group<'a>(&self, event_ids: impl Iterator<Item = &'a str>) -> String {
        let mut ids: Vec<&str> = vec!["sequence", self.rule_id()];
        for id in event_ids {
            ids.push(id);
        }
        digest(&ids)
    }

    /// Adds a building block's pair to the shell's ancestors: its source
    /// event, and itself.
    fn link(&self, ancestors: &mut Vec<Value>, source: Value, uuid: String) {
        ancestors.push(source);
        let mut own = Map::new();
        own.insert("id".into(), uuid.into());
        own.insert("type".into(), "signal".into());
        own.insert("index".into(), "".into());
        own.insert("depth".into(), 1.into());
        own.insert("rule".into(), self.rule_id().into());
        ancestors.push(Value::Object(own));
    }

    /// A building block's fields after its source's: an event alert's,
    /// and its place in the group.
    fn block_tail(
        &self,
        uuid: &str,
        group: &str,
        i: usize,
        ancestor: Value,
        overrides: Overrides,
    ) -> Map<String, Value> {
        let mut tail = event_tail(uuid, ancestor, overrides);
        tail.insert("kibana.alert.building_block_type".into(), "default".into());
        tail.insert("kibana.alert.group.id".into(), group.into());
        tail.insert("kibana.alert.group.index".into(), i.into());
        tail
    }

    /// The shell's fields after the shared ones: the rule's own values
    /// (overrides apply to the building blocks), the group and its
    /// ancestors, and the reason the shared fields give.
    fn shell_tail(
        &self,
        group: &str,
        ancestors: Vec<Value>,
        shared: &dyn Fields,
    ) -> Map<String, Value> {
        let mut shell = Map::new();
        shell.insert("kibana.alert.rule.name".into(), self.rule_name().into());
        let severity = self.severity_text();
        shell.insert("kibana.alert.rule.severity".into(), severity.clone().into());
        shell.insert("kibana.alert.severity".into(), severity.into());
        let risk = self
            .rule
            .risk_score
            .as_ref()
            .map_or(Value::Null, |r| r.value.into());
        shell.insert("kibana.alert.rule.risk_score".into(), risk.clone());
        shell.insert("kibana.alert.risk_score".into(), risk);
        shell.insert("kibana.alert.uuid".into(), digest(&["shell", group]).into());
        shell.insert("kibana.alert.depth".into(), 2.into());
        shell.insert("kibana.alert.ancestors".into(), ancestors.into());
        let reason = self.reason(shared, &self.severity_text(), self.rule_name());
        shell.insert("kibana.alert.reason".into(), reason.into());
        shell.insert("kibana.alert.group.id".into(), group.into());
        shell
    }

    /// [`Context::base`] written from a canonical source's members:
    /// `None` when the map path is to decide (a dotted `event.*` or
    /// `data_stream.*` key, which may name the same field as a nested one;
    /// a dotted key inside those objects; one of them not an object).
    fn raw_base(&self, own: &mut String, top: &raw::Object, time: Time) -> Option<()> {
        let shell = matches!(time, Time::Execution);
        raw::push_head(own, &json_text(&self.now), top, shell)?;
        for &(k, v) in &top.members {
            if let Some(prefix) = copied_to(k) {
                if !raw::push_flat(own, &prefix, v) {
                    return None;
                }
            }
        }
        own.push_str(",\"event.kind\":\"signal\"");
        let time = match time {
            Time::Source => original_time(top.field("@timestamp").as_deref()),
            Time::Execution => Some(self.now.clone()),
        };
        if let Some(t) = time {
            own.push_str(",\"kibana.alert.original_time\":");
            own.push_str(&json_text(&t));
        }
        Some(())
    }

    /// The alert's fields from its source (moved), as Kibana builds them:
    /// the execution time in `@timestamp`; the source's fields but for
    /// `kibana.*`, `signal.*` and `threshold_result` (and an `event` or
    /// `data_stream` that is not an object, which is no ECS field); every
    /// `event.*` and `data_stream.*` field, dotted or nested, copied to
    /// `kibana.alert.original_event.*` and `kibana.alert.original_data_stream.*`;
    /// the source's `event.kind` unset, in either form, and
    /// `"event.kind": "signal"` written, dotted (in the place of a dotted
    /// source key); then `kibana.alert.original_time` when there is one.
    fn base(&self, source: Map<String, Value>, time: Option<String>) -> Map<String, Value> {
        let mut alert = Map::with_capacity(source.len() + EXTRA);
        alert.insert("@timestamp".into(), self.now.clone().into());
        // Kibana unsets `event.kind` where its robust get finds it: inside
        // an `event` object (the dotted key is then overwritten).
        let unset_kind = robust_get(&source, "event.kind").is_some();
        let mut copies = Map::new();
        for (k, mut v) in source {
            if k == "@timestamp" || stripped(&k) {
                continue;
            }
            if let Some(prefix) = copied_to(&k) {
                match &v {
                    Value::Object(inner) => flatten(&prefix, inner, &mut copies),
                    _ if !k.contains('.') => continue,
                    _ => {
                        copies.insert(prefix, v.clone());
                    }
                }
            }
            if k == "event.kind" {
                v = "signal".into();
            } else if k == "event" && unset_kind {
                if let Value::Object(event) = &mut v {
                    event.shift_remove("kind");
                }
            }
            alert.insert(k, v);
        }
        alert.extend(copies);
        if !alert.contains_key("event.kind") {
            alert.insert("event.kind".into(), "signal".into());
        }
        if let Some(t) = time {
            alert.insert("kibana.alert.original_time".into(), t.into());
        }
        alert
    }

    /// Kibana's reason sentence: what the event was, who and where, and
    /// which alert it raised.
    fn reason(&self, source: &dyn Fields, severity: &str, name: &str) -> String {
        let get = |path: &str| -> Option<String> {
            let found = source.field(path)?;
            match &*found {
                Value::Array(items) => scalar_text(items.first()?),
                v => scalar_text(v),
            }
        };
        let mut parts = Vec::new();
        if let Some(p) = get("process.name") {
            parts.push(format!("process {p}"));
        }
        if let Some(p) = get("process.parent.name") {
            parts.push(format!("parent process {p}"));
        }
        if let Some(f) = get("file.name") {
            parts.push(format!("file {f}"));
        }
        let endpoint = |ip: &str, port: &str| {
            get(ip).map(|i| match get(port) {
                Some(p) => format!("{i}:{p}"),
                None => i,
            })
        };
        if let Some(s) = endpoint("source.ip", "source.port") {
            parts.push(format!("source {s}"));
        }
        if let Some(d) = endpoint("destination.ip", "destination.port") {
            parts.push(format!("destination {d}"));
        }
        let category = get("event.category").unwrap_or_else(|| "event".into());
        let mut text = if category == "event" {
            "event".to_string()
        } else {
            format!("{category} event")
        };
        if !parts.is_empty() {
            text.push_str(" with ");
            text.push_str(&parts.join(", "));
        }
        if let Some(u) = get("user.name") {
            text.push_str(&format!(" by {u}"));
        }
        if let Some(h) = get("host.name") {
            text.push_str(&format!(" on {h}"));
        }
        format!("{text} created {severity} alert {name}.")
    }

    /// The severity, risk score and rule name for one event: the rule's,
    /// or what its `severity_mapping`, `risk_score_mapping` and
    /// `rule_name_override` take from the event, as Kibana does.
    fn overridden(&self, source: &dyn Fields) -> (String, Value, String) {
        let other = |key: &str| self.rule.extra(key);
        let mut severity = self.severity_text();
        let mut risk = self
            .rule
            .risk_score
            .as_ref()
            .map_or(Value::Null, |r| r.value.into());
        let mut name = self.rule_name().to_string();
        // Mappings in ascending severity; the last that matches wins, so the
        // highest matching severity is taken.
        if let Some(Value::Array(mappings)) = other("severity_mapping") {
            let rank = |m: &Value| match m.get("severity").and_then(Value::as_str) {
                Some("low") => 0,
                Some("medium") => 1,
                Some("high") => 2,
                _ => 3,
            };
            let mut sorted: Vec<&Value> = mappings.iter().collect();
            sorted.sort_by_key(|m| rank(m));
            for m in sorted {
                let field = m.get("field").and_then(Value::as_str).unwrap_or("");
                let wanted = m.get("value").and_then(scalar_text);
                let found = source.field(field);
                let values: Vec<String> = match found.as_deref() {
                    Some(Value::Array(items)) => items.iter().filter_map(scalar_text).collect(),
                    Some(v) => scalar_text(v).into_iter().collect(),
                    None => Vec::new(),
                };
                if wanted.is_some_and(|w| values.contains(&w)) {
                    if let Some(sev) = m.get("severity").and_then(Value::as_str) {
                        severity = sev.to_string();
                    }
                }
            }
        }
        if let Some(Value::Array(mappings)) = other("risk_score_mapping") {
            let field = mappings
                .first()
                .and_then(|m| m.get("field"))
                .and_then(Value::as_str);
            let found = field.and_then(|f| source.field(f)).and_then(|v| match &*v {
                Value::Array(items) => items.first().and_then(scalar_text),
                v => scalar_text(v),
            });
            if let Some(score) = found.and_then(|t| t.parse::<f64>().ok()) {
                if (0.0..=100.0).contains(&score) {
                    risk = serde_json::Number::from_f64(score).map_or(risk, |n| {
                        if score.fract() == 0.0 {
                            Value::from(score as i64)
                        } else {
                            Value::Number(n)
                        }
                    });
                }
            }
        }
        if let Some(Value::String(field)) = other("rule_name_override") {
            let found = source.field(&field).and_then(|v| match &*v {
                Value::Array(items) => items.first().and_then(scalar_text),
                v => scalar_text(v),
            });
            if let Some(n) = found.filter(|n| !n.is_empty()) {
                name = n;
            }
        }
        (severity, risk, name)
    }

    /// An event's overridden severity, risk score and name, and the reason
    /// that names them (read before its source moves into its alert).
    fn overrides(&self, source: &dyn Fields) -> Overrides {
        let (severity, risk, name) = self.overridden(source);
        let reason = self.reason(source, &severity, &name);
        Overrides {
            reason,
            severity,
            risk,
            name,
        }
    }
}

/// What [`Context::overrides`] found for one event.
struct Overrides {
    reason: String,
    severity: String,
    risk: Value,
    name: String,
}

/// An event alert's fields after its source's: its id, depth, ancestor,
/// and what the event's overrides give.
fn event_tail(uuid: &str, ancestor: Value, overrides: Overrides) -> Map<String, Value> {
    let mut tail = Map::with_capacity(16);
    tail.insert("kibana.alert.uuid".into(), uuid.into());
    tail.insert("kibana.alert.depth".into(), 1.into());
    tail.insert("kibana.alert.ancestors".into(), vec![ancestor].into());
    overrides.write(&mut tail);
    tail
}

/// Appends fields to a document without its closing brace, written as
/// `serde_json` writes them.
fn splice(own: &mut String, fields: &Map<String, Value>) {
    let text = serde_json::to_string(fields).unwrap_or_else(|_| "{}".into());
    if text.len() > 2 {
        own.push(',');
        own.push_str(&text[1..text.len() - 1]);
    }
}

thread_local! {
    /// Where this thread writes alert documents before they are copied
    /// out at their length.
    static SCRATCH: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// A document written by `write`, held at its length: written into this
/// thread's scratch buffer (which keeps its room for the next one, up to
/// 1 MiB), then copied out.
fn written(write: impl FnOnce(&mut String) -> Option<()>) -> Option<String> {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            buf.clear();
            let done = write(&mut buf).map(|()| buf.as_str().to_owned());
            if buf.capacity() > 1 << 20 {
                *buf = String::new();
            }
            done
        }
        Err(_) => {
            let mut buf = String::new();
            write(&mut buf).map(|()| buf)
        }
    })
}

/// A string as JSON text.
fn json_text(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

impl Overrides {
    /// Writes them into an alert.
    fn write(self, alert: &mut Map<String, Value>) {
        alert.insert("kibana.alert.reason".into(), self.reason.into());
        alert.insert("kibana.alert.severity".into(), self.severity.clone().into());
        alert.insert("kibana.alert.rule.severity".into(), self.severity.into());
        alert.insert("kibana.alert.risk_score".into(), self.risk.clone());
        alert.insert("kibana.alert.rule.risk_score".into(), self.risk);
        alert.insert("kibana.alert.rule.name".into(), self.name.into());
    }
}

/// Room an alert map is given beyond its source's members, for the
/// `kibana.*` keys added to it (so that it is not regrown as they come).
const EXTRA: usize = 32;

/// A field of a document by dotted path: a flat dotted key, through
/// objects, or any mix of the two.
pub fn lookup<'a>(source: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(v) = source.get(path) {
        return Some(v);
    }
    // Any prefix may be one dotted key (`"kibana.alert.threshold_result":
    // {"count": 3}`), the rest nested under it.
    path.match_indices('.')
        .find_map(|(i, _)| match source.get(&path[..i]) {
            Some(Value::Object(inner)) => lookup(inner, &path[i + 1..]),
            _ => None,
        })
}

/// The `kibana.alert.original_time` of a source whose `@timestamp` is
/// `timestamp`, rendered as Elasticsearch renders dates: Kibana reads it
/// from the source's `@timestamp` (the first value of an array; a string
/// as an ISO 8601 date or epoch milliseconds, a number as epoch
/// milliseconds), whatever the rule's `timestamp_override`, and writes none
/// when there is no valid one.
fn original_time(timestamp: Option<&Value>) -> Option<String> {
    let value = match timestamp? {
        Value::Array(items) => items.first()?,
        v => v,
    };
    let nanos = match value {
        Value::String(s) => date::parse_default(s)?.lo,
        Value::Number(n) => match n.as_i64() {
            Some(ms) => ms.checked_mul(1_000_000)?,
            None => {
                let ns = n.as_f64()? * 1e6;
                if !ns.is_finite() || ns.abs() >= i64::MAX as f64 {
                    return None;
                }
                ns as i64
            }
        },
        _ => return None,
    };
    Some(date::format_iso(nanos, false))
}

/// A scalar's text: strings as they are, numbers and booleans as written.
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The ancestor entry for a source event of this id and index.
fn ancestor(id: &str, index: Option<&str>) -> Value {
    let mut a = Map::new();
    a.insert("id".into(), id.into());
    a.insert("type".into(), "event".into());
    a.insert("index".into(), index.unwrap_or_default().into());
    a.insert("depth".into(), 0.into());
    Value::Object(a)
}

/// Whether Kibana strips a top-level source key from its alert: `kibana`,
/// `signal` and `threshold_result`, dotted or not.
fn stripped(key: &str) -> bool {
    let first = key.split('.').next().unwrap_or(key);
    matches!(first, "kibana" | "signal" | "threshold_result")
}

/// Where Kibana copies a top-level source key, dotted or not, besides
/// keeping it: `event.*` to `kibana.alert.original_event.*`,
/// `data_stream.*` to `kibana.alert.original_data_stream.*`.
fn copied_to(key: &str) -> Option<String> {
    let (first, rest) = key.split_at(key.find('.').unwrap_or(key.len()));
    let prefix = match first {
        "event" => "kibana.alert.original_event",
        "data_stream" => "kibana.alert.original_data_stream",
        _ => return None,
    };
    Some(format!("{prefix}{rest}"))
}

/// A field of a document by dotted path, as Kibana's robust get finds it
/// (a non-null value): the whole path as one key, else the first prefix
/// that holds a value, read further when that is an object.
fn robust_get<'a>(doc: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(v) = doc.get(path).filter(|v| !v.is_null()) {
        return Some(v);
    }
    for (at, _) in path.match_indices('.') {
        match doc.get(&path[..at]) {
            None | Some(Value::Null) => {}
            Some(Value::Object(inner)) => return robust_get(inner, &path[at + 1..]),
            Some(_) => return None,
        }
    }
    None
}

/// Whether Kibana may set a missing field at `path` of a document: the
/// first prefix that holds a value is an object, and the rest of the path
/// is valid in it.
fn path_valid(doc: &Map<String, Value>, path: &str) -> bool {
    let ends = path
        .match_indices('.')
        .map(|(at, _)| at)
        .chain([path.len()]);
    for end in ends {
        match doc.get(&path[..end]) {
            None | Some(Value::Null) => {}
            Some(Value::Object(inner)) => {
                return end == path.len() || path_valid(inner, &path[end + 1..])
            }
            Some(_) => return false,
        }
    }
    true
}

/// Sets a field by dotted path as Kibana's robust set does: inside the
/// first prefix that holds an object, else as the key itself when the
/// document has it, else through nested objects made on the way.
fn robust_set(doc: &mut Map<String, Value>, path: &str, value: Value) {
    for (at, _) in path.match_indices('.') {
        if let Some(Value::Object(inner)) = doc.get_mut(&path[..at]) {
            robust_set(inner, &path[at + 1..], value);
            return;
        }
    }
    if doc.contains_key(path) {
        doc.insert(path.to_string(), value);
        return;
    }
    let mut segments = path.split('.').peekable();
    let mut cur = doc;
    while let Some(segment) = segments.next() {
        if segments.peek().is_none() {
            cur.insert(segment.to_string(), value);
            return;
        }
        let next = cur
            .entry(segment.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !next.is_object() {
            *next = Value::Object(Map::new());
        }
        let Value::Object(inner) = next else {
            return;
        };
        cur = inner;
    }
}

/// How an alert's original time is found.
#[derive(Clone, Copy)]
enum Time {
    /// From its source's `@timestamp`.
    Source,
    /// The execution time (a shell's, whose source is its first building
    /// block, stamped with it).
    Execution,
}

/// `prefix.key` for every leaf of `object` (arrays are leaves).
fn flatten(prefix: &str, object: &Map<String, Value>, out: &mut Map<String, Value>) {
    for (k, v) in object {
        let key = format!("{prefix}.{k}");
        match v {
            Value::Object(inner) => flatten(&key, inner, out),
            _ => {
                out.insert(key, v.clone());
            }
        }
    }
}

/// The members two objects share ([`intersect`] of each key both have):
/// empty when there are none.
fn intersect_maps(x: &Map<String, Value>, y: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in x {
        if let Some(w) = y.get(k) {
            if let Some(common) = intersect(v, w) {
                out.insert(k.clone(), common);
            }
        }
    }
    out
}

/// The part of two documents they share: equal leaves, and objects whose
/// shared part is not empty.
fn intersect(a: &Value, b: &Value) -> Option<Value> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let out = intersect_maps(x, y);
            (!out.is_empty()).then_some(Value::Object(out))
        }
        _ => (a == b).then(|| a.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A rule whose overrides read event fields.
    fn rule() -> Rule {
        let text = r#"[metadata]
creation_date = "2026/01/01"

[rule]
author = ["ruleq"]
description = "Tests the alert paths."
name = "Alert paths"
risk_score = 47
rule_id = "00000000-0000-0000-0000-000000000001"
severity = "medium"
type = "eql"
language = "eql"
query = "sequence [network where true] [network where true]"
rule_name_override = "process.name"
severity_mapping = [
    {field = "host.os.type", operator = "equals", value = "linux", severity = "high"},
    {field = "event.type", operator = "equals", value = "start", severity = "low"},
]
risk_score_mapping = [{field = "source.port", operator = "equals", value = ""}]
"#;
        let file = crate::rule::files::load_bytes(
            "paths.toml".into(),
            crate::rule::Format::Toml,
            text.as_bytes().to_vec(),
        );
        file.rules.into_iter().next().expect("the rule loads")
    }

    /// Event texts that read back to other texts, or hold what a splice
    /// could get wrong.
    const ODD: [&str; 18] = [
        r#"{"@timestamp":"2026-01-01T00:00:00Z","event":{"kind":"event","a":{"b":1,"c":{}}},"kibana.alert.x":1,"_id":"i","_index":"x"}"#,
        r#"{"event":"flat","process":{"name":"n\"q\u0001é"},"source":{"port":12.5}}"#,
        r#"{"event":{"category":["network"],"kind":"event"},"x":[{"b":1,"a":2}],"n":-3}"#,
        r#"{"host":{"name":"h","os":{"type":"linux"}},"source":{"ip":"10.0.0.1","port":80}}"#,
        r#"{"a":1,"a":2,"event":{}}"#,
        r#"{"event":{"a.b":1,"a":{"b":2}}}"#,
        r#"{"process":{"name":"\/x"}}"#,
        r#"{"n":1.50,"event":{"kind":"x"}}"#,
        r#"{ "event": {"kind":"x"} }"#,
        r#"{"n":-0}"#,
        r#"{"@timestamp":"t","x":{}}"#,
        r#"{"@timestamp":"t","event":{"kind":"e"}}"#,
        r#"{"event":{"kind":"e","type":["start"]},"host.name":"flat","user":{"name":"u"}}"#,
        r#"{"source.port":99,"destination":{"ip":"::1","port":23},"process.name":""}"#,
        r#"{}"#,
        r#"{"event.kind":"alert","event.category":"x","signal":{"a":1},"event":{"b":2}}"#,
        r#"{"event":{"kind":null,"a":1},"kibana":{"b":2},"threshold_result":{"c":3}}"#,
        r#"{"data_stream":{"type":"logs","dataset":"d"},"event":{"kind":"k"}}"#,
    ];

    fn texts() -> Vec<String> {
        let mut out: Vec<String> = ODD.iter().map(|s| s.to_string()).collect();
        crate::gen::generate(300, 7, |line| out.push(line.to_string()));
        out
    }

    fn owned(i: usize, text: &str) -> OwnedSource {
        let mut source: Map<String, Value> = serde_json::from_str(text).unwrap_or_default();
        source.shift_remove("_id");
        source.shift_remove("_index");
        OwnedSource {
            id: format!("e{i}"),
            index: (i % 2 == 0).then(|| "logs".to_string()),
            source,
        }
    }

    fn text_of(i: usize, text: &str) -> SourceText<'_> {
        let o = owned(i, "{}");
        SourceText {
            id: o.id,
            index: o.index,
            text,
        }
    }

    #[test]
    fn alerts_written_from_event_text_equal_those_from_the_map() {
        let rule = rule();
        let ctx = Context::new(&rule, "2026-02-01T00:00:00.000Z".into());
        let texts = texts();
        let mut spliced = 0;
        for (i, text) in texts.iter().enumerate() {
            let from_map = ctx.event_alert_owned(owned(i, text));
            match ctx.event_alert_text(&text_of(i, text)) {
                Some(alert) => {
                    assert_eq!(alert, from_map, "{text}");
                    spliced += 1;
                }
                None => assert!(i < ODD.len(), "generated events are canonical: {text}"),
            }
        }
        // Of the odd texts, the five that are not canonical (a repeated
        // key, `\/`, `1.50`, spaces, `-0`), the dotted key inside `event`,
        // the `event` that is no object and the dotted `event.*` keys
        // take the map path.
        assert_eq!(spliced, texts.len() - 8);
    }

    #[test]
    fn sequence_alerts_written_from_event_text_equal_those_from_the_map() {
        let rule = rule();
        let ctx = Context::new(&rule, "2026-02-01T00:00:00.000Z".into());
        let texts = texts();
        let mut spliced = 0;
        for len in 1..=3 {
            for (i, group) in texts.windows(len).enumerate().step_by(len) {
                let maps = group
                    .iter()
                    .enumerate()
                    .map(|(j, t)| owned(i + j, t))
                    .collect();
                let from_map = ctx.sequence_alerts_owned(maps);
                let views: Vec<SourceText> = group
                    .iter()
                    .enumerate()
                    .map(|(j, t)| text_of(i + j, t))
                    .collect();
                if let Some(alerts) = ctx.sequence_alerts_text(&views) {
                    assert_eq!(alerts, from_map, "{group:?}");
                    spliced += 1;
                }
            }
        }
        assert!(spliced > 300, "{spliced}");
    }

    #[test]
    fn shared_fields_keep_only_equal_leaves() {
        let a = json!({"host": {"name": "h1", "os": {"type": "linux"}}, "process": {"pid": 1}});
        let b = json!({"host": {"name": "h1", "os": {"type": "windows"}}, "process": {"pid": 2}});
        assert_eq!(intersect(&a, &b), Some(json!({"host": {"name": "h1"}})));
    }

    #[test]
    fn original_event_fields_are_flat() {
        let mut out = Map::new();
        let e = json!({"category": ["network"], "action": "x", "a": {"b": 1}});
        flatten(
            "kibana.alert.original_event",
            e.as_object().unwrap(),
            &mut out,
        );
        assert_eq!(
            out["kibana.alert.original_event.category"],
            json!(["network"])
        );
        assert_eq!(out["kibana.alert.original_event.a.b"], json!(1));
    }
}
