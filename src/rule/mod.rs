//! Detection rules as files: the typed rule model and its loaders.
//!
//! This module owns everything between a path on disk and a [`Rule`]:
//! walking directories ([`files`]), reading detection-rules TOML and Kibana
//! JSON/NDJSON into span-keeping trees ([`value`], [`toml`], [`json`]), and
//! typing those trees into rules ([`load`]), with a located diagnostic for
//! every key that is missing, mistyped or unknown. Checks that need more
//! than one key, or more than one rule, live in [`crate::check`].

pub mod files;
pub mod json;
pub mod load;
mod model;
pub mod toml;
pub mod value;

pub use files::{collect_paths, load_file, RuleFile};
pub use model::*;
