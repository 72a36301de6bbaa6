//! Reading TOML rule files into [`Node`] trees with spans.
//!
//! The `toml` crate's span-keeping parser does the reading; this module turns
//! its tree into ours and knows the four TOML string forms well enough to map
//! offsets inside a decoded string back into the file.

use super::value::{map_escapes, Entry, Node, OffsetMap, Value};
use crate::diag::Diagnostic;
use crate::syntax::Span;
use toml::de::{DeTable, DeValue};

/// Parses a TOML document. Syntax errors come back as one located diagnostic.
pub fn parse(source: &str) -> Result<Node, Diagnostic> {
    let doc = DeTable::parse(source).map_err(|e| {
        let span = e
            .span()
            .map_or(Span::new(0, 0), |r| Span::new(r.start, r.end));
        // The crate's message names the problem; the location is ours to draw.
        let message = e.message().trim().to_string();
        Diagnostic::error("rule::syntax", format!("invalid TOML: {message}"), span)
            .with_help("fix the TOML syntax; the rule cannot be read until it parses")
    })?;
    let span = Span::new(0, source.len());
    Ok(Node {
        span,
        value: convert_table(doc.get_ref()),
    })
}

fn convert_table(table: &DeTable<'_>) -> Value {
    Value::Table(
        table
            .iter()
            .map(|(k, v)| Entry {
                key: k.get_ref().to_string(),
                key_span: span_of(k.span()),
                value: convert(v.get_ref(), span_of(v.span())),
            })
            .collect(),
    )
}

fn convert(value: &DeValue<'_>, span: Span) -> Node {
    let value = match value {
        DeValue::String(s) => Value::String(s.to_string()),
        DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) => Value::Integer(n),
            // Out of i64 range: keep it as a float so range checks still fire.
            Err(_) => Value::Float(i.as_str().parse().unwrap_or(f64::INFINITY)),
        },
        DeValue::Float(f) => Value::Float(f.as_str().parse().unwrap_or(f64::NAN)),
        DeValue::Boolean(b) => Value::Bool(*b),
        DeValue::Datetime(d) => Value::Datetime(d.to_string()),
        DeValue::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| convert(item.get_ref(), span_of(item.span())))
                .collect(),
        ),
        DeValue::Table(t) => convert_table(t),
    };
    Node { span, value }
}

fn span_of(r: std::ops::Range<usize>) -> Span {
    Span::new(r.start, r.end)
}

/// The offset map of the string literal at `span` whose decoded text is
/// `decoded`: `'''` and `'` literals copy bytes, `"""` and `"` strings decode
/// escapes (and a multi-line string's line-ending backslash).
pub fn string_map(source: &str, span: Span, decoded: &str) -> OffsetMap {
    let Some(raw) = source.get(span.start..span.end) else {
        return OffsetMap::from_anchors(vec![(0, span.start)], false);
    };
    let (quote, multiline) = if raw.starts_with("'''") {
        ('\'', true)
    } else if raw.starts_with("\"\"\"") {
        ('"', true)
    } else if raw.starts_with('\'') {
        ('\'', false)
    } else if raw.starts_with('"') {
        ('"', false)
    } else {
        return OffsetMap::from_anchors(vec![(0, span.start)], false);
    };
    let delim = if multiline { 3 } else { 1 };
    let mut start = span.start + delim;
    let end = span.end.saturating_sub(delim).max(start);
    if multiline {
        // A newline right after the opening delimiter is not part of the value.
        if source[start..].starts_with("\r\n") {
            start += 2;
        } else if source[start..].starts_with('\n') {
            start += 1;
        }
    }
    if quote == '\'' {
        let exact = source.get(start..start + decoded.len()) == Some(decoded);
        return OffsetMap::from_anchors(vec![(0, start)], exact);
    }
    map_escapes(source, start, end, decoded, |s| decode_escape(s, multiline))
}

/// Reads one escape of a TOML basic string at the start of `s`.
fn decode_escape(s: &str, multiline: bool) -> Option<(String, usize)> {
    let mut chars = s.char_indices().skip(1);
    let (_, c) = chars.next()?;
    let simple = match c {
        'b' => Some('\u{8}'),
        't' => Some('\t'),
        'n' => Some('\n'),
        'f' => Some('\u{c}'),
        'r' => Some('\r'),
        'e' => Some('\u{1b}'),
        '"' => Some('"'),
        '\\' => Some('\\'),
        _ => None,
    };
    if let Some(ch) = simple {
        return Some((ch.to_string(), 2));
    }
    let hex = |digits: usize| -> Option<(String, usize)> {
        let h = s.get(2..2 + digits)?;
        let code = u32::from_str_radix(h, 16).ok()?;
        Some((char::from_u32(code)?.to_string(), 2 + digits))
    };
    match c {
        'x' => hex(2),
        'u' => hex(4),
        'U' => hex(8),
        ' ' | '\t' | '\r' | '\n' if multiline => {
            // Line-ending backslash: it and all whitespace up to the next
            // non-whitespace character vanish, provided a newline follows.
            let rest = &s[1..];
            let trimmed = rest.trim_start_matches([' ', '\t', '\r', '\n']);
            let skipped = &rest[..rest.len() - trimmed.len()];
            skipped
                .contains('\n')
                .then(|| (String::new(), 1 + skipped.len()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map_of(doc: &str, key: &str) -> (String, OffsetMap) {
        let node = parse(doc).unwrap();
        let entry = node.get(key).unwrap();
        let Value::String(s) = &entry.value.value else {
            panic!("not a string")
        };
        (s.clone(), string_map(doc, entry.value.span, s))
    }

    #[test]
    fn literal_multiline_strings_map_one_to_one_after_the_first_newline() {
        let doc = "query = '''\nab\\c\n'''\n";
        let (text, map) = map_of(doc, "query");
        assert!(map.exact);
        assert_eq!(&doc[map.to_file(0)..map.to_file(0) + 1], "a");
        assert_eq!(&doc[map.to_file(3)..map.to_file(3) + 1], "c");
        assert_eq!(text, "ab\\c\n");
    }

    #[test]
    fn basic_strings_map_through_escapes() {
        let doc = "q = \"\"\"\nx \\\"C:\\\\y\\\" \\u00e9z\"\"\"\n";
        let (text, map) = map_of(doc, "q");
        assert_eq!(text, "x \"C:\\y\" éz");
        assert!(map.exact);
        let z = text.find('z').unwrap();
        assert_eq!(&doc[map.to_file(z)..map.to_file(z) + 1], "z");
        let y = text.find('y').unwrap();
        assert_eq!(&doc[map.to_file(y)..map.to_file(y) + 1], "y");
    }

    #[test]
    fn line_ending_backslash_is_mapped() {
        let doc = "q = \"\"\"a \\\n    b\"\"\"\n";
        let (text, map) = map_of(doc, "q");
        assert_eq!(text, "a b");
        assert!(map.exact);
        assert_eq!(&doc[map.to_file(2)..map.to_file(2) + 1], "b");
    }

    #[test]
    fn syntax_errors_are_located() {
        let err = parse("a = 1\nb = \n").unwrap_err();
        assert_eq!(err.code, "rule::syntax");
        assert!(err.span.start >= 6, "{err:?}");
    }
}
