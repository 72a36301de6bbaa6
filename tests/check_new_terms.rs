//! `ruleq check` on new_terms rules: the history window must start before
//! the rule's `from` (Kibana refuses the rule otherwise), and
//! `new_terms_fields` lists 1 to 3 fields. Each case is a rule written to a
//! fresh file and checked by the binary; errors are located at the value.

mod common;

use std::path::PathBuf;
use std::process::Command;

/// A new_terms rule in detection-rules' TOML form. `schedule` holds the
/// `from` line (or nothing), `fields` the `new_terms_fields` list.
fn rule(schedule: &str, fields: &str, history: &str) -> String {
    format!(
        r#"[metadata]
creation_date = "2024/05/01"
maturity = "production"
updated_date = "2024/05/01"

[rule]
author = ["ruleq"]
description = "A new user logs in."
type = "new_terms"
rule_id = "6c1f2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
name = "New user"
index = ["logs-*"]
language = "kuery"
query = "event.category:authentication"
interval = "5m"
{schedule}
severity = "high"
risk_score = 73

[rule.new_terms]
field = "new_terms_fields"
value = {fields}
[[rule.new_terms.history_window_start]]
field = "history_window_start"
value = "{history}"
"#
    )
}

/// Writes `text` to `<tag>/rule.toml` and checks it: exit code and output.
fn check(tag: &str, text: &str) -> (i32, String) {
    common::check_rule_text(&format!("check-new-terms-{tag}"), text)
}

/// Line and column (1-based, in characters) of the first `needle` in `text`.
fn position(text: &str, needle: &str) -> (usize, usize) {
    common::line_col(text, text.find(needle).expect("the needle is in the text"))
}

#[test]
fn history_after_from_is_a_located_error() {
    let text = rule(r#"from = "now-6m""#, r#"["user.name"]"#, "now-5m");
    let (code, out) = check("after", &text);
    assert_eq!(code, 1, "{out}");
    let (line, col) = position(&text, r#""now-5m""#);
    assert!(
        out.contains(&format!("rule.toml:{line}:{col}]")),
        "located at the history value: {out}"
    );
    assert!(out.contains("rule::history-window"), "{out}");
    assert!(
        out.contains("`history_window_start` now-5m is not earlier than `from` now-6m"),
        "{out}"
    );
    // The caret line underlines the value, quotes included, under it.
    let lines: Vec<&str> = out.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.ends_with(r#"value = "now-5m""#))
        .expect("the value's line is shown");
    let caret = lines[at + 1];
    let underline_from = caret.find('─').expect("an underline");
    assert_eq!(caret[underline_from..].trim_end(), "────┬───", "{out}");
    assert_eq!(
        caret[..underline_from].chars().count(),
        lines[at]
            .find(r#""now-5m""#)
            .map(|i| lines[at][..i].chars().count())
            .unwrap(),
        "{out}"
    );
    // Kibana's own words, however the help wraps.
    let words = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("History window size is smaller than rule interval + additional lookback"),
        "{out}"
    );
    assert!(
        out.ends_with("1 error, 0 warnings, 0 notes\n"),
        "only this error: {out}"
    );
}

#[test]
fn history_equal_to_from_is_an_error() {
    // Kibana refuses a history that starts at the same time as the window.
    let text = rule(r#"from = "now-6m""#, r#"["user.name"]"#, "now-360s");
    let (code, out) = check("equal", &text);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("rule::history-window"), "{out}");
}

#[test]
fn history_without_from_is_compared_with_kibanas_default() {
    let text = rule("", r#"["user.name"]"#, "now-5m");
    let (code, out) = check("no-from", &text);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not earlier than `from` now-6m"), "{out}");
    assert!(
        out.contains("no `from`: Kibana searches from now-6m"),
        "{out}"
    );
}

#[test]
fn history_before_from_or_not_an_offset_passes() {
    for (tag, from, history) in [
        ("days", "now-9m", "now-14d"),
        ("default", "", "now-7d"),
        // Rounded or calendar date math is not compared.
        ("rounded", "now-6m", "now-5m/d"),
        ("months", "now-6m", "now-1M"),
        ("rounded-from", "now-6m/h", "now-5m"),
    ] {
        let schedule = if from.is_empty() {
            String::new()
        } else {
            format!("from = \"{from}\"")
        };
        let (code, out) = check(tag, &rule(&schedule, r#"["user.name"]"#, history));
        assert_eq!(code, 0, "{tag}: {out}");
        assert!(!out.contains("rule::history-window"), "{tag}: {out}");
    }
}

#[test]
fn new_terms_fields_take_one_to_three() {
    let schedule = r#"from = "now-6m""#;
    for (tag, fields, ok) in [
        ("one", r#"["user.name"]"#, true),
        ("three", r#"["host.name", "user.name", "source.ip"]"#, true),
        ("none", "[]", false),
        (
            "four",
            r#"["host.name", "user.name", "source.ip", "process.name"]"#,
            false,
        ),
    ] {
        let text = rule(schedule, fields, "now-7d");
        let (code, out) = check(tag, &text);
        if ok {
            assert_eq!(code, 0, "{tag}: {out}");
            continue;
        }
        assert_eq!(code, 1, "{tag}: {out}");
        assert!(out.contains("rule::new-terms-fields"), "{tag}: {out}");
        assert!(
            out.ends_with("1 error, 0 warnings, 0 notes\n"),
            "{tag}: only this error: {out}"
        );
        let (line, col) = position(&text, &format!("value = {fields}"));
        let col = col + "value = ".len();
        assert!(
            out.contains(&format!("rule.toml:{line}:{col}]")),
            "{tag}: located at the list: {out}"
        );
    }
}

#[test]
fn json_rules_are_checked_too() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("check-new-terms-json");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("rule.json");
    let text = r#"{
  "rule_id": "6c1f2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b",
  "name": "New user",
  "description": "A new user logs in.",
  "type": "new_terms",
  "index": ["logs-*"],
  "language": "kuery",
  "query": "event.category:authentication",
  "risk_score": 73,
  "severity": "high",
  "from": "now-6m",
  "new_terms_fields": ["a", "b", "c", "d"],
  "history_window_start": "now-1m"
}
"#;
    std::fs::write(&path, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ruleq"))
        .arg("check")
        .arg(&path)
        .env("NO_COLOR", "1")
        .output()
        .expect("ruleq runs");
    assert_eq!(out.status.code(), Some(1));
    let out = String::from_utf8(out.stdout).unwrap();
    assert!(out.ends_with("2 errors, 0 warnings, 0 notes\n"), "{out}");
    assert!(out.contains("`new_terms_fields` lists 4 fields"), "{out}");
    let (line, col) = position(text, r#""now-1m""#);
    assert!(out.contains(&format!("rule.json:{line}:{col}]")), "{out}");
    assert!(out.contains("rule::history-window"), "{out}");
    let (line, col) = position(text, r#"["a""#);
    assert!(out.contains(&format!("rule.json:{line}:{col}]")), "{out}");
    assert!(out.contains("rule::new-terms-fields"), "{out}");
}
