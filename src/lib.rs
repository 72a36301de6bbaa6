//! ruleq: an offline interpreter for Elastic Security detection rules.
//!
//! The crate is organised as a one-way pipeline; each stage owns one module and
//! hands the next a plain type:
//!
//! * [`syntax`]: the EQL and KQL front ends. Pest grammars under `grammar/` turn a
//!   query into a typed AST whose every node carries a byte [`syntax::Span`];
//!   printers turn an AST back into canonical text.
//! * [`event`]: reading event files (NDJSON, JSON arrays, `.gz`, `.zst`) and
//!   projecting each event onto the fields the rules read.
//! * [`mapping`]: Elasticsearch index mappings (field types, aliases,
//!   `null_value`, date formats).
//! * [`diag`]: located diagnostics (code, message, span, hint) and their
//!   rendering as code frames.

pub mod diag;
pub mod event;
pub mod mapping;
pub mod syntax;
