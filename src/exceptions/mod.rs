//! Rule exceptions: Kibana's exception lists, loaded from exports
//! ([`load`]), attached to the rules whose `exceptions_list` names them,
//! and applied as Kibana applies them: one `must_not` filter per rule, an
//! event being dropped when it matches any item (the entries of an item
//! all holding). See `design/rule-types-semantics.md` §4 for the
//! semantics this follows.

pub mod filter;
pub mod load;

pub use filter::{Applied, Exceptions};

use serde_json::Value as Json;

/// One exception list: its container and items.
#[derive(Debug, Clone, PartialEq)]
pub struct ExceptionList {
    /// `list_id`.
    pub list_id: String,
    /// `namespace_type`: `single` or `agnostic`.
    pub namespace_type: String,
    /// The container's `type`: `detection`, `endpoint`, `rule_default`, ...
    pub kind: String,
    /// Its `name`, for messages.
    pub name: String,
    /// Its items, in file order.
    pub items: Vec<Item>,
    /// Where the container was read: file and 1-based line.
    pub origin: (std::path::PathBuf, usize),
}

/// One exception item: its entries must all hold for an event to be
/// excepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// `item_id`.
    pub item_id: String,
    /// `name`, for messages.
    pub name: String,
    /// Its entries (ANDed).
    pub entries: Vec<Entry>,
    /// `os_types` (`windows`, `linux`, `macos`): when set, the entries hold
    /// only on events of one of these systems.
    pub os_types: Vec<String>,
    /// `expire_time`, in nanoseconds since the epoch: the item is ignored
    /// by executions after it.
    pub expire_time: Option<i64>,
}

/// One entry of an item.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// `match`: the field holds the value (any array element; exact,
    /// case-sensitive on keywords).
    Match {
        /// The field.
        field: String,
        /// The value.
        value: Json,
        /// `operator = "excluded"`.
        excluded: bool,
    },
    /// `match_any`: the field holds one of the values.
    MatchAny {
        /// The field.
        field: String,
        /// The values.
        values: Vec<Json>,
        /// `operator = "excluded"`.
        excluded: bool,
    },
    /// `exists`: the field has a non-null value.
    Exists {
        /// The field.
        field: String,
        /// `operator = "excluded"`.
        excluded: bool,
    },
    /// `wildcard`: a value matches the pattern (Elasticsearch's `wildcard`
    /// query: `*`, `?`, `\` escapes; case-sensitive).
    Wildcard {
        /// The field.
        field: String,
        /// The pattern, as written.
        pattern: String,
        /// `operator = "excluded"`.
        excluded: bool,
    },
    /// `list`: the field holds a value of a value list.
    List {
        /// The field.
        field: String,
        /// The value list's `id`.
        list_id: String,
        /// Its `type` (`keyword`, `ip`, `ip_range`, `text`, ...).
        list_type: String,
        /// `operator = "excluded"`.
        excluded: bool,
    },
    /// `nested`: one element of the object array at `field` satisfies
    /// every inner entry (their fields relative to it).
    Nested {
        /// The array's path.
        field: String,
        /// The inner entries.
        entries: Vec<Entry>,
    },
}

impl Entry {
    /// The entry with its field under `path` (a nested entry's inner
    /// entries name fields relative to the array).
    pub fn under(&self, path: &str) -> Entry {
        let join = |f: &str| format!("{path}.{f}");
        match self {
            Entry::Match {
                field,
                value,
                excluded,
            } => Entry::Match {
                field: join(field),
                value: value.clone(),
                excluded: *excluded,
            },
            Entry::MatchAny {
                field,
                values,
                excluded,
            } => Entry::MatchAny {
                field: join(field),
                values: values.clone(),
                excluded: *excluded,
            },
            Entry::Exists { field, excluded } => Entry::Exists {
                field: join(field),
                excluded: *excluded,
            },
            Entry::Wildcard {
                field,
                pattern,
                excluded,
            } => Entry::Wildcard {
                field: join(field),
                pattern: pattern.clone(),
                excluded: *excluded,
            },
            Entry::List {
                field,
                list_id,
                list_type,
                excluded,
            } => Entry::List {
                field: join(field),
                list_id: list_id.clone(),
                list_type: list_type.clone(),
                excluded: *excluded,
            },
            Entry::Nested { field, entries } => Entry::Nested {
                field: join(field),
                entries: entries.clone(),
            },
        }
    }
}
