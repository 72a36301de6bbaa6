//! Keeps two import circles from coming back (issue 23): `compile` below
//! `eval`, and within the event layer `record` below the two readers below
//! the projector.
//!
//! The check reads the source: a module "mentions" another when a code line
//! (comments dropped) names it as a path segment (`crate::eval`,
//! `super::scan::x`, `eval::passes`) or inside a `use` statement
//! (`use crate::{eval, event}`). Doc comments may name anything.

use std::fs;
use std::path::{Path, PathBuf};

/// The lines of `text` without comments: lines starting with `//` dropped,
/// and whatever follows a `//` on a code line.
fn code_lines(text: &str) -> Vec<(usize, &str)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .map(|(i, l)| (i + 1, l.find("//").map_or(l, |c| &l[..c])))
        .collect()
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The lines of `text` that mention one of `modules` as a path segment or
/// in a `use` statement, or the name `item` (a type) anywhere.
fn mentions(text: &str, modules: &[&str], item: Option<&str>) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut in_use = false;
    for (n, line) in code_lines(text) {
        let trimmed = line.trim_start();
        let starts_use = ["use ", "pub use ", "pub(crate) use ", "pub(super) use "]
            .iter()
            .any(|p| trimmed.starts_with(p));
        in_use |= starts_use;
        let mut hit = false;
        let mut start = None;
        // Identifiers with the text around them.
        for (i, c) in line.char_indices().chain([(line.len(), ' ')]) {
            match (start, is_ident(c)) {
                (None, true) => start = Some(i),
                (Some(s), false) => {
                    let word = &line[s..i];
                    let before = line[..s].trim_end();
                    let after = line[i..].trim_start();
                    let path = before.ends_with("::") || after.starts_with("::");
                    if (modules.contains(&word) && (path || in_use)) || Some(word) == item {
                        hit = true;
                    }
                    start = None;
                }
                _ => {}
            }
        }
        if hit {
            found.push((n, line.trim().to_string()));
        }
        if line.contains(';') {
            in_use = false;
        }
    }
    found
}

fn src(path: &str) -> PathBuf {
    // Cargo sets the variable when it runs tests too; read then, it lets
    // the built test check another checkout.
    let root = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    root.join("src").join(path)
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Fails listing every line of `file` that mentions one of `modules` or
/// `item`.
fn forbid(file: &Path, modules: &[&str], item: Option<&str>, why: &str) -> Vec<String> {
    mentions(&read(file), modules, item)
        .into_iter()
        .map(|(n, line)| format!("{}:{n}: `{line}` ({why})", file.display()))
        .collect()
}

#[test]
fn compile_does_not_import_eval() {
    let mut files = Vec::new();
    rust_files(&src("compile"), &mut files);
    assert!(files.len() > 5, "src/compile has moved?");
    let errors: Vec<String> = files
        .iter()
        .flat_map(|f| forbid(f, &["eval"], None, "eval imports compile, not back"))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn event_projection_imports_run_one_way() {
    // Each module with what it must not mention: everything above it.
    let rules: [(&str, &[&str], &str); 5] = [
        (
            "fields.rs",
            &["record", "text", "project", "scan", "projector"],
            "the field table is the lowest layer",
        ),
        (
            "record.rs",
            &["text", "project", "scan", "projector"],
            "record holds the data types, below the readers",
        ),
        (
            "text.rs",
            &["project", "scan", "projector"],
            "the string helpers are below the readers",
        ),
        (
            "project.rs",
            &["scan", "projector"],
            "the serde projection is beside the scanner, below the projector",
        ),
        (
            "scan.rs",
            &["project", "projector"],
            "the scanner is beside the serde projection, below the projector",
        ),
    ];
    let mut errors = Vec::new();
    for (file, modules, why) in rules {
        errors.extend(forbid(
            &src("event").join(file),
            modules,
            Some("Projector"),
            why,
        ));
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn the_check_sees_what_it_should() {
    let flagged = |text: &str| !mentions(text, &["eval"], None).is_empty();
    assert!(flagged("use crate::eval::passes;"));
    assert!(flagged("    let x = crate::eval::lit_text(lit);"));
    assert!(flagged("use super::super::eval;"));
    assert!(flagged("use crate::{event::Value, eval};"));
    assert!(flagged("use crate::{\n    event::Value,\n    eval,\n};"));
    assert!(flagged("    x.map(eval::passes) // eval"));
    assert!(!flagged("/// See [`crate::eval::passes`]."));
    assert!(!flagged("//! `crate::eval` imports this."));
    assert!(!flagged("let y = f(x); // crate::eval::passes"));
    assert!(!flagged("fn eval(x: u8) -> u8 { x }"));
    assert!(!flagged("use crate::event;\nfn f() { eval(); }"));
    assert!(mentions("pub(crate) fn project<'a>(", &["project"], None).is_empty());
    assert!(!mentions("let p = Projector::new(t);", &[], Some("Projector")).is_empty());
}
