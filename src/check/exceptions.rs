//! `ruleq check --exceptions FILE`: exception-list files checked next to
//! the rules. What the loader found ([`crate::exceptions::load`]) is
//! reported like a rule file's diagnostics, and each list that no checked
//! rule names in its `exceptions_list` (by `list_id` and `namespace_type`,
//! as Kibana links them) draws an `exceptions::unreferenced` warning.

use super::{Finding, Report};
use crate::diag::Diagnostic;
use crate::exceptions::load::{ExceptionFile, FileForm};
use crate::rule::{Format, RuleFile};
use std::collections::HashSet;

/// The `(list_id, namespace_type)` pairs the rules of `report` reference
/// (`namespace_type` is `single` when a reference leaves it out).
pub fn referenced(report: &Report) -> HashSet<(String, String)> {
    let mut out = HashSet::new();
    for rule in report.files.iter().flat_map(|f| &f.rules) {
        let Some(serde_json::Value::Array(refs)) = rule.extra("exceptions_list") else {
            continue;
        };
        for r in &refs {
            let Some(list_id) = r.get("list_id").and_then(|v| v.as_str()) else {
                continue;
            };
            let namespace = r
                .get("namespace_type")
                .and_then(|v| v.as_str())
                .unwrap_or("single");
            out.insert((list_id.to_string(), namespace.to_string()));
        }
    }
    out
}

/// Adds the exception files, what loading them found and their
/// unreferenced lists to the report, after its rule files. Call it before
/// test files are added (they stay last).
pub fn add_exception_files(report: &mut Report, files: Vec<ExceptionFile>) {
    let used = referenced(report);
    for file in files {
        let index = report.files.len();
        let mut diags = file.diagnostics;
        for (list, span) in file.lists.iter().zip(&file.spans) {
            let key = (list.list_id.clone(), list.namespace_type.clone());
            if used.contains(&key) {
                continue;
            }
            diags.push(
                Diagnostic::warning(
                    "exceptions::unreferenced",
                    format!(
                        "the exception list `{}` ({}) is referenced by no checked rule",
                        list.list_id, list.namespace_type
                    ),
                    *span,
                )
                .with_help(format!(
                    "name it in a rule's `exceptions_list` (list_id = \"{}\", namespace_type = \
                     \"{}\"), or check the rules that use it along with it",
                    list.list_id, list.namespace_type
                )),
            );
        }
        diags.sort_by_key(|d| (d.span.start, d.span.end));
        report
            .findings
            .extend(diags.into_iter().map(|diagnostic| Finding {
                file: index,
                rule: None,
                diagnostic,
            }));
        report.files.push(RuleFile {
            path: file.path,
            source: file.source,
            format: match file.form {
                FileForm::Ndjson => Format::Ndjson,
                FileForm::Toml => Format::Toml,
            },
            rules: Vec::new(),
            diagnostics: Vec::new(),
        });
    }
}
