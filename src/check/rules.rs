//! Checks of one rule that need more than one key: what each rule type
//! requires, language and type agreement, ranges, the risk score band of the
//! severity, dates in order, whether the schedule leaves gaps, and whether a
//! new_terms rule's history starts before its window.

use crate::diag::Diagnostic;
use crate::rule::{Format, Keyword, Language, Rule, RuleType};
use crate::syntax::eql;

/// Kibana's defaults when a rule leaves its schedule out.
const DEFAULT_INTERVAL_SECONDS: i64 = 300;
const DEFAULT_FROM_SECONDS: i64 = -360;

/// Checks one rule. `eql` is its parsed EQL query, when it has one.
pub fn check_rule(
    rule: &Rule,
    format: Format,
    eql: Option<&eql::Query>,
    diags: &mut Vec<Diagnostic>,
) {
    requirements(rule, format, diags);
    language(rule, diags);
    risk(rule, diags);
    rule_id(rule, diags);
    ranges(rule, diags);
    dates(rule, diags);
    schedule(rule, eql, diags);
    history_window(rule, diags);
    threat_mapping(rule, diags);
    suppression(rule, diags);
}

/// `[rule.alert_suppression]`: 1 to 5 `group_by` fields (Kibana 9.2; 1 to
/// 3 before), or, for a threshold rule, a duration and nothing else (its
/// alerts are grouped by `threshold.field` already).
fn suppression(rule: &Rule, diags: &mut Vec<Diagnostic>) {
    let Some(a) = &rule.alert_suppression else {
        return;
    };
    let ty = rule.rule_type.as_ref().map(|t| t.value);
    if ty == Some(RuleType::Threshold) {
        let help = "a threshold rule suppresses its groups (`threshold.field`) for a time: \
                    give only `[rule.alert_suppression.duration]`";
        if let Some(span) = a.group_by_span {
            diags.push(
                Diagnostic::error(
                    "rule::suppression",
                    "a threshold rule's alert suppression takes no `group_by`",
                    span,
                )
                .with_help(help),
            );
        }
        if let Some(m) = &a.missing_fields_strategy {
            diags.push(
                Diagnostic::error(
                    "rule::suppression",
                    "a threshold rule's alert suppression takes no `missing_fields_strategy`",
                    m.span,
                )
                .with_help(help),
            );
        }
        if a.duration.is_none() {
            diags.push(
                Diagnostic::error(
                    "rule::suppression",
                    "a threshold rule's alert suppression needs a `duration`",
                    a.span,
                )
                .with_help(help),
            );
        }
        return;
    }
    let n = a.group_by.len();
    if (1..=5).contains(&n) {
        return;
    }
    let message = match n {
        0 => "`alert_suppression.group_by` lists no field".to_string(),
        n => format!("`alert_suppression.group_by` lists {n} fields"),
    };
    diags.push(
        Diagnostic::error(
            "rule::suppression-fields",
            message,
            a.group_by_span.unwrap_or(a.span),
        )
        .with_help(
            "Kibana takes 1 to 5 fields (1 to 3 before 9.2): alerts whose events share \
             these fields' values become one",
        ),
    );
}

fn has_other(rule: &Rule, key: &str) -> bool {
    rule.other.iter().any(|e| e.key == key)
}

fn missing(diags: &mut Vec<Diagnostic>, rule: &Rule, key: &str, why: &str) {
    let span = rule.rule_type.as_ref().map_or(rule.table_span, |t| t.span);
    diags.push(
        Diagnostic::error("rule::missing-key", format!("{why} needs `{key}`"), span)
            .with_label("rule type set here"),
    );
}

/// The keys each rule type needs.
fn requirements(rule: &Rule, format: Format, diags: &mut Vec<Diagnostic>) {
    let Some(ty) = rule.rule_type.as_ref().map(|t| t.value) else {
        return;
    };
    let why = format!("rule type `{}`", ty.keyword());
    let toml = format == Format::Toml;
    let queried = matches!(
        ty,
        RuleType::Query
            | RuleType::Eql
            | RuleType::Esql
            | RuleType::Threshold
            | RuleType::NewTerms
            | RuleType::ThreatMatch
    );
    // Kibana lets a custom query rule leave the query out (it then matches
    // everything); detection-rules' schema does not.
    if queried && rule.query.is_none() && (toml || ty != RuleType::Query) {
        missing(diags, rule, "query", &why);
    }
    // Kibana defaults the language to KQL except for EQL and ES|QL rules.
    if queried && rule.language.is_none() && (toml || matches!(ty, RuleType::Eql | RuleType::Esql))
    {
        missing(diags, rule, "language", &why);
    }
    match ty {
        RuleType::Threshold if rule.threshold.is_none() => missing(diags, rule, "threshold", &why),
        RuleType::NewTerms => match &rule.new_terms {
            None if toml => missing(diags, rule, "new_terms", &why),
            None => {
                missing(diags, rule, "new_terms_fields", &why);
                missing(diags, rule, "history_window_start", &why);
            }
            Some(nt) => {
                if nt.fields.is_empty() && !toml {
                    missing(diags, rule, "new_terms_fields", &why);
                }
                if nt.history_window_start.is_none() && !toml {
                    missing(diags, rule, "history_window_start", &why);
                }
            }
        },
        RuleType::ThreatMatch => {
            if rule.threat_query.is_none() {
                missing(diags, rule, "threat_query", &why);
            }
            if rule.threat_index.is_empty() {
                missing(diags, rule, "threat_index", &why);
            }
            if rule.threat_mapping.is_empty() {
                missing(diags, rule, "threat_mapping", &why);
            }
        }
        RuleType::MachineLearning => {
            if rule.machine_learning_job_id.is_empty() {
                missing(diags, rule, "machine_learning_job_id", &why);
            }
            if rule.anomaly_threshold.is_none() {
                missing(diags, rule, "anomaly_threshold", &why);
            }
        }
        RuleType::SavedQuery if !has_other(rule, "saved_id") => {
            missing(diags, rule, "saved_id", &why)
        }
        _ => {}
    }
}

/// The query languages a rule type runs.
fn allowed_languages(ty: RuleType) -> &'static [Language] {
    match ty {
        RuleType::Eql => &[Language::Eql],
        RuleType::Esql => &[Language::Esql],
        // Machine learning rules have no query; any language is moot.
        RuleType::MachineLearning => &[
            Language::Kuery,
            Language::Lucene,
            Language::Eql,
            Language::Esql,
        ],
        _ => &[Language::Kuery, Language::Lucene],
    }
}

/// Whether a rule of type `ty` runs queries in `lang`.
pub fn language_fits(ty: RuleType, lang: Language) -> bool {
    allowed_languages(ty).contains(&lang)
}

/// The language must be one the rule type runs.
fn language(rule: &Rule, diags: &mut Vec<Diagnostic>) {
    let (Some(ty), Some(lang)) = (&rule.rule_type, &rule.language) else {
        return;
    };
    if !language_fits(ty.value, lang.value) {
        let allowed = allowed_languages(ty.value);
        let names: Vec<String> = allowed
            .iter()
            .map(|l| format!("`{}`", l.keyword()))
            .collect();
        diags.push(
            Diagnostic::error(
                "rule::language",
                format!(
                    "rule type `{}` does not run `{}` queries",
                    ty.value.keyword(),
                    lang.value.keyword()
                ),
                lang.span,
            )
            .with_help(format!(
                "use language {} or change the rule type",
                names.join(" or ")
            )),
        );
    }
    if let Some(tl) = &rule.threat_language {
        if !matches!(tl.value, Language::Kuery | Language::Lucene) {
            diags.push(
                Diagnostic::error(
                    "rule::language",
                    format!("`threat_language` cannot be `{}`", tl.value.keyword()),
                    tl.span,
                )
                .with_help("indicator queries are written in `kuery` or `lucene`"),
            );
        }
    }
}

fn risk(rule: &Rule, diags: &mut Vec<Diagnostic>) {
    let Some(score) = &rule.risk_score else {
        return;
    };
    if !(0..=100).contains(&score.value) {
        diags.push(
            Diagnostic::error(
                "rule::risk-score",
                format!("risk score {} is outside 0–100", score.value),
                score.span,
            )
            .with_help("Kibana accepts risk scores from 0 to 100"),
        );
        return;
    }
    let Some(severity) = &rule.severity else {
        return;
    };
    let (lo, hi) = severity.value.risk_band();
    if !(lo..=hi).contains(&score.value) {
        diags.push(
            Diagnostic::warning(
                "rule::risk-band",
                format!(
                    "risk score {} does not fit severity `{}` ({lo}–{hi})",
                    score.value,
                    severity.value.keyword()
                ),
                score.span,
            )
            .with_label(format!("`{}` scores {lo}–{hi}", severity.value.keyword()))
            .with_help(
                "Kibana's bands: low 0–21, medium 22–47, high 48–73, critical 74–100; \
                 change the score or the severity",
            ),
        );
    }
}

/// Whether `s` is a UUID in its canonical 8-4-4-4-12 hexadecimal form.
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn rule_id(rule: &Rule, diags: &mut Vec<Diagnostic>) {
    let Some(id) = &rule.rule_id else { return };
    if !is_uuid(&id.value) {
        diags.push(
            Diagnostic::warning(
                "rule::rule-id",
                format!("rule_id `{}` is not a UUID", id.value),
                id.span,
            )
            .with_help(
                "Kibana accepts any string, but rule ids are UUIDs by convention \
                 (8-4-4-4-12 hexadecimal digits)",
            ),
        );
    }
}

fn ranges(rule: &Rule, diags: &mut Vec<Diagnostic>) {
    if let Some(m) = &rule.max_signals {
        if m.value < 1 {
            diags.push(
                Diagnostic::error(
                    "rule::max-signals",
                    format!("max_signals {} is below 1", m.value),
                    m.span,
                )
                .with_help("a rule must be allowed at least one alert per run"),
            );
        } else if m.value > 1000 {
            diags.push(
                Diagnostic::warning(
                    "rule::max-signals",
                    format!("max_signals {} is above 1,000", m.value),
                    m.span,
                )
                .with_help(
                    "Kibana caps alerts per run at 1,000 unless the cluster raises the limit",
                ),
            );
        }
    }
    if let Some(a) = &rule.anomaly_threshold {
        if !(0..=100).contains(&a.value) {
            diags.push(
                Diagnostic::error(
                    "rule::anomaly-threshold",
                    format!("anomaly_threshold {} is outside 0–100", a.value),
                    a.span,
                )
                .with_help("anomaly scores run from 0 to 100"),
            );
        }
    }
    if let Some(v) = rule.threshold.as_ref().and_then(|t| t.value.as_ref()) {
        if v.value < 1 {
            diags.push(
                Diagnostic::error(
                    "rule::threshold",
                    format!("threshold value {} is below 1", v.value),
                    v.span,
                )
                .with_help("a threshold counts events: it must be at least 1"),
            );
        }
    }
}

fn dates(rule: &Rule, diags: &mut Vec<Diagnostic>) {
    let Some(meta) = &rule.metadata else { return };
    if let (Some(created), Some(updated)) = (&meta.creation_date, &meta.updated_date) {
        if updated.value < created.value {
            diags.push(
                Diagnostic::error(
                    "rule::date-order",
                    format!(
                        "updated_date {} is before creation_date {}",
                        updated.value, created.value
                    ),
                    updated.span,
                )
                .with_help("a rule cannot change before it exists; check both dates"),
            );
        }
    }
}

/// Each run searches `[from, to]` and runs every `interval`; the rest of the
/// window is look-back that covers late events and run delays. With a
/// negative look-back, events between runs are never searched; an EQL
/// sequence longer than the look-back can straddle two runs and be missed.
fn schedule(rule: &Rule, eql: Option<&eql::Query>, diags: &mut Vec<Diagnostic>) {
    if rule.rule_type.as_ref().map(|t| t.value) == Some(RuleType::MachineLearning) {
        return;
    }
    let interval = rule
        .interval
        .as_ref()
        .map_or(DEFAULT_INTERVAL_SECONDS, |i| i.value.seconds());
    let from = match &rule.from {
        Some(f) => match f.value.offset_seconds() {
            Some(s) => s,
            None => return,
        },
        None => DEFAULT_FROM_SECONDS,
    };
    let to = match &rule.to {
        Some(t) => match t.value.offset_seconds() {
            Some(s) => s,
            None => return,
        },
        None => 0,
    };
    // Saturating: absurd offsets in a file must give a warning, not a panic.
    let window = to.saturating_sub(from);
    let lookback = window.saturating_sub(interval);
    let span = rule
        .from
        .as_ref()
        .map(|f| f.span)
        .or(rule.interval.as_ref().map(|i| i.span))
        .unwrap_or(rule.table_span);
    let defaulted = |d: Diagnostic| match &rule.from {
        None => d.with_label("no `from`: Kibana searches from now-6m"),
        Some(_) => d,
    };
    if lookback < 0 {
        diags.push(defaulted(
            Diagnostic::warning(
                "rule::lookback",
                format!(
                    "each run searches {} but runs every {}: {} of events are never searched",
                    human(window),
                    human(interval),
                    human(lookback.saturating_neg())
                ),
                span,
            )
            .with_help("set `from` to at least `now-` the interval (plus some look-back, e.g. `now-6m` for `5m`)"),
        ));
        return;
    }
    let maxspan = match eql.map(|q| &q.body) {
        Some(eql::QueryBody::Sequence(s)) => s.maxspan.as_ref(),
        _ => None,
    };
    if let Some(maxspan) = maxspan {
        let maxspan_seconds = i64::try_from(maxspan.millis / 1000).unwrap_or(i64::MAX);
        if maxspan_seconds > lookback {
            diags.push(defaulted(
                Diagnostic::warning(
                    "rule::maxspan-lookback",
                    format!(
                        "the sequence's maxspan ({}{}) is longer than the look-back ({})",
                        maxspan.value,
                        maxspan.unit.as_str(),
                        human(lookback)
                    ),
                    span,
                )
                .with_help(format!(
                    "a sequence that starts before one run and ends in the next is missed; \
                     widen `from` to at least `now-{}`",
                    human(interval.saturating_add(maxspan_seconds).saturating_sub(to))
                )),
            ));
        }
    }
}

/// A new_terms rule's history window must start before its search window
/// does: Kibana refuses the rule otherwise ("History window size is smaller
/// than rule interval + additional lookback"), comparing both date-math
/// expressions at the same now. Expressions that are no fixed offset from
/// now (rounding, months, years) are not compared.
fn history_window(rule: &Rule, diags: &mut Vec<Diagnostic>) {
    if rule.rule_type.as_ref().map(|t| t.value) != Some(RuleType::NewTerms) {
        return;
    }
    let Some(start) = rule
        .new_terms
        .as_ref()
        .and_then(|nt| nt.history_window_start.as_ref())
    else {
        return;
    };
    let Some(history) = start.value.offset_seconds() else {
        return;
    };
    let (from, from_text) = match &rule.from {
        Some(f) => match f.value.offset_seconds() {
            Some(s) => (s, f.value.to_string()),
            None => return,
        },
        None => (DEFAULT_FROM_SECONDS, "now-6m".to_string()),
    };
    if history < from {
        return;
    }
    let label = match rule.from {
        Some(_) => "the history must start before the rule's window",
        None => "no `from`: Kibana searches from now-6m",
    };
    diags.push(
        Diagnostic::error(
            "rule::history-window",
            format!(
                "`history_window_start` {} is not earlier than `from` {from_text}",
                start.value
            ),
            start.span,
        )
        .with_label(label)
        .with_help(
            "Kibana refuses the rule (\"History window size is smaller than rule interval + \
             additional lookback\"): start the history window before `from`",
        ),
    );
}

/// An indicator match group needs an entry that matches (a group of
/// DOES NOT MATCH entries alone would select every event), and may not both
/// match and not match the same pair of fields: Kibana (9.2) and
/// detection-rules refuse either.
fn threat_mapping(rule: &Rule, diags: &mut Vec<Diagnostic>) {
    for group in &rule.threat_mapping {
        let negated =
            |e: &crate::rule::ThreatMappingEntry| e.negate.as_ref().is_some_and(|n| n.value);
        if !group.entries.is_empty() && group.entries.iter().all(negated) {
            let span = group.entries[0]
                .negate
                .as_ref()
                .map_or(crate::syntax::Span::default(), |n| n.span);
            diags.push(
                Diagnostic::error(
                    "rule::threat-mapping",
                    "every entry of this threat mapping group is negated",
                    span,
                )
                .with_label("a group needs at least one entry that matches")
                .with_help("add an entry without `negate = true` to the group"),
            );
        }
        for (i, a) in group.entries.iter().enumerate() {
            let pair = |e: &crate::rule::ThreatMappingEntry| {
                (
                    e.field.as_ref().map(|f| f.value.clone()),
                    e.value.as_ref().map(|v| v.value.clone()),
                )
            };
            let clash = group.entries[..i]
                .iter()
                .any(|b| pair(a) == pair(b) && negated(a) != negated(b));
            if clash {
                let span = a
                    .negate
                    .as_ref()
                    .map(|n| n.span)
                    .or(a.field.as_ref().map(|f| f.span));
                diags.push(
                    Diagnostic::error(
                        "rule::threat-mapping",
                        "this threat mapping group both matches and does not match the same fields",
                        span.unwrap_or_default(),
                    )
                    .with_label("the same field and value as an earlier entry, negated otherwise")
                    .with_help("keep one of the two entries, or move one into another group"),
                );
            }
        }
    }
}

/// Seconds in the largest unit that divides them: `540` → `9m`.
fn human(seconds: i64) -> String {
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if seconds != 0 && seconds % size == 0 {
            return format!("{}{unit}", seconds / size);
        }
    }
    format!("{seconds}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids() {
        assert!(is_uuid("e19e64ee-130e-4c07-961f-8a339f0b8362"));
        assert!(!is_uuid("e19e64ee-130e-4c07-961f-8a339f0b836"));
        assert!(!is_uuid("e19e64ee_130e-4c07-961f-8a339f0b8362"));
        assert!(!is_uuid("g19e64ee-130e-4c07-961f-8a339f0b8362"));
    }

    #[test]
    fn human_durations() {
        assert_eq!(human(540), "9m");
        assert_eq!(human(7200), "2h");
        assert_eq!(human(90), "90s");
        assert_eq!(human(0), "0s");
    }
}
