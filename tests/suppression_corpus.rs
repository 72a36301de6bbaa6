//! Elastic's own suppressed rules: the non-deprecated query rules of the
//! detection-rules corpus that set `[rule.alert_suppression]` (six in the
//! snapshot read) suppress when `ruleq run` runs every corpus rule. The
//! generated corpus profile holds no event these rules match, so
//! `tests/fixtures/suppression/corpus_query_events.ndjson` gives two
//! events per rule, in its index, sharing its group_by values (and, with
//! `event.ingested`, the rules' `timestamp_override`). Needs `RULEQ_SHARED`.

mod common;

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The suppressed query rules of the corpus: (name, group_by), from the
/// rule files themselves.
fn suppressed_query_rules(rules: &Path) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for path in common::toml_files(rules) {
        let text = std::fs::read_to_string(&path).unwrap();
        let doc: toml::Table = text.parse().unwrap();
        let deprecated = doc
            .get("metadata")
            .and_then(|m| m.get("maturity"))
            .and_then(|m| m.as_str())
            == Some("deprecated");
        let rule = common::rule_table(&path);
        if deprecated || rule.get("type").and_then(|t| t.as_str()) != Some("query") {
            continue;
        }
        let Some(suppression) = rule.get("alert_suppression") else {
            continue;
        };
        let group_by = suppression["group_by"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap().to_string())
            .collect();
        out.insert(rule["name"].as_str().unwrap().to_string(), group_by);
    }
    out
}

fn run(rules: &Path, events: &Path, args: &[&str]) -> (Vec<Value>, String) {
    let mut all = vec![
        "run",
        "-r",
        rules.to_str().unwrap(),
        events.to_str().unwrap(),
        "--format",
        "ndjson",
    ];
    all.extend(args);
    let o = common::ruleq(&all);
    let stderr = common::stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let alerts = common::stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (alerts, stderr)
}

#[test]
fn corpus_query_rules_with_alert_suppression_suppress() {
    let Some(rules) = common::shared("corpus/detection-rules/rules") else {
        return;
    };
    let started = std::time::Instant::now();
    let suppressed = suppressed_query_rules(&rules);
    assert_eq!(suppressed.len(), 6, "{suppressed:?}");
    let events = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/suppression/corpus_query_events.ndjson");
    for mode in [&[][..], &["--schedule"][..]] {
        let (alerts, stderr) = run(&rules, &events, mode);
        // Alert suppression applies to them: no note says otherwise.
        for name in suppressed.keys() {
            assert!(
                !stderr
                    .lines()
                    .any(|l| l.contains("not applied") && l.contains(name.as_str())),
                "{name}: {stderr}"
            );
        }
        let mut by_rule: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
        for a in &alerts {
            let name = a["kibana.alert.rule.name"].as_str().unwrap().to_string();
            by_rule.entry(name).or_default().push(a);
        }
        for (name, group_by) in &suppressed {
            let got = by_rule.get(name).map(Vec::as_slice).unwrap_or_default();
            // Two events, one group: one alert counting the other.
            assert_eq!(got.len(), 1, "{mode:?} {name}: {stderr}");
            let a = got[0];
            let fields: Vec<&str> = a["kibana.alert.suppression.terms"]
                .as_array()
                .unwrap_or_else(|| panic!("{name}: no suppression terms: {a}"))
                .iter()
                .map(|t| t["field"].as_str().unwrap())
                .collect();
            assert_eq!(fields, *group_by, "{name}");
            assert!(
                a["kibana.alert.suppression.terms"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|t| t["value"].is_string()),
                "{name}: scalar values: {a}"
            );
            assert_eq!(a["kibana.alert.suppression.docs_count"], 1, "{name}");
            assert!(a["kibana.alert.instance.id"].is_string(), "{name}");
            // The window's time field is the override (event.ingested).
            let start = a["kibana.alert.suppression.start"].as_str().unwrap();
            let end = a["kibana.alert.suppression.end"].as_str().unwrap();
            assert!(
                start.ends_with(":05.000Z") && end.ends_with(":25.000Z"),
                "{name}: {start} {end}"
            );
        }
    }
    eprintln!(
        "corpus suppression: {} rules, both modes in {:.1} s",
        suppressed.len(),
        started.elapsed().as_secs_f64()
    );
}
