//! How long `ruleq check` takes on Elastic's detection-rules corpus.
//!
//! `RULEQ_SHARED=/path/to/shared cargo bench --bench check_corpus [-- --rounds R]`
//! times, best of R (default 5) rounds, each stage of a check of every file
//! under `corpus/detection-rules`: walking, reading and loading the files,
//! running the checks (EQL parsing included), and rendering the human
//! report. Not a test: it asserts nothing about time.

use ruleq::check::{self, output};
use ruleq::rule;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn main() {
    let Some(shared) = std::env::var_os("RULEQ_SHARED") else {
        eprintln!("RULEQ_SHARED is not set: nothing to measure");
        return;
    };
    let mut args = std::env::args().skip(1);
    let mut rounds = 5;
    while let Some(a) = args.next() {
        if a == "--rounds" {
            rounds = args.next().and_then(|n| n.parse().ok()).unwrap_or(rounds);
        }
    }
    let dir = PathBuf::from(shared).join("corpus/detection-rules");
    let mut best = [Duration::MAX; 4];
    let mut summary = String::new();
    for _ in 0..rounds {
        let t0 = Instant::now();
        let paths = rule::collect_paths(std::slice::from_ref(&dir)).expect("corpus paths");
        let t1 = Instant::now();
        let files: Vec<_> = paths
            .iter()
            .map(|p| rule::load_file(p).expect("readable file"))
            .collect();
        let t2 = Instant::now();
        let report = check::check(files, None);
        let t3 = Instant::now();
        let text = output::human(&report, false);
        let t4 = Instant::now();
        summary = text.lines().last().unwrap_or_default().to_string();
        for (b, d) in best.iter_mut().zip([t1 - t0, t2 - t1, t3 - t2, t4 - t3]) {
            *b = (*b).min(d);
        }
    }
    let total: Duration = best.iter().sum();
    println!("{summary}");
    for (name, d) in ["walk", "read + load", "checks", "render"].iter().zip(best) {
        println!("{name:>12}: {:7.1} ms", d.as_secs_f64() * 1000.0);
    }
    println!(
        "{:>12}: {:7.1} ms (best of {rounds})",
        "total",
        total.as_secs_f64() * 1000.0
    );
}
