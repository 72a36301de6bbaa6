//! What an execution writes: its results de-duplicated against what
//! earlier executions wrote (Kibana finds the alert id already in the
//! index), then bounded by `max_signals`. The state this needs is carried
//! from one execution of a rule to the next.

use super::executor::Cap;
use std::collections::{BTreeMap, HashSet};

/// What a rule carries from one execution to the next.
#[derive(Debug, Default)]
pub struct RuleState {
    /// The ids of the results written so far (a result's documents share
    /// one id: see [`crate::alert::result_key`]).
    written: HashSet<String>,
    /// The ids of every result an execution found, written or not.
    seen: HashSet<String>,
    /// Results a windowed executor found and cut at `max_signals` itself.
    unwritten: usize,
    /// A threshold rule's signal history (Kibana's `signalHistory`): per
    /// group alerted (keyed by its terms' JSON text), its terms (field,
    /// value) and the time of the latest event of its latest alert, in
    /// nanoseconds.
    pub signal_history: BTreeMap<String, (Vec<(String, serde_json::Value)>, i64)>,
}

impl RuleState {
    /// Results found by some execution that none wrote, because every
    /// execution that found them was cut at `max_signals`.
    pub fn never_written(&self) -> usize {
        self.seen.len() - self.written.len() + self.unwritten
    }

    /// Counts results an execution found but could not write (a windowed
    /// executor's own `max_signals` cut: see
    /// [`super::executor::Executor::execute`]).
    pub fn add_never_written(&mut self, n: usize) {
        self.unwritten += n;
    }
}

/// One execution's writing: offer its results in order, each is written
/// or not.
pub struct Persist<'s> {
    state: &'s mut RuleState,
    max_signals: usize,
    cap: Cap,
    /// Results written by this execution.
    created: usize,
    /// Results offered so far.
    offered: usize,
    /// Results past `max_signals` that were not already written.
    cut: usize,
    /// Results already written by an earlier execution, within the cap.
    duplicates: usize,
}

impl<'s> Persist<'s> {
    /// An execution of a rule with `state`, writing at most `max_signals`
    /// alerts counted as `cap` says.
    pub fn new(state: &'s mut RuleState, max_signals: usize, cap: Cap) -> Self {
        Persist {
            state,
            max_signals,
            cap,
            created: 0,
            offered: 0,
            cut: 0,
            duplicates: 0,
        }
    }

    /// Offers the execution's next result, known by `id`: whether to
    /// write it.
    pub fn offer(&mut self, id: String) -> bool {
        let n = self.offered;
        self.offered += 1;
        let beyond = match self.cap {
            Cap::Results => n >= self.max_signals,
            Cap::Alerts => self.created >= self.max_signals,
        };
        self.state.seen.insert(id.clone());
        if self.state.written.contains(&id) {
            // Kibana finds the alert already there and skips it.
            self.duplicates += usize::from(!beyond);
            return false;
        }
        if beyond {
            self.cut += 1;
            return false;
        }
        self.state.written.insert(id);
        self.created += 1;
        true
    }

    /// Whether an earlier execution wrote the result known by `id` (then
    /// it counts as a skipped duplicate), without offering it: alert
    /// suppression drops such candidates before it groups the others.
    pub fn already_written(&mut self, id: &str) -> bool {
        if !self.state.written.contains(id) {
            return false;
        }
        self.state.seen.insert(id.to_string());
        self.duplicates += 1;
        true
    }

    /// Counts `n` results the execution found but left out before
    /// offering them (a cap of its own: see
    /// [`crate::detect::suppress`]).
    pub fn left_out(&mut self, n: usize) {
        self.cut += n;
        self.state.unwritten += n;
    }

    /// Results already written by an earlier execution (within the cap).
    pub fn duplicates(&self) -> usize {
        self.duplicates
    }

    /// Whether `max_signals` cut the execution.
    pub fn was_cut(&self) -> bool {
        self.cut > 0
    }
}
