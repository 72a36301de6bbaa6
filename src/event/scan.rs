//! The fast projection: a hand-written JSON scanner that fills a
//! [`Record`] exactly as the serde projection ([`super::project`]) does,
//! in one pass over the bytes.
//!
//! Everything it skips it still validates: it accepts only what serde_json
//! accepts (RFC 8259 syntax; the caller has checked the UTF-8), and gives
//! up at anything else, deep nesting included. The caller then runs the
//! serde projection, which either reads what the scanner was too strict
//! for or reports serde_json's error, so results and messages are serde's.

use super::fields::{FieldTable, NodeId};
use super::project::{raw_string, unescape};
use super::record::{Elem, Number, Raw, Record};

/// The scanner gave up: run the serde projection instead.
#[derive(Debug)]
pub(crate) struct GiveUp;

type Scan<T = ()> = Result<T, GiveUp>;

/// Nesting the scanner follows (serde_json allows 128); deeper documents
/// go to serde.
const MAX_DEPTH: u32 = 100;

/// Reads `text` (one event, valid UTF-8) into `rec`.
pub(crate) fn project<'a>(table: &FieldTable, text: &'a str, rec: &mut Record<'a>) -> Scan {
    let mut s = Scanner {
        text,
        b: text.as_bytes(),
        pos: 0,
        table,
        rec,
        elem: 0,
        depth: 0,
    };
    let source = s.top()?;
    s.ws();
    if s.pos != s.b.len() {
        return Err(GiveUp);
    }
    if let Some(start) = source {
        // A search hit: read the event from `_source`.
        s.rec.slots.clear();
        s.rec.elems.clear();
        s.rec.hit = true;
        s.pos = start;
        s.skip_value()?;
        s.rec.source = &s.b[start..s.pos];
        s.pos = start;
        s.object(table.root(), false)?;
    }
    Ok(())
}

enum Key<'a> {
    Borrowed(&'a str),
    Owned(String),
}

impl Key<'_> {
    fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(s) => s,
            Key::Owned(s) => s,
        }
    }
}

struct Scanner<'c, 'a> {
    text: &'a str,
    b: &'a [u8],
    pos: usize,
    table: &'c FieldTable,
    rec: &'c mut Record<'a>,
    /// The innermost array-of-objects element being read (0: none).
    elem: u32,
    depth: u32,
}

impl<'a> Scanner<'_, 'a> {
    fn peek(&self) -> Scan<u8> {
        self.b.get(self.pos).copied().ok_or(GiveUp)
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.b.get(self.pos) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, c: u8) -> Scan {
        self.ws();
        if self.peek()? == c {
            self.pos += 1;
            Ok(())
        } else {
            Err(GiveUp)
        }
    }

    fn enter(&mut self) -> Scan {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            Err(GiveUp)
        } else {
            Ok(())
        }
    }

    /// The top level: a plain event, or a search hit. Returns where a
    /// `_source` object starts, when there is one.
    fn top(&mut self) -> Scan<Option<usize>> {
        let root = self.table.root();
        let mut source = None;
        self.members(|s, key| {
            let key = key.as_str();
            let node = s.table.walk(root, key);
            if !matches!(key, "_source" | "_index" | "_id") {
                return match node {
                    Some(node) => s.value(node, false),
                    None => s.skip_value(),
                };
            }
            let start = s.pos;
            s.skip_value()?;
            let text = &s.text[start..s.pos];
            match (key, s.b[start]) {
                ("_source", b'{') => {
                    source = Some(start);
                    return Ok(());
                }
                ("_index", b'"') => s.rec.index = Some(raw_string(text, &mut s.rec.scratch)),
                ("_id", b'"') => s.rec.id = Some(raw_string(text, &mut s.rec.scratch)),
                _ => {}
            }
            if let Some(node) = node {
                let end = s.pos;
                s.pos = start;
                s.field(node, false)?;
                s.pos = end;
            }
            Ok(())
        })?;
        Ok(source)
    }

    /// A value at a trie node: a field's value is recorded; on the way to
    /// deeper fields, objects are descended and arrays walked.
    fn value(&mut self, node: NodeId, in_array: bool) -> Scan {
        if self.table.field_at(node).is_some() {
            return self.field(node, in_array);
        }
        match self.peek()? {
            b'{' => self.object(node, in_array),
            b'[' => self.array(node),
            _ => self.skip_value(),
        }
    }

    /// An object at `node`: its keys walked from there.
    fn object(&mut self, node: NodeId, in_array: bool) -> Scan {
        let outer = self.elem;
        if in_array {
            self.rec.elems.push(Elem {
                parent: outer,
                node,
            });
            self.elem = self.rec.elems.len() as u32;
        }
        self.members(|s, key| match s.table.walk(node, key.as_str()) {
            Some(child) => s.value(child, false),
            None => s.skip_value(),
        })?;
        self.elem = outer;
        Ok(())
    }

    /// The members of an object: `each` reads a value, given its key.
    fn members(&mut self, mut each: impl FnMut(&mut Self, Key<'a>) -> Scan) -> Scan {
        self.container(b'{', b'}', |s| {
            let key = s.key()?;
            s.expect(b':')?;
            s.ws();
            each(s, key)
        })
    }

    /// The items of an object or array between `open` and `close`,
    /// separated by commas, each read by `each`.
    fn container(&mut self, open: u8, close: u8, mut each: impl FnMut(&mut Self) -> Scan) -> Scan {
        self.expect(open)?;
        self.enter()?;
        self.ws();
        if self.peek()? == close {
            self.pos += 1;
        } else {
            loop {
                self.ws();
                each(self)?;
                self.ws();
                match self.peek()? {
                    b',' => self.pos += 1,
                    c if c == close => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(GiveUp),
                }
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// An array on the way to deeper fields: each element at `node`.
    fn array(&mut self, node: NodeId) -> Scan {
        self.elements(|s| s.value(node, true))
    }

    /// The elements of an array, each read by `each`.
    fn elements(&mut self, each: impl FnMut(&mut Self) -> Scan) -> Scan {
        self.container(b'[', b']', each)
    }

    /// A field's value: scalars recorded, arrays give each element,
    /// objects may hold deeper fields.
    fn field(&mut self, node: NodeId, in_array: bool) -> Scan {
        let start = self.pos;
        match self.peek()? {
            b'[' => self.elements(|s| s.field(node, true)),
            b'{' => {
                if self.table.has_children(node) {
                    self.object(node, in_array)
                } else {
                    self.skip_value()
                }
            }
            b'"' => {
                self.skip_string()?;
                let raw = raw_string(&self.text[start..self.pos], &mut self.rec.scratch);
                self.push(node, raw);
                Ok(())
            }
            b'n' => {
                self.literal(b"null")?;
                self.push(node, Raw::Null);
                Ok(())
            }
            b't' => {
                self.literal(b"true")?;
                self.push(node, Raw::Bool(true));
                Ok(())
            }
            b'f' => {
                self.literal(b"false")?;
                self.push(node, Raw::Bool(false));
                Ok(())
            }
            _ => {
                self.skip_number()?;
                let n = Number::parse(&self.text[start..self.pos]).ok_or(GiveUp)?;
                self.push(node, Raw::Number(n));
                Ok(())
            }
        }
    }

    fn push(&mut self, node: NodeId, raw: Raw<'a>) {
        self.rec.push_at(self.table, node, self.elem, raw);
    }

    /// A key: borrowed when it has no escapes.
    fn key(&mut self) -> Scan<Key<'a>> {
        if self.peek()? != b'"' {
            return Err(GiveUp);
        }
        let start = self.pos;
        let escaped = self.skip_string()?;
        let inner = &self.text[start + 1..self.pos - 1];
        Ok(if escaped {
            let mut s = String::new();
            unescape(inner, &mut s);
            Key::Owned(s)
        } else {
            Key::Borrowed(inner)
        })
    }

    fn literal(&mut self, word: &[u8]) -> Scan {
        if self.b[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(GiveUp)
        }
    }

    /// Skips any value, validating it.
    fn skip_value(&mut self) -> Scan {
        match self.peek()? {
            b'"' => self.skip_string().map(|_| ()),
            b'{' => self.members(|s, _| s.skip_value()),
            b'[' => self.elements(|s| s.skip_value()),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.skip_number(),
        }
    }

    /// Skips a number, validating its syntax.
    fn skip_number(&mut self) -> Scan {
        let b = self.b;
        let mut i = self.pos;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                while b.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
            }
            _ => return Err(GiveUp),
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            if !b.get(i).is_some_and(u8::is_ascii_digit) {
                return Err(GiveUp);
            }
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        if let Some(b'e' | b'E') = b.get(i) {
            i += 1;
            if let Some(b'+' | b'-') = b.get(i) {
                i += 1;
            }
            if !b.get(i).is_some_and(u8::is_ascii_digit) {
                return Err(GiveUp);
            }
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        self.pos = i;
        Ok(())
    }

    /// Skips a string (at its opening quote), validating escapes and
    /// rejecting control characters; returns whether it had escapes.
    fn skip_string(&mut self) -> Scan<bool> {
        let b = self.b;
        let mut i = self.pos + 1;
        let mut escaped = false;
        loop {
            // Eight bytes at a time while none is a quote, a backslash or
            // a control character.
            while i + 8 <= b.len() {
                let mut chunk = [0u8; 8];
                chunk.copy_from_slice(&b[i..i + 8]);
                let x = u64::from_le_bytes(chunk);
                const ONES: u64 = 0x0101_0101_0101_0101;
                const HIGH: u64 = 0x8080_8080_8080_8080;
                let quote = x ^ (ONES * b'"' as u64);
                let slash = x ^ (ONES * b'\\' as u64);
                let found = (quote.wrapping_sub(ONES) & !quote)
                    | (slash.wrapping_sub(ONES) & !slash)
                    | (x.wrapping_sub(ONES * 0x20) & !x);
                if found & HIGH != 0 {
                    // The lowest flagged byte is exact (borrows only
                    // disturb the bytes above it).
                    i += ((found & HIGH).trailing_zeros() / 8) as usize;
                    break;
                }
                i += 8;
            }
            let c = *b.get(i).ok_or(GiveUp)?;
            match c {
                b'"' => {
                    self.pos = i + 1;
                    return Ok(escaped);
                }
                b'\\' => {
                    escaped = true;
                    match b.get(i + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                        Some(b'u') => {
                            let hex = b.get(i + 2..i + 6).ok_or(GiveUp)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return Err(GiveUp);
                            }
                            // serde_json refuses a lone surrogate where it
                            // reads strings: leave those to it.
                            let h = hex
                                .iter()
                                .fold(0u32, |a, d| a * 16 + (*d as char).to_digit(16).unwrap_or(0));
                            if (0xD800..0xE000).contains(&h) {
                                return Err(GiveUp);
                            }
                            i += 6;
                        }
                        _ => return Err(GiveUp),
                    }
                }
                0..=0x1f => return Err(GiveUp),
                _ => i += 1,
            }
        }
    }
}
