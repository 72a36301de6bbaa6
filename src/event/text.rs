//! Small scans over JSON text that only need to know what lies inside
//! strings: compaction, nesting depth, skipping a broken value; and the
//! string helpers both event readers share (unescaping a JSON string into a
//! record's value).
//!
//! Layer: below the readers. It imports only the record types
//! ([`super::record`]); the serde projection, the fast scanner, the
//! projector and the file reader import it.

use super::record::Raw;
use std::borrow::Cow;

/// Where a byte-by-byte scan of JSON text stands with respect to strings.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Strings {
    inside: bool,
    escaped: bool,
}

impl Strings {
    /// Takes the next byte; whether it lies outside every string (quotes
    /// belong to their string).
    pub(crate) fn outside(&mut self, b: u8) -> bool {
        if self.inside {
            if self.escaped {
                self.escaped = false;
            } else if b == b'\\' {
                self.escaped = true;
            } else if b == b'"' {
                self.inside = false;
            }
            false
        } else if b == b'"' {
            self.inside = true;
            false
        } else {
            true
        }
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// `text` (valid JSON) without its insignificant whitespace: one line, its
/// keys, numbers and strings exactly as written. Borrowed when there is
/// nothing to drop.
pub fn compact_json(text: &str) -> Cow<'_, str> {
    let mut strings = Strings::default();
    let mut out: Option<String> = None;
    let mut start = 0;
    for (i, &b) in text.as_bytes().iter().enumerate() {
        if strings.outside(b) && is_space(b) {
            let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
            out.push_str(&text[start..i]);
            start = i + 1;
        }
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut out) => {
            out.push_str(&text[start..]);
            Cow::Owned(out)
        }
    }
}

/// Where `bytes` (JSON text) first nest deeper than `limit` objects and
/// arrays, if they do; brackets inside strings do not count. Only the
/// nesting is checked, not the syntax.
pub(crate) fn too_deep(bytes: &[u8], limit: u32) -> Option<usize> {
    let mut strings = Strings::default();
    let mut depth = 0u32;
    for (i, &b) in bytes.iter().enumerate() {
        if !strings.outside(b) {
            continue;
        }
        match b {
            b'{' | b'[' => {
                depth += 1;
                if depth > limit {
                    return Some(i);
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// The deepest nesting of objects and arrays an event may have, the event
/// itself counting as the first level. Deeper events are malformed: every
/// path that reads an event (the fast scanner, the serde projection, alert
/// writing) handles this depth, and none has to recurse deeper.
pub const MAX_EVENT_DEPTH: u32 = 100;

/// The string whose JSON text (quotes included) is `text`: borrowed when
/// it has no escapes, else unescaped into `scratch`.
#[inline]
pub(crate) fn raw_string<'a>(text: &'a str, scratch: &mut String) -> Raw<'a> {
    let inner = &text[1..text.len() - 1];
    if inner.contains('\\') {
        let start = scratch.len();
        unescape(inner, scratch);
        Raw::Scratch(start as u32, scratch.len() as u32)
    } else {
        Raw::Str(inner)
    }
}

/// Appends the unescaped form of a JSON string body to `out`. serde_json has
/// validated the escapes; an unpaired surrogate (which it lets through when
/// it only scans) becomes U+FFFD rather than an error.
pub(crate) fn unescape(s: &str, out: &mut String) {
    let mut rest = s;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let esc = &rest[i + 1..];
        let mut chars = esc.chars();
        let Some(c) = chars.next() else {
            out.push('\\');
            return;
        };
        let mut used = c.len_utf8();
        match c {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'u' => {
                let (ch, n) = unicode_escape(esc);
                out.push(ch);
                used = n;
            }
            other => out.push(other),
        }
        rest = &esc[used..];
    }
    out.push_str(rest);
}

/// Decodes `uXXXX` (and a following `\uXXXX` low surrogate) at the start of
/// `esc`; returns the character and how many bytes of `esc` it used.
fn unicode_escape(esc: &str) -> (char, usize) {
    let hex = |s: &str| s.get(..4).and_then(|h| u32::from_str_radix(h, 16).ok());
    let Some(hi) = hex(&esc[1..]) else {
        return ('\u{fffd}', 1);
    };
    if (0xD800..0xDC00).contains(&hi) {
        if let Some(lo) = esc
            .get(5..)
            .filter(|r| r.starts_with("\\u"))
            .and_then(|r| hex(&r[2..]))
        {
            if (0xDC00..0xE000).contains(&lo) {
                let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return (char::from_u32(c).unwrap_or('\u{fffd}'), 11);
            }
        }
    }
    (char::from_u32(hi).unwrap_or('\u{fffd}'), 5)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unesc(s: &str) -> String {
        let mut out = String::new();
        unescape(s, &mut out);
        out
    }

    #[test]
    fn unescaping() {
        assert_eq!(unesc(r"C:\\Windows\\cmd.exe"), r"C:\Windows\cmd.exe");
        assert_eq!(unesc(r#"a\"b\/c\n\t"#), "a\"b/c\n\t");
        assert_eq!(unesc(r"\u00e9\ud83d\ude00!"), "é😀!");
        assert_eq!(unesc(r"\ud83d x"), "\u{fffd} x");
        assert_eq!(unesc(r"\ude00"), "\u{fffd}");
    }

    #[test]
    fn compaction_drops_only_whitespace_outside_strings() {
        let text = "{ \"a b\" :\n [1.50e3, \"x\\\" y\\\\\" ,\t-0.0 ],\r\n\"c\":{} }";
        assert_eq!(
            compact_json(text),
            "{\"a b\":[1.50e3,\"x\\\" y\\\\\",-0.0],\"c\":{}}"
        );
        assert!(matches!(compact_json("{\"a\":[1]}"), Cow::Borrowed(_)));
    }

    #[test]
    fn depth_counts_brackets_outside_strings() {
        assert_eq!(too_deep(br#"{"a":[[1]]}"#, 3), None);
        assert_eq!(too_deep(br#"{"a":[[[1]]]}"#, 3), Some(7));
        assert_eq!(too_deep(br#"{"a":"[[[[\"[[[["}"#, 1), None);
    }
}
