//! The stages of a distributed run (`ruleq run --stage map|reduce`): the
//! same pass split in two, so that a cluster (Spark) can shuffle what
//! lies between them.
//!
//! - The **map** stage reads a share of the input. A rule whose alerts
//!   depend on no other event (a query rule, an EQL event query, an
//!   indicator match rule, in one execution and unsuppressed) writes its
//!   alerts there. Every other rule writes its candidate records
//!   ([`Kept`]: the event, where it sorts, the steps and keys it matches)
//!   as [`Routed`] lines, each with the partition it belongs to.
//! - The **reduce** stage takes the records of some partitions, in any
//!   order, sorts them as one run would read them, and runs the same
//!   executors over them.
//!
//! Events keep the identity one `ruleq run` over the whole input gives them
//! ([`Split`]): a file's name and the event's line in it. A sequence or
//! sample rule in one execution is partitioned by join key (a record that
//! joins on several keys is sent to each, with only that key's steps);
//! every other routed rule by rule: threshold and new_terms executions,
//! suppression and a schedule's `max_signals` tie a rule's results
//! together.

use crate::engine::{Kept, Keys};
use crate::eval::sequence::Key;
use serde::{Deserialize, Serialize};

/// The tag of a map stage's alert lines (`A<TAB>document`).
pub const ALERT: &str = "A";
/// The tag of a map stage's record lines (`R<TAB>partition<TAB>record`).
pub const RECORD: &str = "R";
/// The tag of a map stage's last line (`S<TAB>counts`).
pub const STATS: &str = "S";

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
