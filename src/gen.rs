//! A deterministic generator of realistic ECS endpoint events, for tests
//! and benchmarks: process starts and ends, network connections, file
//! changes and logons from Linux, Windows and macOS hosts, about 1 KB each,
//! with `event.category` sometimes an array (as Elastic Defend writes it).
//! Some telnet activity is mixed in so the seed rules fire: a telnet start
//! followed by its connection to a public address, and near misses (private
//! and loopback addresses, other programs on port 23, UDP).
//!
//! The same seed always gives the same events, byte for byte.
//!
//! [`generate_with`] and [`Profile::Corpus`] mix in, besides, bursts of
//! cloud, identity, network and endpoint events on which threshold and
//! new_terms rules of Elastic's detection-rules corpus alert (see
//! [`Profile`]).

use std::fmt::Write;

mod corpus;
pub mod defend;
pub mod intel;

pub use intel::indicators;

/// Events [`Profile::Corpus`] adds behind options of `gen-events`, so that
/// the output without them stays as it was, byte for byte. The events
/// between blocks stay the endpoint profile's, in order (numbered and
/// timed after the blocks before them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extras {
    /// Events carrying values of the generated indicators
    /// ([`indicators`]): e-mail addresses, file hashes, URLs and CVEs,
    /// 24 events 2,000 events into every round (`--indicators FILE`).
    pub threat_hits: bool,
    /// Elastic Defend alerts (see [`defend`]): 30 alerts 3,000 events into
    /// every round, half of them silenced by the project's Endpoint
    /// exception list fixture (`--defend-alerts`).
    pub defend_alerts: bool,
}

/// What [`generate_with`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// Endpoint events with telnet activity, as [`generate`] writes them.
    #[default]
    Endpoint,
    /// The endpoint events with, every 50,000 events, a round of bursts on
    /// which threshold and new_terms rules of Elastic's detection-rules
    /// corpus alert, each burst event with an `_index` the rules' `index`
    /// patterns match (AWS CloudTrail, Azure, GCP, Okta, Microsoft 365,
    /// GitHub, Kubernetes, Google Workspace, network traffic, the Windows
    /// security log, Linux auth and Linux, Windows and macOS endpoint
    /// events): 1,000 events into the round, two events per new terms burst
    /// with values every round repeats (its history); at 25,000, the
    /// threshold bursts (failed logins, sweeps, deletions in a row: enough
    /// matching events, or distinct values, within a second); at 48,500,
    /// about sixteen minutes after the history, one event per new terms
    /// burst with values (a user, an address, a process, a country...) no
    /// earlier event held. The bursts are 1,264 events a round, about 2.5%
    /// of the output, and count in `count`; the events between them are
    /// those [`Profile::Endpoint`] writes, in the same order, numbered and
    /// timed after the bursts before them. Burst events have an `event.id`
    /// starting with `burst-base-`, `burst-thr-` or `burst-new-` (then the
    /// round and the burst), so that tests can tell which alerts they
    /// raised. Rules that read other rules' alerts (`.alerts-security.*`)
    /// are not served.
    Corpus,
}

/// A small, fast, seedable generator (SplitMix64): no dependency, stable
/// output across platforms and versions.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

struct Host {
    name: &'static str,
    os: &'static str,
    platform: &'static str,
    ip: &'static str,
}

const HOSTS: &[Host] = &[
    Host {
        name: "web-01",
        os: "linux",
        platform: "ubuntu",
        ip: "10.0.1.11",
    },
    Host {
        name: "web-02",
        os: "linux",
        platform: "debian",
        ip: "10.0.1.12",
    },
    Host {
        name: "db-01",
        os: "linux",
        platform: "rhel",
        ip: "10.0.2.21",
    },
    Host {
        name: "build-03",
        os: "linux",
        platform: "ubuntu",
        ip: "10.0.3.31",
    },
    Host {
        name: "WKS-ACC-17",
        os: "windows",
        platform: "windows",
        ip: "10.1.4.17",
    },
    Host {
        name: "WKS-HR-04",
        os: "windows",
        platform: "windows",
        ip: "10.1.4.40",
    },
    Host {
        name: "mbp-design-2",
        os: "macos",
        platform: "darwin",
        ip: "192.168.7.22",
    },
];

const LINUX_PROCS: &[(&str, &str)] = &[
    ("bash", "/usr/bin/bash"),
    ("curl", "/usr/bin/curl"),
    ("sshd", "/usr/sbin/sshd"),
    ("python3", "/usr/bin/python3"),
    ("cron", "/usr/sbin/cron"),
    ("systemd", "/usr/lib/systemd/systemd"),
    ("nginx", "/usr/sbin/nginx"),
];
const WINDOWS_PROCS: &[(&str, &str)] = &[
    ("cmd.exe", "C:\\Windows\\System32\\cmd.exe"),
    (
        "powershell.exe",
        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
    ),
    ("svchost.exe", "C:\\Windows\\System32\\svchost.exe"),
    ("explorer.exe", "C:\\Windows\\explorer.exe"),
    (
        "chrome.exe",
        "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
    ),
];
const MAC_PROCS: &[(&str, &str)] = &[
    ("zsh", "/bin/zsh"),
    ("Safari", "/Applications/Safari.app/Contents/MacOS/Safari"),
    ("launchd", "/sbin/launchd"),
];
const USERS: &[&str] = &["root", "alice", "bob", "svc-backup", "carol", "SYSTEM"];
const PUBLIC_IPS: &[&str] = &[
    "93.184.216.34",
    "8.8.8.8",
    "151.101.1.69",
    "203.0.114.5",
    "2606:4700::6810:85e5",
];
const PRIVATE_IPS: &[&str] = &[
    "10.0.2.21",
    "172.16.4.2",
    "192.168.1.1",
    "127.0.0.1",
    "::1",
    "fe80::1",
];
const PORTS: &[u16] = &[443, 80, 22, 53, 8080, 5432, 3389, 445];

/// Makes `count` events from `seed`, one NDJSON line each, calling `emit`
/// for each line (without the newline), so callers can stream: the
/// [`Profile::Endpoint`] events of [`generate_with`].
pub fn generate(count: u64, seed: u64, emit: impl FnMut(&str)) {
    generate_with(count, seed, Profile::Endpoint, emit)
}

/// Makes `count` events of `profile` from `seed`, one NDJSON line each,
/// calling `emit` for each line (without the newline). Event times never
/// decrease; the same arguments always give the same bytes.
pub fn generate_with(count: u64, seed: u64, profile: Profile, emit: impl FnMut(&str)) {
    generate_extra(count, seed, profile, Extras::default(), emit)
}

/// [`generate_with`], with the `extras` blocks of [`Profile::Corpus`]
/// (they need it: the endpoint profile has no blocks, and ignores them).
pub fn generate_extra(
    count: u64,
    seed: u64,
    profile: Profile,
    extras: Extras,
    mut emit: impl FnMut(&str),
) {
    let mut rng = Rng::new(seed);
    // 2026-03-01T00:00:00Z in milliseconds.
    let mut t: i64 = 1_772_323_200_000;
    let mut line = String::with_capacity(1536);
    let mut pending_telnet: Vec<(usize, String, bool)> = Vec::new();
    // The bursts draw on a generator of their own, so that the events
    // between them are the endpoint profile's.
    let mut bursts = (profile == Profile::Corpus).then(|| corpus::Bursts::new(seed, extras));
    let mut i = 0u64;
    while i < count {
        if let Some(b) = bursts.as_mut() {
            let n = b.emit_due(i, count, &mut t, &mut emit);
            if n > 0 {
                i += n;
                continue;
            }
        }
        t += 1 + rng.below(40) as i64;
        let host_i = rng.below(HOSTS.len() as u64) as usize;
        line.clear();
        // A telnet session opened earlier gets its connection now and then.
        if let Some(pos) = (!pending_telnet.is_empty() && rng.below(4) == 0)
            .then(|| rng.below(pending_telnet.len() as u64) as usize)
        {
            let (h, entity, public) = pending_telnet.swap_remove(pos);
            let ip = if public {
                *rng.pick(PUBLIC_IPS)
            } else {
                *rng.pick(PRIVATE_IPS)
            };
            network(
                &mut line,
                &mut rng,
                t,
                &HOSTS[h],
                "telnet",
                "/usr/bin/telnet",
                &entity,
                ip,
                23,
                "tcp",
                i,
            );
        } else {
            match rng.below(100) {
                // Telnet starts on Linux hosts, most of them connecting out.
                0 if HOSTS[host_i].os == "linux" => {
                    let entity = format!("telnet-{seed}-{i}");
                    process(
                        &mut line,
                        &mut rng,
                        t,
                        &HOSTS[host_i],
                        "telnet",
                        "/usr/bin/telnet",
                        &entity,
                        "start",
                        i,
                    );
                    pending_telnet.push((host_i, entity, rng.below(3) != 0));
                }
                // Near misses: other programs on port 23, telnet over UDP.
                1 => {
                    let entity = format!("e-{seed}-{i}");
                    let proto = if rng.below(2) == 0 { "udp" } else { "tcp" };
                    let ip = *rng.pick(PUBLIC_IPS);
                    network(
                        &mut line,
                        &mut rng,
                        t,
                        &HOSTS[host_i],
                        "nc",
                        "/usr/bin/nc",
                        &entity,
                        ip,
                        23,
                        proto,
                        i,
                    );
                }
                2..=39 => {
                    let (name, exe) = proc_for(&mut rng, HOSTS[host_i].os);
                    let entity = format!("e-{seed}-{}", rng.below(5000));
                    let kind = if rng.below(3) == 0 { "end" } else { "start" };
                    process(
                        &mut line,
                        &mut rng,
                        t,
                        &HOSTS[host_i],
                        name,
                        exe,
                        &entity,
                        kind,
                        i,
                    );
                }
                40..=69 => {
                    let (name, exe) = proc_for(&mut rng, HOSTS[host_i].os);
                    let entity = format!("e-{seed}-{}", rng.below(5000));
                    let ip = if rng.below(2) == 0 {
                        *rng.pick(PUBLIC_IPS)
                    } else {
                        *rng.pick(PRIVATE_IPS)
                    };
                    let port = *rng.pick(PORTS);
                    network(
                        &mut line,
                        &mut rng,
                        t,
                        &HOSTS[host_i],
                        name,
                        exe,
                        &entity,
                        ip,
                        port,
                        "tcp",
                        i,
                    );
                }
                70..=89 => file(&mut line, &mut rng, t, &HOSTS[host_i], i),
                _ => authentication(&mut line, &mut rng, t, &HOSTS[host_i], i),
            }
        }
        emit(&line);
        i += 1;
    }
}

fn proc_for(rng: &mut Rng, os: &str) -> (&'static str, &'static str) {
    *match os {
        "windows" => rng.pick(WINDOWS_PROCS),
        "macos" => rng.pick(MAC_PROCS),
        _ => rng.pick(LINUX_PROCS),
    }
}

/// `s` as JSON string content (backslashes and quotes escaped).
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn iso(t: i64) -> String {
    crate::compile::date::format_iso(t * 1_000_000, false)
}

/// The fields every event shares: time, agent, host, user, ids.
fn common(out: &mut String, rng: &mut Rng, t: i64, host: &Host, dataset: &str, seq: u64) {
    let user = rng.pick(USERS);
    let _ = write!(
        out,
        r#""@timestamp":"{ts}","agent":{{"type":"endpoint","version":"8.17.0","id":"agent-{name}"}},"ecs":{{"version":"8.11.0"}},"data_stream":{{"type":"logs","dataset":"{dataset}","namespace":"default"}},"host":{{"name":"{name}","hostname":"{name}","id":"host-{name}","ip":["{ip}"],"os":{{"type":"{os}","platform":"{platform}","family":"{platform}"}},"architecture":"x86_64"}},"user":{{"name":"{user}","id":"{uid}"}},"event":{{"id":"evt-{seq}","sequence":{seq},"ingested":"{ts}","#,
        ts = iso(t),
        name = host.name,
        ip = host.ip,
        os = host.os,
        platform = host.platform,
        uid = 1000 + rng.below(50),
    );
}

#[allow(clippy::too_many_arguments)]
fn process(
    out: &mut String,
    rng: &mut Rng,
    t: i64,
    host: &Host,
    name: &str,
    exe: &str,
    entity: &str,
    kind: &str,
    seq: u64,
) {
    out.push('{');
    common(out, rng, t, host, "endpoint.events.process", seq);
    let category = if rng.below(2) == 0 {
        r#"["process"]"#
    } else {
        r#""process""#
    };
    let action = if kind == "start" { "exec" } else { "end" };
    let parent = rng.pick(&["bash", "sshd", "systemd", "explorer.exe", "zsh"]);
    let _ = write!(
        out,
        r#""kind":"event","category":{category},"type":["{kind}"],"action":"{action}","module":"endpoint","dataset":"endpoint.events.process"}},"process":{{"name":"{name}","executable":"{exe}","entity_id":"{entity}","pid":{pid},"args":["{exe}","--opt","{arg}"],"args_count":3,"command_line":"{exe} --opt {arg}","working_directory":"/home/user","parent":{{"name":"{parent}","pid":{ppid},"entity_id":"parent-{ppid}"}}}},"message":"Endpoint process event"}}"#,
        exe = esc(exe),
        pid = 100 + rng.below(60_000),
        ppid = 1 + rng.below(5_000),
        arg = rng.below(1_000_000),
    );
}

#[allow(clippy::too_many_arguments)]
fn network(
    out: &mut String,
    rng: &mut Rng,
    t: i64,
    host: &Host,
    name: &str,
    exe: &str,
    entity: &str,
    ip: &str,
    port: u16,
    transport: &str,
    seq: u64,
) {
    out.push('{');
    common(out, rng, t, host, "endpoint.events.network", seq);
    let category = if rng.below(2) == 0 {
        r#"["network"]"#
    } else {
        r#""network""#
    };
    let _ = write!(
        out,
        r#""kind":"event","category":{category},"type":["start","connection"],"action":"connection_attempted","module":"endpoint","dataset":"endpoint.events.network"}},"network":{{"transport":"{transport}","type":"{ipv}","direction":"egress"}},"source":{{"ip":"{src}","port":{sport}}},"destination":{{"ip":"{ip}","port":{port}}},"process":{{"name":"{name}","executable":"{exe}","entity_id":"{entity}","pid":{pid}}},"message":"Endpoint network event"}}"#,
        ipv = if ip.contains(':') { "ipv6" } else { "ipv4" },
        src = host.ip,
        exe = esc(exe),
        sport = 1024 + rng.below(60_000),
        pid = 100 + rng.below(60_000),
    );
}

fn file(out: &mut String, rng: &mut Rng, t: i64, host: &Host, seq: u64) {
    out.push('{');
    common(out, rng, t, host, "endpoint.events.file", seq);
    let (kind, action) = *rng.pick(&[
        ("creation", "creation"),
        ("deletion", "deletion"),
        ("change", "overwrite"),
    ]);
    let path = match host.os {
        "windows" => format!("C:\\\\Users\\\\Public\\\\report-{}.docx", rng.below(900)),
        _ => format!("/tmp/cache-{}.tmp", rng.below(900)),
    };
    let _ = write!(
        out,
        r#""kind":"event","category":"file","type":["{kind}"],"action":"{action}","module":"endpoint","dataset":"endpoint.events.file"}},"file":{{"path":"{path}","extension":"{ext}","size":{size}}},"process":{{"name":"writer","pid":{pid},"entity_id":"e-{pid}"}},"message":"Endpoint file event"}}"#,
        ext = if host.os == "windows" { "docx" } else { "tmp" },
        size = rng.below(5_000_000),
        pid = 100 + rng.below(60_000),
    );
}

fn authentication(out: &mut String, rng: &mut Rng, t: i64, host: &Host, seq: u64) {
    out.push('{');
    common(out, rng, t, host, "system.auth", seq);
    let outcome = if rng.below(5) == 0 {
        "failure"
    } else {
        "success"
    };
    let _ = write!(
        out,
        r#""kind":"event","category":["authentication"],"type":["start"],"action":"logged-in","outcome":"{outcome}","module":"system","dataset":"system.auth"}},"source":{{"ip":"{ip}"}},"process":{{"name":"sshd","pid":{pid}}},"message":"Accepted publickey for user from source port 50022 ssh2"}}"#,
        ip = rng.pick(PUBLIC_IPS),
        pid = 100 + rng.below(60_000),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_profile_counts_its_bursts_and_keeps_time_order() {
        let mut endpoint = Vec::new();
        generate_with(60_000, 5, Profile::Endpoint, |l| {
            endpoint.push(l.to_string())
        });
        let mut plain = Vec::new();
        generate(60_000, 5, |l| plain.push(l.to_string()));
        assert_eq!(endpoint, plain);

        let mut corpus = Vec::new();
        generate_with(60_000, 5, Profile::Corpus, |l| corpus.push(l.to_string()));
        assert_eq!(corpus.len(), 60_000);
        let time = |l: &str| l[15..39].to_string();
        assert!(corpus.windows(2).all(|w| time(&w[0]) <= time(&w[1])));
        let kinds = [
            "burst-base-0-",
            "burst-thr-0-",
            "burst-new-0-",
            "burst-base-1-",
        ];
        for kind in kinds {
            assert!(corpus.iter().any(|l| l.contains(kind)), "no {kind}");
        }
        // The events between bursts are the endpoint profile's (numbered
        // and timed after the bursts): the same processes, in order.
        let process = |l: &String| l.split("\"process\":").nth(1).map(|p| p[..40].to_string());
        let ordinary: Vec<_> = corpus
            .iter()
            .filter(|l| !l.contains("\"id\":\"burst-"))
            .filter_map(process)
            .collect();
        let expected: Vec<_> = endpoint
            .iter()
            .filter_map(process)
            .take(ordinary.len())
            .collect();
        assert_eq!(ordinary, expected);
        // Cut short in the middle of a block, the output still counts.
        let mut n = 0;
        generate_with(1_010, 5, Profile::Corpus, |_| n += 1);
        assert_eq!(n, 1_010);
    }

    #[test]
    fn same_seed_same_events_and_every_line_is_json() {
        let mut a = Vec::new();
        generate(2_000, 7, |l| a.push(l.to_string()));
        let mut b = Vec::new();
        generate(2_000, 7, |l| b.push(l.to_string()));
        assert_eq!(a, b);
        let mut c = Vec::new();
        generate(2_000, 8, |l| c.push(l.to_string()));
        assert_ne!(a, c);
        let mut bytes = 0;
        for l in &a {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            assert!(v["@timestamp"].is_string());
            bytes += l.len();
        }
        let mean = bytes / a.len();
        assert!((600..1600).contains(&mean), "mean event size {mean}");
    }
}
