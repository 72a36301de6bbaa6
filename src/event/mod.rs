//! The event layer: reading event files and projecting each event onto the
//! fields the compiled rules read.
//!
//! * [`fields`]: the [`FieldTable`] of interned field paths, a trie over path
//!   segments.
//! * [`record`]: a [`Record`], one event's values of only those fields.
//! * [`projector`]: the [`Projector`], which reads one event's bytes into a
//!   [`Record`] (no `serde_json::Value` per event, no allocation in the
//!   steady state), unwrapping exported search hits: a fast scanner, with a
//!   serde deserializer driven by the trie as its fallback and reference.
//! * [`read`]: the [`EventSource`] over files, folders and stdin (NDJSON, a
//!   JSON array or a stream of JSON values, plain, `.gz` or `.zst`),
//!   streamed, yielding each event's raw bytes with its file and line (plain
//!   files memory-mapped; several files merged by time).
//!
//! Typical use: intern the rules' fields, then for each raw event call
//! [`Projector::project`], evaluate, and give the record back with
//! [`Projector::recycle`].
//!
//! Layers within, each importing only those before it: `fields`; `record`
//! (data types); `text` (JSON text and string helpers); `project` (serde)
//! and `scan` (fast), which do not import each other; `projector`. Apart
//! from projection, `read` (files to raw events) imports `stream` and
//! `text`. `tests/layers.rs` holds the projection modules to this order.

pub mod fields;
mod names;
mod project;
pub mod projector;
pub mod read;
pub mod record;
mod report;
mod scan;
mod stream;
mod text;

pub use fields::{FieldId, FieldTable, NodeId};
pub use names::FileNames;
pub use projector::Projector;
pub use read::{
    EventSource, Input, Item, Malformed, Position, RawEvent, ReadStats, DEFAULT_MAX_EVENT_BYTES,
};
pub use record::{ElemId, Num, Number, Record, Value, Values};
pub use report::{Reporter, REPORTED_PER_FILE};
pub use stream::SharedBytes;
pub use text::{compact_json, MAX_EVENT_DEPTH};
