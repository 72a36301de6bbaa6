//! What differs between rule types, behind one small trait. Kibana has a
//! rule type per executor (`rule_types/`); so does this module, one file
//! each. The machinery they share (which rules run, the executions of a
//! schedule, de-duplication and `max_signals`) sits beside it in
//! [`crate::detect`].

use crate::alert::{Alert, Context, Naming};
use crate::check::query::ParsedQuery;
use crate::detect::persist::Persist;
use crate::detect::window::{Memory, Record};
use crate::diag::Diagnostic;
use crate::engine::{Kept, Origin, Output, QueryOptions, RuleSetBuilder};
use crate::rule::{Language, Rule, RuleType};

mod eql;
mod new_terms;
mod query;
mod threat_match;
mod threshold;

/// How `max_signals` bounds one execution's alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cap {
    /// The search asks for `max_signals` results: results past them are
    /// never seen, even when earlier ones were already alerted (EQL).
    Results,
    /// The search pages on until `max_signals` new alerts are written
    /// (query rules).
    Alerts,
}

/// One rule type's part of a run: its query into the rule set, and its
/// results into alert documents.
pub trait Executor: Sync {
    /// Parses the rule's query text in the language this type runs (KQL,
    /// unless the type says otherwise).
    fn parse(&self, text: &str) -> Result<ParsedQuery, Diagnostic> {
        crate::syntax::kql::parse(text).map(ParsedQuery::Kql)
    }

    /// Whether a query the checks parsed is the one [`Executor::parse`]
    /// would give (same language), so that it need not be parsed again.
    fn takes(&self, query: &ParsedQuery) -> bool {
        matches!(query, ParsedQuery::Kql(_))
    }

    /// Adds the query to the rule set being built; its place there.
    fn compile(
        &self,
        query: &ParsedQuery,
        builder: &mut RuleSetBuilder,
        options: &QueryOptions,
    ) -> Result<usize, Diagnostic> {
        match query {
            ParsedQuery::Eql(q) => builder.add_eql(q, options),
            ParsedQuery::Kql(q) => builder.add_kql(q, options),
        }
    }

    /// Kibana filter objects the rule's events must pass besides its own
    /// `filters` (none by default).
    fn filters(&self, _rule: &Rule) -> Vec<serde_json::Value> {
        Vec::new()
    }

    /// Whether an execution writes its newest results first (so that
    /// `max_signals` keeps the newest), rather than its oldest.
    fn newest_first(&self, _rule: &Rule) -> bool {
        false
    }

    /// How `max_signals` counts (by default as a query rule's search pages
    /// on until `max_signals` new alerts are written).
    fn cap(&self) -> Cap {
        Cap::Alerts
    }

    /// The alert documents of one result, and its original time (by
    /// default: an event's alert, a sequence's or a sample's shell and
    /// building blocks).
    fn alerts(&self, ctx: &Context, result: &Output, naming: &Naming) -> (Option<i64>, Vec<Alert>) {
        crate::alert::result_alerts(ctx, result, naming)
    }

    /// Whether the type's results mean something only within an
    /// execution's window (aggregations over it): its rules then always
    /// run their schedule's executions, whatever the run's mode, as
    /// [`crate::detect::window`] runs them: each matching event becomes a
    /// [`Record`] ([`Executor::record`]), and each execution's alerts come
    /// from [`Executor::execute`] rather than from [`Executor::alerts`].
    fn windowed(&self) -> bool {
        false
    }

    /// The fields whose values the events a rule's query keeps carry
    /// (read as each event is evaluated: see
    /// [`crate::engine::CompiledQuery::values`]), and whether they carry
    /// their text; `None`: no values, and the text.
    fn carried(&self, _rule: &Rule) -> Option<(Vec<String>, bool)> {
        None
    }

    /// What a [windowed](Executor::windowed) rule keeps of a matching
    /// event (on the worker thread that found it): `None` when the event
    /// can count in no execution (it has no time).
    fn record(&self, _rule: &Rule, _kept: &Kept) -> Option<Record> {
        None
    }

    /// The history start of a [windowed](Executor::windowed) rule's
    /// executions, relative to their time, in nanoseconds (new_terms), or
    /// why it cannot be replayed.
    fn history(&self, _rule: &Rule) -> Result<Option<i64>, String> {
        Ok(None)
    }

    /// The alerts one execution of a [windowed](Executor::windowed) rule
    /// writes, each offered to `persist` (de-duplication, `max_signals`),
    /// from the records of its window and what earlier executions left in
    /// `memory`.
    fn execute(&self, _run: &Execution, _memory: &mut Memory, _persist: &mut Persist) -> Executed {
        Executed::default()
    }
}

/// One execution of a windowed rule: what [`Executor::execute`] reads.
pub struct Execution<'a, 'r> {
    /// The execution's alert context, built when first asked for (a
    /// rule's fixed fields take a tenth of a millisecond to render, and
    /// most executions write nothing).
    pub context: &'a dyn Fn() -> &'a Context<'r>,
    /// The execution's time, in nanoseconds since the epoch.
    pub time: i64,
    /// The window's start, in nanoseconds since the epoch.
    pub from: i64,
    /// A new_terms rule's history start, in nanoseconds since the epoch.
    pub history_from: Option<i64>,
    /// The records in the window, in time order.
    pub window: Vec<&'a Record>,
    /// How alert sources are named.
    pub naming: &'a Naming<'a>,
    /// The rule's saved-object id, when known (for Kibana's alert ids).
    pub saved_object: Option<&'a str>,
    /// Whether to tell which events each alert's group holds
    /// ([`Executed::groups`]).
    pub group_events: bool,
}

/// What one windowed execution wrote.
#[derive(Default)]
pub struct Executed {
    /// The results written, in output order: each one's original time and
    /// alert documents.
    pub alerts: Vec<(Option<i64>, Vec<Alert>)>,
    /// When asked for ([`Execution::group_events`]): per alert written on
    /// a group of events (threshold), its id and the group's events in
    /// time order.
    pub groups: Vec<(String, Vec<Origin>)>,
}

/// The executor that runs `rule`, or why none does (as the run's notes
/// say it, for a group of rules: "Lucene queries are not evaluated yet").
pub fn executor(rule: &Rule) -> Result<&'static dyn Executor, String> {
    let kind = rule.rule_type.as_ref().map(|t| t.value);
    let language = rule.language.as_ref().map(|l| l.value);
    let keyword = |k: RuleType| {
        serde_json::to_value(k)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    };
    match (kind, language) {
        (Some(RuleType::Eql), _) => Ok(&eql::Eql),
        (Some(RuleType::Query), Some(Language::Kuery) | None) => Ok(&query::Query),
        (Some(RuleType::Threshold), Some(Language::Kuery) | None) => Ok(&threshold::Threshold),
        (Some(RuleType::Threshold), Some(_)) => Err("Lucene queries are not evaluated yet".into()),
        (Some(RuleType::NewTerms), Some(Language::Kuery) | None) => Ok(&new_terms::NewTerms),
        (Some(RuleType::NewTerms), Some(_)) => Err("Lucene queries are not evaluated yet".into()),
        (Some(RuleType::Query), Some(_)) => Err("Lucene queries are not evaluated yet".into()),
        (Some(RuleType::ThreatMatch), Some(Language::Kuery) | None) => {
            match rule.threat_language.as_ref().map(|l| l.value) {
                Some(Language::Kuery) | None => Ok(&threat_match::ThreatMatch),
                Some(_) => Err("indicator match rules with a Lucene threat_query".into()),
            }
        }
        (Some(RuleType::ThreatMatch), Some(_)) => {
            Err("Lucene queries are not evaluated yet".into())
        }
        (Some(k @ (RuleType::Esql | RuleType::MachineLearning)), _) => {
            Err(format!("{} rules cannot be evaluated offline", keyword(k)))
        }
        (Some(k), _) => Err(format!("{} rules are not evaluated yet", keyword(k))),
        (None, _) => Err("rules without a type".into()),
    }
}
