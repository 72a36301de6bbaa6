//! Reading JSON (a Kibana rule, or one line of a rule export) into [`Node`]
//! trees with spans.
//!
//! serde_json forgets where values were, and every diagnostic in a rule
//! export must point at its line and column, so this is a small
//! span-keeping reader of strict JSON (RFC 8259) with a nesting limit.

use super::value::{map_escapes, Entry, Node, OffsetMap, Value};
use crate::diag::Diagnostic;
use crate::syntax::{Span, MAX_DEPTH};

/// Parses one JSON value spanning `source[start..end]` (surrounding
/// whitespace allowed). Spans are offsets into `source`.
pub fn parse(source: &str, start: usize, end: usize) -> Result<Node, Diagnostic> {
    let mut p = Parser {
        src: source,
        bytes: source.as_bytes(),
        pos: start,
        end,
        depth: 0,
    };
    p.skip_ws();
    let node = p.value()?;
    p.skip_ws();
    if p.pos < p.end {
        return Err(p
            .error("unexpected text after the JSON value", 1)
            .with_help("a file of several rules, one a line, is an export: name it `.ndjson`"));
    }
    Ok(node)
}

struct Parser<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    end: usize,
    depth: usize,
}

impl Parser<'_> {
    fn error(&self, message: impl Into<String>, len: usize) -> Diagnostic {
        let end = (self.pos + len).min(self.end);
        let mut span = Span::new(self.pos, end);
        // Keep the caret on whole characters.
        while !self.src.is_char_boundary(span.end) {
            span.end += 1;
        }
        Diagnostic::error(
            "rule::syntax",
            format!("invalid JSON: {}", message.into()),
            span,
        )
    }

    fn peek(&self) -> Option<u8> {
        (self.pos < self.end).then(|| self.bytes[self.pos])
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn value(&mut self) -> Result<Node, Diagnostic> {
        let start = self.pos;
        let value = match self.peek() {
            None => return Err(self.error("expected a value, found the end of the input", 0)),
            Some(b'{') => self.object()?,
            Some(b'[') => self.array()?,
            Some(b'"') => Value::String(self.string()?),
            Some(b't') => self.word("true", Value::Bool(true))?,
            Some(b'f') => self.word("false", Value::Bool(false))?,
            Some(b'n') => self.word("null", Value::Null)?,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(_) => return Err(self.error("expected a value", 1)),
        };
        Ok(Node {
            span: Span::new(start, self.pos),
            value,
        })
    }

    fn enter(&mut self) -> Result<(), Diagnostic> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!("nested deeper than {MAX_DEPTH} levels"), 1));
        }
        Ok(())
    }

    fn object(&mut self) -> Result<Value, Diagnostic> {
        self.enter()?;
        self.pos += 1;
        let mut entries = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::Table(entries));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a quoted member name", 1));
            }
            let key_start = self.pos;
            let key = self.string()?;
            let key_span = Span::new(key_start, self.pos);
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.error("expected `:` after the member name", 1));
            }
            self.pos += 1;
            self.skip_ws();
            let value = self.value()?;
            entries.push(Entry {
                key,
                key_span,
                value,
            });
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.error("expected `,` or `}`", 1)),
            }
        }
        self.depth -= 1;
        Ok(Value::Table(entries))
    }

    fn array(&mut self) -> Result<Value, Diagnostic> {
        self.enter()?;
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value()?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.error("expected `,` or `]`", 1)),
            }
        }
        self.depth -= 1;
        Ok(Value::Array(items))
    }

    fn word(&mut self, word: &str, value: Value) -> Result<Value, Diagnostic> {
        if self.src[self.pos..self.end].starts_with(word) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.error("expected a value", 1))
        }
    }

    fn number(&mut self) -> Result<Value, Diagnostic> {
        let start = self.pos;
        let digits = |p: &mut Self| {
            let s = p.pos;
            while let Some(b'0'..=b'9') = p.peek() {
                p.pos += 1;
            }
            p.pos > s
        };
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        if !digits(self) {
            return Err(self.error("expected digits", 1));
        }
        if self.bytes[int_start] == b'0' && self.pos - int_start > 1 {
            self.pos = int_start;
            return Err(self.error("numbers cannot start with 0", 1));
        }
        let mut is_float = false;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            is_float = true;
            if !digits(self) {
                return Err(self.error("expected digits after `.`", 1));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            is_float = true;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !digits(self) {
                return Err(self.error("expected digits in the exponent", 1));
            }
        }
        let text = &self.src[start..self.pos];
        if !is_float {
            if let Ok(n) = text.parse() {
                return Ok(Value::Integer(n));
            }
        }
        Ok(Value::Float(text.parse().unwrap_or(f64::INFINITY)))
    }

    fn string(&mut self) -> Result<String, Diagnostic> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let run_start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(&self.src[run_start..self.pos]);
            match self.peek() {
                None => return Err(self.error("unterminated string", 0)),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => match decode_escape(&self.src[self.pos..self.end]) {
                    Some((text, len)) => {
                        out.push_str(&text);
                        self.pos += len;
                    }
                    None => {
                        return Err(self
                            .error("invalid escape", 2)
                            .with_help(r#"JSON escapes are \" \\ \/ \b \f \n \r \t and \uXXXX"#))
                    }
                },
                Some(_) => {
                    return Err(self
                        .error("control character in a string", 1)
                        .with_help(r"write a newline as \n and a tab as \t"))
                }
            }
        }
    }
}

/// Reads one JSON escape at the start of `s`: its text and its length.
fn decode_escape(s: &str) -> Option<(String, usize)> {
    let c = *s.as_bytes().get(1)?;
    let simple = match c {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let hi = u32::from_str_radix(s.get(2..6)?, 16).ok()?;
            if (0xD800..0xDC00).contains(&hi) {
                // A surrogate pair: the low half must follow as `\uXXXX`.
                if s.get(6..8)? != "\\u" {
                    return None;
                }
                let lo = u32::from_str_radix(s.get(8..12)?, 16).ok()?;
                if !(0xDC00..0xE000).contains(&lo) {
                    return None;
                }
                let code = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return Some((char::from_u32(code)?.to_string(), 12));
            }
            return Some((char::from_u32(hi)?.to_string(), 6));
        }
        _ => return None,
    };
    Some((simple.to_string(), 2))
}

/// The offset map of the JSON string literal at `span` (quotes included)
/// whose decoded text is `decoded`.
pub fn string_map(source: &str, span: Span, decoded: &str) -> OffsetMap {
    if span.end < span.start + 2 || !source[span.start..].starts_with('"') {
        return OffsetMap::from_anchors(vec![(0, span.start)], false);
    }
    map_escapes(source, span.start + 1, span.end - 1, decoded, decode_escape)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(s: &str) -> Result<Node, Diagnostic> {
        parse(s, 0, s.len())
    }

    #[test]
    fn objects_keep_key_and_value_spans() {
        let src = r#" {"a": [1, 2.5, true, null], "b": "x\"y"} "#;
        let node = parse_all(src).unwrap();
        let b = node.get("b").unwrap();
        assert_eq!(&src[b.key_span.start..b.key_span.end], "\"b\"");
        assert_eq!(b.value.value, Value::String("x\"y".into()));
        let map = string_map(src, b.value.span, "x\"y");
        assert!(map.exact);
        assert_eq!(&src[map.to_file(2)..map.to_file(2) + 1], "y");
    }

    #[test]
    fn surrogate_pairs_decode() {
        let node = parse_all(r#""\ud83d\ude00""#).unwrap();
        assert_eq!(node.value, Value::String("😀".into()));
    }

    #[test]
    fn errors_are_located() {
        let src = "{\"a\": 1,}";
        let err = parse_all(src).unwrap_err();
        assert_eq!(err.span.start, 8);
        let deep = "[".repeat(5000);
        assert!(parse_all(&deep).is_err());
        assert!(parse_all("{} {}").is_err());
        assert!(parse_all("01").is_err());
    }
}
