//! The documented limits, at the limit and one past it: the longest query
//! text (1 MiB).

use ruleq::syntax::{eql, kql, MAX_QUERY_BYTES};
use std::process::Command;

/// `head` followed by `fill` repeated, then spaces, to exactly `len` bytes.
fn padded(head: &str, fill: &str, tail: &str, len: usize) -> String {
    let mut text = head.to_string();
    while text.len() + fill.len() + tail.len() < len {
        text.push_str(fill);
    }
    text.push_str(tail);
    while text.len() < len {
        text.push(' ');
    }
    assert_eq!(text.len(), len);
    text
}

fn eql_text(len: usize) -> String {
    padded(
        "process where process.name in (\"a.exe\"",
        ", \"b.exe\"",
        ")",
        len,
    )
}

fn kql_text(len: usize) -> String {
    padded("process.name:(a.exe", " or b.exe", ")", len)
}

#[test]
fn a_query_at_the_length_limit_parses_and_one_byte_more_does_not() {
    assert!(eql::parse(&eql_text(MAX_QUERY_BYTES)).is_ok());
    assert!(kql::parse(&kql_text(MAX_QUERY_BYTES)).is_ok());
    for (code, err) in [
        (
            "eql::too-long",
            eql::parse(&eql_text(MAX_QUERY_BYTES + 1)).unwrap_err(),
        ),
        (
            "kql::too-long",
            kql::parse(&kql_text(MAX_QUERY_BYTES + 1)).unwrap_err(),
        ),
    ] {
        assert_eq!(err.code, code);
        assert_eq!(err.span.start, MAX_QUERY_BYTES);
        assert!(
            err.message
                .contains(&format!("{} bytes long", MAX_QUERY_BYTES + 1)),
            "{}",
            err.message
        );
    }
}

#[test]
fn a_rule_whose_query_is_too_long_gets_a_located_error() {
    let dir = std::env::temp_dir().join(format!("ruleq-limits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let seed = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("rules/command_and_control_telnet_port_activity.toml"),
    )
    .unwrap();
    let old = "event.category:(network or network_traffic) and network.transport:tcp and destination.port:23";
    assert!(seed.contains(old));
    // The query sits on its own line of the rule file (after `'''`).
    let line = seed.lines().position(|l| l.contains(old)).unwrap() + 1;
    // (At the limit the parse is the library test's: through a debug build
    // it takes seconds.)
    let text = seed.replace(old, &kql_text(MAX_QUERY_BYTES + 1));
    std::fs::write(dir.join("big.toml"), text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ruleq"))
        .args(["check", dir.to_str().unwrap()])
        .output()
        .unwrap();
    let err =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("kql::too-long"), "{err}");
    assert!(err.contains(&format!("big.toml:{line}:")), "{err}");
    assert!(err.contains('^'), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_error_far_into_a_long_line_is_shown_as_an_excerpt() {
    // A syntax error at column 80,001: the graphical code frame panicked
    // past column 65,535.
    let query = format!(
        "process where process.name in (\"a\"{}, )",
        ", \"b\"".repeat(16_000)
    );
    let out = Command::new(env!("CARGO_BIN_EXE_ruleq"))
        .args(["parse", "--eql", &query])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let col = query.len() - 1 + 1;
    assert!(err.contains(&format!("query:1:{col}")), "{err}");
    assert!(err.contains('^') && err.contains('…'), "{err}");
    assert!(err.lines().all(|l| l.chars().count() < 300), "{err}");
}
