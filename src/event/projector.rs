//! The [`Projector`]: makes [`Record`]s from events' bytes and takes them
//! back ([`Projector::recycle`]) so that the vectors behind them are reused
//! from one event to the next. It reads an event with the fast scanner
//! (`scan`) and falls back on the serde projection (`project`) for what
//! the scanner gives up on.
//!
//! Layer: the top of projection. It imports the record types
//! ([`super::record`]), the field table and both readers; none of them
//! imports it.

use super::fields::FieldTable;
use super::record::{Record, Slot, END};
use super::{project, scan};

/// Turns an empty vector of slots of one lifetime into one of another,
/// keeping its allocation (the standard library collects a `Vec`'s own
/// `into_iter` in place when the element layout is unchanged).
// `filter` cannot change the element type; `filter_map` to `None` drops every
// element (there are none) while changing the lifetime, with no panic path.
#[allow(clippy::unnecessary_filter_map)]
fn relife<'b>(mut v: Vec<Slot<'_>>) -> Vec<Slot<'b>> {
    v.clear();
    v.into_iter().filter_map(|_| None).collect()
}

/// Projects events onto a [`FieldTable`]: one per thread, reused for every
/// event of that thread.
#[derive(Debug)]
pub struct Projector<'t> {
    table: &'t FieldTable,
    /// Records given back, their buffers kept for the next events (several
    /// records may be alive at once: see [`Projector::recycle`]).
    spare: Vec<Record<'static>>,
}

impl<'t> Projector<'t> {
    /// A projector reading the fields of `table`.
    pub fn new(table: &'t FieldTable) -> Self {
        Projector {
            table,
            spare: Vec::new(),
        }
    }

    /// The table this projector reads.
    pub fn table(&self) -> &'t FieldTable {
        self.table
    }

    /// Reads one event (a JSON object, or a search hit wrapping one in
    /// `_source`) and returns the values of the table's fields. The error is
    /// serde_json's, with its line and column within `bytes`.
    pub fn project<'a>(&mut self, bytes: &'a [u8]) -> Result<Record<'a>, serde_json::Error> {
        let mut rec = self.take(bytes);
        // The fast scanner reads almost every event; what it gives up on
        // (invalid JSON, lone surrogates, deep nesting) serde_json reads or
        // reports.
        if let Ok(text) = simdutf8::basic::from_utf8(bytes) {
            if scan::project(self.table, text, &mut rec).is_ok() {
                rec.add_constants(self.table);
                rec.finish(self.table.len());
                return Ok(rec);
            }
            rec.slots.clear();
            rec.elems.clear();
            rec.scratch.clear();
            rec.index = None;
            rec.id = None;
            rec.hit = false;
            rec.source = trim(bytes);
        }
        self.project_reference_into(bytes, rec)
    }

    /// [`Projector::project`] through serde_json alone: the reference the
    /// fast scanner is held to (tests compare the two).
    pub fn project_reference<'a>(
        &mut self,
        bytes: &'a [u8],
    ) -> Result<Record<'a>, serde_json::Error> {
        let rec = self.take(bytes);
        self.project_reference_into(bytes, rec)
    }

    fn project_reference_into<'a>(
        &mut self,
        bytes: &'a [u8],
        mut rec: Record<'a>,
    ) -> Result<Record<'a>, serde_json::Error> {
        match project::project(self.table, bytes, &mut rec) {
            Ok(()) => {
                rec.add_constants(self.table);
                rec.finish(self.table.len());
                Ok(rec)
            }
            Err(e) => {
                self.recycle(rec);
                Err(e)
            }
        }
    }

    /// Gives a record's buffers back for the next event.
    pub fn recycle(&mut self, rec: Record<'_>) {
        let Record {
            slots,
            mut next,
            mut heads,
            mut elems,
            mut scratch,
            ..
        } = rec;
        // `finish` resets only the heads of fields the next event has, so
        // the fields this event had must not point into reused slots.
        for s in &slots {
            if let Some(h) = heads.get_mut(s.field.index()) {
                *h = END;
            }
        }
        next.clear();
        elems.clear();
        scratch.clear();
        self.spare.push(Record {
            slots: relife(slots),
            next,
            heads,
            elems,
            scratch,
            index: None,
            id: None,
            source: &[],
            hit: false,
        });
    }

    fn take<'a>(&mut self, bytes: &'a [u8]) -> Record<'a> {
        let trimmed = trim(bytes);
        match self.spare.pop() {
            Some(r) => Record {
                slots: relife(r.slots),
                next: r.next,
                heads: r.heads,
                elems: r.elems,
                scratch: r.scratch,
                index: None,
                id: None,
                source: trimmed,
                hit: false,
            },
            None => Record {
                slots: Vec::new(),
                next: Vec::new(),
                heads: Vec::new(),
                elems: Vec::new(),
                scratch: String::new(),
                index: None,
                id: None,
                source: trimmed,
                hit: false,
            },
        }
    }
}

/// `bytes` without leading and trailing JSON whitespace.
fn trim(bytes: &[u8]) -> &[u8] {
    let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let start = bytes.iter().position(|b| !ws(b)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !ws(b)).map_or(start, |i| i + 1);
    &bytes[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::record::Raw;
    use crate::event::FieldId;

    #[test]
    fn recycling_keeps_the_allocation() {
        let mut v: Vec<Slot<'_>> = Vec::with_capacity(64);
        let s = String::from("x");
        v.push(Slot {
            field: FieldId(0),
            elem: 0,
            raw: Raw::Str(&s),
        });
        let ptr = v.as_ptr() as usize;
        let w: Vec<Slot<'static>> = relife(v);
        assert_eq!(w.capacity(), 64);
        assert_eq!(w.as_ptr() as usize, ptr);
    }
}
