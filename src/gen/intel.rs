//! Threat intelligence for the corpus profile (`gen-events --profile corpus
//! --indicators FILE`): indicator documents for the six indicator match
//! (`threat_match`) rules of Elastic's detection-rules corpus, and, in the
//! event stream, events carrying some of their values.
//!
//! The rules and what each indicator holds (the rule's mapped indicator
//! field in bold):
//!
//! | kind | rule (`threat_mapping`: event field → indicator field) | indicator |
//! | --- | --- | --- |
//! | [`Kind::Ip`] | Threat Intel IP Address Indicator Match: `source.ip`, `destination.ip` → **`threat.indicator.ip`** | ThreatFox, OTX, Anomali (Filebeat) |
//! | [`Kind::Email`] | Threat Intel Email Indicator Match: `email.{from,to,sender,reply_to}.address` → **`threat.indicator.email.address`** | MISP, OTX |
//! | [`Kind::Hash`] | Threat Intel Hash Indicator Match: `{file,dll,process}.hash.{md5,sha1,sha256}` → **`threat.indicator.file.hash.*`** | URLhaus payloads, MalwareBazaar (Fleet and Filebeat) |
//! | [`Kind::Registry`] | Threat Intel Windows Registry Indicator Match: `registry.path` → **`threat.indicator.registry.path`** | MISP, OpenCTI |
//! | [`Kind::Url`] | Threat Intel URL Indicator Match: `url.full`, `url.original` → **`threat.indicator.url.full`**, **`threat.indicator.url.original`** | URLhaus (Fleet and Filebeat) |
//! | [`Kind::Vulnerability`] | Rapid7 Threat Command CVEs Correlation: `vulnerability.id` → **`vulnerability.id`** | Rapid7 Threat Command, with `rapid7.tc.vulnerability` (the rule's indicator path) |
//!
//! Every indicator passes its rule's `threat_query` and `threat_filters`:
//! `event.module` is `threatintel` (Filebeat indices) or `ti_*` (Fleet
//! indices), `event.kind` `enrichment`, `event.category` `threat`,
//! `event.type` `indicator`, no `labels.is_ioc_transform_source`, and its
//! `_index` (`logs-ti_<package>.<dataset>-default`, `filebeat-8.17.0`, or
//! the Rapid7 rule's `logs-ti_rapid7_threat_command_latest.vulnerability`)
//! matches the rule's `threat_index`. Their `@timestamp` lies in the two
//! days before the events' first (2026-03-01T00:00:00Z): the rules'
//! `@timestamp >= "now-30d/d"` keeps them when a run's `--now` is near the
//! events' time (the last event's, say), and drops them all with the clock's
//! time much later.
//!
//! One indicator in ten (the twenty of every tenth block of twenty:
//! indicators 0 to 19, 200 to 219...) holds a value that generated events
//! carry in the mapped field, its *hit*: for addresses, the public
//! addresses of the corpus bursts' history, threshold and new terms events
//! (see [`super::Profile::Corpus`]); for registry paths, the USB device
//! path of the bursts' Windows registry events; for e-mail addresses,
//! hashes, URLs and CVEs, the events written into the stream 2,000 events
//! into every round (with `--indicators` only, so that other outputs stay
//! as they were: per round and kind, five with hit values, `event.id`
//! `ti-hit-<round>-<kind>-<k>`, and one with a value no indicator holds,
//! `ti-miss-<round>-<kind>`). Hits cycle through the values of the rounds
//! the events hold whole, so that each is carried by some event; with
//! fewer than 3,000 events, e-mail, hash, URL and CVE indicators have no
//! hits. The other indicators hold values no generated event carries
//! (addresses in 45.0.0.0/8 and 2001:db8::/32, `.example.net` hosts...).

use super::corpus::{merge, HISTORY_AT, NEW_AT, PERIOD, THRESHOLD_AT};
use super::{iso, Rng};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// Where in a round of [`PERIOD`] events the events carrying indicator
/// values come (with `--indicators`).
pub(super) const THREAT_AT: u64 = 2_000;
/// Events of one kind carrying a hit value, per round.
const HITS_PER_ROUND: u64 = 5;
/// Every block of the corpus profile is shorter than this: a round's block
/// at position `p` is whole when `p + BLOCK_MAX` events fit.
pub(super) const BLOCK_MAX: u64 = 1_000;
/// 2026-03-01T00:00:00Z, the generated events' first time, in milliseconds.
const EVENTS_START: i64 = 1_772_323_200_000;

/// What an indicator is, one kind per `threat_match` rule of the corpus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An IPv4 or IPv6 address (`threat.indicator.ip`).
    Ip,
    /// An e-mail address (`threat.indicator.email.address`).
    Email,
    /// A file's MD5, SHA-1 and SHA-256 (`threat.indicator.file.hash.*`).
    Hash,
    /// A Windows registry path (`threat.indicator.registry.path`).
    Registry,
    /// A URL (`threat.indicator.url.full` and `.original`).
    Url,
    /// A CVE of Rapid7 Threat Command (`vulnerability.id`).
    Vulnerability,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 6] = [
        Kind::Ip,
        Kind::Email,
        Kind::Hash,
        Kind::Registry,
        Kind::Url,
        Kind::Vulnerability,
    ];

    /// The `rule_id` of the corpus rule the kind serves.
    pub fn rule_id(self) -> &'static str {
        match self {
            Kind::Ip => "0c41e478-5263-4c69-8f9e-7dfd2c22da64",
            Kind::Email => "fcf18de8-ad7d-4d01-b3f7-a11d5b3883af",
            Kind::Hash => "aab184d3-72b3-4639-b242-6597c99d8bca",
            Kind::Registry => "a61809f3-fb5b-465c-8bff-23a8a068ac60",
            Kind::Url => "f3e22c8b-ea47-45d1-b502-b57b6de950b3",
            Kind::Vulnerability => "3a657da0-1df2-11ef-a327-f661ea17fbcc",
        }
    }

    /// The kind of indicator `k` (of every 20: 7 addresses, 5 hashes,
    /// 4 URLs, 2 CVEs, 1 e-mail address, 1 registry path), and its place
    /// among the indicators of its kind in its block of 20.
    fn of(k: u64) -> (Kind, u64) {
        match k % 20 {
            s @ 0..=6 => (Kind::Ip, s),
            s @ 7..=11 => (Kind::Hash, s - 7),
            s @ 12..=15 => (Kind::Url, s - 12),
            s @ 16..=17 => (Kind::Vulnerability, s - 16),
            18 => (Kind::Email, 0),
            _ => (Kind::Registry, 0),
        }
    }

    /// Indicators of the kind in each block of 20.
    fn per_block(self) -> u64 {
        match self {
            Kind::Ip => 7,
            Kind::Hash => 5,
            Kind::Url => 4,
            Kind::Vulnerability => 2,
            Kind::Email | Kind::Registry => 1,
        }
    }
}

/// The first `len` hex digits of the SHA-256 of `text`.
fn hex(text: &str, len: usize) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        use std::fmt::Write;
        let _ = write!(out, "{b:02x}");
    }
    out.truncate(len);
    out
}

/// The MD5, SHA-1 and SHA-256 (look-alikes) of file `name`.
fn hashes(name: &str) -> [String; 3] {
    [
        hex(&format!("md5:{name}"), 32),
        hex(&format!("sha1:{name}"), 40),
        hex(&format!("sha256:{name}"), 64),
    ]
}

/// The e-mail address of hit `j`.
fn email_hit(j: u64) -> String {
    format!("billing{j}@invoice-portal-{}.example", j % 7)
}

/// The hashes of hit `j`'s file.
fn hash_hit(j: u64) -> [String; 3] {
    hashes(&format!("hit-{j}"))
}

/// The URL of hit `j`.
fn url_hit(j: u64) -> String {
    format!("https://cdn-{j}.update-check.example/dl/setup-{j}.exe")
}

/// The CVE of hit `j` (a 2026 id above any the non-hits use).
fn cve_hit(j: u64) -> String {
    format!("CVE-2026-{}", 90_000 + j)
}

/// The registry path the corpus bursts' USB device events write for
/// value `v` (`base0`, `base1`, `new<r>`).
fn usb_path(v: &str) -> String {
    format!(
        "HKLM\\SYSTEM\\ControlSet001\\Enum\\USBSTOR\\Disk&Ven_{v}&Prod_Flash\\0001\\FriendlyName"
    )
}

/// The rounds whose block at position `at` `events` events hold whole.
fn rounds(events: u64, at: u64) -> u64 {
    (0..)
        .take_while(|r| r * PERIOD + at + BLOCK_MAX <= events)
        .count() as u64
}

/// The values of `kind` that the events of a run of `events` events carry
/// (generated with the indicators' events): the hits.
fn pool(kind: Kind, events: u64) -> Vec<String> {
    let mut out = Vec::new();
    match kind {
        Kind::Ip => {
            if rounds(events, HISTORY_AT) > 0 {
                out.extend(["81.2.69.142".to_string(), "81.2.69.143".to_string()]);
            }
            for r in 0..rounds(events, NEW_AT) {
                out.push(format!("89.160.{}.{}", 20 + r / 250, 1 + r % 250));
            }
            for r in 0..rounds(events, THRESHOLD_AT).min(250) {
                out.push(format!("185.220.101.{}", 1 + r % 250));
            }
        }
        Kind::Registry => {
            if rounds(events, HISTORY_AT) > 0 {
                out.extend([usb_path("base0"), usb_path("base1")]);
            }
            for r in 0..rounds(events, NEW_AT) {
                out.push(usb_path(&format!("new{r}")));
            }
        }
        Kind::Email | Kind::Hash | Kind::Url | Kind::Vulnerability => {
            for j in 0..rounds(events, THREAT_AT) * HITS_PER_ROUND {
                out.push(match kind {
                    Kind::Email => email_hit(j),
                    Kind::Hash => format!("hit-{j}"),
                    Kind::Url => url_hit(j),
                    _ => cve_hit(j),
                });
            }
        }
    }
    out
}

/// A source of indicators: index, module, dataset, feed, provider.
type Feed = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

fn feeds(kind: Kind) -> &'static [Feed] {
    match kind {
        Kind::Ip => &[
            (
                "logs-ti_abusech.threatfox-default",
                "ti_abusech",
                "ti_abusech.threatfox",
                "AbuseCH ThreatFox",
                "ThreatFox",
            ),
            (
                "logs-ti_otx.threat-default",
                "ti_otx",
                "ti_otx.threat",
                "AlienVault OTX",
                "otx",
            ),
            (
                "filebeat-8.17.0",
                "threatintel",
                "threatintel.anomali",
                "Anomali Limo",
                "Anomali",
            ),
        ],
        Kind::Email => &[
            (
                "logs-ti_misp.threat-default",
                "ti_misp",
                "ti_misp.threat",
                "MISP",
                "misp",
            ),
            (
                "logs-ti_otx.threat-default",
                "ti_otx",
                "ti_otx.threat",
                "AlienVault OTX",
                "otx",
            ),
        ],
        Kind::Hash => &[
            (
                "logs-ti_abusech.malware-default",
                "ti_abusech",
                "ti_abusech.malware",
                "AbuseCH Malware",
                "URLhaus",
            ),
            (
                "logs-ti_abusech.malwarebazaar-default",
                "ti_abusech",
                "ti_abusech.malwarebazaar",
                "AbuseCH MalwareBazaar",
                "MalwareBazaar",
            ),
            (
                "filebeat-8.17.0",
                "threatintel",
                "threatintel.malwarebazaar",
                "AbuseCH MalwareBazaar",
                "MalwareBazaar",
            ),
        ],
        Kind::Registry => &[
            (
                "logs-ti_misp.threat-default",
                "ti_misp",
                "ti_misp.threat",
                "MISP",
                "misp",
            ),
            (
                "logs-ti_opencti.indicator-default",
                "ti_opencti",
                "ti_opencti.indicator",
                "OpenCTI",
                "opencti",
            ),
        ],
        Kind::Url => &[
            (
                "logs-ti_abusech.url-default",
                "ti_abusech",
                "ti_abusech.url",
                "AbuseCH URL",
                "URLhaus",
            ),
            (
                "filebeat-8.17.0",
                "threatintel",
                "threatintel.abuseurl",
                "AbuseCH URL",
                "URLhaus",
            ),
        ],
        Kind::Vulnerability => &[(
            "logs-ti_rapid7_threat_command_latest.vulnerability",
            "ti_rapid7_threat_command",
            "ti_rapid7_threat_command.vulnerability",
            "Rapid7 Threat Command",
            "Rapid7",
        )],
    }
}

/// A value of `kind` no generated event carries, drawn from `rng`; for
/// hashes, the name of the file hashed.
fn miss(kind: Kind, rng: &mut Rng, k: u64, seed: u64) -> String {
    match kind {
        Kind::Ip => {
            if rng.below(8) == 0 {
                format!(
                    "2001:db8:{:x}::{:x}",
                    rng.below(0xffff),
                    1 + rng.below(0xfffe)
                )
            } else {
                format!(
                    "45.{}.{}.{}",
                    rng.below(256),
                    rng.below(256),
                    1 + rng.below(254)
                )
            }
        }
        Kind::Email => {
            let user = rng.pick(&["payroll", "docs", "it-support", "ceo", "hr-notice", "dhl"]);
            format!(
                "{user}{}@drop-{}.example.net",
                rng.below(1000),
                rng.below(5000)
            )
        }
        Kind::Hash => format!("ioc-{seed}-{k}"),
        Kind::Registry => {
            let key = rng.pick(&[
                "HKEY_USERS\\S-1-5-21-1004336348-1177238915-682003330-1107\\Software\\Microsoft\\Windows\\CurrentVersion\\Run",
                "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\RunOnce",
                "HKLM\\SYSTEM\\CurrentControlSet\\Services",
            ]);
            format!("{key}\\upd{:06x}", rng.below(1 << 24))
        }
        Kind::Url => format!(
            "http://{}{}.example.net/{}/{:x}.php",
            rng.pick(&["login-", "files-", "cdn", "verify-"]),
            rng.below(100_000),
            rng.pick(&["wp-content", "gate", "panel", "dl"]),
            rng.below(1 << 32),
        ),
        Kind::Vulnerability => format!("CVE-{}-{}", 2018 + rng.below(8), 1_000 + rng.below(60_000)),
    }
}

/// Writes `count` indicator documents for events of a corpus profile run
/// of `events` events with `seed` (generated with the indicators' events,
/// [`super::Extras::threat_hits`]), one NDJSON line each with `_index` and
/// `_id`, calling `emit` for each line (without the newline). The same
/// arguments always give the same bytes.
pub fn indicators(count: u64, seed: u64, events: u64, mut emit: impl FnMut(&str)) {
    let mut rng = Rng::new(seed ^ 0x7141_1C47_0125_5EED);
    let pools: Vec<Vec<String>> = Kind::ALL.iter().map(|k| pool(*k, events)).collect();
    for k in 0..count {
        let (kind, slot) = Kind::of(k);
        let block = k / 20;
        let pool = &pools[Kind::ALL.iter().position(|x| *x == kind).expect("a kind")];
        // Every tenth block of 20 holds hits (the first included).
        let hit = (block % 10 == 0 && !pool.is_empty())
            .then(|| (block / 10) * kind.per_block() + slot)
            .map(|h| h as usize % pool.len());
        let value = match hit {
            Some(h) => pool[h].clone(),
            None => miss(kind, &mut rng, k, seed),
        };
        // Two days before the events, to the millisecond.
        let t = EVENTS_START - 2 * 86_400_000 + rng.below(2 * 86_400_000 - 60_000) as i64;
        let first_seen = t - (1 + rng.below(20)) as i64 * 86_400_000;
        let feed = *rng.pick(feeds(kind));
        let doc = indicator(kind, &value, feed, k, seed, t, first_seen, &mut rng);
        emit(&doc);
    }
}

/// One indicator document.
#[allow(clippy::too_many_arguments)]
fn indicator(
    kind: Kind,
    value: &str,
    feed: Feed,
    k: u64,
    seed: u64,
    t: i64,
    first_seen: i64,
    rng: &mut Rng,
) -> String {
    let (index, module, dataset, feed_name, provider) = feed;
    let time = iso(t);
    let mut doc = Map::new();
    let mut top = json!({
        "_index": index,
        "_id": format!("ioc-{seed}-{k:07}"),
        "@timestamp": time,
        "ecs.version": "8.11.0",
        "event.kind": "enrichment",
        "event.category": ["threat"],
        "event.type": ["indicator"],
        "event.module": module,
        "event.dataset": dataset,
        "event.ingested": iso(t + 1_500),
        "event.created": time,
        "tags": ["forwarded", dataset],
    });
    if index.starts_with("logs-") {
        let fields = top.as_object_mut().expect("an object");
        fields.insert("data_stream.type".into(), "logs".into());
        fields.insert("data_stream.dataset".into(), dataset.into());
        fields.insert("data_stream.namespace".into(), "default".into());
    }
    merge(&mut doc, top.as_object().expect("an object"));
    let confidence = *rng.pick(&["High", "Medium", "Low"]);
    let common = json!({
        "threat.feed.name": feed_name,
        "threat.indicator.provider": provider,
        "threat.indicator.first_seen": iso(first_seen),
        "threat.indicator.last_seen": time,
        "threat.indicator.confidence": confidence,
        "threat.indicator.marking.tlp": "WHITE",
    });
    let specific = match kind {
        Kind::Ip => json!({
            "threat.indicator.type": if value.contains(':') { "ipv6-addr" } else { "ipv4-addr" },
            "threat.indicator.ip": value,
            "threat.indicator.port": *rng.pick(&[443, 80, 8080, 4444, 8443]),
            "threat.software.name": *rng.pick(&["Cobalt Strike", "AsyncRAT", "Emotet", "QakBot"]),
        }),
        Kind::Email => json!({
            "threat.indicator.type": "email-addr",
            "threat.indicator.email.address": value,
            "threat.indicator.description": "Phishing sender",
        }),
        Kind::Hash => {
            // The value names the file hashed (`hit-<j>` for hits).
            let [md5, sha1, sha256] = hashes(value);
            json!({
                "threat.indicator.type": "file",
                "threat.indicator.file.hash.md5": md5,
                "threat.indicator.file.hash.sha1": sha1,
                "threat.indicator.file.hash.sha256": sha256,
                "threat.indicator.file.type": *rng.pick(&["exe", "dll", "elf", "zip"]),
                "threat.indicator.file.size": 20_000 + rng.below(4_000_000),
                "threat.software.name": *rng.pick(&["AgentTesla", "RedLine", "Mirai", "LockBit"]),
            })
        }
        Kind::Registry => {
            let (key, name) = value.rsplit_once('\\').unwrap_or((value, ""));
            json!({
                "threat.indicator.type": "windows-registry-key",
                "threat.indicator.registry.path": value,
                "threat.indicator.registry.key": key,
                "threat.indicator.registry.value": name,
            })
        }
        Kind::Url => {
            let (scheme, rest) = value.split_once("://").unwrap_or(("http", value));
            let (domain, path) = rest.split_once('/').unwrap_or((rest, ""));
            json!({
                "threat.indicator.type": "url",
                "threat.indicator.url.full": value,
                "threat.indicator.url.original": value,
                "threat.indicator.url.scheme": scheme,
                "threat.indicator.url.domain": domain,
                "threat.indicator.url.path": format!("/{path}"),
            })
        }
        Kind::Vulnerability => {
            let score = 40 + rng.below(61);
            let severity = match score {
                90.. => "Critical",
                70..=89 => "High",
                _ => "Medium",
            };
            let cvss = format!("{}.{}", score / 10, score % 10);
            let cvss: f64 = cvss.parse().expect("a number");
            let mut fields = json!({
                "vulnerability.id": value,
                "vulnerability.severity": severity,
                "vulnerability.score.base": cvss,
                "vulnerability.classification": "CVSS",
                "rapid7.tc.vulnerability.id": value,
                "rapid7.tc.vulnerability.cvss_score": cvss,
                "rapid7.tc.vulnerability.severity": severity,
                "rapid7.tc.vulnerability.exploit_availability": rng.below(2) == 0,
                "rapid7.tc.vulnerability.published_date": iso(first_seen),
                "rapid7.tc.vulnerability.update_date": time,
                "rapid7.tc.vulnerability.mentions_count": rng.below(500),
            });
            // No `threat.indicator` here: the rule's indicator path is
            // `rapid7.tc.vulnerability`.
            let map = fields.as_object_mut().expect("an object");
            map.insert("threat.feed.name".into(), feed_name.into());
            merge(&mut doc, map);
            return serde_json::to_string(&Value::Object(doc)).expect("JSON serializes");
        }
    };
    merge(&mut doc, common.as_object().expect("an object"));
    merge(&mut doc, specific.as_object().expect("an object"));
    serde_json::to_string(&Value::Object(doc)).expect("JSON serializes")
}

/// The fields every generated event of `dataset` shares.
pub(super) fn event_base(dataset: &str, id: &str, time: &str) -> Value {
    json!({
        "@timestamp": time,
        "_index": format!("logs-{dataset}-default"),
        "data_stream.type": "logs",
        "data_stream.dataset": dataset,
        "data_stream.namespace": "default",
        "ecs.version": "8.11.0",
        "event.id": id,
        "event.kind": "event",
        "event.dataset": dataset,
        "event.ingested": time,
    })
}

/// Builds one event from dotted-key objects, in order.
pub(super) fn build(parts: &[Value]) -> String {
    let mut doc = Map::new();
    for p in parts {
        merge(&mut doc, p.as_object().expect("an object of fields"));
    }
    serde_json::to_string(&Value::Object(doc)).expect("JSON serializes")
}

/// The events carrying indicator values in round `round`: per kind
/// (e-mail, hash, URL, CVE), [`HITS_PER_ROUND`] events with hit values
/// (`event.id` `ti-hit-<round>-<kind>-<k>`) and one with a value no
/// indicator holds (`ti-miss-<round>-<kind>`), their times from `next`.
pub(super) fn hit_events(round: u64, mut next: impl FnMut() -> String) -> Vec<String> {
    let mut out = Vec::new();
    let r = round;
    for k in 0..=HITS_PER_ROUND {
        let hit = k < HITS_PER_ROUND;
        let j = r * HITS_PER_ROUND + k;
        let tag = |kind: &str| match hit {
            true => format!("ti-hit-{r}-{kind}-{k}"),
            false => format!("ti-miss-{r}-{kind}"),
        };
        // E-mail delivered by the gateway, the value in one of the four
        // mapped fields.
        let time = next();
        let address = match hit {
            true => email_hit(j),
            false => format!("newsletter{r}@news.example.org"),
        };
        let slot = ["from", "to", "sender", "reply_to", "from"][k as usize % 5];
        let mut email = json!({
            "event.category": ["email"],
            "event.type": ["info"],
            "event.action": "message_delivered",
            "email.direction": "inbound",
            "email.subject": format!("Invoice {j} overdue"),
            "email.from.address": "notifications@partner.example",
            "email.to.address": ["ap@corp.example"],
        });
        let e = email.as_object_mut().expect("an object");
        match slot {
            "to" => e.insert(
                "email.to.address".into(),
                json!(["ap@corp.example", address]),
            ),
            other => e.insert(format!("email.{other}.address"), json!(address)),
        };
        out.push(build(&[
            event_base("proofpoint_tap.message_delivered", &tag("email"), &time),
            email,
        ]));

        // A file: a process started, a file written, a library loaded.
        let time = next();
        let [md5, sha1, sha256] = match hit {
            true => hash_hit(j),
            false => hashes(&format!("clean-{r}")),
        };
        let windows = json!({
            "agent.type": "endpoint",
            "event.module": "endpoint",
            "host.name": format!("WKS-FIN-{:02}", j % 40),
            "host.os.type": "windows",
            "user.name": "jdoe",
        });
        let (dataset, fields) = match k % 3 {
            0 => (
                "endpoint.events.process",
                json!({
                    "event.category": ["process"],
                    "event.type": ["start"],
                    "event.action": "start",
                    "process.name": format!("setup-{j}.exe"),
                    "process.executable": format!("C:\\Users\\jdoe\\Downloads\\setup-{j}.exe"),
                    "process.pid": 7000 + k,
                    "process.hash.md5": md5,
                    "process.hash.sha1": sha1,
                    "process.hash.sha256": sha256,
                }),
            ),
            1 => (
                "endpoint.events.file",
                json!({
                    "event.category": ["file"],
                    "event.type": ["creation"],
                    "event.action": "creation",
                    "process.name": "chrome.exe",
                    "file.name": format!("invoice-{j}.zip"),
                    "file.path": format!("C:\\Users\\jdoe\\Downloads\\invoice-{j}.zip"),
                    "file.hash.sha256": sha256,
                }),
            ),
            _ => (
                "endpoint.events.library",
                json!({
                    "event.category": ["library"],
                    "event.type": ["start"],
                    "event.action": "load",
                    "process.name": "rundll32.exe",
                    "dll.name": format!("lib{j}.dll"),
                    "dll.path": format!("C:\\Users\\Public\\lib{j}.dll"),
                    "dll.hash.md5": md5,
                    "dll.hash.sha1": sha1,
                }),
            ),
        };
        out.push(build(&[
            event_base(dataset, &tag("hash"), &time),
            windows,
            fields,
        ]));

        // A web request through the proxy.
        let time = next();
        let url = match hit {
            true => url_hit(j),
            false => format!("https://www.example.com/news/{r}"),
        };
        let mut web = json!({
            "event.category": ["network", "web"],
            "event.type": ["access"],
            "event.action": "allowed",
            "source.ip": format!("10.1.4.{}", 17 + j % 30),
            "url.full": url,
            "http.request.method": "GET",
            "http.response.status_code": 200,
            "user_agent.original": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
        });
        if k % 2 == 1 {
            web.as_object_mut()
                .expect("an object")
                .insert("url.original".into(), json!(url));
        }
        out.push(build(&[
            event_base("zscaler_zia.web", &tag("url"), &time),
            web,
        ]));

        // A scanner's finding on a host.
        let time = next();
        let cve = match hit {
            true => cve_hit(j),
            false => format!("CVE-2026-{}", 80_000 + r),
        };
        out.push(build(&[
            event_base("tenable_io.vulnerability", &tag("vuln"), &time),
            json!({
                "event.kind": "state",
                "event.category": ["vulnerability"],
                "event.type": ["info"],
                "host.name": format!("srv-{:02}", j % 25),
                "vulnerability.id": cve,
                "vulnerability.severity": "High",
                "vulnerability.scanner.vendor": "Tenable",
                "package.name": "openssl",
            }),
        ]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(count: u64, seed: u64, events: u64) -> Vec<Value> {
        let mut out = Vec::new();
        indicators(count, seed, events, |l| {
            out.push(serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        });
        out
    }

    #[test]
    fn indicators_are_deterministic_and_shaped_per_kind() {
        let a = lines(400, 3, 120_000);
        assert_eq!(a, lines(400, 3, 120_000));
        assert_ne!(a, lines(400, 4, 120_000));
        let ids: std::collections::BTreeSet<_> = a.iter().map(|d| d["_id"].to_string()).collect();
        assert_eq!(ids.len(), a.len());
        for d in &a {
            assert_eq!(d["event"]["kind"], "enrichment");
            let ts = d["@timestamp"].as_str().unwrap();
            assert!(
                ts.starts_with("2026-02-27") || ts.starts_with("2026-02-28"),
                "{ts}"
            );
        }
        let r7 = a
            .iter()
            .find(|d| d["event"]["module"] == "ti_rapid7_threat_command")
            .unwrap();
        assert_eq!(
            r7["vulnerability"]["id"],
            r7["rapid7"]["tc"]["vulnerability"]["id"]
        );
        assert!(r7.get("threat").and_then(|t| t.get("indicator")).is_none());
    }

    #[test]
    fn hits_are_pool_values_and_pools_grow_with_the_rounds() {
        assert!(pool(Kind::Email, 2_500).is_empty());
        assert_eq!(pool(Kind::Email, 3_000).len() as u64, HITS_PER_ROUND);
        assert_eq!(pool(Kind::Ip, 3_000).len(), 2);
        assert_eq!(pool(Kind::Ip, 100_000).len(), 2 + 2 + 2);
        let docs = lines(200, 1, 100_000);
        let ips = pool(Kind::Ip, 100_000);
        let hits = docs
            .iter()
            .filter(|d| {
                d["threat"]["indicator"]["ip"]
                    .as_str()
                    .is_some_and(|ip| ips.iter().any(|p| p == ip))
            })
            .count();
        assert_eq!(hits, 7);
    }
}
