//! The event layer: reading event files and projecting each event onto the
//! fields the compiled rules read.
//!
//! * [`fields`]: the [`FieldTable`] of interned field paths, a trie over path
//!   segments.
//! * [`record`]: the [`Projector`], a serde deserializer driven by that trie
//!   that reads one event's bytes into a [`Record`] of only those fields'
//!   values (no `serde_json::Value` per event, no allocation in the steady
//!   state), unwrapping exported search hits.
//! * [`read`]: the [`EventSource`] over files, folders and stdin (NDJSON, a
//!   JSON array or a stream of JSON values, plain, `.gz` or `.zst`),
//!   streamed, yielding each event's raw bytes with its file and line (plain
//!   files memory-mapped; several files merged by time).
//!
//! Typical use: intern the rules' fields, then for each raw event call
//! [`Projector::project`], evaluate, and give the record back with
//! [`Projector::recycle`].

pub mod fields;
mod project;
pub mod read;
pub mod record;
mod scan;
mod stream;

pub use fields::{FieldId, FieldTable, NodeId};
pub use project::MAX_EVENT_DEPTH;
pub use read::{
    EventSource, Input, Item, Malformed, Position, RawEvent, ReadStats, DEFAULT_MAX_EVENT_BYTES,
};
pub use record::{ElemId, Num, Number, Projector, Record, Value, Values};
pub use stream::SharedBytes;

/// `text` (valid JSON) without its insignificant whitespace: one line, its
/// keys, numbers and strings exactly as written. Borrowed when there is
/// nothing to drop.
pub fn compact_json(text: &str) -> std::borrow::Cow<'_, str> {
    let b = text.as_bytes();
    let space = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r');
    let (mut in_str, mut esc) = (false, false);
    let first = b.iter().position(|&c| {
        let drop = !in_str && space(c);
        if in_str {
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_str = false;
            }
        } else if c == b'"' {
            in_str = true;
        }
        drop
    });
    let Some(first) = first else {
        return std::borrow::Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..first]);
    // `first` is whitespace outside strings: the state there is known.
    let (mut in_str, mut esc) = (false, false);
    let mut start = first;
    for (i, &c) in b.iter().enumerate().skip(first) {
        if in_str {
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_str = false;
            }
        } else if c == b'"' {
            in_str = true;
        } else if space(c) {
            out.push_str(&text[start..i]);
            start = i + 1;
        }
    }
    out.push_str(&text[start..]);
    std::borrow::Cow::Owned(out)
}
