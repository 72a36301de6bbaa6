//! New-terms alerts, and the npm `object-hash` digest Kibana names them by.
//!
//! A new-terms alert is the event alert of the earliest event in the window
//! that holds a new value (or combination of values) of the rule's
//! `new_terms_fields`, plus `kibana.alert.new_terms`, those values in field
//! order. One event can give several alerts, one per new term, told apart by
//! their ids.
//!
//! Ids: with the rule's saved-object id known, `kibana.alert.uuid` is
//! Kibana's: `objectHash([index, _id, "undefined", "default:" + saved_object,
//! terms])` ([`kibana_new_terms_id`]). Without it, ruleq's own digest of the
//! rule id, the event's index and identity, and the terms.
//!
//! The event's index and `_id` are those of its alert's ancestor: the
//! event's `_index`, else the run's default index, else the empty string;
//! its `_id`, else its file's name and line (see
//! [`FileNames`](crate::event::FileNames)).

pub use super::object_hash::object_hash;
use super::{digest, event_alert, Alert, Context, Naming};
use crate::engine::Hit;
use serde_json::Value;

/// Kibana's id of a new-terms alert (`wrap_new_terms_alerts`):
/// `objectHash([index, id, "undefined", space + ":" + saved_object, terms])`.
/// The third part is the event's `_version`, which rule searches never
/// request.
pub fn kibana_new_terms_id(
    index: &str,
    id: &str,
    space: &str,
    saved_object: &str,
    terms: &[Value],
) -> String {
    object_hash(&Value::Array(vec![
        index.into(),
        id.into(),
        "undefined".into(),
        format!("{space}:{saved_object}").into(),
        Value::Array(terms.to_vec()),
    ]))
}

/// The `kibana.alert.ancestors` entry of an event alert's own fields: its
/// (id, index). The ancestors follow every source field in the text, so
/// the last occurrence of the key is theirs (a key inside a string value
/// has its quotes escaped).
pub(crate) fn ancestor_of(own: &str) -> Option<(String, String)> {
    const KEY: &str = "\"kibana.alert.ancestors\":";
    let at = own.rfind(KEY)? + KEY.len();
    let ancestors = serde_json::Deserializer::from_str(&own[at..])
        .into_iter::<Value>()
        .next()?
        .ok()?;
    let first = ancestors.get(0)?;
    let text = |key: &str| first.get(key).and_then(Value::as_str).map(str::to_string);
    Some((text("id")?, text("index").unwrap_or_default()))
}

impl Context<'_> {
    /// The alert of one new term of a new_terms rule: the event alert of
    /// `hit` (the term's earliest event in the window, named as `naming`
    /// names it), with `kibana.alert.new_terms` = `terms` (the term's
    /// values, in `new_terms_fields` order) and its own id.
    ///
    /// `saved_object` is the rule's saved-object id when known: the id is
    /// then Kibana's ([`kibana_new_terms_id`], space `default`), else
    /// ruleq's digest of the rule id, the event's index and identity and
    /// the terms. Either way one event gives distinct ids for distinct
    /// terms.
    pub fn new_terms_alert(
        &self,
        hit: &Hit,
        naming: &Naming,
        terms: &[Value],
        saved_object: Option<&str>,
    ) -> Alert {
        let event = event_alert(self, hit, naming);
        let (id, index) = ancestor_of(&event.own).unwrap_or_default();
        let terms_text = serde_json::to_string(terms).unwrap_or_else(|_| "[]".into());
        let uuid = match saved_object {
            Some(so) => kibana_new_terms_id(&index, &id, "default", so, terms),
            None => digest(&["new_terms", self.rule_id(), &index, &id, &terms_text]),
        };
        // The event alert's text, its id replaced and the terms added.
        let mut own = event.with_uuid(&uuid).own;
        if own.len() > 1 {
            own.push(',');
        }
        own.push_str("\"kibana.alert.new_terms\":");
        own.push_str(&terms_text);
        Alert { uuid, own }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{HitNames, Origin};
    use crate::event::{FileNames, Input};
    use serde_json::json;
    use serde_json::Map;
    use std::path::PathBuf;

    /// The saved-object id of Kibana's unit tests (Appendix A3).
    const SO: &str = "04128c15-0d1b-4716-a4c5-46997ac7f3bd";

    /// The saved-object id of the design text's worked examples (its `SO`).
    const EXAMPLE_SO: &str = "11111111-1111-1111-1111-111111111111";

    #[test]
    fn appendix_new_terms_vectors() {
        let index = "myFakeSignalIndex";
        let id = "d5e8eb51-a6a0-456d-8a15-4b79bfec3d71";
        let id_of = |space: &str, terms: Value| {
            object_hash(&json!([index, id, "1", format!("{space}:{SO}"), terms]))
        };
        assert_eq!(
            id_of("default", json!(["127.0.0.1"])),
            "a36d9fe6fe4b2f65058fb1a487733275f811af58"
        );
        assert_eq!(
            id_of("other-space", json!(["127.0.0.1"])),
            "b8143fa480c96c94688bd70871711fcf5478ee95"
        );
        assert_eq!(
            id_of("other-space", json!(["127.0.0.1", "127.0.0.2"])),
            "7d3dfa1c3f6d5dbf5e7a1b069a9707adbdb48948"
        );
    }

    #[test]
    fn worked_example_ids() {
        let id = |event: &str, terms: Value| {
            let terms = terms.as_array().unwrap().clone();
            kibana_new_terms_id("logs-a", event, "default", EXAMPLE_SO, &terms)
        };
        // NT-1 (the text writes the saved-object id as `SO`: the one of
        // its conventions, not the two letters).
        assert_eq!(
            id("e2", json!(["bob"])),
            "fdf38c41147aded22e428e1b615175e4180958fd"
        );
        assert_eq!(
            id("e4", json!(["carol"])),
            "de1b9c391809457272995570dcfe7b4bb4ab50b2"
        );
        assert_eq!(
            id("e4", json!(["dave"])),
            "dc4a416024c3b2ecf528dc26683839d0d30fb767"
        );
        // NT-2.
        assert_eq!(
            id("e7", json!(["h1", "bob"])),
            "89673353b74cc026adc35faa143fcddf8ccf2237"
        );
    }

    fn rule() -> crate::rule::Rule {
        let text = r#"[rule]
type = "new_terms"
rule_id = "nt-1"
name = "New user"
description = "A new user logs in."
index = ["logs-*"]
language = "kuery"
query = "event.category:authentication"
interval = "5m"
from = "now-6m"
severity = "high"
risk_score = 47
[rule.new_terms]
field = "new_terms_fields"
value = ["user.name"]
[[rule.new_terms.history_window_start]]
field = "history_window_start"
value = "now-7d"
"#;
        let file = crate::rule::files::load_bytes(
            "nt-1.toml".into(),
            crate::rule::Format::Toml,
            text.as_bytes().to_vec(),
        );
        file.rules.into_iter().next().expect("the rule loads")
    }

    /// A hit on `source`, with an `_id` and `_index` when given, from line
    /// `line` of the first file.
    fn hit(source: &str, id: Option<&str>, index: Option<&str>, line: u64) -> Hit {
        Hit {
            origin: Origin { file: 0, line },
            source: source.as_bytes().into(),
            timestamp: None,
            names: (id.is_some() || index.is_some()).then(|| {
                Box::new(HitNames {
                    id: id.map(Into::into),
                    index: index.map(Into::into),
                })
            }),
        }
    }

    fn document(ctx: &Context, alert: &Alert) -> Map<String, Value> {
        serde_json::from_str(&alert.document(ctx.fixed())).expect("a JSON document")
    }

    #[test]
    fn alert_is_the_event_alert_with_its_terms() {
        let rule = rule();
        let ctx = Context::new(&rule, "2024-05-01T10:05:00.000Z".into());
        let files = [PathBuf::from("events.ndjson")];
        let names = FileNames::new(&[Input::Path(files[0].clone())]);
        let naming = Naming::new(&files, &names, None);
        // A canonical source (written from its text) and one that is not
        // (read into a map): the same fields either way.
        for source in [
            r#"{"@timestamp":"2024-05-01T10:04:30Z","event":{"category":"authentication","kind":"event"},"user":{"name":["carol","dave"]}}"#,
            r#"{ "@timestamp": "2024-05-01T10:04:30Z", "event": {"category": "authentication"}, "user": {"name": ["carol", "dave"]}, "n": 1.50 }"#,
        ] {
            let h = hit(source, Some("e4"), Some("logs-a"), 5);
            let plain = document(&ctx, &event_alert(&ctx, &h, &naming));
            let carol = ctx.new_terms_alert(&h, &naming, &[json!("carol")], Some(EXAMPLE_SO));
            let dave = ctx.new_terms_alert(&h, &naming, &[json!("dave")], Some(EXAMPLE_SO));
            assert_eq!(carol.uuid, "de1b9c391809457272995570dcfe7b4bb4ab50b2");
            assert_eq!(dave.uuid, "dc4a416024c3b2ecf528dc26683839d0d30fb767");
            let doc = document(&ctx, &carol);
            assert_eq!(doc["kibana.alert.new_terms"], json!(["carol"]));
            assert_eq!(doc["kibana.alert.uuid"], json!(carol.uuid));
            assert_eq!(doc["kibana.alert.rule.type"], json!("new_terms"));
            assert_eq!(
                doc["kibana.alert.rule.rule_type_id"],
                json!("siem.newTermsRule")
            );
            assert_eq!(doc["kibana.alert.rule.category"], json!("New Terms Rule"));
            assert_eq!(
                doc["kibana.alert.ancestors"],
                json!([{"id": "e4", "type": "event", "index": "logs-a", "depth": 0}])
            );
            assert_eq!(
                doc["kibana.alert.original_time"],
                json!("2024-05-01T10:04:30.000Z")
            );
            // Every other field is the event alert's, in its order.
            let mut rest = doc.clone();
            rest.shift_remove("kibana.alert.new_terms");
            rest.insert(
                "kibana.alert.uuid".into(),
                plain["kibana.alert.uuid"].clone(),
            );
            assert_eq!(
                rest.iter().collect::<Vec<_>>(),
                plain.iter().collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn ids_without_a_saved_object_separate_rule_event_and_terms() {
        let rule = rule();
        let ctx = Context::new(&rule, "2024-05-01T10:05:00.000Z".into());
        let files = [PathBuf::from("events.ndjson")];
        let names = FileNames::new(&[Input::Path(files[0].clone())]);
        let naming = Naming::new(&files, &names, None);
        let source =
            r#"{"@timestamp":"2024-05-01T10:04:30Z","host":{"name":"h1"},"user":{"name":"bob"}}"#;
        let e7 = hit(source, Some("e7"), Some("logs-a"), 1);
        let e8 = hit(source, Some("e8"), Some("logs-a"), 2);
        let other_index = hit(source, Some("e7"), Some("logs-b"), 1);
        let unnamed = hit(source, None, None, 3);
        let terms = [json!("h1"), json!("bob")];
        let id = |h: &Hit, t: &[Value]| ctx.new_terms_alert(h, &naming, t, None).uuid;
        let base = id(&e7, &terms);
        assert_eq!(base.len(), 64);
        assert_eq!(base, id(&e7, &terms), "re-runs agree");
        assert_ne!(base, id(&e8, &terms));
        assert_ne!(base, id(&other_index, &terms));
        assert_ne!(base, id(&e7, &[json!("h1"), json!("alice")]));
        assert_ne!(base, id(&e7, &[json!("h1bob")]));
        assert_ne!(base, event_alert(&ctx, &e7, &naming).uuid);
        let mut other = rule.clone();
        other.rule_id.as_mut().expect("a rule id").value = "nt-2".into();
        let other_ctx = Context::new(&other, ctx.now.clone());
        assert_ne!(
            base,
            other_ctx.new_terms_alert(&e7, &naming, &terms, None).uuid
        );
        // An event without `_id` or index is named by its file and line,
        // in the empty index.
        let doc = document(
            &ctx,
            &ctx.new_terms_alert(&unnamed, &naming, &terms, Some("SO")),
        );
        assert_eq!(
            doc["kibana.alert.ancestors"][0]["id"],
            json!("events.ndjson:3")
        );
        assert_eq!(
            doc["kibana.alert.uuid"],
            json!(kibana_new_terms_id(
                "",
                "events.ndjson:3",
                "default",
                "SO",
                &terms
            ))
        );
        // The run's default index stands for a missing `_index`.
        let naming = Naming::new(&files, &names, Some("logs-x"));
        assert_eq!(
            ctx.new_terms_alert(&unnamed, &naming, &terms, Some("SO"))
                .uuid,
            kibana_new_terms_id("logs-x", "events.ndjson:3", "default", "SO", &terms)
        );
    }
}
