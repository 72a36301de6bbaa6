//! Compilation: everything about a rule that can be prepared once before
//! events are read. Queries lower into the predicate IR ([`ir`]); literals
//! become prepared matchers (wildcard patterns, Lucene regular expressions,
//! CIDR sets); [`test`](mod@test) says what value passes a term test of the IR.
//!
//! Layer: below evaluation. Compilation imports the syntax, the mapping and
//! the event layer's field table and values; it never imports `crate::eval`,
//! which imports it (`tests/layers.rs` holds it to that).

pub mod cidr;
pub mod date;
pub mod eql;
pub mod ir;
pub mod kql;
pub mod lucene_regex;
pub mod optimize;
pub mod test;
pub mod typed;
pub mod wildcard;
