//! The executions of a windowed rule (threshold, new_terms), run as the
//! time-ordered events pass them: what a rule holds is the events within
//! its look-back (as compact [`Record`]s) and what its executor carries
//! from one execution to the next ([`Memory`]), never the whole input.
//!
//! Records come in input order. A reorder buffer of [`REORDER`] records
//! puts them in time order, as for sequences; an execution runs once a
//! record later than its window's end is released, over the records in
//! its window, and records no later window reaches are then dropped (a
//! new_terms rule's after feeding its history). A record that comes after
//! later ones were released is *late*: it counts in the windows not run
//! yet, and the run's summary says how many there were.

use super::executor::{Executed, Execution, Executor};
use super::persist::{Persist, RuleState};
use super::schedule::Schedule;
use super::suppress::Held;
use crate::alert::{Alert, Context, Naming};
use crate::engine::{Hit, Kept, Origin, REORDER};
use crate::eval::sequence::KeyValue;
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, VecDeque};

/// What a windowed rule keeps of one event that matches its query and
/// filters.
#[derive(Debug, Clone)]
pub struct Record {
    /// The event's time (its rule's primary timestamp), in nanoseconds.
    pub time: i64,
    /// Where it came from: ties in time go by input order.
    pub origin: Origin,
    /// Per field the executor groups by (threshold fields, new terms
    /// fields): the field's distinct scalar values, in the order met.
    pub values: Vec<Vec<Value>>,
    /// A threshold rule's cardinality field's distinct values, as text.
    pub distinct: Vec<String>,
    /// The event, when an alert may be built from it (new_terms).
    pub hit: Option<Hit>,
    /// Per `alert_suppression.group_by` field of a suppressed rule: the
    /// field's distinct scalar values, in the order met (see
    /// [`crate::detect::suppress`]).
    pub group_by: Vec<Vec<Value>>,
    /// Whether it fed the new-terms history already.
    remembered: bool,
}

impl Record {
    /// A record of an event at `time`, from `origin`.
    pub fn new(time: i64, origin: Origin, values: Vec<Vec<Value>>) -> Record {
        Record {
            time,
            origin,
            values,
            distinct: Vec::new(),
            hit: None,
            group_by: Vec::new(),
            remembered: false,
        }
    }

    /// The value combinations of the record: the cartesian product of its
    /// fields' values, the first field varying slowest (none when a field
    /// has no value).
    pub fn combinations(&self) -> Vec<Vec<Value>> {
        let mut out: Vec<Vec<Value>> = vec![Vec::new()];
        for vals in &self.values {
            if vals.is_empty() {
                return Vec::new();
            }
            out = out
                .into_iter()
                .flat_map(|k| {
                    vals.iter().map(move |v| {
                        let mut k = k.clone();
                        k.push(v.clone());
                        k
                    })
                })
                .collect();
        }
        out
    }

    fn key(&self) -> (i64, usize, u64) {
        (self.time, self.origin.file, self.origin.line)
    }
}

/// The values an event query's kept event carries for field `j` of its
/// [`crate::engine::CompiledQuery::values`], as JSON values.
pub fn carried(kept: &Kept, j: usize) -> Vec<Value> {
    let Some((_, keys)) = kept.stages.iter().find(|(f, _)| *f == j) else {
        return Vec::new();
    };
    keys.iter()
        .filter_map(|k| k.first().cloned().flatten())
        .map(|v| match v {
            KeyValue::Str(s) => Value::String(s.to_string()),
            KeyValue::Num(n) => serde_json::from_str::<serde_json::Number>(&n)
                .map_or_else(|_| Value::String(n.to_string()), Value::Number),
            KeyValue::Bool(b) => Value::Bool(b),
            KeyValue::Date(t) => Value::from(t.div_euclid(1_000_000)),
        })
        .collect()
}

/// What a windowed executor carries from one execution to the next,
/// besides the alert ids written ([`RuleState`]).
#[derive(Debug, Default)]
pub struct Memory {
    /// A threshold rule's signal history (Kibana's `signalHistory`): per
    /// group alerted (keyed by its terms' JSON text), its terms (field,
    /// value) and the time of the latest event of its latest alert.
    pub signal_history: BTreeMap<String, (Vec<(String, Value)>, i64)>,
    /// A new_terms rule's history: per value combination (its JSON text),
    /// the latest time an event at or before the current execution's
    /// window start held it.
    pub terms: HashMap<String, i64>,
    /// Entries in `terms` after it was last pruned.
    terms_after_prune: usize,
    /// A suppressed rule's alerts that a later execution may still update,
    /// and those final: [`Windows`] hands the final ones on after each
    /// execution (see [`super::suppress::Held`]).
    pub suppressed: Held,
}

impl Memory {
    /// Feeds one event's combinations into the new-terms history.
    fn remember(&mut self, record: &Record) {
        for combination in record.combinations() {
            let key = serde_json::to_string(&combination).unwrap_or_default();
            let t = self.terms.entry(key).or_insert(record.time);
            *t = (*t).max(record.time);
        }
    }

    /// Drops history entries older than `start`, now and then (no later
    /// execution's history window reaches them).
    fn prune(&mut self, start: i64) {
        if self.terms.len() > 2 * self.terms_after_prune + 4096 {
            self.terms.retain(|_, t| *t >= start);
            self.terms_after_prune = self.terms.len();
        }
    }
}

/// What the executions of one rule did, for the summary.
#[derive(Debug, Default, Clone)]
pub struct Ran {
    /// Executions run.
    pub executions: usize,
    /// Executions `max_signals` cut.
    pub capped: usize,
    /// Results an execution found already written by an earlier one.
    pub duplicates: usize,
    /// Results no execution wrote because of `max_signals`.
    pub never_written: usize,
    /// Alerts written.
    pub written: usize,
    /// Executions whose history window reaches before the rule's first
    /// event (new_terms: their history was partial).
    pub partial_history: usize,
    /// Records that came after later ones had been released, and where
    /// the first came from.
    pub late: u64,
    /// Where the first late record came from.
    pub first_late: Option<Origin>,
    /// Per alert written on a group of events, when asked for
    /// ([`Windows::keep_group_events`]): its id and the group's events.
    pub groups: Vec<(String, Vec<Origin>)>,
}

/// One written result: its original time and alert documents.
pub type Written = (Option<i64>, Vec<Alert>);

/// Where a rule's executions send their alerts.
pub struct Env<'a, 'r> {
    /// Names events in alerts.
    pub naming: &'a Naming<'a>,
    /// Builds the alert context of the execution at a time.
    pub context: &'a dyn Fn(i64) -> Context<'r>,
    /// Takes an execution's written results: its context, and each
    /// result's original time and documents.
    pub emit: &'a mut dyn FnMut(&Context<'r>, Vec<Written>),
    /// Takes suppressed alerts once final: whole documents (their
    /// execution's fixed fields included), and their original times.
    pub release: &'a mut dyn FnMut(Vec<Written>),
}

/// The executions of one windowed rule, run as its records come.
pub struct Windows {
    executor: &'static dyn Executor,
    schedule: Schedule,
    /// A new_terms rule's history start, relative to the execution time.
    history: Option<i64>,
    /// Run only the execution at this time (`ruleq test`'s `execution`).
    at: Option<i64>,
    max_signals: usize,
    saved_object: Option<String>,
    buffer: Vec<Record>,
    /// The latest time released from the buffer.
    fed: Option<i64>,
    /// Released records a window not run yet may hold, in time order.
    held: VecDeque<Record>,
    /// Records that only feed history (`--history`), in time order, and
    /// how many fed it already.
    history_only: Vec<Record>,
    history_fed: usize,
    /// The earliest execution time not run yet.
    next: i64,
    /// The earliest time of any record.
    first: Option<i64>,
    state: RuleState,
    memory: Memory,
    ran: Ran,
    group_events: bool,
}

impl Windows {
    /// The executions of a rule run by `executor` on `schedule`, writing at
    /// most `max_signals` alerts each. `history` is a new_terms rule's
    /// history start relative to the execution time; `at` a single
    /// execution's time; `saved_object` the rule's saved-object id, when
    /// known.
    pub fn new(
        executor: &'static dyn Executor,
        schedule: Schedule,
        history: Option<i64>,
        at: Option<i64>,
        max_signals: usize,
        saved_object: Option<String>,
    ) -> Windows {
        Windows {
            executor,
            schedule,
            history,
            at,
            max_signals,
            saved_object,
            buffer: Vec::new(),
            fed: None,
            held: VecDeque::new(),
            history_only: Vec::new(),
            history_fed: 0,
            next: i64::MIN,
            first: None,
            state: RuleState::default(),
            memory: Memory::default(),
            ran: Ran::default(),
            group_events: false,
        }
    }

    /// Makes the executions tell which events each group alert stands on
    /// ([`Ran::groups`]; `ruleq test` asserts them).
    pub fn keep_group_events(&mut self) {
        self.group_events = true;
    }

    /// Gives records that only feed the new-terms history (any order).
    pub fn set_history(&mut self, mut records: Vec<Record>) {
        records.sort_by_key(Record::key);
        if let Some(r) = records.first() {
            self.first = Some(self.first.map_or(r.time, |f| f.min(r.time)));
        }
        self.history_only = records;
    }

    /// Takes the rule's next record, in input order; runs the executions
    /// it closes.
    pub fn push(&mut self, record: Record, env: &mut Env<'_, '_>) {
        if self.fed.is_some_and(|fed| record.time < fed) {
            self.ran.late += 1;
            if self.ran.first_late.is_none() {
                self.ran.first_late = Some(record.origin.clone());
            }
        }
        self.buffer.push(record);
        if self.buffer.len() >= REORDER {
            self.release(false, env);
        }
    }

    /// Runs the executions left, and tells what they all did.
    pub fn finish(mut self, env: &mut Env<'_, '_>) -> Ran {
        self.release(true, env);
        match self.at {
            Some(t) => self.execute(t, env),
            None => self.run_until(i64::MAX, env),
        }
        self.memory.suppressed.release_all();
        let ready = self.memory.suppressed.take_ready();
        if !ready.is_empty() {
            self.ran.written += ready.len();
            (env.release)(ready);
        }
        self.ran.never_written = self.state.never_written();
        self.ran
    }

    /// Releases the buffered records in time order: all of them, or all
    /// but those at the latest time (a later record may share it).
    fn release(&mut self, all: bool, env: &mut Env<'_, '_>) {
        self.buffer.sort_unstable_by_key(Record::key);
        let cut = match self.buffer.last() {
            Some(last) if !all => {
                let latest = last.time;
                match self.buffer.partition_point(|r| r.time < latest) {
                    0 => self.buffer.len(),
                    cut => cut,
                }
            }
            _ => self.buffer.len(),
        };
        let released: Vec<Record> = self.buffer.drain(..cut).collect();
        for r in released {
            self.first = Some(self.first.map_or(r.time, |f| f.min(r.time)));
            if self.at.is_none() {
                self.run_until(r.time, env);
            }
            self.fed = Some(self.fed.map_or(r.time, |f| f.max(r.time)));
            self.hold(r);
        }
    }

    /// Holds a released record where it sorts (a late one among the
    /// others), or, when no window not run yet reaches it, only feeds it
    /// to the history.
    fn hold(&mut self, r: Record) {
        let reaches = self.at.is_some() || r.time >= self.next.saturating_add(self.schedule.from);
        if !reaches {
            if self.history.is_some() {
                self.memory.remember(&r);
            }
            return;
        }
        let key = r.key();
        match self.held.back() {
            Some(last) if last.key() > key => {
                let at = self.held.partition_point(|h| h.key() < key);
                self.held.insert(at, r);
            }
            _ => self.held.push_back(r),
        }
    }

    /// Runs every execution whose window ends before `limit` and holds a
    /// record, in order, dropping the records no later window reaches.
    fn run_until(&mut self, limit: i64, env: &mut Env<'_, '_>) {
        let (i, from, to) = (self.schedule.interval, self.schedule.from, self.schedule.to);
        while let Some(oldest) = self.held.front() {
            let first = oldest
                .time
                .saturating_sub(to)
                .saturating_add(i - 1)
                .div_euclid(i);
            let e = first.saturating_mul(i).max(self.next);
            if e.saturating_add(from) > oldest.time {
                // No window from `e` on reaches it.
                let r = self.held.pop_front().expect("a front record");
                if self.history.is_some() && !r.remembered {
                    self.memory.remember(&r);
                }
                continue;
            }
            if e.saturating_add(to) >= limit {
                break;
            }
            self.execute(e, env);
            self.next = e.saturating_add(i);
        }
    }

    /// Runs the execution at `t` over the held records in its window.
    fn execute(&mut self, t: i64, env: &mut Env<'_, '_>) {
        let (from, to) = (
            t.saturating_add(self.schedule.from),
            t.saturating_add(self.schedule.to),
        );
        let history_from = self.history.map(|h| t.saturating_add(h));
        if let Some(start) = history_from {
            // Everything at or before the window's start is history.
            while let Some(r) = self.history_only.get(self.history_fed) {
                if r.time > from {
                    break;
                }
                self.memory.remember(r);
                self.history_fed += 1;
            }
            for r in self.held.iter_mut() {
                if r.time > from {
                    break;
                }
                if !r.remembered {
                    self.memory.remember(r);
                    r.remembered = true;
                }
            }
            if self.first.is_none_or(|first| start < first) {
                self.ran.partial_history += 1;
            }
            self.memory.prune(start);
        }
        let window: Vec<&Record> = self
            .held
            .iter()
            .filter(|r| from <= r.time && r.time <= to)
            .collect();
        self.ran.executions += 1;
        let ctx = std::cell::OnceCell::new();
        let mut persist = Persist::new(&mut self.state, self.max_signals, self.executor.cap());
        let execution = Execution {
            context: &|| ctx.get_or_init(|| (env.context)(t)),
            time: t,
            from,
            history_from,
            window,
            naming: env.naming,
            saved_object: self.saved_object.as_deref(),
            group_events: self.group_events,
        };
        let Executed { alerts, groups } =
            self.executor
                .execute(&execution, &mut self.memory, &mut persist);
        self.ran.duplicates += persist.duplicates();
        self.ran.capped += usize::from(persist.was_cut());
        self.ran.written += alerts.len();
        self.ran.groups.extend(groups);
        if let Some(ctx) = ctx.get().filter(|_| !alerts.is_empty()) {
            (env.emit)(ctx, alerts);
        }
        let ready = self.memory.suppressed.take_ready();
        if !ready.is_empty() {
            self.ran.written += ready.len();
            (env.release)(ready);
        }
        // Records before the next window's start are history now.
        if self.at.is_none() {
            let next_from = t
                .saturating_add(self.schedule.interval)
                .saturating_add(self.schedule.from);
            while self.held.front().is_some_and(|r| r.time < next_from) {
                let r = self.held.pop_front().expect("a front record");
                if self.history.is_some() && !r.remembered {
                    self.memory.remember(&r);
                }
            }
        }
    }
}

/// A group field's or a new term's value, in the canonical order of
/// groups and terms: booleans (`false` first), then numbers by value,
/// then strings by UTF-8 bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Key(pub Value);

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
