//! Indicator match (`threat_match`) rules: the indicators they match
//! events against, which of them a rule selects at an execution, and the
//! `threat.enrichments` of its alerts.
//!
//! Kibana searches the rule's `threat_index` with its `threat_query`, its
//! `threat_filters`, the mapping's exists filter and the rule's
//! exceptions; an event matches when every entry of some mapping group
//! holds between it and one indicator. Offline, the indicators come from
//! files (`ruleq run --indicators FILE`), read in full before the events:
//! an indicator's `_index` decides which rules' `threat_index` patterns
//! search it (one without serves every rule), and its `_index` and `_id`
//! name it in the enrichments (else the path as given and `path:line`).
//!
//! Choices where Kibana leaves the outcome open (documented in the README):
//! - enrichments are ordered by indicator index, indicator id, mapping
//!   group, entry; Kibana's order follows its search's;
//! - negated (DOES NOT MATCH) entries add no enrichment: they matched no
//!   value;
//! - a multi-valued event field matches when any of its values does;
//!   a multi-valued indicator field makes its groups unusable for that
//!   indicator (Kibana's `match` path), except under a negated entry,
//!   which is then dropped;
//! - values compare as Elasticsearch's term queries do on the field
//!   types: exactly and case-sensitively, numbers by value (`8080` and
//!   `"8080"` are one), IP addresses by address, and an indicator value in
//!   CIDR form as the range it names.

use crate::alert::{self, Alert, Context, Naming};
use crate::compile::cidr::canonical_ip;
use crate::engine::{Hit, IndexPatterns, Kept, Origin, QueryOptions, RuleSetBuilder, Runner};
use crate::event::{EventSource, FileNames, Input, Item, Malformed, Reporter};
use crate::rule::Rule;
use ipnet::IpNet;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// At most this many enrichments per alert (Kibana's
/// `MAX_NUMBER_OF_SIGNAL_MATCHES`).
pub const MAX_ENRICHMENTS: usize = 200;

/// The indicator path of rules that name none.
pub const DEFAULT_INDICATOR_PATH: &str = "threat.indicator";

/// One indicator document.
#[derive(Debug, Clone)]
pub struct Indicator {
    /// Where it was read.
    pub origin: Origin,
    /// Its JSON text, as read (what the rules' `threat_query` sees).
    pub text: Arc<[u8]>,
    /// Its `_source`: the document without `_id` and `_index`.
    pub source: Map<String, Value>,
    /// Its `_id`, else `path:line` (as events are named).
    pub id: String,
    /// Its `_index`, else the path as given.
    pub index: String,
    /// Whether it came with an `_index` (one without is searched by every
    /// rule).
    pub indexed: bool,
}

/// The indicators read from `--indicators` files.
#[derive(Debug, Clone, Default)]
pub struct Indicators {
    /// The indicator files, in input order (what an origin's `file`
    /// indexes).
    pub files: Vec<PathBuf>,
    /// The indicators, in input order.
    pub docs: Vec<Indicator>,
    /// Indicator documents read, malformed ones included.
    pub read: u64,
    /// Of those, the malformed ones (each reported on stderr with its
    /// file and line).
    pub malformed: u64,
    /// Whether reading failed somewhere (reported on stderr).
    pub io_failed: bool,
    /// Indicators that replaced an earlier one with the same `_index` and
    /// `_id` (as indexing a document again replaces it).
    pub replaced: u64,
}

impl Indicators {
    /// Reads the indicators of `inputs` (anything `ruleq run` reads:
    /// NDJSON, arrays, concatenated or pretty-printed JSON, compressed).
    /// Malformed documents are reported with their file and line, counted,
    /// and skipped; a file that cannot be opened is an error.
    pub fn read(inputs: &[Input]) -> std::io::Result<Indicators> {
        let mut source = EventSource::new(inputs)?;
        let names = FileNames::new(inputs);
        let mut reporter = Reporter::default();
        let mut out = Indicators::default();
        // Where each (`_index`, `_id`) given is held.
        let mut named: HashMap<(String, String), usize> = HashMap::new();
        while let Some(item) = source.next_item() {
            match item {
                Ok(Item::Event(raw)) => {
                    out.read += 1;
                    let origin = Origin {
                        file: raw.file,
                        line: raw.pos.number(),
                    };
                    let mut doc: Map<String, Value> = match serde_json::from_slice(raw.bytes) {
                        Ok(Value::Object(doc)) => doc,
                        Ok(_) => {
                            out.malformed += 1;
                            reporter.report(&Malformed::new(&raw, &"not a JSON object"));
                            continue;
                        }
                        Err(e) => {
                            out.malformed += 1;
                            reporter.report(&Malformed::new(&raw, &e));
                            continue;
                        }
                    };
                    let name = names.name(raw.path);
                    let text: Arc<[u8]> = Arc::from(raw.bytes);
                    let (id, has_id) = match doc.shift_remove("_id") {
                        Some(Value::String(s)) => (s, true),
                        Some(other @ Value::Number(_)) => (other.to_string(), true),
                        _ => (format!("{name}:{}", origin.line), false),
                    };
                    let (index, indexed) = match doc.shift_remove("_index") {
                        Some(Value::String(s)) => (s, true),
                        _ => (raw.path.display().to_string(), false),
                    };
                    let indicator = Indicator {
                        origin,
                        text,
                        source: doc,
                        id,
                        index,
                        indexed,
                    };
                    // One index holds one document per id: a later one
                    // with the same `_index` and `_id` replaces it.
                    if indexed && has_id {
                        let key = (indicator.index.clone(), indicator.id.clone());
                        if let Some(&at) = named.get(&key) {
                            out.docs[at] = indicator;
                            out.replaced += 1;
                            continue;
                        }
                        named.insert(key, out.docs.len());
                    }
                    out.docs.push(indicator);
                }
                Ok(Item::Malformed(m)) => {
                    out.read += 1;
                    out.malformed += 1;
                    reporter.report(&m);
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    out.io_failed = true;
                }
            }
        }
        reporter.finish();
        out.files = source.files();
        Ok(out)
    }
}

/// A value as a term query compares it: numbers by value, IP addresses by
/// address, everything else by its exact text.
fn term(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(match s.parse::<IpAddr>() {
            Ok(ip) => canonical_ip(ip),
            Err(_) => match s.parse::<i64>() {
                Ok(n) if n.to_string() == *s => n.to_string(),
                _ => s.clone(),
            },
        }),
        Value::Number(n) => Some(match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => (f as i64).to_string(),
            _ => n.to_string(),
        }),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The leaf values of a field (arrays flattened).
fn leaves<'a>(v: Option<&'a Value>, out: &mut Vec<&'a Value>) {
    match v {
        Some(Value::Array(items)) => {
            for item in items {
                leaves(Some(item), out);
            }
        }
        Some(Value::Null) | None => {}
        Some(other) => out.push(other),
    }
}

/// What an event's field holds, as terms and addresses.
struct EventValues {
    terms: Vec<String>,
    ips: Vec<IpAddr>,
}

impl EventValues {
    fn of(source: &Map<String, Value>, field: &str) -> EventValues {
        let mut found = Vec::new();
        leaves(alert::lookup(source, field), &mut found);
        let terms: Vec<String> = found.iter().filter_map(|v| term(v)).collect();
        let ips = found
            .iter()
            .filter_map(|v| v.as_str()?.parse::<IpAddr>().ok())
            .collect();
        EventValues { terms, ips }
    }

    fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether some value matches an indicator's value.
    fn matches(&self, v: &IndicatorValue) -> bool {
        match v {
            IndicatorValue::Term(t) => self.terms.iter().any(|e| e == t),
            IndicatorValue::Net(net) => self.ips.iter().any(|ip| net.contains(ip)),
        }
    }
}

/// One indicator's single value for a mapping entry.
#[derive(Debug, Clone)]
enum IndicatorValue {
    Term(String),
    Net(IpNet),
}

/// What an indicator holds in an entry's indicator field.
#[derive(Debug, Clone)]
enum Held {
    Missing,
    One(IndicatorValue),
    Many,
}

fn held(source: &Map<String, Value>, field: &str) -> Held {
    let mut found = Vec::new();
    leaves(alert::lookup(source, field), &mut found);
    match found.as_slice() {
        [] => Held::Missing,
        [one] => {
            if let Some(net) = one
                .as_str()
                .filter(|s| s.contains('/'))
                .and_then(|s| s.parse::<IpNet>().ok())
            {
                return Held::One(IndicatorValue::Net(net));
            }
            match term(one) {
                Some(t) => Held::One(IndicatorValue::Term(t)),
                None => Held::Missing,
            }
        }
        _ => Held::Many,
    }
}

/// One mapping entry: the event's `field` against the indicator's `value`.
#[derive(Debug, Clone)]
struct Entry {
    field: String,
    value: String,
    negate: bool,
}

/// A matcher built: (the execution time it was built for, or `None` for a
/// rule without date math; the compiled query, printed; the matcher).
type Cached = (Option<i64>, String, Arc<Matcher>);

/// A threat_match rule as its executions need it.
#[derive(Debug)]
pub struct ThreatRule {
    /// The rule's `threat_query` (KQL).
    query: crate::syntax::kql::Query,
    /// Whether the query holds date math (then the indicators it selects
    /// depend on the execution time).
    dynamic: bool,
    /// `threat_filters`, the mapping's exists filter and the rule's
    /// exceptions, as Kibana filter objects.
    filters: Vec<Value>,
    /// `threat_index`.
    patterns: Vec<String>,
    groups: Vec<Vec<Entry>>,
    /// Each group's first matching entry's event field, without repeats.
    leads: Vec<String>,
    path: String,
    /// The matchers built so far: (execution time it was built for, or
    /// `None` for a rule without date math; the compiled query, printed;
    /// the matcher).
    cache: Mutex<Vec<Cached>>,
    /// The first execution time at which the query's date math left no
    /// indicator, though some were searched.
    emptied: Mutex<Option<i64>>,
}

impl ThreatRule {
    /// The parts of `rule` its indicator selection and matching need, with
    /// its exceptions' filter (`exceptions`, a Kibana filter object); `None`
    /// for a rule of another type.
    pub fn of(rule: &Rule, exceptions: Option<Value>) -> Option<Result<ThreatRule, String>> {
        if rule.rule_type.as_ref().map(|t| t.value) != Some(crate::rule::RuleType::ThreatMatch) {
            return None;
        }
        Some(ThreatRule::build(rule, exceptions))
    }

    fn build(rule: &Rule, exceptions: Option<Value>) -> Result<ThreatRule, String> {
        let text = rule
            .threat_query
            .as_ref()
            .map(|q| q.text.as_str())
            .unwrap_or("*");
        let query = crate::syntax::kql::parse(text)
            .map_err(|e| format!("threat_query does not parse: {}", e.message))?;
        let groups: Vec<Vec<Entry>> = rule
            .threat_mapping
            .iter()
            .map(|g| {
                g.entries
                    .iter()
                    .filter_map(|e| {
                        Some(Entry {
                            field: e.field.as_ref()?.value.clone(),
                            value: e.value.as_ref()?.value.clone(),
                            negate: e.negate.as_ref().is_some_and(|n| n.value),
                        })
                    })
                    .collect::<Vec<_>>()
            })
            .filter(|g| g.iter().any(|e| !e.negate))
            .collect();
        let mut filters = match rule.extra("threat_filters") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        };
        // Kibana's indicator mapping filter: some group whose matching
        // entries' indicator fields all exist.
        filters.push(exists_filter(&groups, |e| &e.value));
        filters.extend(exceptions);
        let mut leads: Vec<String> = Vec::new();
        for g in &groups {
            if let Some(e) = g.iter().find(|e| !e.negate) {
                if !leads.contains(&e.field) {
                    leads.push(e.field.clone());
                }
            }
        }
        Ok(ThreatRule {
            leads,
            dynamic: text.to_ascii_lowercase().contains("now"),
            query,
            filters,
            patterns: rule.threat_index.iter().map(|p| p.value.clone()).collect(),
            groups,
            path: rule
                .threat_indicator_path
                .as_ref()
                .map_or(DEFAULT_INDICATOR_PATH.to_string(), |p| p.value.clone()),
            cache: Mutex::new(Vec::new()),
            emptied: Mutex::new(None),
        })
    }

    /// Kibana's event mapping filter, which candidate events must pass:
    /// some group whose matching entries' event fields all exist.
    pub fn event_filter(&self) -> Value {
        exists_filter(&self.groups, |e| &e.field)
    }

    /// The event fields a match is looked up by (each group's first
    /// matching entry's), without repeats: an event holding none of the
    /// selected indicators' values in them matches no indicator
    /// ([`Matcher::may_match`]).
    pub fn lead_fields(&self) -> &[String] {
        &self.leads
    }

    /// `threat_index`, as the run's notes name it.
    pub fn threat_index(&self) -> String {
        self.patterns.join(", ")
    }

    /// The first execution time at which the `threat_query`'s date math
    /// left no indicator though some were searched (replaying old data at
    /// today's clock).
    pub fn emptied_at(&self) -> Option<i64> {
        *self.emptied.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The indicators of `all` this rule's `threat_index` searches (those
    /// with an `_index` it matches, and those without one).
    pub fn searched(&self, all: &Indicators) -> usize {
        let patterns = IndexPatterns::new(self.patterns.iter().map(String::as_str));
        all.docs
            .iter()
            .filter(|d| !d.indexed || patterns.matches(&d.index))
            .count()
    }

    /// The matcher of the indicators this rule selects at an execution at
    /// `now` (nanoseconds since the epoch), built once per distinct
    /// selection: the query is compiled at `now`, and a compiled query
    /// met before (date math rounded to the same bounds) reuses its
    /// selection.
    pub fn matcher(&self, all: &Indicators, now: i64) -> Arc<Matcher> {
        let key = self.dynamic.then_some(now);
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, _, m)) = cache.iter().find(|(k, _, _)| *k == key) {
            return Arc::clone(m);
        }
        let options = QueryOptions {
            now,
            ..QueryOptions::default()
        };
        let mut builder = RuleSetBuilder::new(None);
        let compiled = builder.add_kql(&self.query, &options).ok().and_then(|q| {
            let filters = builder.kibana_filters(&self.filters).ok()?;
            builder.set_filters(q, filters);
            let patterns = IndexPatterns::new(self.patterns.iter().map(String::as_str));
            builder.restrict(q, patterns);
            Some(builder.finish())
        });
        let plan = compiled
            .as_ref()
            .map(|set| format!("{:?}", set.queries[0].plan))
            .unwrap_or_default();
        if let Some((_, _, m)) = cache.iter().find(|(_, p, _)| *p == plan) {
            let m = Arc::clone(m);
            cache.push((key, plan, Arc::clone(&m)));
            return m;
        }
        let selected = compiled.map(|set| select(&set, all)).unwrap_or_default();
        if self.dynamic && selected.is_empty() && self.searched(all) > 0 {
            let mut emptied = self.emptied.lock().unwrap_or_else(|e| e.into_inner());
            emptied.get_or_insert(now);
        }
        let m = Arc::new(Matcher::new(self, all, selected));
        if cache.len() > 256 {
            cache.remove(0);
        }
        cache.push((key, plan, Arc::clone(&m)));
        m
    }

    /// Whether some indicator `matcher` holds matches the event (read, not
    /// alerted on: a suppressed rule's group alerts on its earliest event
    /// only).
    pub fn matches(&self, hit: &Hit, matcher: &Matcher) -> bool {
        let source: Map<String, Value> = serde_json::from_slice(&hit.source).unwrap_or_default();
        !matcher.enrich(&source).is_empty()
    }

    /// The alert of a matching event, its enrichments appended to its
    /// `threat.enrichments`, or `None` when no indicator `matcher` holds
    /// matches it. With the rule's saved-object id, the alert id is
    /// Kibana's (the event's index, `_id`, version and space).
    pub fn alert(
        &self,
        ctx: &Context,
        hit: &Hit,
        naming: &Naming,
        matcher: &Matcher,
        saved_object: Option<&str>,
    ) -> Option<Alert> {
        let mut event = alert::read_event(hit, naming);
        let enrichments = matcher.enrich(&event.source);
        if enrichments.is_empty() {
            return None;
        }
        append_enrichments(&mut event.source, enrichments);
        let kibana_id = saved_object.map(|so| {
            let index = event.index.as_deref().unwrap_or("");
            alert::threshold::kibana_alert_id(index, &event.id, "default", so)
        });
        let alert = ctx.event_alert_owned(event);
        Some(match kibana_id {
            Some(id) => alert.with_uuid(&id),
            None => alert,
        })
    }
}

/// The indicators of `all` that `set`'s one query (a rule's selection)
/// keeps.
fn select(set: &crate::engine::RuleSet, all: &Indicators) -> Vec<u32> {
    let mut runner = Runner::new(set);
    let mut out: Vec<(usize, Kept)> = Vec::new();
    let mut selected = Vec::new();
    for (k, doc) in all.docs.iter().enumerate() {
        out.clear();
        if runner
            .evaluate(&doc.origin, k as u64, &doc.text, &mut out)
            .is_ok()
            && !out.is_empty()
        {
            selected.push(k as u32);
        }
    }
    selected
}

/// A Kibana filter: some group whose matching entries' fields (as `field`
/// picks them) all exist.
fn exists_filter(groups: &[Vec<Entry>], field: impl Fn(&Entry) -> &String) -> Value {
    let should: Vec<Value> = groups
        .iter()
        .map(|g| {
            let all: Vec<Value> = g
                .iter()
                .filter(|e| !e.negate)
                .map(|e| json!({"exists": {"field": field(e)}}))
                .collect();
            json!({"bool": {"filter": all}})
        })
        .collect();
    json!({"query": {"bool": {"should": should, "minimum_should_match": 1}}})
}

/// Appends `enrichments` to the source's `threat.enrichments` (kept when
/// there: an object becomes the first element).
fn append_enrichments(source: &mut Map<String, Value>, enrichments: Vec<Value>) {
    // A source that writes the field dotted keeps it dotted.
    if let Some(v) = source.get_mut("threat.enrichments") {
        push_all(v, enrichments);
        return;
    }
    let threat = source
        .entry("threat")
        .or_insert_with(|| Value::Object(Map::new()));
    if !threat.is_object() {
        *threat = Value::Object(Map::new());
    }
    if let Value::Object(t) = threat {
        let list = t
            .entry("enrichments")
            .or_insert_with(|| Value::Array(Vec::new()));
        push_all(list, enrichments);
    }
}

fn push_all(list: &mut Value, more: Vec<Value>) {
    match list {
        Value::Array(items) => items.extend(more),
        other => {
            let first = std::mem::take(other);
            let mut items = if first.is_null() { vec![] } else { vec![first] };
            items.extend(more);
            *other = Value::Array(items);
        }
    }
}

/// One group's lookup: the indicators by the value of the group's first
/// matching entry.
#[derive(Debug)]
struct GroupIndex {
    /// The entry looked up.
    lead: usize,
    terms: HashMap<String, Vec<u32>>,
    nets: Vec<(IpNet, u32)>,
}

/// The indicators a rule selected, indexed for matching events.
#[derive(Debug)]
pub struct Matcher {
    /// The selected indicators (places in [`Indicators::docs`]).
    selected: Vec<u32>,
    /// Per selected indicator (in `selected`'s order), per group, per
    /// entry: what the indicator holds.
    held: Vec<Vec<Vec<Held>>>,
    groups: Vec<(Vec<Entry>, GroupIndex)>,
    /// Per selected indicator: its enrichment's fixed parts (feed, the
    /// indicator object, id and index).
    fixed: Vec<(Value, Value, String, String)>,
}

impl Matcher {
    fn new(rule: &ThreatRule, all: &Indicators, selected: Vec<u32>) -> Matcher {
        let mut held_all = Vec::with_capacity(selected.len());
        let mut fixed = Vec::with_capacity(selected.len());
        for &k in &selected {
            let doc = &all.docs[k as usize];
            held_all.push(
                rule.groups
                    .iter()
                    .map(|g| g.iter().map(|e| held(&doc.source, &e.value)).collect())
                    .collect::<Vec<Vec<Held>>>(),
            );
            let feed = match alert::lookup(&doc.source, "threat.feed.name") {
                Some(name) if !name.is_null() => json!({ "name": name }),
                _ => json!({}),
            };
            let indicator = match alert::lookup(&doc.source, &rule.path) {
                Some(Value::Object(o)) => Value::Object(o.clone()),
                Some(Value::Array(items)) => items
                    .iter()
                    .find(|v| v.is_object())
                    .cloned()
                    .unwrap_or_else(|| json!({})),
                _ => json!({}),
            };
            fixed.push((feed, indicator, doc.id.clone(), doc.index.clone()));
        }
        let groups = rule
            .groups
            .iter()
            .enumerate()
            .map(|(g, entries)| {
                let lead = entries.iter().position(|e| !e.negate).unwrap_or(0);
                let mut index = GroupIndex {
                    lead,
                    terms: HashMap::new(),
                    nets: Vec::new(),
                };
                for (pos, h) in held_all.iter().enumerate() {
                    match &h[g][lead] {
                        Held::One(IndicatorValue::Term(t)) => {
                            index.terms.entry(t.clone()).or_default().push(pos as u32)
                        }
                        Held::One(IndicatorValue::Net(n)) => index.nets.push((*n, pos as u32)),
                        _ => {}
                    }
                }
                (entries.clone(), index)
            })
            .collect();
        Matcher {
            selected,
            held: held_all,
            groups,
            fixed,
        }
    }

    /// Whether an event whose [lead fields](ThreatRule::lead_fields) hold
    /// `values` (one list per field, in that order) may match: some value
    /// is a selected indicator's value of a group it leads. `false` means
    /// no indicator matches the event, without reading it whole.
    pub fn may_match(&self, lead_fields: &[String], values: &[Vec<Value>]) -> bool {
        self.groups.iter().any(|(entries, index)| {
            let field = &entries[index.lead].field;
            let Some(at) = lead_fields.iter().position(|f| f == field) else {
                return true;
            };
            let vals = values.get(at).map_or(&[][..], Vec::as_slice);
            vals.iter().any(|v| {
                term(v).is_some_and(|t| index.terms.contains_key(&t))
                    || (!index.nets.is_empty()
                        && v.as_str()
                            .and_then(|s| s.parse::<IpAddr>().ok())
                            .is_some_and(|ip| index.nets.iter().any(|(n, _)| n.contains(&ip))))
            })
        })
    }

    /// How many indicators the rule selected.
    pub fn len(&self) -> usize {
        self.selected.len()
    }

    /// Whether the rule selected no indicator.
    pub fn is_empty(&self) -> bool {
        self.selected.is_empty()
    }

    /// The enrichments of an event (its `_source`): one per indicator and
    /// matching entry of each group the indicator satisfies whole, in the
    /// canonical order, at most [`MAX_ENRICHMENTS`]. Empty: no match.
    pub fn enrich(&self, source: &Map<String, Value>) -> Vec<Value> {
        // (indicator, group, entry) of every matching entry.
        let mut found: Vec<(u32, usize, usize)> = Vec::new();
        let mut values: HashMap<&str, EventValues> = HashMap::new();
        for (g, (entries, index)) in self.groups.iter().enumerate() {
            let lead_field = entries[index.lead].field.as_str();
            let lead = values
                .entry(lead_field)
                .or_insert_with(|| EventValues::of(source, lead_field));
            if lead.is_empty() {
                continue;
            }
            let mut candidates: Vec<u32> = lead
                .terms
                .iter()
                .filter_map(|t| index.terms.get(t))
                .flatten()
                .copied()
                .collect();
            for (net, pos) in &index.nets {
                if lead.ips.iter().any(|ip| net.contains(ip)) {
                    candidates.push(*pos);
                }
            }
            candidates.sort_unstable();
            candidates.dedup();
            for pos in candidates {
                let held = &self.held[pos as usize][g];
                let mut all = true;
                for (e, entry) in entries.iter().enumerate() {
                    let ev = values
                        .entry(entry.field.as_str())
                        .or_insert_with(|| EventValues::of(source, &entry.field));
                    let holds = match (&held[e], entry.negate) {
                        (Held::One(v), false) => ev.matches(v),
                        (_, false) => false,
                        (Held::Missing, true) => !ev.is_empty(),
                        (Held::One(v), true) => !ev.matches(v),
                        (Held::Many, true) => true,
                    };
                    if !holds {
                        all = false;
                        break;
                    }
                }
                if all {
                    for (e, entry) in entries.iter().enumerate() {
                        if !entry.negate {
                            found.push((pos, g, e));
                        }
                    }
                }
            }
        }
        if found.is_empty() {
            return Vec::new();
        }
        // Canonical order: indicator index, indicator id, group, entry; one
        // element per indicator and pair of fields.
        found.sort_by(|a, b| {
            let (fa, fb) = (&self.fixed[a.0 as usize], &self.fixed[b.0 as usize]);
            (&fa.3, &fa.2, a.0, a.1, a.2).cmp(&(&fb.3, &fb.2, b.0, b.1, b.2))
        });
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for (pos, g, e) in found {
            let entry = &self.groups[g].0[e];
            if !seen.insert((pos, entry.field.as_str(), entry.value.as_str())) {
                continue;
            }
            if out.len() == MAX_ENRICHMENTS {
                break;
            }
            let (feed, indicator, id, index) = &self.fixed[pos as usize];
            let atomic = alert::lookup(source, &entry.field)
                .cloned()
                .unwrap_or(Value::Null);
            out.push(json!({
                "feed": feed,
                "indicator": indicator,
                "matched": {
                    "atomic": atomic,
                    "field": entry.field,
                    "id": id,
                    "index": index,
                    "type": "indicator_match_rule",
                }
            }));
        }
        out
    }
}
