//! The projection deserializer: serde seeds driven by the [`FieldTable`]
//! trie, filling a [`Record`].
//!
//! Keys are looked up in the trie as they are read; a key that leads nowhere
//! has its value skipped with [`IgnoredAny`] (serde_json then only scans
//! it). A value on a path the rules read as a field is taken as a
//! [`RawValue`], which hands over its exact text: numbers keep how they were
//! written, strings without escapes are borrowed from the input, and an
//! array or object found there is read again from that text (arrays hold
//! the field's values; objects may hold deeper fields).
//!
//! Layer: a reader. It imports the record types, the field table and the
//! string helpers of [`super::text`]; not the fast scanner nor the
//! projector (which imports it).

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;

use super::fields::{FieldTable, NodeId};
use super::record::{Elem, Number, Raw, Record};
use super::text::{raw_string, too_deep, MAX_EVENT_DEPTH};

/// Reads `bytes` (one event) into `rec`.
pub(crate) fn project<'a>(
    table: &FieldTable,
    bytes: &'a [u8],
    rec: &mut Record<'a>,
) -> Result<(), serde_json::Error> {
    let mut ctx = Ctx {
        table,
        rec,
        elem: 0,
        source: None,
    };
    // Validating the UTF-8 of the whole event at once (a fast, mostly-ASCII
    // scan) lets serde_json read it as `str` and skip validating every key
    // and string it hands over, which costs more in total.
    let text = std::str::from_utf8(bytes).map_err(|e| {
        <serde_json::Error as de::Error>::custom(format_args!(
            "invalid UTF-8 at byte {} of the event",
            e.valid_up_to()
        ))
    })?;
    // Each field value read again from its text starts a fresh serde_json
    // deserializer, whose own nesting limit then starts over: without this
    // check, arrays nested thousands deep in a field the rules read
    // overflowed the stack.
    if let Some(at) = too_deep(bytes, MAX_EVENT_DEPTH) {
        return Err(<serde_json::Error as de::Error>::custom(format_args!(
            "nested deeper than {MAX_EVENT_DEPTH} levels at byte {at} of the event \
             (the limit for an event)"
        )));
    }
    let mut de = serde_json::Deserializer::from_str(text);
    de.deserialize_map(TopVisitor { ctx: &mut ctx })?;
    de.end()?;
    if let Some(src) = ctx.source.take() {
        // A search hit: what was read beside `_source` was hit metadata, not
        // event fields; read the event from `_source`.
        ctx.rec.slots.clear();
        ctx.rec.elems.clear();
        ctx.rec.hit = true;
        ctx.rec.source = src.as_bytes();
        let root = table.root();
        ctx.reparse(src, |d, ctx| {
            d.deserialize_map(NodeVisitor {
                ctx,
                node: root,
                in_array: false,
            })
        })?;
    }
    Ok(())
}

struct Ctx<'c, 'a> {
    table: &'c FieldTable,
    rec: &'c mut Record<'a>,
    /// The innermost array-of-objects element being read (0: none).
    elem: u32,
    /// A hit's `_source` object, read after the top level.
    source: Option<&'a str>,
}

impl<'a> Ctx<'_, 'a> {
    fn push(&mut self, node: NodeId, raw: Raw<'a>) {
        self.rec.push_at(self.table, node, self.elem, raw);
    }

    /// Reads `text` (a complete JSON value, already validated by serde_json
    /// as a [`RawValue`]) with a fresh deserializer.
    fn reparse<F>(&mut self, text: &'a str, f: F) -> Result<(), serde_json::Error>
    where
        F: FnOnce(
            &mut serde_json::Deserializer<serde_json::de::StrRead<'a>>,
            &mut Self,
        ) -> Result<(), serde_json::Error>,
    {
        let mut de = serde_json::Deserializer::from_str(text);
        f(&mut de, self)?;
        de.end()
    }

    fn string(&mut self, text: &'a str) -> Raw<'a> {
        raw_string(text, &mut self.rec.scratch)
    }

    /// Records (or descends into) the value `text` found at `node`.
    fn raw(
        &mut self,
        node: NodeId,
        text: &'a str,
        in_array: bool,
    ) -> Result<(), serde_json::Error> {
        let Some(&first) = text.as_bytes().first() else {
            return Ok(());
        };
        match first {
            b'n' => self.push(node, Raw::Null),
            b't' => self.push(node, Raw::Bool(true)),
            b'f' => self.push(node, Raw::Bool(false)),
            b'"' => {
                if self.table.field_at(node).is_some() {
                    let raw = self.string(text);
                    self.push(node, raw);
                }
            }
            b'[' => self.reparse(text, |d, ctx| d.deserialize_seq(RawElems { ctx, node }))?,
            b'{' => {
                if self.table.has_children(node) {
                    self.reparse(text, |d, ctx| {
                        d.deserialize_map(NodeVisitor {
                            ctx,
                            node,
                            in_array,
                        })
                    })?;
                }
            }
            _ => match Number::parse(text) {
                Some(n) => self.push(node, Raw::Number(n)),
                None => {
                    return Err(de::Error::custom(format_args!("not a JSON value: {text}")));
                }
            },
        }
        Ok(())
    }
}

/// Reads a map key and resolves it in the trie from `node`.
struct KeySeed<'t> {
    table: &'t FieldTable,
    node: NodeId,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<NodeId>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Option<NodeId>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(self.table.walk(self.node, key))
    }
}

/// What a top-level key is: one of the search-hit keys, and where it leads
/// in the trie.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TopKey {
    Source,
    Index,
    Id,
    Other,
}

struct TopKeySeed<'t> {
    table: &'t FieldTable,
}

impl<'de> DeserializeSeed<'de> for TopKeySeed<'_> {
    type Value = (TopKey, Option<NodeId>);

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for TopKeySeed<'_> {
    type Value = (TopKey, Option<NodeId>);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        let kind = match key {
            "_source" => TopKey::Source,
            "_index" => TopKey::Index,
            "_id" => TopKey::Id,
            _ => TopKey::Other,
        };
        Ok((kind, self.table.walk(self.table.root(), key)))
    }
}

/// The top level of an event: a plain event, or a search hit whose
/// `_index`, `_id` and `_source` are taken apart. Which one it is shows only
/// once `_source` is seen (keys come in any order), so the top level is read
/// as a plain event and `_source` kept aside for [`project`].
struct TopVisitor<'x, 'c, 'a> {
    ctx: &'x mut Ctx<'c, 'a>,
}

impl<'a> Visitor<'a> for TopVisitor<'_, '_, 'a> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an event (a JSON object)")
    }

    fn visit_map<M: MapAccess<'a>>(self, mut map: M) -> Result<(), M::Error> {
        let ctx = self.ctx;
        while let Some((kind, node)) = map.next_key_seed(TopKeySeed { table: ctx.table })? {
            if kind == TopKey::Other {
                match node {
                    Some(node) => map.next_value_seed(ValueSeed {
                        ctx: &mut *ctx,
                        node,
                        in_array: false,
                    })?,
                    None => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                continue;
            }
            let raw: &'a RawValue = map.next_value()?;
            let text = raw.get();
            match kind {
                TopKey::Source if text.starts_with('{') => {
                    ctx.source = Some(text);
                    continue;
                }
                TopKey::Index | TopKey::Id if text.starts_with('"') => {
                    let s = ctx.string(text);
                    if kind == TopKey::Index {
                        ctx.rec.index = Some(s);
                    } else {
                        ctx.rec.id = Some(s);
                    }
                }
                _ => {}
            }
            if let Some(node) = node {
                ctx.raw(node, text, false).map_err(de::Error::custom)?;
            }
        }
        Ok(())
    }
}

/// A value at a trie node.
struct ValueSeed<'x, 'c, 'a> {
    ctx: &'x mut Ctx<'c, 'a>,
    node: NodeId,
    /// The value is an element of an array (an object here starts a new
    /// array-of-objects element).
    in_array: bool,
}

impl<'a> DeserializeSeed<'a> for ValueSeed<'_, '_, 'a> {
    type Value = ();

    fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<(), D::Error> {
        let ValueSeed {
            ctx,
            node,
            in_array,
        } = self;
        if ctx.table.field_at(node).is_some() {
            let raw: &'a RawValue = serde::Deserialize::deserialize(d)?;
            ctx.raw(node, raw.get(), in_array)
                .map_err(de::Error::custom)
        } else {
            d.deserialize_any(NodeVisitor {
                ctx,
                node,
                in_array,
            })
        }
    }
}

/// A value at a node that is not itself a field, only on the way to some:
/// objects are descended into, arrays walked, scalars dropped.
struct NodeVisitor<'x, 'c, 'a> {
    ctx: &'x mut Ctx<'c, 'a>,
    node: NodeId,
    in_array: bool,
}

impl<'a> Visitor<'a> for NodeVisitor<'_, '_, 'a> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<S: SeqAccess<'a>>(self, mut seq: S) -> Result<(), S::Error> {
        while seq
            .next_element_seed(ValueSeed {
                ctx: &mut *self.ctx,
                node: self.node,
                in_array: true,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<M: MapAccess<'a>>(self, mut map: M) -> Result<(), M::Error> {
        let ctx = self.ctx;
        let outer = ctx.elem;
        if self.in_array {
            ctx.rec.elems.push(Elem {
                parent: outer,
                node: self.node,
            });
            ctx.elem = ctx.rec.elems.len() as u32;
        }
        let table = ctx.table;
        while let Some(child) = map.next_key_seed(KeySeed {
            table,
            node: self.node,
        })? {
            match child {
                Some(node) => map.next_value_seed(ValueSeed {
                    ctx: &mut *ctx,
                    node,
                    in_array: false,
                })?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        ctx.elem = outer;
        Ok(())
    }
}

/// The elements of an array found at a field's node, each taken as raw text
/// so numbers keep their spelling.
struct RawElems<'x, 'c, 'a> {
    ctx: &'x mut Ctx<'c, 'a>,
    node: NodeId,
}

impl<'a> Visitor<'a> for RawElems<'_, '_, 'a> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<S: SeqAccess<'a>>(self, mut seq: S) -> Result<(), S::Error> {
        while let Some(raw) = seq.next_element::<&'a RawValue>()? {
            self.ctx
                .raw(self.node, raw.get(), true)
                .map_err(de::Error::custom)?;
        }
        Ok(())
    }
}
