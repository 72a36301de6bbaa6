//! Front ends for the two query languages of Elastic Security rules.
//!
//! Each language keeps its own AST (so snapshots and printing stay faithful to
//! what the author wrote); both share [`Span`] and the nesting limit.

use serde::Serialize;

pub mod eql;
pub mod kql;

/// The deepest nesting of groups (parentheses, brackets) and prefix operators a
/// query may have. Deeper queries get an error instead of exhausting the stack:
/// at 64 a debug build still parses within a 2 MiB thread stack, and no real
/// rule comes close (the corpus nests at most a few levels).
pub const MAX_DEPTH: usize = 64;

/// The longest query text, in bytes: 1 MiB, some twenty times the longest
/// query of Elastic's rule corpus (about 47 KB). A longer query gets an
/// error at its first byte past the limit instead of a parse that takes
/// seconds per megabyte.
pub const MAX_QUERY_BYTES: usize = 1 << 20;

/// The error for a query text longer than [`MAX_QUERY_BYTES`] (`code` names
/// the language), at the first character past the limit; `None` when it
/// fits.
pub(crate) fn too_long(src: &str, code: &'static str) -> Option<crate::diag::Diagnostic> {
    if src.len() <= MAX_QUERY_BYTES {
        return None;
    }
    let mut at = MAX_QUERY_BYTES;
    while !src.is_char_boundary(at) {
        at -= 1;
    }
    let end = src[at..].chars().next().map_or(at, |c| at + c.len_utf8());
    Some(
        crate::diag::Diagnostic::error(
            code,
            format!(
                "the query is {} bytes long, more than the limit of {MAX_QUERY_BYTES} bytes",
                src.len()
            ),
            Span::new(at, end),
        )
        .with_label("the limit is reached here")
        .with_help("split the rule, or match many values with one condition (a list or a wildcard) rather than many conditions"),
    )
}

/// A byte range `[start, end)` into the query text. Serializes as `[start, end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// Offset of the first byte.
    pub start: usize,
    /// Offset one past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn join(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    /// Whether `other` lies within this span.
    pub fn contains(self, other: Span) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    /// This span moved `offset` bytes to the right (query offsets → file offsets).
    pub fn shift(self, offset: usize) -> Span {
        Span::new(self.start + offset, self.end + offset)
    }
}

impl From<pest::Span<'_>> for Span {
    fn from(s: pest::Span<'_>) -> Self {
        Span::new(s.start(), s.end())
    }
}

impl Serialize for Span {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        [self.start, self.end].serialize(s)
    }
}

/// Removes every `"span"` member from serialized AST JSON, for `--no-spans`
/// output and span-independent comparisons.
pub fn strip_spans(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.remove("span");
            map.values_mut().for_each(strip_spans);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_spans),
        _ => {}
    }
}

/// Pretty-prints JSON with two-space indentation, keeping arrays of scalars
/// (spans such as `[12, 19]`, short value lists) on one line so that AST
/// dumps stay readable.
pub fn to_pretty_json(value: &serde_json::Value) -> String {
    fn scalar(v: &serde_json::Value) -> bool {
        !matches!(
            v,
            serde_json::Value::Array(_) | serde_json::Value::Object(_)
        )
    }
    fn write(out: &mut String, v: &serde_json::Value, indent: usize) {
        use serde_json::Value;
        match v {
            Value::Array(items) if items.is_empty() => out.push_str("[]"),
            Value::Array(items) if items.iter().all(scalar) => {
                let parts: Vec<String> = items.iter().map(|i| i.to_string()).collect();
                out.push('[');
                out.push_str(&parts.join(", "));
                out.push(']');
            }
            Value::Array(items) => {
                out.push_str("[\n");
                for (i, item) in items.iter().enumerate() {
                    out.push_str(&"  ".repeat(indent + 1));
                    write(out, item, indent + 1);
                    out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
                }
                out.push_str(&"  ".repeat(indent));
                out.push(']');
            }
            Value::Object(map) if map.is_empty() => out.push_str("{}"),
            Value::Object(map) => {
                out.push_str("{\n");
                for (i, (k, item)) in map.iter().enumerate() {
                    out.push_str(&"  ".repeat(indent + 1));
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push_str(": ");
                    write(out, item, indent + 1);
                    out.push_str(if i + 1 < map.len() { ",\n" } else { "\n" });
                }
                out.push_str(&"  ".repeat(indent));
                out.push('}');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(&mut out, value, 0);
    out
}
