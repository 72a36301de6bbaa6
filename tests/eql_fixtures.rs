//! Fixture-driven EQL front-end tests: each file under
//! `tests/fixtures/eql/valid` is one query whose snapshot holds its canonical
//! text and AST; each file under `invalid` is one query whose snapshot holds
//! the rendered diagnostic.

mod common;

use ruleq::syntax::{eql, strip_spans, MAX_DEPTH};

fn without_spans(q: &eql::Query) -> serde_json::Value {
    let mut v = serde_json::to_value(q).unwrap();
    strip_spans(&mut v);
    v
}

#[test]
fn valid_fixtures() {
    for (name, text) in common::fixtures("eql/valid", "eql") {
        let snapshot = common::valid_snapshot(&name, &text, eql::parse, eql::print);
        insta::assert_snapshot!(format!("valid__{name}"), snapshot);
    }
}

#[test]
fn invalid_fixtures() {
    for (name, text) in common::fixtures("eql/invalid", "eql") {
        let snapshot = common::invalid_snapshot(&name, &text, "eql", eql::parse, eql::print);
        insta::assert_snapshot!(format!("invalid__{name}"), snapshot);
    }
}

fn nested_parens(depth: usize) -> String {
    format!(
        "process where {}a == 1{}",
        "(".repeat(depth),
        ")".repeat(depth)
    )
}

#[test]
fn five_thousand_nested_parentheses_is_an_error_not_a_crash() {
    let text = nested_parens(5000);
    let diag = eql::parse(&text).unwrap_err();
    assert_eq!(diag.code, "eql::too-deep");
    // The error points at the first parenthesis beyond the limit.
    assert_eq!(diag.span.start, "process where ".len() + MAX_DEPTH);
}

#[test]
fn nesting_up_to_the_limit_parses_on_a_test_thread_stack() {
    // Test threads have a 2 MiB stack; the limit must leave room in debug builds.
    let text = nested_parens(MAX_DEPTH - 1);
    let q = eql::parse(&text).expect("nesting within the limit parses");
    assert_eq!(eql::print(&q), "process where a == 1");
    let json = serde_json::to_string(&q).unwrap();
    assert!(json.contains("\"name\":\"a\""));
}

#[test]
fn long_prefix_chains_are_bounded_too() {
    let text = format!("process where {}true", "not ".repeat(5000));
    assert_eq!(eql::parse(&text).unwrap_err().code, "eql::too-deep");
    let text = format!("process where {}1 == 1", "-".repeat(5000));
    assert_eq!(eql::parse(&text).unwrap_err().code, "eql::too-deep");
    let text = format!("process where {}true", "not ".repeat(MAX_DEPTH - 1));
    assert!(eql::parse(&text).is_ok());
}

#[test]
fn function_names_resolve_case_insensitively() {
    let a = eql::parse(r#"any where cidrmatch(ip, "10.0.0.0/8")"#).unwrap();
    let b = eql::parse(r#"any where CIDRMATCH(ip, "10.0.0.0/8")"#).unwrap();
    assert_eq!(without_spans(&a), without_spans(&b));
    assert_eq!(eql::print(&a), r#"any where cidrMatch(ip, "10.0.0.0/8")"#);
}
