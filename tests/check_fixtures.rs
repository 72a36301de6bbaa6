//! `ruleq check` on broken rule fixtures: each fixture under
//! `tests/fixtures/rules/` has one problem (a directory is one fixture of
//! several files). The human output is snapshotted; the test also pins the
//! exact set of codes each fixture produces and the JSON and SARIF shapes.

use ruleq::check::{self, output, Report};
use ruleq::diag::line_col;
use ruleq::rule;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const DIR: &str = "tests/fixtures/rules";

/// Fixture name → the codes it must produce, exactly.
const EXPECTED: &[(&str, &[&str])] = &[
    ("date_format.toml", &["rule::date"]),
    ("date_order.toml", &["rule::date-order"]),
    ("duplicate_deprecated", &[]),
    ("duplicate_id", &["rule::duplicate-id"]),
    ("duplicate_name", &["rule::duplicate-name"]),
    ("eql_error.toml", &["eql::syntax"]),
    ("eql_error_escaped.toml", &["eql::syntax"]),
    ("esql_not_evaluated.toml", &["rule::not-evaluated"]),
    ("export_count.ndjson", &["rule::export-count"]),
    (
        "export_eql_error.ndjson",
        &["eql::syntax", "rule::not-a-rule"],
    ),
    ("from_date_math.toml", &["rule::date-math"]),
    ("interval.toml", &["rule::interval"]),
    ("json_syntax.json", &["rule::syntax"]),
    ("kql_error.toml", &["kql::syntax"]),
    ("language_mismatch.toml", &["rule::language"]),
    ("lucene_not_evaluated.toml", &["rule::not-evaluated"]),
    ("max_signals.toml", &["rule::max-signals"]),
    ("maxspan_lookback.toml", &["rule::maxspan-lookback"]),
    ("missing_name.toml", &["rule::missing-key"]),
    ("mitre_framework.toml", &["mitre::framework"]),
    ("mitre_reference.toml", &["mitre::reference"]),
    ("negative_lookback.toml", &["rule::lookback"]),
    ("risk_band.toml", &["rule::risk-band"]),
    ("risk_score_range.toml", &["rule::risk-score"]),
    ("risk_score_type.toml", &["rule::type"]),
    ("rule_id_not_uuid.toml", &["rule::rule-id"]),
    ("rule_missing_severity.json", &["rule::missing-key"]),
    ("subtechnique_id.toml", &["mitre::subtechnique-id"]),
    ("subtechnique_parent.toml", &["mitre::subtechnique-parent"]),
    ("tactic_id.toml", &["mitre::tactic-id"]),
    ("tactic_name.toml", &["mitre::tactic-name"]),
    ("technique_id.toml", &["mitre::technique-id"]),
    ("threat_query_error.toml", &["kql::syntax"]),
    ("toml_syntax.toml", &["rule::syntax"]),
    ("unknown_key.toml", &["rule::unknown-key"]),
    ("unknown_severity.toml", &["rule::enum"]),
    ("unknown_type.toml", &["rule::enum"]),
    ("valid.toml", &[]),
];

fn fixtures() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(DIR)
        .expect("fixture folder")
        .map(|e| e.expect("entry").path())
        .collect();
    out.sort();
    out
}

fn run(path: &Path) -> Report {
    let paths = rule::collect_paths(&[path.to_path_buf()]).expect("fixture paths");
    let files = paths
        .iter()
        .map(|p| rule::load_file(p).expect("readable fixture"))
        .collect();
    check::check(files, None)
}

fn name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn every_fixture_is_listed_with_its_codes() {
    let on_disk: BTreeSet<String> = fixtures().iter().map(|p| name(p)).collect();
    let listed: BTreeSet<String> = EXPECTED.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(on_disk, listed, "fixtures on disk and in EXPECTED differ");
}

#[test]
fn fixtures_produce_exactly_their_codes() {
    for path in fixtures() {
        let n = name(&path);
        let report = run(&path);
        let codes: BTreeSet<&str> = report.findings.iter().map(|f| f.diagnostic.code).collect();
        let expected: BTreeSet<&str> = EXPECTED
            .iter()
            .find(|(f, _)| *f == n)
            .map(|(_, c)| c.iter().copied().collect())
            .unwrap();
        assert_eq!(codes, expected, "{n}");
    }
}

#[test]
fn human_output_snapshots() {
    for path in fixtures() {
        let report = run(&path);
        let text = output::human(&report, false);
        insta::assert_snapshot!(name(&path), text);
    }
}

#[test]
fn seed_rules_check_clean() {
    let report = run(Path::new("rules"));
    assert_eq!(report.rule_count(), 5);
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
}

/// The JSON object's counts agree with the findings, and each diagnostic's
/// position is the 1-based line and column of its span.
#[test]
fn json_output_locates_every_diagnostic() {
    for path in fixtures() {
        let report = run(&path);
        let json = output::json(&report);
        let diags = json["diagnostics"].as_array().unwrap();
        assert_eq!(diags.len(), report.findings.len());
        let count = |s: &str| diags.iter().filter(|d| d["severity"] == s).count();
        assert_eq!(json["errors"].as_u64().unwrap() as usize, count("error"));
        assert_eq!(
            json["warnings"].as_u64().unwrap() as usize,
            count("warning")
        );
        assert_eq!(json["notes"].as_u64().unwrap() as usize, count("note"));
        assert_eq!(json["files"].as_u64().unwrap() as usize, report.files.len());
        for (d, f) in diags.iter().zip(&report.findings) {
            let src = &report.files[f.file].source;
            let (line, col) = line_col(src, f.diagnostic.span.start);
            assert_eq!(d["line"].as_u64().unwrap() as usize, line);
            assert_eq!(d["column"].as_u64().unwrap() as usize, col);
            assert!(d["end_line"].as_u64() >= d["line"].as_u64());
            assert_eq!(d["code"], f.diagnostic.code);
            for key in ["file", "message", "help", "rule_id", "end_column"] {
                assert!(d.get(key).is_some(), "{key} missing");
            }
        }
    }
}

/// Where EQL and KQL query errors land in the file, through `'''`, `"""`
/// with escapes (`query` and `threat_query`), and JSON escapes.
#[test]
fn query_errors_point_into_the_file() {
    let cases = [
        ("eql_error.toml", "eql::syntax", 25, 31, "="),
        ("eql_error_escaped.toml", "eql::syntax", 23, 113, "="),
        ("export_eql_error.ndjson", "eql::syntax", 2, 347, "="),
        ("kql_error.toml", "kql::syntax", 24, 25, "("),
        ("threat_query_error.toml", "kql::syntax", 30, 87, "("),
    ];
    for (fixture, code, line, column, caret) in cases {
        let report = run(&Path::new(DIR).join(fixture));
        let json = output::json(&report);
        let d = json["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["code"] == code)
            .unwrap();
        assert_eq!(
            (d["line"].as_u64(), d["column"].as_u64()),
            (Some(line), Some(column)),
            "{fixture}"
        );
        // The caret sits on the offending text in the file itself.
        let f = report
            .findings
            .iter()
            .find(|f| f.diagnostic.code == code)
            .unwrap();
        let src = &report.files[f.file].source;
        assert_eq!(
            &src[f.diagnostic.span.start..f.diagnostic.span.end],
            caret,
            "{fixture}"
        );
        assert!(d["rule_id"].is_string(), "{fixture}");
    }
}

/// The SARIF log has the shape SARIF 2.1.0 and GitHub code scanning require:
/// a driver with rule descriptors, and results with a level, a message and
/// a physical location whose region starts at a positive line and column.
#[test]
fn sarif_output_is_well_formed() {
    let report = run(Path::new(DIR));
    assert!(!report.findings.is_empty());
    let sarif = output::sarif(&report);
    assert_eq!(sarif["version"], "2.1.0");
    assert!(sarif["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let runs = sarif["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let driver = &runs[0]["tool"]["driver"];
    assert_eq!(driver["name"], "ruleq");
    let rules = driver["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), unique.len(), "rule descriptors must be unique");
    for r in rules {
        assert!(!r["shortDescription"]["text"].as_str().unwrap().is_empty());
    }
    let results = runs[0]["results"].as_array().unwrap();
    assert_eq!(results.len(), report.findings.len());
    for r in results {
        let level = r["level"].as_str().unwrap();
        assert!(["error", "warning", "note"].contains(&level));
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], r["ruleId"]);
        assert!(!r["message"]["text"].as_str().unwrap().is_empty());
        let loc = &r["locations"][0]["physicalLocation"];
        let uri = loc["artifactLocation"]["uri"].as_str().unwrap();
        assert!(uri.starts_with("tests/fixtures/rules/"), "{uri}");
        assert!(!uri.contains('\\'));
        let region = &loc["region"];
        for key in ["startLine", "startColumn", "endLine", "endColumn"] {
            assert!(region[key].as_u64().unwrap() >= 1, "{key}");
        }
        assert!(region["endLine"].as_u64() >= region["startLine"].as_u64());
    }
    // A round trip through text keeps it valid JSON.
    let text = serde_json::to_string(&sarif).unwrap();
    let _: Value = serde_json::from_str(&text).unwrap();
}
