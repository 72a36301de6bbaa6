//! Writes deterministic synthetic ECS endpoint events as NDJSON on stdout:
//! `cargo run --release --example gen-events -- --events 1000000 --seed 1`.

use std::io::{BufWriter, Write};

fn usage() -> ! {
    eprintln!("usage: gen-events [--events N] [--seed S]");
    std::process::exit(2);
}

fn main() {
    let mut events: u64 = 10_000;
    let mut seed: u64 = 1;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| usage());
        match arg.as_str() {
            "--events" => events = value,
            "--seed" => seed = value,
            _ => usage(),
        }
    }
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    let mut ok = true;
    ruleq::gen::generate(events, seed, |line| {
        if ok && (out.write_all(line.as_bytes()).is_err() || out.write_all(b"\n").is_err()) {
            // A closed pipe (`| head`) ends the output quietly.
            ok = false;
        }
    });
    let _ = out.flush();
}
