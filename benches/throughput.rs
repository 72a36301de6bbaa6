//! Throughput of `ruleq run` against the floor of reading JSON at all.
//!
//! ```sh
//! RULEQ_SHARED=../shared cargo bench --bench throughput [-- --events N] [--rounds R] [--ten-million]
//! ```
//!
//! On one file of generated events (`ruleq::gen`, seed 1, default one
//! million events, written once under the target folder) it times, best of
//! R rounds (default 3; the floor at least 3; the floor and the seed runs
//! interleaved):
//! - the skip-parse floor: one thread, 1 MiB buffered reads, each line
//!   through `serde_json::from_slice::<IgnoredAny>`;
//! - the same work on all threads, each on its own part of the file: what
//!   the machine's cores give together for work that shares nothing, the
//!   ceiling for any speed-up from threads;
//! - `ruleq run` with the seed rules (`rules/`) at one thread and at all;
//! - `ruleq run` with every non-deprecated query and eql rule of the corpus
//!   at all threads, when `RULEQ_SHARED` is set;
//! - `ruleq run` with every rule of the corpus ruleq runs (threshold,
//!   new_terms and indicator match included) over corpus-profile events
//!   with 10,000 generated indicators and the project's Endpoint exception
//!   list, at all threads, when `RULEQ_SHARED` is set;
//! - `ruleq check` on the whole corpus, when `RULEQ_SHARED` is set;
//! - Python eql 1.0.1 on the two seed queries, when `python3` has it
//!   (`benches/python_eql.py`; the KQL rule rewritten as EQL, `"::1"` as
//!   `"::1/128"`, `cidrmatch` spelled `cidrMatch` and `event.type == "start"`
//!   as `arrayContains(event.type, "start")`, so that it finds the same
//!   sequences ruleq finds on the array-valued `event.type`).
//!
//! It prints events/s, MB/s, peak memory (the child's own maximum resident
//! set) and the ratios the Throughput issue sets targets for. With
//! `--ten-million` it also runs the seed rules over ten million events
//! streamed from the generator into `ruleq run`'s standard input (no file),
//! for peak memory. Not a test: nothing here fails on time.

use serde::de::IgnoredAny;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const NOW: &str = "2026-03-01T10:00:00Z";
/// The execution time of the indicator match bench: after the generated
/// events, within 30 days of the generated indicators.
const INTEL_NOW: &str = "2026-03-02T00:00:00Z";

const PORT_EQL: &str = r#"network where network.transport == "tcp" and destination.port == 23"#;

const SEQUENCE_EQL: &str = r#"sequence by process.entity_id
  [process where host.os.type == "linux" and process.name == "telnet" and arrayContains(event.type, "start")]
  [network where host.os.type == "linux" and process.name == "telnet" and not cidrMatch(
     destination.ip, "10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24", "192.0.0.0/29",
     "192.0.0.8/32", "192.0.0.9/32", "192.0.0.10/32", "192.0.0.170/32", "192.0.0.171/32", "192.0.2.0/24",
     "192.31.196.0/24", "192.52.193.0/24", "192.168.0.0/16", "192.88.99.0/24", "224.0.0.0/4", "100.64.0.0/10",
     "192.175.48.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4", "::1/128", "FE80::/10",
     "FF00::/8"
    )
  ]"#;

struct Options {
    events: u64,
    rounds: usize,
    ten_million: bool,
}

fn options() -> Options {
    let mut o = Options {
        events: 1_000_000,
        rounds: 3,
        ten_million: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--events" => o.events = args.next().and_then(|v| v.parse().ok()).unwrap_or(o.events),
            "--rounds" => o.rounds = args.next().and_then(|v| v.parse().ok()).unwrap_or(o.rounds),
            "--ten-million" => o.ten_million = true,
            // cargo bench passes --bench; other flags are not ours.
            _ => {}
        }
    }
    o.rounds = o.rounds.max(1);
    o
}

/// One measured run.
#[derive(Clone, Copy)]
struct Run {
    seconds: f64,
    /// Peak resident set in KiB, for child processes.
    peak_kib: Option<u64>,
}

/// Writes a benchmarked command's standard input.
type Feed = Box<dyn FnOnce(&mut dyn Write) + Send>;

/// Runs `cmd` to its end; its wall time and its own peak memory. `feed`
/// writes its standard input, when given.
// The child is reaped by wait4 below, which also reports its rusage.
#[allow(clippy::zombie_processes)]
fn measure(cmd: &mut Command, feed: Option<Feed>) -> Run {
    cmd.stdout(Stdio::null());
    if feed.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let started = Instant::now();
    let mut child = cmd.spawn().expect("the benchmarked command starts");
    let writer = feed.map(|feed| {
        let mut stdin = child.stdin.take().expect("piped stdin");
        std::thread::spawn(move || {
            let mut out = BufWriter::with_capacity(1 << 20, &mut stdin);
            feed(&mut out);
            let _ = out.flush();
        })
    });
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data, zero is a valid value for all of it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, writing into the locals above.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let seconds = started.elapsed().as_secs_f64();
    if let Some(w) = writer {
        let _ = w.join();
    }
    assert_eq!(waited, pid, "wait4 failed");
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    assert!(
        matches!(code, Some(0 | 1)),
        "{cmd:?} failed (status {status})"
    );
    Run {
        seconds,
        peak_kib: Some(usage.ru_maxrss as u64),
    }
}

fn best(rounds: usize, mut f: impl FnMut() -> Run) -> Run {
    best_of((0..rounds).map(|_| f()).collect())
}

/// The fastest of `runs`, with the largest peak memory any reached.
fn best_of(mut runs: Vec<Run>) -> Run {
    runs.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
    // Peak memory: the largest any round reached.
    let peak = runs.iter().filter_map(|r| r.peak_kib).max();
    Run {
        seconds: runs[0].seconds,
        peak_kib: peak,
    }
}

/// The generated events file, written once.
fn events_file(events: u64) -> PathBuf {
    let path =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("bench-events-{events}-seed1.ndjson"));
    if !path.exists() {
        eprintln!("writing {events} generated events to {}", path.display());
        let partial = path.with_extension("partial");
        let mut out =
            BufWriter::with_capacity(1 << 20, File::create(&partial).expect("bench file"));
        ruleq::gen::generate(events, 1, |line| {
            out.write_all(line.as_bytes()).expect("bench file write");
            out.write_all(b"\n").expect("bench file write");
        });
        out.flush().expect("bench file write");
        std::fs::rename(&partial, &path).expect("bench file rename");
    }
    path
}

/// The corpus-profile events, with the events holding indicator values and
/// the Elastic Defend alerts, and 10,000 indicators for the corpus's
/// indicator match rules (`gen-events --profile corpus --indicators FILE
/// --indicators-count 10000 --defend-alerts`), written once.
fn intel_files(events: u64) -> (PathBuf, PathBuf) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join(format!("bench-corpus-intel-{events}-seed1.ndjson"));
    let iocs = dir.join(format!(
        "bench-indicators-{INDICATORS}-{events}-seed1.ndjson"
    ));
    if !path.exists() || !iocs.exists() {
        eprintln!("writing {events} corpus-profile events and {INDICATORS} indicators");
        let write = |to: &Path, fill: &Fill<'_>| {
            let partial = to.with_extension("partial");
            let mut out =
                BufWriter::with_capacity(1 << 20, File::create(&partial).expect("bench file"));
            fill(&mut |line| {
                out.write_all(line.as_bytes()).expect("bench file write");
                out.write_all(b"\n").expect("bench file write");
            });
            out.flush().expect("bench file write");
            drop(out);
            std::fs::rename(&partial, to).expect("bench file rename");
        };
        let extras = ruleq::gen::Extras {
            threat_hits: true,
            defend_alerts: true,
        };
        write(&path, &|emit| {
            ruleq::gen::generate_extra(events, 1, ruleq::gen::Profile::Corpus, extras, |l| emit(l))
        });
        write(&iocs, &|emit| {
            ruleq::gen::indicators(INDICATORS, 1, events, |l| emit(l))
        });
    }
    (path, iocs)
}

/// Writes lines through the function it is given.
type Fill<'a> = dyn Fn(&mut dyn FnMut(&str)) + 'a;

/// Indicators loaded for the indicator match bench.
const INDICATORS: u64 = 10_000;

/// The floor: how fast serde_json only skips through each line.
fn skip_parse(path: &Path) -> Run {
    let started = Instant::now();
    skip_lines(path, 0, u64::MAX);
    Run {
        seconds: started.elapsed().as_secs_f64(),
        peak_kib: None,
    }
}

/// The floor's work on the lines that start in `from..to` (byte offsets;
/// `from` at a line start), with its own 1 MiB buffered reads.
fn skip_lines(path: &Path, from: u64, to: u64) -> u64 {
    let mut file = File::open(path).expect("events file");
    file.seek(SeekFrom::Start(from)).expect("seek");
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::with_capacity(4096);
    let (mut at, mut n) = (from, 0u64);
    while at < to {
        line.clear();
        let len = reader.read_until(b'\n', &mut line).expect("read");
        if len == 0 {
            break;
        }
        at += len as u64;
        let _: IgnoredAny = serde_json::from_slice(&line).expect("valid JSON");
        n += 1;
    }
    std::hint::black_box(n)
}

/// The floor's work split over `threads` threads, each on its own part of
/// the file: what the machine gives for work that needs no coordination
/// at all, the ceiling for `ruleq run`'s speed-up from threads.
fn skip_parse_parallel(path: &Path, threads: usize) -> Run {
    let len = std::fs::metadata(path).expect("events file").len();
    // Cut points moved forward to line starts.
    let mut cuts = vec![0u64];
    let mut file = BufReader::new(File::open(path).expect("events file"));
    for i in 1..threads as u64 {
        let at = (len * i / threads as u64).max(*cuts.last().unwrap_or(&0));
        file.seek(SeekFrom::Start(at)).expect("seek");
        let mut rest = Vec::new();
        let skipped = file.read_until(b'\n', &mut rest).expect("read") as u64;
        cuts.push((at + skipped).min(len));
    }
    cuts.push(len);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for part in cuts.windows(2) {
            let (from, to) = (part[0], part[1]);
            scope.spawn(move || skip_lines(path, from, to));
        }
    });
    Run {
        seconds: started.elapsed().as_secs_f64(),
        peak_kib: None,
    }
}

fn ruleq_run(rules: &[PathBuf], threads: usize, input: Option<&Path>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ruleq"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd.args(["run", "-q", "--now", NOW, "--format", "ndjson"]);
    cmd.args(["--threads", &threads.to_string()]);
    for r in rules {
        cmd.arg("-r").arg(r);
    }
    if let Some(p) = input {
        cmd.arg(p);
    }
    cmd
}

/// Every non-deprecated query and eql rule file of the corpus.
fn corpus_rules(shared: &Path) -> Vec<PathBuf> {
    let dir = shared.join("corpus/detection-rules");
    let paths = ruleq::rule::collect_paths(&[dir]).expect("corpus rules");
    paths
        .into_iter()
        .filter(|p| {
            let Ok(file) = ruleq::rule::load_file(p) else {
                return false;
            };
            !file.rules.is_empty()
                && file.rules.iter().all(|r| {
                    !r.is_deprecated()
                        && matches!(
                            r.rule_type.as_ref().map(|t| t.value),
                            Some(ruleq::rule::RuleType::Query | ruleq::rule::RuleType::Eql)
                        )
                        && r.language.as_ref().map(|l| l.value)
                            != Some(ruleq::rule::Language::Lucene)
                })
        })
        .collect()
}

/// Seconds Python eql takes for `query`, and its result count, when
/// `python3` has eql 1.0.1.
fn python_eql(path: &Path, query: &str) -> Option<(f64, u64)> {
    let version = Command::new("python3")
        .args(["-c", "import eql; print(eql.__version__)"])
        .output()
        .ok()?;
    if String::from_utf8_lossy(&version.stdout).trim() != "1.0.1" {
        return None;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/python_eql.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(path)
        .arg(query)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.split_whitespace();
    let (_events, results, seconds) = (parts.next()?, parts.next()?, parts.next()?);
    Some((seconds.parse().ok()?, results.parse().ok()?))
}

fn main() {
    let o = options();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let shared = std::env::var_os("RULEQ_SHARED").map(PathBuf::from);
    let path = events_file(o.events);
    let bytes = std::fs::metadata(&path).expect("events file").len();
    let seeds = vec![PathBuf::from("rules")];
    let mb = bytes as f64 / 1e6;
    let n = o.events as f64;

    println!(
        "ruleq throughput: {} generated events ({mb:.1} MB, {:.0} bytes each), {threads} threads available, best of {}",
        o.events,
        bytes as f64 / n,
        o.rounds
    );
    let mut rows: Vec<(String, Run, bool)> = Vec::new();
    // The floor and the seed runs take turns, round by round, so that a
    // busy moment of the machine does not fall on one of them only.
    let (mut floors, mut ones, mut alls) = (Vec::new(), Vec::new(), Vec::new());
    let mut parallel_floors = Vec::new();
    for _ in 0..o.rounds.max(3) {
        floors.push(skip_parse(&path));
        parallel_floors.push(skip_parse_parallel(&path, threads));
        if ones.len() < o.rounds {
            ones.push(measure(&mut ruleq_run(&seeds, 1, Some(&path)), None));
            alls.push(measure(&mut ruleq_run(&seeds, threads, Some(&path)), None));
        }
    }
    let floor = best_of(floors);
    rows.push((
        "skip-parse floor (serde IgnoredAny, 1 thread)".into(),
        floor,
        true,
    ));
    let parallel_floor = best_of(parallel_floors);
    rows.push((
        format!("skip-parse floor, {threads} threads (a part of the file each)"),
        parallel_floor,
        true,
    ));
    let seed1 = best_of(ones);
    rows.push(("ruleq run, 2 seed rules, 1 thread".into(), seed1, true));
    let seed_all = best_of(alls);
    rows.push((
        format!("ruleq run, 2 seed rules, {threads} threads"),
        seed_all,
        true,
    ));
    let corpus = shared.as_ref().map(|s| {
        let rules = corpus_rules(s);
        let run = best(o.rounds, || {
            measure(&mut ruleq_run(&rules, threads, Some(&path)), None)
        });
        rows.push((
            format!("ruleq run, {} corpus rules, {threads} threads", rules.len()),
            run,
            true,
        ));
        run
    });
    // Every rule ruleq runs (threshold, new_terms and indicator match
    // included), with 10,000 indicators and the Endpoint exception list,
    // over the corpus profile; --now near the generated data, so that the
    // indicator rules' `now-30d/d` keeps the indicators.
    let intel = shared.as_ref().map(|s| {
        let (events, iocs) = intel_files(o.events);
        let run = best(o.rounds, || {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_ruleq"));
            cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
            cmd.args(["run", "-q", "--now", INTEL_NOW, "--format", "ndjson"]);
            cmd.args(["--threads", &threads.to_string()]);
            cmd.arg("-r").arg(s.join("corpus/detection-rules"));
            cmd.arg("--indicators").arg(&iocs);
            cmd.args(["--exceptions", "tests/fixtures/exceptions/endpoint_list.ndjson"]);
            cmd.arg(&events);
            measure(&mut cmd, None)
        });
        rows.push((
            format!(
                "ruleq run, whole corpus, {INDICATORS} indicators, corpus profile, {threads} threads"
            ),
            run,
            true,
        ));
        run
    });
    let check = shared.as_ref().map(|s| {
        let dir = s.join("corpus/detection-rules");
        let run = best(o.rounds, || {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_ruleq"));
            cmd.arg("check").arg(&dir).stderr(Stdio::null());
            measure(&mut cmd, None)
        });
        rows.push(("ruleq check, whole corpus".into(), run, false));
        run
    });
    let python: Option<Vec<(f64, u64)>> = [PORT_EQL, SEQUENCE_EQL]
        .iter()
        .map(|q| python_eql(&path, q))
        .collect();
    if let Some(p) = &python {
        for ((secs, results), name) in p.iter().zip(["port query", "telnet sequence"]) {
            let run = Run {
                seconds: *secs,
                peak_kib: None,
            };
            rows.push((
                format!("Python eql 1.0.1, {name} ({results} results)"),
                run,
                true,
            ));
        }
    }
    let ten = o.ten_million.then(|| {
        let feed: Feed = Box::new(|out: &mut dyn Write| {
            let mut ok = true;
            ruleq::gen::generate(10_000_000, 1, |line| {
                ok = ok && out.write_all(line.as_bytes()).is_ok() && out.write_all(b"\n").is_ok();
            });
        });
        measure(&mut ruleq_run(&seeds, threads, None), Some(feed))
    });

    println!();
    println!(
        "{:<58} {:>12} {:>9} {:>9} {:>9}",
        "", "events/s", "MB/s", "peak MB", "seconds"
    );
    for (name, run, rate) in &rows {
        let (eps, mbs) = if *rate {
            (
                format!("{:.0}", n / run.seconds),
                format!("{:.1}", mb / run.seconds),
            )
        } else {
            ("-".into(), "-".into())
        };
        let peak = run
            .peak_kib
            .map_or("-".into(), |k| format!("{:.1}", k as f64 / 1024.0));
        println!(
            "{name:<58} {eps:>12} {mbs:>9} {peak:>9} {:>9.2}",
            run.seconds
        );
    }
    if let Some(t) = ten {
        println!(
            "{:<58} {:>12} {:>9} {:>9.1} {:>9.2}",
            "ruleq run, 2 seed rules, 10M events from a pipe",
            format!("{:.0}", 1e7 / t.seconds),
            "-",
            t.peak_kib.unwrap_or(0) as f64 / 1024.0,
            t.seconds
        );
    }

    println!();
    println!("targets (Throughput issue):");
    let verdict = |ok: bool| if ok { "met" } else { "NOT MET" };
    let r = floor.seconds / seed1.seconds;
    println!(
        "  seed rules 1 thread / skip-parse floor: {r:.2} (>= 0.6: {})",
        verdict(r >= 0.6)
    );
    let r = seed1.seconds / seed_all.seconds;
    println!(
        "  seed rules {threads} threads / 1 thread: {r:.2} (>= 1.7: {}); the machine's own ceiling, skip-parse floor {threads} threads / 1 thread: {:.2}",
        verdict(r >= 1.7),
        floor.seconds / parallel_floor.seconds
    );
    match &python {
        Some(p) => {
            let r = (p[0].0 + p[1].0) / seed_all.seconds;
            println!(
                "  Python eql (sum of both queries) / ruleq {threads} threads: {r:.1}x (>= 20: {})",
                verdict(r >= 20.0)
            );
        }
        None => println!("  Python eql: not installed (pip install eql==1.0.1), not compared"),
    }
    match corpus {
        Some(c) => {
            let eps = n / c.seconds;
            println!(
                "  corpus rules at {threads} threads: {eps:.0} events/s (>= 100000: {})",
                verdict(eps >= 100_000.0)
            );
        }
        None => println!("  corpus rules: RULEQ_SHARED not set, not measured"),
    }
    if let Some(c) = intel {
        let eps = n / c.seconds;
        println!(
            "  whole corpus with {INDICATORS} indicators at {threads} threads: {eps:.0} events/s (>= 100000: {}), peak {:.0} MB",
            verdict(eps >= 100_000.0),
            c.peak_kib.unwrap_or(0) as f64 / 1024.0
        );
    }
    let peak = seed_all.peak_kib.max(seed1.peak_kib).unwrap_or(0) as f64 / 1024.0;
    println!(
        "  peak memory, seed rules, {} events: {peak:.1} MB (< 100: {})",
        o.events,
        verdict(peak < 100.0)
    );
    match ten {
        Some(t) => {
            let peak = t.peak_kib.unwrap_or(0) as f64 / 1024.0;
            println!(
                "  peak memory, seed rules, 10M events: {peak:.1} MB (< 100: {})",
                verdict(peak < 100.0)
            );
        }
        None => println!("  peak memory at 10M events: run with --ten-million"),
    }
    match check {
        Some(c) => println!(
            "  ruleq check, whole corpus: {:.2} s (< 1: {})",
            c.seconds,
            verdict(c.seconds < 1.0)
        ),
        None => println!("  ruleq check: RULEQ_SHARED not set, not measured"),
    }
}
