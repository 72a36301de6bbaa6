//! The catalogue of `ruleq check` codes and what each means, for SARIF rule
//! descriptors and for the README. Query front ends bring their own codes
//! (`eql::...`, `kql::...`); those are described by language.

/// Every code the rule checks emit, with a one-line description.
pub const CODES: &[(&str, &str)] = &[
    ("rule::syntax", "The file is not valid TOML or JSON."),
    ("rule::encoding", "The file is not valid UTF-8."),
    ("rule::type", "A key has a value of the wrong type."),
    (
        "rule::enum",
        "A key has a value outside its set of keywords.",
    ),
    ("rule::missing-key", "A required key is missing."),
    ("rule::unknown-key", "A key is not part of the rule schema."),
    (
        "rule::not-a-rule",
        "An export line that is not a rule (exception list, connector).",
    ),
    (
        "rule::export-count",
        "The export summary disagrees with the rules in the file.",
    ),
    (
        "rule::language",
        "The query language does not fit the rule type.",
    ),
    ("rule::risk-score", "The risk score is outside 0-100."),
    (
        "rule::risk-band",
        "The risk score does not fit the severity's band.",
    ),
    ("rule::rule-id", "The rule_id is not a UUID."),
    ("rule::duplicate-id", "Two rules share a rule_id."),
    (
        "mapping::unknown-field",
        "A query names a field the index mapping does not have.",
    ),
    (
        "mapping::type",
        "An operator is used on a field of the wrong type.",
    ),
    ("rule::duplicate-name", "Two rules share a name."),
    (
        "rule::interval",
        "A duration (interval, suppression window) is malformed.",
    ),
    (
        "rule::date-math",
        "A time (from, to, history window) is not date math.",
    ),
    (
        "rule::lookback",
        "The search window is shorter than the interval: events go unsearched.",
    ),
    (
        "rule::maxspan-lookback",
        "An EQL sequence's maxspan is longer than the look-back.",
    ),
    ("rule::max-signals", "max_signals is outside 1-1,000."),
    (
        "rule::anomaly-threshold",
        "anomaly_threshold is outside 0-100.",
    ),
    ("rule::threshold", "The threshold value is below 1."),
    (
        "rule::new-terms-fields",
        "new_terms_fields does not list 1 to 3 fields.",
    ),
    (
        "rule::suppression-fields",
        "alert_suppression.group_by does not list 1 to 5 fields.",
    ),
    (
        "rule::suppression",
        "A threshold rule's alert suppression has group_by or missing_fields_strategy, or no duration.",
    ),
    (
        "rule::history-window",
        "A new_terms rule's history window does not start before its from.",
    ),
    (
        "rule::threat-mapping",
        "A threat mapping group is all negated, or matches and negates one pair.",
    ),
    ("rule::date", "A date is not YYYY/MM/DD."),
    ("rule::date-order", "updated_date is before creation_date."),
    (
        "rule::not-evaluated",
        "ruleq does not evaluate this rule type or query language.",
    ),
    (
        "mitre::framework",
        "The threat framework is not MITRE ATT&CK.",
    ),
    ("mitre::tactic-id", "A tactic id is not TA and four digits."),
    (
        "mitre::unknown-tactic",
        "A tactic id is not an ATT&CK Enterprise tactic.",
    ),
    (
        "mitre::tactic-name",
        "A tactic's name does not match its id.",
    ),
    (
        "mitre::technique-id",
        "A technique id is not T and four digits.",
    ),
    (
        "mitre::subtechnique-id",
        "A subtechnique id is not T, four digits, a dot and three digits.",
    ),
    (
        "mitre::subtechnique-parent",
        "A subtechnique is listed under another technique.",
    ),
    (
        "mitre::reference",
        "A reference URL does not match its ATT&CK id.",
    ),
    (
        "test::schema",
        "A rule test file breaks the test-file schema.",
    ),
    (
        "test::orphan",
        "A rule test file names a rule_id no checked rule has.",
    ),
    (
        "test::rule-name",
        "A rule test file's rule_name is not its rule's name.",
    ),
    (
        "test::events-file",
        "A test case's events_file does not exist.",
    ),
    (
        "exceptions::syntax",
        "An exceptions file is not valid JSON lines, TOML or UTF-8.",
    ),
    ("exceptions::io", "An exceptions file cannot be read."),
    (
        "exceptions::schema",
        "An exception list or item lacks a key or has one of the wrong type.",
    ),
    (
        "exceptions::entry-type",
        "An exception entry's type is not match, match_any, exists, wildcard, list or nested.",
    ),
    (
        "exceptions::operator",
        "An exception entry's operator is not included or excluded.",
    ),
    (
        "exceptions::value",
        "An exception entry's value has the wrong shape for its type.",
    ),
    (
        "exceptions::nested",
        "A nested exception entry holds an entry other than match, match_any or exists.",
    ),
    (
        "exceptions::expire-time",
        "An exception item's expire_time is not an ISO 8601 date-time.",
    ),
    (
        "exceptions::skipped",
        "An export line that is no exception list, item, rule, connector or summary.",
    ),
    (
        "exceptions::duplicate-list",
        "Two exception list containers share a list_id and namespace_type.",
    ),
    (
        "exceptions::unreferenced",
        "No checked rule's exceptions_list names this exception list.",
    ),
];

/// A one-line description of a code.
pub fn describe(code: &str) -> String {
    if let Some((_, d)) = CODES.iter().find(|(c, _)| *c == code) {
        return (*d).to_string();
    }
    match code.split_once("::") {
        Some(("eql", what)) => format!("EQL query error ({what})."),
        Some(("kql", what)) => format!("KQL query error ({what})."),
        _ => format!("{code}."),
    }
}
