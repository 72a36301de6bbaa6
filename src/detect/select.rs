//! Which rules run, and the reason for each one that does not: rules with
//! errors do not load; deprecated rules and rule types without an
//! executor are not run; the others are compiled into one rule set, with
//! their filters, index patterns and timestamp settings.

use super::executor::{executor, Executor};
use super::schedule::Schedule;
use crate::check::query::{into_file, ParsedQuery};
use crate::check::{self, Report};
use crate::diag::{Diagnostic, Severity};
use crate::engine::{IndexPatterns, QueryOptions, RuleSet, RuleSetBuilder};
use crate::exceptions::Exceptions;
use crate::mapping::Mapping;
use crate::rule::{Rule, RuleFile};
use serde_json::Value;

/// A rule that runs.
pub struct Selected {
    /// Its file's place in [`Selection::report`].
    pub file: usize,
    /// Its place in the file.
    pub rule: usize,
    /// Its query's place in [`Selection::set`].
    pub query: usize,
    /// What runs it.
    pub executor: &'static dyn Executor,
}

/// The rules of some rule files, sorted into those that run and those that
/// do not.
pub struct Selection {
    /// The files, their rules and what the checks found.
    pub report: Report,
    /// The rules that run, in file order.
    pub selected: Vec<Selected>,
    /// (why, rule name) for each rule that does not run, though it loaded.
    pub not_run: Vec<(String, String)>,
    /// The check errors that kept rules (or whole files) from loading.
    pub errors: Report,
    /// Queries that parsed but did not compile, each rendered against its
    /// file (these rules do not run either).
    pub compile_errors: Vec<String>,
    /// Rules that did not load: one per rule (or file) with a check
    /// error, and one per query that did not compile.
    pub failed: usize,
    /// The compiled queries of the rules that run.
    pub set: RuleSet,
    /// (what, rule name) for each exception list a rule references that was
    /// not given, and each exception item not applied.
    pub exception_notes: Vec<(String, String)>,
    /// Exception items applied, over every rule that runs.
    pub exception_items: usize,
}

impl Selection {
    /// The rule `s` names.
    pub fn rule(&self, s: &Selected) -> &Rule {
        &self.report.files[s.file].rules[s.rule]
    }

    /// Checks `files` and compiles the rules that run, each with `options`
    /// adjusted to the rule (its timestamp, category and tiebreaker
    /// fields, and, when `bound_by_look_back`, its look-back as the
    /// longest sequence).
    pub fn new(
        files: Vec<RuleFile>,
        mapping: Option<&Mapping>,
        options: &QueryOptions,
        bound_by_look_back: bool,
        exceptions: &Exceptions,
    ) -> Self {
        // The checks decide which rules load: a rule with an error does not run.
        let (report, checked) = check::check_parsed(files, mapping);
        let errors: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.diagnostic.severity == Severity::Error)
            .cloned()
            .collect();
        // Each rule with an error, or each file with one outside any rule (a
        // file that does not parse has no rules at all), counts once.
        let mut broken: Vec<(usize, Option<usize>)> =
            errors.iter().map(|f| (f.file, f.rule)).collect();
        broken.sort_unstable();
        broken.dedup();
        let errors = Report {
            files: if errors.is_empty() {
                Vec::new()
            } else {
                report.files.clone()
            },
            findings: errors,
            test_files: 0,
        };
        let rules: Vec<&Rule> = report.files.iter().flat_map(|f| &f.rules).collect();
        // The checks parsed most queries already; the rest parse on all cores.
        let mut parsed: Vec<Option<Result<ParsedQuery, Diagnostic>>> = rules
            .iter()
            .zip(checked)
            .map(|(rule, checked)| taken_query(rule, checked))
            .collect();
        let rest: Vec<usize> = (0..rules.len()).filter(|&i| parsed[i].is_none()).collect();
        for (i, p) in rest
            .iter()
            .zip(crate::par::map(&rest, |&i| parse_query(rules[i])))
        {
            parsed[*i] = p;
        }
        let mut builder = RuleSetBuilder::new(mapping);
        let mut selected = Vec::new();
        let mut not_run = Vec::new();
        let mut compile_errors = Vec::new();
        let mut failed = broken.len();
        let mut exception_notes = Vec::new();
        let mut exception_items = 0;
        let mut parsed = parsed.into_iter();
        for (fi, file) in report.files.iter().enumerate() {
            for (ri, rule) in file.rules.iter().enumerate() {
                let parsed = parsed.next().flatten();
                if broken.contains(&(fi, Some(ri))) || broken.contains(&(fi, None)) {
                    continue;
                }
                let name = rule_name(rule).to_string();
                let executor = match executor(rule) {
                    // Elastic no longer ships them: Kibana has none installed.
                    _ if rule.is_deprecated() => Err("deprecated rules".to_string()),
                    other => other,
                };
                let executor = match executor {
                    Ok(e) => e,
                    Err(why) => {
                        not_run.push((why, name));
                        continue;
                    }
                };
                let (Some(query), Some(parsed)) = (&rule.query, parsed) else {
                    not_run.push(("rules without a query".into(), name));
                    continue;
                };
                let filters = match rule.extra("filters") {
                    Some(Value::Array(items)) => items,
                    _ => Vec::new(),
                };
                // The rule's exceptions, as the negated filter Kibana builds.
                let mut filters = filters;
                let applied = exceptions.for_rule(rule);
                for list in &applied.missing {
                    exception_notes.push((
                        format!("rules referencing exception list {list}, which was not given (--exceptions FILE)"),
                        name.clone(),
                    ));
                }
                for why in &applied.skipped {
                    exception_notes
                        .push((format!("rules whose exception item {why}"), name.clone()));
                }
                let applied_items = applied.items;
                filters.extend(applied.filter);
                filters.extend(executor.filters(rule));
                let filters = match builder.kibana_filters(&filters) {
                    Ok(f) => f,
                    Err(e) => {
                        not_run.push((format!("rules with unsupported filters ({e})"), name));
                        continue;
                    }
                };
                let added = parsed.and_then(|q| {
                    executor.compile(
                        &q,
                        &mut builder,
                        &rule_options(rule, options, bound_by_look_back),
                    )
                });
                match added {
                    Ok(index) => {
                        exception_items += applied_items;
                        builder.set_filters(index, filters);
                        if let Some((fields, keep_source)) = executor.carried(rule) {
                            let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
                            builder.carry_values(index, &fields, keep_source);
                        }
                        if rule.data_view_id.is_none() && !rule.index.is_empty() {
                            let patterns = rule.index.iter().map(|p| p.value.as_str());
                            builder.restrict(index, IndexPatterns::new(patterns));
                        }
                        selected.push(Selected {
                            file: fi,
                            rule: ri,
                            query: index,
                            executor,
                        });
                    }
                    Err(d) => {
                        let d = into_file(d, query);
                        compile_errors.push(d.render(
                            &file.path.display().to_string(),
                            &file.source,
                            false,
                        ));
                        failed += 1;
                    }
                }
            }
        }
        Selection {
            report,
            selected,
            not_run,
            errors,
            compile_errors,
            failed,
            set: builder.finish(),
            exception_notes,
            exception_items,
        }
    }

    /// Settings Kibana applies that this run does not: (setting, names of
    /// the rules that have it), once per setting. (A rule's exception lists
    /// apply when given: see [`Selection::exception_notes`]; alert
    /// suppression applies but to EQL sequences and samples.)
    pub fn unapplied(&self) -> Vec<(&'static str, Vec<&str>)> {
        let suppression: Vec<&str> = self
            .selected
            .iter()
            .filter(|s| {
                super::suppress::not_suppressed(self.rule(s), &self.set.queries[s.query].plan)
            })
            .map(|s| rule_name(self.rule(s)))
            .collect();
        [("alert_suppression of EQL sequences", suppression)]
            .into_iter()
            .filter(|(_, names)| !names.is_empty())
            .collect()
    }
}

/// The rule's name, or `(unnamed)`.
pub fn rule_name(rule: &Rule) -> &str {
    rule.name.as_ref().map_or("(unnamed)", |n| n.value.as_str())
}

/// The options `rule`'s query compiles with: its timestamp field (and
/// Kibana's fallback to `@timestamp`), category and tiebreaker fields, and
/// (when `bound`) its look-back window as the longest sequence.
pub fn rule_options(rule: &Rule, options: &QueryOptions, bound: bool) -> QueryOptions {
    let mut opts = options.clone();
    if let Some(t) = &rule.timestamp_override {
        opts.timestamp_field = t.value.clone();
        // Kibana falls back to `@timestamp` for events without the
        // override unless the rule turns that off.
        let disabled =
            rule.extra("timestamp_override_fallback_disabled") == Some(Value::Bool(true));
        if !disabled {
            opts.timestamp_fallback = Some("@timestamp".into());
        }
    }
    if let Some(Value::String(c)) = rule.extra("event_category_override") {
        opts.category_field = c;
    }
    if let Some(Value::String(t)) = rule.extra("tiebreaker_field") {
        opts.tiebreaker_field = Some(t);
    }
    // No execution of the rule sees a sequence longer than its look-back
    // window whole: partial sequences expire after it.
    if bound {
        opts.default_maxspan = Schedule::of(rule).ok().map(|s| s.to - s.from);
    }
    opts
}

/// The rule's query parsed by its executor; `None` for rules no executor
/// runs and rules without a query.
fn parse_query(rule: &Rule) -> Option<Result<ParsedQuery, Diagnostic>> {
    let query = rule.query.as_ref()?;
    Some(executor(rule).ok()?.parse(&query.text))
}

/// The query as the checks parsed it (in the rule's `language`), when that
/// is the language the rule's executor runs; `None` otherwise.
fn taken_query(
    rule: &Rule,
    checked: Option<ParsedQuery>,
) -> Option<Result<ParsedQuery, Diagnostic>> {
    rule.query.as_ref()?;
    let checked = checked?;
    executor(rule).ok()?.takes(&checked).then_some(Ok(checked))
}
