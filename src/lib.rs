//! ruleq: an offline interpreter for Elastic Security detection rules.
//!
//! The crate is organised as a one-way pipeline; each stage owns one module and
//! hands the next a plain type:
//!
//! * [`syntax`]: the EQL and KQL front ends. Pest grammars under `grammar/` turn a
//!   query into a typed AST whose every node carries a byte [`syntax::Span`];
//!   printers turn an AST back into canonical text.
//! * [`rule`]: rule files (detection-rules TOML, Kibana JSON and NDJSON) read
//!   into a typed rule model whose every value keeps its span in the file.
//! * [`check`]: the checks of `ruleq check` and their output formats.
//! * [`event`]: reading event files (NDJSON, JSON arrays, `.gz`, `.zst`) and
//!   projecting each event onto the fields the rules read.
//! * [`mapping`]: Elasticsearch index mappings (field types, aliases,
//!   `null_value`, date formats).
//! * [`compile`]: queries lowered into one predicate IR, with literals
//!   prepared once (wildcards, Lucene regexes, CIDR sets, dates).
//! * [`eval`]: the IR evaluated against events (index-query and script
//!   semantics) and the sequence state machine.
//! * [`engine`]: queries over a stream of events: a rule set evaluated per
//!   event (the stateless stage), candidate records collected in time
//!   order into results (the stateful stage).
//! * [`alert`]: alert documents as Kibana writes them.
//! * [`explain`]: why a rule did or did not fire on some events, clause
//!   by clause and partial sequence by partial sequence.
//! * [`detect`]: rule execution: which rules run, one executor per rule
//!   type, the schedule's executions, de-duplication and `max_signals`,
//!   the pass over the events and the alerts in output order. Its
//!   [`detect::Detector`] is the library's entry point for running rules.
//! * [`ruletest`]: rule tests (`ruleq test`): test files, their cases run
//!   through [`detect`], and the expectations.
//! * [`diag`]: located diagnostics (code, message, span, hint) and their
//!   rendering as code frames.
//! * [`par`]: an order-keeping parallel map (rule files load and are
//!   checked on all cores).

#![warn(missing_docs)]

pub mod alert;
pub mod check;
pub mod compile;
pub mod detect;
pub mod diag;
pub mod engine;
pub mod eval;
pub mod event;
pub mod exceptions;
pub mod explain;
pub mod gen;
pub mod indicators;
pub mod mapping;
pub mod par;
pub mod rule;
pub mod ruletest;
pub mod syntax;
