//! `ruleq parse --kql` and `ruleq fmt --kql` as a user runs them: output on
//! stdout, diagnostics on stderr, and the exit codes (0 ok, 1 query error,
//! 2 usage error).

mod common;

use common::{ruleq, stderr, stdout};

#[test]
fn parse_prints_the_ast_as_json() {
    let out = ruleq(&["parse", "--kql", "process.name : (a or b*)"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let expr = &json["expr"];
    assert_eq!(expr["kind"], "match");
    assert_eq!(expr["field"]["name"], "process.name");
    assert_eq!(expr["value"]["kind"], "or");
    assert_eq!(expr["value"]["operands"][1]["kind"], "wildcard");
    assert_eq!(expr["span"], serde_json::json!([0, 24]));
}

#[test]
fn no_spans_leaves_spans_out() {
    let out = ruleq(&["parse", "--no-spans", "--kql", "a:1 and not b:2"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(!stdout(&out).contains("span"), "{}", stdout(&out));
}

#[test]
fn fmt_prints_canonical_text() {
    let out = ruleq(&["fmt", "--kql", "A : 1  OR  (b:(x OR y) AND NOT c >=3)"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "A:1 or b:(x or y) and not c >= 3\n");
}

#[test]
fn a_query_error_exits_1_with_a_located_diagnostic() {
    let out = ruleq(&["parse", "--kql", "a:1 or(b:2)"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).is_empty());
    let err = stderr(&out);
    assert!(err.contains("kql::syntax"), "{err}");
    assert!(err.contains("query:1:7"), "{err}");
    assert!(err.contains("keywords need a space on both sides"), "{err}");
    let out = ruleq(&["fmt", "--kql", "a:b\\ c"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(ruleq(&["parse"]).status.code(), Some(2));
    assert_eq!(
        ruleq(&["parse", "--kql", "a:1", "--eql", "any where true"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(ruleq(&["fmt", "--kql"]).status.code(), Some(2));
}
