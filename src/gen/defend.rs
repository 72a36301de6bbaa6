//! Elastic Defend alerts for the corpus profile (`gen-events --profile
//! corpus --defend-alerts`): the alert documents the endpoint writes to
//! `logs-endpoint.alerts-*`, on which the nine rules of Elastic's
//! detection-rules corpus that reference the Endpoint exception list
//! (`endpoint_list`) alert: "Endpoint Security (Elastic Defend)", which
//! takes every one, and the Detected and Prevented rules of malicious
//! files, memory threats, ransomware and behavior.
//!
//! 3,000 events into every round (`--defend-alerts`), the corpus profile
//! writes, for each alert code (`malicious_file`, `memory_signature`, `shellcode_thread`,
//! `ransomware`, `behavior`) and each outcome (`allowed`; `denied` with
//! `failure`, both "Detected"; `denied` with `success`, "Prevented"), two
//! alerts: one that an item of the project's Endpoint exception list
//! fixture (`tests/fixtures/exceptions/endpoint_list.ndjson`) silences,
//! `event.id` `defend-silenced-<round>-<code>-<outcome>`, and a near miss
//! it does not, `defend-kept-<round>-<code>-<outcome>`: 30 alerts a round,
//! 15 of them silenced. What silences them:
//!
//! | code | silenced (the fixture's item) | kept |
//! | --- | --- | --- |
//! | `malicious_file` | `file.hash.sha256` of the in-house build tool (Windows) | another hash |
//! | `memory_signature` | the backup agent's `process.executable`, signed and trusted (Windows) | the same executable, its signature not trusted |
//! | `shellcode_thread` | one `process.Ext.code_signature` element signed by the JIT runtime's vendor and trusted (a nested entry; Windows) | the vendor's element untrusted, a trusted element of another signer |
//! | `ransomware` | `process.executable` under `/opt/example-backup/bin/` (a wildcard; Linux) | an executable under `/tmp` |
//! | `behavior` | behavior rule "Suspicious PowerShell Execution" under the RMM agent (Windows) | the same rule under `explorer.exe` |
//!
//! The alerts' `event.ingested` (the rules' `timestamp_override`) is their
//! `@timestamp` plus a second and a half; the rules look back two minutes.

use super::intel::{build, event_base};
use serde_json::json;

/// Where in a round the Defend alerts come (with `--defend-alerts`).
pub(super) const DEFEND_AT: u64 = 3_000;

/// The SHA-256 of the in-house build tool the fixture's item allows.
pub const BUILD_TOOL_SHA256: &str =
    "4f2d1c7e9a0b3d5f6e8a1c2b4d6f8e0a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e";

/// The codes and the outcomes of every round's alerts.
const CODES: &[&str] = &[
    "malicious_file",
    "memory_signature",
    "shellcode_thread",
    "ransomware",
    "behavior",
];
const OUTCOMES: &[(&str, &str, &str)] = &[
    ("allowed", "success", "detected"),
    ("denied", "failure", "failed"),
    ("denied", "success", "prevented"),
];

/// The Defend alerts of round `round`, their times from `next` (epoch
/// milliseconds, never decreasing).
pub(super) fn alerts(round: u64, mut next: impl FnMut() -> i64) -> Vec<String> {
    let mut out = Vec::new();
    let r = round;
    for code in CODES {
        for (etype, outcome, label) in OUTCOMES {
            for silenced in [true, false] {
                let t = next();
                let time = super::iso(t);
                let which = if silenced { "silenced" } else { "kept" };
                let id = format!("defend-{which}-{r}-{code}-{label}");
                let mut base = event_base("endpoint.alerts", &id, &time);
                let b = base.as_object_mut().expect("an object");
                b.insert("event.ingested".into(), json!(super::iso(t + 1_500)));
                b.insert("event.kind".into(), json!("alert"));
                let linux = *code == "ransomware";
                let host = if linux {
                    json!({
                        "host.name": format!("lnx-app-{:02}", r % 10),
                        "host.id": format!("host-lnx-app-{:02}", r % 10),
                        "host.os.type": "linux",
                        "host.os.name": "Ubuntu",
                        "host.os.platform": "ubuntu",
                        "user.name": "root",
                    })
                } else {
                    json!({
                        "host.name": format!("WKS-OPS-{:02}", r % 10),
                        "host.id": format!("host-wks-ops-{:02}", r % 10),
                        "host.os.type": "windows",
                        "host.os.name": "Windows",
                        "host.os.platform": "windows",
                        "user.name": "ops",
                    })
                };
                let agent = json!({
                    "agent.type": "endpoint",
                    "agent.version": "8.17.0",
                    "agent.id": format!("agent-defend-{}", r % 10),
                    "event.module": "endpoint",
                    "event.code": code,
                    "event.type": [etype],
                    "event.outcome": outcome,
                    "event.severity": 73,
                    "event.risk_score": 73,
                    "Endpoint.policy.applied.name": "Protect",
                    "Endpoint.policy.applied.id": "c6d16e42-c32d-4dce-8a88-622b86a4b5c4",
                });
                let specific = match *code {
                    "malicious_file" => json!({
                        "event.category": ["malware", "intrusion_detection", "file"],
                        "event.action": "execution",
                        "message": "Malware Detection Alert",
                        "file.name": if silenced { "buildtool.exe".to_string() } else { format!("invoice-{r}.exe") },
                        "file.path": if silenced {
                            "C:\\Tools\\Build\\buildtool.exe".to_string()
                        } else {
                            format!("C:\\Users\\ops\\Downloads\\invoice-{r}.exe")
                        },
                        "file.hash.sha256": if silenced {
                            BUILD_TOOL_SHA256.to_string()
                        } else {
                            format!("{:064x}", 0xbad0_0000_u64 + r)
                        },
                        "file.Ext.malware_classification.score": 0.98,
                        "process.name": "explorer.exe",
                        "process.executable": "C:\\Windows\\explorer.exe",
                    }),
                    "memory_signature" => json!({
                        "event.category": ["malware", "intrusion_detection", "process"],
                        "event.action": "start",
                        "message": "Memory Threat Detection Alert: Windows.Trojan.Generic",
                        "rule.name": "Windows.Trojan.Generic",
                        "process.name": "backupagent.exe",
                        "process.executable": "C:\\Program Files\\ExampleBackup\\backupagent.exe",
                        "process.pid": 4100 + r,
                        "process.code_signature.subject_name": "Example Backup Software Ltd",
                        "process.code_signature.trusted": silenced,
                    }),
                    "shellcode_thread" => json!({
                        "event.category": ["malware", "intrusion_detection", "process"],
                        "event.action": "start",
                        "message": "Memory Threat Detection Alert: Shellcode Injection",
                        "process.name": "jitrunner.exe",
                        "process.executable": "C:\\Program Files\\ExampleJIT\\jitrunner.exe",
                        "process.pid": 5100 + r,
                        "process.Ext.code_signature": if silenced {
                            json!([
                                {"subject_name": "Example Root CA", "trusted": false},
                                {"subject_name": "Example JIT Runtime Inc", "trusted": true}
                            ])
                        } else {
                            json!([
                                {"subject_name": "Example JIT Runtime Inc", "trusted": false},
                                {"subject_name": "Other Publisher LLC", "trusted": true}
                            ])
                        },
                    }),
                    "ransomware" => json!({
                        "event.category": ["malware", "intrusion_detection", "process", "file"],
                        "event.action": "files-encrypted",
                        "message": "Ransomware Detection Alert",
                        "process.name": if silenced { "archiver" } else { "enc" },
                        "process.executable": if silenced {
                            "/opt/example-backup/bin/archiver".to_string()
                        } else {
                            format!("/tmp/.x{r}/enc")
                        },
                        "process.pid": 6100 + r,
                        "Ransomware.files.path": ["/srv/data/report.xlsx"],
                    }),
                    _ => json!({
                        "event.category": ["malware", "intrusion_detection", "process"],
                        "event.action": "rule_detection",
                        "message": "Malicious Behavior Detection Alert: Suspicious PowerShell Execution",
                        "rule.name": "Suspicious PowerShell Execution",
                        "rule.id": "5f8b2a4c-0000-4000-8000-00000000b001",
                        "process.name": "powershell.exe",
                        "process.executable": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                        "process.pid": 7100 + r,
                        "process.parent.name": if silenced { "rmmagent.exe" } else { "explorer.exe" },
                        "process.parent.executable": if silenced {
                            "C:\\Program Files\\ExampleRMM\\rmmagent.exe"
                        } else {
                            "C:\\Windows\\explorer.exe"
                        },
                    }),
                };
                out.push(build(&[base, host, agent, specific]));
            }
        }
    }
    out
}
