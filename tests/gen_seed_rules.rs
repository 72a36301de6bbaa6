//! The generated events exercise the seed rules: the telnet sequence fires
//! only for telnet connecting to public addresses, the port-23 rule for TCP
//! only, and near misses stay silent.

use ruleq::compile::cidr::CidrSet;
use ruleq::engine::{compile_eql, compile_kql, Collector, Origin, Output, QueryOptions};
use ruleq::rule;
use ruleq::syntax::{eql, kql};

fn seed_query(file: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("rules")
        .join(file);
    let loaded = rule::load_file(&path).unwrap();
    loaded.rules[0].query.as_ref().unwrap().text.clone()
}

fn run(compiled: &ruleq::engine::CompiledQuery, lines: &[String]) -> Vec<Output> {
    let mut c = Collector::new(compiled);
    for (i, l) in lines.iter().enumerate() {
        c.offer(
            Origin {
                file: 0,
                line: i as u64 + 1,
            },
            l.as_bytes(),
        )
        .unwrap();
    }
    c.finish()
}

fn source(h: &ruleq::engine::Hit) -> serde_json::Value {
    serde_json::from_slice(&h.source).unwrap()
}

#[test]
fn seed_rules_fire_on_generated_events_and_near_misses_stay_silent() {
    let mut lines = Vec::new();
    ruleq::gen::generate(20_000, 1, |l| lines.push(l.to_string()));

    let text = seed_query("lateral_movement_telnet_network_activity_external.toml");
    let compiled = compile_eql(&eql::parse(&text).unwrap(), &QueryOptions::default()).unwrap();
    let private = CidrSet::parse([
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "127.0.0.0/8",
        "::1",
        "fe80::/10",
    ])
    .unwrap();
    let sequences = run(&compiled, &lines);
    assert!(
        sequences.len() >= 10,
        "only {} telnet sequences",
        sequences.len()
    );
    for s in &sequences {
        let Output::Sequence { events, .. } = s else {
            panic!("not a sequence")
        };
        let start = source(events[0].as_ref().unwrap());
        let conn = source(events[1].as_ref().unwrap());
        assert_eq!(start["process"]["name"], "telnet");
        assert_eq!(conn["process"]["entity_id"], start["process"]["entity_id"]);
        assert!(!private.contains_text(conn["destination"]["ip"].as_str().unwrap()));
    }

    let text = seed_query("command_and_control_telnet_port_activity.toml");
    let compiled = compile_kql(&kql::parse(&text).unwrap(), &QueryOptions::default()).unwrap();
    let hits = run(&compiled, &lines);
    assert!(hits.len() >= 10);
    for h in &hits {
        let Output::Event(h) = h else {
            panic!("not an event")
        };
        let e = source(h);
        assert_eq!(e["network"]["transport"], "tcp");
        assert_eq!(e["destination"]["port"], 23);
    }
    // Some port-23 traffic is UDP and is not reported.
    assert!(lines
        .iter()
        .any(|l| l.contains("\"transport\":\"udp\"") && l.contains("\"port\":23}")));
}
