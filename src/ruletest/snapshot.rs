//! Snapshots (`ruleq test`): what a case's alerts were, and what its rule's
//! queries mean, recorded beside the test file for review.
//!
//! - A case with `snapshot = true` records a projection of its alert
//!   documents in `__snapshots__/<stem>@<case-slug>.snap`.
//! - `[snapshots] ast = true` records the rule's syntax trees, without
//!   spans, in `__snapshots__/<stem>.ast.snap`: a reformat of the query
//!   leaves it as it is, a change of meaning shows as a diff.
//!
//! A snapshot file is an insta-like header (`---`, `key: value` lines,
//! `---`) and a JSON body; only the body is compared. What a run writes is
//! up to its [`Mode`], as with insta: a new or changed snapshot goes to
//! `<name>.snap.new` ("pending") until it is accepted.

use super::file::{Case, TestFile};
use crate::rule::{Language, QueryText, Rule};
use crate::syntax::{eql, kql, strip_spans, to_pretty_json};
use serde_json::{Map, Value as Json};
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};

/// The folder of snapshots beside the test files.
pub const DIR: &str = "__snapshots__";

/// What a run may write (insta's `INSTA_UPDATE`, here `RULEQ_UPDATE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A new or changed snapshot fails and is written to `.snap.new`
    /// (the default, unless `CI` is set).
    New,
    /// Nothing is written; a missing or changed snapshot fails (the
    /// default when `CI` is set).
    No,
    /// A brand-new snapshot is written as `.snap`; a changed one goes to
    /// `.snap.new`.
    Unseen,
    /// Every snapshot is written as `.snap`, without review (`--update`).
    Always,
}

impl Mode {
    /// The mode `RULEQ_UPDATE` names: `new`, `no`, `unseen` or `always`.
    pub fn parse(text: &str) -> Option<Mode> {
        match text {
            "new" => Some(Mode::New),
            "no" => Some(Mode::No),
            "unseen" => Some(Mode::Unseen),
            "always" => Some(Mode::Always),
            _ => None,
        }
    }

    /// The mode of a run: `--update` (always), else `RULEQ_UPDATE`, else
    /// `no` in CI and `new` elsewhere.
    pub fn resolve(update: bool, env: Option<&str>, ci: bool) -> Result<Mode, String> {
        if update {
            return Ok(Mode::Always);
        }
        match env {
            Some(text) if !text.is_empty() => Mode::parse(text)
                .ok_or_else(|| format!("RULEQ_UPDATE={text}: expected new, no, unseen or always")),
            _ => Ok(if ci { Mode::No } else { Mode::New }),
        }
    }
}

/// Whether the run is in CI: `CI` is set to something other than empty,
/// `0` or `false`.
pub fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false"))
}

/// What to do with a snapshot no case or file setting records any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreferenced {
    /// Say so (the default, unless `CI` is set).
    Warn,
    /// Say so and fail (the default when `CI` is set).
    Reject,
    /// Delete it.
    Delete,
    /// Say nothing.
    Ignore,
}

/// The snapshot folder of a test file.
pub fn dir(test: &Path) -> PathBuf {
    test.parent().unwrap_or(Path::new("")).join(DIR)
}

fn stem(test: &Path) -> String {
    test.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `__snapshots__/<stem>@<case-slug>.snap` beside the test file.
pub fn case_path(test: &Path, case: &Case) -> PathBuf {
    dir(test).join(format!("{}@{}.snap", stem(test), case.slug))
}

/// `__snapshots__/<stem>.ast.snap` beside the test file.
pub fn ast_path(test: &Path) -> PathBuf {
    dir(test).join(format!("{}.ast.snap", stem(test)))
}

/// Where a pending snapshot of `path` is written: `<path>.new`.
pub fn pending_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".new");
    PathBuf::from(name)
}

/// The snapshot a pending file would become: `<path>` without `.new`.
pub fn accepted_path(pending: &Path) -> PathBuf {
    let text = pending.as_os_str().to_string_lossy();
    PathBuf::from(text.strip_suffix(".new").unwrap_or(&text))
}

/// The test file's path as headers name it: from the tests folder's own
/// name down, with `/`, so that it does not depend on where ruleq ran.
pub fn source_name(test: &Path, tests_dir: &Path) -> String {
    let clean = |p: &Path| {
        p.components()
            .filter(|c| c.as_os_str() != ".")
            .collect::<PathBuf>()
    };
    let (test, root) = (clean(test), clean(tests_dir));
    let shown = match (test.strip_prefix(&root), root.file_name()) {
        (Ok(rest), Some(name)) => Path::new(name).join(rest),
        _ => test,
    };
    shown
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// The alert fields a case snapshot keeps (design §3.8): the rule's own
/// metadata and the copied source fields are left out.
pub const PROJECTED: &[&str] = &[
    "@timestamp",
    "kibana.alert.uuid",
    "kibana.alert.original_time",
    "kibana.alert.reason",
    "kibana.alert.severity",
    "kibana.alert.risk_score",
    "kibana.alert.rule.rule_id",
    "kibana.alert.rule.name",
    "kibana.alert.building_block_type",
    "kibana.alert.group.id",
    "kibana.alert.group.index",
];

/// JSON with every object's keys sorted.
fn sorted(value: Json) -> Json {
    match value {
        Json::Object(map) => {
            let mut entries: Vec<(String, Json)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Json::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Json::Array(items) => Json::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// The projection of alert documents a case snapshot holds: for each, in
/// output order, the [`PROJECTED`] fields it has and `events`, the ids of
/// its ancestors that are events (not alerts), in order.
pub fn projection(documents: &[Map<String, Json>]) -> Json {
    let alerts = documents
        .iter()
        .map(|doc| {
            let mut out = Map::new();
            for key in PROJECTED {
                if let Some(v) = doc.get(*key) {
                    out.insert((*key).to_string(), v.clone());
                }
            }
            let events: Vec<Json> = doc
                .get("kibana.alert.ancestors")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .filter(|a| a.get("type").and_then(Json::as_str) == Some("event"))
                .filter_map(|a| a.get("id").cloned())
                .collect();
            out.insert("events".into(), Json::Array(events));
            Json::Object(out)
        })
        .collect();
    sorted(Json::Array(alerts))
}

fn contents(header: &[(&str, &str)], body: &Json) -> String {
    let mut out = String::from("---\n");
    for (k, v) in header {
        // A header value is one line.
        out.push_str(&format!("{k}: {}\n", v.replace('\n', " ")));
    }
    out.push_str("---\n");
    out.push_str(&to_pretty_json(body));
    out.push('\n');
    out
}

/// A case snapshot's text: the header (`source`, `case`, `rule_id`) and
/// the [`projection`] of its alert documents.
pub fn case_contents(
    source: &str,
    case: &Case,
    rule_id: &str,
    documents: &[Map<String, Json>],
) -> String {
    contents(
        &[
            ("source", source),
            ("case", &case.name),
            ("rule_id", rule_id),
        ],
        &projection(documents),
    )
}

/// A query's syntax tree without spans, and its language; a language
/// ruleq does not parse (Lucene, ES|QL) is recorded by name only.
fn query_tree(query: &QueryText, language: Language) -> Result<Json, String> {
    let (name, tree) = match language {
        Language::Eql => (
            "eql",
            eql::parse(&query.text)
                .map(|q| serde_json::to_value(q).expect("the EQL AST always serializes"))
                .map_err(|d| d.message)?,
        ),
        Language::Kuery => (
            "kuery",
            kql::parse(&query.text)
                .map(|q| q.without_spans())
                .map_err(|d| d.message)?,
        ),
        Language::Lucene => ("lucene", Json::Null),
        Language::Esql => ("esql", Json::Null),
    };
    let mut tree = tree;
    strip_spans(&mut tree);
    let mut out = Map::new();
    out.insert("language".into(), Json::String(name.into()));
    if !tree.is_null() {
        out.insert("ast".into(), tree);
    }
    Ok(Json::Object(out))
}

/// A rule's `filters` as they act: disabled ones left out, each kept as
/// its clause and whether it is negated (Kibana's display fields, such as
/// `meta.alias` or `meta.key`, dropped).
fn filters(rule: &Rule) -> Vec<Json> {
    let Some(Json::Array(items)) = rule.extra("filters") else {
        return Vec::new();
    };
    items
        .into_iter()
        .filter_map(|f| {
            let meta = f.get("meta");
            let flag = |k: &str| meta.and_then(|m| m.get(k)).and_then(Json::as_bool) == Some(true);
            if flag("disabled") {
                return None;
            }
            let clause = match f.get("query") {
                Some(q) => q.clone(),
                None => {
                    let mut rest = f.as_object().cloned().unwrap_or_default();
                    for k in ["meta", "$state"] {
                        rest.shift_remove(k);
                    }
                    Json::Object(rest)
                }
            };
            let mut out = Map::new();
            out.insert("negate".into(), Json::Bool(flag("negate")));
            out.insert("query".into(), clause);
            Some(Json::Object(out))
        })
        .collect()
}

/// What an AST snapshot holds: the syntax tree of the rule's `query`, its
/// `filters` as they act, and the tree of `threat_query` where there is
/// one; no metadata, no query text.
pub fn ast_body(rule: &Rule) -> Result<Json, String> {
    let mut out = Map::new();
    if let Some(query) = &rule.query {
        let language = rule
            .language
            .as_ref()
            .map(|l| l.value)
            .ok_or("the rule's query has no language")?;
        out.insert(
            "query".into(),
            query_tree(query, language).map_err(|e| format!("the query does not parse: {e}"))?,
        );
    }
    let filters = filters(rule);
    if !filters.is_empty() {
        out.insert("filters".into(), Json::Array(filters));
    }
    if let Some(query) = &rule.threat_query {
        let language = rule
            .threat_language
            .as_ref()
            .map_or(Language::Kuery, |l| l.value);
        out.insert(
            "threat_query".into(),
            query_tree(query, language).map_err(|e| format!("threat_query does not parse: {e}"))?,
        );
    }
    Ok(sorted(Json::Object(out)))
}

/// An AST snapshot's text: the header (`source`, `rule_id`) and
/// [`ast_body`].
pub fn ast_contents(source: &str, rule_id: &str, rule: &Rule) -> Result<String, String> {
    Ok(contents(
        &[("source", source), ("rule_id", rule_id)],
        &ast_body(rule)?,
    ))
}

/// A snapshot's body: what follows its header.
pub fn body(contents: &str) -> &str {
    let Some(rest) = contents.strip_prefix("---\n") else {
        return contents;
    };
    match rest.find("\n---\n") {
        Some(end) => &rest[end + 5..],
        None => contents,
    }
}

/// What became of one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The stored snapshot has the same body.
    Matched,
    /// Written as `.snap` (a new one under `unseen`, any under `always`).
    Written,
    /// Written to `.snap.new` for review; the diff from the stored one
    /// (every line added, for a new snapshot).
    Pending {
        /// The `.snap.new` file.
        path: PathBuf,
        /// What changed.
        diff: String,
    },
    /// No stored snapshot, and nothing written (`no`).
    Missing,
    /// The stored snapshot differs, and nothing written (`no`).
    Changed {
        /// What changed.
        diff: String,
    },
}

impl Outcome {
    /// Whether it fails its case (a pending one counts as pending).
    pub fn fails(&self) -> bool {
        matches!(self, Outcome::Missing | Outcome::Changed { .. })
    }
}

fn write(path: &Path, text: &str) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, text)
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Compares `contents` with the snapshot stored at `path` and writes what
/// `mode` says. A stale `.snap.new` is removed when the snapshot matches
/// or is written (except under `no`, which writes nothing).
pub fn settle(path: &Path, contents: &str, mode: Mode) -> io::Result<Outcome> {
    let stored = match std::fs::read_to_string(path) {
        Ok(s) => Some(s),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let pending = pending_path(path);
    let same = stored.as_deref().map(body) == Some(body(contents));
    let outcome = match (mode, &stored) {
        (_, Some(_)) if same => {
            // `always` refreshes a header that changed (a moved test file).
            if mode == Mode::Always && stored.as_deref() != Some(contents) {
                write(path, contents)?;
            }
            Outcome::Matched
        }
        (Mode::No, None) => return Ok(Outcome::Missing),
        (Mode::No, Some(old)) => {
            return Ok(Outcome::Changed {
                diff: diff(body(old), body(contents)),
            })
        }
        (Mode::Always, _) | (Mode::Unseen, None) => {
            write(path, contents)?;
            Outcome::Written
        }
        (Mode::New, _) | (Mode::Unseen, Some(_)) => {
            write(&pending, contents)?;
            return Ok(Outcome::Pending {
                diff: diff(stored.as_deref().map_or("", body), body(contents)),
                path: pending,
            });
        }
    };
    if mode != Mode::No {
        remove_if_present(&pending)?;
    }
    Ok(outcome)
}

/// A line diff of `old` and `new`: `-` and `+` lines with up to two lines
/// of context around each change (`@@` between distant ones).
pub fn diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // Longest common subsequence by dynamic programming: snapshots are
    // small. Past a size, every line is shown as replaced.
    let ops: Vec<(char, &str)> = if a.len().saturating_mul(b.len()) > 4_000_000 {
        a.iter()
            .map(|l| ('-', *l))
            .chain(b.iter().map(|l| ('+', *l)))
            .collect()
    } else {
        let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
        for i in (0..a.len()).rev() {
            for j in (0..b.len()).rev() {
                lcs[i][j] = if a[i] == b[j] {
                    lcs[i + 1][j + 1] + 1
                } else {
                    lcs[i + 1][j].max(lcs[i][j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        let mut ops = Vec::new();
        while i < a.len() || j < b.len() {
            if i < a.len() && j < b.len() && a[i] == b[j] {
                ops.push((' ', a[i]));
                i += 1;
                j += 1;
            } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
                ops.push(('-', a[i]));
                i += 1;
            } else {
                ops.push(('+', b[j]));
                j += 1;
            }
        }
        ops
    };
    const CONTEXT: usize = 2;
    let changed: Vec<usize> = (0..ops.len()).filter(|&k| ops[k].0 != ' ').collect();
    let near = |k: usize| changed.iter().any(|&c| c.abs_diff(k) <= CONTEXT);
    let mut out = String::new();
    let mut skipped = false;
    for (k, (op, line)) in ops.iter().enumerate() {
        if near(k) {
            if skipped && !out.is_empty() {
                out.push_str("@@\n");
            }
            skipped = false;
            out.push_str(&format!("{op} {line}\n"));
        } else {
            skipped = true;
        }
    }
    out
}

/// The `.snap` (`pending == false`) or `.snap.new` files in `dirs`, sorted.
pub fn files_in(dirs: &[PathBuf], pending: bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in dirs {
        let Ok(entries) = std::fs::read_dir(d) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let wanted = if pending {
                name.ends_with(".snap.new")
            } else {
                name.ends_with(".snap")
            };
            if wanted && e.path().is_file() {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Every `__snapshots__` folder below `root`, sorted.
pub fn dirs_below(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            if !p.is_dir() || name.as_deref().is_some_and(|n| n.starts_with('.')) {
                continue;
            }
            if name.as_deref() == Some(DIR) {
                out.push(p);
            } else {
                walk(&p, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, &mut out);
    out
}

/// The stem of the test file a snapshot file belongs to: `<stem>` of
/// `<stem>.ast.snap[.new]` or `<stem>@<slug>.snap[.new]`.
pub fn owner_stem(snapshot: &Path) -> Option<String> {
    let name = snapshot.file_name()?.to_string_lossy();
    let name = name.strip_suffix(".new").unwrap_or(&name);
    if let Some(stem) = name.strip_suffix(".ast.snap") {
        return Some(stem.to_string());
    }
    let name = name.strip_suffix(".snap")?;
    name.split_once('@').map(|(stem, _)| stem.to_string())
}

/// The test file a snapshot file belongs to (it may not exist).
pub fn owner(snapshot: &Path) -> Option<PathBuf> {
    let snaps = snapshot.parent()?;
    let dir = snaps.parent()?;
    Some(dir.join(format!("{}.toml", owner_stem(snapshot)?)))
}

/// The snapshots a test file records: its cases with `snapshot = true`,
/// and its AST snapshot when `[snapshots] ast = true`.
pub fn referenced(test: &TestFile) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = test
        .cases
        .iter()
        .filter(|c| c.snapshot)
        .map(|c| case_path(&test.path, c))
        .collect();
    if test.ast_snapshot {
        out.push(ast_path(&test.path));
    }
    out
}

fn clean(p: &Path) -> PathBuf {
    p.components().filter(|c| c.as_os_str() != ".").collect()
}

/// Whether `snapshot` belongs to one of `tests` (by its owner's path).
pub fn owned_by(snapshot: &Path, tests: &[PathBuf]) -> bool {
    owner(snapshot).is_some_and(|o| tests.iter().any(|t| clean(t) == clean(&o)))
}

/// The `.snap` files in `dirs` that no test file records any more.
/// `tests` are every loaded test file; the snapshots of `unloaded` test
/// files (which could not be read) are left alone, and with `only`, so are
/// those of test files outside it.
pub fn unreferenced(
    dirs: &[PathBuf],
    tests: &[&TestFile],
    unloaded: &[PathBuf],
    only: Option<&[PathBuf]>,
) -> Vec<PathBuf> {
    let recorded: Vec<PathBuf> = tests
        .iter()
        .flat_map(|t| referenced(t))
        .map(|p| clean(&p))
        .collect();
    files_in(dirs, false)
        .into_iter()
        .filter(|s| !recorded.contains(&clean(s)))
        .filter(|s| !owned_by(s, unloaded))
        .filter(|s| only.is_none_or(|only| owned_by(s, only)))
        .collect()
}

/// Accepts a pending snapshot: moves `<name>.snap.new` over `<name>.snap`.
pub fn accept(pending: &Path) -> io::Result<PathBuf> {
    let to = accepted_path(pending);
    std::fs::rename(pending, &to)?;
    Ok(to)
}

/// Rejects a pending snapshot: deletes `<name>.snap.new`.
pub fn reject(pending: &Path) -> io::Result<()> {
    std::fs::remove_file(pending)
}

/// What a review did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reviewed {
    /// Pending snapshots accepted.
    pub accepted: usize,
    /// Pending snapshots rejected.
    pub rejected: usize,
    /// Pending snapshots left for later.
    pub skipped: usize,
}

/// Walks the pending snapshots: shows each one's diff from the stored
/// snapshot on `out`, reads `a` (accept), `r` (reject) or `s` (skip) from
/// `input`; the end of the input skips the rest.
pub fn review(
    pending: &[PathBuf],
    mut input: impl BufRead,
    mut out: impl Write,
) -> io::Result<Reviewed> {
    let mut done = Reviewed::default();
    for (n, path) in pending.iter().enumerate() {
        let new = std::fs::read_to_string(path)?;
        let stored = std::fs::read_to_string(accepted_path(path)).ok();
        writeln!(out, "\n[{}/{}] {}", n + 1, pending.len(), path.display())?;
        for line in new.lines().skip(1).take_while(|l| *l != "---") {
            writeln!(out, "  {line}")?;
        }
        if stored.is_none() {
            writeln!(out, "  (a new snapshot)")?;
        }
        for line in diff(stored.as_deref().map_or("", body), body(&new)).lines() {
            writeln!(out, "  {line}")?;
        }
        loop {
            write!(out, "a accept, r reject, s skip: ")?;
            out.flush()?;
            let mut answer = String::new();
            if input.read_line(&mut answer)? == 0 {
                done.skipped += pending.len() - n;
                writeln!(out)?;
                return Ok(done);
            }
            match answer.trim() {
                "a" | "A" => {
                    accept(path)?;
                    done.accepted += 1;
                }
                "r" | "R" => {
                    reject(path)?;
                    done.rejected += 1;
                }
                "s" | "S" => done.skipped += 1,
                _ => continue,
            }
            break;
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_and_diffs() {
        let text = "---\nsource: a\n---\n[\n  1\n]\n";
        assert_eq!(body(text), "[\n  1\n]\n");
        assert_eq!(body("[]\n"), "[]\n");
        let d = diff("a\nb\nc\nd\ne\nf\ng\n", "a\nb\nc\nD\ne\nf\ng\n");
        assert_eq!(d, "  b\n  c\n- d\n+ D\n  e\n  f\n");
        assert_eq!(diff("", "x\n"), "+ x\n");
    }

    #[test]
    fn modes() {
        assert_eq!(Mode::resolve(true, Some("no"), true), Ok(Mode::Always));
        assert_eq!(Mode::resolve(false, Some("unseen"), true), Ok(Mode::Unseen));
        assert_eq!(Mode::resolve(false, None, true), Ok(Mode::No));
        assert_eq!(Mode::resolve(false, None, false), Ok(Mode::New));
        assert!(Mode::resolve(false, Some("yes"), false).is_err());
    }

    #[test]
    fn owners_and_names() {
        let p = Path::new("t/rules/__snapshots__/x@a-b.snap.new");
        assert_eq!(owner_stem(p).as_deref(), Some("x"));
        assert_eq!(owner(p), Some(PathBuf::from("t/rules/x.toml")));
        assert_eq!(owner_stem(Path::new("d/x.ast.snap")).as_deref(), Some("x"));
        assert_eq!(
            source_name(
                Path::new("./tmp/rule_tests/rules/x.toml"),
                Path::new("tmp/rule_tests")
            ),
            "rule_tests/rules/x.toml"
        );
    }

    #[test]
    fn review_accepts_rejects_and_skips() {
        let dir = std::env::temp_dir().join(format!("ruleq-review-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let paths: Vec<PathBuf> = ["a", "b", "c"]
            .iter()
            .map(|n| {
                let p = dir.join(format!("t@{n}.snap.new"));
                std::fs::write(&p, "---\ncase: x\n---\n[]\n").unwrap();
                p
            })
            .collect();
        let mut shown = Vec::new();
        let done = review(&paths, "x\na\nr\n".as_bytes(), &mut shown).unwrap();
        assert_eq!(
            done,
            Reviewed {
                accepted: 1,
                rejected: 1,
                skipped: 1
            }
        );
        assert!(dir.join("t@a.snap").exists());
        assert!(!paths[1].exists());
        assert!(paths[2].exists());
        assert!(String::from_utf8(shown)
            .unwrap()
            .contains("(a new snapshot)"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
