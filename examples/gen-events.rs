//! Writes deterministic synthetic ECS events as NDJSON on stdout:
//! `cargo run --release --example gen-events -- --events 1000000 --seed 1`.
//! `--profile corpus` mixes in bursts on which threshold and new_terms rules
//! of Elastic's detection-rules corpus alert (`ruleq::gen::Profile`).

use std::io::{BufWriter, Write};

use ruleq::gen::Profile;

fn usage() -> ! {
    eprintln!("usage: gen-events [--events N] [--seed S] [--profile endpoint|corpus]");
    std::process::exit(2);
}

fn main() {
    let mut events: u64 = 10_000;
    let mut seed: u64 = 1;
    let mut profile = Profile::Endpoint;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().unwrap_or_else(|| usage());
        let number = || value.parse().unwrap_or_else(|_| usage());
        match arg.as_str() {
            "--events" => events = number(),
            "--seed" => seed = number(),
            "--profile" => {
                profile = match value.as_str() {
                    "endpoint" => Profile::Endpoint,
                    "corpus" => Profile::Corpus,
                    _ => usage(),
                }
            }
            _ => usage(),
        }
    }
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    let mut ok = true;
    ruleq::gen::generate_with(events, seed, profile, |line| {
        if ok && (out.write_all(line.as_bytes()).is_err() || out.write_all(b"\n").is_err()) {
            // A closed pipe (`| head`) ends the output quietly.
            ok = false;
        }
    });
    let _ = out.flush();
}
