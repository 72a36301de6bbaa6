//! New terms rules: an execution alerts on each value (or combination of
//! the values of 2-3 `new_terms_fields`) that events of its window hold
//! and no event of its history window did. Kibana's
//! `rule_types/new_terms/`.
//!
//! - Terms: an event holds the cartesian product of its fields' values
//!   (arrays expanded); an event missing a field holds none.
//! - New: no event matching the query and filters holds the term in
//!   `[history start, window start]`, both ends included (an event exactly
//!   at the window's start makes the term old). The history start is
//!   `history_window_start` counted from the window's end.
//! - Alert: built from the earliest window event holding the term (ties in
//!   input order), with `kibana.alert.new_terms`; one event may give
//!   several alerts.
//! - Order (what `max_signals` cuts): with one field, Kibana's terms
//!   aggregation order: events in the window holding the term, most
//!   first, then the term ascending; with two or three, the combination
//!   ascending (field by field). Values compare as threshold groups do:
//!   booleans, then numbers, then strings by UTF-8 bytes.
//! - Alerts already written by an earlier execution (same id: same rule,
//!   event and terms) are skipped and do not count against `max_signals`.

use super::{Executed, Execution, Executor};
use crate::detect::persist::Persist;
use crate::detect::window::{carried, Key, Memory, Record};
use crate::engine::Kept;
use crate::rule::Rule;
use serde_json::Value;
use std::collections::HashMap;

/// The executor of `new_terms` rules.
pub struct NewTerms;

impl Executor for NewTerms {
    fn windowed(&self) -> bool {
        true
    }

    fn carried(&self, rule: &Rule) -> Option<(Vec<String>, bool)> {
        let fields = &rule.new_terms.as_ref()?.fields;
        Some((fields.iter().map(|f| f.value.clone()).collect(), true))
    }

    fn history(&self, rule: &Rule) -> Result<Option<i64>, String> {
        let start = rule
            .new_terms
            .as_ref()
            .and_then(|n| n.history_window_start.as_ref())
            .ok_or("new_terms rules without a `history_window_start`")?;
        let seconds = start
            .value
            .offset_seconds()
            .ok_or("new_terms rules whose `history_window_start` rounds or uses months or years")?;
        Ok(Some(seconds.saturating_mul(1_000_000_000)))
    }

    fn record(&self, rule: &Rule, kept: &Kept) -> Option<Record> {
        let time = kept.hit.timestamp?;
        let n = rule.new_terms.as_ref().map_or(0, |t| t.fields.len());
        let values = (0..n).map(|j| carried(kept, j)).collect();
        let mut record = Record::new(time, kept.hit.origin.clone(), values);
        record.hit = Some(kept.hit.clone());
        Some(record)
    }

    fn execute(&self, run: &Execution, memory: &mut Memory, persist: &mut Persist) -> Executed {
        let Some(start) = run.history_from else {
            return Executed::default();
        };
        // Per new term: its first event in the window, how many window
        // events hold it, its values.
        let mut found: HashMap<String, (usize, u64, Vec<Value>)> = HashMap::new();
        for (i, r) in run.window.iter().enumerate() {
            for combination in r.combinations() {
                let key = serde_json::to_string(&combination).unwrap_or_default();
                if memory.terms.get(&key).is_some_and(|t| *t >= start) {
                    continue;
                }
                found.entry(key).or_insert((i, 0, combination)).1 += 1;
            }
        }
        let mut candidates: Vec<(usize, u64, Vec<Value>)> = found.into_values().collect();
        let ordered =
            |c: &(usize, u64, Vec<Value>)| -> Vec<Key> { c.2.iter().cloned().map(Key).collect() };
        if run.window.first().is_some_and(|r| r.values.len() == 1) {
            candidates.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| ordered(a).cmp(&ordered(b))));
        } else {
            candidates.sort_by_key(ordered);
        }
        let mut executed = Executed::default();
        if candidates.is_empty() {
            return executed;
        }
        let ctx = (run.context)();
        for (i, _, terms) in candidates {
            let r = run.window[i];
            let Some(hit) = &r.hit else { continue };
            let alert = ctx.new_terms_alert(hit, run.naming, &terms, run.saved_object);
            if persist.offer(alert.uuid.clone()) {
                executed.alerts.push((Some(r.time), vec![alert]));
            }
        }
        executed
    }
}
