//! `ruleq query` writes one JSON document per line whatever the layout of
//! its input: pretty-printed events lose their insignificant whitespace and
//! nothing else.

use serde_json::Value;
mod common;

fn query(args: &[&str], stdin: &str) -> (i32, String) {
    let out = common::ruleq_stdin(&[&["query"], args].concat(), stdin);
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

/// Events whose strings hold spaces, tabs, escaped quotes and newlines,
/// and whose numbers are written in ways a re-serialization would change.
fn events() -> Vec<Value> {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/telnet-events.ndjson"),
    )
    .unwrap();
    let mut events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    events[1]["process"]["command_line"] = Value::from("telnet  \"a b\"\t\n  [x] {y}");
    events
}

#[test]
fn pretty_printed_input_gives_one_result_per_line() {
    let events = events();
    let pretty = serde_json::to_string_pretty(&events).unwrap();
    assert!(pretty.contains("\n  {\n"));
    for args in [
        &["--kql", "destination.port:23"][..],
        &[
            "--eql",
            "sequence by process.entity_id [process where true] [network where true]",
        ][..],
    ] {
        let (code, out) = query(args, &pretty);
        assert_eq!(code, 0);
        let lines: Vec<&str> = out.lines().collect();
        assert!(!lines.is_empty(), "{args:?}");
        for line in lines {
            let doc: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            // Each event's source is the input element, strings intact.
            let sources: Vec<&Value> = match doc.get("events") {
                Some(Value::Array(list)) => list.iter().map(|e| &e["_source"]).collect(),
                _ => vec![&doc["_source"]],
            };
            for source in sources {
                let element = doc["_line"]
                    .as_u64()
                    .map(|n| &events[n as usize - 1])
                    .unwrap_or_else(|| events.iter().find(|e| e["_id"] == source["_id"]).unwrap());
                assert_eq!(source, element);
            }
        }
    }
    // The odd string came through whole.
    let (_, out) = query(&["--kql", "process.command_line:*"], &pretty);
    assert!(out.contains(r#""telnet  \"a b\"\t\n  [x] {y}""#), "{out}");
}

#[test]
fn numbers_keep_their_spelling() {
    let pretty = "[\n  {\n    \"@timestamp\": \"2024-05-01T10:00:00Z\",\n    \"n\": 1.50e3,\n    \"m\": -0.0 ,\n    \"s\": \" x \"\n  }\n]\n";
    let (code, out) = query(&["--kql", "n:1500"], pretty);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "{\"_file\":\"<stdin>\",\"_line\":1,\"_source\":{\"@timestamp\":\"2024-05-01T10:00:00Z\",\"n\":1.50e3,\"m\":-0.0,\"s\":\" x \"}}\n"
    );
}
