//! `ruleq test`'s snapshots through the binary, on temporary copies of the
//! seed rules and tests: pending on a first run, accepted, a diff after an
//! edit, CI writing nothing, `--update`, unreferenced snapshots, AST
//! snapshots across a reformat; and `ruleq check` on test files.

use std::path::{Path, PathBuf};
use std::process::Command;

const KQL_TEST: &str = "rule_tests/rules/command_and_control_telnet_port_activity.toml";
const EQL_TEST: &str = "rule_tests/rules/lateral_movement_telnet_network_activity_external.toml";
const KQL_RULE: &str = "rules/command_and_control_telnet_port_activity.toml";
const SNAPS: &str = "rule_tests/rules/__snapshots__";
const CASE_SNAP: &str =
    "lateral_movement_telnet_network_activity_external@telnet-to-a-public-address-alerts-once.snap";
const KQL_AST: &str = "command_and_control_telnet_port_activity.ast.snap";

/// A copy of the seed rules, tests and example events in a fresh folder.
struct Tree(PathBuf);

impl Tree {
    /// The copy; `snapshots` keeps the committed snapshots.
    fn new(name: &str, snapshots: bool) -> Tree {
        let dir = std::env::temp_dir().join(format!("ruleq-snap-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for sub in ["rules", "rule_tests", "examples"] {
            copy(&root.join(sub), &dir.join(sub));
        }
        if !snapshots {
            std::fs::remove_dir_all(dir.join(SNAPS)).unwrap();
        }
        Tree(dir)
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }

    fn snap(&self, name: &str) -> PathBuf {
        self.0.join(SNAPS).join(name)
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    fn edit(&self, rel: &str, from: &str, to: &str) {
        let text = self.read(rel);
        assert!(text.contains(from), "{rel} lacks {from:?}");
        std::fs::write(self.path(rel), text.replacen(from, to, 1)).unwrap();
    }

    /// Runs ruleq in the copy, with `CI` and `RULEQ_UPDATE` unset unless
    /// `env` sets them.
    fn ruleq(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ruleq"));
        cmd.current_dir(&self.0)
            .args(args)
            .env_remove("CI")
            .env_remove("RULEQ_UPDATE")
            .env("NO_COLOR", "1");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }

    /// The snapshot files present, sorted by name.
    fn snaps(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.0.join(SNAPS))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn committed_seed_snapshots_match() {
    let t = Tree::new("seed", true);
    let (code, out, err) = t.ruleq(&["test"], &[("CI", "1")]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("snapshots: 3 matched, 0 written, 0 pending, 0 failed, 0 unreferenced"),
        "{out}"
    );
    // Deterministic, and nothing of the machine it was made on.
    let text = t.read(&format!("{SNAPS}/{CASE_SNAP}"));
    assert!(text.starts_with(
        "---\nsource: rule_tests/rules/lateral_movement_telnet_network_activity_external.toml\n\
         case: telnet to a public address alerts once\nrule_id: e19e64ee-130e-4c07-961f-8a339f0b8362\n---\n["
    ));
    assert!(!text.contains("/tmp") && text.ends_with("]\n"), "{text}");
    assert!(
        text.contains("\"events\": [\"exec\", \"connect\"]"),
        "{text}"
    );
    let ast = t.read(&format!("{SNAPS}/{KQL_AST}"));
    assert!(!ast.contains("destination.port:23"), "no query text: {ast}");
    assert!(!ast.contains("\"span\""), "no spans: {ast}");
}

#[test]
fn first_run_is_pending_then_accepted() {
    let t = Tree::new("first", false);
    let (code, out, _) = t.ruleq(&["test"], &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("28 cases: 27 passed, 0 failed, 1 pending"),
        "{out}"
    );
    assert!(out.contains("snapshot pending review"), "{out}");
    assert!(out.contains("3 pending"), "{out}");
    assert_eq!(
        t.snaps(),
        [
            format!("{KQL_AST}.new"),
            "lateral_movement_telnet_network_activity_external.ast.snap.new".into(),
            format!("{CASE_SNAP}.new"),
        ]
    );
    // The same run again: still pending, nothing accepted by itself.
    assert_eq!(t.ruleq(&["test"], &[]).0, 1);
    let (code, out, _) = t.ruleq(&["test", "--accept"], &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("accepted ")).count(),
        3
    );
    assert!(t.snaps().iter().all(|s| s.ends_with(".snap")));
    let (code, out, _) = t.ruleq(&["test"], &[]);
    assert_eq!(code, 0, "{out}");
    // The accepted snapshots are the committed ones.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in t.snaps() {
        assert_eq!(
            std::fs::read_to_string(t.snap(&name)).unwrap(),
            std::fs::read_to_string(root.join(SNAPS).join(&name)).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn reject_deletes_pending_and_review_needs_a_terminal() {
    let t = Tree::new("reject", false);
    assert_eq!(t.ruleq(&["test"], &[]).0, 1);
    let (code, _, err) = t.ruleq(&["test", "--review"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("needs a terminal"), "{err}");
    // Narrowed to one test file: only its pending snapshot goes.
    let (code, out, _) = t.ruleq(&["test", "--reject", KQL_TEST], &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(t.snaps().len(), 2, "{:?}", t.snaps());
    assert_eq!(t.ruleq(&["test", "--reject"], &[]).0, 0);
    assert!(t.snaps().is_empty());
}

#[test]
fn an_edit_that_changes_alerts_shows_a_diff() {
    let t = Tree::new("edit", true);
    // The host is in the alerts' reasons, which only the snapshot records.
    t.edit(EQL_TEST, "host.name = \"web-1\"", "host.name = \"web-2\"");
    let (code, out, _) = t.ruleq(&["test"], &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("1 pending"), "{out}");
    assert!(
        out.contains("-     \"kibana.alert.reason\": \"process event with process telnet on web-1"),
        "{out}"
    );
    assert!(
        out.contains("+     \"kibana.alert.reason\": \"process event with process telnet on web-2"),
        "{out}"
    );
    assert!(t.snap(&format!("{CASE_SNAP}.new")).exists());
    // In CI the same edit fails the case and writes nothing.
    let t = Tree::new("edit-ci", true);
    t.edit(EQL_TEST, "host.name = \"web-1\"", "host.name = \"web-2\"");
    let (code, out, _) = t.ruleq(&["test"], &[("CI", "true")]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("1 failed"), "{out}");
    assert!(out.contains("snapshot changed"), "{out}");
    assert!(
        t.snaps().iter().all(|s| s.ends_with(".snap")),
        "{:?}",
        t.snaps()
    );
    let (_, json, _) = t.ruleq(&["test", "--format", "json"], &[("CI", "true")]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let case = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["case"] == "telnet to a public address alerts once")
        .unwrap();
    assert_eq!(case["status"], "failed");
    assert_eq!(case["failures"][0]["kind"], "snapshot");
    assert_eq!(case["snapshot"]["status"], "changed");
}

#[test]
fn ci_writes_nothing_and_fails_on_missing() {
    let t = Tree::new("ci", false);
    let (code, out, _) = t.ruleq(&["test"], &[("CI", "1")]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("snapshot missing"), "{out}");
    assert!(out.contains("AST snapshot missing"), "{out}");
    assert!(t.snaps().is_empty(), "{:?}", t.snaps());
    // RULEQ_UPDATE=no does the same outside CI; an explicit mode wins in CI.
    assert_eq!(t.ruleq(&["test"], &[("RULEQ_UPDATE", "no")]).0, 1);
    assert!(t.snaps().is_empty());
    let (code, out, _) = t.ruleq(&["test"], &[("CI", "1"), ("RULEQ_UPDATE", "unseen")]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("3 written"), "{out}");
    assert_eq!(t.snaps().len(), 3);
    let (code, _, err) = t.ruleq(&["test"], &[("RULEQ_UPDATE", "sometimes")]);
    assert_eq!(code, 2);
    assert!(err.contains("RULEQ_UPDATE"), "{err}");
}

#[test]
fn ci_fails_on_a_pending_file_left_behind() {
    let t = Tree::new("ci-pending", true);
    let stray = t.snap(&format!("{CASE_SNAP}.new"));
    std::fs::copy(t.snap(CASE_SNAP), &stray).unwrap();
    let (code, out, _) = t.ruleq(&["test"], &[("CI", "1")]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("pending snapshot no case of this run wrote"),
        "{out}"
    );
    assert!(stray.exists());
    // Locally a matching run removes it.
    assert_eq!(t.ruleq(&["test"], &[]).0, 0);
    assert!(!stray.exists());
}

#[test]
fn update_rewrites_directly() {
    let t = Tree::new("update", true);
    t.edit(EQL_TEST, "host.name = \"web-1\"", "host.name = \"web-2\"");
    let (code, out, _) = t.ruleq(&["test", "--update"], &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("snapshot written"), "{out}");
    assert!(t.read(&format!("{SNAPS}/{CASE_SNAP}")).contains("on web-2"));
    assert!(t.snaps().iter().all(|s| s.ends_with(".snap")));
    assert_eq!(t.ruleq(&["test"], &[("CI", "1")]).0, 0);
}

#[test]
fn unreferenced_snapshots_warn_reject_or_delete() {
    let t = Tree::new("unref", true);
    // The case no longer records a snapshot.
    t.edit(EQL_TEST, "snapshot = true\n", "");
    let orphan = t.snap(CASE_SNAP);
    let (code, out, _) = t.ruleq(&["test"], &[]);
    assert_eq!(code, 0, "warn by default: {out}");
    assert!(out.contains("warning: unreferenced snapshot"), "{out}");
    assert!(out.contains(CASE_SNAP), "{out}");
    let (code, out, _) = t.ruleq(&["test"], &[("CI", "1")]);
    assert_eq!(code, 1, "reject in CI: {out}");
    assert!(out.contains("rejected: unreferenced snapshot"), "{out}");
    assert_eq!(t.ruleq(&["test", "--unreferenced=reject"], &[]).0, 1);
    let (code, out, _) = t.ruleq(&["test", "--unreferenced=ignore"], &[("CI", "1")]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("unreferenced snapshot"), "{out}");
    // Narrowed to the other test file, it is not that file's business.
    assert_eq!(t.ruleq(&["test", KQL_TEST], &[("CI", "1")]).0, 0);
    assert!(orphan.exists());
    let (code, out, _) = t.ruleq(&["test", "--unreferenced=delete"], &[]);
    assert_eq!(code, 0, "{out}");
    assert!(!orphan.exists());
    assert_eq!(t.ruleq(&["test"], &[("CI", "1")]).0, 0);
}

#[test]
fn ast_snapshot_survives_a_reformat_and_catches_a_change_of_meaning() {
    let t = Tree::new("ast", true);
    t.edit(
        KQL_RULE,
        "event.category:(network or network_traffic) and network.transport:tcp and destination.port:23",
        "event.category : ( network OR network_traffic )\n    AND network.transport:tcp  and\n    destination.port : 23",
    );
    let (code, out, _) = t.ruleq(&["test"], &[("CI", "1")]);
    assert_eq!(code, 0, "a reformat: {out}");
    t.edit(KQL_RULE, "destination.port : 23", "destination.port : 2323");
    let (code, out, _) = t.ruleq(&["test", KQL_TEST], &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("AST snapshot pending review"), "{out}");
    assert!(out.contains("-               \"value\": \"23\""), "{out}");
    assert!(out.contains("+               \"value\": \"2323\""), "{out}");
    assert!(t.snap(&format!("{KQL_AST}.new")).exists());
}

#[test]
fn ast_snapshot_of_an_eql_rule_ignores_layout_and_function_case() {
    let t = Tree::new("ast-eql", true);
    let rule = "rules/lateral_movement_telnet_network_activity_external.toml";
    t.edit(
        rule,
        "[process where host.os.type == \"linux\" and process.name == \"telnet\" and event.type == \"start\"]",
        "[ process where (host.os.type == \"linux\") and process.name == \"telnet\"\n    and event.type == \"start\" ]",
    );
    t.edit(rule, "not cidrmatch(", "not cidrMatch(");
    let (code, out, _) = t.ruleq(&["test"], &[("CI", "1")]);
    assert_eq!(code, 0, "{out}");
}

fn check(t: &Tree, args: &[&str]) -> (i32, String) {
    let (code, out, err) = t.ruleq(args, &[]);
    (code, format!("{out}{err}"))
}

#[test]
fn check_reads_test_files_in_every_format() {
    let t = Tree::new("check", true);
    let (code, out) = check(&t, &["check"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.ends_with(
            "checked 5 files (5 rules) and 5 test files: 0 errors, 0 warnings, 0 notes\n"
        ),
        "{out}"
    );
    t.edit(KQL_TEST, "rule_id = \"34fde489", "rule_id = \"44fde489");
    t.edit(
        EQL_TEST,
        "rule_name = \"Connection to External Network via Telnet\"",
        "rule_name = \"Telnet out\"",
    );
    t.edit(
        EQL_TEST,
        "../../examples/telnet-events.ndjson",
        "../../examples/gone.ndjson",
    );
    let (code, out) = check(&t, &["check"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("test::orphan"), "{out}");
    assert!(
        out.contains("command_and_control_telnet_port_activity.toml:3:11"),
        "{out}"
    );
    assert!(out.contains("test::rule-name"), "{out}");
    assert!(out.contains("test::events-file"), "{out}");
    assert!(out.contains("2 errors, 1 warning"), "{out}");
    let (_, json) = check(&t, &["check", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["test_files"], 5);
    assert_eq!(v["files"], 5);
    let codes: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["test::orphan", "test::rule-name", "test::events-file"]
    );
    let (_, sarif) = check(&t, &["check", "--format", "sarif"]);
    let v: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    let results = v["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        KQL_TEST
    );
}

#[test]
fn check_reports_test_schema_errors_and_takes_a_test_folder() {
    let t = Tree::new("check-schema", true);
    t.edit(
        KQL_TEST,
        "name = \"udp/23 is not telnet\"\nalerts = 0",
        "name = \"udp/23 is not telnet\"\nalertz = 0",
    );
    let (code, out) = check(&t, &["check"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("test::schema"), "{out}");
    assert!(out.contains("unknown key `alertz`"), "{out}");
    // Rules named explicitly: the test folder only with -t.
    let (code, out) = check(&t, &["check", KQL_RULE]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = check(&t, &["check", "rules", "-t", "rule_tests"]);
    assert_eq!(code, 1, "{out}");
    let (code, out) = check(&t, &["check", "-t", "no_such_dir"]);
    assert_eq!(code, 2, "{out}");
}
