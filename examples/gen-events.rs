//! Writes deterministic synthetic ECS events as NDJSON on stdout:
//! `cargo run --release --example gen-events -- --events 1000000 --seed 1`.
//! `--profile corpus` mixes in bursts on which threshold and new_terms rules
//! of Elastic's detection-rules corpus alert (`ruleq::gen::Profile`).
//!
//! With `--profile corpus`, besides:
//! - `--indicators FILE` writes indicator documents for the corpus's six
//!   indicator match rules to FILE (`--indicators-count N`, default 1,000)
//!   and mixes events carrying some of their values into the output
//!   (`ruleq::gen::intel`). The indicators' `@timestamp` lies in the two
//!   days before the events, and the rules keep indicators of the last 30
//!   days (`@timestamp >= "now-30d/d"`): run them with a `--now` near the
//!   events' time (the last event's, say), not the clock's.
//! - `--defend-alerts` mixes in Elastic Defend alerts, half of which the
//!   Endpoint exception list fixture
//!   (`tests/fixtures/exceptions/endpoint_list.ndjson`) silences
//!   (`ruleq::gen::defend`).
//!
//! Without these options the output is as it was, byte for byte.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use ruleq::gen::{Extras, Profile};

fn usage(why: &str) -> ! {
    eprintln!("error: {why}");
    eprintln!(
        "usage: gen-events [--events N] [--seed S] [--profile endpoint|corpus] \
         [--indicators FILE [--indicators-count N]] [--defend-alerts]"
    );
    std::process::exit(2);
}

fn main() {
    let mut events: u64 = 10_000;
    let mut seed: u64 = 1;
    let mut profile = Profile::Endpoint;
    let mut indicators: Option<PathBuf> = None;
    let mut indicators_count: Option<u64> = None;
    let mut extras = Extras::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--defend-alerts" {
            extras.defend_alerts = true;
            continue;
        }
        let value = args
            .next()
            .unwrap_or_else(|| usage(&format!("{arg} needs a value")));
        let number = || {
            value
                .parse()
                .unwrap_or_else(|_| usage(&format!("{arg} {value}: not a number")))
        };
        match arg.as_str() {
            "--events" => events = number(),
            "--seed" => seed = number(),
            "--indicators" => indicators = Some(PathBuf::from(&value)),
            "--indicators-count" => indicators_count = Some(number()),
            "--profile" => {
                profile = match value.as_str() {
                    "endpoint" => Profile::Endpoint,
                    "corpus" => Profile::Corpus,
                    _ => usage(&format!("--profile {value}: endpoint or corpus")),
                }
            }
            _ => usage(&format!("unknown option {arg}")),
        }
    }
    if indicators_count.is_some() && indicators.is_none() {
        usage("--indicators-count needs --indicators FILE");
    }
    extras.threat_hits = indicators.is_some();
    if extras != Extras::default() && profile != Profile::Corpus {
        usage("--indicators and --defend-alerts need --profile corpus");
    }
    if let Some(path) = &indicators {
        let written = std::fs::File::create(path).and_then(|file| {
            let mut out = BufWriter::new(file);
            let mut result = Ok(());
            ruleq::gen::indicators(indicators_count.unwrap_or(1_000), seed, events, |line| {
                if result.is_ok() {
                    result = out
                        .write_all(line.as_bytes())
                        .and_then(|()| out.write_all(b"\n"));
                }
            });
            result.and_then(|()| out.flush())
        });
        if let Err(e) = written {
            eprintln!("error: --indicators {}: {e}", path.display());
            std::process::exit(1);
        }
    }
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    let mut ok = true;
    ruleq::gen::generate_extra(events, seed, profile, extras, |line| {
        if ok && (out.write_all(line.as_bytes()).is_err() || out.write_all(b"\n").is_err()) {
            // A closed pipe (`| head`) ends the output quietly.
            ok = false;
        }
    });
    let _ = out.flush();
}
