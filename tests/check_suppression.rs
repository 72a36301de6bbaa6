//! `ruleq check` on `[rule.alert_suppression]`: `group_by` lists 1 to 5
//! fields, and a threshold rule's suppression takes a duration and nothing
//! else. Each case is a rule written to a fresh file and checked by the
//! binary; errors are located (file:line:col, underlined, with a hint).

mod common;

use std::path::PathBuf;
use std::process::Command;

/// A rule of type `kind` (`query` or `threshold`) with `suppression` as
/// the body of its `[rule.alert_suppression]` table.
fn rule(kind: &str, suppression: &str) -> String {
    let threshold = if kind == "threshold" {
        "\n[rule.threshold]\nfield = [\"host.name\"]\nvalue = 3\n"
    } else {
        ""
    };
    format!(
        r#"[metadata]
creation_date = "2024/05/01"
maturity = "production"
updated_date = "2024/05/01"

[rule]
author = ["ruleq"]
description = "Logons."
type = "{kind}"
rule_id = "6c1f2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5c"
name = "Logons"
index = ["logs-*"]
language = "kuery"
query = "event.category:authentication"
interval = "5m"
from = "now-6m"
severity = "high"
risk_score = 73
{threshold}
[rule.alert_suppression]
{suppression}
"#
    )
}

/// Writes `text` to `<tag>/rule.toml` and checks it: exit code and output.
fn check(tag: &str, text: &str) -> (i32, String) {
    common::check_rule_text(&format!("check-suppression-{tag}"), text)
}

/// Line and column (1-based, in characters) of the last `needle` in `text`.
fn position(text: &str, needle: &str) -> (usize, usize) {
    common::line_col(text, text.rfind(needle).expect("the needle is in the text"))
}

/// The output holds one error located at `needle`, underlined.
fn located(out: &str, text: &str, needle: &str, what: &str) {
    let (line, col) = position(text, needle);
    assert!(
        out.contains(&format!("rule.toml:{line}:{col}]")),
        "{what}: located at {needle:?}: {out}"
    );
    // Some shown line holds the value, underlined from its first column.
    let lines: Vec<&str> = out.lines().collect();
    let underlined = lines.windows(2).any(|w| {
        let (Some(at), Some(from)) = (w[0].find(needle), w[1].find('─')) else {
            return false;
        };
        w[0].contains('│') && w[1][..from].chars().count() == w[0][..at].chars().count()
    });
    assert!(underlined, "{what}: the value is underlined: {out}");
    assert!(out.contains("help:"), "{what}: a hint: {out}");
}

#[test]
fn group_by_takes_one_to_five_fields() {
    for (tag, fields, ok) in [
        ("one", r#"["host.name"]"#, true),
        (
            "five",
            r#"["host.name", "user.name", "source.ip", "process.name", "event.action"]"#,
            true,
        ),
        ("none", "[]", false),
        (
            "six",
            r#"["host.name", "user.name", "source.ip", "process.name", "event.action", "file.path"]"#,
            false,
        ),
    ] {
        let text = rule("query", &format!("group_by = {fields}"));
        let (code, out) = check(tag, &text);
        if ok {
            assert_eq!(code, 0, "{tag}: {out}");
            assert!(!out.contains("rule::suppression"), "{tag}: {out}");
            continue;
        }
        assert_eq!(code, 1, "{tag}: {out}");
        assert!(out.contains("rule::suppression-fields"), "{tag}: {out}");
        let n = if tag == "none" {
            "no field"
        } else {
            "6 fields"
        };
        assert!(
            out.contains(&format!("`alert_suppression.group_by` lists {n}")),
            "{tag}: {out}"
        );
        assert!(
            out.ends_with("1 error, 0 warnings, 0 notes\n"),
            "{tag}: only this error: {out}"
        );
        located(&out, &text, fields, tag);
    }
}

#[test]
fn a_suppression_without_group_by_is_located_at_its_table() {
    let text = rule("query", "missing_fields_strategy = \"suppress\"");
    let (code, out) = check("no-group-by", &text);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("lists no field"), "{out}");
    located(&out, &text, "[rule.alert_suppression]", "no group_by");
}

#[test]
fn threshold_suppression_takes_only_a_duration() {
    // A duration alone: fine.
    let text = rule(
        "threshold",
        "[rule.alert_suppression.duration]\nunit = \"m\"\nvalue = 30",
    );
    let (code, out) = check("threshold-ok", &text);
    assert_eq!(code, 0, "{out}");
    // group_by and missing_fields_strategy: an error each, at the value.
    let text = rule(
        "threshold",
        "group_by = [\"host.name\"]\nmissing_fields_strategy = \"doNotSuppress\"\n[rule.alert_suppression.duration]\nunit = \"m\"\nvalue = 30",
    );
    let (code, out) = check("threshold-extra", &text);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.ends_with("2 errors, 0 warnings, 0 notes\n"),
        "only these errors: {out}"
    );
    assert!(out.contains("takes no `group_by`"), "{out}");
    assert!(out.contains("takes no `missing_fields_strategy`"), "{out}");
    located(&out, &text, r#"["host.name"]"#, "group_by");
    located(&out, &text, r#""doNotSuppress""#, "strategy");
    // No duration: an error at the table.
    let text = rule("threshold", "");
    let (code, out) = check("threshold-no-duration", &text);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("needs a `duration`"), "{out}");
    located(&out, &text, "[rule.alert_suppression]", "no duration");
}

#[test]
fn a_rule_with_a_check_error_does_not_run() {
    // ruleq run leaves the rule out, with the located error, exit 3.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("check-suppression-run");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("rule.toml"), rule("query", "group_by = []")).unwrap();
    std::fs::write(
        dir.join("events.ndjson"),
        "{\"@timestamp\":\"2024-05-01T10:00:00Z\",\"event\":{\"category\":\"authentication\"}}\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ruleq"))
        .arg("run")
        .arg("-r")
        .arg(dir.join("rule.toml"))
        .arg(dir.join("events.ndjson"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rule::suppression-fields"), "{stderr}");
    assert!(out.stdout.is_empty());
}
