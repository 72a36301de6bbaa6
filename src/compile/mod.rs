//! Compilation: everything about a rule that can be prepared once before
//! events are read. This module holds the prepared matchers for literals:
//! wildcard patterns, Lucene regular expressions and CIDR sets.

pub mod cidr;
pub mod lucene_regex;
pub mod wildcard;
