//! The `ruleq parse` and `ruleq fmt` commands as a user runs them: output on
//! stdout, diagnostics on stderr, and the exit-code contract (0 ok, 1 query
//! error, 2 usage error).

use std::process::{Command, Output};

fn ruleq(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ruleq"))
        .args(args)
        .output()
        .expect("the ruleq binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

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
