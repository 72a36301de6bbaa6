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
//! - Alert suppression: each alert is a candidate whose terms are its
//!   event's `group_by` values, suppressed in memory (and, with a
//!   duration, into the open alert of its instance); an execution handles
//!   at most 5 × `max_signals` candidates, created or suppressed (see
//!   [`crate::detect::suppress`]).

use super::{Executed, Execution, Executor};
use crate::detect::persist::Persist;
use crate::detect::suppress::{in_memory_terms, Candidate, Step, Suppression, MULTIPLIER};
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
        // The new terms fields, then the suppression's group_by fields.
        let fields = &rule.new_terms.as_ref()?.fields;
        let mut carried: Vec<String> = fields.iter().map(|f| f.value.clone()).collect();
        carried.extend(
            Suppression::of(rule)
                .map(|s| s.group_by)
                .unwrap_or_default(),
        );
        Some((carried, true))
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
        let group_by = rule
            .alert_suppression
            .as_ref()
            .map_or(0, |s| s.group_by.len());
        record.group_by = (n..n + group_by).map(|j| carried(kept, j)).collect();
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
        let suppression = Suppression::of(ctx.rule);
        let rule_id = ctx.rule.id().unwrap_or("");
        let mut suppressible = Vec::new();
        for (i, _, terms) in candidates {
            let r = run.window[i];
            let Some(hit) = &r.hit else { continue };
            let alert = ctx.new_terms_alert(hit, run.naming, &terms, run.saved_object);
            if let Some(setup) = &suppression {
                let (terms, complete) = in_memory_terms(&setup.group_by, &r.group_by);
                // Missing a field, not suppressed: a plain alert.
                if complete || setup.suppress_missing {
                    let c = Candidate::of_event(alert, r.time, terms, rule_id, run.saved_object);
                    suppressible.push(c);
                    continue;
                }
            }
            if persist.offer(alert.uuid.clone()) {
                executed.alerts.push((Some(r.time), vec![alert]));
            }
        }
        if let Some(setup) = suppression {
            let step = Step {
                now: run.time,
                fixed: ctx.fixed().into(),
                duration: setup.duration,
                in_memory: true,
                limit: Some(MULTIPLIER.saturating_mul(crate::detect::max_signals(ctx.rule))),
            };
            memory.suppressed.execute(&step, suppressible, persist);
        }
        executed
    }
}
