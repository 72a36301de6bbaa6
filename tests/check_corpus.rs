//! `ruleq check` on Elastic's whole detection-rules corpus: every file loads
//! and nothing is an error. Warnings and notes are counted and printed, by
//! code, so a change in what the checks find shows in the test output.
//! Needs `RULEQ_SHARED`.

mod common;

use ruleq::check;
use ruleq::diag::Severity;
use ruleq::rule;
use std::collections::BTreeMap;

#[test]
fn corpus_loads_and_checks_without_errors() {
    let Some(dir) = common::shared("corpus/detection-rules") else {
        return;
    };
    let paths = rule::collect_paths(&[dir]).expect("corpus paths");
    let files: Vec<_> = paths
        .iter()
        .map(|p| rule::load_file(p).expect("readable corpus file"))
        .collect();
    let report = check::check(files, None);
    let mut by_code: BTreeMap<(Severity, &str), usize> = BTreeMap::new();
    for f in &report.findings {
        *by_code
            .entry((f.diagnostic.severity, f.diagnostic.code))
            .or_default() += 1;
    }
    println!(
        "{} files, {} rules, {} errors, {} warnings, {} notes",
        report.files.len(),
        report.rule_count(),
        report.count(Severity::Error),
        report.count(Severity::Warning),
        report.count(Severity::Note)
    );
    for ((severity, code), n) in &by_code {
        println!("  {severity:?} {code}: {n}");
    }
    let errors: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.diagnostic.severity == Severity::Error)
        .map(|f| {
            format!(
                "{}: {}",
                report.files[f.file].path.display(),
                f.diagnostic.message
            )
        })
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(report.files.len(), 2192);
    assert_eq!(report.rule_count(), 2192, "every file yields its rule");
    // Every query's offset map re-decoded its literal exactly, so every
    // query diagnostic lands on the right byte.
    for file in &report.files {
        for r in &file.rules {
            for q in [&r.query, &r.threat_query].into_iter().flatten() {
                assert!(q.map.exact, "{}", file.path.display());
            }
        }
    }
}
