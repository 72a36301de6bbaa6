//! EQL rules: an event query (each matching event an alert), a sequence
//! or a sample (each match a shell alert and one building block per
//! event). An event query with `alert_suppression` suppresses its alerts
//! in memory (see [`crate::detect::suppress`]): its events carry the
//! `group_by` fields' values.

use super::{Cap, Executor};
use crate::check::query::ParsedQuery;
use crate::diag::Diagnostic;
use crate::rule::Rule;
use crate::syntax::eql;

/// The executor of `eql` rules.
pub struct Eql;

impl Executor for Eql {
    fn parse(&self, text: &str) -> Result<ParsedQuery, Diagnostic> {
        eql::parse(text).map(ParsedQuery::Eql)
    }

    fn takes(&self, query: &ParsedQuery) -> bool {
        matches!(query, ParsedQuery::Eql(_))
    }

    fn cap(&self) -> Cap {
        // Kibana asks Elasticsearch for `max_signals` EQL results.
        Cap::Results
    }

    fn carried(&self, rule: &Rule) -> Option<(Vec<String>, bool)> {
        crate::detect::suppress::carried_fields(rule)
    }
}
