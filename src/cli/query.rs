//! `ruleq query`: one query over event files, results as NDJSON on stdout.

use super::parse::report;
use clap::Args;
use ruleq::engine::{
    compile_eql, compile_kql, now_nanos, Collector, Hit, Origin, Output, QueryOptions, MAX_PARTIALS,
};
use ruleq::eval::sequence::KeyValue;
use ruleq::event::{EventSource, Item, Malformed};
use ruleq::mapping::Mapping;
use ruleq::syntax::{eql, kql};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The query to run.
#[derive(Args)]
#[group(required = true, multiple = false)]
struct QueryText {
    /// An EQL query (Elasticsearch Event Query Language).
    #[arg(long, value_name = "QUERY")]
    eql: Option<String>,
    /// A KQL query (Kibana Query Language).
    #[arg(long, value_name = "QUERY")]
    kql: Option<String>,
}

/// Arguments of `ruleq query`.
#[derive(Args)]
pub struct QueryArgs {
    #[command(flatten)]
    input: QueryText,
    /// Event files or folders: NDJSON or JSON arrays, optionally .gz or .zst
    /// (standard input when none is given).
    #[arg(value_name = "EVENTS")]
    events: Vec<PathBuf>,
    /// An Elasticsearch index mapping (repeatable; merged): field types drive
    /// comparisons (date, ip, version, text), aliases resolve through it.
    #[arg(long = "mapping", value_name = "FILE")]
    mappings: Vec<PathBuf>,
    /// The field holding each event's time.
    #[arg(long, value_name = "FIELD", default_value = "@timestamp")]
    timestamp_field: String,
    /// A field ordering events with equal timestamps (default: input order).
    #[arg(long, value_name = "FIELD")]
    tiebreaker_field: Option<String>,
    /// The field holding the event category.
    #[arg(long, value_name = "FIELD", default_value = "event.category")]
    event_category_field: String,
    /// At most this many results (events or sequences); default unlimited.
    #[arg(long, value_name = "N")]
    size: Option<usize>,
    /// Samples per join key, for `sample` queries.
    #[arg(long, value_name = "N", default_value_t = 1)]
    max_samples_per_key: usize,
    /// The current time for KQL date math (`now-30d`), as RFC 3339
    /// (default: the clock).
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
    /// Read event files through a buffer rather than mapping them into
    /// memory (as `ruleq run --no-mmap`).
    #[arg(long)]
    no_mmap: bool,
    /// The partial sequences held at most; past it the oldest are dropped,
    /// and a note gives the count.
    #[arg(long, value_name = "N", default_value_t = MAX_PARTIALS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    max_partials: usize,
    /// Exit 2 when any event was malformed (after writing every result).
    #[arg(long)]
    strict: bool,
    /// The largest event read, in bytes (an NDJSON line, an array element
    /// or a value): a longer one is reported as malformed and skipped.
    /// The default, 100 MiB, is Elasticsearch's own request size limit.
    #[arg(long, value_name = "N", default_value_t = ruleq::event::DEFAULT_MAX_EVENT_BYTES)]
    max_event_bytes: usize,
}

/// Runs `ruleq query`.
pub fn query(args: QueryArgs) -> i32 {
    let mapping = match Mapping::from_files(&args.mappings) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let now = match &args.now {
        None => now_nanos(),
        Some(text) => {
            match ruleq::compile::date::parse_iso(text) {
                // RFC 3339 names a full time with its zone.
                Some(t) if text.contains('T') || text.contains('t') => t.lo,
                _ => {
                    eprintln!("error: --now {text}: expected an RFC 3339 time such as 2024-05-01T10:00:00Z");
                    return 2;
                }
            }
        }
    };
    let options = QueryOptions {
        now,
        max_samples_per_key: args.max_samples_per_key,
        category_field: args.event_category_field.clone(),
        timestamp_field: args.timestamp_field.clone(),
        timestamp_fallback: None,
        tiebreaker_field: args.tiebreaker_field.clone(),
        size: args.size,
        mapping,
        max_partials: args.max_partials,
        ..QueryOptions::default()
    };
    let compiled = match (&args.input.eql, &args.input.kql) {
        (Some(text), _) => eql::parse(text).and_then(|q| compile_eql(&q, &options)),
        (_, Some(text)) => kql::parse(text).and_then(|q| compile_kql(&q, &options)),
        _ => unreachable!("clap requires one query source"),
    };
    let compiled = match compiled {
        Ok(c) => c,
        Err(d) => {
            let text = args.input.eql.as_ref().or(args.input.kql.as_ref());
            return report("query", text.expect("one query source"), &d);
        }
    };
    let inputs = match super::inputs::event_inputs(&args.events) {
        Ok(inputs) => inputs,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let mut source = match EventSource::new(&inputs) {
        Ok(s) if args.no_mmap => s.without_mmap().with_max_event_bytes(args.max_event_bytes),
        Ok(s) => s.with_max_event_bytes(args.max_event_bytes),
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let mut collector = Collector::new(&compiled);
    let files: Vec<PathBuf> = source.files();
    let mut reporter = ruleq::event::Reporter::default();
    let mut io_failed = false;
    while let Some(item) = source.next_item() {
        match item {
            Ok(Item::Event(raw)) => {
                let origin = Origin {
                    file: raw.file,
                    line: raw.pos.number(),
                };
                if let Err(e) = collector.offer(origin, raw.bytes) {
                    reporter.report(&Malformed::new(&raw, &e));
                }
            }
            Ok(Item::Malformed(m)) => reporter.report(&m),
            Err(e) => {
                eprintln!("error: {e}");
                io_failed = true;
            }
        }
    }
    if collector.without_timestamp > 0 {
        eprintln!(
            "note: {} matching events have no usable `{}` and take no part in sequences",
            collector.without_timestamp, args.timestamp_field
        );
    }
    let results = collector.finish();
    let dropped = compiled.partials_dropped();
    if dropped > 0 {
        eprintln!(
            "note: held more than {} partial sequences at once (--max-partials); the {dropped} oldest were dropped, and the sequences they would have completed are missing",
            args.max_partials
        );
    }
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for r in &results {
        let line = render(r, &files);
        if writeln!(out, "{line}").is_err() {
            // A closed pipe (`| head`) is not an error worth reporting.
            return 0;
        }
    }
    if out.flush().is_err() {
        return 0;
    }
    reporter.finish();
    let malformed = reporter.total();
    if malformed > 0 {
        eprintln!("{malformed} malformed events skipped");
    }
    if io_failed || (args.strict && malformed > 0) {
        2
    } else {
        0
    }
}

fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// An event result: its file, line and source, on one line whatever the
/// input's layout (a pretty-printed event loses its insignificant
/// whitespace, nothing else).
fn render_hit(hit: &Hit, files: &[PathBuf]) -> String {
    let file = files
        .get(hit.origin.file)
        .map_or(Path::new(""), PathBuf::as_path);
    format!(
        "{{\"_file\":{},\"_line\":{},\"_source\":{}}}",
        json_string(&file.display().to_string()),
        hit.origin.line,
        ruleq::event::compact_json(&String::from_utf8_lossy(&hit.source))
    )
}

/// Join keys as JSON, each with the type it has in the events; a date as
/// Elasticsearch writes it, which differs between sequences and samples.
fn render_keys(join_keys: &[Option<KeyValue>], in_sequence: bool) -> String {
    let keys: Vec<String> = join_keys
        .iter()
        .map(|k| match k {
            None => "null".to_string(),
            Some(KeyValue::Str(text)) => json_string(text),
            Some(KeyValue::Num(text)) => text.to_string(),
            Some(KeyValue::Bool(b)) => b.to_string(),
            Some(KeyValue::Date(nanos)) => json_string(&KeyValue::date_text(*nanos, in_sequence)),
        })
        .collect();
    keys.join(",")
}

fn render(result: &Output, files: &[PathBuf]) -> String {
    match result {
        Output::Event(hit) => render_hit(hit, files),
        Output::Sequence { join_keys, events } => {
            let events: Vec<String> = events
                .iter()
                .map(|e| match e {
                    Some(hit) => render_hit(hit, files),
                    None => "{\"missing\":true}".to_string(),
                })
                .collect();
            format!(
                "{{\"join_keys\":[{}],\"events\":[{}]}}",
                render_keys(join_keys, true),
                events.join(",")
            )
        }
        Output::Sample { join_keys, events } => {
            let events: Vec<String> = events.iter().map(|h| render_hit(h, files)).collect();
            format!(
                "{{\"join_keys\":[{}],\"events\":[{}]}}",
                render_keys(join_keys, false),
                events.join(",")
            )
        }
    }
}
