//! `ruleq check`: every check on loaded rule files, and the report.
//!
//! The loader ([`crate::rule`]) already reports what one key can tell
//! (syntax, types, enums, unknown keys). This module adds what needs several
//! keys ([`rules`]), the MITRE ATT&CK mapping ([`mitre`]), the queries
//! ([`query`]) and what needs several rules (duplicate ids and names), and
//! reports on exception-list files ([`exceptions`]), then
//! renders the [`Report`] as text, JSON or SARIF ([`output`]).

pub mod codes;
pub mod exceptions;
pub mod fields;
pub mod mitre;
pub mod output;
pub mod query;
pub mod rules;

use crate::diag::{Diagnostic, Severity};
use crate::rule::RuleFile;
use std::collections::HashMap;

/// A diagnostic, the file it is about and the rule it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Index into [`Report::files`].
    pub file: usize,
    /// Index into that file's rules, or `None` for a problem of the file.
    pub rule: Option<usize>,
    /// What was found; the span is a byte range of the file.
    pub diagnostic: Diagnostic,
}

/// Everything `ruleq check` found.
#[derive(Debug, Clone)]
pub struct Report {
    /// The files checked, in the order given.
    pub files: Vec<RuleFile>,
    /// Findings, by file and then by position in the file.
    pub findings: Vec<Finding>,
    /// How many of `files` (the last ones) are rule test files, which hold
    /// no rules (see [`crate::ruletest::lint`]).
    pub test_files: usize,
}

impl Report {
    /// How many rules were read.
    pub fn rule_count(&self) -> usize {
        self.files.iter().map(|f| f.rules.len()).sum()
    }

    /// How many findings have this severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.diagnostic.severity == severity)
            .count()
    }

    /// The `rule_id` of the rule a finding belongs to, when it has one.
    pub fn rule_id(&self, finding: &Finding) -> Option<&str> {
        let rule = &self.files[finding.file].rules[finding.rule?];
        rule.id()
    }
}

/// Runs every check on the loaded files; with a mapping, query fields are
/// checked against it too.
pub fn check(files: Vec<RuleFile>, mapping: Option<&crate::mapping::Mapping>) -> Report {
    check_parsed(files, mapping).0
}

/// [`check`], also returning each rule's query as it parsed (rule by rule,
/// in file order; `None` where a rule has no query that parses), so that
/// a caller running the rules need not parse them again.
pub fn check_parsed(
    files: Vec<RuleFile>,
    mapping: Option<&crate::mapping::Mapping>,
) -> (Report, Vec<Option<query::ParsedQuery>>) {
    // Files are checked on all cores; their findings are gathered in file
    // order, as one loop would give them.
    let indexed: Vec<(usize, &RuleFile)> = files.iter().enumerate().collect();
    let per_file = crate::par::map(&indexed, |&(fi, file)| {
        let mut findings = Vec::new();
        let mut queries = Vec::with_capacity(file.rules.len());
        for d in &file.diagnostics {
            findings.push(Finding {
                file: fi,
                rule: d.rule,
                diagnostic: d.diagnostic.clone(),
            });
        }
        for (ri, rule) in file.rules.iter().enumerate() {
            let mut diags = Vec::new();
            let parsed = query::check_queries(rule, &mut diags);
            let eql = parsed.as_ref().and_then(query::ParsedQuery::as_eql);
            if let Some(m) = mapping {
                fields::check_fields(rule, eql, m, &mut diags);
            }
            rules::check_rule(rule, file.format, eql, &mut diags);
            mitre::check_threat(rule, &mut diags);
            findings.extend(diags.into_iter().map(|diagnostic| Finding {
                file: fi,
                rule: Some(ri),
                diagnostic,
            }));
            queries.push(parsed);
        }
        (findings, queries)
    });
    let mut findings: Vec<Finding> = Vec::new();
    let mut queries = Vec::new();
    for (f, q) in per_file {
        findings.extend(f);
        queries.extend(q);
    }
    duplicates(&files, &mut findings);
    findings.sort_by_key(|f| (f.file, f.diagnostic.span.start, f.diagnostic.span.end));
    (
        Report {
            files,
            findings,
            test_files: 0,
        },
        queries,
    )
}

/// Duplicate `rule_id` (an error: Kibana keys rules by it) and duplicate
/// `name` (a warning: two alerts that read alike) across everything checked.
/// Deprecated rules keep their ids and names on purpose, so they are left out.
fn duplicates(files: &[RuleFile], findings: &mut Vec<Finding>) {
    let mut ids: HashMap<&str, (usize, usize)> = HashMap::new();
    let mut names: HashMap<&str, (usize, usize)> = HashMap::new();
    for (fi, file) in files.iter().enumerate() {
        for (ri, rule) in file.rules.iter().enumerate() {
            if rule.is_deprecated() {
                continue;
            }
            let found = [
                (
                    &mut ids,
                    &rule.rule_id,
                    Severity::Error,
                    "rule::duplicate-id",
                    "rule_id",
                ),
                (
                    &mut names,
                    &rule.name,
                    Severity::Warning,
                    "rule::duplicate-name",
                    "name",
                ),
            ];
            for (seen, value, severity, code, what) in found {
                let Some(v) = value else { continue };
                let Some(&(first_file, first_at)) = seen.get(v.value.as_str()) else {
                    seen.insert(v.value.as_str(), (fi, v.span.start));
                    continue;
                };
                let first = &files[first_file];
                let (line, col) = crate::diag::line_col(&first.source, first_at);
                let mut diagnostic =
                    Diagnostic::error(code, format!("duplicate {what} `{}`", v.value), v.span)
                        .with_help(format!(
                            "first used at {}:{line}:{col}; give each rule its own {what}",
                            first.path.display()
                        ));
                diagnostic.severity = severity;
                findings.push(Finding {
                    file: fi,
                    rule: Some(ri),
                    diagnostic,
                });
            }
        }
    }
}
