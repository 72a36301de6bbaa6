//! `gen-events --profile corpus --indicators FILE`
//! (`ruleq::gen::indicators`): for each of the corpus's six indicator match
//! rules, every indicator of its kind passes the rule's `threat_query`,
//! `threat_filters` and `threat_index` (run through ruleq as a query rule
//! over the indicator file, at a `--now` near the events' time; at a later
//! `--now` the rules' `now-30d/d` date math leaves none), and some of its
//! indicator values are values generated events carry in the fields the
//! rule maps to them. The indicator match executor is not needed. Needs
//! `RULEQ_SHARED`.

mod common;

use ruleq::gen::{generate_extra, indicators, Extras, Profile};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

const EVENTS: u64 = 120_000;
const INDICATORS: u64 = 4_000;

/// A folder of its own for one test run, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("ruleq-gen-indicators-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The values at dotted `path` in `doc` (nested objects, or dotted keys;
/// arrays flattened), as text.
fn values(doc: &Value, path: &str, out: &mut Vec<String>) {
    match doc {
        Value::Array(items) => items.iter().for_each(|v| values(v, path, out)),
        Value::Object(map) => {
            if let Some(v) = map.get(path) {
                match v {
                    Value::String(s) => out.push(s.clone()),
                    Value::Array(_) => values(v, "", out),
                    Value::Null | Value::Object(_) => {}
                    other => out.push(other.to_string()),
                }
            }
            for (i, _) in path.match_indices('.') {
                if let Some(inner) = map.get(&path[..i]) {
                    values(inner, &path[i + 1..], out);
                }
            }
        }
        Value::String(s) if path.is_empty() => out.push(s.clone()),
        _ => {}
    }
}

/// The six non-deprecated `threat_match` rules of the corpus.
fn threat_match_rules(root: &Path) -> Vec<toml::Table> {
    common::toml_files(root)
        .into_iter()
        .filter(|p| !p.components().any(|c| c.as_os_str() == "_deprecated"))
        .filter_map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let doc: toml::Table = text.parse().ok()?;
            let deprecated = doc
                .get("metadata")
                .and_then(|m| m.get("maturity"))
                .and_then(|m| m.as_str())
                == Some("deprecated");
            let rule = common::rule_table(&p);
            (rule.get("type").and_then(|t| t.as_str()) == Some("threat_match") && !deprecated)
                .then_some(rule)
        })
        .collect()
}

fn json_of(v: &toml::Value) -> Value {
    serde_json::to_value(v).unwrap()
}

/// Runs query rules `rules` (Kibana rule JSON) over `file` at `now`; the
/// alert count per rule_id.
fn run(dir: &Path, rules: &[Value], file: &Path, now: &str) -> BTreeMap<String, usize> {
    let rules_path = dir.join(format!("as-query-{now}.ndjson").replace(':', "-"));
    let text: String = rules.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(&rules_path, text).unwrap();
    let out = dir.join("alerts.ndjson");
    let o = common::ruleq(&[
        "run",
        "-r",
        rules_path.to_str().unwrap(),
        file.to_str().unwrap(),
        "--now",
        now,
        "--format",
        "ndjson",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let mut counts = BTreeMap::new();
    for line in std::fs::read_to_string(&out).unwrap().lines() {
        let alert: Value = serde_json::from_str(line).unwrap();
        let id = alert["kibana.alert.rule.rule_id"]
            .as_str()
            .unwrap()
            .to_string();
        *counts.entry(id).or_insert(0) += 1;
    }
    counts
}

#[test]
fn indicators_pass_their_rules_threat_query_and_some_are_hit() {
    let Some(root) = common::shared("corpus/detection-rules/rules") else {
        return;
    };
    let scratch = Scratch::new("rules");
    let rules = threat_match_rules(&root);
    assert_eq!(rules.len(), 6, "non-deprecated threat_match rules");

    // The events, with the indicators' events, and the indicators.
    let extras = Extras {
        threat_hits: true,
        defend_alerts: false,
    };
    let mut events: Vec<Value> = Vec::new();
    let mut last_time = String::new();
    generate_extra(EVENTS, 1, Profile::Corpus, extras, |l| {
        let v: Value = serde_json::from_str(l).unwrap();
        last_time = v["@timestamp"].as_str().unwrap().to_string();
        events.push(v);
    });
    let mut text = String::new();
    let mut docs: Vec<Value> = Vec::new();
    indicators(INDICATORS, 1, EVENTS, |l| {
        text.push_str(l);
        text.push('\n');
        docs.push(serde_json::from_str(l).unwrap());
    });
    let mut again = String::new();
    indicators(INDICATORS, 1, EVENTS, |l| {
        again.push_str(l);
        again.push('\n');
    });
    assert_eq!(text, again, "not deterministic");
    let file = scratch.0.join("indicators.ndjson");
    std::fs::write(&file, &text).unwrap();
    for d in &docs {
        assert!(d["_index"].is_string() && d["_id"].is_string(), "{d}");
    }

    // Each rule's threat_query, threat_filters and threat_index, as a query
    // rule over the indicators.
    let as_query: Vec<Value> = rules
        .iter()
        .map(|r| {
            let mut rule = json!({
                "rule_id": json_of(&r["rule_id"]),
                "name": json_of(&r["name"]),
                "description": "threat_query as a query rule",
                "type": "query",
                "language": "kuery",
                "index": json_of(&r["threat_index"]),
                "query": json_of(&r["threat_query"]),
                "from": "now-40d",
                "interval": "5m",
                "max_signals": 100_000,
                "risk_score": 21,
                "severity": "low",
            });
            if let Some(f) = r.get("threat_filters") {
                rule["filters"] = json_of(f);
            }
            rule
        })
        .collect();
    let passed = run(&scratch.0, &as_query, &file, &last_time);

    let mut report = Vec::new();
    for rule in &rules {
        let id = rule["rule_id"].as_str().unwrap();
        let name = rule["name"].as_str().unwrap();
        let mapping: Vec<(String, String)> = rule["threat_mapping"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["entries"].as_array().unwrap().iter())
            .map(|e| {
                let s = |k: &str| e[k].as_str().unwrap().to_string();
                (s("field"), s("value"))
            })
            .collect();
        // The indicators of the rule's kind: those holding a mapped
        // indicator field. Every one passes the rule's threat query, and
        // no other indicator does.
        let mine: Vec<&Value> = docs
            .iter()
            .filter(|d| {
                mapping.iter().any(|(_, v)| {
                    let mut out = Vec::new();
                    values(d, v, &mut out);
                    !out.is_empty()
                })
            })
            .collect();
        assert!(
            mine.len() >= INDICATORS as usize / 25,
            "{name}: {}",
            mine.len()
        );
        assert_eq!(
            passed.get(id).copied().unwrap_or(0),
            mine.len(),
            "{name}: indicators passing its threat_query and threat_filters"
        );
        // Some indicator values are event values of the mapped fields.
        let mut hit_indicators = 0;
        let mut hit_events = HashSet::new();
        let indicator_values: Vec<HashSet<String>> = mapping
            .iter()
            .map(|(_, v)| {
                let mut out = Vec::new();
                for d in &mine {
                    values(d, v, &mut out);
                }
                out.into_iter().collect()
            })
            .collect();
        let mut event_values: HashSet<String> = HashSet::new();
        for (n, e) in events.iter().enumerate() {
            for ((field, _), wanted) in mapping.iter().zip(&indicator_values) {
                let mut out = Vec::new();
                values(e, field, &mut out);
                for v in out {
                    if wanted.contains(&v) {
                        hit_events.insert(n);
                        event_values.insert(v);
                    }
                }
            }
        }
        for d in &mine {
            let mut out = Vec::new();
            for (_, v) in &mapping {
                values(d, v, &mut out);
            }
            if out.iter().any(|v| event_values.contains(v)) {
                hit_indicators += 1;
            }
        }
        assert!(
            hit_indicators > 0 && !hit_events.is_empty(),
            "{name}: no hit"
        );
        assert!(
            hit_indicators * 20 >= mine.len() && hit_indicators * 5 <= mine.len(),
            "{name}: {hit_indicators} of {} indicators hit",
            mine.len()
        );
        report.push(format!(
            "{name}: {} indicators, {hit_indicators} with a value of {} events",
            mine.len(),
            hit_events.len()
        ));
    }
    eprintln!("{}", report.join("\n"));

    // Run long after the events, `now-30d/d` leaves no indicator.
    let later = run(&scratch.0, &as_query, &file, "2026-05-01T00:00:00Z");
    assert!(later.is_empty(), "{later:?}");
}

#[test]
fn gen_events_writes_the_indicator_file_and_refuses_it_without_the_corpus_profile() {
    let scratch = Scratch::new("cli");
    let exe = Path::new(env!("CARGO_MANIFEST_DIR"));
    let gen = |args: &[&str]| {
        std::process::Command::new(env!("CARGO"))
            .current_dir(exe)
            .args(["run", "-q", "--example", "gen-events", "--"])
            .args(args)
            .output()
            .unwrap()
    };
    let file = scratch.0.join("ind.ndjson");
    let o = gen(&[
        "--profile",
        "corpus",
        "--events",
        "5000",
        "--indicators",
        file.to_str().unwrap(),
        "--indicators-count",
        "300",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 5_000);
    assert!(String::from_utf8_lossy(&o.stdout).contains("\"ti-hit-0-email-0\""));
    let text = std::fs::read_to_string(&file).unwrap();
    let mut expected = String::new();
    indicators(300, 1, 5_000, |l| {
        expected.push_str(l);
        expected.push('\n');
    });
    assert_eq!(text, expected);

    let o = gen(&["--events", "10", "--indicators", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("need --profile corpus"));
    let o = gen(&["--profile", "corpus", "--indicators-count", "5"]);
    assert_eq!(o.status.code(), Some(2));
}
