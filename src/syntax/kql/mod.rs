//! The KQL front end: the Kibana Query Language of `query`, `new_terms`,
//! `threshold` and `threat_match` rules (and their `threat_query`).
//!
//! [`parse`] accepts exactly what Kibana's grammar (`@kbn/es-query`) accepts,
//! quirks included, and rejects the rest with a located
//! [`Diagnostic`](crate::diag::Diagnostic) and a hint; [`print()`] renders the
//! AST back as canonical text, so that `parse(print(ast)) == ast` up to spans.
//!
//! ```
//! use ruleq::syntax::kql;
//! let query = kql::parse(r#"process.name : (cmd.exe OR "power shell") and not user.name:*admin*"#).unwrap();
//! assert_eq!(
//!     kql::print(&query),
//!     r#"process.name:(cmd.exe or "power shell") and not user.name:*admin*"#
//! );
//! ```

pub mod ast;
mod parser;
mod printer;

pub use ast::*;
pub use parser::parse;
pub use printer::print;
