//! Helpers shared by the integration tests: the shared-data location and the
//! corpus walker.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The shared test data folder from `RULEQ_SHARED`, or `None` (with the reason
/// printed) when the variable is unset. Panics when it is set but `sub` is
/// missing: a CI run that should have the data must not pass silently.
pub fn shared(sub: &str) -> Option<PathBuf> {
    let Some(root) = std::env::var_os("RULEQ_SHARED") else {
        eprintln!("skipped: RULEQ_SHARED is not set (the shared corpus is not available)");
        return None;
    };
    let path = Path::new(&root).join(sub);
    assert!(
        path.exists(),
        "RULEQ_SHARED is set but {} does not exist",
        path.display()
    );
    Some(path)
}

/// Every `.toml` file below `dir`, sorted.
pub fn toml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("readable corpus folder") {
            let path = entry.expect("readable entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The `[rule]` table of a detection-rules TOML file.
pub fn rule_table(path: &Path) -> toml::Table {
    let text = std::fs::read_to_string(path).expect("readable rule file");
    let doc: toml::Table = text
        .parse()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match doc.get("rule") {
        Some(toml::Value::Table(t)) => t.clone(),
        _ => toml::Table::new(),
    }
}
