//! The three renderings of a [`Report`]: code frames for people, one JSON
//! object for scripts, and SARIF 2.1.0 for code scanning (GitHub and other
//! SARIF viewers). Lines and columns are 1-based and count characters; an
//! end column points just past the last character, as SARIF's do.

use super::codes::describe;
use super::{Finding, Report};
use crate::diag::{line_col, Severity};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Where a finding starts and ends: `(line, column, end_line, end_column)`.
fn region(report: &Report, f: &Finding) -> (usize, usize, usize, usize) {
    let src = &report.files[f.file].source;
    let (line, col) = line_col(src, f.diagnostic.span.start);
    let (end_line, end_col) = line_col(src, f.diagnostic.span.end);
    (line, col, end_line, end_col)
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The line that ends the human output.
pub fn summary(report: &Report) -> String {
    let tests = match report.test_files {
        0 => String::new(),
        n => format!(" and {}", plural(n, "test file", "test files")),
    };
    format!(
        "checked {} ({}){tests}: {}, {}, {}",
        plural(report.files.len() - report.test_files, "file", "files"),
        plural(report.rule_count(), "rule", "rules"),
        plural(report.count(Severity::Error), "error", "errors"),
        plural(report.count(Severity::Warning), "warning", "warnings"),
        plural(report.count(Severity::Note), "note", "notes"),
    )
}

/// Code frames for every finding, then the summary line.
pub fn human(report: &Report, color: bool) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let file = &report.files[f.file];
        let name = file.path.display().to_string();
        out.push_str(&f.diagnostic.render(&name, &file.source, color));
        out.push('\n');
    }
    out.push_str(&summary(report));
    out.push('\n');
    out
}

/// One JSON object: counts and a flat list of diagnostics.
pub fn json(report: &Report) -> Value {
    let diagnostics: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let (line, column, end_line, end_column) = region(report, f);
            let d = &f.diagnostic;
            json!({
                "file": report.files[f.file].path.display().to_string(),
                "line": line,
                "column": column,
                "end_line": end_line,
                "end_column": end_column,
                "severity": severity_name(d.severity),
                "code": d.code,
                "message": d.message,
                "help": d.help,
                "rule_id": report.rule_id(f),
            })
        })
        .collect();
    json!({
        "files": report.files.len() - report.test_files,
        "test_files": report.test_files,
        "rules": report.rule_count(),
        "errors": report.count(Severity::Error),
        "warnings": report.count(Severity::Warning),
        "notes": report.count(Severity::Note),
        "diagnostics": diagnostics,
    })
}

/// A path as a SARIF artifact URI: forward slashes, reserved bytes
/// percent-encoded; absolute paths become `file://` URIs.
fn uri(path: &std::path::Path) -> (String, bool) {
    let text = path.to_string_lossy().replace('\\', "/");
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    let out = out.strip_prefix("./").map(str::to_string).unwrap_or(out);
    if path.is_absolute() {
        (format!("file://{out}"), true)
    } else {
        (out, false)
    }
}

/// A SARIF 2.1.0 log with one run, one rule descriptor per code and one
/// result per finding.
pub fn sarif(report: &Report) -> Value {
    let mut codes: BTreeMap<&str, Severity> = BTreeMap::new();
    for f in &report.findings {
        let entry = codes
            .entry(f.diagnostic.code)
            .or_insert(f.diagnostic.severity);
        *entry = (*entry).max(f.diagnostic.severity);
    }
    let index: BTreeMap<&str, usize> = codes.keys().enumerate().map(|(i, c)| (*c, i)).collect();
    let rules: Vec<Value> = codes
        .iter()
        .map(|(code, severity)| {
            json!({
                "id": code,
                "shortDescription": { "text": describe(code) },
                "defaultConfiguration": { "level": severity_name(*severity) },
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let d = &f.diagnostic;
            let (line, column, end_line, end_column) = region(report, f);
            let (uri, absolute) = uri(&report.files[f.file].path);
            let mut artifact = json!({ "uri": uri });
            if !absolute {
                artifact["uriBaseId"] = json!("%SRCROOT%");
            }
            let text = match &d.help {
                Some(help) => format!("{}\nhelp: {help}", d.message),
                None => d.message.clone(),
            };
            let mut result = json!({
                "ruleId": d.code,
                "ruleIndex": index[d.code],
                "level": severity_name(d.severity),
                "message": { "text": text },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": artifact,
                        "region": {
                            "startLine": line,
                            "startColumn": column,
                            "endLine": end_line,
                            "endColumn": end_column,
                        }
                    }
                }],
            });
            if let Some(id) = report.rule_id(f) {
                result["properties"] = json!({ "rule_id": id });
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "ruleq",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}
