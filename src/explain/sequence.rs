//! Partial sequences replayed with their fates. The events come as the
//! engine's stateless stage kept them ([`Kept`]: stages matched, join
//! keys, what they cancel), in the engine's order; the replay takes the
//! decisions [`crate::eval::sequence::SequenceMatcher`] takes (one partial
//! per stage and key, the newest winning; the latest stage offered first;
//! `maxspan` checked when a partial is extended and swept once per
//! `maxspan`; `until` closing every partial of its key after the event's
//! own steps) and records why each partial ended as it did.

use crate::engine::Kept;
use crate::eval::sequence::{is_cancelled, Key, Ordinal};
use serde::Serialize;
use std::collections::HashMap;

/// What became of one partial sequence.
#[derive(Debug, Clone, Serialize)]
pub struct SequenceExplanation {
    /// The join-key values.
    pub join_keys: Vec<serde_json::Value>,
    /// Its events, one per positive step reached, in step order.
    pub events: Vec<String>,
    /// The (1-based) steps those events matched.
    pub steps: Vec<usize>,
    /// `completed`, `replaced`, `maxspan`, `until`, `missing` (cancelled
    /// by a missing-event step) or `incomplete`.
    pub status: &'static str,
    /// Why, in words.
    pub reason: String,
}

/// One kept event, in order, with its name.
pub(crate) struct Candidate<'k> {
    pub name: &'k str,
    pub kept: &'k Kept,
}

struct Partial {
    record: usize,
    key: Key,
    events: Vec<usize>,
    start: i64,
}

/// Replays `events` (sorted as the engine sorts) through a sequence of
/// `missing.len()` stages (`missing[i]`: a `![...]` stage) and returns
/// each partial sequence's fate, in the order the partials started, and the
/// completed sequences (positions in `events`) in completion order.
pub(crate) fn replay(
    events: &[Candidate],
    missing: &[bool],
    maxspan: Option<i64>,
    render_key: &dyn Fn(&Key) -> Vec<serde_json::Value>,
) -> (Vec<SequenceExplanation>, Vec<Vec<usize>>) {
    let stage_of: Vec<usize> = (0..missing.len()).filter(|&i| !missing[i]).collect();
    let positives = stage_of.len();
    let step = |p: usize| stage_of.get(p).map_or(p + 1, |s| s + 1);
    let mut records: Vec<SequenceExplanation> = Vec::new();
    let mut pending: Vec<HashMap<Key, Partial>> = (1..positives).map(|_| HashMap::new()).collect();
    let mut fillers: Vec<HashMap<Key, Vec<Ordinal>>> = vec![HashMap::new(); missing.len()];
    let mut complete: Vec<Partial> = Vec::new();
    let mut swept_at = i64::MIN;
    let name = |i: usize| events[i].name.to_string();
    let new_record = |records: &mut Vec<SequenceExplanation>, key: &Key| {
        records.push(SequenceExplanation {
            join_keys: render_key(key),
            events: Vec::new(),
            steps: Vec::new(),
            status: "incomplete",
            reason: String::new(),
        });
        records.len() - 1
    };
    let span_text = |nanos: i64| duration_text(nanos);
    for (pos, c) in events.iter().enumerate() {
        let ts = c.kept.sort.time;
        if let Some(cancels) = &c.kept.cancels {
            for (s, keys) in &cancels.missing {
                for key in keys {
                    fillers[*s].entry(key.clone()).or_default().push(Ordinal {
                        timestamp: ts,
                        position: pos as u64,
                    });
                }
            }
        }
        // The matcher's sweep: once per maxspan of input time.
        if let Some(m) = maxspan {
            if ts.saturating_sub(swept_at) > m {
                for (s, stage) in pending.iter_mut().enumerate() {
                    stage.retain(|_, p| {
                        let keep = ts - p.start <= m;
                        if !keep {
                            let r = &mut records[p.record];
                            r.status = "maxspan";
                            let last = *p.events.last().unwrap_or(&0);
                            let own = c.kept.stages.iter().any(|(st, keys)| {
                                *st == s + 1 && keys.contains(&p.key)
                            });
                            if own {
                                r.reason = format!(
                                    "maxspan {} exceeded: {} matched step {} {} after the first event",
                                    span_text(m),
                                    name(pos),
                                    step(s + 1),
                                    span_text(ts - p.start)
                                );
                                return false;
                            }
                            let hint = other_key(&events[..pos], last, s + 1, &p.key, render_key)
                                .map_or(String::new(), |h| format!("; {h}"));
                            r.reason = format!(
                                "maxspan {} exceeded: no event matched step {} with this key within it (expired when {} came, {} after the first event){hint}",
                                span_text(m),
                                step(s + 1),
                                name(pos),
                                span_text(ts - p.start)
                            );
                        }
                        keep
                    });
                }
                swept_at = ts;
            }
        }
        for (stage, keys) in c.kept.stages.iter().rev() {
            for key in keys {
                let next = if *stage == 0 {
                    let record = new_record(&mut records, key);
                    Partial {
                        record,
                        key: key.clone(),
                        events: vec![pos],
                        start: ts,
                    }
                } else {
                    let Some(mut partial) = pending[stage - 1].remove(key) else {
                        continue;
                    };
                    if maxspan.is_some_and(|m| ts - partial.start > m) {
                        let r = &mut records[partial.record];
                        r.status = "maxspan";
                        r.reason = format!(
                            "maxspan {} exceeded: {} matched step {} {} after the first event",
                            span_text(maxspan.unwrap_or(0)),
                            name(pos),
                            step(*stage),
                            span_text(ts - partial.start)
                        );
                        continue;
                    }
                    partial.events.push(pos);
                    partial
                };
                let r = &mut records[next.record];
                r.events = next.events.iter().map(|&e| name(e)).collect();
                r.steps = (0..next.events.len()).map(step).collect();
                if stage + 1 == positives {
                    r.status = "completed";
                    r.reason = "completed".into();
                    complete.push(next);
                } else if let Some(old) = pending[*stage].insert(key.clone(), next) {
                    let newer = &pending[*stage][key];
                    let r = &mut records[old.record];
                    r.status = "replaced";
                    r.reason = format!(
                        "replaced: {} reached step {} with the same key later, and EQL keeps one partial sequence per key at each step",
                        name(pos),
                        step(*stage)
                    );
                    let _ = newer;
                }
            }
        }
        if let Some(cancels) = &c.kept.cancels {
            for key in &cancels.until {
                for (s, stage) in pending.iter_mut().enumerate() {
                    if let Some(p) = stage.remove(key) {
                        let r = &mut records[p.record];
                        r.status = "until";
                        r.reason = format!(
                            "closed by `until`: {} matched it before step {}",
                            name(pos),
                            step(s + 1)
                        );
                    }
                }
            }
        }
    }
    // Partials still waiting at the end: why no later event extended them.
    for (s, stage) in pending.iter().enumerate() {
        for p in stage.values() {
            let last = *p.events.last().unwrap_or(&0);
            let r = &mut records[p.record];
            r.status = "incomplete";
            let hint = other_key(events, last, s + 1, &p.key, render_key)
                .map_or(String::new(), |h| format!(" ({h})"));
            r.reason = format!(
                "incomplete: no later event matched step {} with this key{hint}",
                step(s + 1)
            );
        }
    }
    // Missing-event steps cancel completed sequences, as the engine decides.
    let mut done = Vec::new();
    let none: Vec<Ordinal> = Vec::new();
    for p in complete {
        if missing.contains(&true) {
            let positives: Vec<Ordinal> = p
                .events
                .iter()
                .map(|&i| Ordinal {
                    timestamp: events[i].kept.sort.time,
                    position: i as u64,
                })
                .collect();
            let f: Vec<&[Ordinal]> = (0..missing.len())
                .map(|s| fillers[s].get(&p.key).map_or(&none[..], |v| &v[..]))
                .collect();
            if is_cancelled(missing, &positives, &f, maxspan) {
                let by: Vec<String> = (0..missing.len())
                    .filter(|&s| missing[s])
                    .flat_map(|s| {
                        f[s].iter()
                            .map(move |o| format!("{} (step {})", name(o.position as usize), s + 1))
                    })
                    .collect();
                let r = &mut records[p.record];
                r.status = "missing";
                r.reason = format!(
                    "cancelled by a missing-event step: matched by {}",
                    by.join(", ")
                );
                continue;
            }
        }
        done.push(p.events);
    }
    (records, done)
}

/// The first event after position `after` that matched positive stage
/// `stage` with another key than `key`, as a hint: `X matched step N with
/// key [..]`.
fn other_key(
    events: &[Candidate],
    after: usize,
    stage: usize,
    key: &Key,
    render_key: &dyn Fn(&Key) -> Vec<serde_json::Value>,
) -> Option<String> {
    events[after + 1..].iter().find_map(|c| {
        let (_, keys) = c.kept.stages.iter().find(|(st, _)| *st == stage)?;
        if keys.contains(key) {
            return None;
        }
        let shown = keys
            .first()
            .map(|k| serde_json::Value::Array(render_key(k)).to_string())?;
        Some(format!(
            "{} matched that step with another key {shown}",
            c.name
        ))
    })
}

/// A duration in nanoseconds as `1m 30s`, `2h`, `1.5s`.
pub(crate) fn duration_text(nanos: i64) -> String {
    let ms = nanos / 1_000_000;
    if ms % 1000 != 0 {
        return format!("{}s", ms as f64 / 1000.0);
    }
    let mut s = ms / 1000;
    let mut parts = Vec::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60)] {
        if s >= size {
            parts.push(format!("{}{unit}", s / size));
            s %= size;
        }
    }
    if s > 0 || parts.is_empty() {
        parts.push(format!("{s}s"));
    }
    parts.join(" ")
}
