//! Small scans over JSON text that only need to know what lies inside
//! strings: compaction, nesting depth, skipping a broken value.

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

#[cfg(test)]
mod tests {
    use super::*;

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
