//! Rewrites a compiled filter into an equivalent one that is cheaper to
//! run. Rules list alternatives at length (`process.name : ("a.exe", "b.exe",
//! ...)`, `process.executable : ("?:\\Windows\\*", ...)`); run as written,
//! each alternative looks the field up again and compares one value with one
//! literal. Here the alternatives of an `or` that test the same field become
//! one [`TestSet`]: the field is read once, exact values are found by hash
//! lookup, and a value is lower-cased once for all the case-insensitive
//! patterns.
//!
//! The conditions of an `and` are also put in an order that fails fast: most
//! events a rule set offers a query to fail it, and they mostly fail on a
//! rare value (a process name, a path pattern), not on the operating
//! system or event type every rule of a platform shares.
//!
//! The rewrites change no result: conditions have no side effects, `and`
//! and `or` are commutative and associative, and "some value passes a
//! test, or some value passes another" is "some value passes one of the
//! tests".
//!
//! Layer: a compile pass. It imports the IR, its matchers and
//! [`super::test`] (a literal's text as a term); not `crate::eval`.

use super::ir::{FieldId, FieldTable, Filter, Test};
use super::test::lit_text;
use super::wildcard::{Anchor, Wildcard};
use aho_corasick::AhoCorasick;
use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::OnceLock;

/// Term tests of one field merged into one: a value passes when it passes
/// any of [`tests`](TestSet::tests).
#[derive(Debug, Clone, PartialEq)]
pub struct TestSet {
    /// The tests, as compiled; values other than strings are checked
    /// against them one by one.
    pub tests: Vec<Test>,
    /// Strings equal to one of these pass.
    exact: FxHashSet<Box<str>>,
    /// Strings whose ASCII lower-case form is one of these pass.
    folded: FxHashSet<Box<str>>,
    /// Case-sensitive patterns.
    wildcards: Patterns,
    /// Case-insensitive patterns, to match against the lower-cased string.
    folded_wildcards: Patterns,
    /// A Bloom filter of the `exact` and `folded` strings' [`Probe`]s: a
    /// string whose probe bit is clear is in neither, found without
    /// hashing it, lower-casing it or reading the tables (most values
    /// tested against a list are in none of it).
    probes: Probe,
}

/// 256 bits, one per (length, lower-cased first byte) class of strings.
#[derive(Debug, Clone, Default, PartialEq)]
struct Probe([u64; 4]);

impl Probe {
    /// The bit of `s`'s class: the same for `s` and its ASCII lower case.
    fn bit(s: &str) -> (usize, u64) {
        let first = s.as_bytes().first().map_or(0, u8::to_ascii_lowercase);
        let h =
            (s.len() as u32).wrapping_mul(0x9E37_79B1) ^ u32::from(first).wrapping_mul(0x85EB_CA77);
        let b = (h >> 24) as usize;
        (b / 64, 1 << (b % 64))
    }

    fn insert(&mut self, s: &str) {
        let (word, bit) = Probe::bit(s);
        self.0[word] |= bit;
    }

    fn may_hold(&self, s: &str) -> bool {
        let (word, bit) = Probe::bit(s);
        self.0[word] & bit != 0
    }
}

impl TestSet {
    /// Whether a test can join a set: the term tests strings meet by
    /// equality or by pattern.
    pub fn accepts(test: &Test) -> bool {
        matches!(test, Test::Eq(_) | Test::EqFold(_) | Test::Wildcard(_))
    }

    /// Merges `tests` (each one [`accepts`](TestSet::accepts)).
    pub fn new(tests: Vec<Test>) -> TestSet {
        let mut set = TestSet {
            tests: Vec::new(),
            exact: FxHashSet::default(),
            folded: FxHashSet::default(),
            wildcards: Patterns::default(),
            folded_wildcards: Patterns::default(),
            probes: Probe::default(),
        };
        let (mut wildcards, mut folded_wildcards) = (Vec::new(), Vec::new());
        for t in &tests {
            match t {
                // A string equals a literal as a term when it is the
                // literal's text (see `test::passes`).
                Test::Eq(lit) => {
                    set.exact.insert(lit_text(lit).into());
                }
                Test::EqFold(lower) => {
                    set.folded.insert(lower.to_ascii_lowercase().into());
                }
                Test::Wildcard(w) => match (w.exact_text(), w.is_case_insensitive()) {
                    (Some(text), false) => {
                        set.exact.insert(text.into());
                    }
                    (Some(text), true) => {
                        set.folded.insert(text.into());
                    }
                    (None, false) => wildcards.push(w.clone()),
                    (None, true) => folded_wildcards.push(w.folded()),
                },
                other => unreachable!("TestSet::new given {other:?}"),
            }
        }
        for text in set.exact.iter().chain(&set.folded) {
            set.probes.insert(text);
        }
        set.tests = tests;
        set.wildcards = Patterns::new(wildcards);
        set.folded_wildcards = Patterns::new(folded_wildcards);
        set
    }

    /// Whether a string value passes one of the tests.
    pub fn matches_str(&self, s: &str) -> bool {
        let listed = self.probes.may_hold(s);
        if listed && self.exact.contains(s) || self.wildcards.matches(s) {
            return true;
        }
        let folded = listed && !self.folded.is_empty();
        if !folded && self.folded_wildcards.list.is_empty() {
            return false;
        }
        with_lower(s, |lower| {
            folded && self.folded.contains(lower) || self.folded_wildcards.matches(lower)
        })
    }
}

/// Case-sensitive wildcard patterns matched as one. Tried one by one, a
/// list of sixty `"*WebClient*"`-like patterns scans a command line sixty
/// times; here, from [`Patterns::SEARCH_FROM`] patterns on, one automaton
/// scan finds where each pattern's longest literal occurs, which decides
/// prefixes, suffixes and substrings at once and leaves only the other
/// patterns whose literal occurs to be tried in full.
///
/// The automaton is built when the patterns are first matched: building
/// them all took a tenth of the corpus rules' loading, on one thread, and
/// most are never needed (the events reach few of the rules' pattern lists).
#[derive(Debug, Clone, Default)]
struct Patterns {
    list: Vec<Wildcard>,
    /// `None` inside when no automaton builds.
    search: OnceLock<Option<Search>>,
}

#[derive(Debug, Clone)]
struct Search {
    /// One pattern per distinct literal.
    automaton: AhoCorasick,
    /// Per automaton pattern: the patterns (index in `list`) with that
    /// literal, and what finding it says.
    anchored: Vec<Vec<(usize, Anchor)>>,
    /// Patterns without a literal, tried one by one.
    rest: Vec<usize>,
}

impl PartialEq for Patterns {
    fn eq(&self, other: &Self) -> bool {
        // The search is built from the list.
        self.list == other.list
    }
}

impl Patterns {
    /// The list length from which patterns are searched together: below
    /// it, trying them one by one is cheaper than an automaton scan.
    const SEARCH_FROM: usize = 6;

    fn new(list: Vec<Wildcard>) -> Patterns {
        Patterns {
            list,
            search: OnceLock::new(),
        }
    }

    fn matches(&self, text: &str) -> bool {
        let search = (self.list.len() >= Self::SEARCH_FROM)
            .then(|| self.search.get_or_init(|| Search::new(&self.list)).as_ref())
            .flatten();
        match search {
            None => self.list.iter().any(|w| w.matches(text)),
            Some(search) => search.matches(&self.list, text),
        }
    }
}

impl Search {
    fn new(list: &[Wildcard]) -> Option<Search> {
        let mut literals: Vec<&str> = Vec::new();
        let mut ids: FxHashMap<&str, usize> = FxHashMap::default();
        let mut anchored: Vec<Vec<(usize, Anchor)>> = Vec::new();
        let mut rest = Vec::new();
        for (i, w) in list.iter().enumerate() {
            let Some((literal, anchor)) = w.anchor() else {
                rest.push(i);
                continue;
            };
            let id = *ids.entry(literal).or_insert_with(|| {
                literals.push(literal);
                anchored.push(Vec::new());
                literals.len() - 1
            });
            anchored[id].push((i, anchor));
        }
        // The automaton is an optimisation: should it not build, the
        // patterns are tried one by one.
        let automaton = AhoCorasick::new(&literals).ok()?;
        Some(Search {
            automaton,
            anchored,
            rest,
        })
    }

    fn matches(&self, list: &[Wildcard], text: &str) -> bool {
        if self.rest.iter().any(|&i| list[i].matches(text)) {
            return true;
        }
        // Patterns tried in full already (a literal can occur many times).
        let mut tried = [0u64; 4];
        for m in self.automaton.find_overlapping_iter(text) {
            for &(i, anchor) in &self.anchored[m.pattern().as_usize()] {
                let matched = match anchor {
                    Anchor::Whole => m.start() == 0 && m.end() == text.len(),
                    Anchor::Start => m.start() == 0,
                    Anchor::End => m.end() == text.len(),
                    Anchor::Anywhere => true,
                    Anchor::Verify => {
                        if let Some(word) = tried.get_mut(i / 64) {
                            let bit = 1u64 << (i % 64);
                            if *word & bit != 0 {
                                continue;
                            }
                            *word |= bit;
                        }
                        list[i].matches(text)
                    }
                };
                if matched {
                    return true;
                }
            }
        }
        false
    }
}

/// Calls `f` with `s` ASCII lower-cased, without allocating for short
/// strings.
fn with_lower<R>(s: &str, f: impl FnOnce(&str) -> R) -> R {
    if !s.bytes().any(|b| b.is_ascii_uppercase()) {
        return f(s);
    }
    let mut buf = [0u8; 256];
    if s.len() <= buf.len() {
        let lower = &mut buf[..s.len()];
        lower.copy_from_slice(s.as_bytes());
        lower.make_ascii_lowercase();
        // Lower-casing ASCII bytes keeps the text valid UTF-8.
        match std::str::from_utf8(lower) {
            Ok(l) => f(l),
            Err(_) => f(&s.to_ascii_lowercase()),
        }
    } else {
        f(&s.to_ascii_lowercase())
    }
}

/// Fields whose values most events share (a few operating systems, event
/// types, outcomes): a condition on them rarely fails, and indexing by them
/// filters little.
pub const COMMON_FIELDS: &[&str] = &[
    "event.category",
    "host.os.type",
    "host.os.family",
    "host.os.platform",
    "host.os.name",
    "event.type",
    "event.action",
    "event.outcome",
    "event.kind",
    "event.module",
    "event.dataset",
    "event.provider",
    "data_stream.dataset",
    "agent.type",
    "network.direction",
    "network.transport",
    "network.protocol",
];

/// `filter` rewritten: the alternatives of each `or` that test one field
/// merged into a [`TestSet`] (nested `or`s flattened first), the conditions
/// of each `and` in fail-fast order. `table` names the fields.
pub fn optimize(filter: Filter, table: &FieldTable) -> Filter {
    let common: Vec<FieldId> = COMMON_FIELDS
        .iter()
        .filter_map(|name| table.get(name))
        .collect();
    rewrite(filter, &common)
}

fn rewrite(filter: Filter, common: &[FieldId]) -> Filter {
    match filter.map_children(|c| rewrite(c, common)) {
        Filter::And(mut children) => {
            // A stable sort: conditions of one rank keep the rule's order.
            children.sort_by_key(|c| rank(c, common));
            Filter::And(children)
        }
        Filter::Or(children) => merge_or(children),
        other => other,
    }
}

/// Where a condition goes in an `and`: first the cheap ones (equality,
/// rare values before common ones), then patterns and other costly tests,
/// then negations (which rarely fail), then scripts.
fn rank(filter: &Filter, common: &[FieldId]) -> u8 {
    match filter {
        Filter::Const(false) => 0,
        Filter::Test { field, test } if exact(test) => {
            if common.contains(field) {
                2
            } else {
                1
            }
        }
        Filter::Test {
            test: Test::Range(..),
            ..
        }
        | Filter::Exists(_)
        | Filter::ExplicitNull(_) => 3,
        Filter::Test { .. } | Filter::Or(_) | Filter::And(_) => 4,
        Filter::Not(_) | Filter::Const(true) => 5,
        Filter::Nested { .. } | Filter::Script(_) | Filter::AnyField { .. } => 6,
        Filter::Shared(_, inner) => rank(inner, common),
    }
}

/// Whether a test only compares with exact values (a hash lookup at most).
fn exact(test: &Test) -> bool {
    match test {
        Test::Eq(_) | Test::EqFold(_) => true,
        Test::AnyOf(set) => set.wildcards.list.is_empty() && set.folded_wildcards.list.is_empty(),
        _ => false,
    }
}

fn merge_or(children: Vec<Filter>) -> Filter {
    let mut flat = Vec::new();
    for c in children {
        match c {
            Filter::Or(inner) => flat.extend(inner),
            // A set already merged below merges again with its neighbours.
            Filter::Test {
                field,
                test: Test::AnyOf(set),
            } => flat.extend(
                set.tests
                    .into_iter()
                    .map(|test| Filter::Test { field, test }),
            ),
            other => flat.push(other),
        }
    }
    let mut out: Vec<Filter> = Vec::new();
    // Per field: where its merged test goes in `out`, and its tests.
    let mut groups: Vec<(usize, Vec<Test>)> = Vec::new();
    for c in flat {
        match c {
            Filter::Test { field, test } if TestSet::accepts(&test) => {
                let found = groups.iter_mut().find(
                    |(at, _)| matches!(&out[*at], Filter::Test { field: f, .. } if *f == field),
                );
                match found {
                    Some((_, tests)) => tests.push(test),
                    None => {
                        groups.push((out.len(), vec![test.clone()]));
                        out.push(Filter::Test { field, test });
                    }
                }
            }
            other => out.push(other),
        }
    }
    for (at, tests) in groups {
        if tests.len() > 1 {
            if let Filter::Test { test, .. } = &mut out[at] {
                *test = Test::AnyOf(Box::new(TestSet::new(tests)));
            }
        }
    }
    if out.len() == 1 {
        out.pop().expect("one alternative")
    } else {
        Filter::Or(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::ir::{FieldTable, Lit};
    use crate::compile::test::passes;

    fn set(tests: Vec<Test>) -> TestSet {
        TestSet::new(tests)
    }

    #[test]
    fn a_set_passes_what_one_of_its_tests_passes() {
        let tests = vec![
            Test::Eq(Lit::Str("Cmd.exe".into())),
            Test::EqFold("powershell.exe".into()),
            Test::Eq(Lit::Int(23)),
            Test::Wildcard(Wildcard::eql("?:\\Windows\\*.EXE", true)),
            Test::Wildcard(Wildcard::eql("/tmp/*", false)),
            Test::Wildcard(Wildcard::eql("RunDll32.exe", true)),
        ];
        let s = set(tests.clone());
        for text in [
            "Cmd.exe",
            "cmd.exe",
            "POWERSHELL.EXE",
            "powershell.exe",
            "23",
            "C:\\windows\\system32\\x.exe",
            "C:\\WINDOWS\\x.exe",
            "D:\\Windows\\x.dll",
            "/tmp/x",
            "/TMP/x",
            "rundll32.EXE",
            "é",
            "",
        ] {
            let one_by_one = tests
                .iter()
                .any(|t| passes(t, &crate::event::Value::Str(text)));
            assert_eq!(s.matches_str(text), one_by_one, "{text:?}");
        }
        assert!(s.matches_str("Cmd.exe") && !s.matches_str("cmd.exe"));
        assert!(s.matches_str("C:\\WINDOWS\\x.exe") && !s.matches_str("/TMP/x"));
    }

    /// The probe filter only skips lookups that would fail: every listed
    /// text passes (in any case, for the case-insensitive ones), and a text
    /// of a listed length and first letter still goes to the table.
    #[test]
    fn the_probe_filter_never_hides_a_listed_text() {
        let names: Vec<String> = (0..300u32)
            .map(|i| format!("{}proc{i}.exe", char::from(b'a' + (i % 26) as u8)))
            .collect();
        let mut tests: Vec<Test> = names[..150]
            .iter()
            .map(|n| Test::Eq(Lit::Str(n.clone())))
            .collect();
        tests.extend(names[150..].iter().map(|n| Test::EqFold(n.clone())));
        let s = set(tests);
        for (i, name) in names.iter().enumerate() {
            assert!(s.matches_str(name), "{name}");
            let upper = name.to_ascii_uppercase();
            assert_eq!(s.matches_str(&upper), i >= 150, "{upper}");
        }
        assert!(!s.matches_str("aproc0.exf"));
        assert!(!s.matches_str("Aproc0.exe"));
        assert!(!s.matches_str(""));
    }

    /// Long pattern lists are searched with one automaton; every verdict
    /// must be the one trying each pattern gives, whatever the pattern's
    /// shape, its case, and however often its literal occurs.
    #[test]
    fn searched_pattern_lists_agree_with_one_by_one() {
        let patterns = [
            "*WebClient*",
            "* -enc *",
            "Invoke-*",
            "*.ps1",
            "*a*b*",
            "?:\\Windows\\*.exe",
            "*http*|iex*",
            "ab",
            "*",
            "?*",
            "*b?a*",
            "bab*",
            "*aba",
            "*é*",
        ];
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let alphabet = [
            "a",
            "b",
            "A",
            "B",
            "é",
            " -enc ",
            "WebClient",
            "webclient",
            "http",
            "|iex",
            ".ps1",
            "C:\\Windows\\",
            ".exe",
            "Invoke-",
            "?",
        ];
        for round in 0..400 {
            // A random subset of the patterns, in both cases, long enough
            // to be searched together.
            let ci = round % 2 == 0;
            let tests: Vec<Test> = patterns
                .iter()
                .filter(|_| next(4) != 0)
                .map(|p| Test::Wildcard(Wildcard::eql(p, ci)))
                .collect();
            let s = set(tests.clone());
            for _ in 0..50 {
                let text: String = (0..next(8))
                    .map(|_| alphabet[next(alphabet.len() as u64) as usize])
                    .collect();
                let one_by_one = tests
                    .iter()
                    .any(|t| passes(t, &crate::event::Value::Str(&text)));
                assert_eq!(s.matches_str(&text), one_by_one, "{text:?} in {tests:?}");
            }
            // Long lists were matched through their automaton, built on use.
            let p = if ci {
                &s.folded_wildcards
            } else {
                &s.wildcards
            };
            if p.list.len() >= Patterns::SEARCH_FROM {
                assert!(p.search.get().is_some_and(Option::is_some), "{tests:?}");
            }
        }
    }

    #[test]
    fn long_values_are_lower_cased_too() {
        let s = set(vec![
            Test::EqFold("a".into()),
            Test::Wildcard(Wildcard::eql("*needle*", true)),
        ]);
        let long = format!("{}NEEDLE", "X".repeat(300));
        assert!(s.matches_str(&long));
        assert!(!s.matches_str(&"X".repeat(300)));
    }

    #[test]
    fn alternatives_on_one_field_merge_and_others_stay() {
        let mut table = FieldTable::new();
        let (a, b) = (table.intern("a"), table.intern("b"));
        let eq = |f, v: &str| Filter::Test {
            field: f,
            test: Test::Eq(Lit::Str(v.into())),
        };
        let filter = Filter::Or(vec![
            eq(a, "1x"),
            Filter::Or(vec![eq(b, "2x"), eq(a, "3x")]),
            Filter::Exists(b),
        ]);
        match optimize(filter, &table) {
            Filter::Or(children) => {
                assert_eq!(children.len(), 3);
                match &children[0] {
                    Filter::Test {
                        field,
                        test: Test::AnyOf(set),
                    } => {
                        assert_eq!(*field, a);
                        assert_eq!(set.tests.len(), 2);
                    }
                    other => panic!("expected a merged test, got {other:?}"),
                }
                assert_eq!(children[1], eq(b, "2x"));
                assert_eq!(children[2], Filter::Exists(b));
            }
            other => panic!("expected an or, got {other:?}"),
        }
    }
}
