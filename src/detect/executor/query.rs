//! Query rules: a KQL query; each matching event is an alert (the
//! trait's defaults).

use super::Executor;

/// The executor of `query` rules.
pub struct Query;

impl Executor for Query {}
