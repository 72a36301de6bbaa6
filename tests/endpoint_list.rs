//! The Endpoint exception list (`endpoint_list`) on the nine corpus rules
//! that reference it, through `ruleq run`: Elastic Defend alerts generated
//! by `gen-events --profile corpus --defend-alerts`
//! (`ruleq::gen::defend`), half of them matching an item of the project's
//! fixture `tests/fixtures/exceptions/endpoint_list.ndjson`. With the list
//! given, the matching alerts raise no alert of any of the nine rules and
//! the others do; without it, every one alerts and the summary notes the
//! list as not given. Needs `RULEQ_SHARED`.

mod common;

use ruleq::gen::{generate_extra, Extras, Profile};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The fixture.
fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/exceptions/endpoint_list.ndjson")
}

/// The corpus rules whose `exceptions_list` names `endpoint_list`.
fn endpoint_list_rules(root: &Path) -> Vec<PathBuf> {
    common::toml_files(root)
        .into_iter()
        .filter(|p| {
            common::rule_table(p)
                .get("exceptions_list")
                .and_then(|l| l.as_array())
                .is_some_and(|refs| {
                    refs.iter()
                        .any(|r| r.get("list_id").and_then(|v| v.as_str()) == Some("endpoint_list"))
                })
        })
        .collect()
}

/// Per rule_id (the rules override their alerts' names with the Defend
/// alert's message), the `event.id`s its alerts stand on; and the summary.
fn run(
    rules: &[PathBuf],
    events: &Path,
    now: &str,
    extra: &[&str],
) -> (BTreeMap<String, BTreeSet<String>>, String) {
    let mut args: Vec<String> = vec!["run".into()];
    for r in rules {
        args.push("-r".into());
        args.push(r.to_str().unwrap().into());
    }
    args.extend(
        [events.to_str().unwrap(), "--now", now, "--format", "ndjson"]
            .iter()
            .map(|s| s.to_string()),
    );
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = common::ruleq(&args);
    let stderr = common::stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let mut by_rule: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in common::stdout(&o).lines() {
        let a: Value = serde_json::from_str(line).unwrap();
        let name = a["kibana.alert.rule.rule_id"].as_str().unwrap().to_string();
        let id = a["event"]["id"]
            .as_str()
            .or(a["event.id"].as_str())
            .or(a["kibana.alert.original_event.id"].as_str())
            .unwrap_or_else(|| panic!("no event id in {a}"))
            .to_string();
        by_rule.entry(name).or_default().insert(id);
    }
    (by_rule, stderr)
}

#[test]
fn endpoint_list_silences_its_items_on_the_defend_rules() {
    let Some(root) = common::shared("corpus/detection-rules/rules") else {
        return;
    };
    let rules = endpoint_list_rules(&root);
    assert_eq!(rules.len(), 9, "rules referencing endpoint_list");

    // One round's Defend alerts (30, at 3,000 events in).
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("endpoint-list");
    std::fs::create_dir_all(&dir).unwrap();
    let events = dir.join("events.ndjson");
    let mut text = String::new();
    let mut last_ingested = String::new();
    let extras = Extras {
        threat_hits: false,
        defend_alerts: true,
    };
    generate_extra(3_100, 1, Profile::Corpus, extras, |l| {
        if l.contains("\"defend-") {
            let v: Value = serde_json::from_str(l).unwrap();
            last_ingested = v["event"]["ingested"].as_str().unwrap().to_string();
        }
        text.push_str(l);
        text.push('\n');
    });
    std::fs::write(&events, &text).unwrap();
    assert_eq!(text.matches("\"defend-silenced-").count(), 15);
    assert_eq!(text.matches("\"defend-kept-").count(), 15);
    // The rules look back two minutes from the execution.
    let now_ns = ruleq::compile::date::parse_iso(&last_ingested).unwrap().lo + 30_000_000_000;
    let now = ruleq::compile::date::format_iso(now_ns, false);

    let (without, stderr) = run(&rules, &events, &now, &[]);
    assert!(
        stderr.contains("9 rules referencing exception list endpoint_list, which was not given"),
        "{stderr}"
    );
    let fixture = fixture();
    let (with, stderr_with) = run(
        &rules,
        &events,
        &now,
        &["--exceptions", fixture.to_str().unwrap()],
    );
    assert!(
        !stderr_with.contains("endpoint_list, which was not given"),
        "{stderr_with}"
    );
    assert!(!stderr_with.contains("is not applied"), "{stderr_with}");

    assert_eq!(
        without.len(),
        9,
        "every rule alerts without the list: {without:?}"
    );
    for (rule, ids) in &without {
        let silenced: BTreeSet<String> = ids
            .iter()
            .filter(|id| id.starts_with("defend-silenced-"))
            .cloned()
            .collect();
        let kept: BTreeSet<String> = ids
            .iter()
            .filter(|id| id.starts_with("defend-kept-"))
            .cloned()
            .collect();
        assert_eq!(silenced.len() + kept.len(), ids.len(), "{rule}: {ids:?}");
        assert!(!silenced.is_empty() && !kept.is_empty(), "{rule}: {ids:?}");
        assert_eq!(with.get(rule), Some(&kept), "{rule} with the list");
        eprintln!(
            "{rule}: {} alerts without the list, {} with it",
            ids.len(),
            kept.len()
        );
    }
    // "Endpoint Security (Elastic Defend)" takes every Defend alert.
    assert_eq!(without["9a1a2dae-0b5f-4c3d-8305-a268d404c306"].len(), 30);
}
