//! Fixture-driven KQL front-end tests: each file under
//! `tests/fixtures/kql/valid` is one query whose snapshot holds its canonical
//! text and AST; each file under `invalid` is one query whose snapshot holds
//! the rendered diagnostic. Also the nesting limit, and the Kibana quirks
//! that matter to evaluation, asserted directly.

mod common;

use ruleq::syntax::{kql, MAX_DEPTH};
use serde_json::json;

#[test]
fn valid_fixtures() {
    for (name, text) in common::fixtures("kql/valid", "kql") {
        let snapshot = common::valid_snapshot(&name, &text, kql::parse, kql::print);
        insta::assert_snapshot!(format!("valid__{name}"), snapshot);
    }
}

#[test]
fn invalid_fixtures() {
    for (name, text) in common::fixtures("kql/invalid", "kql") {
        let snapshot = common::invalid_snapshot(&name, &text, "kql", kql::parse, kql::print);
        insta::assert_snapshot!(format!("invalid__{name}"), snapshot);
    }
}

fn expr(text: &str) -> serde_json::Value {
    let q = kql::parse(text).unwrap_or_else(|d| panic!("{text}: {}", d.render("q", text, false)));
    q.without_spans()["expr"].clone()
}

fn value(text: &str) -> serde_json::Value {
    expr(text)["value"].clone()
}

#[test]
fn quoted_backslashes_follow_kibana() {
    // `\t` is a TAB even in a Windows path; other backslashes stay literal.
    assert_eq!(value(r#"p:"C:\temp""#)["value"], "C:\temp");
    assert_eq!(value(r#"p:"C:\Windows""#)["value"], "C:\\Windows");
    assert_eq!(value(r#"p:"a\\b\"c""#)["value"], "a\\b\"c");
    assert_eq!(value(r#"p:"\u0041\u12""#)["value"], "A\\u12");
    // `*` is literal inside quotes.
    assert_eq!(value(r#"p:"a*""#), json!({"kind": "quoted", "value": "a*"}));
}

#[test]
fn unquoted_values_trim_and_type() {
    assert_eq!(
        value("p: two  words  "),
        json!({"kind": "unquoted", "value": "two  words"})
    );
    assert_eq!(value("p:true"), json!({"kind": "bool", "value": true}));
    assert_eq!(value("p:null"), json!({"kind": "null"}));
    // Typing is case-sensitive and ignores quoted text.
    assert_eq!(value("p:True")["kind"], "unquoted");
    assert_eq!(value(r#"p:"null""#)["kind"], "quoted");
    // Numbers stay as written.
    assert_eq!(value("p:007")["value"], "007");
    // Escaped whitespace at the ends is trimmed too (JavaScript's trim).
    assert_eq!(value(r"p:\tx\n")["value"], "x");
}

#[test]
fn wildcard_positions_are_unambiguous() {
    assert_eq!(
        value(r"p:a\*b*"),
        json!({"kind": "wildcard", "parts": [
            {"kind": "text", "value": "a*b"}, {"kind": "wildcard"}
        ]})
    );
    assert_eq!(
        value(r"p:a\*b"),
        json!({"kind": "unquoted", "value": "a*b"})
    );
    assert_eq!(value("p:a?b")["kind"], "unquoted");
    assert_eq!(expr("process.*:x")["field"]["kind"], "pattern");
    assert_eq!(
        expr(r"process\*:x")["field"],
        json!({"kind": "name", "name": "process*", "quoted": false})
    );
}

#[test]
fn escaped_n_is_a_newline_before_it_is_a_keyword() {
    // Kibana tries `\n` before escaped keywords: `\not` is newline + "ot",
    // trimmed to "ot"; `\NOT` is the word.
    assert_eq!(value(r"p:\not")["value"], "ot");
    assert_eq!(value(r"p:a \NOT b")["value"], "a NOT b");
    assert_eq!(value(r"p:a \or b")["value"], "a or b");
}

#[test]
fn keywords_need_spaces_but_values_keep_them() {
    assert!(kql::parse("a or(b)").is_err());
    assert!(kql::parse("not(x)").is_err());
    assert!(kql::parse(r#""x" or"y""#).is_err());
    assert_eq!(expr("a:1 AnD b:2")["kind"], "and");
    // Without a space after it, `or` is part of the value.
    assert_eq!(value("a:x or")["value"], "x or");
    assert_eq!(expr("a:x or")["kind"], "match");
    // `field: a or b` is `field:a or b` (free text), not a list.
    let e = expr("f: a or b");
    assert_eq!(e["operands"][1]["kind"], "free_text");
}

#[test]
fn printer_escapes_what_would_read_as_keywords() {
    for text in [
        r"a:x \or",
        r"a:\Not y",
        r"a:can\not",
        r"a:can\NOT x or b:1",
        r"x \and y >= 1",
        r"a \or:1",
        r"a:(b \and or c)",
        r"\Not",
        r"f:\u0020",
        "a:\\u00a0or\\u00a0x",
    ] {
        let q = kql::parse(text).unwrap_or_else(|d| panic!("{text}: {d}"));
        let printed = kql::print(&q);
        let again = kql::parse(&printed).unwrap_or_else(|d| panic!("{text} → {printed}: {d}"));
        assert_eq!(
            again.without_spans(),
            q.without_spans(),
            "{text} → {printed}"
        );
    }
}

#[test]
fn empty_and_blank_queries_match_everything() {
    for text in ["", "   ", "\n\t "] {
        let q = kql::parse(text).unwrap();
        assert!(q.expr.is_none());
        assert_eq!(kql::print(&q), "");
    }
}

#[test]
fn five_thousand_nested_parentheses_is_an_error_not_a_crash() {
    let text = format!("{}a:1{}", "(".repeat(5000), ")".repeat(5000));
    let diag = kql::parse(&text).unwrap_err();
    assert_eq!(diag.code, "kql::too-deep");
    assert_eq!(diag.span.start, MAX_DEPTH);
    let text = format!("a:{}1{}", "(".repeat(5000), ")".repeat(5000));
    assert_eq!(kql::parse(&text).unwrap_err().code, "kql::too-deep");
    let text = format!("{}a:1{}", "a:{".repeat(5000), "}".repeat(5000));
    assert_eq!(kql::parse(&text).unwrap_err().code, "kql::too-deep");
    // Unclosed, too: the depth check comes before the grammar.
    let text = "(".repeat(5000);
    assert_eq!(kql::parse(&text).unwrap_err().code, "kql::too-deep");
}

#[test]
fn not_chains_count_towards_the_limit() {
    let text = format!("{}a:1{}", "not (".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    let diag = kql::parse(&text).unwrap_err();
    assert_eq!(diag.code, "kql::too-deep");
    let half = MAX_DEPTH / 2;
    let text = format!("{}a:1{}", "not (".repeat(half), ")".repeat(half));
    assert!(kql::parse(&text).is_ok());
}

#[test]
fn nesting_up_to_the_limit_parses_on_a_test_thread_stack() {
    // Test threads have a 2 MiB stack; the limit must leave room in debug
    // builds, for every kind of nesting.
    let depth = MAX_DEPTH - 1;
    let texts = [
        format!("{}a:1 or b:2{}", "(".repeat(depth), ")".repeat(depth)),
        format!("a:{}1 or 2{}", "(".repeat(depth), ")".repeat(depth)),
        format!("{}a:1{}", "n:{".repeat(depth), "}".repeat(depth)),
        // Each `not (` is two levels.
        format!(
            "a:({}1{})",
            "not (".repeat(depth / 2),
            ")".repeat(depth / 2)
        ),
    ];
    // An explicit 2 MiB thread, so that RUST_MIN_STACK cannot hide a regression.
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            for text in texts {
                let q =
                    kql::parse(&text).unwrap_or_else(|d| panic!("{}", d.render("q", &text, false)));
                let printed = kql::print(&q);
                let again = kql::parse(&printed).expect("printed text parses");
                assert_eq!(again.without_spans(), q.without_spans());
                let json = serde_json::to_string(&q).unwrap();
                assert!(json.contains("\"kind\""));
            }
            let deep = format!("{}a:1{}", "(".repeat(5000), ")".repeat(5000));
            assert_eq!(kql::parse(&deep).unwrap_err().code, "kql::too-deep");
        })
        .unwrap()
        .join()
        .expect("no stack overflow on a 2 MiB stack");
}

#[test]
fn bad_input_never_panics() {
    let pieces = [
        "a", ":", "(", ")", "{", "}", "\"", "\\", "*", " ", "or", "and", "not", "<", ">=", "\\u",
        "é", "\u{a0}", "\\n", "1",
    ];
    // Every combination of three pieces: errors are fine, panics are not.
    for a in pieces {
        for b in pieces {
            for c in pieces {
                let text = format!("{a}{b}{c}");
                match kql::parse(&text) {
                    Ok(q) => {
                        let printed = kql::print(&q);
                        let again = kql::parse(&printed)
                            .unwrap_or_else(|d| panic!("{text:?} → {printed:?}: {d}"));
                        assert_eq!(again.without_spans(), q.without_spans(), "{text:?}");
                    }
                    Err(d) => {
                        assert!(d.span.end <= text.len(), "{text:?}");
                        let _ = d.render("q", &text, false);
                    }
                }
            }
        }
    }
}

#[test]
fn escaped_backslash_comes_before_unicode_escapes() {
    // From Kibana's own tests: `\\u00A0` is a backslash and "u00A0", quoted
    // or not; `\u00A0` is the character.
    assert_eq!(value(r"p:\\u00A0")["value"], "\\u00A0");
    assert_eq!(value(r#"p:"\\u00A0""#)["value"], "\\u00A0");
    assert_eq!(value(r"p:a\u00A0b")["value"], "a\u{a0}b");
    assert_eq!(value(r#"p:"\():<>\"*""#)["value"], "\\():<>\"*");
}

#[test]
fn numbers_and_number_like_text_stay_as_written() {
    for text in [".3", "070", "-0", "3.", "..4", "0.0.1", "96565646732345"] {
        assert_eq!(
            value(&format!("p:{text}")),
            json!({"kind": "unquoted", "value": text})
        );
    }
}

#[test]
fn canonical_text_escapes_every_control_character() {
    // A raw NUL cannot be passed as an argument nor pasted into a rule file:
    // canonical text writes control characters as escapes Kibana reads back,
    // in quoted values, unquoted values, wildcards and field names.
    for text in [
        r#"o365.audit.Parameters.BodyContainsWords:"\u0000""#,
        r#"a:x\u0001y"#,
        r#"a:\u001f*"#,
        r#""f\u0002":1"#,
        r#"f\u007f:1"#,
        r#"a:"\u0085 and \u009f""#,
        r#"a:(x\u0003 or "\u0004")"#,
    ] {
        let ast = kql::parse(text).unwrap();
        let printed = kql::print(&ast);
        assert!(
            !printed.chars().any(char::is_control),
            "{text}: printed {printed:?}"
        );
        let again = kql::parse(&printed).unwrap();
        assert_eq!(again.without_spans(), ast.without_spans(), "{text}");
    }
}
