//! Suppressed alerts: an alert that stands for a group of events (or of
//! other alerts) sharing the values of the rule's
//! `alert_suppression.group_by` fields, and the ids Kibana gives them.
//!
//! Such an alert is the alert its type would write anyway (an event alert,
//! a threshold alert, a new-terms alert) plus five fields, in Kibana's
//! order: `kibana.alert.suppression.terms` (`[{field, value}]` in
//! `group_by` order), `.start` and `.end` (the group's earliest and latest
//! event time), `.docs_count` (the events or alerts folded into it besides
//! its own) and `kibana.alert.instance.id` (the group's identity). An
//! alert that a later execution folds more into changes its end, its
//! docs_count and its `kibana.alert.last_detected`, nothing else: a
//! [`Suppressed`] alert is therefore held apart from its rendered
//! document until it is final.
//!
//! Ids, with the rule's saved-object id known (Kibana's, space `default`):
//! - instance: `objectHash([terms, saved_object, "default"])`; for a
//!   threshold rule the terms are the group's values alone, sorted;
//! - a query rule's alert: `objectHash([index, _id, "undefined",
//!   "default:" + saved_object, terms, start, end])`, start and end as
//!   JavaScript dates;
//! - a threshold rule's alert: `objectHash([indices, hit uuid, "default:" +
//!   saved_object])`.
//!
//! Without it, ruleq's digests of the rule id and the same parts.

use super::object_hash::{object_hash, object_hash_parts, Hashed};
use super::{digest, json_text, Alert};
use crate::compile::date::format_iso;
use serde_json::{Map, Value};
use std::sync::Arc;

/// The space every offline alert is in.
const SPACE: &str = "default";

/// A group's `kibana.alert.suppression.terms`: `[{field, value}]`, in
/// `group_by` order.
pub fn terms_value(terms: &[(String, Value)]) -> Value {
    terms
        .iter()
        .map(|(f, v)| {
            let mut t = Map::new();
            t.insert("field".into(), f.as_str().into());
            t.insert("value".into(), v.clone());
            Value::Object(t)
        })
        .collect()
}

/// The `kibana.alert.instance.id` of a group of `rule_id`'s alerts whose
/// terms are `terms` (as [`terms_value`] gives them, or a threshold
/// group's sorted values).
pub fn instance_id(terms: &Value, rule_id: &str, saved_object: Option<&str>) -> String {
    match saved_object {
        Some(so) => object_hash(&Value::Array(vec![terms.clone(), so.into(), SPACE.into()])),
        None => digest(&["instance", rule_id, &terms.to_string()]),
    }
}

/// The id of a query rule's suppressed alert: its representative event
/// (index and `_id`), the group's terms and its first and last event times
/// (nanoseconds).
pub fn query_alert_id(
    (index, id): (&str, &str),
    terms: &Value,
    (start, end): (i64, i64),
    rule_id: &str,
    saved_object: Option<&str>,
) -> String {
    match saved_object {
        Some(so) => {
            let space = Value::from(format!("{SPACE}:{so}"));
            let (index, id, version) = (Value::from(index), Value::from(id), "undefined".into());
            object_hash_parts(&[
                Hashed::Json(&index),
                Hashed::Json(&id),
                Hashed::Json(&version),
                Hashed::Json(&space),
                Hashed::Json(terms),
                Hashed::Date(start),
                Hashed::Date(end),
            ])
        }
        None => digest(&[
            "suppressed",
            rule_id,
            index,
            id,
            &terms.to_string(),
            &format_iso(start, false),
            &format_iso(end, false),
        ]),
    }
}

/// The id of a threshold rule's alert when the rule suppresses: from the
/// rule's indices (joined by commas) and the group's hit uuid; `None`
/// without a saved-object id (the alert keeps the id it has).
pub fn threshold_alert_id(
    indices: &str,
    hit_id: &str,
    saved_object: Option<&str>,
) -> Option<String> {
    let so = saved_object?;
    Some(object_hash(&Value::Array(vec![
        indices.into(),
        hit_id.into(),
        format!("{SPACE}:{so}").into(),
    ])))
}

/// A suppressed alert, held until it is final: its document without the
/// suppression fields, and those fields.
#[derive(Debug, Clone)]
pub struct Suppressed {
    /// The alert as its type writes it (its own fields).
    pub alert: Alert,
    /// The fixed fields of the execution that created it.
    pub fixed: Arc<str>,
    /// Its original time (where it sorts in the output), in nanoseconds.
    pub time: Option<i64>,
    /// `kibana.alert.instance.id`.
    pub instance: String,
    /// `kibana.alert.suppression.terms`.
    pub terms: Value,
    /// The group's first event time, in nanoseconds.
    pub start: i64,
    /// The group's last event time, in nanoseconds.
    pub end: i64,
    /// Events or alerts folded into it besides its own.
    pub docs_count: u64,
    /// When a later execution last folded into it (nanoseconds), if one
    /// did.
    pub last_detected: Option<i64>,
}

impl Suppressed {
    /// The whole document, but for its closing brace (to be stored with an
    /// empty fixed part): its own fields, the suppression fields, then the
    /// fixed fields of its execution, `kibana.alert.last_detected` updated
    /// when a later execution folded into it.
    pub fn document(&self) -> Alert {
        let mut own = self.alert.own.clone();
        let mut put = |key: &str, value: &str| {
            if own.len() > 1 {
                own.push(',');
            }
            own.push_str(&json_text(key));
            own.push(':');
            own.push_str(value);
        };
        put(
            "kibana.alert.suppression.terms",
            &serde_json::to_string(&self.terms).unwrap_or_else(|_| "[]".into()),
        );
        put(
            "kibana.alert.suppression.start",
            &json_text(&format_iso(self.start, false)),
        );
        put(
            "kibana.alert.suppression.end",
            &json_text(&format_iso(self.end, false)),
        );
        put(
            "kibana.alert.suppression.docs_count",
            &self.docs_count.to_string(),
        );
        put("kibana.alert.instance.id", &json_text(&self.instance));
        let mut fixed = self.fixed.to_string();
        if let Some(t) = self.last_detected {
            fixed = last_detected(&fixed, &format_iso(t, false));
        }
        if !fixed.is_empty() {
            if own.len() > 1 {
                own.push(',');
            }
            own.push_str(&fixed);
        }
        Alert {
            uuid: self.alert.uuid.clone(),
            own,
        }
    }
}

/// `fixed` (an execution's fixed fields) with `kibana.alert.last_detected`
/// set to `time`.
fn last_detected(fixed: &str, time: &str) -> String {
    const KEY: &str = "\"kibana.alert.last_detected\":";
    let Some(at) = fixed.find(KEY).map(|at| at + KEY.len()) else {
        return fixed.to_string();
    };
    let rest = &fixed[at..];
    // The value is a date string: up to its closing quote.
    let end = rest
        .get(1..)
        .and_then(|r| r.find('"'))
        .map_or(rest.len(), |i| i + 2);
    format!("{}{}{}", &fixed[..at], json_text(time), &rest[end..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SO: &str = "11111111-1111-1111-1111-111111111111";

    fn t(text: &str) -> i64 {
        crate::compile::date::parse_iso(text).unwrap().lo
    }

    #[test]
    fn kibana_instance_ids() {
        // Kibana's own unit-test vectors (Appendix A3).
        let terms = json!([{"field": "host.name", "value": "host-1"}]);
        assert_eq!(
            instance_id(&terms, "r", Some("abc")),
            "657c4202086c305bb4406217099cd586e27417f7"
        );
        let null = json!([{"field": "host.name", "value": null}]);
        assert_eq!(
            instance_id(&null, "r", Some("abc")),
            "879f4db2774775831acd1b1477109a3757540b8c"
        );
        // Threshold: the values alone (the S-4 example).
        assert_eq!(
            instance_id(&json!(["h1"]), "r", Some(SO)),
            "f318d9c0986583cf5a40dbccda34d57c359295a2"
        );
        // Without a saved object: a digest that tells rules and terms apart.
        let a = instance_id(&terms, "r", None);
        assert_eq!(a.len(), 64);
        assert_ne!(a, instance_id(&terms, "s", None));
        assert_ne!(a, instance_id(&null, "r", None));
    }

    #[test]
    fn kibana_alert_ids() {
        let terms = json!([{"field": "host.name", "value": "h1"}]);
        let span = (t("2024-05-01T10:01:00Z"), t("2024-05-01T10:02:00Z"));
        assert_eq!(
            query_alert_id(("logs-a", "e1"), &terms, span, "r", Some(SO)),
            "8654836fc1186151ac202d5ed3797de1fc9f6e18"
        );
        let other = (span.0, t("2024-05-01T10:03:00Z"));
        assert_ne!(
            query_alert_id(("logs-a", "e1"), &terms, span, "r", None),
            query_alert_id(("logs-a", "e1"), &terms, other, "r", None)
        );
        assert_eq!(
            threshold_alert_id("logs-*", "463ed026-77d5-5845-aa31-e866f25b619c", Some(SO))
                .as_deref(),
            Some("da106522d1ea15b5064f5205e35d9094d1af8472")
        );
        assert_eq!(threshold_alert_id("logs-*", "x", None), None);
    }

    #[test]
    fn document_adds_the_fields_and_updates_last_detected() {
        let held = Suppressed {
            alert: Alert {
                uuid: "u".into(),
                own: r#"{"a":1,"kibana.alert.uuid":"u""#.into(),
            },
            fixed: r#""kibana.alert.start":"2024-05-01T10:05:00.000Z","kibana.alert.last_detected":"2024-05-01T10:05:00.000Z","z":2"#.into(),
            time: None,
            instance: "i".into(),
            terms: json!([{"field": "host.name", "value": ["h1"]}]),
            start: t("2024-05-01T10:01:00Z"),
            end: t("2024-05-01T10:02:00Z"),
            docs_count: 3,
            last_detected: Some(t("2024-05-01T10:10:00Z")),
        };
        let mut text = held.document().own;
        text.push('}');
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["kibana.alert.suppression.docs_count"], 3);
        assert_eq!(
            doc["kibana.alert.suppression.start"],
            "2024-05-01T10:01:00.000Z"
        );
        assert_eq!(
            doc["kibana.alert.suppression.end"],
            "2024-05-01T10:02:00.000Z"
        );
        assert_eq!(doc["kibana.alert.instance.id"], "i");
        assert_eq!(doc["kibana.alert.start"], "2024-05-01T10:05:00.000Z");
        assert_eq!(
            doc["kibana.alert.last_detected"],
            "2024-05-01T10:10:00.000Z"
        );
        assert_eq!(doc["z"], 2);
        assert_eq!(
            doc.as_object().unwrap().keys().collect::<Vec<_>>(),
            [
                "a",
                "kibana.alert.uuid",
                "kibana.alert.suppression.terms",
                "kibana.alert.suppression.start",
                "kibana.alert.suppression.end",
                "kibana.alert.suppression.docs_count",
                "kibana.alert.instance.id",
                "kibana.alert.start",
                "kibana.alert.last_detected",
                "z"
            ]
        );
    }
}
