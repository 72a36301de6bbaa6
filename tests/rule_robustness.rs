//! Bad input never panics and never vanishes: every prefix of valid rule
//! files (TOML, NDJSON, JSON), and bytes that are not UTF-8, load and check
//! with diagnostics, never a crash and never a silent empty result.

use ruleq::check;
use ruleq::rule::files::load_bytes;
use ruleq::rule::Format;
use std::path::PathBuf;

fn check_bytes(name: &str, format: Format, bytes: Vec<u8>) -> check::Report {
    let file = load_bytes(PathBuf::from(name), format, bytes);
    check::check(vec![file], None)
}

#[test]
fn every_prefix_of_a_rule_file_checks_without_panicking() {
    let cases = [
        ("tests/fixtures/rules/valid.toml", Format::Toml),
        ("tests/fixtures/rules/eql_error_escaped.toml", Format::Toml),
        ("tests/fixtures/rules/threat_query_error.toml", Format::Toml),
        (
            "tests/fixtures/rules/export_eql_error.ndjson",
            Format::Ndjson,
        ),
        (
            "tests/fixtures/rules/rule_missing_severity.json",
            Format::Json,
        ),
    ];
    for (path, format) in cases {
        let text = std::fs::read_to_string(path).unwrap();
        let mut cut = 0;
        while cut < text.len() {
            let prefix = &text[..cut];
            let report = check_bytes(path, format, prefix.as_bytes().to_vec());
            // A cut file either still holds a rule or says why it does not.
            let blank = prefix.trim().is_empty()
                || prefix.trim_start().starts_with('#') && !prefix.contains('[');
            assert!(
                report.rule_count() > 0 || !report.findings.is_empty() || blank,
                "{path} cut at {cut} vanished"
            );
            cut += 1;
            while !text.is_char_boundary(cut) {
                cut += 1;
            }
        }
    }
}

#[test]
fn invalid_utf8_is_an_error_at_the_bad_byte() {
    let mut bytes = b"[metadata]\nmaturity = \"production\"\n".to_vec();
    let at = bytes.len();
    bytes.extend_from_slice(b"x = \"\xff\"\n");
    let report = check_bytes("bad.toml", Format::Toml, bytes);
    let f = &report.findings[0];
    assert_eq!(f.diagnostic.code, "rule::encoding");
    assert_eq!(f.diagnostic.span.start, at + 5);
}

#[test]
fn absurd_values_are_reported_not_fatal() {
    let text = std::fs::read_to_string("tests/fixtures/rules/valid.toml")
        .unwrap()
        .replace("from = \"now-9m\"", "from = \"now+9223372036854775807s\"")
        .replace("interval = \"5m\"", "interval = \"9223372036854775807d\"")
        .replace("risk_score = 47", "risk_score = -99999999999999999999")
        .replace("max_signals = 100", "max_signals = 1.5e300");
    let report = check_bytes("absurd.toml", Format::Toml, text.into_bytes());
    let codes: Vec<&str> = report.findings.iter().map(|f| f.diagnostic.code).collect();
    assert!(codes.contains(&"rule::type"), "{codes:?}");
    assert!(codes.contains(&"rule::lookback"), "{codes:?}");
}
