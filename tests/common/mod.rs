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

/// Fixture files with extension `ext` in `tests/fixtures/<sub>`, sorted, with
/// their stems.
pub fn fixtures(sub: &str, ext: &str) -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(sub);
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .map(|p| {
            let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&p).unwrap();
            (stem, text)
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no fixtures in {}", dir.display());
    out
}

/// Checks that every `"span": [start, end]` in serialized AST JSON lies
/// within the span of the nearest enclosing node that has one, and within
/// the text. Returns the violations as readable paths.
pub fn span_violations(value: &serde_json::Value, text_len: usize) -> Vec<String> {
    fn walk(v: &serde_json::Value, parent: (u64, u64), path: &str, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(map) => {
                let mut here = parent;
                if let Some(serde_json::Value::Array(s)) = map.get("span") {
                    let (a, b) = (s[0].as_u64().unwrap(), s[1].as_u64().unwrap());
                    if a > b || a < parent.0 || b > parent.1 {
                        out.push(format!(
                            "{path}: [{a}, {b}] outside [{}, {}]",
                            parent.0, parent.1
                        ));
                    }
                    here = (a, b);
                }
                for (k, child) in map {
                    if k != "span" {
                        walk(child, here, &format!("{path}.{k}"), out);
                    }
                }
            }
            serde_json::Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, parent, &format!("{path}[{i}]"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, (0, text_len as u64), "$", &mut out);
    out
}

/// Spans whose text begins or ends with whitespace: every node's span should
/// cover exactly its tokens.
pub fn loose_spans(value: &serde_json::Value, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::Array(s)) = map.get("span") {
                    let (a, b) = (
                        s[0].as_u64().unwrap() as usize,
                        s[1].as_u64().unwrap() as usize,
                    );
                    let t = &text[a..b];
                    if t.trim() != t {
                        out.push(format!("[{a}, {b}] {t:?}"));
                    }
                }
                stack.extend(map.values());
            }
            serde_json::Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    out
}

/// Runs the `ruleq` binary with `args` (no standard input).
pub fn ruleq(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_ruleq"))
        .args(args)
        .output()
        .expect("the ruleq binary runs")
}

/// Writes `text` to `<folder>/rule.toml` (a fresh folder under the test
/// target's temporary directory) and runs `ruleq check` on it without
/// colour: its exit code and standard output.
pub fn check_rule_text(folder: &str, text: &str) -> (i32, String) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(folder);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("rule.toml");
    std::fs::write(&path, text).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ruleq"))
        .arg("check")
        .arg(&path)
        .env("NO_COLOR", "1")
        .output()
        .expect("the ruleq binary runs");
    (out.status.code().expect("an exit code"), stdout(&out))
}

/// Line and column (1-based, the column in characters) of byte `at` of
/// `text`.
pub fn line_col(text: &str, at: usize) -> (usize, usize) {
    let line = text[..at].matches('\n').count() + 1;
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    (line, text[start..at].chars().count() + 1)
}

/// What `ruleq run` did: its exit code, its alert documents, its output.
pub struct RuleRun {
    /// The exit code.
    pub code: i32,
    /// The alert documents, in output order.
    pub alerts: Vec<serde_json::Value>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `ruleq run -r rule.toml events.ndjson --format ndjson` and `args` in
/// a fresh folder `folder` (under the test target's temporary directory)
/// holding the rule, the events and `files` (name, text), which `args` may
/// name.
pub fn run_rule(
    folder: &str,
    rule: &str,
    events: &str,
    files: &[(&str, &str)],
    args: &[&str],
) -> RuleRun {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(folder);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("rule.toml"), rule).unwrap();
    std::fs::write(dir.join("events.ndjson"), events).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ruleq"))
        .current_dir(&dir)
        .args([
            "run",
            "-r",
            "rule.toml",
            "events.ndjson",
            "--format",
            "ndjson",
        ])
        .args(args)
        .output()
        .expect("the ruleq binary runs");
    let stdout = stdout(&out);
    RuleRun {
        code: out.status.code().unwrap_or(-1),
        alerts: stdout
            .lines()
            .map(|l| serde_json::from_str(l).expect("an alert document"))
            .collect(),
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A command's standard output as text.
pub fn stdout(o: &std::process::Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("UTF-8 output")
}

/// A command's standard error as text.
pub fn stderr(o: &std::process::Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("UTF-8 output")
}

/// Parses a valid fixture, checks that spans nest and have no blank edges
/// and that printing parses back to the same AST, and returns the snapshot
/// text: the query, its canonical form, its AST.
pub fn valid_snapshot<Q: serde::Serialize>(
    name: &str,
    text: &str,
    parse: impl Fn(&str) -> Result<Q, ruleq::diag::Diagnostic>,
    print: impl Fn(&Q) -> String,
) -> String {
    let query =
        parse(text).unwrap_or_else(|d| panic!("{name} failed:\n{}", d.render(name, text, false)));
    let json = serde_json::to_value(&query).unwrap();
    let violations = span_violations(&json, text.len());
    assert!(violations.is_empty(), "{name}: {violations:#?}");
    let loose = loose_spans(&json, text);
    assert!(
        loose.is_empty(),
        "{name}: spans with blank edges {loose:#?}"
    );
    let printed = print(&query);
    let again = parse(&printed)
        .unwrap_or_else(|d| panic!("{name} printed:\n{}", d.render(name, &printed, false)));
    let bare = |q: &Q| {
        let mut v = serde_json::to_value(q).unwrap();
        ruleq::syntax::strip_spans(&mut v);
        v
    };
    assert_eq!(
        bare(&again),
        bare(&query),
        "{name} round trip via {printed:?}"
    );
    format!(
        "{}\n--- canonical ---\n{printed}\n--- ast ---\n{}",
        text.trim_end(),
        ruleq::syntax::to_pretty_json(&json)
    )
}

/// Parses an invalid fixture, which must fail with a span inside the text,
/// and returns the snapshot text: the query and the rendered diagnostic.
pub fn invalid_snapshot<Q>(
    name: &str,
    text: &str,
    ext: &str,
    parse: impl Fn(&str) -> Result<Q, ruleq::diag::Diagnostic>,
    print: impl Fn(&Q) -> String,
) -> String {
    let diag = match parse(text) {
        Ok(q) => panic!("{name} parsed but should not:\n{}", print(&q)),
        Err(d) => d,
    };
    assert!(diag.span.end <= text.len(), "{name}: span past the end");
    format!(
        "{}\n---\n{}",
        text.trim_end(),
        diag.render(&format!("{name}.{ext}"), text, false)
    )
}

/// A projected value rendered compactly: `null`, `true`, `#1.50` (a
/// number's text), `"s"` (a string).
pub fn show(v: ruleq::event::Value<'_>) -> String {
    use ruleq::event::Value;
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format!("#{}", n.text()),
        Value::Str(s) => format!("{s:?}"),
    }
}

/// Runs the `ruleq` binary in `dir` with `args`, `stdin` written to its
/// standard input; its exit status and output.
pub fn ruleq_in(dir: &Path, args: &[&str], stdin: impl AsRef<[u8]>) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_ruleq"))
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the ruleq binary runs");
    // A command that exits before reading all its input closes the pipe.
    let _ = child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(stdin.as_ref());
    child.wait_with_output().expect("ruleq's output")
}

/// [`ruleq_in`] the project's folder (where `rules/` and `examples/` are).
pub fn ruleq_stdin(args: &[&str], stdin: impl AsRef<[u8]>) -> std::process::Output {
    ruleq_in(Path::new(env!("CARGO_MANIFEST_DIR")), args, stdin)
}

/// Events as NDJSON, each given as (`_id`, `@timestamp`, the rest of its
/// source), in index `logs-a` unless the rest sets `_index` (the threshold
/// and new_terms tests' fixtures).
pub fn logs_a_events(list: &[(&str, &str, serde_json::Value)]) -> String {
    let mut out = String::new();
    for (id, time, rest) in list {
        let mut doc = serde_json::json!({"_id": id, "_index": "logs-a", "@timestamp": time});
        for (k, v) in rest.as_object().expect("an object of fields") {
            doc[k] = v.clone();
        }
        out.push_str(&doc.to_string());
        out.push('\n');
    }
    out
}
