//! The checks behind ruleq's fuzz targets, one public function per target.
//! Each takes the fuzzer's bytes and panics when the library breaks a
//! promise: a panic or overflow inside it, a printed query that parses to
//! another AST, the fast event scanner disagreeing with serde_json, an
//! optimised query giving another verdict than the plain one.
//!
//! This file is also compiled into the main crate's `tests/fuzz_regressions.rs`
//! (by `#[path]`), which replays the reproducers under `fuzz/regressions/`
//! through these same checks on every `cargo test`; so it uses nothing but
//! `ruleq`, `serde_json` and `std`.

use ruleq::engine::{
    compile_eql, compile_kql, Collector, Origin, Output, QueryOptions, RuleSetBuilder, Runner,
};
use ruleq::event::{ElemId, EventSource, FieldTable, Item, Projector, Record, Value};
use ruleq::rule::files::load_bytes;
use ruleq::rule::Format;
use ruleq::syntax::{eql, kql, strip_spans};
use std::path::PathBuf;

/// `eql_parse`: the bytes as UTF-8 EQL. A query that parses prints to
/// canonical text that parses to the same AST (spans aside), and compiles
/// or fails to compile without panicking.
pub fn eql_parse(data: &[u8]) {
    if let Some(ast) = round_trip(data, eql::parse, eql::print, bare) {
        let _ = compile_eql(&ast, &options(true));
    }
}

/// `kql_parse`: the bytes as UTF-8 KQL, checked as [`eql_parse`] checks EQL.
pub fn kql_parse(data: &[u8]) {
    if let Some(ast) = round_trip(data, kql::parse, kql::print, |q| q.without_spans()) {
        let _ = compile_kql(&ast, &options(true));
    }
}

/// The AST of `data` read as UTF-8 query text, when it parses, after
/// checking that its canonical text parses to the same AST (as `same`
/// shows it, spans aside).
fn round_trip<A, S: PartialEq + std::fmt::Debug>(
    data: &[u8],
    parse: fn(&str) -> Result<A, ruleq::diag::Diagnostic>,
    print: fn(&A) -> String,
    same: impl Fn(&A) -> S,
) -> Option<A> {
    let text = std::str::from_utf8(data).ok()?;
    let ast = parse(text).ok()?;
    let printed = print(&ast);
    let again = parse(&printed).unwrap_or_else(|d| {
        panic!(
            "{text:?} prints as {printed:?}, which does not parse:\n{}",
            d.render("printed", &printed, false)
        )
    });
    assert_eq!(
        same(&again),
        same(&ast),
        "{text:?} prints as {printed:?}, which parses differently"
    );
    Some(ast)
}

/// `rule_load`: the bytes as a detection-rules TOML file, a Kibana NDJSON
/// export and a single Kibana JSON rule; whatever loads is checked, and
/// every finding's span lies within the file.
pub fn rule_load(data: &[u8]) {
    for (name, format) in [
        ("fuzz.toml", Format::Toml),
        ("fuzz.ndjson", Format::Ndjson),
        ("fuzz.json", Format::Json),
    ] {
        let file = load_bytes(PathBuf::from(name), format, data.to_vec());
        let report = ruleq::check::check(vec![file], None);
        for f in &report.findings {
            let span = f.diagnostic.span;
            assert!(
                span.start <= span.end && span.end <= data.len(),
                "{name}: finding {} has span {span:?} outside the {} bytes",
                f.diagnostic.code,
                data.len()
            );
        }
    }
}

/// The fields [`event_read`] projects: nested, dotted, prefixes of one
/// another, and the hit's `_id`.
const EVENT_FIELDS: &[&str] = &[
    "@timestamp",
    "_id",
    "a",
    "a.b",
    "a.b.c",
    "event.category",
    "process.name",
    "process.args",
    "process.pid",
    "process.parent.name",
    "destination.ip",
    "user.name",
    "x",
    "n",
];

/// `event_read`: the bytes as one event, projected by the fast scanner
/// and by the serde_json reference: the same record or the same error.
/// Then the bytes as a whole event stream: the reader accounts for every
/// line or element (`units == blank + events + malformed`), and each event
/// it hands out projects the same both ways.
pub fn event_read(data: &[u8]) {
    let mut table = FieldTable::new();
    for f in EVENT_FIELDS {
        table.intern(f);
    }
    let mut fast = Projector::new(&table);
    let mut reference = Projector::new(&table);
    compare_projections(&table, &mut fast, &mut reference, data);

    // A few bytes of zstd can stand for gigabytes of one line, which the
    // reader must hold whole (as it would a file of such a line); the
    // zstd decoder is not the code under test.
    if data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return;
    }
    let Ok(mut source) = EventSource::from_reader("fuzz", std::io::Cursor::new(data.to_vec()))
    else {
        return;
    };
    let (mut events, mut malformed) = (0u64, 0u64);
    while let Some(item) = source.next_item() {
        match item {
            Ok(Item::Event(raw)) => {
                events += 1;
                compare_projections(&table, &mut fast, &mut reference, raw.bytes);
            }
            Ok(Item::Malformed(_)) => malformed += 1,
            Err(_) => {}
        }
    }
    let stats = source.stats();
    assert_eq!(stats.events, events, "events counted as handed out");
    assert_eq!(
        stats.malformed, malformed,
        "malformed counted as handed out"
    );
    assert_eq!(
        stats.units,
        stats.blank + stats.events + stats.malformed,
        "every unit is blank, an event or malformed: {stats:?}"
    );
}

fn compare_projections(
    table: &FieldTable,
    fast: &mut Projector<'_>,
    reference: &mut Projector<'_>,
    bytes: &[u8],
) {
    let a = fast.project(bytes).map(|r| {
        let s = render(table, &r);
        fast.recycle(r);
        s
    });
    let b = reference.project_reference(bytes).map(|r| {
        let s = render(table, &r);
        reference.recycle(r);
        s
    });
    let shown = String::from_utf8_lossy(bytes);
    match (a, b) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "scanner and serde_json differ on {shown:?}"),
        (Err(a), Err(b)) => assert_eq!(
            a.to_string(),
            b.to_string(),
            "scanner and serde_json fail differently on {shown:?}"
        ),
        (a, b) => panic!("{shown:?}: scanner gives {a:?}, serde_json {b:?}"),
    }
}

/// Everything a record says, as text.
fn render(table: &FieldTable, rec: &Record<'_>) -> String {
    let mut out = format!(
        "index={:?} id={:?} hit={} source={}\n",
        rec.index(),
        rec.id(),
        rec.is_hit(),
        String::from_utf8_lossy(rec.source())
    );
    for (id, path) in table.fields() {
        let entries: Vec<String> = rec
            .entries(id)
            .map(|(v, e)| {
                let value = match v {
                    Value::Null => "null".to_string(),
                    Value::Bool(b) => b.to_string(),
                    Value::Number(n) => format!("#{}", n.text()),
                    Value::Str(s) => format!("{s:?}"),
                };
                if e == ElemId::NONE {
                    value
                } else {
                    format!("{value}@{e:?}")
                }
            })
            .collect();
        if !entries.is_empty() {
            out.push_str(&format!("{path}: {}\n", entries.join(", ")));
        }
    }
    out
}

/// `optimize`: the bytes drive a small generator of queries (EQL or KQL)
/// and events over one set of fields and values. Each query gives the same
/// results optimised (run alone, and in a rule set with the others, which
/// also indexes and shares conditions) as compiled plainly.
pub fn optimize(data: &[u8]) {
    let mut g = Gen(data);
    let mut queries = Vec::new();
    for _ in 0..1 + g.below(3) {
        let q = if g.flip() {
            let text = format!("{} where {}", g.pick(CATEGORIES), eql_expr(&mut g, 3));
            match eql::parse(&text) {
                Ok(q) => Query::Eql(q, text),
                Err(d) => panic!(
                    "generated EQL does not parse:\n{}",
                    d.render("query", &text, false)
                ),
            }
        } else {
            let text = kql_query(&mut g, 3);
            match kql::parse(&text) {
                Ok(q) => Query::Kql(q, text),
                Err(d) => panic!(
                    "generated KQL does not parse:\n{}",
                    d.render("query", &text, false)
                ),
            }
        };
        queries.push(q);
    }
    let events: Vec<String> = (0..1 + g.below(3)).map(|_| event(&mut g)).collect();
    check_optimized(&queries, &events);
}

/// A generated query and its text.
enum Query {
    Eql(eql::Query, String),
    Kql(kql::Query, String),
}

impl Query {
    fn text(&self) -> &str {
        match self {
            Query::Eql(_, t) | Query::Kql(_, t) => t,
        }
    }
}

fn options(optimize: bool) -> QueryOptions {
    QueryOptions {
        // 2026-03-01: results must not depend on when the check runs.
        now: 1_772_323_200_000_000_000,
        optimize,
        ..QueryOptions::default()
    }
}

/// The events each result holds, by line.
fn lines(outputs: &[Output]) -> Vec<Vec<u64>> {
    outputs
        .iter()
        .map(|o| match o {
            Output::Event(h) => vec![h.origin.line],
            Output::Sequence { events, .. } => events
                .iter()
                .map(|e| e.as_ref().map_or(0, |h| h.origin.line))
                .collect(),
            Output::Sample { events, .. } => events.iter().map(|h| h.origin.line).collect(),
        })
        .collect()
}

fn origin(i: usize) -> Origin {
    Origin {
        file: 0,
        line: i as u64 + 1,
    }
}

fn check_optimized(queries: &[Query], events: &[String]) {
    let run = |optimize: bool| -> Vec<Option<Vec<Vec<u64>>>> {
        let options = options(optimize);
        queries
            .iter()
            .map(|q| {
                let compiled = match q {
                    Query::Eql(q, _) => compile_eql(q, &options),
                    Query::Kql(q, _) => compile_kql(q, &options),
                }
                .ok()?;
                let mut c = Collector::new(&compiled);
                for (i, e) in events.iter().enumerate() {
                    c.offer(origin(i), e.as_bytes()).expect("generated JSON");
                }
                Some(lines(&c.finish()))
            })
            .collect()
    };
    let plain = run(false);
    let optimized = run(true);
    let shown = || {
        let texts: Vec<&str> = queries.iter().map(Query::text).collect();
        format!("queries {texts:#?}\nevents {events:#?}")
    };
    assert_eq!(optimized, plain, "optimised and plain differ:\n{}", shown());

    // Together in a rule set: the queries that compile.
    let options = options(true);
    let mut builder = RuleSetBuilder::new(None);
    let mut added = Vec::new();
    for (q, want) in queries.iter().zip(&plain) {
        let Some(want) = want else { continue };
        match q {
            Query::Eql(q, _) => builder.add_eql(q, &options),
            Query::Kql(q, _) => builder.add_kql(q, &options),
        }
        .expect("a query that compiles alone compiles in a set");
        added.push(want);
    }
    let set = builder.finish();
    let mut runner = Runner::new(&set);
    for (i, e) in events.iter().enumerate() {
        runner
            .offer(origin(i), e.as_bytes())
            .expect("generated JSON");
    }
    let together: Vec<Vec<Vec<u64>>> = runner.finish().iter().map(|o| lines(o)).collect();
    let added: Vec<Vec<Vec<u64>>> = added.into_iter().cloned().collect();
    assert_eq!(together, added, "a rule set and plain differ:\n{}", shown());
}

/// A generator driven by the fuzzer's bytes: every choice reads one byte,
/// and an exhausted input chooses 0 from then on (so every input makes a
/// finite case).
struct Gen<'a>(&'a [u8]);

impl Gen<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn below(&mut self, n: usize) -> usize {
        usize::from(self.byte()) % n
    }

    fn flip(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    fn pick<'s>(&mut self, items: &[&'s str]) -> &'s str {
        items[self.below(items.len())]
    }
}

/// The fields queries and events share. `event.category` and
/// `host.os.type` are among the fields the optimiser ranks as common.
const FIELDS: &[&str] = &[
    "process.name",
    "process.args",
    "event.category",
    "host.os.type",
    "process.pid",
    "destination.ip",
    "user.name",
];

const CATEGORIES: &[&str] = &["any", "process", "network"];

/// String values: case variants, non-ASCII letters whose case folds differ
/// by ASCII and Unicode rules, wildcard characters, numbers and addresses
/// as text.
const STRINGS: &[&str] = &[
    "cmd.exe", "CMD.EXE", "Cmd.Exe", "cmd", "", "a", "A", "ab", "aB", "é", "É", "straße",
    "STRASSE", "İ", "\u{212a}", "k", "1", "80", "1.0", "10.0.0.1", "::1", "a b", "process",
    "network", "windows", "Windows", "*", "?", "a*b", "\\", "\\\\", "x\"y",
];

/// Wildcard patterns (`*` and `?`).
const PATTERNS: &[&str] = &[
    "*",
    "?",
    "cmd*",
    "*.exe",
    "*.EXE",
    "*md*",
    "c?d.exe",
    "C?D*",
    "a*",
    "*a",
    "a*b",
    "*b*",
    "?b",
    "*é*",
    "*É",
    "stra*e",
    "*\u{212a}*",
    "1*",
    "*0",
    "10.*",
    "win*",
    "**",
    "*?*",
];

const NUMBERS: &[&str] = &["0", "1", "-1", "80", "1.5", "443", "1e2", "65535"];

const CIDRS: &[&str] = &["10.0.0.0/8", "10.0.0.1/32", "::1/128", "0.0.0.0/0", "::/0"];

/// `s` as a double-quoted EQL string.
fn eql_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn eql_value(g: &mut Gen) -> String {
    match g.below(4) {
        0 => g.pick(NUMBERS).to_string(),
        1 => "null".to_string(),
        2 => ["true", "false"][g.below(2)].to_string(),
        _ => eql_string(g.pick(STRINGS)),
    }
}

fn eql_list(g: &mut Gen, items: &[&str]) -> String {
    let n = 1 + g.below(8);
    let parts: Vec<String> = (0..n).map(|_| eql_string(g.pick(items))).collect();
    parts.join(", ")
}

fn eql_expr(g: &mut Gen, depth: u32) -> String {
    let choices = if depth == 0 { 12 } else { 16 };
    let field = g.pick(FIELDS);
    match g.below(choices) {
        0 => format!("{field} == {}", eql_value(g)),
        1 => format!("{field} != {}", eql_value(g)),
        2 => format!("{field} : {}", eql_string(g.pick(PATTERNS))),
        3 => format!("{field} : ({})", eql_list(g, PATTERNS)),
        4 => format!(
            "{field} {} ({})",
            ["in", "in~", "not in"][g.below(3)],
            eql_list(g, STRINGS)
        ),
        5 => format!(
            "{field} {} ({})",
            ["like", "like~"][g.below(2)],
            eql_list(g, PATTERNS)
        ),
        6 => format!(
            "{field} {} {}",
            ["<", "<=", ">", ">="][g.below(4)],
            g.pick(NUMBERS)
        ),
        7 => format!(
            "{}{}({field}, {})",
            ["startsWith", "endsWith", "stringContains"][g.below(3)],
            ["", "~"][g.below(2)],
            eql_string(g.pick(STRINGS))
        ),
        8 => format!("cidrMatch({field}, {})", eql_list(g, CIDRS)),
        9 => format!("{field} == {}", eql_string(g.pick(STRINGS))),
        10 => format!("{field} : {}", eql_string(g.pick(STRINGS))),
        11 => format!("{field} {} null", ["==", "!="][g.below(2)]),
        12 => format!("not ({})", eql_expr(g, depth - 1)),
        13 => format!(
            "({}) and ({})",
            eql_expr(g, depth - 1),
            eql_expr(g, depth - 1)
        ),
        _ => format!(
            "({}) or ({})",
            eql_expr(g, depth - 1),
            eql_expr(g, depth - 1)
        ),
    }
}

/// `s` as a quoted KQL value.
fn kql_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `s` as an unquoted KQL value: `*` stays a wildcard, every other special
/// character is escaped; empty text is quoted instead.
fn kql_unquoted(s: &str) -> String {
    if s.is_empty() {
        return "\"\"".to_string();
    }
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '\\' | '(' | ')' | ':' | '<' | '>' | '"' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            // Spaces would end at keywords and be trimmed: quote instead.
            ' ' => return kql_quoted(s),
            c => out.push(c),
        }
    }
    if ["or", "and", "not"].contains(&out.to_ascii_lowercase().as_str()) {
        return kql_quoted(s);
    }
    out
}

fn kql_value(g: &mut Gen) -> String {
    match g.below(4) {
        0 => g.pick(NUMBERS).to_string(),
        1 => kql_quoted(g.pick(STRINGS)),
        2 => kql_unquoted(g.pick(PATTERNS)),
        _ => kql_unquoted(g.pick(STRINGS)),
    }
}

fn kql_values(g: &mut Gen, depth: u32) -> String {
    match g.below(if depth == 0 { 1 } else { 4 }) {
        0 => kql_value(g),
        1 => format!("(not {})", kql_value(g)),
        2 => format!(
            "({} and {})",
            kql_values(g, depth - 1),
            kql_values(g, depth - 1)
        ),
        _ => {
            let n = 2 + g.below(7);
            let parts: Vec<String> = (0..n).map(|_| kql_values(g, depth - 1)).collect();
            format!("({})", parts.join(" or "))
        }
    }
}

fn kql_query(g: &mut Gen, depth: u32) -> String {
    let field = g.pick(FIELDS);
    match g.below(if depth == 0 { 4 } else { 7 }) {
        0 => format!("{field} : {}", kql_values(g, 2)),
        1 => format!("{field} : *"),
        2 => format!(
            "{field} {} {}",
            ["<", "<=", ">", ">="][g.below(4)],
            kql_value(g)
        ),
        3 => format!("{field} : {}", kql_value(g)),
        4 => format!("not ({})", kql_query(g, depth - 1)),
        5 => format!(
            "({}) and ({})",
            kql_query(g, depth - 1),
            kql_query(g, depth - 1)
        ),
        _ => format!(
            "({}) or ({})",
            kql_query(g, depth - 1),
            kql_query(g, depth - 1)
        ),
    }
}

/// A JSON scalar from the shared values.
fn json_scalar(g: &mut Gen) -> String {
    match g.below(6) {
        0 => g.pick(NUMBERS).to_string(),
        1 => "null".to_string(),
        2 => ["true", "false"][g.below(2)].to_string(),
        _ => serde_json::to_string(g.pick(STRINGS)).expect("a string serializes"),
    }
}

/// An event setting some of the fields, dotted or nested, to a scalar or
/// an array of them.
fn event(g: &mut Gen) -> String {
    let mut parts = Vec::new();
    for field in FIELDS {
        if !g.flip() {
            continue;
        }
        let value = if g.below(4) == 0 {
            let items: Vec<String> = (0..g.below(4)).map(|_| json_scalar(g)).collect();
            format!("[{}]", items.join(", "))
        } else {
            json_scalar(g)
        };
        parts.push(match (g.flip(), field.split_once('.')) {
            (true, Some((head, rest))) => format!("{head:?}: {{{rest:?}: {value}}}"),
            _ => format!("{field:?}: {value}"),
        });
    }
    let ts = g.below(3);
    parts.push(format!("\"@timestamp\": \"2026-03-01T00:00:0{ts}Z\""));
    format!("{{{}}}", parts.join(", "))
}

fn bare(q: &eql::Query) -> serde_json::Value {
    let mut v = serde_json::to_value(q).expect("the EQL AST serializes");
    strip_spans(&mut v);
    v
}
