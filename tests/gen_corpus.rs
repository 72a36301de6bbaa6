//! `gen-events --profile corpus` (`ruleq::gen::Profile::Corpus`): 100,000
//! generated events run through `ruleq run` with every corpus rule make at
//! least 10 threshold and 40 new_terms rules alert, new terms that are new
//! against a history holding other values of the same fields, while the
//! same number of endpoint-profile events make a single rule of each type
//! alert; the output is the same every time. Needs `RULEQ_SHARED`.

mod common;

use ruleq::compile::date::{parse_date_math, parse_iso};
use ruleq::gen::{generate_with, Profile};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

const EVENTS: u64 = 100_000;

/// Threshold and new_terms rules that alert on `EVENTS` endpoint-profile
/// events (seed 1), as README.md's "Generated events and speed" says: the
/// guided onboarding example rule ("My First Rule", a threshold of one
/// event of any host) and "SMB (Windows File Sharing) Activity to the
/// Internet".
const ENDPOINT_THRESHOLD_RULES: usize = 1;
const ENDPOINT_NEW_TERMS_RULES: usize = 1;

/// A folder of its own for one test run, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("ruleq-gen-corpus-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes `EVENTS` events of `profile` to `path`; the number of lines.
fn generate(profile: Profile, path: &Path) -> u64 {
    let mut text = String::new();
    let mut lines = 0u64;
    generate_with(EVENTS, 1, profile, |line| {
        lines += 1;
        text.push_str(line);
        text.push('\n');
    });
    std::fs::write(path, text).unwrap();
    lines
}

/// What one run wrote: the threshold and new_terms alert documents, and
/// the summary's alert count of every rule by name.
struct Run {
    alerts: Vec<Value>,
    table: HashMap<String, u64>,
}

impl Run {
    /// The rule ids with an alert of `kind`.
    fn rules(&self, kind: &str) -> BTreeSet<String> {
        self.alerts
            .iter()
            .filter(|a| a["kibana.alert.rule.type"] == kind)
            .map(|a| a["kibana.alert.rule.rule_id"].as_str().unwrap().to_string())
            .collect()
    }
}

/// Runs every corpus rule under `rules` over `events`.
fn run(rules: &Path, events: &Path, out: &Path) -> Run {
    let o = common::ruleq(&[
        "run",
        "-r",
        rules.to_str().unwrap(),
        events.to_str().unwrap(),
        "--format",
        "ndjson",
        "-o",
        out.to_str().unwrap(),
    ]);
    let stderr = common::stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let mut alerts = Vec::new();
    for line in std::fs::read_to_string(out).unwrap().lines() {
        // Parsed only when it can be one of them (the telnet rules' alerts
        // are most of the output).
        if !line.contains("\"kibana.alert.rule.type\":\"threshold\"")
            && !line.contains("\"kibana.alert.rule.type\":\"new_terms\"")
        {
            continue;
        }
        let alert: Value = serde_json::from_str(line).unwrap();
        if matches!(
            alert["kibana.alert.rule.type"].as_str(),
            Some("threshold" | "new_terms")
        ) {
            alerts.push(alert);
        }
    }
    // The summary's table follows the counts line: "  {n:>6}  {severity:<8}  {name}".
    let mut table = HashMap::new();
    let counts = stderr
        .lines()
        .position(|l| l.contains(" events read (") && l.contains(" alert documents in "))
        .unwrap_or_else(|| panic!("no counts line in {stderr}"));
    for line in stderr.lines().skip(counts + 1) {
        let Some((n, rest)) = line.trim_start().split_once("  ") else {
            break;
        };
        let Ok(n) = n.parse::<u64>() else { break };
        let name = rest
            .trim_start()
            .split_once("  ")
            .map_or("", |(_, name)| name);
        *table.entry(name.trim().to_string()).or_insert(0) += n;
    }
    assert!(!table.is_empty(), "no per-rule table in {stderr}");
    Run { alerts, table }
}

/// Event time in nanoseconds.
fn nanos(text: &str) -> i64 {
    parse_iso(text)
        .unwrap_or_else(|| panic!("not a time: {text}"))
        .lo
}

/// The new_terms rules with an alert on a burst's new term (`burst-new-R-S`)
/// whose history window held burst S's history events of round R: they lie
/// before the window of the execution that wrote the alert, and the rule
/// matched them (it alerted on them in the first round, when history was
/// empty).
fn new_against_history(run: &Run, events: &Path) -> BTreeSet<String> {
    let mut history: HashMap<String, i64> = HashMap::new();
    for line in std::fs::read_to_string(events).unwrap().lines() {
        if line.contains("\"burst-base-") {
            let e: Value = serde_json::from_str(line).unwrap();
            let id = e["event"]["id"].as_str().unwrap();
            history.insert(id.to_string(), nanos(e["@timestamp"].as_str().unwrap()));
        }
    }
    let id = |a: &Value| {
        a["kibana.alert.original_event.id"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    let mut matched_history: BTreeSet<(String, String)> = BTreeSet::new();
    for a in &run.alerts {
        let id = id(a);
        if let Some(rest) = id.strip_prefix("burst-base-0-") {
            let burst = rest.split('-').next().unwrap().to_string();
            let rule = a["kibana.alert.rule.rule_id"].as_str().unwrap();
            matched_history.insert((rule.to_string(), burst));
        }
    }
    let mut out = BTreeSet::new();
    for a in run
        .alerts
        .iter()
        .filter(|a| a["kibana.alert.rule.type"] == "new_terms")
    {
        let id = id(a);
        let Some((round, burst)) = id
            .strip_prefix("burst-new-")
            .and_then(|r| r.split_once('-'))
        else {
            continue;
        };
        let rule = a["kibana.alert.rule.rule_id"].as_str().unwrap();
        if !matched_history.contains(&(rule.to_string(), burst.to_string())) {
            continue;
        }
        let execution = nanos(a["@timestamp"].as_str().unwrap());
        let from = a["kibana.alert.rule.from"].as_str().unwrap();
        let window_start = parse_date_math(from, execution).unwrap().lo;
        let last_history = history[&format!("burst-base-{round}-{burst}-1")];
        if last_history < window_start {
            out.insert(rule.to_string());
        }
    }
    out
}

#[test]
fn corpus_profile_makes_threshold_and_new_terms_rules_alert() {
    let Some(rules) = common::shared("corpus/detection-rules/rules") else {
        return;
    };
    let scratch = Scratch::new();

    // The corpus profile: deterministic, exactly EVENTS events, in time
    // order, a few percent of them bursts.
    let corpus = scratch.0.join("corpus.ndjson");
    assert_eq!(generate(Profile::Corpus, &corpus), EVENTS);
    let text = std::fs::read_to_string(&corpus).unwrap();
    let mut written = text.lines();
    let mut same = true;
    generate_with(EVENTS, 1, Profile::Corpus, |line| {
        same &= written.next() == Some(line);
    });
    assert!(same && written.next().is_none(), "not deterministic");
    let times: Vec<&str> = text
        .lines()
        .map(|l| &l["{\"@timestamp\":\"".len().."{\"@timestamp\":\"2026-03-01T00:00:00.000Z".len()])
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "times decrease");
    let bursts = text
        .lines()
        .filter(|l| l.contains("\"id\":\"burst-"))
        .count();
    assert!(
        (1_000..=3_000).contains(&bursts),
        "{bursts} burst events of {EVENTS}"
    );
    drop(text);

    let run_corpus = run(&rules, &corpus, &scratch.0.join("corpus-alerts.ndjson"));
    let threshold = run_corpus.rules("threshold");
    let new_terms = run_corpus.rules("new_terms");
    let fresh = new_against_history(&run_corpus, &corpus);
    eprintln!(
        "corpus profile: {} threshold rules, {} new_terms rules alerted ({} on terms new against their history)",
        threshold.len(),
        new_terms.len(),
        fresh.len()
    );
    assert!(threshold.len() >= 10, "threshold rules: {threshold:?}");
    assert!(new_terms.len() >= 40, "new_terms rules: {new_terms:?}");
    assert!(fresh.len() >= 40, "new against history: {fresh:?}");

    // The summary's table counts the same alerts as the documents.
    let mut by_name: BTreeMap<String, u64> = BTreeMap::new();
    for a in &run_corpus.alerts {
        *by_name
            .entry(a["kibana.alert.rule.name"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    for (name, n) in &by_name {
        assert_eq!(run_corpus.table.get(name), Some(n), "{name}");
    }

    // The endpoint profile: the same number of events without bursts.
    let endpoint = scratch.0.join("endpoint.ndjson");
    generate(Profile::Endpoint, &endpoint);
    let run_endpoint = run(&rules, &endpoint, &scratch.0.join("endpoint-alerts.ndjson"));
    assert_eq!(
        (
            run_endpoint.rules("threshold").len(),
            run_endpoint.rules("new_terms").len()
        ),
        (ENDPOINT_THRESHOLD_RULES, ENDPOINT_NEW_TERMS_RULES),
        "endpoint profile: {:?} {:?}",
        run_endpoint.rules("threshold"),
        run_endpoint.rules("new_terms")
    );
}
