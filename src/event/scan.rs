//! The fast projection: a hand-written JSON scanner that fills a
//! [`Record`] exactly as the serde projection ([`super::project`]) does,
//! in one pass over the bytes.
//!
//! Everything it skips it still validates: it accepts only what serde_json
//! accepts (RFC 8259 syntax; the caller has checked the UTF-8), and gives
//! up at anything else, deep nesting included. The caller then runs the
//! serde projection, which either reads what the scanner was too strict
//! for or reports serde_json's error, so results and messages are serde's.
//!
//! Layer: a reader. It imports the record types, the field table and the
//! string helpers of [`super::text`]; not the serde projection (the
//! projector above both runs one after the other).

use super::fields::{prefix_of, FieldTable, NodeId};
use super::record::{Elem, Number, Raw, Record};
use super::text::{raw_string, unescape, MAX_EVENT_DEPTH};

/// The scanner gave up: run the serde projection instead.
#[derive(Debug)]
pub(crate) struct GiveUp;

type Scan<T = ()> = Result<T, GiveUp>;

/// Nesting the scanner follows: an event's limit. Deeper documents go to
/// serde, which reports them.
const MAX_DEPTH: u32 = MAX_EVENT_DEPTH;

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

/// [`Scanner::scan_string`] flags: the string had a backslash escape.
const ESCAPED: u8 = 1;
/// [`Scanner::scan_string`] flags: the string (a key) had a dot.
const DOTTED: u8 = 2;

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of every byte of `x` that is zero (exact for the lowest
/// such byte; borrows may flag bytes above it).
#[inline(always)]
fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(ONES) & !x & HIGH
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
    /// The next byte that is not whitespace (skipping to it; every place
    /// the scanner peeks at allows whitespace before it).
    #[inline(always)]
    fn peek(&mut self) -> Scan<u8> {
        // Compact events have no whitespace: one comparison rules it out.
        match self.b.get(self.pos) {
            Some(&c) if c > b' ' => Ok(c),
            _ => {
                self.ws();
                self.b.get(self.pos).copied().ok_or(GiveUp)
            }
        }
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.b.get(self.pos) {
            self.pos += 1;
        }
    }

    #[inline(always)]
    fn expect(&mut self, c: u8) -> Scan {
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

    /// After an object's `{` (depth entered): whether it is empty (then
    /// its `}` is consumed and the depth left).
    #[inline(always)]
    fn empty(&mut self, close: u8) -> Scan<bool> {
        if self.peek()? == close {
            self.pos += 1;
            self.depth -= 1;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// After an item of a container: `,` (true: another item follows) or
    /// `close` (false: consumed, depth left).
    #[inline(always)]
    fn next_item(&mut self, close: u8) -> Scan<bool> {
        match self.peek()? {
            b',' => {
                self.pos += 1;
                Ok(true)
            }
            c if c == close => {
                self.pos += 1;
                self.depth -= 1;
                Ok(false)
            }
            _ => Err(GiveUp),
        }
    }

    /// A member's key (at its opening quote) up to and past the `:`: its
    /// text bounds and [`Scanner::scan_string`] flags.
    #[inline(always)]
    fn member_key(&mut self) -> Scan<(usize, usize, u8)> {
        if self.peek()? != b'"' {
            return Err(GiveUp);
        }
        let start = self.pos + 1;
        let flags = self.scan_string::<true>()?;
        let end = self.pos - 1;
        self.expect(b':')?;
        Ok((start, end, flags))
    }

    /// The key between `start` and `end` as a string, unescaped.
    fn key_text(&self, start: usize, end: usize, flags: u8) -> Key<'a> {
        let inner = &self.text[start..end];
        if flags & ESCAPED != 0 {
            let mut s = String::new();
            unescape(inner, &mut s);
            Key::Owned(s)
        } else {
            Key::Borrowed(inner)
        }
    }

    /// Where the key between `start` and `end` leads from `node`.
    #[inline(always)]
    fn child(&self, node: NodeId, start: usize, end: usize, flags: u8) -> Option<NodeId> {
        if flags == 0 {
            // One plain segment: look it up by its first eight bytes,
            // read straight from the event.
            let len = end - start;
            let prefix = match self.b.get(start..start + 8) {
                Some(w) => {
                    let mut word = [0u8; 8];
                    word.copy_from_slice(w);
                    let word = u64::from_le_bytes(word);
                    if len >= 8 {
                        word
                    } else {
                        word & ((1u64 << (8 * len)) - 1)
                    }
                }
                None => prefix_of(&self.b[start..end]),
            };
            self.table.child(node, &self.b[start..end], prefix)
        } else {
            self.table
                .walk(node, self.key_text(start, end, flags).as_str())
        }
    }

    /// The top level: a plain event, or a search hit. Returns where a
    /// `_source` object starts, when there is one.
    fn top(&mut self) -> Scan<Option<usize>> {
        let root = self.table.root();
        let mut source = None;
        self.expect(b'{')?;
        self.enter()?;
        if self.empty(b'}')? {
            return Ok(None);
        }
        loop {
            let (start, end, flags) = self.member_key()?;
            if flags & ESCAPED == 0 && self.b[start] != b'_' {
                match self.child(root, start, end, flags) {
                    Some(node) => self.value(node, false)?,
                    None => self.skip_value()?,
                }
            } else {
                self.top_special(start, end, flags, &mut source)?;
            }
            if !self.next_item(b'}')? {
                break;
            }
        }
        Ok(source)
    }

    /// A top-level member whose key may be `_source`, `_index` or `_id`.
    fn top_special(
        &mut self,
        kstart: usize,
        kend: usize,
        flags: u8,
        source: &mut Option<usize>,
    ) -> Scan {
        let key = self.key_text(kstart, kend, flags);
        let key = key.as_str();
        let node = self.table.walk(self.table.root(), key);
        if !matches!(key, "_source" | "_index" | "_id") {
            return match node {
                Some(node) => self.value(node, false),
                None => self.skip_value(),
            };
        }
        self.peek()?;
        let start = self.pos;
        self.skip_value()?;
        let text = &self.text[start..self.pos];
        match (key, self.b[start]) {
            ("_source", b'{') => {
                *source = Some(start);
                return Ok(());
            }
            ("_index", b'"') => self.rec.index = Some(raw_string(text, &mut self.rec.scratch)),
            ("_id", b'"') => self.rec.id = Some(raw_string(text, &mut self.rec.scratch)),
            _ => {}
        }
        if let Some(node) = node {
            let end = self.pos;
            self.pos = start;
            self.field(node, false)?;
            self.pos = end;
        }
        Ok(())
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
        self.expect(b'{')?;
        self.enter()?;
        if !self.empty(b'}')? {
            loop {
                let (start, end, flags) = self.member_key()?;
                match self.child(node, start, end, flags) {
                    Some(child) => self.value(child, false)?,
                    None => self.skip_value()?,
                }
                if !self.next_item(b'}')? {
                    break;
                }
            }
        }
        self.elem = outer;
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
        if !self.empty(b']')? {
            loop {
                each(self)?;
                if !self.next_item(b']')? {
                    break;
                }
            }
        }
        Ok(())
    }

    /// A field's value: scalars recorded, arrays give each element,
    /// objects may hold deeper fields.
    fn field(&mut self, node: NodeId, in_array: bool) -> Scan {
        let c = self.peek()?;
        let start = self.pos;
        match c {
            b'[' => self.elements(|s| s.field(node, true)),
            b'{' => {
                if self.table.has_children(node) {
                    self.object(node, in_array)
                } else {
                    self.skip_value()
                }
            }
            b'"' => {
                let raw = if self.scan_string::<false>()? & ESCAPED == 0 {
                    Raw::Str(&self.text[start + 1..self.pos - 1])
                } else {
                    raw_string(&self.text[start..self.pos], &mut self.rec.scratch)
                };
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

    #[inline(always)]
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
            b'"' => self.scan_string::<false>().map(|_| ()),
            b'{' | b'[' => self.skip_nested(),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.skip_number(),
        }
    }

    /// Skips an object or array (at its opening bracket), validating it,
    /// in one loop: the open containers are a stack of bits (1: object),
    /// so no call is made per level.
    fn skip_nested(&mut self) -> Scan {
        // How many more levels may open (`MAX_DEPTH` counts them all).
        let room = MAX_DEPTH - self.depth;
        let mut stack: u128 = 0;
        let mut depth = 0u32;
        loop {
            // At a value (whitespace skipped).
            match self.peek()? {
                c @ (b'{' | b'[') => {
                    depth += 1;
                    if depth > room {
                        return Err(GiveUp);
                    }
                    let object = c == b'{';
                    stack = (stack << 1) | u128::from(object);
                    self.pos += 1;
                    if self.peek()? == c + 2 {
                        // `{}` or `[]` (`}` and `]` are two after their
                        // openers in ASCII).
                        self.pos += 1;
                        depth -= 1;
                        stack >>= 1;
                    } else {
                        if object {
                            self.skip_key()?;
                        }
                        continue;
                    }
                }
                b'"' => {
                    self.scan_string::<false>()?;
                }
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                _ => self.skip_number()?,
            }
            // After a value: close containers until one goes on.
            loop {
                if depth == 0 {
                    return Ok(());
                }
                let object = stack & 1 == 1;
                match self.peek()? {
                    b',' => {
                        self.pos += 1;
                        if object {
                            self.skip_key()?;
                        }
                        break;
                    }
                    b'}' if object => {}
                    b']' if !object => {}
                    _ => return Err(GiveUp),
                }
                self.pos += 1;
                depth -= 1;
                stack >>= 1;
            }
        }
    }

    /// Skips a member's key and its `:` (at the key's quote).
    #[inline(always)]
    fn skip_key(&mut self) -> Scan {
        if self.peek()? != b'"' {
            return Err(GiveUp);
        }
        self.scan_string::<false>()?;
        self.expect(b':')?;
        Ok(())
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
    /// rejecting control characters; returns [`ESCAPED`] when it had
    /// escapes and, for a key (`KEY`), [`DOTTED`] when it had a dot.
    #[inline(always)]
    fn scan_string<const KEY: bool>(&mut self) -> Scan<u8> {
        let b = self.b;
        let mut i = self.pos + 1;
        let mut flags = 0;
        loop {
            // Sixteen bytes at a time (then, near the end, eight) while none
            // is a quote, a backslash, a control character (or, in a key, a
            // dot).
            let mut plain = true;
            while let Some(w) = b.get(i..).and_then(<[u8]>::first_chunk::<16>) {
                let found = special16::<KEY>(w);
                i += found as usize;
                if found < 16 {
                    plain = false;
                    break;
                }
            }
            while let Some(w) = b.get(i..i + 8).filter(|_| plain) {
                let mut word = [0u8; 8];
                word.copy_from_slice(w);
                let x = u64::from_le_bytes(word);
                let found = special8::<KEY>(x);
                if found != 0 {
                    // The lowest flagged byte is exact (borrows only
                    // disturb the bytes above it).
                    i += (found.trailing_zeros() / 8) as usize;
                    break;
                }
                i += 8;
            }
            let c = *b.get(i).ok_or(GiveUp)?;
            match c {
                b'"' => {
                    self.pos = i + 1;
                    return Ok(flags);
                }
                b'\\' => {
                    flags |= ESCAPED;
                    i = escape(b, i)?;
                }
                b'.' if KEY => {
                    flags |= DOTTED;
                    i += 1;
                }
                0..=0x1f => return Err(GiveUp),
                _ => i += 1,
            }
        }
    }
}

/// Where the first byte of `w` that may end a plain run of a string is: a
/// quote, a backslash, a control character or, for a key (`KEY`), a dot;
/// 16 when there is none. One SSE2 comparison per kind of byte.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
fn special16<const KEY: bool>(w: &[u8; 16]) -> u32 {
    use std::arch::x86_64::*;
    // SAFETY: the build enables SSE2 (the `cfg` above: every x86-64 target
    // does), and the unaligned load reads exactly the 16 bytes of `w`.
    let mask = unsafe {
        let x = _mm_loadu_si128(w.as_ptr().cast());
        let quote = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'"' as i8));
        let slash = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'\\' as i8));
        // Unsigned `x <= 0x1f`: then max(x, 0x1f) is 0x1f.
        let low = _mm_set1_epi8(0x1f);
        let control = _mm_cmpeq_epi8(_mm_max_epu8(x, low), low);
        let mut m = _mm_or_si128(_mm_or_si128(quote, slash), control);
        if KEY {
            m = _mm_or_si128(m, _mm_cmpeq_epi8(x, _mm_set1_epi8(b'.' as i8)));
        }
        _mm_movemask_epi8(m) as u32
    };
    (mask | 0x1_0000).trailing_zeros()
}

/// The bytes of the little-endian word `x` that end a plain run of string
/// text (a quote, a backslash, a control character; in keys also a dot),
/// as set high bits: the lowest one is exact, higher ones may be false
/// (borrows disturb the bytes above a flagged one).
#[inline(always)]
fn special8<const KEY: bool>(x: u64) -> u64 {
    let mut found = zero_bytes(x ^ (ONES * u64::from(b'"')))
        | zero_bytes(x ^ (ONES * u64::from(b'\\')))
        | (x.wrapping_sub(ONES * 0x20) & !x & HIGH);
    if KEY {
        found |= zero_bytes(x ^ (ONES * u64::from(b'.')));
    }
    found
}

/// [`special16`] without SSE2: two words at a time.
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline(always)]
fn special16<const KEY: bool>(w: &[u8; 16]) -> u32 {
    for k in [0, 8] {
        let mut a = [0u8; 8];
        a.copy_from_slice(&w[k..k + 8]);
        let x = u64::from_le_bytes(a);
        let found = special8::<KEY>(x);
        if found != 0 {
            return k as u32 + found.trailing_zeros() / 8;
        }
    }
    16
}

/// Validates the escape at `b[i]` (a backslash); returns where the string
/// goes on after it.
fn escape(b: &[u8], i: usize) -> Scan<usize> {
    match b.get(i + 1) {
        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(i + 2),
        Some(b'u') => {
            let hex = b.get(i + 2..i + 6).ok_or(GiveUp)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return Err(GiveUp);
            }
            // serde_json refuses a lone surrogate where it reads strings:
            // leave those to it.
            let h = hex
                .iter()
                .fold(0u32, |a, d| a * 16 + (*d as char).to_digit(16).unwrap_or(0));
            if (0xD800..0xE000).contains(&h) {
                return Err(GiveUp);
            }
            Ok(i + 6)
        }
        _ => Err(GiveUp),
    }
}
