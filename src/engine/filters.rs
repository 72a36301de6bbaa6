//! A rule's `filters`: Kibana filter objects (the pills of the query bar),
//! each a query DSL clause with `meta.negate` and `meta.disabled`. Kibana
//! adds the enabled ones to the rule's search as `filter` clauses (negated
//! ones as `must_not`), so an event reaches the rule's query only when every
//! filter lets it through.

use crate::compile::cidr::{parse_ip, CidrSet};
use crate::compile::date::parse_iso;
use crate::compile::ir::{analyze, FieldId, Fields};
use crate::compile::wildcard::Wildcard;
use crate::event::{ElemId, NodeId, Record, Value};
use serde_json::Value as Json;

/// One compiled query DSL clause.
#[derive(Debug, Clone, PartialEq)]
pub enum EventFilter {
    /// Every event.
    All,
    /// `wildcard`: a keyword value matches the pattern.
    Wildcard(FieldId, Wildcard),
    /// `match_phrase`, `match`, `term`, `terms`: a value equals one of these.
    Equals(FieldId, Vec<Json>),
    /// `exists`: the field has a non-null value.
    Exists(FieldId),
    /// `range`: a value within the bounds.
    Range(FieldId, Vec<(Bound, Json)>),
    /// `bool`: every `must`/`filter`, at least `minimum` of `should`, no `must_not`.
    Bool {
        /// `must` and `filter` clauses.
        all: Vec<EventFilter>,
        /// `should` clauses.
        any: Vec<EventFilter>,
        /// How many `should` clauses must match.
        minimum: usize,
        /// `must_not` clauses.
        none: Vec<EventFilter>,
    },
    /// A negated filter (`meta.negate`).
    Not(Box<EventFilter>),
    /// `nested`: one object of the array at the path satisfies the query
    /// (its fields read within that object only).
    Nested(NodeId, Box<EventFilter>),
    /// A value is an IP address inside one of the blocks: the IP address
    /// and CIDR values of a `term`, `terms` or `match_phrase` clause, as
    /// Elasticsearch compares them on an `ip` field (`10.0.0.0/8` holds
    /// `10.1.2.3`; `::1` is `0:0:0:0:0:0:0:1`).
    IpIn(FieldId, CidrSet),
    /// `text_list` (ruleq's own clause: Elasticsearch has none): a value
    /// matches an item of a value list of type `text` as Kibana matches
    /// one, a `match` query with operator `and` of the value against the
    /// item's analysed text: every term of the value is a term of the
    /// item. Each item is held as its terms.
    TextList(FieldId, TextItems),
}

/// The items of a `text` value list, as their analysed terms, indexed by
/// term.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TextItems {
    /// Each item's terms, sorted and without repeats.
    items: Vec<Vec<String>>,
    /// Per term, the items holding it.
    by_term: std::collections::HashMap<String, Vec<usize>>,
}

impl TextItems {
    /// The items of `texts`.
    pub fn new<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut out = TextItems::default();
        for text in texts {
            let mut terms = analyze(text);
            terms.sort_unstable();
            terms.dedup();
            let at = out.items.len();
            for t in &terms {
                out.by_term.entry(t.clone()).or_default().push(at);
            }
            out.items.push(terms);
        }
        out
    }

    /// Whether every term of `value` (one at least) is a term of one item.
    pub fn matches(&self, value: &str) -> bool {
        let terms = analyze(value);
        let Some(first) = terms.first() else {
            return false;
        };
        self.by_term.get(first).is_some_and(|candidates| {
            candidates
                .iter()
                .any(|&i| terms.iter().all(|t| self.items[i].binary_search(t).is_ok()))
        })
    }
}

/// A side of a `range`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// `gt`
    Gt,
    /// `gte`
    Gte,
    /// `lt`
    Lt,
    /// `lte`
    Lte,
}

impl EventFilter {
    /// Compiles one Kibana filter object; `None` for a disabled one.
    pub fn from_kibana(filter: &Json, fields: &mut Fields) -> Result<Option<EventFilter>, String> {
        let meta = filter.get("meta");
        let flag = |k: &str| meta.and_then(|m| m.get(k)).and_then(Json::as_bool) == Some(true);
        if flag("disabled") {
            return Ok(None);
        }
        // The clause sits under `query`, or (older filters) beside `meta`.
        let clause = match filter.get("query") {
            Some(q) => q.clone(),
            None => {
                let mut rest = filter.as_object().cloned().unwrap_or_default();
                for k in ["meta", "$state"] {
                    rest.shift_remove(k);
                }
                Json::Object(rest)
            }
        };
        let compiled = clause_of(&clause, fields)?;
        Ok(Some(if flag("negate") {
            EventFilter::Not(Box::new(compiled))
        } else {
            compiled
        }))
    }

    /// Whether the event passes.
    pub fn passes(&self, record: &Record) -> bool {
        self.passes_in(record, None)
    }

    /// Whether the event passes, its values read only from the object
    /// `within` names (an element of a nested array) when given.
    fn passes_in(&self, record: &Record, within: Option<(NodeId, ElemId)>) -> bool {
        let values = |f: FieldId| {
            record.entries(f).filter_map(move |(v, e)| match within {
                Some((scope, elem)) => (record.element_in(e, scope) == Some(elem)).then_some(v),
                None => Some(v),
            })
        };
        match self {
            EventFilter::All => true,
            EventFilter::Wildcard(f, w) => {
                values(*f).any(|v| v.as_str().is_some_and(|s| w.matches(s)))
            }
            EventFilter::Equals(f, wanted) => {
                values(*f).any(|v| wanted.iter().any(|w| equals(&v, w)))
            }
            EventFilter::Exists(f) => values(*f).any(|v| !v.is_null()),
            EventFilter::IpIn(f, set) => {
                values(*f).any(|v| v.as_str().is_some_and(|s| set.contains_text(s)))
            }
            EventFilter::TextList(f, items) => values(*f).any(|v| match v {
                Value::Str(s) => items.matches(s),
                Value::Number(n) => items.matches(n.text()),
                _ => false,
            }),
            EventFilter::Range(f, bounds) => {
                values(*f).any(|v| bounds.iter().all(|(b, limit)| within_bound(&v, *b, limit)))
            }
            EventFilter::Bool {
                all,
                any,
                minimum,
                none,
            } => {
                all.iter().all(|c| c.passes_in(record, within))
                    && none.iter().all(|c| !c.passes_in(record, within))
                    && any.iter().filter(|c| c.passes_in(record, within)).count() >= *minimum
            }
            EventFilter::Not(inner) => !inner.passes_in(record, within),
            EventFilter::Nested(scope, query) => {
                // The objects of the array that hold a value the query reads.
                let mut fields = Vec::new();
                query.fields(&mut fields);
                let mut elems: Vec<ElemId> = fields
                    .iter()
                    .flat_map(|f| record.entries(*f))
                    .filter_map(|(_, e)| record.element_in(e, *scope))
                    .collect();
                elems.sort_unstable();
                elems.dedup();
                elems
                    .into_iter()
                    .any(|e| query.passes_in(record, Some((*scope, e))))
            }
        }
    }

    /// The fields the filter reads, into `out`.
    fn fields(&self, out: &mut Vec<FieldId>) {
        match self {
            EventFilter::All => {}
            EventFilter::Wildcard(f, _)
            | EventFilter::Equals(f, _)
            | EventFilter::Exists(f)
            | EventFilter::IpIn(f, _)
            | EventFilter::TextList(f, _)
            | EventFilter::Range(f, _) => out.push(*f),
            EventFilter::Bool { all, any, none, .. } => all
                .iter()
                .chain(any)
                .chain(none)
                .for_each(|c| c.fields(out)),
            EventFilter::Not(inner) | EventFilter::Nested(_, inner) => inner.fields(out),
        }
    }
}

/// The single `field: body` pair of a leaf clause.
fn single(body: &Json, kind: &str) -> Result<(String, Json), String> {
    match body.as_object() {
        Some(m) if m.len() == 1 => {
            let (k, v) = m.iter().next().expect("one entry");
            Ok((k.clone(), v.clone()))
        }
        _ => Err(format!("`{kind}` needs exactly one field")),
    }
}

fn clause_of(clause: &Json, fields: &mut Fields) -> Result<EventFilter, String> {
    let Some(map) = clause.as_object() else {
        return Err("a filter query must be an object".into());
    };
    if map.is_empty() {
        return Ok(EventFilter::All);
    }
    if map.len() != 1 {
        return Err("a filter query must hold exactly one clause".into());
    }
    let (kind, body) = map.iter().next().expect("one entry");
    match kind.as_str() {
        "match_all" => Ok(EventFilter::All),
        "nested" => {
            let path = body
                .get("path")
                .and_then(Json::as_str)
                .ok_or("`nested` needs a `path`")?;
            let query = body.get("query").ok_or("`nested` needs a `query`")?;
            let scope = fields.node(path);
            Ok(EventFilter::Nested(
                scope,
                Box::new(clause_of(query, fields)?),
            ))
        }
        "exists" => {
            let field = body
                .get("field")
                .and_then(Json::as_str)
                .ok_or("`exists` needs a `field`")?;
            Ok(EventFilter::Exists(fields.intern(field)))
        }
        "wildcard" => {
            let (field, spec) = single(body, kind)?;
            let (pattern, ci) = match &spec {
                Json::String(s) => (s.clone(), false),
                Json::Object(o) => (
                    o.get("value")
                        .or_else(|| o.get("wildcard"))
                        .and_then(Json::as_str)
                        .ok_or("`wildcard` needs a `value`")?
                        .to_string(),
                    o.get("case_insensitive").and_then(Json::as_bool) == Some(true),
                ),
                _ => return Err("`wildcard` needs a pattern".into()),
            };
            Ok(EventFilter::Wildcard(
                fields.intern(&field),
                Wildcard::lucene(&pattern, ci),
            ))
        }
        "match_phrase" | "match" | "term" => {
            let (field, spec) = single(body, kind)?;
            let value = match spec {
                Json::Object(o) => o
                    .get("query")
                    .or_else(|| o.get("value"))
                    .cloned()
                    .ok_or(format!("`{kind}` needs a value"))?,
                v => v,
            };
            Ok(equals_or_ip(fields.intern(&field), vec![value]))
        }
        "terms" => {
            let (field, spec) = single(body, kind)?;
            let values = spec.as_array().cloned().ok_or("`terms` needs an array")?;
            Ok(equals_or_ip(fields.intern(&field), values))
        }
        "text_list" => {
            let (field, spec) = single(body, kind)?;
            let items = spec.as_array().ok_or("`text_list` needs an array")?;
            let texts = items.iter().filter_map(Json::as_str);
            Ok(EventFilter::TextList(
                fields.intern(&field),
                TextItems::new(texts),
            ))
        }
        "range" => {
            let (field, spec) = single(body, kind)?;
            let spec = spec.as_object().ok_or("`range` needs bounds")?;
            let mut bounds = Vec::new();
            for (k, v) in spec {
                let b = match k.as_str() {
                    "gt" => Bound::Gt,
                    "gte" | "from" => Bound::Gte,
                    "lt" => Bound::Lt,
                    "lte" | "to" => Bound::Lte,
                    "format" | "time_zone" => continue,
                    other => return Err(format!("`range` option `{other}` is not supported")),
                };
                if !v.is_null() {
                    bounds.push((b, v.clone()));
                }
            }
            Ok(EventFilter::Range(fields.intern(&field), bounds))
        }
        "bool" => {
            let list = |key: &str, fields: &mut Fields| -> Result<Vec<EventFilter>, String> {
                match body.get(key) {
                    None => Ok(Vec::new()),
                    Some(Json::Array(items)) => {
                        items.iter().map(|c| clause_of(c, fields)).collect()
                    }
                    Some(one) => Ok(vec![clause_of(one, fields)?]),
                }
            };
            let mut all = list("must", fields)?;
            all.extend(list("filter", fields)?);
            let any = list("should", fields)?;
            let none = list("must_not", fields)?;
            // Alone, `should` needs one match; beside must/filter, none.
            let default = usize::from(all.is_empty() && !any.is_empty());
            let minimum = match body.get("minimum_should_match") {
                None => default,
                Some(Json::Number(n)) => n.as_u64().unwrap_or(1) as usize,
                Some(Json::String(s)) => s.parse().map_err(|_| {
                    format!("`minimum_should_match` {s:?} is not supported (a count is)")
                })?,
                Some(_) => return Err("`minimum_should_match` must be a count".into()),
            };
            Ok(EventFilter::Bool {
                all,
                any,
                minimum,
                none,
            })
        }
        other => Err(format!("filter query `{other}` is not supported")),
    }
}

/// `Equals`, or, when some values are IP addresses or CIDR blocks, also
/// [`EventFilter::IpIn`] of them: a term on an `ip` field compares
/// addresses, and a block holds the addresses inside it (as KQL terms do).
fn equals_or_ip(field: FieldId, values: Vec<Json>) -> EventFilter {
    let ips: Vec<&str> = values
        .iter()
        .filter_map(Json::as_str)
        .filter(|s| parse_ip(s).is_some() || (s.contains('/') && CidrSet::parse([*s]).is_ok()))
        .collect();
    let Ok(set) = CidrSet::parse(ips.iter().copied()) else {
        return EventFilter::Equals(field, values);
    };
    if ips.is_empty() {
        return EventFilter::Equals(field, values);
    }
    EventFilter::Bool {
        all: Vec::new(),
        any: vec![
            EventFilter::Equals(field, values),
            EventFilter::IpIn(field, set),
        ],
        minimum: 1,
        none: Vec::new(),
    }
}

/// An IP address in Elasticsearch's one space: IPv4 mapped into IPv6.
fn ip_number(text: &str) -> Option<u128> {
    Some(match parse_ip(text)? {
        std::net::IpAddr::V4(a) => u128::from(a.to_ipv6_mapped()),
        std::net::IpAddr::V6(a) => u128::from(a),
    })
}

/// A keyword, numeric or boolean value against a filter value.
fn equals(v: &Value, wanted: &Json) -> bool {
    match (v, wanted) {
        (Value::Str(s), Json::String(w)) => s == w,
        (Value::Str(s), Json::Number(n)) => s.parse::<f64>().ok() == n.as_f64(),
        (Value::Number(x), Json::Number(n)) => Some(x.as_f64()) == n.as_f64(),
        (Value::Number(x), Json::String(w)) => w.parse::<f64>().ok() == Some(x.as_f64()),
        (Value::Bool(b), Json::Bool(w)) => b == w,
        (Value::Bool(b), Json::String(w)) => w == if *b { "true" } else { "false" },
        _ => false,
    }
}

/// A value against one range bound: numbers as numbers, dates as instants,
/// other strings in byte order (keyword ranges).
fn within_bound(v: &Value, bound: Bound, limit: &Json) -> bool {
    use std::cmp::Ordering;
    let ord = match (v, limit) {
        (Value::Number(x), Json::Number(n)) => n.as_f64().and_then(|n| x.as_f64().partial_cmp(&n)),
        (Value::Number(x), Json::String(s)) => s
            .parse::<f64>()
            .ok()
            .and_then(|n| x.as_f64().partial_cmp(&n)),
        // IP addresses in address order (an `ip` field's range).
        (Value::Str(s), Json::String(l)) if ip_number(l).is_some() => {
            ip_number(s).and_then(|a| ip_number(l).map(|b| a.cmp(&b)))
        }
        (Value::Str(s), Json::String(l)) => match (parse_iso(s), parse_iso(l)) {
            (Some(a), Some(b)) => Some(match bound {
                // A rounded bound covers its whole unit.
                Bound::Gt | Bound::Lte => a.lo.cmp(&b.hi),
                Bound::Gte | Bound::Lt => a.lo.cmp(&b.lo),
            }),
            _ => Some(s.as_bytes().cmp(l.as_bytes())),
        },
        (Value::Str(s), Json::Number(n)) => s
            .parse::<f64>()
            .ok()
            .and_then(|x| x.partial_cmp(&n.as_f64()?)),
        _ => None,
    };
    match (ord, bound) {
        (None, _) => false,
        (Some(o), Bound::Gt) => o == Ordering::Greater,
        (Some(o), Bound::Gte) => o != Ordering::Less,
        (Some(o), Bound::Lt) => o == Ordering::Less,
        (Some(o), Bound::Lte) => o != Ordering::Greater,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lucene_wildcards_escape_with_backslash() {
        let w = Wildcard::lucene(r"?:\\Program Files\\*", true);
        assert!(w.matches(r"C:\Program Files\x.dll"));
        assert!(w.matches(r"c:\program files\x.dll"));
        assert!(!w.matches(r"C:\Windows\x.dll"));
        assert!(Wildcard::lucene(r"a\*b", false).matches("a*b"));
        assert!(!Wildcard::lucene(r"a\*b", false).matches("axb"));
    }
}
