//! EQL rules: an event query (each matching event an alert), a sequence
//! or a sample (each match a shell alert and one building block per
//! event).

use super::{Cap, Executor};
use crate::check::query::ParsedQuery;
use crate::diag::Diagnostic;
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
}
