//! Alert documents shaped like Kibana's `.alerts-security.alerts-*`
//! documents: the source event's own fields, `event.kind: "signal"`, and
//! flat dotted `kibana.alert.*` keys carrying the rule's metadata.
//!
//! An EQL sequence gives one building-block alert per event plus one shell
//! alert holding the fields every event of the sequence shares, linked by
//! `kibana.alert.group.id`, as Kibana's EQL executor writes them.

use crate::rule::{Rule, RuleType, Spanned};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

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
    /// The event time as Elasticsearch renders it, when the event has one.
    pub time: Option<String>,
}

/// A source event given up to its alerts: a [`SourceEvent`] that owns its
/// source object, whose members then move into the alert documents.
#[derive(Debug, Clone)]
pub struct OwnedSource {
    /// As [`SourceEvent::id`].
    pub id: String,
    /// As [`SourceEvent::index`].
    pub index: Option<String>,
    /// As [`SourceEvent::time`].
    pub time: Option<String>,
    /// The event's `_source` object.
    pub source: Map<String, Value>,
}

impl OwnedSource {
    /// A copy of a borrowed source event.
    pub fn copied(event: &SourceEvent) -> Self {
        OwnedSource {
            id: event.id.clone(),
            index: event.index.clone(),
            time: event.time.clone(),
            source: event.source.clone(),
        }
    }

    fn view(&self) -> SourceEvent<'_> {
        SourceEvent {
            id: self.id.clone(),
            index: self.index.clone(),
            source: &self.source,
            time: self.time.clone(),
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
    pub fn event_alert_owned(&self, event: OwnedSource) -> Alert {
        let uuid = digest(&["event", self.rule_id(), &event.id]);
        let ancestor = ancestor(&event.view());
        let overrides = self.overrides(&event.source);
        let mut alert = self.base(event.source, event.time);
        alert.insert("kibana.alert.uuid".into(), uuid.into());
        alert.insert("kibana.alert.depth".into(), 1.into());
        alert.insert("kibana.alert.ancestors".into(), vec![ancestor].into());
        overrides.write(&mut alert);
        self.finish(&alert)
    }

    /// The alerts of one EQL sequence: a building block per event, in
    /// stage order, then the shell alert.
    pub fn sequence_alerts(&self, events: &[SourceEvent]) -> Vec<Alert> {
        self.sequence_alerts_owned(events.iter().map(OwnedSource::copied).collect())
    }

    /// [`Context::sequence_alerts`] for events whose source objects the
    /// caller gives up: their members move into the building blocks
    /// instead of being copied (the same documents).
    pub fn sequence_alerts_owned(&self, events: Vec<OwnedSource>) -> Vec<Alert> {
        let mut ids: Vec<&str> = vec!["sequence", self.rule_id()];
        ids.extend(events.iter().map(|e| e.id.as_str()));
        let group = digest(&ids);
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
        let first_time = events.first().and_then(|e| e.time.clone());
        let mut out = Vec::with_capacity(events.len() + 1);
        let mut ancestors = Vec::new();
        for (i, event) in events.into_iter().enumerate() {
            let uuid = digest(&["building-block", &group, &i.to_string()]);
            let source_ancestor = ancestor(&event.view());
            let overrides = self.overrides(&event.source);
            let mut alert = self.base(event.source, event.time);
            alert.insert("kibana.alert.uuid".into(), uuid.clone().into());
            alert.insert("kibana.alert.depth".into(), 1.into());
            alert.insert(
                "kibana.alert.ancestors".into(),
                vec![source_ancestor.clone()].into(),
            );
            overrides.write(&mut alert);
            alert.insert("kibana.alert.building_block_type".into(), "default".into());
            alert.insert("kibana.alert.group.id".into(), group.clone().into());
            alert.insert("kibana.alert.group.index".into(), i.into());
            ancestors.push(source_ancestor);
            let mut own = Map::new();
            own.insert("id".into(), uuid.into());
            own.insert("type".into(), "signal".into());
            own.insert("index".into(), "".into());
            own.insert("depth".into(), 1.into());
            own.insert("rule".into(), self.rule_id().into());
            ancestors.push(Value::Object(own));
            out.push(self.finish(&alert));
        }
        // The shell: the fields every event shares, and the group.
        let mut shell = Map::new();
        shell.insert("@timestamp".into(), self.now.clone().into());
        for (k, v) in shared.iter().filter(|(k, _)| !k.starts_with("kibana.")) {
            shell.insert(k.clone(), v.clone());
        }
        shell.insert("event".into(), event_object(shared.get("event")));
        // The rule's own values: overrides apply to the building blocks.
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
        if let Some(t) = first_time {
            shell.insert("kibana.alert.original_time".into(), t.into());
        }
        shell.insert(
            "kibana.alert.uuid".into(),
            digest(&["shell", &group]).into(),
        );
        shell.insert("kibana.alert.depth".into(), 2.into());
        shell.insert("kibana.alert.ancestors".into(), ancestors.into());
        let reason = self.reason(&shared, &self.severity_text(), self.rule_name());
        shell.insert("kibana.alert.reason".into(), reason.into());
        shell.insert("kibana.alert.group.id".into(), group.into());
        out.push(self.finish(&shell));
        out
    }

    /// The source fields (moved), `event.kind: "signal"`, the original
    /// event's fields and its time.
    fn base(&self, source: Map<String, Value>, time: Option<String>) -> Map<String, Value> {
        let mut alert = Map::with_capacity(source.len() + EXTRA);
        alert.insert("@timestamp".into(), self.now.clone().into());
        let event = event_object(source.get("event"));
        let mut flat = Map::new();
        if let Some(Value::Object(original)) = source.get("event") {
            flatten("kibana.alert.original_event", original, &mut flat);
        }
        for (k, v) in source {
            if k == "@timestamp" || k.starts_with("kibana.") {
                continue;
            }
            alert.insert(k, v);
        }
        alert.extend(flat);
        alert.insert("event".into(), event);
        if let Some(t) = time {
            alert.insert("kibana.alert.original_time".into(), t.into());
        }
        alert
    }

    /// Kibana's reason sentence: what the event was, who and where, and
    /// which alert it raised.
    fn reason(&self, source: &Map<String, Value>, severity: &str, name: &str) -> String {
        let get = |path: &str| -> Option<String> {
            let mut v = lookup(source, path)?;
            if let Value::Array(items) = v {
                v = items.first()?;
            }
            scalar_text(v)
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
    fn overridden(&self, source: &Map<String, Value>) -> (String, Value, String) {
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
                let found = lookup(source, field);
                let values: Vec<String> = match found {
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
            let found = field.and_then(|f| lookup(source, f)).and_then(|v| match v {
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
            let found = lookup(source, &field).and_then(|v| match v {
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
    fn overrides(&self, source: &Map<String, Value>) -> Overrides {
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

/// A field of a document by dotted path: a flat dotted key, or through
/// objects.
pub fn lookup<'a>(source: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(v) = source.get(path) {
        return Some(v);
    }
    let mut cur = source;
    let mut parts = path.split('.').peekable();
    while let Some(p) = parts.next() {
        let next = cur.get(p)?;
        if parts.peek().is_none() {
            return Some(next);
        }
        cur = next.as_object()?;
    }
    None
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

/// The ancestor entry for a source event.
fn ancestor(event: &SourceEvent) -> Value {
    let mut a = Map::new();
    a.insert("id".into(), event.id.clone().into());
    a.insert("type".into(), "event".into());
    a.insert(
        "index".into(),
        event.index.clone().unwrap_or_default().into(),
    );
    a.insert("depth".into(), 0.into());
    Value::Object(a)
}

/// The alert's `event` object: the source's, with `kind: "signal"`.
fn event_object(source: Option<&Value>) -> Value {
    let mut e = match source {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    e.insert("kind".into(), "signal".into());
    Value::Object(e)
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
