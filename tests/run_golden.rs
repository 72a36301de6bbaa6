//! `ruleq run`'s output pinned: the alert documents of the seed rules over
//! generated events, and of every corpus rule, in one execution and under
//! `--schedule`, at the default thread count and at one thread, digested.
//! A change to any alert, its order, or the summary's counts changes a
//! digest: a refactoring must leave them all as they are, and a change of
//! behaviour must say so by updating them. Corpus runs need `RULEQ_SHARED`.

mod common;

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// A file of generated events, removed when dropped.
struct Generated(PathBuf);

impl Drop for Generated {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        // The folder goes with the last file.
        let _ = std::fs::remove_dir(self.0.parent().unwrap());
    }
}

/// Generated events, written for one test. Alert ids name an event
/// without `_id` by its file's name: the name is the same in every
/// process.
fn events(count: u64) -> Generated {
    let dir = std::env::temp_dir().join(format!("ruleq-golden-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("generated-{count}.ndjson"));
    if !path.exists() {
        let mut text = String::new();
        ruleq::gen::generate(count, 1, |line| {
            text.push_str(line);
            text.push('\n');
        });
        let partial = path.with_extension("partial");
        std::fs::write(&partial, text).unwrap();
        std::fs::rename(&partial, &path).unwrap();
    }
    Generated(path)
}

/// The digest of a run's standard output, and its summary's counts line.
fn run(rules: &Path, events: &Path, extra: &[&str]) -> (String, String) {
    let mut args = vec![
        "run",
        "--format",
        "ndjson",
        "-r",
        rules.to_str().unwrap(),
        events.to_str().unwrap(),
    ];
    if !extra.contains(&"--schedule") {
        args.extend(["--now", "2024-06-01T00:00:00Z"]);
    }
    args.extend(extra);
    let out = common::ruleq(&args);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let digest = Sha256::digest(&out.stdout);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let counts = common::stderr(&out)
        .lines()
        .find(|l| l.contains(" events read ("))
        .map(|l| l.split(" in ").next().unwrap().to_string())
        .unwrap_or_default();
    (hex, counts)
}

fn check(rules: &Path, events: &Path, extra: &[&str], digest: &str, counts: &str) {
    for threads in [None, Some("1")] {
        let mut args = extra.to_vec();
        if let Some(t) = threads {
            args.extend(["--threads", t]);
        }
        let (got, got_counts) = run(rules, events, &args);
        assert_eq!(
            (got.as_str(), got_counts.as_str()),
            (digest, counts),
            "ruleq run {args:?}: the output changed"
        );
    }
}

#[test]
fn seed_rules_over_generated_events() {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let generated = events(100_000);
    let events = generated.0.as_path();
    check(
        &rules,
        events,
        &[],
        "b498180c971f6eda98ddd4f85e4fea5da7deec501cd2fd24f4c48d32fcd5126c",
        "100000 events read (0 malformed), 2194 alert documents",
    );
    check(
        &rules,
        events,
        &["--schedule"],
        "32b0f96d36fa7fa7583561af10b5972e56ebd35e3148d036774b9880d9a1e085",
        "100000 events read (0 malformed), 1870 alert documents",
    );
}

#[test]
fn corpus_rules_over_generated_events() {
    let Some(rules) = common::shared("corpus/detection-rules/rules") else {
        return;
    };
    let generated = events(20_000);
    let events = generated.0.as_path();
    check(
        &rules,
        events,
        &[],
        "57d1d9e99a22a8fa8b4e09514f6c1e011210489f87e3de90fd53987a2b1863c5",
        "20000 events read (0 malformed), 647 alert documents",
    );
    check(
        &rules,
        events,
        &["--schedule"],
        "e2efe2a9b35a26ad3535d24fc82a7cbe1db5ac86a5422f6e38c7fff1f780fd31",
        "20000 events read (0 malformed), 591 alert documents",
    );
}
