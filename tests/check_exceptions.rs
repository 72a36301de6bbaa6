//! `ruleq check --exceptions FILE`: exception-list files in the three
//! forms ruleq reads, their located errors, and lists no rule references.
//! The lists are the project's own fixtures, after the `noise-list` of
//! `design/rule-types-semantics.md` §4.2.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

/// A fresh folder for one test's files.
fn dir(test: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ruleq-check-exc-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

fn ruleq(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ruleq"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("ruleq runs");
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).unwrap(),
    )
}

/// `ruleq check --format json ARGS`: the exit code and the diagnostics
/// whose code starts with `exceptions::`.
fn check_json(args: &[&str]) -> (i32, Vec<Value>) {
    let mut all = vec!["check", "--format", "json"];
    all.extend(args);
    let (code, stdout) = ruleq(&all);
    let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let diags = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"].as_str().unwrap().starts_with("exceptions::"))
        .cloned()
        .collect();
    (code, diags)
}

const RULE_ID: &str = "11111111-1111-1111-1111-111111111111";

/// A query rule that references `noise-list` (single).
fn rule_toml() -> String {
    format!(
        r#"[metadata]
creation_date = "2024/05/01"
maturity = "production"
updated_date = "2024/05/01"

[rule]
author = ["ruleq"]
description = "Process events."
from = "now-6m"
index = ["logs-*"]
interval = "5m"
language = "kuery"
license = "Apache-2.0"
name = "Suspicious process"
risk_score = 47
rule_id = "{RULE_ID}"
severity = "medium"
type = "query"
query = "event.category:process"

[[rule.exceptions_list]]
id = "c1"
list_id = "noise-list"
namespace_type = "single"
type = "detection"
"#
    )
}

const CONTAINER: &str = r#"{"id":"c1","list_id":"noise-list","name":"Noise","description":"Known noise","type":"detection","namespace_type":"single","os_types":[],"tags":[],"immutable":false,"version":1}"#;
const ITEM_1: &str = r#"{"id":"i1","item_id":"item-1","list_id":"noise-list","name":"svchost lab","description":"svchost on the lab host","type":"simple","namespace_type":"single","os_types":[],"tags":[],"comments":[],"entries":[{"field":"process.name","operator":"included","type":"match","value":"svchost.exe"},{"field":"host.name","operator":"included","type":"match","value":"lab-1"}]}"#;
const ITEM_2: &str = r#"{"id":"i2","item_id":"item-2","list_id":"noise-list","name":"svc accounts","description":"service accounts","type":"simple","namespace_type":"single","os_types":[],"tags":[],"comments":[],"entries":[{"field":"user.name","operator":"included","type":"match_any","value":["svc_backup","svc_scan"]}]}"#;
const SUMMARY: &str = r#"{"exported_exception_list_count":1,"exported_exception_list_item_count":2,"missing_exception_list_item_count":0,"missing_exception_list_items":[],"missing_exception_lists":[],"missing_exception_lists_count":0}"#;

fn list_export() -> String {
    [CONTAINER, ITEM_1, ITEM_2, SUMMARY].join("\n") + "\n"
}

/// The detection-rules TOML form of the noise list (shared with the
/// loader's unit tests).
const TOML_LIST: &str = include_str!("fixtures/exceptions/noise-list_exceptions.toml");

#[test]
fn a_kibana_list_export_referenced_by_a_rule_is_clean() {
    let d = dir("kibana");
    let rule = write(&d, "rule.toml", &rule_toml());
    // No extension to go by: the form is read from the content.
    let list = write(&d, "noise-list", &list_export());
    let (code, diags) = check_json(&[&rule, "--exceptions", &list]);
    assert_eq!(code, 0);
    assert!(diags.is_empty(), "{diags:#?}");
    let (code, stdout) = ruleq(&["check", &rule, "--exceptions", &list]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("checked 2 files (1 rule): 0 errors"),
        "{stdout}"
    );
}

#[test]
fn a_rule_export_with_embedded_lists_checks_against_its_own_rules() {
    let d = dir("rule-export");
    let rule = format!(
        r#"{{"rule_id":"{RULE_ID}","name":"Suspicious process","description":"Process events.","type":"query","language":"kuery","query":"event.category:process","index":["logs-*"],"severity":"medium","risk_score":47,"interval":"5m","from":"now-6m","exceptions_list":[{{"id":"c1","list_id":"noise-list","namespace_type":"single","type":"detection"}}]}}"#
    );
    let connector = r#"{"id":"a1","type":"action","attributes":{"name":"Slack"},"references":[]}"#;
    let details = r#"{"exported_count":4,"exported_rules_count":1,"missing_rules":[],"missing_rules_count":0,"exported_exception_list_count":1,"exported_exception_list_item_count":2,"missing_exception_list_item_count":0,"missing_exception_list_items":[],"missing_exception_lists":[],"missing_exception_lists_count":0,"exported_action_connector_count":1}"#;
    let text = [rule.as_str(), CONTAINER, ITEM_1, ITEM_2, connector, details].join("\n") + "\n";
    let export = write(&d, "export.ndjson", &text);
    let (code, diags) = check_json(&[&export, "--exceptions", &export]);
    assert_eq!(code, 0);
    assert!(diags.is_empty(), "{diags:#?}");
    // Without the rules, the list is referenced by none.
    let (code, diags) = check_json(&["--exceptions", &export]);
    assert_eq!(code, 0);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0]["code"], "exceptions::unreferenced");
    assert_eq!(
        (diags[0]["line"].as_u64(), diags[0]["column"].as_u64()),
        (Some(2), Some(22))
    );
}

#[test]
fn the_detection_rules_toml_form_checks() {
    let d = dir("toml");
    let rule = write(&d, "rule.toml", &rule_toml());
    let list = write(&d, "noise-list_exceptions.toml", TOML_LIST);
    let (code, diags) = check_json(&[&rule, "--exceptions", &list]);
    assert_eq!(code, 0);
    assert!(diags.is_empty(), "{diags:#?}");
}

#[test]
fn a_list_no_rule_references_is_a_warning() {
    let d = dir("unreferenced");
    let rule = write(&d, "rule.toml", &rule_toml());
    let other = list_export().replace("noise-list", "other-list");
    let list = write(&d, "other.ndjson", &other);
    let (code, diags) = check_json(&[&rule, "--exceptions", &list]);
    assert_eq!(code, 0);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    let w = &diags[0];
    assert_eq!(w["code"], "exceptions::unreferenced");
    assert_eq!(w["severity"], "warning");
    assert_eq!(
        (w["line"].as_u64(), w["column"].as_u64()),
        (Some(1), Some(22))
    );
    assert!(w["message"].as_str().unwrap().contains("other-list"));
    // The same namespace matters: an agnostic list of the same id is not
    // the single one the rule names.
    let agnostic = list_export().replace("\"single\"", "\"agnostic\"");
    let list = write(&d, "agnostic.ndjson", &agnostic);
    let (_, diags) = check_json(&[&rule, "--exceptions", &list]);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(
        ruleq(&["check", "--deny-warnings", &rule, "--exceptions", &list]).0,
        1
    );
    // SARIF carries it too.
    let (_, stdout) = ruleq(&["check", "--format", "sarif", &rule, "--exceptions", &list]);
    assert!(stdout.contains("exceptions::unreferenced"), "{stdout}");
}

/// Each broken file: the code, and the line and column it is reported at.
#[test]
fn errors_exit_1_with_a_located_message() {
    let d = dir("errors");
    let rule = write(&d, "rule.toml", &rule_toml());
    let entry_line = |entry: &str| {
        format!(r#"{{"item_id":"x","list_id":"noise-list","type":"simple","entries":[{entry}]}}"#)
    };
    // Each case: the code, the file, and the text on line 2 where the
    // report must point.
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "exceptions::syntax",
            format!("{CONTAINER}\nnot json at all\n"),
            "not json",
        ),
        (
            "exceptions::entry-type",
            format!(
                "{CONTAINER}\n{}\n",
                entry_line(r#"{"field":"a","operator":"included","type":"regex","value":"x"}"#)
            ),
            "\"regex\"",
        ),
        (
            "exceptions::operator",
            format!(
                "{CONTAINER}\n{}\n",
                entry_line(r#"{"field":"a","operator":"is","type":"match","value":"x"}"#)
            ),
            "\"is\"",
        ),
        (
            "exceptions::value",
            format!(
                "{CONTAINER}\n{}\n",
                entry_line(r#"{"field":"a","operator":"included","type":"match_any","value":"x"}"#)
            ),
            "\"x\"",
        ),
        (
            "exceptions::nested",
            format!(
                "{CONTAINER}\n{}\n",
                entry_line(
                    r#"{"field":"p","type":"nested","entries":[{"field":"a","operator":"included","type":"wildcard","value":"x*"}]}"#
                )
            ),
            "\"wildcard\"",
        ),
        (
            "exceptions::expire-time",
            format!(
                "{CONTAINER}\n{}\n",
                entry_line(r#"{"field":"a","operator":"included","type":"exists"}"#).replace(
                    r#""type":"simple","#,
                    r#""type":"simple","expire_time":"2024-13-45","#
                )
            ),
            "\"2024-13-45\"",
        ),
    ];
    for (i, (code, text, needle)) in cases.into_iter().enumerate() {
        let (line, col) = (
            2,
            text.lines().nth(1).unwrap().rfind(needle).unwrap() as u64 + 1,
        );
        let file = write(&d, &format!("bad-{i}.ndjson"), &text);
        let (exit, diags) = check_json(&[&rule, "--exceptions", &file]);
        assert_eq!(exit, 1, "{code}");
        let found: Vec<_> = diags.iter().filter(|d| d["code"] == code).collect();
        assert_eq!(found.len(), 1, "{code}: {diags:#?}");
        let e = found[0];
        assert_eq!(e["severity"], "error");
        assert!(e["help"].is_string(), "{code}");
        assert_eq!(
            (e["line"].as_u64(), e["column"].as_u64()),
            (Some(line), Some(col)),
            "{code}"
        );
        // The human report names the file, line and column.
        let (exit, stdout) = ruleq(&["check", &rule, "--exceptions", &file]);
        assert_eq!(exit, 1);
        assert!(
            stdout.contains(&format!("bad-{i}.ndjson:{line}:{col}")),
            "{code}: {stdout}"
        );
    }
    // And in TOML.
    let bad = TOML_LIST.replacen("operator = \"included\"", "operator = \"includes\"", 1);
    let file = write(&d, "bad.toml", &bad);
    let (exit, diags) = check_json(&[&rule, "--exceptions", &file]);
    assert_eq!(exit, 1);
    assert_eq!(diags[0]["code"], "exceptions::operator");
    assert_eq!(
        (diags[0]["line"].as_u64(), diags[0]["column"].as_u64()),
        (Some(28), Some(12))
    );
}

#[test]
fn an_unreadable_exceptions_file_exits_2() {
    let (code, _) = ruleq(&[
        "check",
        "--exceptions",
        "/nonexistent/ruleq/exceptions.ndjson",
    ]);
    assert_eq!(code, 2);
}
