//! A format-neutral document tree with byte spans.
//!
//! The TOML and JSON readers both produce [`Node`]s, so the rule loader is
//! written once. Every value and every key keeps the byte span it came from
//! in the file, and [`OffsetMap`] maps an offset inside a decoded string
//! (a query) back to the byte in the file, through escapes.

use crate::syntax::Span;

/// A value and where it stands in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The whole value as written (strings include their quotes; tables
    /// defined by a `[header]` span the header).
    pub span: Span,
    /// The value itself.
    pub value: Value,
}

/// A decoded value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string, escapes decoded.
    String(String),
    /// An integer.
    Integer(i64),
    /// A floating-point number.
    Float(f64),
    /// `true` or `false`.
    Bool(bool),
    /// A TOML date-time, as written.
    Datetime(String),
    /// JSON `null`.
    Null,
    /// An array.
    Array(Vec<Node>),
    /// A TOML table or JSON object, in source order.
    Table(Vec<Entry>),
}

/// One key of a table and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key, decoded.
    pub key: String,
    /// Where the key is written.
    pub key_span: Span,
    /// The value.
    pub value: Node,
}

impl Value {
    /// The name of the value's type, as a person reading the file calls it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::String(_) => "a string",
            Value::Integer(_) => "an integer",
            Value::Float(_) => "a number with a fraction",
            Value::Bool(_) => "a boolean",
            Value::Datetime(_) => "a date-time",
            Value::Null => "null",
            Value::Array(_) => "an array",
            Value::Table(_) => "a table",
        }
    }
}

impl Node {
    /// The entries, when this is a table.
    pub fn entries(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Table(entries) => Some(entries),
            _ => None,
        }
    }

    /// The entry named `key`, when this is a table that has it.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries()?.iter().find(|e| e.key == key)
    }

    /// The value as JSON (a TOML date-time becomes its text).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::String(s) | Value::Datetime(s) => J::String(s.clone()),
            Value::Integer(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Bool(b) => J::Bool(*b),
            Value::Null => J::Null,
            Value::Array(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Table(entries) => J::Object(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Maps byte offsets in a decoded string to byte offsets in the file.
///
/// Between escapes a decoded string and its source advance together, so the
/// map keeps one anchor per stretch: `(decoded offset, file offset)`. An
/// offset that falls inside an escape maps to the escape's first byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetMap {
    anchors: Vec<(usize, usize)>,
    /// Whether the map is exact. When re-reading the literal did not give the
    /// decoded text back, every offset maps into the literal only roughly.
    pub exact: bool,
}

impl OffsetMap {
    /// A map for text copied byte for byte from `file_start` on.
    pub fn identity(file_start: usize) -> Self {
        OffsetMap {
            anchors: vec![(0, file_start)],
            exact: true,
        }
    }

    /// A map built from anchors in increasing decoded order.
    pub(crate) fn from_anchors(anchors: Vec<(usize, usize)>, exact: bool) -> Self {
        debug_assert!(!anchors.is_empty());
        OffsetMap { anchors, exact }
    }

    /// The file offset of decoded byte `offset`.
    pub fn to_file(&self, offset: usize) -> usize {
        let i = self.anchors.partition_point(|&(d, _)| d <= offset);
        let (d, f) = self.anchors[i.saturating_sub(1)];
        f + (offset - d.min(offset))
    }

    /// A decoded span, moved into the file.
    pub fn span_to_file(&self, span: Span) -> Span {
        let start = self.to_file(span.start);
        let end = self.to_file(span.end).max(start);
        Span::new(start, end)
    }
}

/// Builds the map for a string literal by decoding it again, escape by
/// escape, from `content_start` (the first byte after the opening quotes)
/// up to `content_end`. `decode` reads one escape at the given position and
/// returns the text it stands for and its length in the file, or `None` when
/// the bytes there are not an escape. The result is checked against the text
/// the reader decoded; on any disagreement the map is marked inexact.
pub(crate) fn map_escapes(
    source: &str,
    content_start: usize,
    content_end: usize,
    decoded: &str,
    decode: impl Fn(&str) -> Option<(String, usize)>,
) -> OffsetMap {
    let mut anchors = vec![(0, content_start)];
    let mut out = String::with_capacity(decoded.len());
    let mut pos = content_start;
    let bytes = source.as_bytes();
    while pos < content_end {
        if bytes[pos] == b'\\' {
            match decode(&source[pos..content_end]) {
                Some((text, len)) if len > 0 => {
                    // Everything decoded from inside the escape maps to its
                    // backslash; what follows it starts a fresh stretch.
                    anchors.push((out.len(), pos));
                    out.push_str(&text);
                    pos += len;
                    anchors.push((out.len(), pos));
                    continue;
                }
                _ => return OffsetMap::from_anchors(vec![(0, content_start)], false),
            }
        }
        let ch_len = source[pos..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&source[pos..pos + ch_len]);
        pos += ch_len;
    }
    let exact = out == decoded;
    if !exact {
        anchors.truncate(1);
    }
    OffsetMap::from_anchors(anchors, exact)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_past_an_escape_shift_by_its_extra_length() {
        // Decoded `a"b` from the literal `a\"b` starting at file offset 10.
        let map = OffsetMap::from_anchors(vec![(0, 10), (1, 11), (2, 13)], true);
        assert_eq!(map.to_file(0), 10);
        assert_eq!(map.to_file(1), 11);
        assert_eq!(map.to_file(2), 13);
        assert_eq!(map.to_file(3), 14);
    }
}
