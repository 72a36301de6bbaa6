//! `ruleq check --mapping`: query fields checked against an index mapping.

mod common;

use common::{ruleq, stderr, stdout};

fn codes(json: &serde_json::Value) -> Vec<(String, String, u64)> {
    json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["severity"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn seed_rules_check_clean_against_a_full_mapping() {
    let out = ruleq(&[
        "check",
        "--mapping",
        "tests/fixtures/mappings/endpoint.json",
        "rules",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
}

#[test]
fn unknown_fields_and_wrong_types_are_found_at_their_place() {
    let out = ruleq(&[
        "check",
        "--format",
        "json",
        "--mapping",
        "tests/fixtures/mappings/endpoint-keyword-ip.json",
        "rules/command_and_control_telnet_port_activity.toml",
        "rules/lateral_movement_telnet_network_activity_external.toml",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let mut found = codes(&json);
    found.sort();
    assert_eq!(
        found,
        [
            ("mapping::type".to_string(), "error".to_string(), 119),
            (
                "mapping::unknown-field".to_string(),
                "error".to_string(),
                116
            ),
            (
                "mapping::unknown-field".to_string(),
                "warning".to_string(),
                42
            ),
            (
                "mapping::unknown-field".to_string(),
                "warning".to_string(),
                42
            ),
        ]
    );
}

#[test]
fn a_bad_mapping_file_is_a_usage_error() {
    let out = ruleq(&["check", "--mapping", "/no/such/mapping.json", "rules"]);
    assert_eq!(out.status.code(), Some(2));
}
