//! Query rules: a KQL query; each matching event is an alert.

use super::{Cap, Executor};
use crate::alert::{result_alerts, Alert, Context, Naming};
use crate::check::query::ParsedQuery;
use crate::diag::Diagnostic;
use crate::engine::Output;
use crate::syntax::kql;

/// The executor of `query` rules.
pub struct Query;

impl Executor for Query {
    fn parse(&self, text: &str) -> Result<ParsedQuery, Diagnostic> {
        kql::parse(text).map(ParsedQuery::Kql)
    }

    fn takes(&self, query: &ParsedQuery) -> bool {
        matches!(query, ParsedQuery::Kql(_))
    }

    fn cap(&self) -> Cap {
        Cap::Alerts
    }

    fn alerts(&self, ctx: &Context, result: &Output, naming: &Naming) -> (Option<i64>, Vec<Alert>) {
        result_alerts(ctx, result, naming)
    }
}
