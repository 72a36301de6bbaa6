//! Exception lists as the query DSL Kibana builds from them
//! (`buildExceptionFilter`): per rule one filter with `meta.negate`, a
//! `should` of its items, each a `filter` of its entries. The filter then
//! compiles as the rule's other Kibana filters do, so it gates every event
//! of the rule's query: a sequence's events, a threshold rule's counted
//! events, a new_terms rule's window and history alike (E7).

use super::{Entry, ExceptionList, Item};
use crate::rule::Rule;
use serde_json::{json, Value as Json};
use std::collections::HashMap;

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
        let mut items = Vec::new();
        for list in &self.defaults {
            self.add(list, &mut items, &mut applied);
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
                self.add(list, &mut items, &mut applied);
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

    /// The clauses of `list`'s items that have not expired, into `items`;
    /// those that cannot apply, into `applied.skipped`.
    fn add(&self, list: &ExceptionList, items: &mut Vec<Json>, applied: &mut Applied) {
        for item in &list.items {
            if item.expire_time.is_some_and(|t| t < self.now) {
                continue;
            }
            match self.item(item) {
                Ok(clause) => items.push(clause),
                Err(why) => applied.skipped.push(format!(
                    "{}/{} is not applied: {why}",
                    list.list_id, item.item_id
                )),
            }
        }
    }

    /// One item: its entries ANDed, on events of its `os_types` when set.
    fn item(&self, item: &Item) -> Result<Json, String> {
        let entries: Vec<Json> = item
            .entries
            .iter()
            .map(|e| self.entry(e))
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

    /// One entry's clause; `excluded` wraps it in `must_not`.
    fn entry(&self, entry: &Entry) -> Result<Json, String> {
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
                if !matches!(list_type.as_str(), "keyword" | "ip") {
                    return Err(format!(
                        "value lists of type {list_type} are not applied yet (keyword and ip are)"
                    ));
                }
                let values = self.value_lists.get(list_id).ok_or_else(|| {
                    format!("value list {list_id} was not given (--value-list {list_id}=FILE)")
                })?;
                (json!({"terms": {field: values}}), *excluded)
            }
            Entry::Nested { field, entries } => {
                // Inner fields are relative to the array's path.
                let inner: Vec<Json> = entries
                    .iter()
                    .map(|e| self.entry(&e.under(field)))
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

/// Reads a value list file: one value a line, blank lines skipped.
pub fn read_value_list(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}
