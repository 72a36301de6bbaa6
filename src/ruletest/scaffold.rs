//! `ruleq test --new RULE_FILE`: a test file to fill in, at the rule's
//! mirrored path under the tests folder.
//!
//! It names the rule (`rule_id`, `rule_name`) and holds a case that must
//! alert and one that must not, each with placeholder events that carry
//! every field the rule's query reads (from its syntax tree), valued
//! `"TODO"`. For an EQL query each event also carries the event category of
//! its step, and a sequence gets one event per step, `_at` one after the
//! other. The placeholders match nothing, so the case that must alert fails
//! until its events are filled in.

use crate::rule::{Language, Rule, RuleFile, RuleType};
use crate::syntax::{eql, kql};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

/// The value of every placeholder field.
pub const PLACEHOLDER: &str = "TODO";

/// Fields a case stamps itself: never placeholders.
const STAMPED: &[&str] = &["@timestamp", "_id", "_index"];

/// One placeholder event: the event category (field and value) when the
/// query names one, and the fields the query reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placeholder {
    /// The category field and the step's category (EQL).
    pub category: Option<(String, String)>,
    /// Field names, sorted, without the category field.
    pub fields: Vec<String>,
}

fn eql_expr_fields<'a>(e: &'a eql::Expr, out: &mut BTreeSet<&'a str>) {
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        if let eql::Expr::Field(f) = e {
            out.insert(&f.name);
        }
        stack.extend(e.children());
    }
}

fn kql_expr_fields(e: &kql::Expr, prefix: &str, out: &mut BTreeSet<String>) {
    let named = |field: &kql::Field| match field {
        kql::Field::Name { name, .. } => Some(format!("{prefix}{name}")),
        // `process.*`: no one field to fill in.
        kql::Field::Pattern { .. } => None,
    };
    match e {
        kql::Expr::Or { operands, .. } | kql::Expr::And { operands, .. } => {
            for o in operands {
                kql_expr_fields(o, prefix, out);
            }
        }
        kql::Expr::Not { operand, .. } => kql_expr_fields(operand, prefix, out),
        kql::Expr::Nested { path, query, .. } => {
            if let Some(name) = named(path) {
                kql_expr_fields(query, &format!("{name}."), out);
            }
        }
        kql::Expr::Match { field, .. } | kql::Expr::Range { field, .. } => {
            out.extend(named(field));
        }
        kql::Expr::FreeText { .. } => {}
    }
}

fn placeholder<'a>(
    fields: impl IntoIterator<Item = &'a str>,
    category: Option<(String, String)>,
) -> Placeholder {
    let skip = category.as_ref().map(|(f, _)| f.as_str());
    let fields = fields
        .into_iter()
        .filter(|f| !STAMPED.contains(f) && Some(*f) != skip)
        .map(str::to_string)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    Placeholder { category, fields }
}

/// The placeholder events of a query, one per event it needs (a sequence's
/// steps, missing-event steps and `until` left out; a sample's filters),
/// with the `_at` gap between them in milliseconds for a sequence.
pub fn placeholders(rule: &Rule) -> Result<(Vec<Placeholder>, Option<u64>), String> {
    let (Some(query), Some(language)) = (&rule.query, &rule.language) else {
        return Ok((Vec::new(), None));
    };
    match language.value {
        Language::Kuery => {
            let q = kql::parse(&query.text).map_err(|e| format!("the KQL query: {e}"))?;
            let mut fields = BTreeSet::new();
            if let Some(e) = &q.expr {
                kql_expr_fields(e, "", &mut fields);
            }
            Ok((
                vec![placeholder(fields.iter().map(String::as_str), None)],
                None,
            ))
        }
        Language::Eql => {
            let q = eql::parse(&query.text).map_err(|e| format!("the EQL query: {e}"))?;
            let category_field = match rule.extra("event_category_override") {
                Some(serde_json::Value::String(f)) => f,
                _ => "event.category".to_string(),
            };
            let step = |filter: &eql::EventFilter, by: &[&eql::Expr]| {
                let mut fields = BTreeSet::new();
                eql_expr_fields(&filter.condition, &mut fields);
                for e in by {
                    eql_expr_fields(e, &mut fields);
                }
                let category = filter
                    .category
                    .as_ref()
                    .map(|c| (category_field.clone(), c.clone()));
                placeholder(fields, category)
            };
            Ok(match &q.body {
                eql::QueryBody::Event { filter } => (vec![step(filter, &[])], None),
                eql::QueryBody::Sequence(s) => {
                    let events: Vec<Placeholder> = s
                        .steps
                        .iter()
                        .filter(|st| !st.missing)
                        .flat_map(|st| {
                            let by: Vec<&eql::Expr> = s.by.iter().chain(&st.by).collect();
                            let one = step(&st.filter, &by);
                            std::iter::repeat_n(one, st.runs.unwrap_or(1).max(1) as usize)
                        })
                        .collect();
                    // One second apart, closer when `maxspan` is shorter.
                    let gaps = events.len().saturating_sub(1).max(1) as u64;
                    let gap = match &s.maxspan {
                        Some(m) if m.millis < 1000 * gaps => (m.millis / gaps).max(1),
                        _ => 1000,
                    };
                    (events, Some(gap))
                }
                eql::QueryBody::Sample(s) => (
                    s.steps
                        .iter()
                        .map(|st| {
                            let by: Vec<&eql::Expr> = s.by.iter().chain(&st.by).collect();
                            step(&st.filter, &by)
                        })
                        .collect(),
                    None,
                ),
            })
        }
        Language::Esql | Language::Lucene => Ok((Vec::new(), None)),
    }
}

/// A TOML basic string.
fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML key part: bare when it can be.
fn key_part(part: &str) -> String {
    let bare = !part.is_empty()
        && part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        part.to_string()
    } else {
        quoted(part)
    }
}

/// A field as a TOML key: dotted (nested), or one quoted key when another
/// field lies below it (`a.b` beside `a.b.c` cannot be both a value and a
/// table).
fn field_key(field: &str, all: &[&str]) -> String {
    let parent = all.iter().any(|f| {
        f.len() > field.len() && f.starts_with(field) && f[field.len()..].starts_with('.')
    });
    if parent || field.split('.').any(str::is_empty) {
        quoted(field)
    } else {
        field.split('.').map(key_part).collect::<Vec<_>>().join(".")
    }
}

fn write_events(out: &mut String, events: &[Placeholder], gap: Option<u64>) {
    for (n, event) in events.iter().enumerate() {
        out.push_str("  [[case.event]]\n");
        // The case fails while this stays: remove it once the event is real.
        out.push_str("  _placeholder = true\n");
        if let (Some(gap), true) = (gap, n > 0) {
            let at = gap * n as u64;
            let at = if at % 1000 == 0 {
                format!("{}s", at / 1000)
            } else {
                format!("{at}ms")
            };
            let _ = writeln!(out, "  _at = \"{at}\"");
        }
        let mut all: Vec<&str> = event.fields.iter().map(String::as_str).collect();
        if let Some((field, _)) = &event.category {
            all.push(field);
        }
        if let Some((field, value)) = &event.category {
            let _ = writeln!(out, "  {} = {}", field_key(field, &all), quoted(value));
        }
        for field in &event.fields {
            let _ = writeln!(
                out,
                "  {} = {}",
                field_key(field, &all),
                quoted(PLACEHOLDER)
            );
        }
    }
}

/// The scaffold test file for `rule` of `file`.
pub fn scaffold(file: &RuleFile, rule: &Rule) -> Result<String, String> {
    let id = rule
        .id()
        .ok_or_else(|| format!("{}: the rule has no rule_id", file.path.display()))?;
    let name = crate::detect::rule_name(rule);
    let (events, gap) = placeholders(rule)?;
    let sequence = gap.is_some();
    let mut out = String::new();
    let _ = writeln!(out, "# Tests of {}", file.path.display());
    out.push_str("# (written by `ruleq test --new`; run them with `ruleq test`).\n#\n");
    out.push_str(
        "# TODO: fill in the placeholder events. Each \"TODO\" value stands for a value\n\
         # the rule's query reads. Both cases fail while an event keeps its\n\
         # `_placeholder = true`: remove it once the event is real. Make the case that\n\
         # must not alert a near miss: the alerting case's events with one value changed.\n",
    );
    if let Err(why) = crate::detect::executor::executor(rule) {
        let _ = writeln!(
            out,
            "# Note: ruleq skips this rule's cases for now ({why})."
        );
    }
    if rule.rule_type.as_ref().map(|t| t.value) == Some(RuleType::Threshold) {
        out.push_str("# A threshold rule alerts on a count: add as many events as it needs.\n");
    }
    let _ = writeln!(out, "rule_id = {}", quoted(id));
    let _ = writeln!(out, "rule_name = {}", quoted(name));
    let cases = [
        (
            if sequence {
                "TODO: a sequence the rule must alert on"
            } else {
                "TODO: events the rule must alert on"
            },
            1,
            "values that match the query",
        ),
        (
            "TODO: a near miss the rule must not alert on",
            0,
            "the events above with one value changed so that the query does not match",
        ),
    ];
    for (name, alerts, todo) in cases {
        let _ = write!(
            out,
            "\n[[case]]\nname = {}\nalerts = {alerts}\n",
            quoted(name)
        );
        let _ = writeln!(out, "  # TODO: {todo}.");
        write_events(&mut out, &events, gap);
    }
    Ok(out)
}

/// A path without `.` parts.
fn clean(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

/// The test file of a rule file: its path under `tests`, as `ruleq test`
/// expects it, ending in `.toml`.
pub fn mirrored(rule_path: &Path, tests: &Path) -> Result<PathBuf, String> {
    let mut relative = clean(rule_path);
    if relative.is_absolute() {
        let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
        relative = relative
            .strip_prefix(&cwd)
            .map(Path::to_path_buf)
            .map_err(|_| {
                format!(
                    "{}: name the rule file by a path relative to the current folder, as `ruleq test -r` finds it",
                    rule_path.display()
                )
            })?;
    }
    if relative
        .components()
        .any(|c| matches!(c, Component::ParentDir))
    {
        return Err(format!(
            "{}: name the rule file by a path below the current folder, as `ruleq test -r` finds it",
            rule_path.display()
        ));
    }
    Ok(clean(tests).join(relative).with_extension("toml"))
}

/// Writes the scaffold test file of the rule file at `rule_path` under
/// `tests`, never over an existing file, and returns its path.
pub fn write_new(rule_path: &Path, tests: &Path) -> Result<PathBuf, String> {
    let file =
        crate::rule::load_file(rule_path).map_err(|e| format!("{}: {e}", rule_path.display()))?;
    let rule = match file.rules.as_slice() {
        [rule] => rule,
        [] => {
            return Err(format!(
                "{}: no rule could be read from it (see `ruleq check {}`)",
                rule_path.display(),
                rule_path.display()
            ))
        }
        rules => {
            return Err(format!(
                "{}: holds {} rules; a test file tests one rule, and --new writes one for a file of one rule",
                rule_path.display(),
                rules.len()
            ))
        }
    };
    let text = scaffold(&file, rule)?;
    let path = mirrored(rule_path, tests)?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => format!(
                "{} already exists: not overwritten (edit it, or remove it to start again)",
                path.display()
            ),
            _ => format!("{}: {e}", path.display()),
        })?;
    std::io::Write::write_all(&mut out, text.as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_nest_unless_another_field_lies_below() {
        let all = ["process.parent", "process.parent.name", "@x.y"];
        assert_eq!(field_key("process.parent", &all), "\"process.parent\"");
        assert_eq!(
            field_key("process.parent.name", &all),
            "process.parent.name"
        );
        assert_eq!(field_key("@x.y", &all), "\"@x\".y");
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(quoted("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
    }

    #[test]
    fn mirrored_paths_drop_dot_parts() {
        assert_eq!(
            mirrored(Path::new("./rules/x.toml"), Path::new("rule_tests")).unwrap(),
            Path::new("rule_tests/rules/x.toml")
        );
        assert!(mirrored(Path::new("../x.toml"), Path::new("t")).is_err());
    }
}
