//! Compilation: everything about a rule that can be prepared once before
//! events are read. Queries lower into the predicate IR ([`ir`]); literals
//! become prepared matchers (wildcard patterns, Lucene regular expressions,
//! CIDR sets).

pub mod cidr;
pub mod date;
pub mod eql;
pub mod ir;
pub mod kql;
pub mod lucene_regex;
pub mod optimize;
pub mod typed;
pub mod wildcard;
