//! The corpus's six indicator match rules through `ruleq run
//! --indicators`, over generated corpus-profile events and the indicators
//! `gen-events --indicators` writes for them: each rule alerts, with
//! enrichments naming the indicators' index and id and the object at its
//! indicator path; at a clock long after the data, their `now-30d/d` date
//! math selects no indicator and the summary says so. Needs `RULEQ_SHARED`.

mod common;

use ruleq::gen::{generate_extra, indicators, Extras, Profile};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

const EVENTS: u64 = 120_000;
const INDICATORS: u64 = 4_000;

#[test]
fn corpus_indicator_match_rules_alert_on_generated_data() {
    let Some(root) = common::shared("corpus/detection-rules") else {
        return;
    };
    let rules: Vec<PathBuf> = common::toml_files(&root)
        .into_iter()
        .filter(|p| !p.components().any(|c| c.as_os_str() == "_deprecated"))
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            text.contains("type = \"threat_match\"") && !text.contains("maturity = \"deprecated\"")
        })
        .collect();
    assert_eq!(rules.len(), 6, "{rules:?}");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("threat-corpus");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let events = dir.join("events.ndjson");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&events).unwrap());
    let mut last = String::new();
    let extras = Extras {
        threat_hits: true,
        defend_alerts: false,
    };
    generate_extra(EVENTS, 1, Profile::Corpus, extras, |l| {
        writeln!(out, "{l}").unwrap();
        if let Some(t) = serde_json::from_str::<Value>(l).ok().and_then(|v| {
            v.get("@timestamp")
                .and_then(Value::as_str)
                .map(str::to_string)
        }) {
            if t > last {
                last = t;
            }
        }
    });
    out.flush().unwrap();
    drop(out);
    let iocs = dir.join("indicators.ndjson");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&iocs).unwrap());
    indicators(INDICATORS, 1, EVENTS, |l| writeln!(out, "{l}").unwrap());
    out.flush().unwrap();
    drop(out);

    let run = |now: &str| {
        let mut args: Vec<String> = vec!["run".into()];
        for r in &rules {
            args.push("-r".into());
            args.push(r.display().to_string());
        }
        args.extend([
            events.display().to_string(),
            "--indicators".into(),
            iocs.display().to_string(),
            "--now".into(),
            now.into(),
            "--format".into(),
            "ndjson".into(),
        ]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        common::ruleq(&args)
    };
    let o = run(&last);
    let stderr = common::stderr(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("indicators: {INDICATORS} read (0 malformed)")),
        "{stderr}"
    );
    let mut per_rule: BTreeMap<String, usize> = BTreeMap::new();
    for line in common::stdout(&o).lines() {
        let alert: Value = serde_json::from_str(line).unwrap();
        let name = alert["kibana.alert.rule.name"]
            .as_str()
            .unwrap()
            .to_string();
        let enrichments = alert["threat"]["enrichments"]
            .as_array()
            .expect("enrichments");
        assert!(
            !enrichments.is_empty() && enrichments.len() <= 200,
            "{name}"
        );
        for e in enrichments {
            let m = &e["matched"];
            assert_eq!(m["type"], "indicator_match_rule", "{name}");
            let index = m["index"].as_str().unwrap();
            assert!(
                index.starts_with("logs-ti_") || index.starts_with("filebeat-"),
                "{name}: {m}"
            );
            assert!(m["id"].as_str().is_some_and(|id| !id.is_empty()), "{name}");
            assert!(
                e["indicator"].as_object().is_some_and(|o| !o.is_empty()),
                "{name}: {e}"
            );
        }
        if name.contains("Rapid7") {
            // Its indicator path is `rapid7.tc.vulnerability`: the CVE's
            // own object, whose id is the matched value.
            let first = &enrichments[0];
            assert_eq!(first["matched"]["field"], "vulnerability.id");
            assert_eq!(
                first["indicator"]["id"], first["matched"]["atomic"],
                "{first}"
            );
            assert_eq!(
                first["matched"]["index"],
                "logs-ti_rapid7_threat_command_latest.vulnerability"
            );
        }
        *per_rule.entry(name).or_default() += 1;
    }
    eprintln!("alerts per rule: {per_rule:?}");
    assert_eq!(
        per_rule.len(),
        6,
        "every rule alerts: {per_rule:?}\n{stderr}"
    );

    // Long after the data, `@timestamp >= "now-30d/d"` keeps no indicator.
    let o = run("2027-06-01T00:00:00Z");
    let stderr = common::stderr(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(common::stdout(&o).is_empty());
    assert!(
        stderr.contains("date math selected no indicator"),
        "{stderr}"
    );
}
