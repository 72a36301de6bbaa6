//! From paths to loaded rule files.
//!
//! [`collect_paths`] expands the paths a user names (files, or directories
//! walked recursively for `.toml`, `.json` and `.ndjson`); [`load_file`] reads
//! one file in the format its extension names and types every rule in it.

use super::load::{json_rule, toml_rule};
use super::model::{Format, Rule};
use super::value::{Node, Value};
use crate::diag::Diagnostic;
use crate::syntax::Span;
use std::path::{Path, PathBuf};

/// A diagnostic about a file, and the rule it belongs to, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct FileDiagnostic {
    /// Index into [`RuleFile::rules`]; `None` for problems of the file itself.
    pub rule: Option<usize>,
    /// The diagnostic; its span is a byte range of [`RuleFile::source`].
    pub diagnostic: Diagnostic,
}

/// One file and the rules read from it.
#[derive(Debug, Clone)]
pub struct RuleFile {
    /// The path as found (relative paths stay relative).
    pub path: PathBuf,
    /// The file's text (invalid UTF-8 replaced, and reported).
    pub source: String,
    /// The format, from the extension.
    pub format: Format,
    /// The rules, in file order. A rule whose text could not be parsed at
    /// all is not here; its syntax error is.
    pub rules: Vec<Rule>,
    /// Everything found while loading.
    pub diagnostics: Vec<FileDiagnostic>,
}

/// The format a path's extension names, if it is a rule file.
pub fn format_of(path: &Path) -> Option<Format> {
    match path.extension()?.to_str()? {
        "toml" => Some(Format::Toml),
        "json" => Some(Format::Json),
        "ndjson" => Some(Format::Ndjson),
        _ => None,
    }
}

/// Expands `paths` into rule files, sorted within each directory. A named
/// file must have a rule file extension; a directory contributes every rule
/// file below it (hidden directories such as `.git` are skipped).
pub fn collect_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if meta.is_dir() {
            walk(path, &mut out)?;
        } else if format_of(path).is_some() {
            out.push(path.clone());
        } else {
            return Err(format!(
                "{}: not a rule file (rule files end in .toml, .json or .ndjson)",
                path.display()
            ));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let read = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut entries: Vec<_> = read
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let ty = entry
            .file_type()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if ty.is_dir() {
            // Symlinked directories are not followed, so a link cycle
            // cannot make the walk endless.
            if !hidden {
                walk(&path, out)?;
            }
        } else if format_of(&path).is_some() && (ty.is_file() || path.is_file()) {
            out.push(path);
        }
    }
    Ok(())
}

/// Reads and loads one rule file. I/O errors are returned; everything wrong
/// with the content becomes a diagnostic.
pub fn load_file(path: &Path) -> std::io::Result<RuleFile> {
    let bytes = std::fs::read(path)?;
    let format = format_of(path).unwrap_or(Format::Toml);
    Ok(load_bytes(path.to_path_buf(), format, bytes))
}

/// Loads rule file content already in memory.
pub fn load_bytes(path: PathBuf, format: Format, bytes: Vec<u8>) -> RuleFile {
    let (source, encoding_error) = match String::from_utf8(bytes) {
        Ok(s) => (s, None),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            (text, Some(at))
        }
    };
    let mut file = RuleFile {
        path,
        source,
        format,
        rules: Vec::new(),
        diagnostics: Vec::new(),
    };
    if let Some(at) = encoding_error {
        file.diagnostics.push(FileDiagnostic {
            rule: None,
            diagnostic: Diagnostic::error(
                "rule::encoding",
                "the file is not valid UTF-8",
                Span::new(at, at + 1),
            )
            .with_help("save the file as UTF-8"),
        });
        return file;
    }
    match format {
        Format::Toml => load_toml(&mut file),
        Format::Json => load_json(&mut file),
        Format::Ndjson => load_ndjson(&mut file),
    }
    file
}

fn push_rule(file: &mut RuleFile, rule: Rule, diags: Vec<Diagnostic>) {
    let index = file.rules.len();
    file.rules.push(rule);
    file.diagnostics
        .extend(diags.into_iter().map(|diagnostic| FileDiagnostic {
            rule: Some(index),
            diagnostic,
        }));
}

fn file_error(file: &mut RuleFile, diagnostic: Diagnostic) {
    file.diagnostics.push(FileDiagnostic {
        rule: None,
        diagnostic,
    });
}

fn load_toml(file: &mut RuleFile) {
    match super::toml::parse(&file.source) {
        Ok(doc) => {
            let mut diags = Vec::new();
            let rule = toml_rule(&file.source, &doc, &mut diags);
            push_rule(file, rule, diags);
        }
        Err(d) => file_error(file, d),
    }
}

fn load_json(file: &mut RuleFile) {
    let node = match super::json::parse(&file.source, 0, file.source.len()) {
        Ok(node) => node,
        Err(d) => return file_error(file, d),
    };
    match &node.value {
        Value::Table(_) => json_object(file, Format::Json, &node),
        Value::Array(items) => {
            for item in items {
                if matches!(item.value, Value::Table(_)) {
                    json_object(file, Format::Json, item);
                } else {
                    file_error(file, not_an_object(item));
                }
            }
        }
        _ => file_error(file, not_an_object(&node)),
    }
}

fn not_an_object(node: &Node) -> Diagnostic {
    Diagnostic::error(
        "rule::type",
        format!("a rule is a JSON object, found {}", node.value.type_name()),
        node.span,
    )
    .with_help("a Kibana rule file holds one rule object, or an array of them")
}

fn load_ndjson(file: &mut RuleFile) {
    let source = file.source.clone();
    let mut summary: Option<(Span, i64)> = None;
    let mut offset = 0;
    for line in source.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let end = start + line.trim_end().len();
        if source[start..end].trim().is_empty() {
            continue;
        }
        let node = match super::json::parse(&source, start, end) {
            Ok(node) => node,
            Err(d) => {
                file_error(file, d);
                continue;
            }
        };
        if !matches!(node.value, Value::Table(_)) {
            file_error(
                file,
                Diagnostic::error(
                    "rule::type",
                    format!(
                        "each line of a rule export is a JSON object, found {}",
                        node.value.type_name()
                    ),
                    node.span,
                ),
            );
            continue;
        }
        if [
            "exported_rules_count",
            "exported_count",
            "exported_exception_list_count",
        ]
        .iter()
        .any(|k| node.get(k).is_some())
        {
            // Kibana ends an export (of rules, or of exception lists) with a
            // summary object.
            let count = node
                .get("exported_rules_count")
                .and_then(|e| match e.value.value {
                    Value::Integer(n) => Some((e.value.span, n)),
                    _ => None,
                });
            summary = count.or(summary);
            continue;
        }
        json_object(file, Format::Ndjson, &node);
    }
    if let Some((span, expected)) = summary {
        let found = file.rules.len() as i64;
        if expected != found {
            file_error(
                file,
                Diagnostic::warning(
                    "rule::export-count",
                    format!("the export summary counts {expected} rules, the file has {found}"),
                    span,
                )
                .with_help("the export may have been cut short or edited; export the rules again"),
            );
        }
    }
}

fn json_object(file: &mut RuleFile, format: Format, node: &Node) {
    // Exports can carry exception lists and action connectors next to the
    // rules; they are not rules, and ruleq says so rather than skip them.
    let other = if node.get("list_id").is_some() && node.get("rule_id").is_none() {
        Some("an exception list or list item")
    } else if node.get("attributes").is_some() && node.get("rule_id").is_none() {
        Some("a saved object (an action connector)")
    } else {
        None
    };
    if let Some(what) = other {
        file_error(
            file,
            Diagnostic::note(
                "rule::not-a-rule",
                format!("{what}: not a rule, not checked"),
                Span::new(node.span.start, node.span.start + 1),
            ),
        );
        return;
    }
    let mut diags = Vec::new();
    let rule = json_rule(&file.source, format, node, &mut diags);
    push_rule(file, rule, diags);
}
