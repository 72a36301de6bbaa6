//! `ruleq check` as CI runs it: exit codes, formats and the summary line.

use std::process::Command;

fn ruleq(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ruleq"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("ruleq runs");
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn default_path_is_rules_and_seed_rules_pass() {
    let (code, stdout, _) = ruleq(&["check"]);
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(
        stdout.lines().last().unwrap(),
        "checked 5 files (5 rules) and 5 test files: 0 errors, 0 warnings, 0 notes"
    );
}

#[test]
fn errors_exit_1() {
    let (code, stdout, _) = ruleq(&["check", "tests/fixtures/rules/eql_error.toml"]);
    assert_eq!(code, 1);
    assert!(stdout.contains("eql_error.toml:25:31"), "{stdout}");
    assert!(
        stdout.ends_with("1 error, 0 warnings, 0 notes\n"),
        "{stdout}"
    );
}

#[test]
fn warnings_pass_unless_denied() {
    let path = "tests/fixtures/rules/risk_band.toml";
    assert_eq!(ruleq(&["check", path]).0, 0);
    assert_eq!(ruleq(&["check", "--deny-warnings", path]).0, 1);
    // Notes never fail a run.
    let note = "tests/fixtures/rules/esql_not_evaluated.toml";
    assert_eq!(ruleq(&["check", "--deny-warnings", note]).0, 0);
}

#[test]
fn usage_and_io_errors_exit_2() {
    let (code, _, stderr) = ruleq(&["check", "tests/fixtures/rules/no-such-file.toml"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no-such-file.toml"), "{stderr}");
    let (code, _, stderr) = ruleq(&["check", "README.md"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not a rule file"), "{stderr}");
    assert_eq!(ruleq(&["check", "--format", "xml"]).0, 2);
}

#[test]
fn json_and_sarif_formats_are_json() {
    let path = "tests/fixtures/rules/duplicate_id";
    let (code, stdout, _) = ruleq(&["check", "--format", "json", path]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["files"], 2);
    assert_eq!(v["rules"], 2);
    assert_eq!(v["errors"], 1);
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "rule::duplicate-id");
    assert_eq!(d["file"], "tests/fixtures/rules/duplicate_id/b.toml");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(18), Some(11))
    );
    assert_eq!(d["rule_id"], "0b5c4a43-6a1e-4b4e-9a55-6f7d2b3c1e01");

    let (code, stdout, _) = ruleq(&["check", "--format", "sarif", path]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["version"], "2.1.0");
    assert_eq!(v["runs"][0]["results"][0]["ruleId"], "rule::duplicate-id");
}
