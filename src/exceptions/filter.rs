//! Exception lists as the query DSL Kibana builds from them
//! (`buildExceptionFilter`): per rule one filter with `meta.negate`, a
//! `should` of its items, each a `filter` of its entries. The filter then
//! compiles as the rule's other Kibana filters do, so it gates every event
//! of the rule's query: a sequence's events, a threshold rule's counted
//! events, a new_terms rule's window and history alike (E7).

use super::{Entry, ExceptionList, Item};
use crate::compile::cidr::{parse_ip, CidrSet};
use crate::rule::{Rule, RuleType};
use serde_json::{json, Value as Json};
use std::collections::HashMap;
use std::net::IpAddr;

/// The exception lists and value lists a run was given, and the time
/// their items' expiry is judged at.
#[derive(Debug, Clone, Default)]
pub struct Exceptions {
    /// The lists (`--exceptions`).
    pub lists: Vec<ExceptionList>,
    /// Lists every rule applies, referenced or not (a `ruleq test` case's
    /// lists, attached to the rule under test as its default lists).
    pub defaults: Vec<ExceptionList>,
    /// The value lists (`--value-list ID=FILE`): per id, its values.
    pub value_lists: HashMap<String, Vec<String>>,
    /// Items whose `expire_time` is before this (nanoseconds) are ignored.
    pub now: i64,
    /// Whether the run replays the rules' schedules (`--schedule`): an
    /// item's expiry is then judged at each execution, not at `now`.
    pub schedule: bool,
}

/// What a rule's exceptions came to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied {
    /// The filter to add to the rule's filters (a Kibana filter object),
    /// when some item applies.
    pub filter: Option<Json>,
    /// The lists the rule references that were not given (`list_id`).
    pub missing: Vec<String>,
    /// Items not applied, and why.
    pub skipped: Vec<String>,
    /// Items applied.
    pub items: usize,
}

impl Exceptions {
    /// Whether any list was given.
    pub fn is_empty(&self) -> bool {
        self.lists.is_empty() && self.defaults.is_empty()
    }

    /// The exceptions of `rule`: the items of the lists its
    /// `exceptions_list` names (by `list_id` and `namespace_type`) that
    /// have not expired.
    ///
    /// The Endpoint exception list (`list_id = "endpoint_list"`, agnostic,
    /// type `endpoint`), which the Elastic Defend rules reference, is
    /// applied like any other list when it is given: Kibana 8.x's
    /// `getExceptions` loads it with the rule's other lists. (The newest
    /// Kibana source read skips `endpoint_list` there; whether Endpoint
    /// exceptions still reach detection rules another way is open:
    /// `design/rule-types-semantics.md` §4.1 E1 and §7.1.) When it is not
    /// given, the rule runs without it and [`Applied::missing`] names it,
    /// as any list not given.
    pub fn for_rule(&self, rule: &Rule) -> Applied {
        let mut applied = Applied::default();
        let refs = match rule.extra("exceptions_list") {
            Some(Json::Array(refs)) => refs,
            _ => Vec::new(),
        };
        // Kibana applies value lists it cannot search for (text lists,
        // large lists) in memory after the search, which threshold and
        // new_terms rules do not do (design §4.1 E6).
        let searched_only = matches!(
            rule.rule_type.as_ref().map(|t| t.value),
            Some(RuleType::Threshold | RuleType::NewTerms)
        );
        let mut items = Vec::new();
        let expiry = self.expiry(rule);
        for list in &self.defaults {
            self.add(list, &expiry, searched_only, &mut items, &mut applied);
        }
        for r in &refs {
            let list_id = r.get("list_id").and_then(Json::as_str).unwrap_or("");
            let namespace = r
                .get("namespace_type")
                .and_then(Json::as_str)
                .unwrap_or("single");
            let found: Vec<&ExceptionList> = self
                .lists
                .iter()
                .filter(|l| l.list_id == list_id && l.namespace_type == namespace)
                .collect();
            if found.is_empty() {
                applied.missing.push(list_id.to_string());
                continue;
            }
            for list in found {
                self.add(list, &expiry, searched_only, &mut items, &mut applied);
            }
        }
        applied.items = items.len();
        if !items.is_empty() {
            applied.filter = Some(json!({
                "meta": {"negate": true},
                "query": {"bool": {"should": items, "minimum_should_match": 1}},
            }));
        }
        applied
    }

    /// How an item's expiry applies to `rule`'s events: under a schedule,
    /// (interval, window start relative to the execution, time field).
    fn expiry(&self, rule: &Rule) -> Option<(i64, i64, String)> {
        if !self.schedule {
            return None;
        }
        let schedule = crate::detect::schedule::Schedule::of(rule).ok()?;
        let field = rule
            .timestamp_override
            .as_ref()
            .map_or("@timestamp".to_string(), |f| f.value.clone());
        Some((schedule.interval, schedule.from, field))
    }

    /// The clauses of `list`'s items that have not expired, into `items`;
    /// those that cannot apply, into `applied.skipped`.
    ///
    /// Kibana ignores an item whose `expire_time` is before the execution.
    /// Under a schedule (`expiry`), an event is searched by the executions
    /// at the multiples t of the interval with t + from <= time <= t + to:
    /// the item excepts it in all of them when the last, the largest
    /// multiple of the interval not after time - from, is not after the
    /// expiry E, that is when
    /// `time < (floor(E / interval) + 1) * interval + from`. The item then
    /// holds only for events before that instant; an event it excepts in
    /// some executions but not the later ones alerts (written by the first
    /// execution that searches it).
    fn add(
        &self,
        list: &ExceptionList,
        expiry: &Option<(i64, i64, String)>,
        searched_only: bool,
        items: &mut Vec<Json>,
        applied: &mut Applied,
    ) {
        for item in &list.items {
            let until = match (item.expire_time, expiry) {
                (Some(e), Some((interval, from, field))) if *interval > 0 => {
                    let last = (e.div_euclid(*interval) + 1).saturating_mul(*interval);
                    Some((last.saturating_add(*from), field))
                }
                (Some(t), _) if t < self.now => continue,
                _ => None,
            };
            match self.item(item, searched_only) {
                Ok(clause) => items.push(match until {
                    None => clause,
                    Some((before, field)) => json!({"bool": {"filter": [
                        clause,
                        {"range": {field: {"lt": crate::compile::date::format_iso(before, true)}}},
                    ]}}),
                }),
                Err(why) => applied.skipped.push(format!(
                    "{}/{} is not applied: {why}",
                    list.list_id, item.item_id
                )),
            }
        }
    }

    /// One item: its entries ANDed, on events of its `os_types` when set.
    fn item(&self, item: &Item, searched_only: bool) -> Result<Json, String> {
        let entries: Vec<Json> = item
            .entries
            .iter()
            .map(|e| self.entry(e, searched_only))
            .collect::<Result<_, _>>()?;
        if item.os_types.is_empty() {
            return Ok(json!({"bool": {"filter": entries}}));
        }
        // Per system: `host.os.type`, or `host.os.name` compared without
        // case (Kibana's `host.os.name.caseless`).
        let mut any = Vec::new();
        for os in &item.os_types {
            for os_clause in [
                json!({"match_phrase": {"host.os.type": os}}),
                json!({"wildcard": {"host.os.name": {"value": escape(os), "case_insensitive": true}}}),
            ] {
                let mut all = vec![os_clause];
                all.extend(entries.iter().cloned());
                any.push(json!({"bool": {"filter": all}}));
            }
        }
        Ok(json!({"bool": {"should": any, "minimum_should_match": 1}}))
    }

    /// One entry's clause; `excluded` wraps it in `must_not`. With
    /// `searched_only`, a value list Kibana cannot turn into a query is an
    /// error.
    fn entry(&self, entry: &Entry, searched_only: bool) -> Result<Json, String> {
        let (clause, excluded) = match entry {
            Entry::Match {
                field,
                value,
                excluded,
            } => (json!({"match_phrase": {field: value}}), *excluded),
            Entry::MatchAny {
                field,
                values,
                excluded,
            } => {
                let any: Vec<Json> = values
                    .iter()
                    .map(|v| json!({"match_phrase": {field: v}}))
                    .collect();
                (
                    json!({"bool": {"should": any, "minimum_should_match": 1}}),
                    *excluded,
                )
            }
            Entry::Exists { field, excluded } => (json!({"exists": {"field": field}}), *excluded),
            Entry::Wildcard {
                field,
                pattern,
                excluded,
            } => (
                json!({"wildcard": {field: {"value": pattern, "case_insensitive": false}}}),
                *excluded,
            ),
            Entry::List {
                field,
                list_id,
                list_type,
                excluded,
            } => {
                let values = self.value_lists.get(list_id).ok_or_else(|| {
                    format!("value list {list_id} was not given (--value-list {list_id}=FILE)")
                })?;
                if searched_only && !searchable(list_type, values) {
                    return Err(format!(
                        "uses value list {list_id} of type {list_type}, which Kibana applies only after the search, as threshold and new_terms rules do not (it only warns)"
                    ));
                }
                let clause = list_clause(field, list_type, values).map_err(|why| match why {
                    ListError::Type(why) => why,
                    ListError::Line(line, why) => format!(
                        "value list {list_id} (--value-list {list_id}=FILE) line {line}: {why}"
                    ),
                })?;
                (clause, *excluded)
            }
            Entry::Nested { field, entries } => {
                // Inner fields are relative to the array's path.
                let inner: Vec<Json> = entries
                    .iter()
                    .map(|e| self.entry(&e.under(field), searched_only))
                    .collect::<Result<_, _>>()?;
                (
                    json!({"nested": {"path": field, "query": {"bool": {"filter": inner}}}}),
                    false,
                )
            }
        };
        Ok(match excluded {
            true => json!({"bool": {"must_not": [clause]}}),
            false => clause,
        })
    }
}

/// A value as a wildcard pattern that matches only itself.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Reads a value list file: one value a line, trimmed. A blank line is
/// kept as an empty value, which no list applies, so that value `i` is the
/// file's line `i + 1` (for messages about a value of the wrong form).
pub fn read_value_list(text: &str) -> Vec<String> {
    text.lines().map(|l| l.trim().to_string()).collect()
}

/// The value list types of Elasticsearch field types that ruleq applies
/// (Kibana's lists take any of binary, boolean, byte, date, date_nanos,
/// date_range, double, double_range, float, float_range, geo_point,
/// geo_shape, half_float, integer, integer_range, ip, ip_range, keyword,
/// long, long_range, shape, short and text).
pub const VALUE_LIST_TYPES: &[&str] = &[
    "keyword",
    "ip",
    "ip_range",
    "text",
    "long",
    "integer",
    "short",
    "byte",
    "double",
    "float",
    "half_float",
    "long_range",
    "integer_range",
    "double_range",
    "float_range",
    "date",
    "date_nanos",
    "boolean",
];

/// Why a value list does not apply.
#[derive(Debug, Clone, PartialEq)]
pub enum ListError {
    /// Its type is not applied.
    Type(String),
    /// The value on this 1-based line is not of the list's type.
    Line(usize, String),
}

/// Checks that every value of a list of `list_type` is of that type, as
/// Kibana's import of the list would: the first value that is not, by
/// line.
pub fn check_value_list(list_type: &str, values: &[String]) -> Result<(), ListError> {
    list_clause("field", list_type, values).map(|_| ())
}

/// The query clause that holds when `field` has a value of the list
/// `values` of `list_type`, as Kibana builds or applies it (design §4.1
/// E6):
/// - `keyword`: `terms`, exact and case-sensitive.
/// - `ip`: `terms` of addresses, compared as addresses (`::1` is
///   `0:0:0:0:0:0:0:1`).
/// - `ip_range`: `terms` of CIDR blocks and single addresses, and a
///   `range` (`gte`, `lte`) per `a-b` range, IPv4 or IPv6, compared as
///   addresses.
/// - `text`: Kibana applies text lists after the search, each event value
///   a `match` query with operator `and` against the list's items,
///   analysed with the standard analyzer: it matches an item when every
///   term of the value (one at least) is a term of the item, whatever the
///   case (ruleq's own `text_list` clause). Terms are runs of letters and
///   digits, lower-cased, ruleq's approximation of the standard analyzer
///   (which keeps `foo.bar` or `don't` as one term, for instance).
/// - numbers (`long`, `integer`, `short`, `byte`, `double`, `float`,
///   `half_float`): `terms` of numbers, compared as numbers; their ranges
///   (`long_range`...) `a-b`, inclusive, or a single number.
/// - `date`, `date_nanos`: the instant, a `range` of it (`gte` and `lte`).
/// - `boolean`: `true` or `false`.
///
/// Other types (binary, date_range, geo_point, geo_shape, shape) are an
/// error, as is a value not of the type.
fn list_clause(field: &str, list_type: &str, values: &[String]) -> Result<Json, ListError> {
    let lines = || {
        values
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.is_empty())
            .map(|(i, v)| (i + 1, v.as_str()))
    };
    let any = |clauses: Vec<Json>| json!({"bool": {"should": clauses, "minimum_should_match": 1}});
    match list_type {
        "keyword" => Ok(json!({"terms": {field: lines().map(|(_, v)| v).collect::<Vec<_>>()}})),
        "ip" => {
            for (line, v) in lines() {
                if parse_ip(v).is_none() {
                    return Err(ListError::Line(line, format!("{v:?} is not an IP address")));
                }
            }
            Ok(json!({"terms": {field: lines().map(|(_, v)| v).collect::<Vec<_>>()}}))
        }
        "ip_range" => {
            let mut blocks = Vec::new();
            let mut ranges = Vec::new();
            for (line, v) in lines() {
                match ip_range(v) {
                    Some(IpRange::Block) => blocks.push(v),
                    Some(IpRange::Dash(lo, hi)) => ranges
                        .push(json!({"range": {field: {"gte": lo, "lte": hi}}})),
                    None => {
                        return Err(ListError::Line(
                            line,
                            format!(
                                "{v:?} is not an IP address, a CIDR block (10.0.0.0/8) or a range of addresses (10.0.0.1-10.0.0.9)"
                            ),
                        ))
                    }
                }
            }
            let mut clauses = vec![json!({"terms": {field: blocks}})];
            clauses.extend(ranges);
            Ok(any(clauses))
        }
        "text" => Ok(json!({"text_list": {field: lines().map(|(_, v)| v).collect::<Vec<_>>()}})),
        "long" | "integer" | "short" | "byte" | "double" | "float" | "half_float" => {
            let integral = matches!(list_type, "long" | "integer" | "short" | "byte");
            let mut numbers = Vec::new();
            for (line, v) in lines() {
                numbers.push(number(v, integral).ok_or_else(|| {
                    ListError::Line(line, format!("{v:?} is not a {list_type} number"))
                })?);
            }
            Ok(json!({"terms": {field: numbers}}))
        }
        "long_range" | "integer_range" | "double_range" | "float_range" => {
            let integral = matches!(list_type, "long_range" | "integer_range");
            let mut clauses = Vec::new();
            for (line, v) in lines() {
                let bad = || {
                    ListError::Line(
                        line,
                        format!("{v:?} is not a number or a range of numbers (1-9)"),
                    )
                };
                // `a-b`, the split at a `-` that follows a digit (so that
                // `-5--1` is -5 to -1), or a single number.
                let split = v
                    .char_indices()
                    .skip(1)
                    .find(|(i, c)| *c == '-' && v[..*i].ends_with(|p: char| p.is_ascii_digit()))
                    .map(|(i, _)| (&v[..i], &v[i + 1..]));
                let (lo, hi) = match split {
                    Some((lo, hi)) => (
                        number(lo, integral).ok_or_else(bad)?,
                        number(hi, integral).ok_or_else(bad)?,
                    ),
                    None => {
                        let n = number(v, integral).ok_or_else(bad)?;
                        (n.clone(), n)
                    }
                };
                clauses.push(json!({"range": {field: {"gte": lo, "lte": hi}}}));
            }
            Ok(any(clauses))
        }
        "date" | "date_nanos" => {
            let mut clauses = Vec::new();
            for (line, v) in lines() {
                if crate::compile::date::parse_iso(v).is_none() {
                    return Err(ListError::Line(
                        line,
                        format!("{v:?} is not a date (2024-05-01 or 2024-05-01T10:00:00Z)"),
                    ));
                }
                clauses.push(json!({"range": {field: {"gte": v, "lte": v}}}));
            }
            Ok(any(clauses))
        }
        "boolean" => {
            let mut flags = Vec::new();
            for (line, v) in lines() {
                flags.push(match v {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(ListError::Line(
                            line,
                            format!("{v:?} is not a boolean (true or false)"),
                        ))
                    }
                });
            }
            Ok(json!({"terms": {field: flags}}))
        }
        other => Err(ListError::Type(format!(
            "value lists of type {other} are not applied (these are: {})",
            VALUE_LIST_TYPES.join(", ")
        ))),
    }
}

/// Whether Kibana turns a value list into a query (keyword, ip and
/// ip_range lists of at most 65,536 values, at most 200 of them `a-b`
/// ranges) rather than applying it after the search.
fn searchable(list_type: &str, values: &[String]) -> bool {
    let count = values.iter().filter(|v| !v.is_empty()).count();
    let dashes = values
        .iter()
        .filter(|v| matches!(ip_range(v), Some(IpRange::Dash(..))))
        .count();
    match list_type {
        "keyword" | "ip" => count <= 65_536,
        "ip_range" => count <= 65_536 && dashes <= 200,
        _ => false,
    }
}

/// What a line of an `ip_range` list holds.
#[derive(Debug, PartialEq)]
enum IpRange {
    /// A CIDR block or a single address.
    Block,
    /// `a-b`: both addresses, of one family, `a` not above `b`.
    Dash(String, String),
}

fn ip_range(v: &str) -> Option<IpRange> {
    if let Some((lo, hi)) = v.split_once('-') {
        let (lo, hi) = (lo.trim(), hi.trim());
        let (a, b) = (parse_ip(lo)?, parse_ip(hi)?);
        let ordered = match (a, b) {
            (IpAddr::V4(a), IpAddr::V4(b)) => a <= b,
            (IpAddr::V6(a), IpAddr::V6(b)) => a <= b,
            _ => false,
        };
        return ordered.then(|| IpRange::Dash(lo.to_string(), hi.to_string()));
    }
    CidrSet::parse([v]).ok().map(|_| IpRange::Block)
}

/// `v` as a JSON number: an integer for integral types, else any finite
/// number.
fn number(v: &str, integral: bool) -> Option<Json> {
    if integral {
        return v.trim().parse::<i64>().ok().map(Json::from);
    }
    let f: f64 = v.trim().parse().ok()?;
    serde_json::Number::from_f64(f).map(Json::Number)
}
