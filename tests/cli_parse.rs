//! The `ruleq parse` and `ruleq fmt` commands as a user runs them: output on
//! stdout, diagnostics on stderr, and the exit-code contract (0 ok, 1 query
//! error, 2 usage error).

mod common;

use common::{ruleq, stderr, stdout};

#[test]
fn parse_prints_the_ast_as_json() {
    let out = ruleq(&[
        "parse",
        "--eql",
        r#"process where process.name == "telnet""#,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["kind"], "event");
    assert_eq!(json["filter"]["category"], "process");
    assert_eq!(json["filter"]["condition"]["op"], "==");
    assert_eq!(json["span"], serde_json::json!([0, 38]));
}

#[test]
fn no_spans_leaves_spans_out() {
    let out = ruleq(&["parse", "--no-spans", "--eql", "any where a == 1"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(!stdout(&out).contains("span"), "{}", stdout(&out));
}

#[test]
fn fmt_prints_canonical_text() {
    let out = ruleq(&[
        "fmt",
        "--eql",
        "sequence by user.name [process where CONCAT(a,b)==\"x\"] \
            [network where not(x:\"y\" or z in (1,2))]",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "sequence by user.name\n  [process where concat(a, b) == \"x\"]\n  \
            [network where not (x : \"y\" or z in (1, 2))]\n"
    );
}

#[test]
fn a_query_error_exits_1_with_a_located_caret_and_hint() {
    let out = ruleq(&[
        "parse",
        "--eql",
        "process where\n  process.name = \"telnet\"",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).is_empty());
    let err = stderr(&out);
    assert!(err.contains("query:2:16"), "{err}");
    assert!(err.contains("process.name = \"telnet\""), "{err}");
    assert!(err.contains("use `==`"), "{err}");
    let out = ruleq(&["fmt", "--eql", "process where x == 'y'"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("double quotes"));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(ruleq(&["parse"]).status.code(), Some(2));
    assert_eq!(ruleq(&["parse", "--frobnicate"]).status.code(), Some(2));
    assert_eq!(ruleq(&["nonsense"]).status.code(), Some(2));
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let query = format!("any where {}true{}", "(".repeat(5000), ")".repeat(5000));
    let out = ruleq(&["parse", "--eql", &query]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("nests more than"));
}

/// A rule file in a temporary folder of its own, removed when dropped.
struct Fixture(std::path::PathBuf);

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn fixture_rule(name: &str, text: &str) -> Fixture {
    let dir = std::env::temp_dir().join(format!("ruleq-cli-parse-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    Fixture(path)
}

#[test]
fn parse_and_fmt_take_a_rule_file() {
    let seed = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/rules/command_and_control_telnet_port_activity.toml"
    );
    let out = ruleq(&["fmt", seed]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "event.category:(network or network_traffic) and network.transport:tcp and destination.port:23\n"
    );
    let out = ruleq(&["parse", "--no-spans", seed]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        json["rule"]["rule_id"],
        "34fde489-94b0-4500-a76f-b8a157cf9269"
    );
    assert_eq!(json["query_ast"]["expr"]["kind"], "and");
}

#[test]
fn a_query_error_in_a_rule_file_points_into_the_file() {
    let path = fixture_rule(
        "bad.toml",
        "[metadata]\nmaturity = \"production\"\n\n[rule]\nlanguage = \"eql\"\ntype = \"eql\"\nquery = '''\nprocess where\n  process.name = \"x\"\n'''\n",
    );
    let out = ruleq(&["parse", path.0.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("bad.toml:9:16"), "{err}");
    assert!(err.contains("use `==`"), "{err}");
}
