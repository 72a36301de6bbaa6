//! Executions and their windows: Kibana runs a rule every `interval`,
//! each execution searching `from`..`to` around its time. A run replays
//! them over the time the events cover (`ruleq run --schedule`), or runs
//! one execution over all the input.

use crate::rule::{self, Rule};

/// What a replay of the schedule did, for the summary.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Replay {
    /// Executions replayed.
    pub executions: usize,
    /// Results an execution found already written by an earlier one.
    pub duplicates: usize,
    /// Executions that found more new results than max_signals.
    pub capped_executions: usize,
    /// Results no execution wrote because of max_signals.
    pub never_written: usize,
    /// The rules with such results, and how many.
    pub capped_rules: Vec<String>,
    /// (why, rule name) for rules whose schedule cannot be replayed.
    pub unscheduled: Vec<(String, String)>,
    /// (rule name, how many) for new_terms rules with executions whose
    /// history window reaches before the first event the rule saw.
    pub partial_history: Vec<(String, usize)>,
}

/// A rule's schedule: executions every `interval` nanoseconds, each
/// searching from `from` to `to` nanoseconds relative to its time.
pub struct Schedule {
    /// Between executions.
    pub interval: i64,
    /// The window's start, relative to the execution time.
    pub from: i64,
    /// The window's end, relative to the execution time.
    pub to: i64,
}

impl Schedule {
    /// The rule's `interval`, `from` and `to`, with Kibana's defaults (5m,
    /// now-6m, now).
    pub fn of(rule: &Rule) -> Result<Schedule, String> {
        const SECOND: i64 = 1_000_000_000;
        let interval = rule.interval.as_ref().map_or(300, |i| i.value.seconds());
        let offset = |d: &Option<rule::Spanned<rule::DateMath>>, default: i64, key: &str| match d {
            None => Ok(default),
            Some(d) => d
                .value
                .offset_seconds()
                .ok_or_else(|| format!("rules whose `{key}` rounds or uses months or years")),
        };
        let from = offset(&rule.from, -360, "from")?;
        let to = offset(&rule.to, 0, "to")?;
        if from > to {
            return Err("rules whose `from` is after their `to`".into());
        }
        Ok(Schedule {
            interval: interval.max(1) * SECOND,
            from: from * SECOND,
            to: to * SECOND,
        })
    }

    /// The execution times whose windows hold at least one of `times`
    /// (sorted), in order: an event at `t` is seen by the executions
    /// between `t - to` and `t - from`.
    pub fn executions(&self, times: &[i64]) -> Vec<i64> {
        let i = self.interval;
        let mut out = Vec::new();
        let mut next = i64::MIN;
        for &t in times {
            let first = (t.saturating_sub(self.to) + i - 1).div_euclid(i);
            let last = t.saturating_sub(self.from).div_euclid(i);
            for k in first.max(next)..=last {
                out.push(k.saturating_mul(i));
            }
            next = next.max(last + 1);
        }
        out
    }
}
