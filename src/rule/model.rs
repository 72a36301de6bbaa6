//! The typed rule model.
//!
//! Every value read from a file is [`Spanned`], so any check can point at the
//! key it is about. Values that a file may leave out are `Option`s or empty
//! lists; the loader has already reported the ones that are required.
//! Serialized (for `ruleq parse FILE`), spans are left out and the model reads
//! like the Kibana rule it describes.

use super::value::{Entry, OffsetMap};
use crate::syntax::Span;
use serde::{Serialize, Serializer};

/// A value and the span of its text in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where the value is written.
    pub span: Span,
}

impl<T> Spanned<T> {
    /// Wraps a value.
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

impl<T: Serialize> Serialize for Spanned<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(s)
    }
}

/// Which format a rule was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// A detection-rules TOML file (`[metadata]`, `[rule]`, `[transform]`).
    Toml,
    /// A single Kibana rule as a JSON object.
    Json,
    /// A Kibana rule export: one JSON object a line.
    Ndjson,
}

/// An enum whose values are written as keywords in rule files.
pub trait Keyword: Sized + Copy + 'static {
    /// What the keyword names, for messages ("rule type").
    const WHAT: &'static str;
    /// Every keyword and its value.
    const ALL: &'static [(&'static str, Self)];

    /// The value spelled `text`.
    fn from_keyword(text: &str) -> Option<Self> {
        Self::ALL.iter().find(|(k, _)| *k == text).map(|(_, v)| *v)
    }

    /// How the value is spelled.
    fn keyword(self) -> &'static str
    where
        Self: PartialEq,
    {
        Self::ALL
            .iter()
            .find(|(_, v)| *v == self)
            .map_or("", |(k, _)| k)
    }
}

macro_rules! keyword_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal, { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl Keyword for $name {
            const WHAT: &'static str = $what;
            const ALL: &'static [(&'static str, Self)] = &[$(($text, $name::$variant),)*];
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.keyword())
            }
        }
    };
}

keyword_enum!(
    /// What kind of detection a rule runs (Kibana's `type`).
    RuleType, "rule type", {
        /// Custom query (KQL or Lucene).
        Query = "query",
        /// A query stored as a Kibana saved query.
        SavedQuery = "saved_query",
        /// Event correlation (EQL).
        Eql = "eql",
        /// Counts of matching events per group.
        Threshold = "threshold",
        /// Indicator match against a threat intelligence index.
        ThreatMatch = "threat_match",
        /// Values never seen in a history window.
        NewTerms = "new_terms",
        /// A machine learning job's anomalies.
        MachineLearning = "machine_learning",
        /// An ES|QL query.
        Esql = "esql",
    }
);

keyword_enum!(
    /// The language of `query` (and `threat_query`).
    Language, "query language", {
        /// Kibana Query Language.
        Kuery = "kuery",
        /// Lucene query syntax.
        Lucene = "lucene",
        /// Event Query Language.
        Eql = "eql",
        /// ES|QL.
        Esql = "esql",
    }
);

keyword_enum!(
    /// How severe an alert of the rule is.
    Severity, "severity", {
        /// Risk score band 0–21.
        Low = "low",
        /// Risk score band 22–47.
        Medium = "medium",
        /// Risk score band 48–73.
        High = "high",
        /// Risk score band 74–100.
        Critical = "critical",
    }
);

impl Severity {
    /// The risk scores that go with this severity, inclusive.
    pub fn risk_band(self) -> (i64, i64) {
        match self {
            Severity::Low => (0, 21),
            Severity::Medium => (22, 47),
            Severity::High => (48, 73),
            Severity::Critical => (74, 100),
        }
    }
}

keyword_enum!(
    /// Where a rule is in its life (detection-rules' `maturity`).
    Maturity, "maturity", {
        /// Being written.
        Development = "development",
        /// Shipped for evaluation.
        Experimental = "experimental",
        /// Nearly production.
        Beta = "beta",
        /// Shipped.
        Production = "production",
        /// Retired; kept for history.
        Deprecated = "deprecated",
    }
);

keyword_enum!(
    /// What alert suppression does with events that lack a group-by field.
    MissingFieldsStrategy, "missing fields strategy", {
        /// One alert for all such events.
        Suppress = "suppress",
        /// One alert per such event.
        DoNotSuppress = "doNotSuppress",
    }
);

keyword_enum!(
    /// The unit of a [`Duration`].
    DurationUnit, "duration unit", {
        /// Seconds.
        Seconds = "s",
        /// Minutes.
        Minutes = "m",
        /// Hours.
        Hours = "h",
        /// Days.
        Days = "d",
    }
);

impl DurationUnit {
    /// Seconds in one unit.
    pub fn seconds(self) -> i64 {
        match self {
            DurationUnit::Seconds => 1,
            DurationUnit::Minutes => 60,
            DurationUnit::Hours => 3_600,
            DurationUnit::Days => 86_400,
        }
    }
}

/// A Kibana duration such as `5m` (rule `interval`, suppression window).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Duration {
    /// The number.
    pub value: i64,
    /// The unit.
    pub unit: DurationUnit,
}

impl Duration {
    /// Parses `5m`, `1h`, `30s`, `1d`: a positive integer and a unit.
    pub fn parse(text: &str) -> Option<Duration> {
        let split = text.find(|c: char| !c.is_ascii_digit())?;
        let (digits, unit) = text.split_at(split);
        if digits.is_empty() || (digits.len() > 1 && digits.starts_with('0')) {
            return None;
        }
        let value: i64 = digits.parse().ok()?;
        let unit = DurationUnit::from_keyword(unit)?;
        (value > 0).then_some(Duration { value, unit })
    }

    /// The duration in seconds.
    pub fn seconds(self) -> i64 {
        self.value.saturating_mul(self.unit.seconds())
    }
}

impl std::fmt::Display for Duration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.value, self.unit.keyword())
    }
}

/// One step of Elasticsearch date math after the anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DateMathOp {
    /// `+N<unit>` (negative N for `-N<unit>`).
    Add {
        /// Signed amount.
        amount: i64,
        /// Unit letter: `y M w d h H m s`.
        unit: char,
    },
    /// `/<unit>`: round down to the unit.
    Round {
        /// Unit letter.
        unit: char,
    },
}

/// Elasticsearch date math anchored at `now`, such as `now-9m` or `now-30d/d`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DateMath {
    /// The operations after `now`, in order.
    pub ops: Vec<DateMathOp>,
}

impl std::fmt::Display for DateMath {
    /// Writes the expression back as Kibana stores it: `now-9m`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("now")?;
        for op in &self.ops {
            match *op {
                DateMathOp::Add { amount, unit } if amount < 0 => {
                    write!(f, "-{}{unit}", amount.unsigned_abs())?
                }
                DateMathOp::Add { amount, unit } => write!(f, "+{amount}{unit}")?,
                DateMathOp::Round { unit } => write!(f, "/{unit}")?,
            }
        }
        Ok(())
    }
}

impl DateMath {
    /// Parses `now` followed by any number of `+N<unit>`, `-N<unit>` and
    /// `/<unit>` operations, with the units Elasticsearch date math knows.
    pub fn parse(text: &str) -> Option<DateMath> {
        let mut rest = text.strip_prefix("now")?;
        let mut ops = Vec::new();
        let is_unit = |c: char| "yMwdhHms".contains(c);
        while let Some(op) = rest.chars().next() {
            rest = &rest[1..];
            match op {
                '+' | '-' => {
                    let digits = rest
                        .find(|c: char| !c.is_ascii_digit())
                        .unwrap_or(rest.len());
                    let amount: i64 = rest[..digits].parse().ok()?;
                    let unit = rest[digits..].chars().next().filter(|&c| is_unit(c))?;
                    rest = &rest[digits + 1..];
                    let amount = if op == '-' { -amount } else { amount };
                    ops.push(DateMathOp::Add { amount, unit });
                }
                '/' => {
                    let unit = rest.chars().next().filter(|&c| is_unit(c))?;
                    rest = &rest[1..];
                    ops.push(DateMathOp::Round { unit });
                }
                _ => return None,
            }
        }
        Some(DateMath { ops })
    }

    /// The offset from now in seconds, when the expression is a plain sum of
    /// fixed-length units (no rounding, months or years).
    pub fn offset_seconds(&self) -> Option<i64> {
        self.ops.iter().try_fold(0i64, |acc, op| match *op {
            DateMathOp::Add { amount, unit } => {
                let unit = match unit {
                    's' => 1,
                    'm' => 60,
                    'h' | 'H' => 3_600,
                    'd' => 86_400,
                    'w' => 604_800,
                    _ => return None,
                };
                acc.checked_add(amount.checked_mul(unit)?)
            }
            DateMathOp::Round { .. } => None,
        })
    }
}

/// A calendar date as detection-rules writes it: `YYYY/MM/DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Year.
    pub year: u16,
    /// Month, 1–12.
    pub month: u8,
    /// Day of the month, 1–31 (checked against the month).
    pub day: u8,
}

impl Date {
    /// Parses `YYYY/MM/DD`, checking that the day exists.
    pub fn parse(text: &str) -> Option<Date> {
        let b = text.as_bytes();
        if b.len() != 10 || b[4] != b'/' || b[7] != b'/' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u16> {
            let s = &text[r];
            s.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| s.parse().ok())?
        };
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (1..=days).contains(&day).then_some(Date {
            year,
            month: month as u8,
            day: day as u8,
        })
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}/{:02}/{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A query as it stands in the file: its text and where each byte came from.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryText {
    /// The decoded query.
    pub text: String,
    /// The string literal in the file, quotes included.
    pub span: Span,
    /// Decoded offset → file offset.
    pub map: OffsetMap,
}

impl Serialize for QueryText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// detection-rules' `[metadata]` table (TOML files only).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Metadata {
    /// The `[metadata]` header.
    #[serde(skip)]
    pub span: Span,
    /// When the rule was written.
    pub creation_date: Option<Spanned<Date>>,
    /// When the rule last changed.
    pub updated_date: Option<Spanned<Date>>,
    /// When the rule was retired.
    pub deprecation_date: Option<Spanned<Date>>,
    /// Why the rule was retired.
    pub deprecated_reason: Option<Spanned<String>>,
    /// Life-cycle stage.
    pub maturity: Option<Spanned<Maturity>>,
    /// Fleet integrations the rule needs (a string or a list).
    pub integration: Vec<Spanned<String>>,
    /// Oldest stack version the rule supports.
    pub min_stack_version: Option<Spanned<String>>,
    /// Why that version.
    pub min_stack_comments: Option<Spanned<String>>,
    /// Free-form maintainer comments.
    pub comments: Option<Spanned<String>>,
    /// Building block rules: skip detection-rules' timing test.
    pub bypass_bbr_timing: Option<Spanned<bool>>,
    /// A promotion rule (external alerts promoted into Elastic Security).
    pub promotion: Option<Spanned<bool>>,
    /// Whether detection-rules validates the query against its schemas.
    pub query_schema_validation: Option<Spanned<bool>>,
}

/// One tactic entry of `[[rule.threat]]` (a MITRE ATT&CK mapping).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Threat {
    /// The `[[rule.threat]]` entry.
    #[serde(skip)]
    pub span: Span,
    /// `MITRE ATT&CK`.
    pub framework: Option<Spanned<String>>,
    /// The tactic.
    pub tactic: Option<MitreEntry>,
    /// Techniques under the tactic.
    pub technique: Vec<Technique>,
}

/// An ATT&CK tactic, technique or subtechnique: id, name and reference URL.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct MitreEntry {
    /// The table.
    #[serde(skip)]
    pub span: Span,
    /// `TA0008`, `T1021`, `T1021.004`.
    pub id: Option<Spanned<String>>,
    /// The ATT&CK name.
    pub name: Option<Spanned<String>>,
    /// The attack.mitre.org URL.
    pub reference: Option<Spanned<String>>,
}

/// A technique and its subtechniques.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Technique {
    /// The technique.
    #[serde(flatten)]
    pub entry: MitreEntry,
    /// Its subtechniques.
    pub subtechnique: Vec<MitreEntry>,
}

/// `[rule.threshold]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Threshold {
    /// The table.
    #[serde(skip)]
    pub span: Span,
    /// Group-by fields (Kibana accepts one string or a list).
    pub field: Vec<Spanned<String>>,
    /// Minimum number of events per group.
    pub value: Option<Spanned<i64>>,
    /// Distinct-value conditions.
    pub cardinality: Vec<Cardinality>,
}

/// A `[[rule.threshold.cardinality]]` condition.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Cardinality {
    /// The field whose distinct values are counted.
    pub field: Option<Spanned<String>>,
    /// Minimum number of distinct values.
    pub value: Option<Spanned<i64>>,
}

/// New-terms settings (`[rule.new_terms]` in TOML; `new_terms_fields` and
/// `history_window_start` in Kibana JSON).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct NewTerms {
    /// The table, or the first of the keys in JSON.
    #[serde(skip)]
    pub span: Span,
    /// Fields whose value combinations must be new.
    pub fields: Vec<Spanned<String>>,
    /// Start of the history window, as date math.
    pub history_window_start: Option<Spanned<DateMath>>,
}

/// `[rule.alert_suppression]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct AlertSuppression {
    /// The table.
    #[serde(skip)]
    pub span: Span,
    /// Fields alerts are grouped by.
    pub group_by: Vec<Spanned<String>>,
    /// Where the `group_by` list is, when the key is given.
    #[serde(skip)]
    pub group_by_span: Option<Span>,
    /// The suppression window.
    pub duration: Option<Spanned<Duration>>,
    /// What to do with events that lack a group-by field.
    pub missing_fields_strategy: Option<Spanned<MissingFieldsStrategy>>,
}

/// One `[[rule.threat_mapping]]` group: all entries must match.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ThreatMapping {
    /// The entries.
    pub entries: Vec<ThreatMappingEntry>,
}

/// Source field `field` must equal indicator field `value`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ThreatMappingEntry {
    /// Field of the source event.
    pub field: Option<Spanned<String>>,
    /// Always `mapping`.
    #[serde(rename = "type")]
    pub kind: Option<Spanned<String>>,
    /// Field of the indicator.
    pub value: Option<Spanned<String>>,
    /// Whether the entry means DOES NOT MATCH (Kibana 9.2): the event's
    /// field must not hold the indicator's value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negate: Option<Spanned<bool>>,
}

/// `[transform]`: investigation guide plugins.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Transform {
    /// Osquery buttons.
    pub osquery: Vec<OsqueryTransform>,
    /// Timeline investigation buttons.
    pub investigate: Vec<InvestigateTransform>,
}

/// A `[[transform.osquery]]` entry.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct OsqueryTransform {
    /// Button label.
    pub label: Option<Spanned<String>>,
    /// Osquery SQL.
    pub query: Option<Spanned<String>>,
}

/// A `[[transform.investigate]]` entry.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct InvestigateTransform {
    /// Button label.
    pub label: Option<Spanned<String>>,
    /// What the button shows.
    pub description: Option<Spanned<String>>,
    /// Time range start, relative to the alert.
    #[serde(rename = "relativeFrom")]
    pub relative_from: Option<Spanned<String>>,
    /// Time range end, relative to the alert.
    #[serde(rename = "relativeTo")]
    pub relative_to: Option<Spanned<String>>,
    /// Query providers: groups ORed, providers in a group ANDed.
    pub providers: Vec<Vec<InvestigateProvider>>,
}

/// One provider of an investigate button.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct InvestigateProvider {
    /// Negate the provider.
    pub excluded: Option<Spanned<bool>>,
    /// Field to match.
    pub field: Option<Spanned<String>>,
    /// `phrase` or `exists`.
    #[serde(rename = "queryType")]
    pub query_type: Option<Spanned<String>>,
    /// Value or alert-field template.
    pub value: Option<Spanned<String>>,
    /// `string` or `literal`.
    #[serde(rename = "valueType")]
    pub value_type: Option<Spanned<String>>,
}

/// One rule, from a TOML file or one JSON object.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Rule {
    /// The rule's extent in the file: the whole TOML file, one NDJSON line.
    #[serde(skip)]
    pub span: Span,
    /// The `[rule]` table header in TOML; the opening brace in JSON.
    #[serde(skip)]
    pub table_span: Span,
    /// detection-rules metadata (TOML only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// Stable rule id (a UUID by convention).
    pub rule_id: Option<Spanned<String>>,
    /// Rule name.
    pub name: Option<Spanned<String>>,
    /// What the rule detects.
    pub description: Option<Spanned<String>>,
    /// Kind of detection.
    #[serde(rename = "type")]
    pub rule_type: Option<Spanned<RuleType>>,
    /// Query language.
    pub language: Option<Spanned<Language>>,
    /// The query.
    pub query: Option<QueryText>,
    /// Index patterns searched.
    pub index: Vec<Spanned<String>>,
    /// A Kibana data view instead of index patterns.
    pub data_view_id: Option<Spanned<String>>,
    /// Alert severity.
    pub severity: Option<Spanned<Severity>>,
    /// Risk score, 0–100.
    pub risk_score: Option<Spanned<i64>>,
    /// How often the rule runs.
    pub interval: Option<Spanned<Duration>>,
    /// Start of each run's time range.
    pub from: Option<Spanned<DateMath>>,
    /// End of each run's time range.
    pub to: Option<Spanned<DateMath>>,
    /// Maximum alerts per run.
    pub max_signals: Option<Spanned<i64>>,
    /// MITRE ATT&CK mapping.
    pub threat: Vec<Threat>,
    /// Threshold settings.
    pub threshold: Option<Threshold>,
    /// New-terms settings.
    pub new_terms: Option<NewTerms>,
    /// Alert suppression.
    pub alert_suppression: Option<AlertSuppression>,
    /// Indicator-match: query over the indicator index.
    pub threat_query: Option<QueryText>,
    /// Language of `threat_query`.
    pub threat_language: Option<Spanned<Language>>,
    /// Indicator indices.
    pub threat_index: Vec<Spanned<String>>,
    /// Where indicators sit in indicator documents.
    pub threat_indicator_path: Option<Spanned<String>>,
    /// How source events and indicators join.
    pub threat_mapping: Vec<ThreatMapping>,
    /// Machine learning jobs (a string or a list).
    pub machine_learning_job_id: Vec<Spanned<String>>,
    /// Minimum anomaly score, 0–100.
    pub anomaly_threshold: Option<Spanned<i64>>,
    /// Labels.
    pub tags: Vec<Spanned<String>>,
    /// Authors.
    pub author: Vec<Spanned<String>>,
    /// Licence.
    pub license: Option<Spanned<String>>,
    /// Reference URLs.
    pub references: Vec<Spanned<String>>,
    /// Known benign causes.
    pub false_positives: Vec<Spanned<String>>,
    /// Investigation guide (Markdown).
    pub note: Option<Spanned<String>>,
    /// Setup guide (Markdown).
    pub setup: Option<Spanned<String>>,
    /// Kibana rule version.
    pub version: Option<Spanned<i64>>,
    /// Whether the rule runs once installed.
    pub enabled: Option<Spanned<bool>>,
    /// `default` for building block rules.
    pub building_block_type: Option<Spanned<String>>,
    /// Field used instead of `@timestamp`.
    pub timestamp_override: Option<Spanned<String>>,
    /// Transform section (TOML only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transform: Option<Transform>,
    /// Keys that no check reads but that are part of the schema (filters,
    /// mappings, Kibana bookkeeping such as `id` or `created_at`), verbatim.
    #[serde(skip)]
    pub other: Vec<Entry>,
}

impl Rule {
    /// The rule id's text, when it has one.
    pub fn id(&self) -> Option<&str> {
        self.rule_id.as_ref().map(|s| s.value.as_str())
    }

    /// A schema key ruleq keeps verbatim (`filters`, `severity_mapping`,
    /// `event_category_override`, ...), as JSON, when the rule has it.
    pub fn extra(&self, key: &str) -> Option<serde_json::Value> {
        self.other
            .iter()
            .find(|e| e.key == key)
            .map(|e| e.value.to_json())
    }

    /// Whether `[metadata] maturity = "deprecated"`.
    pub fn is_deprecated(&self) -> bool {
        matches!(
            self.metadata.as_ref().and_then(|m| m.maturity.as_ref()),
            Some(Spanned {
                value: Maturity::Deprecated,
                ..
            })
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(Duration::parse("5m").unwrap().seconds(), 300);
        assert_eq!(Duration::parse("1h").unwrap().seconds(), 3600);
        for bad in ["", "m", "5", "05m", "0m", "5 m", "5ms", "-5m", "5M"] {
            assert_eq!(Duration::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn date_math() {
        assert_eq!(
            DateMath::parse("now-9m").unwrap().offset_seconds(),
            Some(-540)
        );
        assert_eq!(DateMath::parse("now").unwrap().offset_seconds(), Some(0));
        assert_eq!(
            DateMath::parse("now-1h+5m").unwrap().offset_seconds(),
            Some(-3300)
        );
        assert_eq!(DateMath::parse("now-30d/d").unwrap().offset_seconds(), None);
        for text in ["now", "now-9m", "now-1h+5m", "now-30d/d"] {
            assert_eq!(DateMath::parse(text).unwrap().to_string(), text);
        }
        for bad in ["", "now-", "now-9", "now-9x", "9m", "now 9m", "now-9mm"] {
            assert_eq!(DateMath::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates() {
        assert!(Date::parse("2024/02/29").is_some());
        assert!(Date::parse("2023/02/29").is_none());
        assert!(Date::parse("2023-02-01").is_none());
        assert!(Date::parse("2023/13/01").is_none());
        assert!(Date::parse("2023/1/01").is_none());
        assert!(Date::parse("2020/04/23") < Date::parse("2022/08/24"));
    }
}
