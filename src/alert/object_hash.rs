//! npm `object-hash` (3.0.0, default options), which Kibana names alerts
//! and alert-suppression instances by: new-terms alert ids, suppressed
//! alert ids and `kibana.alert.instance.id`.

use super::threshold::sha1;
use crate::compile::date::format_iso;
use serde_json::{Map, Value};

/// npm `object-hash` (3.0.0, default options: SHA-1, hex) of a JSON value:
/// the hex SHA-1 of the text its type hasher writes for the value, as UTF-8.
///
/// Only what JSON holds is covered: arrays, strings, numbers, booleans,
/// null and plain objects (as JavaScript objects made from a literal or
/// `JSON.parse`).
pub fn object_hash(v: &Value) -> String {
    hex(&object_hash_text(v))
}

/// The text `object-hash` feeds its hash for `v` (written to it as UTF-8).
pub(crate) fn object_hash_text(v: &Value) -> String {
    let mut w = Writer::default();
    w.value(v);
    w.out
}

/// A value Kibana hands `object-hash`: a JSON value, or a JavaScript `Date`
/// (a time in nanoseconds, which JavaScript holds to the millisecond).
#[derive(Debug, Clone, Copy)]
pub enum Hashed<'a> {
    /// A JSON value.
    Json(&'a Value),
    /// A `Date`, written as its `toJSON()` text (ISO 8601, milliseconds).
    Date(i64),
}

/// `object-hash` of a JavaScript array of `parts` (JSON values and dates).
pub fn object_hash_parts(parts: &[Hashed]) -> String {
    let mut w = Writer::default();
    w.enter();
    w.out.push_str(&format!("array:{}:", parts.len()));
    for part in parts {
        match part {
            Hashed::Json(v) => w.value(v),
            Hashed::Date(t) => w.date(*t),
        }
    }
    hex(&w.out)
}

/// The hex SHA-1 of a type hasher's text.
fn hex(text: &str) -> String {
    sha1(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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

    /// A `Date`: entered in the visit list as every object is, then
    /// `date:` and its `toJSON()` text.
    fn date(&mut self, t: i64) {
        self.enter();
        self.out.push_str("date:");
        self.out.push_str(&format_iso(t, false));
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

    /// The NT-1 rule.

    #[test]
    fn dates_are_entered_and_written_to_the_millisecond() {
        let t = crate::compile::date::parse_iso("2024-05-01T10:01:00.123456Z")
            .unwrap()
            .lo;
        let v = json!("x");
        let mut w = Writer::default();
        w.date(t);
        assert_eq!(w.out, "date:2024-05-01T10:01:00.123Z");
        assert_eq!(w.visited, 1);
        // An array of parts hashes as the same array of JSON values would,
        // dates aside.
        assert_eq!(
            object_hash_parts(&[Hashed::Json(&v)]),
            object_hash(&json!(["x"]))
        );
    }
}
