//! Query rules: a KQL query; each matching event is an alert (the
//! trait's defaults). A rule with `alert_suppression` groups its matches
//! by its `group_by` fields instead (see [`crate::detect::suppress`]):
//! its events carry those fields' values.

use super::Executor;
use crate::rule::Rule;

/// The executor of `query` rules.
pub struct Query;

impl Executor for Query {
    fn carried(&self, rule: &Rule) -> Option<(Vec<String>, bool)> {
        crate::detect::suppress::carried_fields(rule)
    }
}
