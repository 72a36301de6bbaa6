//! The stages of a distributed run (`ruleq run --stage map|reduce`): the
//! same pass split in two, so that a cluster (Spark) can shuffle what
//! lies between them.
//!
//! - The **map** stage reads a share of the input. A rule whose alerts
//!   depend on no other event (a query rule, an EQL event query, an
//!   indicator match rule, in one execution and unsuppressed) writes its
//!   alerts there. Every other rule writes its candidate records
//!   ([`Kept`]: the event, where it sorts, the steps and keys it matches)
//!   as [`Routed`] lines, each with the partition it belongs to. A
//!   record's event text is written apart ([`TEXT`] lines, once per
//!   event), but for indicator match rules (their reduce reads the event).
//! - When records left texts out, a first reduce (`--stage shown`) tells
//!   which events the alerts of its partitions show ([`SHOWN`] lines);
//!   only those texts then go with the records to the reduce.
//! - The **reduce** stage takes the records of some partitions, in any
//!   order, sorts them as one run would read them, and runs the same
//!   executors over them.
//!
//! Events keep the identity one `ruleq run` over the whole input gives them
//! ([`Split`]): a file's name and the event's line in it. A sequence or
//! sample rule in one execution is partitioned by join key (a record that
//! joins on several keys is sent to each, with only that key's steps),
//! unless a limit of partial sequences other than the default is given
//! (it holds over all of a rule's keys); every other routed rule by rule:
//! threshold and new_terms executions, suppression and a schedule's
//! `max_signals` tie a rule's results together.

use crate::engine::{Kept, Keys};
use crate::eval::sequence::Key;
use serde::{Deserialize, Serialize};

/// The tag of a map stage's alert lines (`A<TAB>document`).
pub const ALERT: &str = "A";
/// The tag of a map stage's record lines (`R<TAB>partition<TAB>record`).
pub const RECORD: &str = "R";
/// The tag of a map stage's last line (`S<TAB>counts`).
pub const STATS: &str = "S";
/// The tag of a map stage's event text lines (`T<TAB>file<TAB>line<TAB>text`):
/// the text of an event whose records left it out, once per event.
pub const TEXT: &str = "T";
/// The tag of the lines of `ruleq run --stage shown`
/// (`U<TAB>file<TAB>line`): an event whose text its partitions' alerts show.
pub const SHOWN: &str = "U";

thread_local! {
    /// The event whose text this thread wrote last: an event's records are
    /// made one after the other, on one thread.
    static LAST_TEXT: std::cell::Cell<Option<(usize, u64)>> = const { std::cell::Cell::new(None) };
}

/// Forgets, on this thread, which event's text was written last (a map
/// stage starts).
pub fn forget_texts() {
    LAST_TEXT.with(|l| l.set(None));
}

/// Leaves a record's event text out: the record keeps its event's text
/// when it cannot be written on one line as it is (it spans lines, or is
/// not UTF-8); else it loses it, and for the first of the event's records
/// the text comes back as its [`TEXT`] line.
pub fn text_apart(kept: &mut Kept) -> Option<String> {
    let source = &kept.hit.source;
    let text = std::str::from_utf8(source).ok()?;
    if !text.starts_with('{') || memchr::memchr2(b'\n', b'\r', source).is_some() {
        return None;
    }
    let event = (kept.hit.origin.file, kept.hit.origin.line);
    let line = (LAST_TEXT.with(|l| l.replace(Some(event))) != Some(event))
        .then(|| format!("{TEXT}\t{}\t{}\t{text}", event.0, event.1));
    kept.hit.source = std::sync::Arc::default();
    line
}

/// An event text line's event (file, line) and text, from what follows its
/// tag and tab.
pub fn parse_text(rest: &str) -> Option<((usize, u64), &str)> {
    let mut parts = rest.splitn(3, '\t');
    let file = parts.next()?.parse().ok()?;
    let line = parts.next()?.parse().ok()?;
    Some(((file, line), parts.next()?))
}

/// The share of the input a map stage reads, as one run over the whole
/// input names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// The name `ruleq run` gives the file (in alert ids and ancestors of
    /// events without `_id`).
    pub name: String,
    /// The file's place among the run's input files (ties in time go by
    /// it, then by line).
    pub index: usize,
    /// The line number, in the whole file, of the split's first line.
    pub first_line: u64,
}

impl Split {
    /// The event's place in the whole input, from its line in the split:
    /// (line in the file, input serial for ordering).
    pub fn place(&self, line: u64) -> (u64, u64) {
        let line = self.first_line.saturating_add(line).saturating_sub(1);
        (line, ((self.index as u64) << 40) | line)
    }
}

/// One routed candidate record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Routed {
    /// The query's place in the rule set (the same rules give the same
    /// set in every stage).
    pub q: usize,
    /// The rule's `rule_id`, to check that the stages run the same rules.
    pub rule: String,
    /// The name of the event's file (see [`Split::name`]).
    pub name: String,
    /// The record.
    pub kept: Kept,
}

/// The partition key of a record of query `q` of rule `rule`: the rule,
/// and for a sequence or sample in one execution, one join key.
pub fn partition(rule: &str, q: usize, key: Option<&Key>) -> String {
    match key {
        Some(k) => format!(
            "{rule}/{q}/{}",
            serde_json::to_string(k).unwrap_or_default()
        ),
        None => format!("{rule}/{q}"),
    }
}

/// The keys a sequence's or sample's record joins on, each with the
/// record as that key's partition needs it (its steps and cancellations
/// on other keys left out); a record without any key once, as is.
pub fn by_key(kept: &Kept) -> Vec<(Option<Key>, Kept)> {
    let mut keys: Vec<Key> = Vec::new();
    let mut add = |k: &Key| {
        if !keys.contains(k) {
            keys.push(k.clone());
        }
    };
    for (_, ks) in &kept.stages {
        ks.iter().for_each(&mut add);
    }
    if let Some(c) = &kept.cancels {
        for (_, ks) in &c.missing {
            ks.iter().for_each(&mut add);
        }
        c.until.iter().for_each(&mut add);
    }
    if keys.len() <= 1 {
        return vec![(keys.into_iter().next(), kept.clone())];
    }
    keys.into_iter()
        .map(|k| {
            let mut one = kept.clone();
            one.stages = one
                .stages
                .into_iter()
                .filter_map(|(stage, ks)| {
                    let ks: Keys = ks.into_iter().filter(|x| *x == k).collect();
                    (!ks.is_empty()).then_some((stage, ks))
                })
                .collect();
            if let Some(c) = one.cancels.as_mut() {
                c.missing = std::mem::take(&mut c.missing)
                    .into_iter()
                    .filter_map(|(stage, ks)| {
                        let ks: Keys = ks.into_iter().filter(|x| *x == k).collect();
                        (!ks.is_empty()).then_some((stage, ks))
                    })
                    .collect();
                c.until.retain(|x| *x == k);
            }
            (Some(k), one)
        })
        .collect()
}

/// What the indicator files held, for the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct IndicatorsRead {
    /// Indicator documents read, malformed ones included.
    pub read: u64,
    /// Of those, the malformed ones.
    pub malformed: u64,
    /// Whether reading failed somewhere.
    pub io_failed: bool,
    /// Indicators that replaced an earlier one with the same `_index` and
    /// `_id`.
    pub replaced: u64,
}

/// Events out of time order that a rule could not use, for the summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LateAt {
    /// The rule's place among the rules that run.
    pub rule: usize,
    /// How many events.
    pub count: u64,
    /// The first one's file, as the run names it.
    pub file: String,
    /// And its line.
    pub line: u64,
}

/// The figures of a run's summary. A map and a reduce stage each write
/// theirs as their last line (`S<TAB>figures`); added up
/// ([`Figures::add`]), they are one run's, and `ruleq run --stage
/// summary` prints them as `ruleq run` does.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Events read, malformed included.
    pub read: u64,
    /// Of those, the malformed ones.
    pub malformed: u64,
    /// Whether reading failed somewhere.
    pub io_failed: bool,
    /// Alert documents written.
    pub documents: usize,
    /// Per rule that runs (in the order of the rules given): the results
    /// it alerted on.
    pub counts: Vec<usize>,
    /// Per rule that met events out of time order.
    pub late: Vec<LateAt>,
    /// Per rule that dropped partial sequences at `max_partials`: (rule,
    /// how many).
    pub partials_dropped: Vec<(usize, u64)>,
    /// With a schedule: what its replay did.
    pub replay: Option<crate::detect::schedule::Replay>,
    /// Without one: what the rules that always run their schedule did.
    pub windowed: Option<crate::detect::schedule::Replay>,
    /// What `--history` held (each stage reads the same files).
    pub history: Option<crate::detect::HistoryRead>,
    /// What `--indicators` held (each stage reads the same files).
    pub indicators: Option<IndicatorsRead>,
    /// (why, rule name): indicator match rules' notes.
    pub threat_notes: Vec<(String, String)>,
}

impl Figures {
    /// Adds another stage's figures to these.
    pub fn add(&mut self, other: Figures) {
        self.read += other.read;
        self.malformed += other.malformed;
        self.io_failed |= other.io_failed;
        self.documents += other.documents;
        if self.counts.len() < other.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (mine, n) in self.counts.iter_mut().zip(other.counts) {
            *mine += n;
        }
        for late in other.late {
            match self.late.iter_mut().find(|l| l.rule == late.rule) {
                Some(l) => l.count += late.count,
                None => self.late.push(late),
            }
        }
        for (rule, n) in other.partials_dropped {
            match self.partials_dropped.iter_mut().find(|(r, _)| *r == rule) {
                Some((_, m)) => *m += n,
                None => self.partials_dropped.push((rule, n)),
            }
        }
        add_replay(&mut self.replay, other.replay);
        add_replay(&mut self.windowed, other.windowed);
        self.history = self.history.or(other.history);
        self.indicators = self.indicators.or(other.indicators);
        for note in other.threat_notes {
            if !self.threat_notes.contains(&note) {
                self.threat_notes.push(note);
            }
        }
    }

    /// Puts what names rules in the order one run gives it: the rules'
    /// order (`names`: the rules that run, in order, by name).
    pub fn in_rule_order(&mut self, names: &[&str]) {
        let place = |name: &str| names.iter().position(|n| *n == name).unwrap_or(usize::MAX);
        self.late.sort_by_key(|l| l.rule);
        self.partials_dropped.sort_by_key(|(r, _)| *r);
        for replay in [self.replay.as_mut(), self.windowed.as_mut()]
            .into_iter()
            .flatten()
        {
            // "name (n)"
            replay
                .capped_rules
                .sort_by_key(|c| place(c.rsplit_once(" (").map_or(c.as_str(), |(name, _)| name)));
            replay.partial_history.sort_by_key(|(name, _)| place(name));
            replay.unscheduled.sort_by_key(|(_, name)| place(name));
        }
        self.threat_notes.sort_by_key(|(_, name)| place(name));
    }
}

fn add_replay(
    mine: &mut Option<crate::detect::schedule::Replay>,
    other: Option<crate::detect::schedule::Replay>,
) {
    let Some(other) = other else {
        return;
    };
    let Some(r) = mine.as_mut() else {
        *mine = Some(other);
        return;
    };
    r.executions += other.executions;
    r.duplicates += other.duplicates;
    r.capped_executions += other.capped_executions;
    r.never_written += other.never_written;
    r.capped_rules.extend(other.capped_rules);
    for u in other.unscheduled {
        if !r.unscheduled.contains(&u) {
            r.unscheduled.push(u);
        }
    }
    r.partial_history.extend(other.partial_history);
}

/// Gives the records that left their event's text out the texts of
/// `texts` (by event: file and line), where it has them.
pub fn attach_texts(
    records: &mut [Routed],
    texts: &std::collections::HashMap<(usize, u64), std::sync::Arc<[u8]>>,
) {
    for r in records {
        let hit = &mut r.kept.hit;
        if hit.source.is_empty() {
            if let Some(text) = texts.get(&(hit.origin.file, hit.origin.line)) {
                hit.source = text.clone();
            }
        }
    }
}
