//! The EQL front end: Elasticsearch's Event Query Language.
//!
//! [`parse`] accepts exactly what Elasticsearch accepts and rejects the rest
//! with a located [`Diagnostic`](crate::diag::Diagnostic) and a hint, both
//! what its grammar refuses and what its analyzer and planner refuse after
//! parsing (argument types, constant arguments, fields compared with
//! fields, computed join keys);
//! [`print`](fn@print) renders the AST back as canonical text, so that
//! `parse(print(ast)) == ast` up to spans.
//!
//! ```
//! use ruleq::syntax::eql;
//! let query = eql::parse(r#"process where process.name : "TELNET""#).unwrap();
//! assert_eq!(eql::print(&query), r#"process where process.name : "TELNET""#);
//! ```

pub mod ast;
pub mod functions;
mod parser;
mod printer;
mod verify;

pub use ast::*;
pub use parser::parse;
pub use printer::{print, print_expr};
