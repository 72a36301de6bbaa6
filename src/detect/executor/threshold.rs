//! Threshold rules: the events of an execution's window that match the
//! KQL query are grouped by the `threshold.field`s; each group of at least
//! `threshold.value` events (and, with a cardinality condition, as many
//! distinct values of its field) is one alert. Kibana's
//! `rule_types/threshold/`.
//!
//! - Groups: an event counts once per value of each group field (an array
//!   gives the cartesian product across fields); an event lacking a group
//!   field (missing, null, `[]`) is in no group. Without group fields all
//!   events form one group, whose count stops at 10,000 (Elasticsearch's
//!   default total-hits count).
//! - Order: groups in ascending key order (the key tuple compared field by
//!   field: booleans `false` < `true`, then numbers by value, then strings
//!   by UTF-8 bytes), cut at `max_signals`.
//! - Signal history: once a group alerts with latest event time T, the
//!   events holding its values at or before T count no more, in any group
//!   (an entry is dropped once T is before an execution's window).

use super::{Cap, Executed, Execution, Executor};
use crate::alert::threshold::Group;
use crate::alert::{Alert, Context, Naming};
use crate::check::query::ParsedQuery;
use crate::detect::persist::RuleState;
use crate::diag::Diagnostic;
use crate::engine::Output;
use crate::syntax::kql;
use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

/// The executor of `threshold` rules.
pub struct Threshold;

/// Elasticsearch's default cap on a search's total-hits count, which is
/// the count of a threshold without group fields.
const TOTAL_HITS: u64 = 10_000;

impl Executor for Threshold {
    fn parse(&self, text: &str) -> Result<ParsedQuery, Diagnostic> {
        kql::parse(text).map(ParsedQuery::Kql)
    }

    fn takes(&self, query: &ParsedQuery) -> bool {
        matches!(query, ParsedQuery::Kql(_))
    }

    fn cap(&self) -> Cap {
        Cap::Alerts
    }

    fn alerts(&self, _: &Context, _: &Output, _: &Naming) -> (Option<i64>, Vec<Alert>) {
        (None, Vec::new())
    }

    fn windowed(&self) -> bool {
        true
    }

    fn execute(&self, run: &Execution, state: &mut RuleState) -> Executed {
        let rule = run.ctx.rule;
        let Some(threshold) = &rule.threshold else {
            return Executed::default();
        };
        let fields: Vec<&str> = threshold.field.iter().map(|f| f.value.as_str()).collect();
        let value = threshold.value.as_ref().map_or(1, |v| v.value).max(0) as u64;
        let cardinality = threshold
            .cardinality
            .first()
            .and_then(|c| Some((c.field.as_ref()?.value.as_str(), c.value.as_ref()?.value)));
        // History entries whose last event is before the window go.
        state.signal_history.retain(|_, (_, last)| *last > run.from);
        let mut groups: BTreeMap<Vec<Key>, Bucket> = BTreeMap::new();
        let mut total = 0u64;
        for out in &run.events {
            let Output::Event(hit) = out else { continue };
            let Some(time) = hit.timestamp else { continue };
            let Ok(source) = serde_json::from_slice::<Map<String, Value>>(&hit.source) else {
                continue;
            };
            let excluded = state.signal_history.values().any(|(terms, last)| {
                time <= *last
                    && terms
                        .iter()
                        .all(|(f, v)| values(&source, f).iter().any(|w| w == v))
            });
            if excluded {
                continue;
            }
            let distinct: Vec<String> = match cardinality {
                Some((field, _)) => values(&source, field)
                    .iter()
                    .map(|v| v.to_string())
                    .collect(),
                None => Vec::new(),
            };
            let keys = if fields.is_empty() {
                total += 1;
                if total > TOTAL_HITS {
                    continue;
                }
                vec![Vec::new()]
            } else {
                product(&source, &fields)
            };
            for key in keys {
                let b = groups.entry(key).or_insert_with(|| Bucket {
                    count: 0,
                    first: time,
                    last: time,
                    distinct: BTreeSet::new(),
                });
                b.count += 1;
                b.first = b.first.min(time);
                b.last = b.last.max(time);
                b.distinct.extend(distinct.iter().cloned());
            }
        }
        let qualifying: Vec<(Vec<Key>, Bucket)> = groups
            .into_iter()
            .filter(|(_, b)| {
                b.count >= value && cardinality.is_none_or(|(_, n)| b.distinct.len() as i64 >= n)
            })
            .collect();
        let cut = qualifying.len().saturating_sub(run.max_signals);
        let mut executed = Executed {
            alerts: Vec::new(),
            cut,
        };
        for (key, b) in qualifying.into_iter().take(run.max_signals) {
            let terms: Vec<(String, Value)> = fields
                .iter()
                .zip(key)
                .map(|(f, k)| (f.to_string(), k.0))
                .collect();
            let group = Group {
                terms: terms.clone(),
                count: b.count,
                cardinality: cardinality.map(|(f, _)| (f.to_string(), b.distinct.len() as u64)),
                first: b.first,
                last: b.last,
            };
            let alert = run.ctx.threshold_alert(&group, run.saved_object);
            let hash = serde_json::to_string(&group_key(&terms)).unwrap_or_default();
            let entry = state.signal_history.entry(hash).or_insert((terms, b.last));
            entry.1 = entry.1.max(b.last);
            executed.alerts.push((Some(b.last), vec![alert]));
        }
        executed
    }
}

/// A group's terms as one JSON value, the signal history's key.
fn group_key(terms: &[(String, Value)]) -> Value {
    terms
        .iter()
        .map(|(f, v)| Value::Array(vec![f.as_str().into(), v.clone()]))
        .collect()
}

/// One group's figures.
struct Bucket {
    count: u64,
    first: i64,
    last: i64,
    distinct: BTreeSet<String>,
}

/// A group field's value, ordered as the canonical group order says.
#[derive(Debug, Clone, PartialEq)]
struct Key(Value);

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        let rank = |v: &Value| match v {
            Value::Bool(_) => 0,
            Value::Number(_) => 1,
            _ => 2,
        };
        match (&self.0, &other.0) {
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::Number(a), Value::Number(b)) => {
                let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
                x.total_cmp(&y)
                    .then_with(|| a.to_string().cmp(&b.to_string()))
            }
            (Value::String(a), Value::String(b)) => a.as_bytes().cmp(b.as_bytes()),
            (a, b) => rank(a).cmp(&rank(b)),
        }
    }
}

/// The distinct scalar values of a field (array elements, nested arrays
/// flattened; null and objects are no values), in the order met.
fn values(source: &Map<String, Value>, field: &str) -> Vec<Value> {
    fn walk(v: &Value, out: &mut Vec<Value>) {
        match v {
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Null | Value::Object(_) => {}
            v => {
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
        }
    }
    let mut out = Vec::new();
    if let Some(v) = crate::alert::lookup(source, field) {
        walk(v, &mut out);
    }
    out
}

/// The groups an event is in: the cartesian product of its group fields'
/// values (none when a field has no value).
fn product(source: &Map<String, Value>, fields: &[&str]) -> Vec<Vec<Key>> {
    let mut out: Vec<Vec<Key>> = vec![Vec::new()];
    for field in fields {
        let vals = values(source, field);
        if vals.is_empty() {
            return Vec::new();
        }
        out = out
            .into_iter()
            .flat_map(|k| {
                vals.iter().map(move |v| {
                    let mut k = k.clone();
                    k.push(Key(v.clone()));
                    k
                })
            })
            .collect();
    }
    out
}
