//! What fuzzing found, kept fixed: every reproducer under
//! `fuzz/regressions/<target>/` replayed through the fuzz target's own
//! checks (`fuzz/src/lib.rs`, compiled in here), and a targeted test per
//! problem.

#[path = "../fuzz/src/lib.rs"]
mod checks;

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

/// Runs `f` on another thread; fails when it panics or takes longer than
/// `limit` (a hang of the kind libFuzzer reports as a timeout).
fn within(limit: Duration, what: &str, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(limit) {
        Ok(()) => {}
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: still running after {limit:?}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: panicked"),
    }
}

#[test]
fn every_committed_reproducer_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    type Check = fn(&[u8]);
    let targets: [(&str, Check); 5] = [
        ("eql_parse", checks::eql_parse),
        ("kql_parse", checks::kql_parse),
        ("rule_load", checks::rule_load),
        ("event_read", checks::event_read),
        ("optimize", checks::optimize),
    ];
    let mut replayed = 0;
    for (target, check) in targets {
        let dir = root.join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        files.sort();
        for file in files {
            let data = std::fs::read(&file).unwrap();
            let what = file.display().to_string();
            within(Duration::from_secs(60), &what, move || check(&data));
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no reproducers under {}", root.display());
}

/// Where the block comment starting at `i` ends, under the grammar's rule
/// `"/*" ~ (block_comment | !"*/" ~ ANY)* ~ "*/"` run as pest runs it (a
/// backtracking PEG, exponential in nested `/*` that do not close; fine on
/// the short texts here). ASCII text only.
fn reference_comment_end(t: &[u8], i: usize) -> Option<usize> {
    if !t[i..].starts_with(b"/*") {
        return None;
    }
    let mut j = i + 2;
    loop {
        if t[j..].starts_with(b"*/") {
            return Some(j + 2);
        }
        if j >= t.len() {
            return None;
        }
        j = reference_comment_end(t, j).unwrap_or(j + 1);
    }
}

#[test]
fn comments_with_many_nested_openers_parse_in_linear_time() {
    // Each `/*` inside a comment that does not close was read as a comment
    // to the end of the text, then as text, and the rest read again: 2^40
    // readings of the first text. In the second, each nested comment fails
    // but its `/*/` closes the one around it, and every later `/*` is read
    // again from each level (Fibonacci in their number). The third is the
    // second's strings after `join`.
    let paths: Vec<String> = (0..40).map(|i| format!("/d{i}/*.x")).collect();
    let unclosed = format!("any where true /* {}", paths.join(" "));
    let paths: Vec<String> = (0..40).map(|i| format!("\"/h{i}/*/.c/a/*\"")).collect();
    let reclosed = format!("any where true /* {}", paths.join(", "));
    let join = format!("join {}", paths.join(", "));
    within(Duration::from_secs(60), "nested comments", move || {
        let err = ruleq::syntax::eql::parse(&unclosed).expect_err("the comment never closes");
        assert_eq!(err.span.start, "any where true ".len(), "{}", err.message);
        // After `join`, comments were looked for at every character, those
        // in strings too.
        let err = ruleq::syntax::eql::parse(&join).expect_err("join is not EQL");
        assert_eq!(err.code, "eql::unsupported");
        // The first `/*/` closes the comment; the text after it is no EQL.
        let err = ruleq::syntax::eql::parse(&reclosed).expect_err("`.c/a` follows");
        assert_eq!(
            err.span.start,
            reclosed.find(".c").unwrap(),
            "{}",
            err.message
        );
    });
}

#[test]
fn nested_comments_read_as_the_grammar_rule_reads_them() {
    // Every comment body of up to 8 of `/`, `*`, `x`: where the grammar's
    // rule closes the comment exactly at the end of the text, the query
    // parses; where it never closes, it does not. (Comments that close
    // earlier leave text that may parse as arithmetic: not compared.)
    let alphabet = [b'/', b'*', b'x'];
    let (mut closed, mut unclosed) = (0, 0);
    for len in 0..=8u32 {
        for n in 0..3usize.pow(len) {
            let mut body = Vec::new();
            let mut k = n;
            for _ in 0..len {
                body.push(alphabet[k % 3]);
                k /= 3;
            }
            let comment = [b"/*".as_slice(), &body].concat();
            let want = match reference_comment_end(&comment, 0) {
                Some(end) if end == comment.len() => true,
                Some(_) => continue,
                None => false,
            };
            let query = format!("any where true {}", String::from_utf8(comment).unwrap());
            let got = ruleq::syntax::eql::parse(&query).is_ok();
            assert_eq!(got, want, "{query:?}");
            if want {
                closed += 1;
            } else {
                unclosed += 1;
            }
        }
    }
    assert!(
        closed > 100 && unclosed > 1000,
        "{closed} closed, {unclosed} unclosed"
    );
}

#[test]
fn dates_beyond_the_nanosecond_range_are_no_instant_not_an_overflow() {
    use ruleq::compile::date::{parse_iso, DateFormat};
    assert!(parse_iso("4048-01-01").is_none());
    assert!(parse_iso("1500-01-01T00:00:00Z").is_none());
    assert!(parse_iso("2262-04-10").is_some());
    let seconds = DateFormat::parse("epoch_second").unwrap();
    assert!(seconds.read("9223372036854775807").is_none());
    assert!(seconds.read("1700000000").is_some());
    // The query that overflowed compiles (its dates compare as no instant).
    let q = ruleq::syntax::eql::parse(r#"any where @timestamp >= "4048-01-01""#).unwrap();
    let _ = ruleq::engine::compile_eql(&q, &ruleq::engine::QueryOptions::default());
}
