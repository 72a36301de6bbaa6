//! `ruleq run` as a user runs it: the seed rules over the bundled example
//! events, alert documents as Kibana writes them, formats, exit codes.

use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

mod common;

const NOW: &str = "2026-03-01T10:00:00Z";

fn ruleq(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ruleq"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

fn ndjson(o: &Output) -> Vec<Value> {
    String::from_utf8(o.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The seed KQL rule's text, for tests that vary it.
fn port_rule() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("rules/command_and_control_telnet_port_activity.toml"),
    )
    .unwrap()
}

/// The seed KQL rule with each (from, to) replacement made; each must
/// apply, so that a changed seed rule cannot quietly void a test.
fn port_rule_with(edits: &[(&str, &str)]) -> String {
    let mut rule = port_rule();
    for (from, to) in edits {
        assert!(rule.contains(from), "the seed rule has no {from:?}");
        rule = rule.replace(from, to);
    }
    rule
}

/// A scratch folder of rule files, removed when dropped.
struct RuleDir(std::path::PathBuf);

impl RuleDir {
    fn new(tag: &str) -> RuleDir {
        let dir = std::env::temp_dir().join(format!("ruleq-run-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        RuleDir(dir)
    }

    fn write(&self, name: &str, text: impl AsRef<str>) {
        std::fs::write(self.0.join(name), text.as_ref()).unwrap();
    }

    /// `ruleq run` with these rules over the bundled example events.
    fn run_example(&self) -> Output {
        ruleq(
            &[
                "run",
                "-r",
                self.path(),
                "--now",
                NOW,
                "examples/telnet-events.ndjson",
            ],
            "",
        )
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for RuleDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn example() -> Output {
    ruleq(&["run", "--now", NOW, "examples/telnet-events.ndjson"], "")
}

#[test]
fn seed_rules_alert_on_the_example_events() {
    let out = example();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let alerts = ndjson(&out);
    let port: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["kibana.alert.rule.name"] == "Telnet Port Activity")
        .collect();
    // tcp/23 from web-01 (twice, once over IPv6), the flow record from
    // db-02, the Windows host and the loopback connection; not udp/23, not
    // ssh, not telnet on port 2323.
    let ids: Vec<&str> = port
        .iter()
        .map(|a| a["kibana.alert.ancestors"][0]["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["evt-002", "evt-004", "evt-009", "evt-011", "evt-013", "evt-028"]
    );
    // Three telnet sessions to external addresses on Linux: a shell alert
    // and two building blocks each; internal, loopback, Windows and
    // network-before-process sessions raise nothing.
    let shells: Vec<&Value> = alerts
        .iter()
        .filter(|a| {
            a["kibana.alert.rule.type"] == "eql"
                && a.get("kibana.alert.building_block_type").is_none()
        })
        .collect();
    assert_eq!(shells.len(), 3);
    for shell in &shells {
        let group = &shell["kibana.alert.group.id"];
        let blocks: Vec<&Value> = alerts
            .iter()
            .filter(|a| {
                &a["kibana.alert.group.id"] == group
                    && a.get("kibana.alert.building_block_type").is_some()
            })
            .collect();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0]["kibana.alert.group.index"], 0);
        assert_eq!(blocks[0]["event"]["category"][0], "process");
        assert_eq!(blocks[1]["event"]["category"][0], "network");
        // The shell carries what both events share: the process, not the
        // connection.
        assert_eq!(shell["process"]["name"], "telnet");
        assert!(shell.get("destination").is_none());
        assert_eq!(shell["kibana.alert.depth"], 2);
    }
    let first = &port[0];
    assert_eq!(first["@timestamp"], "2026-03-01T10:00:00.000Z");
    // Kibana unsets the source's `event.kind` and writes its own, dotted.
    assert_eq!(first["event.kind"], "signal");
    assert!(first["event"].get("kind").is_none());
    assert_eq!(first["kibana.alert.original_event.kind"], "event");
    assert_eq!(
        first["kibana.alert.original_time"],
        "2026-03-01T09:00:02.000Z"
    );
    assert_eq!(first["kibana.alert.severity"], "medium");
    assert_eq!(first["kibana.alert.risk_score"], 47);
    assert_eq!(
        first["kibana.alert.rule.threat"][0]["tactic"]["id"],
        "TA0011"
    );
    assert_eq!(
        first["kibana.alert.reason"],
        "network event with process telnet, parent process bash, source 10.1.2.15:51514, \
         destination 198.51.99.7:23 by alice on web-01 created medium alert Telnet Port Activity."
    );
}

#[test]
fn alert_documents_snapshot() {
    // The first of each kind in full: a sequence's building blocks and
    // shell, and a query rule's alert.
    let alerts = ndjson(&example());
    let shell = alerts
        .iter()
        .position(|a| {
            a["kibana.alert.group.id"].is_string()
                && a.get("kibana.alert.building_block_type").is_none()
        })
        .unwrap();
    let port = alerts
        .iter()
        .find(|a| a["kibana.alert.rule.type"] == "query")
        .unwrap();
    insta::assert_json_snapshot!("telnet_sequence_alerts", &alerts[..=shell]);
    insta::assert_json_snapshot!("telnet_query_alert", port);
}

#[test]
fn runs_are_reproducible_and_formats_agree() {
    let a = example();
    let b = example();
    assert_eq!(a.stdout, b.stdout);
    let json = ruleq(
        &[
            "run",
            "--now",
            NOW,
            "--format",
            "json",
            "examples/telnet-events.ndjson",
        ],
        "",
    );
    let array: Vec<Value> = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(array, ndjson(&a));
}

#[test]
fn summary_accounts_for_every_event_line() {
    let events = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/telnet-events.ndjson"),
    )
    .unwrap();
    let input = format!("{events}{{not json\n");
    let out = ruleq(&["run", "--now", NOW], &input);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("<stdin>:29"), "{err}");
    assert!(
        err.contains("29 events read (1 malformed), 22 alert documents"),
        "{err}"
    );
    assert_eq!(ndjson(&out).len(), 22);
}

#[test]
fn fail_on_alert_exits_one_only_when_alerts_were_written() {
    let out = ruleq(
        &[
            "run",
            "--fail-on-alert",
            "-q",
            "examples/telnet-events.ndjson",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    let quiet = r#"{"@timestamp":"2026-03-01T09:00:00Z","event":{"category":["process"]},"process":{"name":"ls"}}"#;
    let out = ruleq(&["run", "--fail-on-alert", "-q"], quiet);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
}

#[test]
fn a_broken_rule_is_reported_and_the_others_still_run() {
    let dir = RuleDir::new("broken");
    let good = port_rule();
    dir.write("good.toml", &good);
    let broken = good
        .replace("destination.port:23", "destination.port:(23")
        .replace(
            "34fde489-94b0-4500-a76f-b8a157cf9269",
            "34fde489-94b0-4500-a76f-b8a157cf0000",
        );
    dir.write("broken.toml", broken);
    let out = dir.run_example();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.toml:"), "{err}");
    assert!(
        err.contains("1 rules run, 0 not run, 1 failed to load"),
        "{err}"
    );
    assert_eq!(ndjson(&out).len(), 6);
}

#[test]
fn bad_now_is_a_usage_error() {
    let out = ruleq(
        &["run", "--now", "yesterday", "examples/telnet-events.ndjson"],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("RFC 3339"));
}

#[test]
fn table_groups_alerts_by_rule_without_building_blocks() {
    let out = ruleq(
        &[
            "run",
            "--now",
            NOW,
            "--format",
            "table",
            "-q",
            "examples/telnet-events.ndjson",
        ],
        "",
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("Connection to External Network via Telnet (medium, 3 alerts)"),
        "{text}"
    );
    assert!(
        text.contains("Telnet Port Activity (medium, 6 alerts)"),
        "{text}"
    );
    assert!(
        text.contains("Telnet Connection Burst from One Source (medium, 1 alert)\n"),
        "{text}"
    );
    assert!(
        text.contains("First Telnet Connection Between Two Hosts (low, 6 alerts)"),
        "{text}"
    );
    // Not a terminal: no colour codes.
    assert!(!text.contains('\x1b'));
    let lines = text.lines().filter(|l| l.starts_with("  2026-")).count();
    assert_eq!(lines, 16);
}

#[test]
fn rules_see_only_events_from_indices_their_patterns_match() {
    let run = |index: &str| {
        let out = ruleq(
            &[
                "run",
                "--now",
                NOW,
                "-q",
                "--index",
                index,
                "examples/telnet-events.ndjson",
            ],
            "",
        );
        assert_eq!(out.status.code(), Some(0));
        let alerts = ndjson(&out);
        let names: std::collections::BTreeSet<String> = alerts
            .iter()
            .map(|a| a["kibana.alert.rule.name"].as_str().unwrap().to_string())
            .collect();
        (alerts, names)
    };
    // Packetbeat data: only the port rule searches it.
    let (alerts, names) = run("packetbeat-8.12.0");
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["Telnet Port Activity"]
    );
    assert_eq!(alerts.len(), 6);
    assert_eq!(
        alerts[0]["kibana.alert.ancestors"][0]["index"],
        "packetbeat-8.12.0"
    );
    // A backing index of an Elastic Defend data stream: every rule.
    let (alerts, names) = run(".ds-logs-endpoint.events.network-default-2026.03.01-000001");
    assert_eq!(names.len(), 4);
    assert_eq!(alerts.len(), 22);
    // Windows event logs: neither.
    let (alerts, _) = run("winlogbeat-8.12.0");
    assert!(alerts.is_empty());
}

#[test]
fn exported_search_hits_keep_their_id_and_index() {
    let hit = r#"{"_index":".ds-logs-endpoint.events.network-default-2026.03.01-000001","_id":"Xy12","_source":{"@timestamp":"2026-03-01T09:00:02Z","event":{"category":["network"]},"network":{"transport":"tcp"},"destination":{"port":23}}}
{"_index":"winlogbeat-8.12.0","_id":"Zz34","_source":{"@timestamp":"2026-03-01T09:00:03Z","event":{"category":["network"]},"network":{"transport":"tcp"},"destination":{"port":23}}}
"#;
    // --index names the files' index only for events without `_index`.
    let out = ruleq(&["run", "--now", NOW, "-q", "--index", "packetbeat-x"], hit);
    let alerts = ndjson(&out);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let ancestor = &alerts[0]["kibana.alert.ancestors"][0];
    assert_eq!(ancestor["id"], "Xy12");
    assert_eq!(
        ancestor["index"],
        ".ds-logs-endpoint.events.network-default-2026.03.01-000001"
    );
    assert!(alerts[0].get("_source").is_none());
    assert_eq!(alerts[0]["destination"]["port"], 23);
}

#[test]
fn rule_filters_narrow_what_the_query_sees() {
    let dir = RuleDir::new("filters");
    let rule = port_rule();
    // Not on db-* hosts (case-insensitive, Lucene escapes), only events
    // with a process, and a disabled filter that would drop everything.
    let filters = r#"
[[rule.filters]]
[rule.filters.meta]
negate = true
[rule.filters.query.wildcard."host.name"]
case_insensitive = true
value = "DB\\-*"

[[rule.filters]]
[rule.filters.meta]
negate = false
[rule.filters.query.exists]
field = "process.name"

[[rule.filters]]
[rule.filters.meta]
disabled = true
negate = true
[rule.filters.query.match_all]
"#;
    let at = rule.find("[[rule.threat]]").unwrap();
    let with_filters = format!("{}{filters}\n{}", &rule[..at], &rule[at..]);
    dir.write("filtered.toml", with_filters);
    let out = dir.run_example();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ids: Vec<String> = ndjson(&out)
        .iter()
        .map(|a| {
            a["kibana.alert.ancestors"][0]["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ids, ["evt-002", "evt-004", "evt-011", "evt-028"]);
}

#[test]
fn severity_risk_and_name_overrides_come_from_the_event() {
    let dir = RuleDir::new("overrides");
    let rule = port_rule();
    let overrides = r#"rule_name_override = "host.name"
severity_mapping = [
    {field = "host.name", operator = "equals", value = "ws-07", severity = "high"},
    {field = "host.os.type", operator = "equals", value = "windows", severity = "critical"},
    {field = "host.name", operator = "equals", value = "ws-07", severity = "low"},
]
risk_score_mapping = [{field = "destination.port", operator = "equals", value = ""}]
"#;
    let with = rule.replace(
        "severity = \"medium\"\n",
        &format!("severity = \"medium\"\n{overrides}"),
    );
    assert_ne!(with, rule);
    dir.write("overrides.toml", with);
    let out = dir.run_example();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let alerts = ndjson(&out);
    let seen: Vec<(String, String, i64)> = alerts
        .iter()
        .map(|a| {
            (
                a["kibana.alert.rule.name"].as_str().unwrap().to_string(),
                a["kibana.alert.severity"].as_str().unwrap().to_string(),
                a["kibana.alert.risk_score"].as_i64().unwrap(),
            )
        })
        .collect();
    let names: Vec<&str> = seen.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(
        names,
        ["web-01", "web-01", "db-02", "ws-07", "db-02", "web-01"]
    );
    // The highest matching severity wins; the others keep the rule's.
    assert_eq!(seen[3].1, "critical");
    assert!(seen
        .iter()
        .enumerate()
        .all(|(i, s)| i == 3 || s.1 == "medium"));
    assert!(seen.iter().all(|s| s.2 == 23));
    assert_eq!(
        alerts[0]["kibana.alert.rule.severity_mapping"][1]["severity"],
        "critical"
    );
    assert_eq!(
        alerts[0]["kibana.alert.rule.rule_name_override"],
        "host.name"
    );
    assert!(alerts[3]["kibana.alert.reason"]
        .as_str()
        .unwrap()
        .ends_with("created critical alert ws-07."));
}

#[test]
fn timestamp_override_falls_back_to_the_event_timestamp() {
    let dir = RuleDir::new("tsov");
    let with = port_rule_with(&[(
        "severity = \"medium\"\n",
        "severity = \"medium\"\ntimestamp_override = \"event.ingested\"\n",
    )]);
    dir.write("override.toml", with);
    let events = r#"{"_id":"a","@timestamp":"2026-03-01T09:00:00Z","event":{"category":"network","ingested":"2026-03-01T09:10:00Z"},"network":{"transport":"tcp"},"destination":{"port":23}}
{"_id":"b","@timestamp":"2026-03-01T09:05:00Z","event":{"category":"network"},"network":{"transport":"tcp"},"destination":{"port":23}}
"#;
    let out = ruleq(&["run", "-r", dir.path(), "--now", NOW, "-q"], events);
    let alerts = ndjson(&out);
    let got: Vec<(&str, &str)> = alerts
        .iter()
        .map(|a| {
            (
                a["kibana.alert.ancestors"][0]["id"].as_str().unwrap(),
                a["kibana.alert.original_time"].as_str().unwrap(),
            )
        })
        .collect();
    // Alerts come in the order of the time the rule reads (a at 09:10, b
    // at 09:05 for want of `event.ingested`); their original time is the
    // events' `@timestamp` all the same, as in Kibana.
    assert_eq!(
        got,
        [
            ("b", "2026-03-01T09:05:00.000Z"),
            ("a", "2026-03-01T09:00:00.000Z")
        ]
    );
}

#[test]
fn rules_with_and_without_a_timestamp_override_each_read_their_own_time() {
    // One event's time is parsed once per field for all the rules that
    // keep it: a rule without the override must not see the fallback's
    // time, nor the other way round.
    let dir = RuleDir::new("tsov-mixed");
    dir.write(
        "override.toml",
        port_rule_with(&[(
            "severity = \"medium\"\n",
            "severity = \"medium\"\ntimestamp_override = \"event.ingested\"\n",
        )]),
    );
    dir.write(
        "plain.toml",
        port_rule_with(&[(
            "34fde489-94b0-4500-a76f-b8a157cf9269",
            "34fde489-94b0-4500-a76f-b8a157cf0000",
        )]),
    );
    let events = r#"{"_id":"a","@timestamp":"2026-03-01T09:00:00Z","event":{"category":"network","ingested":"2026-03-01T09:10:00Z"},"network":{"transport":"tcp"},"destination":{"port":23}}
{"_id":"b","@timestamp":"2026-03-01T09:05:00Z","event":{"category":"network"},"network":{"transport":"tcp"},"destination":{"port":23}}
"#;
    let out = ruleq(&["run", "-r", dir.path(), "--now", NOW, "-q"], events);
    // Alerts come in the order of the time each rule read, then by rule id
    // (the plain rule's sorts first): the plain rule's a at 09:00, both
    // rules' b at 09:05, the override's a at 09:10.
    let got: Vec<(String, String)> = ndjson(&out)
        .iter()
        .map(|a| {
            let rule = a["kibana.alert.rule.rule_id"].as_str().unwrap();
            let id = a["kibana.alert.ancestors"][0]["id"].as_str().unwrap();
            let kind = if rule.ends_with("0000") {
                "plain"
            } else {
                "override"
            };
            (kind.to_string(), id.to_string())
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("plain", "a"),
        ("plain", "b"),
        ("override", "b"),
        ("override", "a"),
    ]
    .iter()
    .map(|(r, i)| (r.to_string(), i.to_string()))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn output_is_identical_whatever_the_thread_count_and_reading() {
    let path =
        std::env::temp_dir().join(format!("ruleq-run-threads-{}.ndjson", std::process::id()));
    let mut text = String::new();
    ruleq::gen::generate(50_000, 7, |line| {
        text.push_str(line);
        text.push('\n');
    });
    std::fs::write(&path, text).unwrap();
    let run = |threads: &str, read: &str| {
        let mut args = vec!["run", "-q", "--now", NOW, "--threads", threads];
        args.extend(Some(read).filter(|r| !r.is_empty()));
        args.push(path.to_str().unwrap());
        ruleq(&args, "")
    };
    // The file (about 46 MB) spans several memory-map windows.
    let (one, two) = (run("1", ""), run("2", ""));
    let (one_read, two_read) = (run("1", "--no-mmap"), run("2", "--no-mmap"));
    std::fs::remove_file(&path).unwrap();
    assert_eq!(one.status.code(), Some(0));
    // The generator's telnet activity makes both seed rules alert.
    let alerts = ndjson(&one);
    for rule in [
        "Telnet Port Activity",
        "Connection to External Network via Telnet",
    ] {
        assert!(
            alerts.iter().any(|a| a["kibana.alert.rule.name"] == rule),
            "{rule}"
        );
    }
    assert!(one.stdout == two.stdout, "--threads 1 and 2 differ");
    assert!(one.stdout == one_read.stdout, "--no-mmap differs");
    assert!(
        one.stdout == two_read.stdout,
        "--no-mmap --threads 2 differs"
    );
}

#[test]
fn events_written_with_spaces_give_the_same_alert_documents() {
    // Alerts are written from an event's text when it is compact as
    // serde_json writes it, else from the event read into a map: the same
    // events, spaced, must give the same documents byte for byte (the
    // example events carry their `_id`, so stdin names them alike).
    let compact = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/telnet-events.ndjson"),
    )
    .unwrap();
    let spaced: String = compact
        .lines()
        .map(|l| format!("{{ {}\n", &l[1..]))
        .collect();
    assert_ne!(spaced, compact);
    let run = |events: &str| {
        let args = [
            "run", "-r", "rules", "-q", "--now", NOW, "--format", "ndjson",
        ];
        ruleq(&args, events)
    };
    let (a, b) = (run(&compact), run(&spaced));
    assert_eq!(
        a.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&a.stderr)
    );
    assert_eq!(ndjson(&a).len(), 22);
    assert!(a.stdout == b.stdout, "spaced events gave other documents");
}

#[test]
fn summary_names_rules_over_their_max_signals() {
    let dir = RuleDir::new("cap");
    dir.write(
        "capped.toml",
        port_rule_with(&[("max_signals = 100", "max_signals = 5")]),
    );
    let out = dir.run_example();
    // One execution over all the input has no cap: all six are written.
    assert_eq!(ndjson(&out).len(), 6);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("1 rules raised more alerts than their max_signals"),
        "{err}"
    );
    assert!(err.contains("Telnet Port Activity (6 > 5)"), "{err}");
}

#[test]
fn a_rule_file_that_does_not_parse_fails_the_run() {
    let dir = RuleDir::new("unparsable");
    dir.write("bad.toml", "[rule\nname = \"x\"\n");
    let out = dir.run_example();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:1:"), "{err}");
    assert!(
        err.contains("0 rules run, 0 not run, 1 failed to load"),
        "{err}"
    );
}

/// Five tcp/23 connections a second apart from 10:01:00, as NDJSON.
fn five_port_events() -> String {
    (1..=5)
        .map(|i| {
            format!(
                r#"{{"@timestamp":"2026-03-01T10:01:0{}.000Z","_id":"p{i}","event":{{"category":["network"]}},"network":{{"transport":"tcp"}},"destination":{{"port":23}},"host":{{"name":"h"}}}}"#,
                i - 1
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `ruleq run --schedule` with the rules in `dir` over `events`.
fn scheduled(dir: &RuleDir, events: &str) -> Output {
    ruleq(&["run", "--schedule", "-r", dir.path()], events)
}

/// (event id, alert @timestamp) of each alert, in output order.
fn ids_and_times(alerts: &[Value]) -> Vec<(String, String)> {
    alerts
        .iter()
        .map(|a| {
            (
                a["kibana.alert.ancestors"][0]["id"]
                    .as_str()
                    .unwrap()
                    .into(),
                a["@timestamp"].as_str().unwrap().into(),
            )
        })
        .collect()
}

#[test]
fn schedule_caps_each_execution_at_max_signals() {
    // Executions every 5 minutes looking back 6: only the 10:05 execution
    // sees the five events, and it writes the first two.
    let dir = RuleDir::new("sched-cap");
    let rule = port_rule_with(&[("max_signals = 100", "max_signals = 2")]);
    dir.write("port.toml", rule);
    let out = scheduled(&dir, &five_port_events());
    assert_eq!(out.status.code(), Some(0));
    let at = "2026-03-01T10:05:00.000Z".to_string();
    assert_eq!(
        ids_and_times(&ndjson(&out)),
        [("p1".to_string(), at.clone()), ("p2".to_string(), at)]
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("3 results were never written because executions hit max_signals: Telnet Port Activity (3)"),
        "{err}"
    );
    // Without --schedule, one execution writes all five.
    let all = ruleq(
        &["run", "--now", NOW, "-r", dir.path()],
        &five_port_events(),
    );
    assert_eq!(ndjson(&all).len(), 5);
}

#[test]
fn schedule_overlap_skips_alerts_already_written() {
    // Looking back 9 minutes, the 10:10 execution sees the events the
    // 10:05 execution saw. A query rule pages past the two it already
    // alerted on and writes the next two; the fifth is cut again.
    let dir = RuleDir::new("sched-overlap");
    let rule = port_rule_with(&[
        ("max_signals = 100", "max_signals = 2"),
        ("from = \"now-6m\"", "from = \"now-9m\""),
    ]);
    dir.write("port.toml", rule);
    let out = scheduled(&dir, &five_port_events());
    let (first, second) = (
        "2026-03-01T10:05:00.000Z".to_string(),
        "2026-03-01T10:10:00.000Z".to_string(),
    );
    assert_eq!(
        ids_and_times(&ndjson(&out)),
        [
            ("p1".to_string(), first.clone()),
            ("p2".to_string(), first),
            ("p3".to_string(), second.clone()),
            ("p4".to_string(), second),
        ]
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("2 executions; 2 results already alerted by an earlier execution skipped"),
        "{err}"
    );

    // An EQL rule asks for max_signals results: at 10:10 those are the two
    // already written, so nothing new is written.
    let eql = RuleDir::new("sched-overlap-eql");
    let rule = port_rule_with(&[
        ("max_signals = 100", "max_signals = 2"),
        ("from = \"now-6m\"", "from = \"now-9m\""),
        ("type = \"query\"", "type = \"eql\""),
        ("language = \"kuery\"", "language = \"eql\""),
    ]);
    let start = rule.find("query = '''").unwrap();
    let end = start + rule[start + 11..].find("'''").unwrap() + 14;
    let rule = format!(
        "{}query = '''\nnetwork where network.transport == \"tcp\" and destination.port == 23\n'''{}",
        &rule[..start],
        &rule[end..]
    );
    eql.write("port.toml", rule);
    let out = scheduled(&eql, &five_port_events());
    assert_eq!(
        ndjson(&out).len(),
        2,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn schedule_writes_each_example_alert_once_at_its_execution() {
    let once = ndjson(&example());
    let out = ruleq(&["run", "--schedule", "examples/telnet-events.ndjson"], "");
    let replayed = ndjson(&out);
    let ids = |alerts: &[Value]| {
        let mut ids: Vec<String> = alerts
            .iter()
            .map(|a| a["kibana.alert.uuid"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    // The EQL rule looks back 9 minutes every 5: events are seen twice,
    // alerted once.
    assert_eq!(ids(&replayed), ids(&once));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("results already alerted by an earlier execution skipped"),
        "{err}"
    );
    for a in &replayed {
        let at = a["@timestamp"].as_str().unwrap();
        assert!(
            at.ends_with(":00:00.000Z") || at.ends_with("5:00.000Z") || at.ends_with("0:00.000Z"),
            "{at}"
        );
        assert!(
            at >= a["kibana.alert.original_time"].as_str().unwrap(),
            "{at}"
        );
        assert_eq!(a["kibana.alert.start"], a["@timestamp"]);
    }
    // The execution time comes from the schedule, not from --now.
    let both = ruleq(
        &[
            "run",
            "--schedule",
            "--now",
            NOW,
            "examples/telnet-events.ndjson",
        ],
        "",
    );
    assert_eq!(both.status.code(), Some(2));
}

#[test]
fn sequences_longer_than_the_look_back_window_are_not_alerted() {
    // The seed sequence rule looks back 9 minutes (`from = "now-9m"`): no
    // execution of it sees a telnet start and a connection 20 minutes
    // apart, so neither does ruleq; 5 minutes apart, it alerts.
    let start = r#"{"@timestamp":"2026-03-01T10:00:00Z","event":{"category":["process"],"type":["start"]},"host":{"os":{"type":"linux"}},"process":{"name":"telnet","entity_id":"e1"}}"#;
    let events = |gap_minutes: u32| {
        let connect = format!(
            r#"{{"@timestamp":"2026-03-01T10:{gap_minutes:02}:00Z","event":{{"category":["network"]}},"host":{{"os":{{"type":"linux"}}}},"process":{{"name":"telnet","entity_id":"e1"}},"destination":{{"ip":"8.8.8.8","port":23}}}}"#
        );
        format!("{start}\n{connect}\n")
    };
    let dir = RuleDir::new("lookback");
    let seq = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("rules/lateral_movement_telnet_network_activity_external.toml"),
    )
    .unwrap();
    dir.write("seq.toml", seq);
    let run = |gap| ruleq(&["run", "--now", NOW, "-r", dir.path()], &events(gap));
    assert_eq!(ndjson(&run(5)).len(), 3, "two building blocks and a shell");
    assert_eq!(ndjson(&run(20)).len(), 0);
}

#[test]
fn events_far_out_of_time_order_are_reported() {
    // 300 telnet starts in time order, then a connection an hour earlier:
    // the sequence rule has fed its state machine past that time, so the
    // run says which rule met the late event, where, and what to do.
    let mut events = String::new();
    for i in 0..300 {
        events.push_str(&format!(
            r#"{{"@timestamp":"2026-03-01T10:{:02}:{:02}Z","event":{{"category":["process"],"type":["start"]}},"host":{{"os":{{"type":"linux"}}}},"process":{{"name":"telnet","entity_id":"e{i}"}}}}"#,
            i / 60,
            i % 60
        ));
        events.push('\n');
    }
    events.push_str(r#"{"@timestamp":"2026-03-01T09:00:00Z","event":{"category":["network"]},"host":{"os":{"type":"linux"}},"process":{"name":"telnet","entity_id":"e1"},"destination":{"ip":"8.8.8.8","port":23}}"#);
    events.push('\n');
    let out = ruleq(&["run", "--now", NOW], &events);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("\"Connection to External Network via Telnet\": 1 events came more than 256 candidates out of time order (the first at <stdin>:301)"),
        "{err}"
    );
    assert!(err.contains("sort the input by time"), "{err}");
}

#[test]
fn deprecated_rules_are_reported_and_not_run() {
    let dir = RuleDir::new("deprecated");
    let deprecated = port_rule_with(&[("maturity = \"production\"", "maturity = \"deprecated\"")]);
    dir.write("old.toml", deprecated);
    let out = dir.run_example();
    assert_eq!(out.status.code(), Some(0));
    assert!(ndjson(&out).is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("note: not run: 1 deprecated rules: \"Telnet Port Activity\""),
        "{err}"
    );
}

/// The example events, each pretty-printed as `jq .` writes them, one
/// after another.
fn pretty_example() -> String {
    let compact = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/telnet-events.ndjson"),
    )
    .unwrap();
    compact
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            serde_json::to_string_pretty(&v).unwrap() + "\n"
        })
        .collect()
}

/// A scratch events file, removed when dropped.
struct EventFile(std::path::PathBuf);

impl EventFile {
    fn new(name: &str, text: &str) -> EventFile {
        let path = std::env::temp_dir().join(format!("ruleq-run-{}-{name}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        EventFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for EventFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn pretty_printed_events_one_after_another_give_the_same_alerts() {
    let pretty = EventFile::new("pretty.json", &pretty_example());
    let run = |path: &str| ruleq(&["run", "--now", NOW, "--format", "ndjson", path], "");
    let (a, b) = (run("examples/telnet-events.ndjson"), run(pretty.path()));
    assert_eq!(b.status.code(), Some(0));
    assert_eq!(ndjson(&b).len(), 22);
    // The example events carry their `_id`: the documents are the same.
    assert!(
        a.stdout == b.stdout,
        "{}",
        String::from_utf8_lossy(&b.stderr)
    );
    let err = String::from_utf8_lossy(&b.stderr);
    assert!(err.contains("28 events read (0 malformed)"), "{err}");
    // Standard input is told apart the same way.
    let c = ruleq(
        &["run", "--now", NOW, "--format", "ndjson"],
        &pretty_example(),
    );
    assert!(a.stdout == c.stdout);
}

#[test]
fn an_array_on_the_first_line_of_ndjson_is_one_malformed_event() {
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/telnet-events.ndjson"),
    )
    .unwrap();
    let events = EventFile::new("first-array.ndjson", &format!("[1,2]\n{example}"));
    let out = ruleq(
        &["run", "--now", NOW, "--format", "ndjson", events.path()],
        "",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("29 events read (1 malformed)"), "{err}");
    assert!(
        err.contains("first-array.ndjson:1: malformed event"),
        "{err}"
    );
    assert_eq!(ndjson(&out).len(), 22);
}

#[test]
fn events_over_max_event_bytes_are_reported_and_skipped() {
    let small = r#"{"@timestamp":"2026-03-01T09:00:00Z","event":{"category":["network"]}}"#;
    let big = format!(
        r#"{{"@timestamp":"2026-03-01T09:00:01Z","pad":"{}"}}"#,
        "x".repeat(100)
    );
    let events = format!("{small}\n{big}\n{small}\n");
    let limit = small.len().max(100).to_string();
    let out = ruleq(&["run", "--now", NOW, "--max-event-bytes", &limit], &events);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    let want = format!(
        "<stdin>:2: malformed event: event of {} bytes exceeds the limit of {limit} bytes (--max-event-bytes)",
        big.len()
    );
    assert!(err.contains(&want), "{err}");
    assert!(err.contains("3 events read (1 malformed)"), "{err}");
}

/// 300 telnet starts on one host, one every 6 s from 10:00:00 (half an
/// hour, more than the rule's 9 minute look-back), each event with its
/// `_id` (so that alerts name events alike whatever file they come from);
/// and that host's network connections, one per start (external for every
/// tenth), half a second after each.
fn one_host_split_in_two() -> (Vec<String>, Vec<String>) {
    let time = |i: u32, ms: u32| {
        let s = i * 6;
        format!("2026-03-01T10:{:02}:{:02}.{ms:03}Z", s / 60, s % 60)
    };
    let starts = (0..300)
        .map(|i| {
            format!(
                r#"{{"@timestamp":"{}","_id":"p{i}","event":{{"category":["process"],"type":["start"]}},"host":{{"os":{{"type":"linux"}}}},"process":{{"name":"telnet","entity_id":"e{i}"}}}}"#,
                time(i, 0)
            )
        })
        .collect();
    let connections = (0..300)
        .map(|i| {
            let ip = if i % 10 == 0 { "8.8.8.8" } else { "10.0.0.1" };
            format!(
                r#"{{"@timestamp":"{}","_id":"n{i}","event":{{"category":["network"]}},"host":{{"os":{{"type":"linux"}}}},"process":{{"name":"telnet","entity_id":"e{i}"}},"destination":{{"ip":"{ip}","port":23}}}}"#,
                time(i, 500)
            )
        })
        .collect();
    (starts, connections)
}

#[test]
fn several_event_files_are_read_as_one_timeline() {
    let (starts, connections) = one_host_split_in_two();
    let join = |lines: &[String]| lines.iter().map(|l| format!("{l}\n")).collect::<String>();
    let a = EventFile::new("starts.ndjson", &join(&starts));
    let b = EventFile::new("connections.ndjson", &join(&connections));
    // The same events sorted by time, in one input.
    let mut sorted: Vec<String> = starts.iter().chain(&connections).cloned().collect();
    sorted.sort_by_key(|l| l[15..39].to_string());
    let args = ["run", "-q", "--now", NOW, "--format", "ndjson"];
    let one = ruleq(&args, &join(&sorted));
    let merged = ruleq(&[&args[..], &[a.path(), b.path()]].concat(), "");
    let swapped = ruleq(&[&args[..], &[b.path(), a.path()]].concat(), "");
    let concatenated = ruleq(&args, &(join(&starts) + &join(&connections)));
    assert_eq!(merged.status.code(), Some(0));
    let documents = |out: &Output| {
        ndjson(out)
            .iter()
            .filter(|a| a["kibana.alert.rule.type"] == "eql")
            .count()
    };
    // Read as one timeline, all 30 external sessions alert (a shell and
    // two blocks each). Read one file after the other, the connections
    // come 300 candidates late: all but those still in the reorder buffer
    // take no step, and their sessions are lost (and reported).
    assert_eq!(documents(&merged), 90);
    assert_eq!(documents(&concatenated), 12);
    assert!(
        merged.stdout == one.stdout,
        "merged files differ from one sorted input"
    );
    assert!(
        swapped.stdout == one.stdout,
        "the files' order changed the alerts"
    );
    let err = String::from_utf8_lossy(&merged.stderr);
    assert!(!err.contains("out of time order"), "{err}");
}

/// `ruleq run` with the seed rules over `events`, written compact and
/// again spaced (which sends alerts down the map path rather than the
/// text path); both must give the same documents, which are returned.
fn run_both_ways(events: &str) -> Vec<Value> {
    let args = [
        "run", "-r", "rules", "-q", "--now", NOW, "--format", "ndjson",
    ];
    let compact = ruleq(&args, events);
    assert_eq!(
        compact.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&compact.stderr)
    );
    let spaced: String = events
        .lines()
        .map(|l| format!("{{ {}\n", &l[1..]))
        .collect();
    let spaced = ruleq(&args, &spaced);
    assert!(
        compact.stdout == spaced.stdout,
        "spaced events gave other documents"
    );
    ndjson(&compact)
}

/// The example's first telnet session (a process start, then its
/// connection), both events stamped `time`.
fn telnet_session_at(time: &str) -> String {
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/telnet-events.ndjson"),
    )
    .unwrap();
    example
        .lines()
        .take(2)
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let old = v["@timestamp"].as_str().unwrap().to_string();
            format!("{}\n", l.replace(&old, time))
        })
        .collect()
}

#[test]
fn a_sequence_shell_is_stamped_with_the_execution_time() {
    // Kibana builds the shell from its building blocks' shared fields, then
    // writes the execution time into `@timestamp` (and, from the first
    // building block's `@timestamp`, into `original_time`), as on every
    // alert: the events' shared time is not the shell's.
    let alerts = run_both_ways(&telnet_session_at("2026-03-01T09:00:00.000Z"));
    let shells: Vec<&Value> = alerts
        .iter()
        .filter(|a| {
            a["kibana.alert.rule.type"] == "eql"
                && a.get("kibana.alert.building_block_type").is_none()
        })
        .collect();
    assert_eq!(shells.len(), 1);
    assert_eq!(shells[0]["@timestamp"], "2026-03-01T10:00:00.000Z");
    assert_eq!(
        shells[0]["kibana.alert.original_time"],
        "2026-03-01T10:00:00.000Z"
    );
    // Its building blocks keep their events' time as their original time.
    let blocks: Vec<&Value> = alerts
        .iter()
        .filter(|a| a.get("kibana.alert.building_block_type").is_some())
        .collect();
    assert_eq!(blocks.len(), 2);
    for b in blocks {
        assert_eq!(b["@timestamp"], "2026-03-01T10:00:00.000Z");
        assert_eq!(b["kibana.alert.original_time"], "2026-03-01T09:00:00.000Z");
    }
}

#[test]
fn original_time_is_the_source_timestamp_whatever_the_override() {
    // Kibana reads `kibana.alert.original_time` from the source's
    // `@timestamp` (`getValidDateFromDoc` with `@timestamp` as the primary
    // timestamp), not from the rule's `timestamp_override`; an event
    // without `@timestamp` gets none.
    let dir = RuleDir::new("original-time");
    dir.write(
        "override.toml",
        port_rule_with(&[(
            "severity = \"medium\"\n",
            "severity = \"medium\"\ntimestamp_override = \"event.ingested\"\n",
        )]),
    );
    let events = r#"{"_id":"a","@timestamp":"2026-03-01T09:00:00Z","event":{"category":"network","ingested":"2026-03-01T09:10:00Z"},"network":{"transport":"tcp"},"destination":{"port":23}}
{"_id":"b","event":{"category":"network","ingested":"2026-03-01T09:12:00Z"},"network":{"transport":"tcp"},"destination":{"port":23}}
{"_id":"c","@timestamp":1772355900000,"event":{"category":"network","ingested":"2026-03-01T09:20:00Z"},"network":{"transport":"tcp"},"destination":{"port":23}}
"#;
    let out = ruleq(&["run", "-r", dir.path(), "--now", NOW, "-q"], events);
    let alerts = ndjson(&out);
    let got: Vec<(&str, Option<&str>)> = alerts
        .iter()
        .map(|a| {
            (
                a["kibana.alert.ancestors"][0]["id"].as_str().unwrap(),
                a.get("kibana.alert.original_time")
                    .map(|t| t.as_str().unwrap()),
            )
        })
        .collect();
    // In the override's order (09:10, 09:12, 09:20).
    assert_eq!(
        got,
        [
            ("a", Some("2026-03-01T09:00:00.000Z")),
            ("b", None),
            ("c", Some("2026-03-01T09:05:00.000Z")),
        ]
    );
}

#[test]
fn dotted_and_nested_event_fields_make_the_same_alert() {
    // Kibana copies every `event.*` field, dotted or nested, to
    // `kibana.alert.original_event.*`, unsets the source's `event.kind`
    // (either form) and writes its own, dotted: `"event.kind": "signal"`,
    // once. `kibana.*`, `signal` and `threshold_result` are stripped.
    let events = [
        r#"{"_id":"dotted","@timestamp":"2026-03-01T09:00:00Z","event.kind":"alert","event.category":"network","signal":{"rule":{"id":"x"}},"network":{"transport":"tcp"},"destination":{"port":23}}"#,
        r#"{"_id":"mixed","@timestamp":"2026-03-01T09:00:01Z","event":{"category":"network","x":1},"event.kind":"alert","network":{"transport":"tcp"},"destination":{"port":23}}"#,
        r#"{"_id":"nested","@timestamp":"2026-03-01T09:00:02Z","event":{"kind":"alert","category":"network"},"kibana":{"alert":{"uuid":"old"}},"network":{"transport":"tcp"},"destination":{"port":23}}"#,
    ];
    let text: String = events.iter().map(|e| format!("{e}\n")).collect();
    let args = ["run", "-r", "rules", "-q", "--now", NOW];
    let out = ruleq(&args, &text);
    for line in String::from_utf8(out.stdout.clone()).unwrap().lines() {
        assert_eq!(line.matches("\"event.kind\"").count(), 1, "{line}");
        assert!(!line.contains("\"kind\":\"alert\""), "{line}");
    }
    let alerts = run_both_ways(&text);
    let by_id = |id: &str| {
        alerts
            .iter()
            .find(|a| a["kibana.alert.ancestors"][0]["id"] == id)
            .unwrap_or_else(|| panic!("no alert for {id}"))
    };
    for id in ["dotted", "mixed", "nested"] {
        let a = by_id(id);
        assert_eq!(a["event.kind"], "signal", "{id}");
        assert_eq!(a["kibana.alert.original_event.kind"], "alert", "{id}");
        assert_eq!(a["kibana.alert.original_event.category"], "network", "{id}");
        assert!(
            a.get("signal").is_none() && a.get("kibana").is_none(),
            "{id}"
        );
    }
    let dotted = by_id("dotted");
    assert!(dotted.get("event").is_none());
    assert_eq!(dotted["event.category"], "network");
    let mixed = by_id("mixed");
    assert_eq!(
        mixed["event"],
        serde_json::json!({"category": "network", "x": 1})
    );
    assert_eq!(mixed["kibana.alert.original_event.x"], 1);
    let nested = by_id("nested");
    assert_eq!(nested["event"], serde_json::json!({"category": "network"}));
    assert_eq!(nested["kibana.alert.uuid"].as_str().unwrap().len(), 64);
}

#[test]
fn a_constant_keyword_is_its_mapped_value_on_every_event() {
    // With its index's mapping, `event.module` and `data_stream.dataset`
    // are `constant_keyword`s: Elasticsearch gives every document of the
    // index their value, sent or not, so "GitHub Repository Deleted"
    // matches an audit event that carries neither. Kibana's default merge
    // strategy (`missingFields`) then copies them from the hit's `fields`
    // into the alert.
    let Some(github) = common::shared("corpus/detection-rules/rules/integrations/github") else {
        return;
    };
    let dir = RuleDir::new("constant");
    dir.write(
        "rule.toml",
        std::fs::read_to_string(github.join("impact_github_repository_deleted.toml")).unwrap(),
    );
    let mapping_dir = RuleDir::new("constant-mapping");
    let mapping = mapping_dir.0.join("mapping.json");
    std::fs::write(
        &mapping,
        r#"{"mappings":{"properties":{
            "@timestamp":{"type":"date"},
            "event":{"properties":{"module":{"type":"constant_keyword","value":"github"},
                                   "action":{"type":"keyword"},"category":{"type":"keyword"}}},
            "data_stream":{"properties":{"dataset":{"type":"constant_keyword","value":"github.audit"},
                                         "namespace":{"type":"constant_keyword"}}}}}}"#,
    )
    .unwrap();
    let event = r#"{"_index":"logs-github.audit-default","_id":"gh-1","@timestamp":"2026-03-01T09:00:00Z","event":{"category":["configuration"],"action":"repo.destroy"},"github":{"repo":"acme/site"}}
"#;
    let run = |extra: &[&str]| {
        let args = [&["run", "-r", dir.path(), "-q", "--now", NOW][..], extra].concat();
        let out = ruleq(&args, event);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        ndjson(&out)
    };
    assert!(
        run(&[]).is_empty(),
        "without the mapping the event has no module"
    );
    let alerts = run(&["--mapping", mapping.to_str().unwrap()]);
    assert_eq!(alerts.len(), 1);
    let a = &alerts[0];
    assert_eq!(a["kibana.alert.rule.name"], "GitHub Repository Deleted");
    assert_eq!(a["event"]["module"], "github");
    assert_eq!(a["kibana.alert.original_event.module"], "github");
    assert_eq!(a["data_stream"]["dataset"], "github.audit");
    assert_eq!(
        a["kibana.alert.original_data_stream.dataset"],
        "github.audit"
    );
    // A constant_keyword whose mapping gives no value has none.
    assert!(a["data_stream"].get("namespace").is_none());
}
