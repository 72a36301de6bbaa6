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
use super::project::unescape;
use super::record::{Elem, Number, Raw, Record, Slot};

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
        self.expect(b'{')?;
        let root = self.table.root();
        let mut source = None;
        self.ws();
        if self.peek()? == b'}' {
            self.pos += 1;
            return Ok(None);
        }
        loop {
            self.ws();
            let key = self.key()?;
            self.expect(b':')?;
            self.ws();
            let node = self.table.walk(root, key.as_str());
            let special = matches!(key.as_str(), "_source" | "_index" | "_id");
            if special {
                let start = self.pos;
                self.skip_value()?;
                let text = &self.text[start..self.pos];
                let first = self.b[start];
                match key.as_str() {
                    "_source" if first == b'{' => source = Some(start),
                    "_index" | "_id" if first == b'"' => {
                        let s = self.string(text);
                        if key.as_str() == "_index" {
                            self.rec.index = Some(s);
                        } else {
                            self.rec.id = Some(s);
                        }
                    }
                    _ => {}
                }
                let is_source = key.as_str() == "_source" && first == b'{';
                if let (Some(node), false) = (node, is_source) {
                    let end = self.pos;
                    self.pos = start;
                    self.field(node, false)?;
                    self.pos = end;
                }
            } else {
                match node {
                    Some(node) => self.value(node, false)?,
                    None => self.skip_value()?,
                }
            }
            self.ws();
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Ok(source);
                }
                _ => return Err(GiveUp),
            }
        }
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
        self.expect(b'{')?;
        self.enter()?;
        let outer = self.elem;
        if in_array {
            self.rec.elems.push(Elem {
                parent: outer,
                node,
            });
            self.elem = self.rec.elems.len() as u32;
        }
        self.ws();
        if self.peek()? == b'}' {
            self.pos += 1;
        } else {
            loop {
                self.ws();
                let key = self.key()?;
                let child = self.table.walk(node, key.as_str());
                self.expect(b':')?;
                self.ws();
                match child {
                    Some(child) => self.value(child, false)?,
                    None => self.skip_value()?,
                }
                self.ws();
                match self.peek()? {
                    b',' => self.pos += 1,
                    b'}' => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(GiveUp),
                }
            }
        }
        self.elem = outer;
        self.depth -= 1;
        Ok(())
    }

    /// An array on the way to deeper fields: each element at `node`.
    fn array(&mut self, node: NodeId) -> Scan {
        self.elements(|s| s.value(node, true))
    }

    /// The elements of an array, each read by `each`.
    fn elements(&mut self, mut each: impl FnMut(&mut Self) -> Scan) -> Scan {
        self.expect(b'[')?;
        self.enter()?;
        self.ws();
        if self.peek()? == b']' {
            self.pos += 1;
        } else {
            loop {
                self.ws();
                each(self)?;
                self.ws();
                match self.peek()? {
                    b',' => self.pos += 1,
                    b']' => {
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
                let raw = self.string(&self.text[start..self.pos]);
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
        if let Some(field) = self.table.field_at(node) {
            self.rec.slots.push(Slot {
                field,
                elem: self.elem,
                raw,
            });
        }
    }

    /// The string whose JSON text (quotes included) is `text`.
    fn string(&mut self, text: &'a str) -> Raw<'a> {
        let inner = &text[1..text.len() - 1];
        if inner.contains('\\') {
            let start = self.rec.scratch.len();
            unescape(inner, &mut self.rec.scratch);
            Raw::Scratch(start as u32, self.rec.scratch.len() as u32)
        } else {
            Raw::Str(inner)
        }
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
            b'{' => {
                self.pos += 1;
                self.enter()?;
                self.ws();
                if self.peek()? == b'}' {
                    self.pos += 1;
                } else {
                    loop {
                        self.ws();
                        if self.peek()? != b'"' {
                            return Err(GiveUp);
                        }
                        self.skip_string()?;
                        self.expect(b':')?;
                        self.ws();
                        self.skip_value()?;
                        self.ws();
                        match self.peek()? {
                            b',' => self.pos += 1,
                            b'}' => {
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
