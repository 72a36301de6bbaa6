//! Alert documents written from an event's own text.
//!
//! Reading a matching event into a `serde_json` map only to write most of
//! it back costs more than finding the match did. When an event's text is
//! already what `serde_json` would write for it ([`canonical`]: compact,
//! escaped and numbered as it writes, no repeated keys), its members are
//! copied into the alert as they are, and the document is byte for byte
//! the one the map would give. Other events take the map path.

use serde_json::Value;
use smallvec::SmallVec;
use std::borrow::Cow;

/// Nesting beyond which a text is not taken as canonical (the map path
/// then decides, with `serde_json`'s own limit).
const MAX_DEPTH: usize = 100;

/// Whether `text` is one JSON object exactly as `serde_json` writes the
/// value it reads from it: no whitespace between tokens, strings escaped
/// only where and as it escapes them, integers within 64 bits, floats in
/// its shortest form, and no key twice in any object. Equal values then
/// have equal texts, except objects inside arrays, whose key order the
/// value comparison ignores.
#[cfg(test)]
pub(super) fn canonical(text: &str) -> bool {
    indexed(text).is_some()
}

/// The members of `text` when it is [`canonical`], found while checking.
pub(super) fn indexed(text: &str) -> Option<Object<'_>> {
    let b = text.as_bytes();
    if b.first() != Some(&b'{') {
        return None;
    }
    let mut check = Check {
        text,
        b,
        i: 0,
        top: SmallVec::new(),
    };
    (check.value(0) && check.i == b.len()).then_some(Object { members: check.top })
}

/// A canonical-text check in progress.
struct Check<'a> {
    text: &'a str,
    b: &'a [u8],
    i: usize,
    /// The outermost object's members, as they are met.
    top: SmallVec<[(&'a str, &'a str); 32]>,
}

impl<'a> Check<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn value(&mut self, depth: usize) -> bool {
        match self.peek() {
            Some(b'{') => depth < MAX_DEPTH && self.object(depth + 1),
            Some(b'[') => depth < MAX_DEPTH && self.array(depth + 1),
            Some(b'"') => self.string().is_some(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => false,
        }
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            true
        } else {
            false
        }
    }

    fn object(&mut self, depth: usize) -> bool {
        self.i += 1;
        if self.peek() == Some(b'}') {
            self.i += 1;
            return true;
        }
        let mut keys: SmallVec<[&'a [u8]; 16]> = SmallVec::new();
        loop {
            if self.peek() != Some(b'"') {
                return false;
            }
            let key_start = self.i;
            let Some(key) = self.string() else {
                return false;
            };
            keys.push(key);
            if self.peek() != Some(b':') {
                return false;
            }
            self.i += 1;
            let value_start = self.i;
            if !self.value(depth) {
                return false;
            }
            if depth == 1 {
                let key = &self.text[key_start + 1..value_start - 2];
                self.top.push((key, &self.text[value_start..self.i]));
            }
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return distinct(&mut keys);
                }
                _ => return false,
            }
        }
    }

    fn array(&mut self, depth: usize) -> bool {
        self.i += 1;
        if self.peek() == Some(b']') {
            self.i += 1;
            return true;
        }
        loop {
            if !self.value(depth) {
                return false;
            }
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return true;
                }
                _ => return false,
            }
        }
    }

    /// A string whose escapes are the ones `serde_json` writes: its text
    /// with the quotes.
    fn string(&mut self) -> Option<&'a [u8]> {
        let start = self.i;
        self.i += 1;
        loop {
            let c = *self.b.get(self.i)?;
            match c {
                b'"' => {
                    self.i += 1;
                    return Some(&self.b[start..self.i]);
                }
                b'\\' => {
                    let len = escape_len(&self.b[self.i..])?;
                    self.i += len;
                }
                0..=0x1f => return None,
                _ => self.i += 1,
            }
        }
    }

    /// A number as `serde_json` writes what it reads from it.
    fn number(&mut self) -> bool {
        let start = self.i;
        while let Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        let token = &self.b[start..self.i];
        let (negative, digits) = match token.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, token),
        };
        if digits.iter().all(u8::is_ascii_digit) {
            // Integers: no leading zero, no negative zero (read as -0.0),
            // and within i64 or u64 (beyond, read as floats).
            let fits = if negative {
                digits.len() <= 18
            } else {
                digits.len() <= 19
            };
            return !digits.is_empty()
                && fits
                && (digits[0] != b'0' || (digits.len() == 1 && !negative));
        }
        // Floats: rare in events; what serde_json writes back decides.
        // Negative zero is not taken: it equals zero as a value.
        let Ok(text) = std::str::from_utf8(token) else {
            return false;
        };
        match serde_json::from_str::<Value>(text) {
            Ok(v @ Value::Number(_)) => {
                !(negative && v.as_f64() == Some(0.0))
                    && serde_json::to_string(&v).is_ok_and(|w| w == text)
            }
            _ => false,
        }
    }
}

/// The length of one escape as `serde_json` writes it (`\"`, `\\`, `\b`,
/// `\f`, `\n`, `\r`, `\t`, or `\u00xx` in lower case for the other control
/// characters), or `None`.
fn escape_len(at: &[u8]) -> Option<usize> {
    match at.get(1)? {
        b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => Some(2),
        b'u' => {
            let hex = at.get(2..6)?;
            let lower = |c: u8| matches!(c, b'0'..=b'9' | b'a'..=b'f');
            let ok = hex[0] == b'0'
                && hex[1] == b'0'
                && matches!(hex[2], b'0' | b'1')
                && lower(hex[3])
                && !matches!(&hex[2..4], b"08" | b"09" | b"0a" | b"0c" | b"0d");
            ok.then_some(6)
        }
        _ => None,
    }
}

/// Whether no key of an object is there twice.
fn distinct(keys: &mut [&[u8]]) -> bool {
    if keys.len() <= 16 {
        return keys.iter().enumerate().all(|(i, k)| !keys[..i].contains(k));
    }
    keys.sort_unstable();
    keys.windows(2).all(|w| w[0] != w[1])
}

/// The end of the value starting at `i` of a canonical text.
fn value_end(b: &[u8], mut i: usize) -> usize {
    match b[i] {
        b'"' => string_end(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            loop {
                match b[i] {
                    b'"' => {
                        i = string_end(b, i);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            while i < b.len() && !matches!(b[i], b',' | b'}' | b']') {
                i += 1;
            }
            i
        }
    }
}

/// The end of the string starting at `i` of a canonical text.
fn string_end(b: &[u8], mut i: usize) -> usize {
    i += 1;
    while let Some(k) = memchr::memchr2(b'"', b'\\', &b[i..]) {
        i += k;
        if b[i] == b'"' {
            return i + 1;
        }
        i += 2;
    }
    b.len()
}

/// The members of an object of a canonical text, as texts: each key
/// without its quotes (escaped as written) and its value.
pub(super) struct Members<'a> {
    text: &'a str,
    i: usize,
}

/// The members of `object`, a canonical object's text.
pub(super) fn members(object: &str) -> Members<'_> {
    Members { text: object, i: 1 }
}

impl<'a> Iterator for Members<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let b = self.text.as_bytes();
        if self.i >= b.len() || b[self.i] == b'}' {
            return None;
        }
        let key_end = string_end(b, self.i);
        let key = &self.text[self.i + 1..key_end - 1];
        let start = key_end + 1;
        let end = value_end(b, start);
        // Past the comma, or onto the closing brace.
        self.i = if b[end] == b',' { end + 1 } else { end };
        Some((key, &self.text[start..end]))
    }
}

/// Whether a key as written is `name`.
pub(super) fn key_is(key: &str, name: &str) -> bool {
    // An escape is longer than what it stands for.
    (key == name && !key.contains('\\'))
        || (key.len() > name.len()
            && key.contains('\\')
            && serde_json::from_str::<String>(&format!("\"{key}\"")).is_ok_and(|k| k == name))
}

/// A canonical object's members, indexed once for the lookups of an
/// alert's reason and overrides.
pub(super) struct Object<'a> {
    /// Its members: keys as written, and values.
    pub members: SmallVec<[(&'a str, &'a str); 32]>,
}

impl<'a> Object<'a> {
    /// The members of a canonical object's text.
    pub fn new(text: &'a str) -> Self {
        Object {
            members: members(text).collect(),
        }
    }

    /// The value of a key.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.members
            .iter()
            .find(|(k, _)| key_is(k, name))
            .map(|(_, v)| *v)
    }

    /// A field by dotted path, as [`super::lookup`] finds it: a flat
    /// dotted key, or through objects.
    pub fn lookup(&self, path: &str) -> Option<&'a str> {
        if let Some(v) = self.get(path) {
            return Some(v);
        }
        let mut parts = path.split('.');
        let mut cur = self.get(parts.next()?)?;
        for p in parts {
            if !cur.starts_with('{') {
                return None;
            }
            cur = members(cur).find(|(k, _)| key_is(k, p))?.1;
        }
        Some(cur)
    }

    /// [`Object::lookup`], read as a value.
    pub fn field(&self, path: &str) -> Option<Cow<'static, Value>> {
        let text = self.lookup(path)?;
        serde_json::from_str(text).ok().map(Cow::Owned)
    }
}

/// Writes `"key":` to `out`, a key as written.
pub(super) fn push_key(out: &mut String, key: &str) {
    out.push('"');
    out.push_str(key);
    out.push_str("\":");
}

/// Writes an alert's head from a canonical source: `{"@timestamp":` and
/// `timestamp` (JSON text), then the members Kibana keeps (not
/// `@timestamp`, `_id`, `_index`, nor `kibana`, `signal` and
/// `threshold_result`, dotted or not), its `event` object without a
/// non-null `kind` (left out when that empties it and `drop_empty_event`
/// is set). `None` (with `out` partly written) when the map path is to
/// decide: a dotted `event.*` or `data_stream.*` key, or an `event` or
/// `data_stream` that is not an object.
pub(super) fn push_head(
    out: &mut String,
    timestamp: &str,
    top: &Object,
    drop_empty_event: bool,
) -> Option<()> {
    out.push_str("{\"@timestamp\":");
    out.push_str(timestamp);
    for &(k, v) in &top.members {
        let first = k.split('.').next().unwrap_or(k);
        if matches!(k, "@timestamp" | "_id" | "_index")
            || matches!(first, "kibana" | "signal" | "threshold_result")
        {
            continue;
        }
        if matches!(first, "event" | "data_stream") && (k != first || !v.starts_with('{')) {
            return None;
        }
        let start = out.len();
        out.push(',');
        push_key(out, k);
        if k != "event" {
            out.push_str(v);
            continue;
        }
        out.push('{');
        let mut empty = true;
        for (ek, ev) in members(v) {
            if ek == "kind" && ev != "null" {
                continue;
            }
            if !empty {
                out.push(',');
            }
            empty = false;
            push_key(out, ek);
            out.push_str(ev);
        }
        out.push('}');
        if empty && drop_empty_event {
            out.truncate(start);
        }
    }
    Some(())
}

/// Writes `,"prefix.path":value` for every leaf of a canonical object,
/// as [`super::flatten`] names them; `false` (with `out` partly written)
/// when a key holds a dot, which could make two paths one.
pub(super) fn push_flat(out: &mut String, prefix: &str, object: &str) -> bool {
    for (k, v) in members(object) {
        if k.contains('.') {
            return false;
        }
        if v.starts_with('{') {
            let mut path = String::with_capacity(prefix.len() + 1 + k.len());
            path.push_str(prefix);
            path.push('.');
            path.push_str(k);
            if !push_flat(out, &path, v) {
                return false;
            }
        } else {
            out.push_str(",\"");
            out.push_str(prefix);
            out.push('.');
            out.push_str(k);
            out.push_str("\":");
            out.push_str(v);
        }
    }
    true
}

/// The part of two canonical objects they share, as [`super::intersect`]
/// finds it (equal leaves, and objects whose shared part is not empty),
/// written as `serde_json` writes it; `skip` leaves keys out. Empty when
/// nothing is shared.
pub(super) fn intersect(x: &str, y: &str, skip: &dyn Fn(&str) -> bool) -> String {
    let theirs = Object::new(y);
    let mut out = String::new();
    for (k, v) in members(x) {
        if skip(k) {
            continue;
        }
        let Some(w) = theirs.members.iter().find(|(l, _)| *l == k).map(|m| m.1) else {
            continue;
        };
        let common: Cow<str> = if v.starts_with('{') && w.starts_with('{') {
            let inner = intersect(v, w, &|_| false);
            if inner.is_empty() {
                continue;
            }
            Cow::Owned(inner)
        } else if same(v, w) {
            Cow::Borrowed(v)
        } else {
            continue;
        };
        out.push(if out.is_empty() { '{' } else { ',' });
        push_key(&mut out, k);
        out.push_str(&common);
    }
    if !out.is_empty() {
        out.push('}');
    }
    out
}

/// Whether two canonical values are equal values: equal texts, or arrays
/// holding objects whose keys come in other orders.
fn same(v: &str, w: &str) -> bool {
    if v == w {
        return true;
    }
    if v.starts_with('[') && w.starts_with('[') && v.contains('{') && w.contains('{') {
        let a: Option<Value> = serde_json::from_str(v).ok();
        let b: Option<Value> = serde_json::from_str(w).ok();
        return a.is_some() && a == b;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) -> bool {
        serde_json::from_str::<Value>(text)
            .ok()
            .and_then(|v| serde_json::to_string(&v).ok())
            .is_some_and(|w| w == text)
    }

    #[test]
    fn only_texts_serde_json_writes_back_unchanged_are_canonical() {
        let texts = [
            r#"{"a":1,"b":"x","c":[1,2,{"d":null}],"e":{"f":true,"g":false}}"#,
            r#"{"s":"tab\there \"q\" \\ \u001f é"}"#,
            r#"{"n":-5,"m":18446744073709551615,"f":1.5,"g":1e20,"h":0.1}"#,
            r#"{"e":{}, "a":1}"#,
            r#"{"a":1,"a":2}"#,
            r#"{"a":{"b":1,"b":1}}"#,
            r#"{"s":"\/"}"#,
            r#"{"s":"\u0041"}"#,
            r#"{"s":"\u000A"}"#,
            r#"{"s":"\u000a"}"#,
            r#"{"s":"\u007f"}"#,
            r#"{"n":1.50}"#,
            r#"{"n":1E5}"#,
            r#"{"n":-0}"#,
            r#"{"n":-0.0}"#,
            r#"{"n":123456789012345678901}"#,
            r#"{"n":100000000000000000000000.0}"#,
            r#"{"n":1.0}"#,
            r#"{"a":[1,2 ]}"#,
            r#"{"a":1} "#,
            r#"[1]"#,
        ];
        for text in texts {
            // Only objects: an event's source is one.
            let expected = round_trip(text) && !text.contains("-0") && text.starts_with('{');
            assert_eq!(canonical(text), expected, "{text}");
        }
    }

    #[test]
    fn members_and_lookups_read_canonical_text() {
        let text = r#"{"a":{"b":[1,{"c":"}"}],"d":"x\"y"},"a.b":2,"e":"\"}"}"#;
        assert!(canonical(text));
        let o = Object::new(text);
        let keys: Vec<&str> = o.members.iter().map(|m| m.0).collect();
        assert_eq!(keys, ["a", "a.b", "e"]);
        assert_eq!(o.lookup("a.b"), Some("2"));
        assert_eq!(o.lookup("a.d"), Some(r#""x\"y""#));
        assert_eq!(o.lookup("e"), Some(r#""\"}""#));
        assert_eq!(o.lookup("a.b.c"), None);
        // Keys are matched by what they stand for.
        let escaped = r#"{"t\tb":1,"q\"":2}"#;
        assert!(canonical(escaped));
        let o = Object::new(escaped);
        assert_eq!(o.get("t\tb"), Some("1"));
        assert_eq!(o.get("t\\tb"), None);
        assert_eq!(o.get("q\""), Some("2"));
        assert_eq!(o.get("t"), None);
    }

    #[test]
    fn shared_parts_match_the_value_intersection() {
        let x = r#"{"host":{"name":"h1","os":{"type":"linux"}},"p":{"pid":1},"l":[{"a":1,"b":2}]}"#;
        let y =
            r#"{"p":{"pid":2},"host":{"os":{"type":"windows"},"name":"h1"},"l":[{"b":2,"a":1}]}"#;
        let shared = intersect(x, y, &|_| false);
        assert_eq!(shared, r#"{"host":{"name":"h1"},"l":[{"a":1,"b":2}]}"#);
    }
}
