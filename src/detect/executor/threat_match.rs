//! Indicator match (`threat_match`) rules: an event query whose matches
//! alert only when an indicator matches them too (see
//! [`crate::indicators`]). Each matching event gives one alert, its
//! `threat.enrichments` appended; when `max_signals` cuts an execution,
//! the newest events are the ones written (Kibana searches them newest
//! first).

use super::Executor;
use crate::indicators::ThreatRule;
use crate::rule::Rule;
use serde_json::Value;

/// Runs `threat_match` rules.
pub struct ThreatMatch;

impl Executor for ThreatMatch {
    fn filters(&self, rule: &Rule) -> Vec<Value> {
        // Kibana's event mapping filter: the events that could match.
        match ThreatRule::of(rule, None) {
            Some(Ok(t)) => vec![t.event_filter()],
            _ => Vec::new(),
        }
    }

    fn carried(&self, rule: &Rule) -> Option<(Vec<String>, bool)> {
        // A suppressed rule's events carry their `group_by` values, then
        // every rule's events the values of its mapping's lead fields:
        // most events hold no indicator's value, and need not be read
        // whole to tell.
        let mut fields = crate::detect::suppress::carried_fields(rule)
            .map(|(f, _)| f)
            .unwrap_or_default();
        if let Some(Ok(t)) = ThreatRule::of(rule, None) {
            fields.extend(t.lead_fields().iter().cloned());
        }
        Some((fields, true))
    }

    fn newest_first(&self, rule: &Rule) -> bool {
        // Ascending when suppression is configured (Kibana sorts so that
        // the earliest event of a group represents it).
        rule.alert_suppression.is_none()
    }
}
