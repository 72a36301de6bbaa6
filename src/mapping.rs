//! Elasticsearch index mappings (`--mapping FILE`): field types, aliases,
//! multi-fields, `null_value` and date formats, by dotted field path.
//!
//! This module only parses and represents a mapping; the compiler and the
//! evaluator decide what the types mean. Several mappings (one per index
//! queried together) merge into one: a field mapped differently by two
//! indices keeps the first type and lists the others, and its date formats
//! are the union, since Elasticsearch accepts a value matching any index's
//! format for that field.
//!
//! Aliases are resolved to their targets' paths: the event carries the
//! target field (`event_type`), never the alias (`event.category`), so the
//! compiler must intern [`Mapping::resolve`]'s answer.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde_json::{Map, Value};

/// The type of a mapped field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldType {
    /// `keyword`.
    Keyword,
    /// `constant_keyword`.
    ConstantKeyword,
    /// `wildcard` (a keyword for matching purposes).
    Wildcard,
    /// `text` (analysed).
    Text,
    /// `match_only_text` (analysed).
    MatchOnlyText,
    /// `ip`.
    Ip,
    /// `date` (millisecond precision).
    Date,
    /// `date_nanos`.
    DateNanos,
    /// `version` (semantic-version ordering).
    Version,
    /// `long`.
    Long,
    /// `integer`.
    Integer,
    /// `short`.
    Short,
    /// `byte`.
    Byte,
    /// `unsigned_long`.
    UnsignedLong,
    /// `double`.
    Double,
    /// `float`.
    Float,
    /// `half_float`.
    HalfFloat,
    /// `scaled_float`.
    ScaledFloat,
    /// `boolean`.
    Boolean,
    /// An object with `properties` (explicit `object` or no type).
    Object,
    /// `nested`: an array of objects whose objects are matched one by one.
    Nested,
    /// `flattened`.
    Flattened,
    /// Any other type name, kept as written.
    Other(String),
}

impl FieldType {
    /// The type named `name` in a mapping.
    pub fn from_name(name: &str) -> FieldType {
        use FieldType::*;
        match name {
            "keyword" => Keyword,
            "constant_keyword" => ConstantKeyword,
            "wildcard" => Wildcard,
            "text" => Text,
            "match_only_text" => MatchOnlyText,
            "ip" => Ip,
            "date" => Date,
            "date_nanos" => DateNanos,
            "version" => Version,
            "long" => Long,
            "integer" => Integer,
            "short" => Short,
            "byte" => Byte,
            "unsigned_long" => UnsignedLong,
            "double" => Double,
            "float" => Float,
            "half_float" => HalfFloat,
            "scaled_float" => ScaledFloat,
            "boolean" => Boolean,
            "object" => Object,
            "nested" => Nested,
            "flattened" => Flattened,
            other => Other(other.to_string()),
        }
    }

    /// The type's name as a mapping writes it.
    pub fn name(&self) -> &str {
        use FieldType::*;
        match self {
            Keyword => "keyword",
            ConstantKeyword => "constant_keyword",
            Wildcard => "wildcard",
            Text => "text",
            MatchOnlyText => "match_only_text",
            Ip => "ip",
            Date => "date",
            DateNanos => "date_nanos",
            Version => "version",
            Long => "long",
            Integer => "integer",
            Short => "short",
            Byte => "byte",
            UnsignedLong => "unsigned_long",
            Double => "double",
            Float => "float",
            HalfFloat => "half_float",
            ScaledFloat => "scaled_float",
            Boolean => "boolean",
            Object => "object",
            Nested => "nested",
            Flattened => "flattened",
            Other(s) => s,
        }
    }

    /// Whole-value string types (matched as keywords).
    pub fn is_keyword(&self) -> bool {
        matches!(
            self,
            FieldType::Keyword | FieldType::ConstantKeyword | FieldType::Wildcard
        )
    }

    /// Analysed string types.
    pub fn is_text(&self) -> bool {
        matches!(self, FieldType::Text | FieldType::MatchOnlyText)
    }

    /// Numeric types.
    pub fn is_numeric(&self) -> bool {
        self.is_integer()
            || matches!(
                self,
                FieldType::Double
                    | FieldType::Float
                    | FieldType::HalfFloat
                    | FieldType::ScaledFloat
            )
    }

    /// Integer types.
    pub fn is_integer(&self) -> bool {
        matches!(
            self,
            FieldType::Long
                | FieldType::Integer
                | FieldType::Short
                | FieldType::Byte
                | FieldType::UnsignedLong
        )
    }

    /// Date types.
    pub fn is_date(&self) -> bool {
        matches!(self, FieldType::Date | FieldType::DateNanos)
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Elasticsearch's formats for a `date` field that names none.
pub const DEFAULT_DATE_FORMATS: &[&str] = &["strict_date_optional_time", "epoch_millis"];

/// Elasticsearch's formats for a `date_nanos` field that names none.
pub const DEFAULT_DATE_NANOS_FORMATS: &[&str] =
    &["strict_date_optional_time_nanos", "epoch_millis"];

/// How one field is mapped.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldMapping {
    /// The type (the first one seen, when merged mappings disagree).
    pub ty: FieldType,
    /// Other types that merged mappings gave this field, in order.
    pub other_types: Vec<FieldType>,
    /// The value indexed for an explicit JSON `null` (`null_value`).
    pub null_value: Option<Value>,
    /// Date format patterns (`format`, split at `||`), the union over merged
    /// mappings; empty when none was given (see [`FieldMapping::date_formats`]).
    pub formats: Vec<String>,
    /// For a multi-field (`file_name.keyword`), the field whose value it
    /// indexes (`file_name`): the event holds only that one.
    pub multi_field_of: Option<String>,
    /// `ignore_above`: longer strings are not indexed for this field.
    pub ignore_above: Option<u64>,
    /// `scaling_factor` of a `scaled_float`.
    pub scaling_factor: Option<f64>,
    /// The `value` of a `constant_keyword` (a number is read as its text);
    /// none when the mapping gives none, or merged mappings disagree.
    pub constant: Option<String>,
}

impl FieldMapping {
    fn new(ty: FieldType) -> Self {
        FieldMapping {
            ty,
            other_types: Vec::new(),
            null_value: None,
            formats: Vec::new(),
            multi_field_of: None,
            ignore_above: None,
            scaling_factor: None,
            constant: None,
        }
    }

    /// The value every document of the index holds in this field: a
    /// `constant_keyword`'s `value`, when every merged mapping gives the
    /// field that type and that value.
    ///
    /// Elasticsearch gives a `constant_keyword` its mapped value on every
    /// document, sent or not (a document with another value is rejected).
    /// Without a `value` it takes the first indexed document's, which an
    /// offline run cannot know: such a field is read from each event as
    /// it is, like a `keyword`.
    pub fn constant_value(&self) -> Option<&str> {
        match self.ty {
            FieldType::ConstantKeyword if self.other_types.is_empty() => self.constant.as_deref(),
            _ => None,
        }
    }

    /// The date formats in force: the mapping's own, or Elasticsearch's
    /// defaults for the date type.
    pub fn date_formats(&self) -> Vec<&str> {
        if !self.formats.is_empty() {
            return self.formats.iter().map(String::as_str).collect();
        }
        match self.ty {
            FieldType::DateNanos => DEFAULT_DATE_NANOS_FORMATS.to_vec(),
            _ => DEFAULT_DATE_FORMATS.to_vec(),
        }
    }
}

/// A mapping that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingError {
    /// The file, when read from one.
    pub file: Option<String>,
    /// The field path (dotted) where the problem is, if any.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for MappingError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}: ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for MappingError {}

fn error(field: &str, message: impl Into<String>) -> MappingError {
    MappingError {
        file: None,
        field: (!field.is_empty()).then(|| field.to_string()),
        message: message.into(),
    }
}

/// One or more merged index mappings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mapping {
    fields: BTreeMap<String, FieldMapping>,
    aliases: BTreeMap<String, String>,
}

impl Mapping {
    /// An empty mapping.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses mapping JSON: `{"properties": ...}`, `{"mappings": {...}}`, or
    /// the output of `GET <index>/_mapping` (`{"<index>": {"mappings":
    /// ...}, ...}`, the indices merged).
    pub fn parse(text: &str) -> Result<Mapping, MappingError> {
        let value: Value = serde_json::from_str(text).map_err(|e| error("", e.to_string()))?;
        Mapping::from_json(&value)
    }

    /// Reads and parses a mapping file.
    pub fn from_file(path: &Path) -> Result<Mapping, MappingError> {
        let with_file = |mut e: MappingError| {
            e.file = Some(path.display().to_string());
            e
        };
        let text =
            std::fs::read_to_string(path).map_err(|e| with_file(error("", e.to_string())))?;
        Mapping::parse(&text).map_err(with_file)
    }

    /// Builds a mapping from parsed JSON (see [`Mapping::parse`]).
    pub fn from_json(value: &Value) -> Result<Mapping, MappingError> {
        let obj = value
            .as_object()
            .ok_or_else(|| error("", "a mapping must be a JSON object"))?;
        let mut m = Mapping::new();
        if obj.contains_key("properties") || obj.contains_key("runtime") {
            m.read_root(obj)?;
        } else if let Some(inner) = obj.get("mappings") {
            let inner = inner
                .as_object()
                .ok_or_else(|| error("", "`mappings` must be an object"))?;
            m.read_mappings(inner)?;
        } else {
            // `GET _mapping` output: one entry per index.
            for (index, v) in obj {
                let inner = v
                    .get("mappings")
                    .and_then(Value::as_object)
                    .ok_or_else(|| {
                        error(
                            "",
                            format!(
                                "not a mapping: expected `properties` or `mappings`, found `{index}`"
                            ),
                        )
                    })?;
                let mut one = Mapping::new();
                one.read_mappings(inner)?;
                m.merge(one);
            }
        }
        Ok(m)
    }

    /// The body of `mappings`: properties, or (before Elasticsearch 7) one
    /// mapping type such as `_doc` holding them.
    fn read_mappings(&mut self, obj: &Map<String, Value>) -> Result<(), MappingError> {
        if obj.contains_key("properties") || obj.contains_key("runtime") || obj.is_empty() {
            return self.read_root(obj);
        }
        let mut types = obj.values().filter_map(Value::as_object);
        match (types.next(), types.next()) {
            (Some(t), None) if t.contains_key("properties") => self.read_root(t),
            _ => Err(error("", "`mappings` has no `properties`")),
        }
    }

    fn read_root(&mut self, obj: &Map<String, Value>) -> Result<(), MappingError> {
        if let Some(props) = obj.get("properties") {
            self.read_properties("", props)?;
        }
        // Runtime fields are fields of the index as far as queries go.
        if let Some(runtime) = obj.get("runtime") {
            let runtime = runtime
                .as_object()
                .ok_or_else(|| error("", "`runtime` must be an object"))?;
            for (name, def) in runtime {
                self.read_field(name, def, None)?;
            }
        }
        Ok(())
    }

    fn read_properties(&mut self, prefix: &str, props: &Value) -> Result<(), MappingError> {
        let props = props
            .as_object()
            .ok_or_else(|| error(prefix, "`properties` must be an object"))?;
        for (name, def) in props {
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            self.read_field(&path, def, None)?;
        }
        Ok(())
    }

    fn read_field(
        &mut self,
        path: &str,
        def: &Value,
        parent: Option<&str>,
    ) -> Result<(), MappingError> {
        let def = def
            .as_object()
            .ok_or_else(|| error(path, "a field definition must be an object"))?;
        let ty = match def.get("type") {
            Some(Value::String(t)) => FieldType::from_name(t),
            Some(_) => return Err(error(path, "`type` must be a string")),
            None if def.contains_key("properties") => FieldType::Object,
            None => return Err(error(path, "no `type` and no `properties`")),
        };
        if ty == FieldType::Other("alias".into()) {
            let target = def
                .get("path")
                .and_then(Value::as_str)
                .ok_or_else(|| error(path, "an alias needs a `path` string"))?;
            self.aliases
                .entry(path.to_string())
                .or_insert_with(|| target.to_string());
            return Ok(());
        }
        let mut fm = FieldMapping::new(ty);
        fm.multi_field_of = parent.map(str::to_string);
        if let Some(v) = def.get("null_value") {
            if !v.is_null() {
                fm.null_value = Some(v.clone());
            }
        }
        match def.get("format") {
            Some(Value::String(f)) => fm.formats = split_formats(f),
            Some(_) => return Err(error(path, "`format` must be a string")),
            None => {}
        }
        fm.ignore_above = def.get("ignore_above").and_then(Value::as_u64);
        fm.scaling_factor = def.get("scaling_factor").and_then(Value::as_f64);
        if fm.ty == FieldType::ConstantKeyword {
            fm.constant = match def.get("value") {
                None | Some(Value::Null) => None,
                Some(Value::String(v)) => Some(v.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                Some(_) => {
                    return Err(error(
                        path,
                        "a constant_keyword `value` must be a string or a number",
                    ))
                }
            };
        }
        self.add(path, fm);
        if let Some(props) = def.get("properties") {
            self.read_properties(path, props)?;
        }
        if let Some(multi) = def.get("fields") {
            let multi = multi
                .as_object()
                .ok_or_else(|| error(path, "`fields` must be an object"))?;
            for (name, sub) in multi {
                self.read_field(&format!("{path}.{name}"), sub, Some(path))?;
            }
        }
        Ok(())
    }

    fn add(&mut self, path: &str, fm: FieldMapping) {
        match self.fields.get_mut(path) {
            None => {
                self.fields.insert(path.to_string(), fm);
            }
            Some(old) => old.absorb(fm),
        }
    }

    /// Reads and merges several mapping files (`--mapping`, repeatable);
    /// `None` when there are none.
    pub fn from_files(paths: &[std::path::PathBuf]) -> Result<Option<Mapping>, MappingError> {
        let mut merged: Option<Mapping> = None;
        for path in paths {
            let m = Mapping::from_file(path)?;
            match &mut merged {
                Some(all) => all.merge(m),
                None => merged = Some(m),
            }
        }
        Ok(merged)
    }

    /// Merges `other` into this mapping (as when several indices are
    /// queried together).
    pub fn merge(&mut self, other: Mapping) {
        for (path, fm) in other.fields {
            self.add(&path, fm);
        }
        for (path, target) in other.aliases {
            self.aliases.entry(path).or_insert(target);
        }
    }

    /// The path `path` stands for: an alias's target, or itself.
    pub fn resolve<'m>(&'m self, path: &'m str) -> &'m str {
        self.aliases.get(path).map_or(path, String::as_str)
    }

    /// The target of an alias.
    pub fn alias_target(&self, path: &str) -> Option<&str> {
        self.aliases.get(path).map(String::as_str)
    }

    /// How `path` is mapped, following an alias.
    pub fn field(&self, path: &str) -> Option<&FieldMapping> {
        self.fields.get(self.resolve(path))
    }

    /// Whether the mapping knows `path` (a field, an object or an alias).
    pub fn contains(&self, path: &str) -> bool {
        self.aliases.contains_key(path) || self.fields.contains_key(path)
    }

    /// Every mapped field (not aliases) with its mapping, by path.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &FieldMapping)> {
        self.fields.iter().map(|(p, f)| (p.as_str(), f))
    }

    /// Every alias with its target, by path.
    pub fn aliases(&self) -> impl Iterator<Item = (&str, &str)> {
        self.aliases.iter().map(|(p, t)| (p.as_str(), t.as_str()))
    }

    /// Aliases whose target is not a mapped field (Elasticsearch rejects
    /// such a mapping; merged mappings may still supply the target later).
    pub fn dangling_aliases(&self) -> Vec<(&str, &str)> {
        self.aliases()
            .filter(|(_, t)| !self.fields.contains_key(*t))
            .collect()
    }

    /// Every field whose value is the same on every document (see
    /// [`FieldMapping::constant_value`]), with that value, by path.
    pub fn constants(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields()
            .filter_map(|(p, f)| f.constant_value().map(|v| (p, v)))
    }

    /// Whether the mapping has no fields and no aliases.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.aliases.is_empty()
    }
}

impl FieldMapping {
    /// Folds another index's mapping of the same field into this one.
    fn absorb(&mut self, other: FieldMapping) {
        if other.ty != self.ty && !self.other_types.contains(&other.ty) {
            self.other_types.push(other.ty);
        }
        for f in other.formats {
            if !self.formats.contains(&f) {
                self.formats.push(f);
            }
        }
        if self.null_value.is_none() {
            self.null_value = other.null_value;
        }
        if self.multi_field_of.is_none() {
            self.multi_field_of = other.multi_field_of;
        }
        if self.ignore_above.is_none() {
            self.ignore_above = other.ignore_above;
        }
        if self.scaling_factor.is_none() {
            self.scaling_factor = other.scaling_factor;
        }
        // One index without the value, or with another, leaves the field
        // without a value every document shares.
        if self.constant != other.constant {
            self.constant = None;
        }
    }
}

/// `a||b` → `[a, b]`.
fn split_formats(f: &str) -> Vec<String> {
    f.split("||")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}
