//! Mapping-aware refinement of a compiled filter: with an index mapping,
//! a field's type decides how its tests compare, as in Elasticsearch.
//!
//! * `date` / `date_nanos`: literals and values are read with the field's
//!   formats; a literal covers the span its precision names, so `==` on a
//!   second-precision date matches the whole second, and range bounds round
//!   as Elasticsearch rounds them.
//! * `ip`: an address literal is compared as an address (any spelling), a
//!   CIDR literal as a block.
//! * `version`: ranges follow semantic-version precedence; strings that are
//!   not versions sort after every version.
//! * `null_value`: an explicit JSON `null` is indexed as that value, so it
//!   passes the tests the value passes and counts as present.
//!
//! Layer: a compile pass. It imports the IR, [`super::test`] (what a test
//! accepts), the mapping and the event layer's values; not `crate::eval`.

use super::cidr::CidrSet;
use super::date::{self, DateFormat, Instant};
use super::ir::{FieldId, FieldTable, Filter, Lit, Test};
use super::test::passes;
use crate::event::Value;
use crate::mapping::{FieldType, Mapping};
use crate::syntax::eql::CompareOp;

// Where the engine reads a date key (moved to `test` with the comparisons).
pub use super::test::date_value;

/// Rebuilds a filter with every leaf (tests, exists) replaced by `leaf`,
/// the boolean structure and nested queries kept.
fn map_leaves(filter: Filter, leaf: &mut dyn FnMut(Filter) -> Filter) -> Filter {
    match filter {
        Filter::And(_) | Filter::Or(_) | Filter::Not(_) | Filter::Nested { .. } => {
            filter.map_children(|c| map_leaves(c, leaf))
        }
        other => leaf(other),
    }
}

/// Refines `filter` with the field types and `null_value`s of `mapping`.
pub fn apply_mapping(filter: Filter, table: &FieldTable, mapping: &Mapping) -> Filter {
    map_leaves(filter, &mut |leaf| match leaf {
        Filter::Test { field, test } => {
            let Some(fm) = mapping.field(table.path(field)) else {
                return Filter::Test { field, test };
            };
            let typed = match fm.ty {
                FieldType::Date | FieldType::DateNanos => date_test(test, &fm.date_formats()),
                FieldType::Ip => ip_test(test),
                FieldType::Version => version_test(test),
                _ => Some(test),
            };
            let Some(test) = typed else {
                // A literal the field cannot hold matches nothing.
                return Filter::Const(false);
            };
            with_null_value(field, test, fm.null_value.as_ref())
        }
        Filter::Exists(field) => {
            let has_null_value = mapping
                .field(table.path(field))
                .is_some_and(|fm| fm.null_value.is_some());
            if has_null_value {
                Filter::Or(vec![Filter::Exists(field), Filter::ExplicitNull(field)])
            } else {
                Filter::Exists(field)
            }
        }
        other => other,
    })
}

/// Makes every test on `field` a date comparison with `formats` (the
/// timestamp field is a date even when no mapping says so).
pub fn as_date_field(filter: Filter, field: FieldId, formats: &[&str]) -> Filter {
    map_leaves(filter, &mut |leaf| match leaf {
        Filter::Test { field: f, test } if f == field => match date_test(test, formats) {
            Some(test) => Filter::Test { field, test },
            None => Filter::Const(false),
        },
        other => other,
    })
}

fn with_null_value(field: FieldId, test: Test, null_value: Option<&serde_json::Value>) -> Filter {
    let plain = Filter::Test {
        field,
        test: test.clone(),
    };
    let Some(nv) = null_value else {
        return plain;
    };
    let text = match nv {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if passes(&test, &Value::Str(&text)) {
        Filter::Or(vec![plain, Filter::ExplicitNull(field)])
    } else {
        plain
    }
}

fn date_formats(formats: &[&str]) -> Option<DateFormat> {
    DateFormat::parse(&formats.join("||"))
}

fn lit_instant(lit: &Lit, format: &DateFormat) -> Option<Instant> {
    match lit {
        Lit::Str(s) => format.read(s).or_else(|| date::parse_default(s)),
        Lit::Int(ms) => {
            let ns = ms.checked_mul(1_000_000)?;
            Some(Instant { lo: ns, hi: ns })
        }
        Lit::Float(ms) => {
            let ns = (ms * 1e6) as i64;
            Some(Instant { lo: ns, hi: ns })
        }
        Lit::Bool(_) => None,
    }
}

fn date_test(test: Test, formats: &[&str]) -> Option<Test> {
    let format = date_formats(formats)?;
    Some(match test {
        Test::Eq(lit) => Test::Date {
            op: CompareOp::Eq,
            bound: lit_instant(&lit, &format)?,
            format,
        },
        Test::Range(op, lit) => Test::Date {
            op,
            bound: lit_instant(&lit, &format)?,
            format,
        },
        other => other,
    })
}

fn ip_test(test: Test) -> Option<Test> {
    Some(match test {
        Test::Eq(Lit::Str(s)) => match CidrSet::parse([s.as_str()]) {
            Ok(set) => Test::Cidr(set),
            Err(_) => return None,
        },
        other => other,
    })
}

fn version_test(test: Test) -> Option<Test> {
    Some(match test {
        Test::Range(op, Lit::Str(s)) => Test::Version(op, s),
        other => other,
    })
}
