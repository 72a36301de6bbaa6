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

use super::threshold::sha1;
use serde_json::{Map, Value};

/// npm `object-hash` (3.0.0, default options: SHA-1, hex) of a JSON value:
/// the hex SHA-1 of [`object_hash_text`]'s serialization.
///
/// Only what JSON holds is covered: arrays, strings, numbers, booleans,
/// null and plain objects (as JavaScript objects made from a literal or
/// `JSON.parse`).
pub fn object_hash(v: &Value) -> String {
    sha1(object_hash_text(v).as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The text `object-hash` feeds its hash for `v` (written to it as UTF-8).
pub(crate) fn object_hash_text(v: &Value) -> String {
    let mut w = Writer::default();
    w.value(v);
    w.out
}

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

/// The serializer of `object-hash`'s type hasher.
///
/// `object-hash` keeps a list of the objects (arrays included) it has
/// entered, in order, and writes an object met again as
/// `[CIRCULAR:<its position>]`. A JSON tree never repeats an object, but
/// every plain object leads to two that do repeat: `Object.prototype` (its
/// `__proto__`) and the `Object` function (its `constructor`), whose
/// positions are kept here once they are entered.
#[derive(Default)]
struct Writer {
    out: String,
    /// How many objects the visit list holds.
    visited: usize,
    /// Where `Object.prototype` is in the visit list, once entered.
    prototype: Option<usize>,
    /// Where the `Object` function is in the visit list, once entered.
    function: Option<usize>,
}

impl Writer {
    /// Takes the next place in the visit list.
    fn enter(&mut self) -> usize {
        self.visited += 1;
        self.visited - 1
    }

    fn value(&mut self, v: &Value) {
        match v {
            Value::Null => self.out.push_str("Null"),
            Value::Bool(b) => {
                self.out.push_str("bool:");
                self.out.push_str(if *b { "true" } else { "false" });
            }
            Value::Number(n) => {
                self.out.push_str("number:");
                // A JavaScript number is a double: integers past 2^53 lose
                // their low digits as they do in JavaScript.
                let f = n.as_f64().unwrap_or(0.0);
                self.out.push_str(ryu_js::Buffer::new().format(f));
            }
            Value::String(s) => self.string(s),
            Value::Array(items) => {
                self.enter();
                self.out.push_str(&format!("array:{}:", items.len()));
                for item in items {
                    self.value(item);
                }
            }
            Value::Object(map) => self.object(map),
        }
    }

    /// `string:<length in UTF-16 code units>:<text>`.
    fn string(&mut self, s: &str) {
        let len = s.encode_utf16().count();
        self.out.push_str(&format!("string:{len}:"));
        self.out.push_str(s);
    }

    /// A reference to an object already entered.
    fn circular(&mut self, at: usize) {
        self.string(&format!("[CIRCULAR:{at}]"));
    }

    /// A plain object: its key count (its own keys and the three hidden
    /// ones), then `prototype`, `__proto__` and `constructor`, then its own
    /// keys in JavaScript's sort order (UTF-16 code units), each as
    /// `key:value,`. The hidden keys read own members of those names when
    /// there are some, as a JavaScript property read does.
    fn object(&mut self, map: &Map<String, Value>) {
        self.enter();
        let mut keys: Vec<&String> = map.keys().collect();
        keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
        self.out.push_str(&format!("object:{}:", keys.len() + 3));
        self.string("prototype");
        self.out.push(':');
        match map.get("prototype") {
            Some(v) => self.value(v),
            None => self.out.push_str("Undefined"),
        }
        self.out.push(',');
        self.string("__proto__");
        self.out.push(':');
        match map.get("__proto__") {
            Some(v) => self.value(v),
            None => self.object_prototype(),
        }
        self.out.push(',');
        self.string("constructor");
        self.out.push(':');
        match map.get("constructor") {
            Some(v) => self.value(v),
            None => self.object_function(),
        }
        self.out.push(',');
        for key in keys {
            self.string(key);
            self.out.push(':');
            self.value(&map[key.as_str()]);
            self.out.push(',');
        }
    }

    /// `Object.prototype`: an object without own keys whose `__proto__` is
    /// null and whose `constructor` is `Object`.
    fn object_prototype(&mut self) {
        if let Some(at) = self.prototype {
            return self.circular(at);
        }
        self.prototype = Some(self.enter());
        self.out.push_str("object:3:");
        self.string("prototype");
        self.out.push_str(":Undefined,");
        self.string("__proto__");
        self.out.push_str(":Null,");
        self.string("constructor");
        self.out.push(':');
        self.object_function();
        self.out.push(',');
    }

    /// The `Object` function: a native function named `Object`, then its
    /// properties as an object (none: a native function gets no hidden
    /// keys).
    fn object_function(&mut self) {
        self.out.push_str("fn:");
        self.string("[native]");
        self.string("function-name:Object");
        if let Some(at) = self.function {
            return self.circular(at);
        }
        self.function = Some(self.enter());
        self.out.push_str("object:0:");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The saved-object id of Kibana's unit tests (Appendix A3).
    const SO: &str = "04128c15-0d1b-4716-a4c5-46997ac7f3bd";

    /// The saved-object id of the design text's worked examples (its `SO`).
    const EXAMPLE_SO: &str = "11111111-1111-1111-1111-111111111111";

    /// The serialization example of the design text's Appendix A3.
    const EXAMPLE: &str = "array:3:array:2:object:5:string:9:prototype:Undefined,string:9:__proto__:object:3:string:9:prototype:Undefined,string:9:__proto__:Null,string:11:constructor:fn:string:8:[native]string:20:function-name:Objectobject:0:,,string:11:constructor:fn:string:8:[native]string:20:function-name:Objectstring:12:[CIRCULAR:4],string:5:field:string:9:host.name,string:5:value:string:6:host-1,object:5:string:9:prototype:Undefined,string:9:__proto__:string:12:[CIRCULAR:3],string:11:constructor:fn:string:8:[native]string:20:function-name:Objectstring:12:[CIRCULAR:4],string:5:field:string:7:user.id,string:5:value:number:2,string:3:abcstring:7:default";

    #[test]
    fn serialization_example() {
        let v = json!([
            [
                {"field": "host.name", "value": "host-1"},
                {"field": "user.id", "value": 2}
            ],
            "abc",
            "default"
        ]);
        assert_eq!(object_hash_text(&v), EXAMPLE);
        assert_eq!(object_hash(&v), "89a50ea19a73a06ceb2f1882de27be64ef6bb4c0");
    }

    #[test]
    fn appendix_vectors() {
        let terms = |v: Value| json!([v, "abc", "default"]);
        let cases = [
            (
                terms(json!([
                    {"field": "host.name", "value": "host-1"},
                    {"field": "user.id", "value": 2}
                ])),
                "89a50ea19a73a06ceb2f1882de27be64ef6bb4c0",
            ),
            (
                terms(json!([
                    {"field": "host.name", "value": "host-1"},
                    {"field": "user.id", "value": 3}
                ])),
                "b40340d217f64a6b97aaa1d3d3120d3b6a1a6955",
            ),
            (
                terms(json!([{"field": "host.name", "value": "host-1"}])),
                "657c4202086c305bb4406217099cd586e27417f7",
            ),
            (
                terms(json!([{"field": "host.name", "value": null}])),
                "879f4db2774775831acd1b1477109a3757540b8c",
            ),
            (
                json!([[{"field": "source.ip", "value": ["127.0.0.1"]}], SO, "default"]),
                "1bf77f90e72d76d9335ad0ce356340a3d9833f96",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(object_hash(&input), expected, "{input}");
        }
    }

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

    #[test]
    fn javascript_numbers_and_lengths() {
        let text = |v: Value| object_hash_text(&v);
        assert_eq!(text(json!(1)), "number:1");
        assert_eq!(text(json!(1.5)), "number:1.5");
        assert_eq!(text(json!(1e21)), "number:1e+21");
        assert_eq!(
            text(json!(123456789012345680000.0)),
            "number:123456789012345680000"
        );
        assert_eq!(text(json!(0.000001)), "number:0.000001");
        assert_eq!(text(json!(1e-7)), "number:1e-7");
        assert_eq!(text(json!(-0.0)), "number:0");
        assert_eq!(text(json!(-2)), "number:-2");
        // 2^53 + 1 is no JavaScript number: it reads as 2^53.
        assert_eq!(text(json!(9007199254740993u64)), "number:9007199254740992");
        assert_eq!(text(json!(true)), "bool:true");
        assert_eq!(text(json!(false)), "bool:false");
        assert_eq!(text(json!(null)), "Null");
        // UTF-16 code units: é is one, 😀 two; written as UTF-8.
        assert_eq!(text(json!("é😀")), "string:3:é😀");
        assert_eq!(text(json!([])), "array:0:");
    }

    #[test]
    fn object_keys_sort_and_later_objects_refer_back() {
        // Keys sort by UTF-16 code units; the second object refers to
        // Object.prototype and Object at their positions (after the outer
        // array and the first object: 2 and 3).
        let text = object_hash_text(&json!([{"b": 1, "a": 2}, {}]));
        let hidden_first = "string:9:prototype:Undefined,string:9:__proto__:object:3:string:9:prototype:Undefined,string:9:__proto__:Null,string:11:constructor:fn:string:8:[native]string:20:function-name:Objectobject:0:,,string:11:constructor:fn:string:8:[native]string:20:function-name:Objectstring:12:[CIRCULAR:3],";
        let hidden_later = "string:9:prototype:Undefined,string:9:__proto__:string:12:[CIRCULAR:2],string:11:constructor:fn:string:8:[native]string:20:function-name:Objectstring:12:[CIRCULAR:3],";
        assert_eq!(
            text,
            format!(
                "array:2:object:5:{hidden_first}string:1:a:number:2,string:1:b:number:1,object:3:{hidden_later}"
            )
        );
    }
}
