//! The query checks: each query is parsed with the front end of the
//! language its rule names, and parse errors are moved from query offsets to
//! file offsets through the string literal's escapes.
//!
//! EQL and KQL queries (and KQL `threat_query` values) are parsed. Languages
//! ruleq does not evaluate (ES|QL, Lucene) get a note, and so do machine
//! learning rules, which have no query.

use crate::diag::Diagnostic;
use crate::rule::{Language, QueryText, Rule, RuleType, Spanned};
use crate::syntax::{eql, kql};

/// A rule's query as it parsed.
#[derive(Debug, Clone)]
pub enum ParsedQuery {
    /// An EQL query.
    Eql(eql::Query),
    /// A KQL query.
    Kql(kql::Query),
}

impl ParsedQuery {
    /// The EQL query, when it is one.
    pub fn as_eql(&self) -> Option<&eql::Query> {
        match self {
            ParsedQuery::Eql(q) => Some(q),
            ParsedQuery::Kql(_) => None,
        }
    }
}

/// Checks the rule's `query` and `threat_query`; returns the rule's query
/// when it parses (EQL or KQL), for checks that need its structure and
/// for running it.
pub fn check_queries(rule: &Rule, diags: &mut Vec<Diagnostic>) -> Option<ParsedQuery> {
    let mut parsed = None;
    let not_evaluated = |what: String, span| {
        Diagnostic::note("rule::not-evaluated", what, span)
            .with_help("ruleq checks this rule's metadata only; its query is not parsed or run")
    };
    if let Some(t) = rule
        .rule_type
        .as_ref()
        .filter(|t| t.value == RuleType::MachineLearning)
    {
        diags.push(not_evaluated(
            "machine learning rules are not evaluated by ruleq".into(),
            t.span,
        ));
        return None;
    }
    if let (Some(query), Some(language)) = (&rule.query, &rule.language) {
        // A language the rule type does not run is already an error; parsing
        // the query in it would only add noise.
        let fits = rule
            .rule_type
            .as_ref()
            .is_none_or(|t| super::rules::language_fits(t.value, language.value));
        if fits {
            parsed = check_query(query, language, diags, not_evaluated);
        }
    }
    if let (Some(query), Some(language)) = (&rule.threat_query, &rule.threat_language) {
        check_query(query, language, diags, not_evaluated);
    }
    parsed
}

fn check_query(
    query: &QueryText,
    language: &Spanned<Language>,
    diags: &mut Vec<Diagnostic>,
    not_evaluated: impl Fn(String, crate::syntax::Span) -> Diagnostic,
) -> Option<ParsedQuery> {
    match language.value {
        Language::Eql => match eql::parse(&query.text) {
            Ok(q) => return Some(ParsedQuery::Eql(q)),
            Err(d) => diags.push(into_file(d, query)),
        },
        Language::Esql => diags.push(not_evaluated(
            "ES|QL queries are not evaluated by ruleq".into(),
            language.span,
        )),
        Language::Lucene => diags.push(not_evaluated(
            "Lucene queries are not evaluated by ruleq".into(),
            language.span,
        )),
        Language::Kuery => match kql::parse(&query.text) {
            Ok(q) => return Some(ParsedQuery::Kql(q)),
            Err(d) => diags.push(into_file(d, query)),
        },
    }
    None
}

/// Moves a query diagnostic into the file.
pub fn into_file(mut d: Diagnostic, query: &QueryText) -> Diagnostic {
    d.span = query.map.span_to_file(d.span);
    d
}
