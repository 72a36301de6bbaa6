//! One projected event: the values of the requested fields, nothing else.
//!
//! A [`Record`] borrows its strings from the event's bytes where the JSON has
//! no escapes, and keeps unescaped strings in its own scratch buffer. A
//! [`Projector`](super::Projector) makes records and takes them back so that
//! the vectors behind them are reused from one event to the next: in the
//! steady state projecting an event allocates nothing.
//!
//! Layer: the lowest of projection, data types only. It imports the field
//! table ([`super::fields`]) and nothing else of the event layer; the
//! readers and the projector import it.

use super::fields::{FieldId, FieldTable, NodeId};

/// A value as read from the event, borrowed from the event bytes or the record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'r> {
    /// An explicit JSON `null` (a missing field has no value at all).
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, with the text it was written as.
    Number(Number<'r>),
    /// A string, unescaped.
    Str(&'r str),
}

impl<'r> Value<'r> {
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&'r str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The number, if this is one.
    pub fn as_number(&self) -> Option<Number<'r>> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// Whether this is an explicit `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

/// A JSON number: its parsed value and its text exactly as written (so a
/// keyword comparison can see `1.50` rather than `1.5`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Number<'r> {
    text: &'r str,
    value: Num,
}

/// The value of a JSON number, in the narrowest of three forms that holds it
/// exactly (as serde_json does): integers that fit `i64`, larger positive
/// integers that fit `u64`, everything else (fractions, exponents, integers
/// beyond `u64`) as `f64`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    /// An integer within `i64`.
    Int(i64),
    /// An integer above `i64::MAX` within `u64`.
    UInt(u64),
    /// Anything else.
    Float(f64),
}

impl<'r> Number<'r> {
    /// Parses the text of a JSON number. `None` when it is not one.
    pub fn parse(text: &'r str) -> Option<Number<'r>> {
        let digits = text.strip_prefix('-').unwrap_or(text);
        let first = *digits.as_bytes().first()?;
        if !first.is_ascii_digit() {
            return None;
        }
        let integral = digits.bytes().all(|b| b.is_ascii_digit());
        let value = if integral {
            if let Ok(i) = text.parse::<i64>() {
                Num::Int(i)
            } else if let Ok(u) = text.parse::<u64>() {
                Num::UInt(u)
            } else {
                Num::Float(text.parse().ok()?)
            }
        } else {
            Num::Float(text.parse().ok()?)
        };
        Some(Number { text, value })
    }

    /// The text as written in the event.
    pub fn text(&self) -> &'r str {
        self.text
    }

    /// The parsed value.
    pub fn value(&self) -> Num {
        self.value
    }

    /// The value as `f64` (may round large integers).
    pub fn as_f64(&self) -> f64 {
        match self.value {
            Num::Int(i) => i as f64,
            Num::UInt(u) => u as f64,
            Num::Float(f) => f,
        }
    }

    /// The value as `i64`, if it is an integer within range.
    pub fn as_i64(&self) -> Option<i64> {
        match self.value {
            Num::Int(i) => Some(i),
            _ => None,
        }
    }
}

/// The array-of-objects element a value came from. Every object that is an
/// element of a JSON array (on a path the rules read) gets its own id within
/// the event; [`ElemId::NONE`] means the value is not inside such an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ElemId(pub(crate) u32);

impl ElemId {
    /// Not inside an object that is an array element.
    pub const NONE: ElemId = ElemId(0);
}

/// Internal form of a value: strings with escapes point into the record's
/// scratch buffer by offsets, because the scratch may still grow.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Raw<'a> {
    Null,
    Bool(bool),
    Number(Number<'a>),
    Str(&'a str),
    Scratch(u32, u32),
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot<'a> {
    pub field: FieldId,
    pub elem: u32,
    pub raw: Raw<'a>,
}

/// One object inside an array: its enclosing element and the trie node of
/// the array it belongs to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Elem {
    pub parent: u32,
    pub node: NodeId,
}

pub(crate) const END: u32 = u32::MAX;

/// The projected fields of one event.
///
/// A field's values come in document order; an array contributes each of its
/// scalar elements (nested arrays are flattened, as Elasticsearch does). No
/// values means the field is missing; an explicit `null` is a [`Value::Null`]
/// (so a mapping's `null_value` can apply to it). An empty array gives no
/// values, like a missing field.
#[derive(Debug)]
pub struct Record<'a> {
    pub(crate) slots: Vec<Slot<'a>>,
    /// For slot i, the next slot of the same field (or END).
    pub(crate) next: Vec<u32>,
    /// Per field id, its first slot (or END); valid for fields in `slots`.
    pub(crate) heads: Vec<u32>,
    /// Element i+1 is `elems[i]` (0 is [`ElemId::NONE`]).
    pub(crate) elems: Vec<Elem>,
    pub(crate) scratch: String,
    pub(crate) index: Option<Raw<'a>>,
    pub(crate) id: Option<Raw<'a>>,
    pub(crate) source: &'a [u8],
    pub(crate) hit: bool,
}

impl<'a> Record<'a> {
    /// Records `raw` as a value of the field at `node`, if the table has
    /// one there, inside array-of-objects element `elem`.
    pub(crate) fn push_at(&mut self, table: &FieldTable, node: NodeId, elem: u32, raw: Raw<'a>) {
        if let Some(field) = table.field_at(node) {
            self.slots.push(Slot { field, elem, raw });
        }
    }

    /// Gives each of the table's constant fields its value where the event
    /// has none of its own (an explicit `null` included, which
    /// Elasticsearch would refuse in a `constant_keyword`); the value is
    /// kept in the scratch buffer. Before [`Record::finish`].
    pub(crate) fn add_constants(&mut self, table: &FieldTable) {
        for (field, value) in table.constants() {
            let own = self
                .slots
                .iter()
                .any(|s| s.field == *field && !matches!(s.raw, Raw::Null));
            if own {
                continue;
            }
            self.slots.retain(|s| s.field != *field);
            let start = self.scratch.len() as u32;
            self.scratch.push_str(value);
            let end = self.scratch.len() as u32;
            self.slots.push(Slot {
                field: *field,
                elem: 0,
                raw: Raw::Scratch(start, end),
            });
        }
    }

    fn resolve(&self, raw: Raw<'a>) -> Value<'_> {
        match raw {
            Raw::Null => Value::Null,
            Raw::Bool(b) => Value::Bool(b),
            Raw::Number(n) => Value::Number(n),
            Raw::Str(s) => Value::Str(s),
            Raw::Scratch(a, b) => Value::Str(&self.scratch[a as usize..b as usize]),
        }
    }

    /// The values of field `f`, in document order.
    pub fn values(&self, f: FieldId) -> Values<'_, 'a> {
        Values {
            rec: self,
            at: self.heads.get(f.index()).copied().unwrap_or(END),
        }
    }

    /// Every value of the record with its field, in document order.
    pub fn all_values(&self) -> impl Iterator<Item = (FieldId, Value<'_>)> + '_ {
        self.slots.iter().map(|s| (s.field, self.resolve(s.raw)))
    }

    /// The first value of `f`, if the field is present.
    pub fn first(&self, f: FieldId) -> Option<Value<'_>> {
        self.values(f).next()
    }

    /// Whether the event has `f` at all (an explicit `null` counts).
    pub fn contains(&self, f: FieldId) -> bool {
        self.heads.get(f.index()).is_some_and(|&h| h != END)
    }

    /// The values of `f` with the array-of-objects element each came from.
    pub fn entries(&self, f: FieldId) -> impl Iterator<Item = (Value<'_>, ElemId)> + '_ {
        let mut at = self.heads.get(f.index()).copied().unwrap_or(END);
        std::iter::from_fn(move || {
            let slot = self.slots.get(at as usize)?;
            at = self.next[at as usize];
            Some((self.resolve(slot.raw), ElemId(slot.elem)))
        })
    }

    /// The element, among `elem` and its enclosing elements, that is an
    /// object of the array at `scope` (a KQL nested query's path, interned
    /// with [`FieldTable::intern_node`]). Two values belong to the same
    /// object of that array exactly when this gives the same `Some` id.
    pub fn element_in(&self, elem: ElemId, scope: NodeId) -> Option<ElemId> {
        let mut e = elem.0;
        while e != 0 {
            let info = self.elems.get(e as usize - 1)?;
            if info.node == scope {
                return Some(ElemId(e));
            }
            e = info.parent;
        }
        None
    }

    /// `_index` of an exported search hit (or a top-level `_index` string).
    pub fn index(&self) -> Option<&str> {
        self.index.and_then(|r| self.resolve(r).as_str())
    }

    /// `_id` of an exported search hit (or a top-level `_id` string).
    pub fn id(&self) -> Option<&str> {
        self.id.and_then(|r| self.resolve(r).as_str())
    }

    /// Whether the event was a search hit whose `_source` was unwrapped.
    pub fn is_hit(&self) -> bool {
        self.hit
    }

    /// The event document as written: the hit's `_source` object for a hit,
    /// otherwise all the bytes that were projected (surrounding whitespace
    /// trimmed).
    pub fn source(&self) -> &'a [u8] {
        self.source
    }

    /// How many values were read, over all fields.
    pub fn value_count(&self) -> usize {
        self.slots.len()
    }

    /// Links each field's slots in document order (called once per event).
    pub(crate) fn finish(&mut self, fields: usize) {
        if self.heads.len() < fields {
            self.heads.resize(fields, END);
        }
        self.next.clear();
        self.next.resize(self.slots.len(), END);
        for s in &self.slots {
            self.heads[s.field.index()] = END;
        }
        for i in (0..self.slots.len()).rev() {
            let f = self.slots[i].field.index();
            self.next[i] = self.heads[f];
            self.heads[f] = i as u32;
        }
    }
}

/// The values of one field of a [`Record`], in document order.
#[derive(Debug, Clone)]
pub struct Values<'r, 'a> {
    rec: &'r Record<'a>,
    at: u32,
}

impl<'r> Iterator for Values<'r, '_> {
    type Item = Value<'r>;

    fn next(&mut self) -> Option<Value<'r>> {
        let slot = self.rec.slots.get(self.at as usize)?;
        self.at = self.rec.next[self.at as usize];
        Some(self.rec.resolve(slot.raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_their_text_and_narrowest_form() {
        let n = Number::parse("-12").unwrap();
        assert_eq!((n.value(), n.text()), (Num::Int(-12), "-12"));
        assert_eq!(
            Number::parse("18446744073709551615").unwrap().value(),
            Num::UInt(u64::MAX)
        );
        assert_eq!(
            Number::parse("18446744073709551616").unwrap().value(),
            Num::Float(18446744073709551616.0)
        );
        assert_eq!(Number::parse("1.50").unwrap().value(), Num::Float(1.5));
        assert_eq!(Number::parse("1e3").unwrap().value(), Num::Float(1000.0));
        assert_eq!(Number::parse("1.50").unwrap().text(), "1.50");
        assert!(Number::parse("x").is_none());
        assert!(Number::parse("-").is_none());
        assert!(Number::parse("").is_none());
    }
}
