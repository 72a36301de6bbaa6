//! Rule tests (`ruleq test`): test files beside the rules, each case one
//! run of one rule through the executors `ruleq run` uses, its alerts held
//! to what the case expects.
//!
//! - [`file`](mod@file): the test file schema (strict: unknown keys are errors);
//! - [`case`]: a case's events (defaults, times, identities) and its run;
//! - [`junit`]: the results as JUnit XML (`--junit`);
//! - [`scaffold`]: a new test file to fill in (`--new`);
//! - [`lint`]: test files checked without running them (`ruleq check`);
//! - [`snapshot`]: alert and AST snapshots, their update modes and review;
//! - this module: the expectations, and what a failure says.

pub mod case;
pub mod file;
pub mod junit;
pub mod lint;
pub mod scaffold;
pub mod snapshot;

use crate::alert::lookup;
use file::Case;
use serde_json::{Map, Value as Json};

/// An alert as a case sees it: one per result (a sequence's shell stands
/// for its building blocks), with the ids of its events in step order.
#[derive(Debug, Clone)]
pub struct SeenAlert {
    /// The ids of its source events, in step order.
    pub events: Vec<String>,
    /// The alert document (a sequence's shell alert for a sequence).
    pub document: Map<String, Json>,
}

impl SeenAlert {
    /// Whether it is a threshold rule's alert (on a group, not an event).
    pub fn is_threshold(&self) -> bool {
        self.document.contains_key("kibana.alert.threshold_result")
    }

    /// The alert in one line, numbered `n`: its events (a threshold
    /// alert's group and count) and its reason.
    pub fn line(&self, n: usize) -> String {
        if let Some(result) = self.document.get("kibana.alert.threshold_result") {
            let terms: Vec<String> = result["terms"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| format!("{}={}", t["field"].as_str().unwrap_or(""), t["value"]))
                .collect();
            return format!(
                "alert {n}  events: {}   group: {} (count {})",
                self.events.join(", "),
                terms.join(", "),
                result["count"]
            );
        }
        let reason = self
            .document
            .get("kibana.alert.reason")
            .and_then(Json::as_str)
            .unwrap_or("");
        format!(
            "alert {n}  events: {}   reason: {reason:?}",
            self.events.join(", ")
        )
    }
}

/// What a failed case's expectations say, as a diff of lines: each count
/// with the alerts that came, each field or event list expected (`-`)
/// against what came (`+`). Snapshot failures say theirs apart.
pub fn failure_lines(failures: &[Failure], alerts: &[SeenAlert]) -> Vec<String> {
    let mut lines = Vec::new();
    for f in failures.iter().filter(|f| f.kind != FailureKind::Snapshot) {
        if matches!(f.kind, FailureKind::Placeholder | FailureKind::Vacuous) {
            lines.push(format!("{}: {}", f.actual, f.expected));
            continue;
        }
        match f.alert {
            None => {
                lines.push(format!("expected {} alerts, got {}", f.expected, f.actual));
                for (n, a) in alerts.iter().enumerate() {
                    lines.push(format!("+ {}", a.line(n + 1)));
                }
            }
            Some(n) => {
                lines.push(format!(
                    "alert {n}: {}",
                    f.field.as_deref().unwrap_or("events")
                ));
                lines.push(format!("  - {}", f.expected));
                lines.push(format!("  + {}", f.actual));
            }
        }
    }
    lines
}

/// The id of the event an alert document stands on: its depth-0 ancestor.
fn source_id(doc: &Map<String, Json>) -> Option<String> {
    doc.get("kibana.alert.ancestors")?
        .as_array()?
        .iter()
        .find(|a| a.get("depth").and_then(Json::as_i64) == Some(0))
        .and_then(|a| a.get("id")?.as_str().map(str::to_string))
}

/// The alerts of a run's documents: building blocks folded into their
/// shell, in output order; a threshold alert's events are its group's,
/// from `groups` (by alert id).
pub fn seen_alerts(
    documents: &[Map<String, Json>],
    groups: &std::collections::HashMap<String, Vec<String>>,
) -> Vec<SeenAlert> {
    let block = |d: &Map<String, Json>| d.contains_key("kibana.alert.building_block_type");
    let group = |d: &Map<String, Json>| d.get("kibana.alert.group.id").cloned();
    documents
        .iter()
        .filter(|d| !block(d))
        .map(|doc| {
            let events = match group(doc) {
                Some(g) => {
                    let mut blocks: Vec<(i64, String)> = documents
                        .iter()
                        .filter(|d| block(d) && group(d).as_ref() == Some(&g))
                        .filter_map(|d| {
                            let i = d.get("kibana.alert.group.index").and_then(Json::as_i64)?;
                            Some((i, source_id(d)?))
                        })
                        .collect();
                    blocks.sort();
                    blocks.into_iter().map(|(_, id)| id).collect()
                }
                // A threshold alert's ancestor is Kibana's synthetic hit:
                // its events are the group's.
                None if doc.contains_key("kibana.alert.threshold_result") => doc
                    .get("kibana.alert.uuid")
                    .and_then(Json::as_str)
                    .and_then(|u| groups.get(u))
                    .cloned()
                    .unwrap_or_default(),
                None => source_id(doc).into_iter().collect(),
            };
            SeenAlert {
                events,
                document: doc.clone(),
            }
        })
        .collect()
}

/// What kind of expectation failed (JUnit's failure `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The number of alerts.
    AlertCount,
    /// An alert's events.
    AlertEvents,
    /// An alert's field.
    AlertField,
    /// A snapshot missing or changed (when nothing may be written).
    Snapshot,
    /// Events not filled in yet (`_placeholder = true`).
    Placeholder,
    /// A case that must not alert, none of whose events reaches the rule
    /// (a failure under `--strict`).
    Vacuous,
}

impl FailureKind {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            FailureKind::AlertCount => "alert_count",
            FailureKind::AlertEvents => "alert_events",
            FailureKind::AlertField => "alert_field",
            FailureKind::Placeholder => "placeholder",
            FailureKind::Vacuous => "vacuous",
            FailureKind::Snapshot => "snapshot",
        }
    }
}

/// One expectation not met.
#[derive(Debug, Clone)]
pub struct Failure {
    /// What kind.
    pub kind: FailureKind,
    /// What was expected, as text (JSON for values).
    pub expected: String,
    /// What came, as text.
    pub actual: String,
    /// Which alert, counting from 1, when it is about one.
    pub alert: Option<usize>,
    /// The field, for a field failure.
    pub field: Option<String>,
}

/// Holds `alerts` to what `case` expects.
pub fn expectations(case: &Case, alerts: &[SeenAlert]) -> Vec<Failure> {
    let mut failures = Vec::new();
    let n = alerts.len() as u64;
    let count = |expected: String| Failure {
        kind: FailureKind::AlertCount,
        expected,
        actual: n.to_string(),
        alert: None,
        field: None,
    };
    if let Some(exact) = case.exact() {
        if n != exact {
            failures.push(count(exact.to_string()));
        }
    }
    if let Some(min) = case.min_alerts {
        if n < min {
            failures.push(count(format!("at least {min}")));
        }
    }
    if let Some(max) = case.max_alerts {
        if n > max {
            failures.push(count(format!("at most {max}")));
        }
    }
    for (i, (want, got)) in case.expected.iter().zip(alerts).enumerate() {
        if let Some(events) = &want.events {
            if *events != got.events {
                failures.push(Failure {
                    kind: FailureKind::AlertEvents,
                    expected: events.join(", "),
                    actual: got.events.join(", "),
                    alert: Some(i + 1),
                    field: None,
                });
            }
        }
        for (field, value) in &want.fields {
            let actual = got
                .document
                .get(field)
                .or_else(|| lookup(&got.document, field));
            if actual != Some(value) {
                failures.push(Failure {
                    kind: FailureKind::AlertField,
                    expected: value.to_string(),
                    actual: actual.map_or_else(|| "(absent)".to_string(), Json::to_string),
                    alert: Some(i + 1),
                    field: Some(field.clone()),
                });
            }
        }
        for field in &want.absent {
            let actual = got
                .document
                .get(field)
                .or_else(|| lookup(&got.document, field));
            if let Some(v) = actual {
                failures.push(Failure {
                    kind: FailureKind::AlertField,
                    expected: "(absent)".into(),
                    actual: v.to_string(),
                    alert: Some(i + 1),
                    field: Some(field.clone()),
                });
            }
        }
    }
    failures
}
