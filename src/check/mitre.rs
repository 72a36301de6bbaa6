//! MITRE ATT&CK mapping checks: the framework name, the shape of tactic,
//! technique and subtechnique ids, subtechniques under their own technique,
//! tactic names, and reference URLs that agree with the ids.

use crate::diag::Diagnostic;
use crate::rule::{MitreEntry, Rule, Spanned};

/// The framework name Kibana and detection-rules use for ATT&CK.
pub const FRAMEWORK: &str = "MITRE ATT&CK";

/// ATT&CK Enterprise tactics: id and name.
pub const TACTICS: &[(&str, &str)] = &[
    ("TA0001", "Initial Access"),
    ("TA0002", "Execution"),
    ("TA0003", "Persistence"),
    ("TA0004", "Privilege Escalation"),
    ("TA0005", "Defense Evasion"),
    ("TA0006", "Credential Access"),
    ("TA0007", "Discovery"),
    ("TA0008", "Lateral Movement"),
    ("TA0009", "Collection"),
    ("TA0010", "Exfiltration"),
    ("TA0011", "Command and Control"),
    ("TA0040", "Impact"),
    ("TA0042", "Resource Development"),
    ("TA0043", "Reconnaissance"),
];

#[derive(Clone, Copy)]
enum Level {
    Tactic,
    Technique,
    Subtechnique,
}

impl Level {
    fn what(self) -> &'static str {
        match self {
            Level::Tactic => "tactic",
            Level::Technique => "technique",
            Level::Subtechnique => "subtechnique",
        }
    }

    fn code(self) -> &'static str {
        match self {
            Level::Tactic => "mitre::tactic-id",
            Level::Technique => "mitre::technique-id",
            Level::Subtechnique => "mitre::subtechnique-id",
        }
    }

    fn example(self) -> &'static str {
        match self {
            Level::Tactic => "`TA` and four digits, like `TA0008`",
            Level::Technique => "`T` and four digits, like `T1021`",
            Level::Subtechnique => "`T`, four digits, `.` and three digits, like `T1021.004`",
        }
    }

    fn id_ok(self, id: &str) -> bool {
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        match self {
            Level::Tactic => id.strip_prefix("TA").is_some_and(|d| digits(d, 4)),
            Level::Technique => id.strip_prefix('T').is_some_and(|d| digits(d, 4)),
            Level::Subtechnique => id
                .strip_prefix('T')
                .and_then(|d| d.split_once('.'))
                .is_some_and(|(t, s)| digits(t, 4) && digits(s, 3)),
        }
    }

    /// The attack.mitre.org page of a well-formed id.
    fn reference(self, id: &str) -> String {
        match self {
            Level::Tactic => format!("https://attack.mitre.org/tactics/{id}/"),
            Level::Technique => format!("https://attack.mitre.org/techniques/{id}/"),
            Level::Subtechnique => {
                let (t, s) = id.split_once('.').unwrap_or((id, ""));
                format!("https://attack.mitre.org/techniques/{t}/{s}/")
            }
        }
    }
}

/// Checks every `[[rule.threat]]` entry of the rule.
pub fn check_threat(rule: &Rule, diags: &mut Vec<Diagnostic>) {
    for threat in &rule.threat {
        if let Some(fw) = &threat.framework {
            if fw.value != FRAMEWORK {
                diags.push(
                    Diagnostic::warning(
                        "mitre::framework",
                        format!("unknown threat framework `{}`", fw.value),
                        fw.span,
                    )
                    .with_help(format!(
                        "ATT&CK mappings name the framework `{FRAMEWORK}`; ids of other \
                         frameworks are not checked"
                    )),
                );
                continue;
            }
        }
        if let Some(tactic) = &threat.tactic {
            if entry(tactic, Level::Tactic, diags) {
                tactic_name(tactic, diags);
            }
        }
        for technique in &threat.technique {
            let technique_ok = entry(&technique.entry, Level::Technique, diags);
            for sub in &technique.subtechnique {
                if !entry(sub, Level::Subtechnique, diags) || !technique_ok {
                    continue;
                }
                let (Some(tid), Some(sid)) = (&technique.entry.id, &sub.id) else {
                    continue;
                };
                let parent = sid.value.split('.').next().unwrap_or_default();
                if parent != tid.value {
                    diags.push(
                        Diagnostic::error(
                            "mitre::subtechnique-parent",
                            format!(
                                "subtechnique {} is listed under technique {}",
                                sid.value, tid.value
                            ),
                            sid.span,
                        )
                        .with_label(format!("belongs to {parent}"))
                        .with_help(format!("move it under technique {parent}, or fix the id")),
                    );
                }
            }
        }
    }
}

/// Checks an id and its reference URL; returns whether the id is well formed.
fn entry(e: &MitreEntry, level: Level, diags: &mut Vec<Diagnostic>) -> bool {
    let Some(id) = &e.id else { return false };
    if !level.id_ok(&id.value) {
        diags.push(
            Diagnostic::error(
                level.code(),
                format!("`{}` is not an ATT&CK {} id", id.value, level.what()),
                id.span,
            )
            .with_help(format!("{} ids are {}", level.what(), level.example())),
        );
        return false;
    }
    if let Some(reference) = &e.reference {
        reference_check(reference, &id.value, level, diags);
    }
    true
}

fn reference_check(
    reference: &Spanned<String>,
    id: &str,
    level: Level,
    diags: &mut Vec<Diagnostic>,
) {
    let expected = level.reference(id);
    // The trailing slash and the scheme's `www.` are not worth a warning.
    let norm = |s: &str| {
        s.trim_end_matches('/')
            .replacen("://www.", "://", 1)
            .to_ascii_lowercase()
    };
    if norm(&reference.value) != norm(&expected) {
        diags.push(
            Diagnostic::warning(
                "mitre::reference",
                format!(
                    "the reference of {} {id} points elsewhere: {}",
                    level.what(),
                    reference.value
                ),
                reference.span,
            )
            .with_help(format!("the page of {id} is {expected}")),
        );
    }
}

fn tactic_name(tactic: &MitreEntry, diags: &mut Vec<Diagnostic>) {
    let (Some(id), Some(name)) = (&tactic.id, &tactic.name) else {
        return;
    };
    match TACTICS.iter().find(|(tid, _)| *tid == id.value) {
        Some((_, expected)) if *expected != name.value => diags.push(
            Diagnostic::warning(
                "mitre::tactic-name",
                format!("tactic {} is `{expected}`, not `{}`", id.value, name.value),
                name.span,
            )
            .with_help(format!("write `name = \"{expected}\"`, or fix the id")),
        ),
        Some(_) => {}
        None => diags.push(
            Diagnostic::warning(
                "mitre::unknown-tactic",
                format!("{} is not an ATT&CK Enterprise tactic", id.value),
                id.span,
            )
            .with_help("Enterprise tactics are TA0001–TA0011, TA0040, TA0042 and TA0043"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_shapes() {
        assert!(Level::Tactic.id_ok("TA0008"));
        assert!(!Level::Tactic.id_ok("TA008"));
        assert!(!Level::Tactic.id_ok("T0008"));
        assert!(Level::Technique.id_ok("T1021"));
        assert!(!Level::Technique.id_ok("T1021.004"));
        assert!(Level::Subtechnique.id_ok("T1021.004"));
        assert!(!Level::Subtechnique.id_ok("T1021.04"));
        assert_eq!(
            Level::Subtechnique.reference("T1021.004"),
            "https://attack.mitre.org/techniques/T1021/004/"
        );
    }
}
