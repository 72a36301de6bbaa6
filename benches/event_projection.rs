//! Projection speed against the skip-parse floor.
//!
//! `cargo bench --bench event_projection [-- --events N --rounds R]`
//! generates N (default 50,000)
//! synthetic ECS events of about 1 KB (deterministic), then times, best of
//! R (default 7) interleaved rounds, on the same in-memory NDJSON:
//!
//! * the floor: `serde_json::from_slice::<IgnoredAny>` per line;
//! * the projection of 14 fields a typical rule set reads;
//! * for scale, `serde_json::from_slice::<Value>` per line;
//! * the projection fed by `EventSource` from a file (reading included).
//!
//! It prints events/s and MB/s of each and the ratio to the floor. Not a
//! test: it asserts nothing about time.

use std::fmt::Write as _;
use std::time::Instant;

use ruleq::event::{EventSource, FieldTable, Input, Item, Projector};
use serde::de::IgnoredAny;

/// A small deterministic generator (xorshift), so runs compare.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

/// One ECS endpoint event of roughly 1 KB; some use flat dotted keys and
/// `event.category` arrays, Windows ones carry escaped backslashes.
fn event(rng: &mut Rng, i: u64) -> String {
    let windows = rng.next() % 2 == 0;
    let (os, exe, parent) = if windows {
        (
            "windows",
            rng.pick(&["cmd.exe", "powershell.exe", "rundll32.exe", "svchost.exe"]),
            rng.pick(&["explorer.exe", "services.exe", "winword.exe"]),
        )
    } else {
        (
            "linux",
            rng.pick(&["bash", "telnet", "curl", "python3", "sshd"]),
            rng.pick(&["systemd", "bash", "sshd", "cron"]),
        )
    };
    let path = if windows {
        format!(r"C:\\Windows\\System32\\{exe}")
    } else {
        format!("/usr/bin/{exe}")
    };
    let category = match rng.next() % 3 {
        0 => r#"["process"]"#,
        1 => r#"["network"]"#,
        _ => r#"["process", "network"]"#,
    };
    let mut s = String::with_capacity(1100);
    write!(
        s,
        r#"{{"@timestamp": "2026-03-01T12:{:02}:{:02}.{:03}Z", "agent": {{"id": "{:016x}", "type": "endpoint", "version": "8.17.0"}}, "#,
        i / 60 % 60,
        i % 60,
        i % 1000,
        rng.next()
    )
    .unwrap();
    write!(
        s,
        r#""ecs": {{"version": "8.11.0"}}, "event": {{"category": {category}, "type": ["start"], "action": "exec", "kind": "event", "module": "endpoint", "dataset": "endpoint.events.process", "id": "{:x}"}}, "#,
        rng.next()
    )
    .unwrap();
    write!(
        s,
        r#""host": {{"name": "host-{}", "hostname": "host-{}", "os": {{"type": "{os}", "family": "{os}", "name": "{os}", "version": "10.0"}}, "ip": ["10.0.{}.{}", "fe80::1"], "id": "{:x}"}}, "#,
        rng.next() % 50,
        rng.next() % 50,
        rng.next() % 256,
        rng.next() % 256,
        rng.next()
    )
    .unwrap();
    write!(
        s,
        r#""process": {{"pid": {}, "entity_id": "{:x}", "name": "{exe}", "executable": "{path}", "args": ["{path}", "-c", "echo {}"], "command_line": "{path} -c echo", "working_directory": "/tmp", "parent": {{"pid": {}, "name": "{parent}", "executable": "/usr/sbin/{parent}"}}, "hash": {{"sha256": "{:016x}{:016x}{:016x}"}}}}, "#,
        rng.next() % 65536,
        rng.next(),
        rng.next() % 1000,
        rng.next() % 65536,
        rng.next(),
        rng.next(),
        rng.next()
    )
    .unwrap();
    write!(
        s,
        r#""user": {{"name": "{}", "id": "{}"}}, "source.ip": "10.1.{}.{}", "source.port": {}, "destination": {{"ip": "192.168.{}.{}", "port": {}}}, "network": {{"transport": "{}", "direction": "egress"}}, "message": "Endpoint process event {}"}}"#,
        rng.pick(&["root", "alice", "bob", "SYSTEM"]),
        rng.next() % 2000,
        rng.next() % 256,
        rng.next() % 256,
        rng.next() % 65536,
        rng.next() % 256,
        rng.next() % 256,
        rng.pick(&["22", "23", "80", "443", "3389"]),
        rng.pick(&["tcp", "udp"]),
        i
    )
    .unwrap();
    s
}

const FIELDS: &[&str] = &[
    "@timestamp",
    "event.category",
    "event.type",
    "event.action",
    "host.os.type",
    "process.name",
    "process.args",
    "process.parent.name",
    "process.pid",
    "user.name",
    "source.ip",
    "destination.ip",
    "destination.port",
    "network.transport",
];

/// Seconds `f` takes when `on`, else NaN (not run).
fn timed<F: FnMut() -> u64>(on: bool, n: u64, f: F) -> f64 {
    if on {
        time(n, f)
    } else {
        f64::NAN
    }
}

/// Seconds `f` takes; it must report having processed `n` events.
fn time<F: FnMut() -> u64>(n: u64, mut f: F) -> f64 {
    let t = Instant::now();
    let k = f();
    let s = t.elapsed().as_secs_f64();
    assert_eq!(k, n, "every event must be processed");
    s
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: u64| -> u64 {
        match args.iter().position(|a| a == name) {
            Some(i) => args
                .get(i + 1)
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} N")),
            None => default,
        }
    };
    let n = arg("--events", 50_000);
    let rounds = arg("--rounds", 7);
    // `--only projection` runs just that contender (for a profiler).
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1).cloned());
    let run = |name: &str| only.as_deref().is_none_or(|o| o == name);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&event(&mut rng, i));
        text.push('\n');
    }
    let lines: Vec<&[u8]> = text
        .as_bytes()
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let mb = text.len() as f64 / 1e6;
    println!(
        "{n} events, {:.1} MB, {:.0} bytes/event on average, {} fields projected",
        mb,
        text.len() as f64 / n as f64,
        FIELDS.len()
    );

    let mut table = FieldTable::new();
    let ids: Vec<_> = FIELDS.iter().map(|f| table.intern(f)).collect();
    let mut proj = Projector::new(&table);
    // Every event has a value for every field (the sanity of the figure).
    let rec = proj.project(lines[0]).unwrap();
    for (id, f) in ids.iter().zip(FIELDS) {
        assert!(rec.contains(*id), "{f} missing from the generated event");
    }
    let values = rec.value_count();
    proj.recycle(rec);
    let path = std::env::temp_dir().join(format!("ruleq-bench-{}.ndjson", std::process::id()));
    std::fs::write(&path, &text).unwrap();

    // The machine is shared: rounds interleave the contenders so that a
    // busy moment hurts them alike, and each keeps its best round.
    let (mut floor, mut projection, mut from_file, mut value) =
        (f64::MAX, f64::MAX, f64::MAX, f64::MAX);
    for round in 0..rounds {
        floor = floor.min(timed(run("floor"), n, || {
            let mut k = 0;
            for l in &lines {
                serde_json::from_slice::<IgnoredAny>(l).unwrap();
                k += 1;
            }
            k
        }));
        projection = projection.min(timed(run("projection"), n, || {
            let mut k = 0;
            for l in &lines {
                let rec = proj.project(l).unwrap();
                k += 1;
                proj.recycle(rec);
            }
            k
        }));
        from_file = from_file.min(timed(run("file"), n, || {
            let mut src = EventSource::new(&[Input::Path(path.clone())]).unwrap();
            let mut k = 0;
            while let Some(item) = src.next_item() {
                if let Ok(Item::Event(ev)) = item {
                    let rec = proj.project(ev.bytes).unwrap();
                    k += 1;
                    proj.recycle(rec);
                }
            }
            k
        }));
        // The slow reference runs less often.
        if round < 2 && run("value") {
            value = value.min(time(n, || {
                let mut k = 0;
                for l in &lines {
                    serde_json::from_slice::<serde_json::Value>(l).unwrap();
                    k += 1;
                }
                k
            }));
        }
    }
    let _ = std::fs::remove_file(&path);

    let row = |name: &str, secs: f64| {
        if secs == f64::MAX {
            return; // not run (`--only`)
        }
        println!(
            "{name:<34} {:>10.0} events/s {:>8.1} MB/s   {:.2} x floor",
            n as f64 / secs,
            mb / secs,
            floor / secs
        );
    };
    row("skip-parse floor (IgnoredAny)", floor);
    row("projection (in memory)", projection);
    row("projection (EventSource, file)", from_file);
    row("serde_json::Value (for scale)", value);
    println!("({values} values read per event; best of {rounds} interleaved rounds)");
}
