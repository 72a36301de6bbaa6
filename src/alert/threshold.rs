//! Threshold alerts: one per qualifying group, built (as Kibana builds
//! them) from a synthetic source holding only the group's values, flat,
//! and the group's `@timestamp` (its latest event's time).
//!
//! Ids: the ancestor id is Kibana's threshold hit uuid (a v5 uuid of the
//! rule id, the execution time and the group's fields and values); the
//! alert's `kibana.alert.uuid` is Kibana's own when the rule's saved-object
//! id is known, else ruleq's digest of the same parts.

use super::{ancestor, digest, Context};
use crate::compile::date::format_iso;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// One qualifying group, as its alert shows it.
#[derive(Debug, Clone)]
pub struct Group {
    /// The group's (field, value) pairs, in the rule's field order (empty
    /// without group fields).
    pub terms: Vec<(String, Value)>,
    /// Its events.
    pub count: u64,
    /// Distinct values of the cardinality field, when the rule sets one:
    /// (field, count).
    pub cardinality: Option<(String, u64)>,
    /// Its earliest event time, in nanoseconds.
    pub first: i64,
    /// Its latest event time, in nanoseconds.
    pub last: i64,
}

/// Kibana's namespace of threshold hit uuids.
const NAMESPACE: [u8; 16] = [
    0x06, 0x84, 0xec, 0x03, 0x72, 0x01, 0x4e, 0xe0, 0x8e, 0xe0, 0x3a, 0x3f, 0x6b, 0x24, 0x79, 0xb2,
];

/// A value's text as JavaScript's `String(v)` gives it for the values a
/// composite key holds.
pub fn js_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e21 => format!("{}", f as i128),
            _ => n.to_string(),
        },
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

/// Kibana's threshold hit uuid (`calculateThresholdSignalUuid`): a v5
/// uuid of `rule_id + startedAt + fields.join(",") + values.sort().join(",")`
/// (JavaScript's default sort: by UTF-16 code units).
pub fn threshold_uuid(rule_id: &str, started: &str, fields: &[&str], values: &[String]) -> String {
    let mut values: Vec<&String> = values.iter().collect();
    values.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
    let values: Vec<&str> = values.iter().map(|s| s.as_str()).collect();
    let name = format!("{rule_id}{started}{}{}", fields.join(","), values.join(","));
    uuid_v5(&NAMESPACE, name.as_bytes())
}

/// An RFC 4122 version 5 uuid.
fn uuid_v5(namespace: &[u8; 16], name: &[u8]) -> String {
    let mut data = namespace.to_vec();
    data.extend_from_slice(name);
    let hash = sha1(&data);
    let mut b = [0u8; 16];
    b.copy_from_slice(&hash[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    super::uuid_text(&hex)
}

/// SHA-1: for v5 uuids, and for npm object-hash ids (new_terms alerts).
pub(crate) fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let mut msg = data.to_vec();
    let bits = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bits.to_be_bytes());
    for chunk in msg.chunks(64) {
        let mut w = [0u32; 80];
        for (i, word) in chunk.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, x) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

/// Kibana's id of an alert on a hit (`generateId`; a threshold rule's
/// synthetic hit, an indicator match rule's event): the hex
/// SHA-256 of index, id, `"undefined"` (the version, never requested) and
/// `space:saved_object_id`, concatenated.
pub fn kibana_alert_id(index: &str, id: &str, space: &str, saved_object: &str) -> String {
    let mut h = Sha256::new();
    h.update(format!("{index}{id}undefined{space}:{saved_object}").as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl Context<'_> {
    /// The alert of one qualifying group of a threshold rule, for the
    /// execution this context is of. `saved_object` is the rule's
    /// saved-object id when known (then the alert id is Kibana's).
    pub fn threshold_alert(&self, group: &Group, saved_object: Option<&str>) -> super::Alert {
        let rule = self.rule;
        let fields: Vec<&str> = group.terms.iter().map(|(f, _)| f.as_str()).collect();
        let values: Vec<String> = group.terms.iter().map(|(_, v)| js_text(v)).collect();
        let hit_id = threshold_uuid(self.rule_id(), &self.now, &fields, &values);
        let index = rule
            .index
            .iter()
            .map(|s| s.value.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let uuid = match saved_object {
            Some(so) => kibana_alert_id(&index, &hit_id, "default", so),
            None => digest(&["threshold", self.rule_id(), &hit_id]),
        };
        let last = format_iso(group.last, false);
        let mut source = Map::new();
        source.insert("@timestamp".into(), last.clone().into());
        for (f, v) in &group.terms {
            source.insert(f.clone(), v.clone());
        }
        let overrides = self.overrides(&source);
        let mut alert = self.base(source, Some(last));
        let mut result = Map::new();
        let terms: Vec<Value> = group
            .terms
            .iter()
            .map(|(f, v)| {
                let mut t = Map::new();
                t.insert("field".into(), f.as_str().into());
                t.insert("value".into(), v.clone());
                Value::Object(t)
            })
            .collect();
        result.insert("terms".into(), terms.into());
        if let Some((field, n)) = &group.cardinality {
            let mut c = Map::new();
            c.insert("field".into(), field.as_str().into());
            c.insert("value".into(), (*n).into());
            result.insert("cardinality".into(), vec![Value::Object(c)].into());
        }
        result.insert("count".into(), group.count.into());
        result.insert("from".into(), format_iso(group.first, false).into());
        alert.insert(
            "kibana.alert.threshold_result".into(),
            Value::Object(result),
        );
        alert.insert("kibana.alert.uuid".into(), uuid.into());
        alert.insert("kibana.alert.depth".into(), 1.into());
        alert.insert(
            "kibana.alert.ancestors".into(),
            vec![ancestor(&hit_id, Some(&index))].into(),
        );
        overrides.write(&mut alert);
        self.finish(&alert)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kibana_threshold_uuid_vectors() {
        assert_eq!(
            threshold_uuid("abcd", "2020-12-17T16:27:00.000Z", &["agent.name"], &[]),
            "a4832768-a379-583a-b1a2-e2ce2ad9e6e9"
        );
        assert_eq!(
            threshold_uuid(
                "abcd",
                "2019-11-18T13:32:00.000Z",
                &["host.ip"],
                &["1.2.3.4".into()]
            ),
            "ee8870dc-45ff-5e6c-a2f9-80886651ce03"
        );
    }

    #[test]
    fn kibana_generate_id_vector() {
        assert_eq!(
            kibana_alert_id(
                "logs-a",
                "ev1",
                "default",
                "11111111-1111-1111-1111-111111111111"
            ),
            "3d3988719b8b38bfe75a39fc971e6bd77d9cb20fcef5e781f7f9a62ea0923ea6"
        );
    }

    #[test]
    fn sha1_known() {
        let hex: String = sha1(b"abc").iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
    }
}
