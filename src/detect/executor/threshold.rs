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
//!   default total-hits count); its times and cardinality still cover
//!   every event (aggregations are not capped).
//! - Order: groups in ascending key order (the key tuple compared field by
//!   field: booleans `false` < `true`, then numbers by value, then strings
//!   by UTF-8 bytes), cut at `max_signals`.
//! - Signal history: once a group alerts with latest event time T, the
//!   events holding its values at or before T count no more, in any group
//!   (an entry is dropped once T is before an execution's window).
//! - Alert suppression (a duration only): each qualifying group (the first
//!   `max_signals`) is a candidate whose terms are its group's values and
//!   whose instance is its sorted values alone (so groups with the same
//!   values in other fields share one); a candidate whose instance has an
//!   alert open, created less than the duration before, updates it rather
//!   than writing a new one. The signal history takes every candidate,
//!   suppressed ones included (see [`crate::detect::suppress`]).

use super::{Executed, Execution, Executor};
use crate::alert::suppression::{instance_id, terms_value, threshold_alert_id};
use crate::alert::threshold::{js_text, threshold_uuid, Group};
use crate::detect::persist::Persist;
use crate::detect::suppress::{Candidate, Step, Suppression};
use crate::detect::window::{carried, Key, Memory, Record};
use crate::engine::{Kept, Origin};
use crate::rule::Rule;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The executor of `threshold` rules.
pub struct Threshold;

/// Elasticsearch's default cap on a search's total-hits count, which is
/// the count of a threshold without group fields.
const TOTAL_HITS: u64 = 10_000;

impl Executor for Threshold {
    fn windowed(&self) -> bool {
        true
    }

    fn carried(&self, rule: &Rule) -> Option<(Vec<String>, bool)> {
        // The group fields' values, then the cardinality field's, read as
        // each event is evaluated; alerts show no more of the event.
        let threshold = rule.threshold.as_ref()?;
        let mut fields: Vec<String> = threshold.field.iter().map(|f| f.value.clone()).collect();
        fields.extend(cardinality(rule).map(|(f, _)| f.to_string()));
        Some((fields, false))
    }

    fn record(&self, rule: &Rule, kept: &Kept) -> Option<Record> {
        let time = kept.hit.timestamp?;
        let n = rule.threshold.as_ref().map_or(0, |t| t.field.len());
        let values = (0..n).map(|j| carried(kept, j)).collect();
        let mut record = Record::new(time, kept.hit.origin.clone(), values);
        if cardinality(rule).is_some() {
            record.distinct = carried(kept, n).iter().map(|v| v.to_string()).collect();
        }
        Some(record)
    }

    fn execute(&self, run: &Execution, memory: &mut Memory, persist: &mut Persist) -> Executed {
        let ctx = (run.context)();
        let rule = ctx.rule;
        let Some(threshold) = &rule.threshold else {
            return Executed::default();
        };
        let fields: Vec<&str> = threshold.field.iter().map(|f| f.value.as_str()).collect();
        let value = threshold.value.as_ref().map_or(1, |v| v.value).max(0) as u64;
        let cardinality = cardinality(rule);
        // History entries whose last event is before the window go.
        let history = &mut memory.signal_history;
        history.retain(|_, (_, last)| *last >= run.from);
        let mut groups: BTreeMap<Vec<Key>, Bucket> = BTreeMap::new();
        for r in &run.window {
            let excluded = history.values().any(|(terms, last)| {
                r.time <= *last
                    && terms.iter().all(|(f, v)| {
                        let i = fields.iter().position(|g| g == f);
                        i.is_some_and(|i| r.values[i].contains(v))
                    })
            });
            if excluded {
                continue;
            }
            let keys = if fields.is_empty() {
                vec![Vec::new()]
            } else {
                r.combinations()
            };
            for key in keys {
                let key: Vec<Key> = key.into_iter().map(Key).collect();
                let b = groups.entry(key).or_insert_with(|| Bucket {
                    count: 0,
                    first: r.time,
                    last: r.time,
                    distinct: BTreeSet::new(),
                    events: Vec::new(),
                });
                if run.group_events {
                    b.events.push(r.origin.clone());
                }
                // Without group fields the count is the search's total
                // hits, which stop at TOTAL_HITS; the times and the
                // cardinality are aggregations over every event.
                if !fields.is_empty() || b.count < TOTAL_HITS {
                    b.count += 1;
                }
                b.first = b.first.min(r.time);
                b.last = b.last.max(r.time);
                b.distinct.extend(r.distinct.iter().cloned());
            }
        }
        let mut executed = Executed::default();
        let suppression = Suppression::of(rule);
        let max = crate::detect::max_signals(rule);
        let mut suppressible = Vec::new();
        for (key, b) in groups {
            let qualifies =
                b.count >= value && cardinality.is_none_or(|(_, n)| b.distinct.len() as i64 >= n);
            if !qualifies {
                continue;
            }
            if suppression.is_some() && suppressible.len() >= max {
                // Kibana keeps the first max_signals buckets.
                persist.left_out(1);
                continue;
            }
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
            let mut alert = ctx.threshold_alert(&group, run.saved_object);
            if suppression.is_some() {
                let values: Vec<String> = terms.iter().map(|(_, v)| js_text(v)).collect();
                let indices: Vec<&str> = rule.index.iter().map(|s| s.value.as_str()).collect();
                let hit_id =
                    threshold_uuid(ctx.rule.id().unwrap_or(""), &ctx.now, &fields, &values);
                if let Some(id) = threshold_alert_id(&indices.join(","), &hit_id, run.saved_object)
                {
                    alert = alert.with_uuid(&id);
                }
                let mut sorted: Vec<Value> = terms.iter().map(|(_, v)| v.clone()).collect();
                sorted.sort_by_key(|v| Key(v.clone()));
                let rule_id = rule.id().unwrap_or("");
                if run.group_events {
                    executed.groups.push((alert.uuid.clone(), b.events));
                }
                suppressible.push(Candidate {
                    alert,
                    time: Some(b.last),
                    terms: terms_value(&terms),
                    instance: instance_id(&Value::Array(sorted), rule_id, run.saved_object),
                    start: b.first,
                    end: b.last,
                    docs_count: 0,
                });
                // Every candidate enters the signal history.
                let hash = serde_json::to_string(&group_key(&terms)).unwrap_or_default();
                let entry = history.entry(hash).or_insert((terms, b.last));
                entry.1 = entry.1.max(b.last);
                continue;
            }
            if !persist.offer(alert.uuid.clone()) {
                continue;
            }
            let hash = serde_json::to_string(&group_key(&terms)).unwrap_or_default();
            let entry = history.entry(hash).or_insert((terms, b.last));
            entry.1 = entry.1.max(b.last);
            if run.group_events {
                executed.groups.push((alert.uuid.clone(), b.events));
            }
            executed.alerts.push((Some(b.last), vec![alert]));
        }
        if let Some(setup) = suppression {
            let step = Step {
                now: run.time,
                fixed: ctx.fixed().into(),
                duration: setup.duration,
                in_memory: true,
                limit: None,
            };
            memory.suppressed.execute(&step, suppressible, persist);
        }
        executed
    }
}

/// The rule's cardinality condition: its field and least distinct count.
fn cardinality(rule: &Rule) -> Option<(&str, i64)> {
    let threshold = rule.threshold.as_ref()?;
    threshold
        .cardinality
        .first()
        .and_then(|c| Some((c.field.as_ref()?.value.as_str(), c.value.as_ref()?.value)))
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
    /// Its events, when the execution keeps them (`ruleq test`).
    events: Vec<Origin>,
}
