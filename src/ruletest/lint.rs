//! Test files checked without running them (`ruleq check`): the schema,
//! whether `rule_id` names a rule that was checked, whether `rule_name`
//! agrees, whether each `events_file` exists. Problems are ordinary
//! diagnostics, so they show in `ruleq check`'s text, JSON and SARIF.

use super::file::{is_test_file, TestFile};
use crate::diag::Diagnostic;
use std::path::{Path, PathBuf};

/// Whether a file's text is a test file rather than a rule file: TOML
/// with a top-level `rule_id` or `[[case]]`, and no `[rule]`.
pub fn looks_like_test_file(source: &str) -> bool {
    if source.lines().any(|l| l.trim_start().starts_with("[rule]")) {
        return false;
    }
    crate::rule::toml::parse(source).is_ok_and(|doc| is_test_file(&doc))
}

/// The `.toml` files below `dir`, sorted; hidden folders and snapshot
/// folders left out.
pub fn test_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        paths.sort();
        for p in paths {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            let skip = name
                .as_deref()
                .is_some_and(|n| n.starts_with('.') || n == super::snapshot::DIR);
            if skip {
                continue;
            }
            if p.is_dir() {
                walk(&p, out)?;
            } else if p.extension().is_some_and(|e| e == "toml") {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, &mut out)?;
    Ok(out)
}

/// Checks one test file's text. `rule_name` gives the name of the checked
/// rule with a `rule_id` (`Some(None)` for a rule without a name), `None`
/// when no checked rule has it.
pub fn check_test_file<'a>(
    path: &Path,
    source: &str,
    rule_name: impl Fn(&str) -> Option<Option<&'a str>>,
) -> Vec<Diagnostic> {
    let test = match TestFile::parse(path, source.to_string()) {
        Ok(t) => t,
        Err(d) => return vec![d],
    };
    let mut out = Vec::new();
    match rule_name(&test.rule_id) {
        None => out.push(
            Diagnostic::error(
                "test::orphan",
                format!("no rule checked has rule_id {}", test.rule_id),
                test.rule_id_span,
            )
            .with_help("the rule was deleted or its id changed, or it was not among the paths checked: fix the id or remove the test file"),
        ),
        Some(actual) => {
            if let (Some((name, span)), Some(actual)) = (&test.rule_name, actual) {
                if name != actual {
                    out.push(
                        Diagnostic::warning(
                            "test::rule-name",
                            format!(
                                "rule_name \"{name}\" is not the name of rule {}: \"{actual}\"",
                                test.rule_id
                            ),
                            *span,
                        )
                        .with_help("a pasted wrong rule_id, or a renamed rule: fix one of them"),
                    );
                }
            }
        }
    }
    let dir = path.parent().unwrap_or(Path::new(""));
    for case in &test.cases {
        if let Some((file, span)) = &case.events_file {
            if !dir.join(file).is_file() {
                out.push(
                    Diagnostic::error(
                        "test::events-file",
                        format!("events_file \"{file}\" does not exist"),
                        *span,
                    )
                    .with_help(format!(
                        "the path is relative to the test file's folder, {}",
                        dir.display()
                    )),
                );
            }
        }
    }
    out
}
