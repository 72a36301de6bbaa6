//! `ruleq run`: every rule under the rule paths over event files in one
//! pass, alerts written as Kibana writes them.

use super::inputs::{event_inputs, FileNames};
use super::pass;
use super::sorter::{Order, Sorter};
use clap::{Args, ValueEnum};
use ruleq::alert::{lookup, Alert, Context, OwnedSource, SourceText};
use ruleq::check::query::ParsedQuery;
use ruleq::check::{self, output, Report};
use ruleq::compile::date::format_iso;
use ruleq::diag::{Diagnostic, Severity};
use ruleq::engine::{
    now_nanos, Hit, IndexPatterns, Output, QueryOptions, RuleSetBuilder, MAX_PARTIALS, REORDER,
};
use ruleq::event::EventSource;
use ruleq::mapping::Mapping;
use ruleq::rule::{self, Language, Rule, RuleType};
use ruleq::syntax::{eql, kql};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

/// How alerts are written.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AlertFormat {
    /// One alert document per line.
    Ndjson,
    /// One JSON array of alert documents.
    Json,
    /// Alerts grouped by rule: severity, time, host, process and reason.
    Table,
}

/// Arguments of `ruleq run`.
#[derive(Args)]
pub struct RunArgs {
    /// Rule files (.toml, .json, .ndjson) or folders (repeatable).
    #[arg(
        short = 'r',
        long = "rules",
        value_name = "PATH",
        default_value = "rules"
    )]
    rules: Vec<PathBuf>,
    /// Event files or folders: NDJSON or JSON arrays, optionally .gz or .zst
    /// (standard input when none is given).
    #[arg(value_name = "EVENTS")]
    events: Vec<PathBuf>,
    /// The index the event files come from, for events without `_index`:
    /// rules see only events from indices their `index` patterns match.
    /// With neither, every rule sees every event.
    #[arg(long, value_name = "NAME")]
    index: Option<String>,
    /// Worker threads evaluating rules (default: all cores). The output is
    /// the same whatever the count.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Read event files through a buffer rather than mapping them into
    /// memory: slower, but safe for files that another process may
    /// truncate during the run (logs rotated with `copytruncate`), which
    /// would otherwise end it with SIGBUS.
    #[arg(long)]
    no_mmap: bool,
    /// The largest event read, in bytes (an NDJSON line, an array element
    /// or a value): a longer one is reported as malformed and skipped.
    /// The default, 100 MiB, is Elasticsearch's own request size limit.
    #[arg(long, value_name = "N", default_value_t = ruleq::event::DEFAULT_MAX_EVENT_BYTES)]
    max_event_bytes: usize,
    /// Output format (default: table on a terminal, ndjson otherwise).
    #[arg(long, value_enum)]
    format: Option<AlertFormat>,
    /// Write the alerts to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// The execution time, as RFC 3339: Kibana writes it into each alert's
    /// `@timestamp` (default: the clock). With it the output is reproducible.
    #[arg(long, value_name = "TIME", conflicts_with = "schedule")]
    now: Option<String>,
    /// Replay Kibana's schedule: an execution every rule `interval` (at
    /// whole multiples of it since the Unix epoch), each searching its
    /// `from`..`to` window, at most `max_signals` alerts each, alerts an
    /// earlier execution wrote not written again. Alerts carry their
    /// execution's time.
    #[arg(long)]
    schedule: bool,
    /// Exit 1 when any alert was written (for CI).
    #[arg(long)]
    fail_on_alert: bool,
    /// The partial sequences one rule holds at most; past it the oldest are
    /// dropped, and a note names the rule and the count.
    #[arg(long, value_name = "N", default_value_t = MAX_PARTIALS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    max_partials: usize,
    /// Exit 2 when any event was malformed (after reading everything and
    /// writing every alert), for pipelines that must not skip input.
    #[arg(long)]
    strict: bool,
    /// No summary on standard error.
    #[arg(short, long)]
    quiet: bool,
    /// An Elasticsearch index mapping (repeatable; merged): field types drive
    /// comparisons, aliases resolve through it, a `constant_keyword`'s value
    /// is every event's (and set in alerts whose event lacks it).
    #[arg(long = "mapping", value_name = "FILE")]
    mappings: Vec<PathBuf>,
}

/// A rule's parsed query.
enum Parsed {
    Eql(eql::Query),
    Kql(kql::Query),
}

/// The parsed query of an eql or query rule; `None` for other rules and
/// rules without a query.
fn parse_query(rule: &Rule) -> Option<Result<Parsed, Diagnostic>> {
    let query = rule.query.as_ref()?;
    match rule.rule_type.as_ref().map(|t| t.value) {
        Some(RuleType::Eql) => Some(eql::parse(&query.text).map(Parsed::Eql)),
        Some(RuleType::Query) => Some(kql::parse(&query.text).map(Parsed::Kql)),
        _ => None,
    }
}

/// What [`parse_query`] would give, from the query as the checks parsed
/// it (in the rule's `language`), when that is the language the rule's
/// type runs; `None` otherwise.
fn taken_query(rule: &Rule, checked: Option<ParsedQuery>) -> Option<Result<Parsed, Diagnostic>> {
    rule.query.as_ref()?;
    match (rule.rule_type.as_ref().map(|t| t.value), checked?) {
        (Some(RuleType::Eql), ParsedQuery::Eql(q)) => Some(Ok(Parsed::Eql(q))),
        (Some(RuleType::Query), ParsedQuery::Kql(q)) => Some(Ok(Parsed::Kql(q))),
        _ => None,
    }
}

/// A rule that runs, and its query's place in the rule set.
struct Loaded<'r> {
    rule: &'r Rule,
    query: usize,
}

/// The first three names, quoted, and how many more there are.
fn some_names(names: &[&str]) -> String {
    let shown: Vec<String> = names.iter().take(3).map(|n| format!("\"{n}\"")).collect();
    match names.len().checked_sub(3) {
        Some(more) if more > 0 => format!("{} and {more} more", shown.join(", ")),
        _ => shown.join(", "),
    }
}

fn parse_now(text: &Option<String>) -> Result<i64, String> {
    match text {
        None => Ok(now_nanos()),
        Some(text) => match ruleq::compile::date::parse_iso(text) {
            Some(t) if text.contains('T') || text.contains('t') => Ok(t.lo),
            _ => Err(format!(
                "--now {text}: expected an RFC 3339 time such as 2024-05-01T10:00:00Z"
            )),
        },
    }
}

/// Runs `ruleq run`: exit 0, 1 with `--fail-on-alert` and alerts, 2 usage or
/// I/O errors (and malformed events with `--strict`), 3 when some rules
/// could not be loaded; the first that applies in the order 2, 3, 1.
pub fn run(args: RunArgs) -> i32 {
    let started = Instant::now();
    let now = match parse_now(&args.now) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let inputs = match event_inputs(&args.events) {
        Ok(inputs) => inputs,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let mapping = match Mapping::from_files(&args.mappings) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let paths = match rule::collect_paths(&args.rules) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let mut files = Vec::with_capacity(paths.len());
    // Files load on all cores, and are taken in path order.
    let loaded = ruleq::par::map(&paths, |p| rule::load_file(p));
    for (path, file) in paths.iter().zip(loaded) {
        match file {
            Ok(f) => files.push(f),
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return 2;
            }
        }
    }
    // The checks decide which rules load: a rule with an error does not run.
    let (report, checked) = check::check_parsed(files, mapping.as_ref());
    let errors: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.diagnostic.severity == Severity::Error)
        .cloned()
        .collect();
    // Each rule with an error, or each file with one outside any rule (a
    // file that does not parse has no rules at all), counts once.
    let mut broken: Vec<(usize, Option<usize>)> = errors.iter().map(|f| (f.file, f.rule)).collect();
    broken.sort_unstable();
    broken.dedup();
    if !errors.is_empty() {
        let only_errors = Report {
            files: report.files.clone(),
            findings: errors,
        };
        let color = io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        eprint!("{}", output::human(&only_errors, color));
    }
    let options = QueryOptions {
        now,
        mapping: mapping.clone(),
        max_partials: args.max_partials,
        ..QueryOptions::default()
    };
    let mut builder = RuleSetBuilder::new(mapping.as_ref());
    let mut loaded: Vec<Loaded> = Vec::new();
    // (why, rule name) for the rules that are not run.
    let mut not_run: Vec<(String, String)> = Vec::new();
    let mut failed_rules = broken.len();
    // The queries parse on all cores; the set is then built in rule order.
    let rules: Vec<&Rule> = report.files.iter().flat_map(|f| &f.rules).collect();
    // The checks parsed most queries already; the rest parse on all cores.
    let mut parsed: Vec<Option<Result<Parsed, Diagnostic>>> = rules
        .iter()
        .zip(checked)
        .map(|(rule, checked)| taken_query(rule, checked))
        .collect();
    let rest: Vec<usize> = (0..rules.len()).filter(|&i| parsed[i].is_none()).collect();
    for (i, p) in rest
        .iter()
        .zip(ruleq::par::map(&rest, |&i| parse_query(rules[i])))
    {
        parsed[*i] = p;
    }
    let mut parsed = parsed.into_iter();
    for (fi, file) in report.files.iter().enumerate() {
        for (ri, rule) in file.rules.iter().enumerate() {
            let parsed = parsed.next().flatten();
            let name = rule.name.as_ref().map_or("(unnamed)", |n| n.value.as_str());
            if broken.contains(&(fi, Some(ri))) || broken.contains(&(fi, None)) {
                continue;
            }
            let kind = rule.rule_type.as_ref().map(|t| t.value);
            let language = rule.language.as_ref().map(|l| l.value);
            let keyword = |k: RuleType| {
                serde_json::to_value(k)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            };
            let reason = match (kind, language) {
                // Elastic no longer ships them: Kibana has none installed.
                _ if rule.is_deprecated() => Some("deprecated rules".to_string()),
                (Some(RuleType::Eql), _)
                | (Some(RuleType::Query), Some(Language::Kuery) | None) => None,
                (Some(RuleType::Query), Some(_)) => {
                    Some("Lucene queries are not evaluated yet".to_string())
                }
                (Some(k @ (RuleType::Esql | RuleType::MachineLearning)), _) => {
                    Some(format!("{} rules cannot be evaluated offline", keyword(k)))
                }
                (Some(k), _) => Some(format!("{} rules are not evaluated yet", keyword(k))),
                (None, _) => Some("rules without a type".to_string()),
            };
            if let Some(reason) = reason {
                not_run.push((reason, name.to_string()));
                continue;
            }
            let Some(query) = &rule.query else {
                not_run.push(("rules without a query".into(), name.to_string()));
                continue;
            };
            let mut opts = options.clone();
            if let Some(t) = &rule.timestamp_override {
                opts.timestamp_field = t.value.clone();
                // Kibana falls back to `@timestamp` for events without the
                // override unless the rule turns that off.
                let disabled =
                    rule.extra("timestamp_override_fallback_disabled") == Some(Value::Bool(true));
                if !disabled {
                    opts.timestamp_fallback = Some("@timestamp".into());
                }
            }
            if let Some(Value::String(c)) = rule.extra("event_category_override") {
                opts.category_field = c;
            }
            if let Some(Value::String(t)) = rule.extra("tiebreaker_field") {
                opts.tiebreaker_field = Some(t);
            }
            // No execution of the rule sees a sequence longer than its
            // look-back window whole: partial sequences expire after it.
            opts.default_maxspan = Schedule::of(rule).ok().map(|s| s.to - s.from);
            let filters = match rule.extra("filters") {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            };
            let filters = match builder.kibana_filters(&filters) {
                Ok(f) => f,
                Err(e) => {
                    not_run.push((
                        format!("rules with unsupported filters ({e})"),
                        name.to_string(),
                    ));
                    continue;
                }
            };
            let added = match parsed {
                Some(Ok(Parsed::Eql(q))) => builder.add_eql(&q, &opts),
                Some(Ok(Parsed::Kql(q))) => builder.add_kql(&q, &opts),
                Some(Err(d)) => Err(d),
                // Only eql and query rules with a query come this far, and
                // `parse_query` parsed every one of them.
                None => {
                    not_run.push(("rules without a query".into(), name.to_string()));
                    continue;
                }
            };
            match added {
                Ok(index) => {
                    builder.set_filters(index, filters);
                    if rule.data_view_id.is_none() && !rule.index.is_empty() {
                        let patterns = rule.index.iter().map(|p| p.value.as_str());
                        builder.restrict(index, IndexPatterns::new(patterns));
                    }
                    loaded.push(Loaded { rule, query: index })
                }
                Err(d) => {
                    let d = check::query::into_file(d, query);
                    eprint!(
                        "{}",
                        d.render(&file.path.display().to_string(), &file.source, false)
                    );
                    failed_rules += 1;
                }
            }
        }
    }
    // Once per reason, with the first rules it concerns.
    let mut reasons: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (why, name) in &not_run {
        reasons.entry(why).or_default().push(name);
    }
    for (why, names) in reasons.iter().filter(|_| !args.quiet) {
        eprintln!(
            "note: not run: {} {why}: {}",
            names.len(),
            some_names(names)
        );
    }
    // Settings Kibana applies that this run does not, once per setting.
    let mut unapplied: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for l in &loaded {
        let name = l
            .rule
            .name
            .as_ref()
            .map_or("(unnamed)", |n| n.value.as_str());
        if l.rule.alert_suppression.is_some() {
            unapplied.entry("alert_suppression").or_default().push(name);
        }
        if l.rule.extra("exceptions_list").is_some() {
            unapplied.entry("exceptions_list").or_default().push(name);
        }
    }
    for (what, names) in unapplied.iter().filter(|_| !args.quiet) {
        let count = names.len();
        eprintln!(
            "note: {what} not applied ({count} rules): {}",
            some_names(names)
        );
    }
    let set = builder.finish();

    // One pass over the events.
    let names = FileNames::new(&inputs);
    let source = match EventSource::new(&inputs) {
        Ok(s) if args.no_mmap => s.without_mmap().with_max_event_bytes(args.max_event_bytes),
        Ok(s) => s.with_max_event_bytes(args.max_event_bytes),
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    // Rules evaluated on every thread, each event read once for all of
    // them; the results do not depend on the thread count.
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let feedback = pass::Feedback::new(args.quiet, started);

    // Alerts, ordered by original event time, then rule id, then alert id,
    // built as results come and held serialized (spilled to temporary files
    // beyond a budget), so that memory does not grow with the input.
    let now_text = format_iso(now, false);
    // The mapping's constant_keywords, which Kibana merges from a hit's
    // `fields` into alert sources that lack them.
    let constants: std::sync::Arc<[(String, String)]> = mapping
        .iter()
        .flat_map(|m| m.constants())
        .map(|(path, value)| (path.to_string(), value.to_string()))
        .collect();
    let default_index = args.index.clone();
    let mut sorter = Sorter::new(ALERT_BUDGET);
    let mut stored: io::Result<()> = Ok(());
    let mut counts = vec![0usize; loaded.len()];
    let mut by_query: Vec<Option<usize>> = vec![None; set.queries.len()];
    for (i, l) in loaded.iter().enumerate() {
        by_query[l.query] = Some(i);
    }
    // Rendering a rule's fixed fields takes about 0.1 ms: on all cores.
    let contexts: Vec<Context> = ruleq::par::map(&loaded, |l| {
        Context::new(l.rule, now_text.clone()).with_constants(constants.clone())
    });
    // Each rule's fixed fields are held once by the sorter.
    let shared: Vec<u32> = contexts
        .iter()
        .map(|c| sorter.share(c.fixed().to_string()))
        .collect();
    // An event query's match becomes its alert on the worker thread that
    // found it; other results on this one, as they become final.
    let prepare = |q: usize, hit: &Hit, files: &[PathBuf]| -> Option<pass::Prepared> {
        let i = by_query[q]?;
        let alert = event_alert(
            &contexts[i],
            hit,
            &Naming::new(files, &names, default_index.as_deref()),
        );
        Some((hit.timestamp, vec![alert]))
    };
    let mut sink = |q: usize, ready: pass::Ready, files: &[PathBuf]| {
        let Some(i) = by_query[q] else { return };
        let (time, docs) = match ready {
            pass::Ready::Prepared(p) => p,
            pass::Ready::Output(out) => result_alerts(
                &contexts[i],
                &out,
                &Naming::new(files, &names, default_index.as_deref()),
            ),
        };
        counts[i] += 1;
        if stored.is_ok() {
            stored = store(&mut sorter, loaded[i].rule, time, docs, shared[i]);
        }
    };
    let collect = if args.schedule {
        pass::Collect::Keep
    } else {
        pass::Collect::Stream {
            prepare: &prepare,
            sink: &mut sink,
        }
    };
    // Rules are loaded: what is freed from here on goes back at once.
    crate::return_freed_memory_at_once();
    let pass = pass::run(
        &set,
        source,
        threads,
        args.index.clone(),
        &feedback,
        collect,
    );
    // What is left is mostly freeing: freed memory may wait again.
    crate::keep_freed_memory_a_while();
    let (read, malformed, io_failed) = (pass.read, pass.malformed, pass.io_failed);
    for (q, n, origin) in &pass.late {
        let name = by_query[*q].map_or("", |i| rule_name(loaded[i].rule));
        let file = pass.files.get(origin.file).map(|p| p.display().to_string());
        eprintln!(
            "note: \"{name}\": {n} events came more than {REORDER} candidates out of time order (the first at {}:{}); they took no step of its sequences (they only cancelled), where Elasticsearch would have sorted them in: sort the input by time for exact results",
            file.unwrap_or_default(),
            origin.line
        );
    }

    for l in &loaded {
        let dropped = set.queries[l.query].partials_dropped();
        if dropped > 0 {
            eprintln!(
                "note: \"{}\": held more than {} partial sequences at once (--max-partials); the {dropped} oldest were dropped, and the sequences they would have completed are missing",
                rule_name(l.rule),
                args.max_partials
            );
        }
    }
    let clashes = if args.quiet {
        Vec::new()
    } else {
        names.clashes(&pass.files)
    };
    for (name, paths) in clashes {
        let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        eprintln!(
            "note: event files {} are all named {name} in alert ids (an event without `_id` is named by its file and line): their events without `_id` can share alert ids; name them apart or give the events an `_id`",
            paths.join(", ")
        );
    }

    let mut over_cap: Vec<String> = Vec::new();
    let mut replay = Replay::default();
    for (i, l) in loaded.iter().enumerate() {
        let cap = l.rule.max_signals.as_ref().map_or(100, |m| m.value);
        let cap = usize::try_from(cap).unwrap_or(0);
        let Some(matches) = pass.matches.get(l.query) else {
            // One execution over all the input has no cap: say which rules
            // Kibana would have cut at max_signals.
            if counts[i] > cap {
                over_cap.push(format!("{} ({} > {cap})", rule_name(l.rule), counts[i]));
            }
            continue;
        };
        let schedule = match Schedule::of(l.rule) {
            Ok(s) => s,
            Err(why) => {
                replay
                    .unscheduled
                    .push((why, rule_name(l.rule).to_string()));
                continue;
            }
        };
        // EQL rules ask Elasticsearch for max_signals results; query
        // rules page on until max_signals new alerts are written.
        let eql = l.rule.rule_type.as_ref().map(|t| t.value) == Some(RuleType::Eql);
        let mut written: HashSet<String> = HashSet::new();
        let mut seen: HashSet<String> = HashSet::new();
        for t in schedule.executions(&matches.times()) {
            let ctx = Context::new(l.rule, format_iso(t, false)).with_constants(constants.clone());
            let mut fixed = None;
            let outputs = matches.within(t + schedule.from, t + schedule.to);
            replay.executions += 1;
            let (mut created, mut cut) = (0usize, 0usize);
            for (n, out) in outputs.iter().enumerate() {
                let (time, docs) = result_alerts(
                    &ctx,
                    out,
                    &Naming::new(&pass.files, &names, args.index.as_deref()),
                );
                let key = result_key(&docs);
                seen.insert(key.clone());
                let beyond = if eql { n >= cap } else { created >= cap };
                if written.contains(&key) {
                    // Kibana finds the alert already there and skips it.
                    replay.duplicates += usize::from(!beyond);
                    continue;
                }
                if beyond {
                    cut += 1;
                    continue;
                }
                written.insert(key);
                created += 1;
                counts[i] += 1;
                let fixed = *fixed.get_or_insert_with(|| sorter.share(ctx.fixed().to_string()));
                if stored.is_ok() {
                    stored = store(&mut sorter, l.rule, time, docs, fixed);
                }
            }
            replay.capped_executions += usize::from(cut > 0);
        }
        let never = seen.len() - written.len();
        if never > 0 {
            replay.never_written += never;
            replay
                .capped_rules
                .push(format!("{} ({never})", rule_name(l.rule)));
        }
    }
    let mut per_rule: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (l, &count) in loaded.iter().zip(&counts).filter(|(_, &c)| c > 0) {
        let severity = l
            .rule
            .severity
            .as_ref()
            .and_then(|s| serde_json::to_value(s).ok())
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        *per_rule
            .entry((rule_name(l.rule).to_string(), severity))
            .or_default() += count;
    }

    let written = sorter.count;
    if let Err(e) = stored.and_then(|()| write_alerts(&args, sorter)) {
        if e.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("error: writing alerts: {e}");
            return 2;
        }
    }
    if !args.quiet {
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "{} rules run, {} not run, {} failed to load",
            loaded.len(),
            not_run.len(),
            failed_rules
        );
        eprintln!(
            "{read} events read ({malformed} malformed), {written} alert documents in {secs:.2} s ({:.0} events/s)",
            read as f64 / secs.max(1e-9)
        );
        for ((name, severity), n) in &per_rule {
            eprintln!("  {n:>6}  {severity:<8}  {name}");
        }
        if args.schedule {
            eprintln!(
                "schedule: {} executions; {} results already alerted by an earlier execution skipped; {} executions cut at max_signals",
                replay.executions, replay.duplicates, replay.capped_executions
            );
            if replay.never_written > 0 {
                eprintln!(
                    "note: {} results were never written because executions hit max_signals: {}",
                    replay.never_written,
                    replay.capped_rules.join(", ")
                );
            }
            let mut reasons: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for (why, name) in &replay.unscheduled {
                reasons.entry(why).or_default().push(name);
            }
            for (why, names) in &reasons {
                eprintln!(
                    "note: not run under --schedule: {} {why}: {}",
                    names.len(),
                    some_names(names)
                );
            }
        }
        if !over_cap.is_empty() {
            eprintln!(
                "note: {} rules raised more alerts than their max_signals, which caps one Kibana execution: {}",
                over_cap.len(),
                over_cap.join(", ")
            );
        }
    }
    let code = if io_failed || (args.strict && malformed > 0) {
        2
    } else if failed_rules > 0 {
        3
    } else if args.fail_on_alert && written > 0 {
        1
    } else {
        0
    };
    // The process ends with this command: freeing the rules, their
    // compiled queries and alert contexts one by one took the corpus rules
    // 50 ms at the end of every run. The system takes the memory back.
    std::mem::forget(pass);
    std::mem::forget(contexts);
    std::mem::forget(set);
    std::mem::forget(report);
    code
}

/// What `--schedule` did, for the summary.
#[derive(Default)]
struct Replay {
    executions: usize,
    /// Results an execution found already written by an earlier one.
    duplicates: usize,
    /// Executions that found more new results than max_signals.
    capped_executions: usize,
    /// Results no execution wrote because of max_signals.
    never_written: usize,
    /// The rules with such results, and how many.
    capped_rules: Vec<String>,
    /// (why, rule name) for rules whose schedule cannot be replayed.
    unscheduled: Vec<(String, String)>,
}

/// A rule's schedule: executions every `interval` nanoseconds, each
/// searching from `from` to `to` nanoseconds relative to its time.
struct Schedule {
    interval: i64,
    from: i64,
    to: i64,
}

impl Schedule {
    /// The rule's `interval`, `from` and `to`, with Kibana's defaults (5m,
    /// now-6m, now).
    fn of(rule: &Rule) -> Result<Schedule, String> {
        const SECOND: i64 = 1_000_000_000;
        let interval = rule.interval.as_ref().map_or(300, |i| i.value.seconds());
        let offset = |d: &Option<rule::Spanned<rule::DateMath>>, default: i64, key: &str| match d {
            None => Ok(default),
            Some(d) => d
                .value
                .offset_seconds()
                .ok_or_else(|| format!("rules whose `{key}` rounds or uses months or years")),
        };
        let from = offset(&rule.from, -360, "from")?;
        let to = offset(&rule.to, 0, "to")?;
        if from > to {
            return Err("rules whose `from` is after their `to`".into());
        }
        Ok(Schedule {
            interval: interval.max(1) * SECOND,
            from: from * SECOND,
            to: to * SECOND,
        })
    }

    /// The execution times whose windows hold at least one of `times`
    /// (sorted), in order: an event at `t` is seen by the executions
    /// between `t - to` and `t - from`.
    fn executions(&self, times: &[i64]) -> Vec<i64> {
        let i = self.interval;
        let mut out = Vec::new();
        let mut next = i64::MIN;
        for &t in times {
            let first = (t.saturating_sub(self.to) + i - 1).div_euclid(i);
            let last = t.saturating_sub(self.from).div_euclid(i);
            for k in first.max(next)..=last {
                out.push(k.saturating_mul(i));
            }
            next = next.max(last + 1);
        }
        out
    }
}

/// The rule's name, or `(unnamed)`.
fn rule_name(rule: &Rule) -> &str {
    rule.name.as_ref().map_or("(unnamed)", |n| n.value.as_str())
}

/// The id a result's documents are known by: the last one's (the shell's
/// for a sequence).
fn result_key(docs: &[Alert]) -> String {
    docs.last().map(|d| d.uuid.clone()).unwrap_or_default()
}

/// The alert documents of one result, and its original time.
fn result_alerts(ctx: &Context, out: &Output, naming: &Naming) -> (Option<i64>, Vec<Alert>) {
    let group = |hits: Vec<&Hit>| {
        let time = hits.first().and_then(|h| h.timestamp);
        let mut identities: Vec<Identity> = hits.iter().map(|h| Identity::of(h, naming)).collect();
        let texts: Option<Vec<&str>> = hits
            .iter()
            .map(|h| std::str::from_utf8(&h.source).ok())
            .collect();
        if let Some(texts) = texts {
            let views: Vec<SourceText> = identities
                .into_iter()
                .zip(texts)
                .map(|(identity, text)| identity.with_text(text))
                .collect();
            if let Some(docs) = ctx.sequence_alerts_text(&views) {
                return (time, docs);
            }
            identities = views.into_iter().map(Identity::from).collect();
        }
        let owned: Vec<_> = hits
            .iter()
            .zip(identities)
            .map(|(h, identity)| read_source(h, identity))
            .collect();
        (time, ctx.sequence_alerts_owned(owned))
    };
    match out {
        Output::Event(hit) => (hit.timestamp, vec![event_alert(ctx, hit, naming)]),
        Output::Sequence { events, .. } => group(events.iter().flatten().collect()),
        // A sample's events form one group, as a sequence's do.
        Output::Sample { events, .. } => group(events.iter().collect()),
    }
}

/// The alert of a matching event: written from its text when that is
/// canonical, else from its source read into a map (the same document).
fn event_alert(ctx: &Context, hit: &Hit, naming: &Naming) -> Alert {
    let mut identity = Identity::of(hit, naming);
    if let Ok(text) = std::str::from_utf8(&hit.source) {
        let view = identity.with_text(text);
        if let Some(alert) = ctx.event_alert_text(&view) {
            return alert;
        }
        identity = Identity::from(view);
    }
    ctx.event_alert_owned(read_source(hit, identity))
}

/// What names events in their alerts: the event files read so far (an
/// [`Origin`](ruleq::engine::Origin)'s `file` indexes them), their names,
/// and the index of events without `_index`.
struct Naming<'a> {
    files: &'a [PathBuf],
    names: &'a FileNames,
    default_index: Option<&'a str>,
}

impl<'a> Naming<'a> {
    fn new(files: &'a [PathBuf], names: &'a FileNames, default_index: Option<&'a str>) -> Self {
        Naming {
            files,
            names,
            default_index,
        }
    }
}

/// What names a matching event in its alerts.
struct Identity {
    id: String,
    index: Option<String>,
}

impl Identity {
    /// The hit's identity (`_id`, else its file's name and line: see
    /// [`FileNames`]) and index.
    fn of(hit: &Hit, naming: &Naming) -> Identity {
        let id = match hit.id() {
            Some(id) => id.to_string(),
            None => {
                let file = naming
                    .files
                    .get(hit.origin.file)
                    .map(|p| naming.names.name(p))
                    .unwrap_or_default();
                format!("{file}:{}", hit.origin.line)
            }
        };
        Identity {
            id,
            index: hit.index().or(naming.default_index).map(str::to_string),
        }
    }

    /// The event as written, named by this identity.
    fn with_text(self, text: &str) -> SourceText<'_> {
        SourceText {
            id: self.id,
            index: self.index,
            text,
        }
    }
}

impl From<SourceText<'_>> for Identity {
    /// The identity back from an event as written.
    fn from(t: SourceText) -> Identity {
        Identity {
            id: t.id,
            index: t.index,
        }
    }
}

/// A matching event's source read into a map, under its identity, as
/// its alerts take it.
fn read_source(hit: &Hit, identity: Identity) -> OwnedSource {
    let mut source: Map<String, Value> = serde_json::from_slice(&hit.source).unwrap_or_default();
    // Top-level `_id` and `_index` of a plain event are metadata, as in a
    // hit; they do not become alert fields.
    source.shift_remove("_id");
    source.shift_remove("_index");
    OwnedSource {
        id: identity.id,
        index: identity.index,
        source,
    }
}

/// Output buffer size, in bytes.
const OUT_BUF: usize = 1 << 20;

/// Serialized alert documents held before output, in bytes: beyond it they
/// go to sorted temporary files.
const ALERT_BUDGET: usize = 32 << 20;

/// One result's documents into the sorter; `fixed` numbers their
/// execution's fixed fields there.
fn store(
    sorter: &mut Sorter,
    rule: &Rule,
    time: Option<i64>,
    docs: Vec<Alert>,
    fixed: u32,
) -> io::Result<()> {
    // Documents of one result share the last one's id (the shell's for a
    // sequence) as their sort key, and keep the order Kibana writes them.
    let result = result_key(&docs);
    for (pos, doc) in docs.into_iter().enumerate() {
        let order = Order {
            time: time.unwrap_or(i64::MIN),
            rule: rule.id().unwrap_or("").to_string(),
            result: result.clone(),
            pos,
        };
        sorter.push(order, doc.own, fixed)?;
    }
    Ok(())
}

/// Writes one document from its parts.
fn write_document(out: &mut dyn Write, own: &str, fixed: &str) -> io::Result<()> {
    let mut result = Ok(());
    ruleq::alert::join(own, fixed, |part| {
        if result.is_ok() {
            result = out.write_all(part.as_bytes());
        }
    });
    result
}

fn write_alerts(args: &RunArgs, alerts: Sorter) -> io::Result<()> {
    let mut out: Box<dyn Write> = match &args.output {
        // Documents are kilobytes each: with the default 8 KiB buffer most
        // would go to the system one write call at a time.
        Some(path) => Box::new(BufWriter::with_capacity(OUT_BUF, File::create(path)?)),
        None => Box::new(BufWriter::with_capacity(OUT_BUF, io::stdout().lock())),
    };
    let format = args
        .format
        .unwrap_or(if args.output.is_none() && io::stdout().is_terminal() {
            AlertFormat::Table
        } else {
            AlertFormat::Ndjson
        });
    match format {
        AlertFormat::Table => {
            let color = args.output.is_none()
                && io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none();
            let mut all: Vec<Map<String, Value>> = Vec::new();
            alerts.finish(|own, fixed| {
                let doc = Alert {
                    uuid: String::new(),
                    own: own.to_string(),
                };
                all.push(serde_json::from_str(&doc.document(fixed))?);
                Ok(())
            })?;
            out.write_all(table(&all, color).as_bytes())?;
        }
        AlertFormat::Ndjson => alerts.finish(|own, fixed| {
            write_document(&mut out, own, fixed)?;
            out.write_all(b"\n")
        })?,
        AlertFormat::Json => {
            // One document per line inside the array.
            let mut first = true;
            out.write_all(b"[")?;
            alerts.finish(|own, fixed| {
                out.write_all(if first { b"\n  " } else { b",\n  " })?;
                first = false;
                write_document(&mut out, own, fixed)
            })?;
            out.write_all(b"\n]\n")?;
        }
    }
    out.flush()
}

fn text(alert: &Map<String, Value>, path: &str) -> String {
    match lookup(alert, path) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "-".into(),
        Some(v) => v.to_string(),
    }
}

/// Alerts grouped by rule, one line each; building blocks are left out
/// (their shell alert stands for them), as Kibana's alert table does.
fn table(alerts: &[Map<String, Value>], color: bool) -> String {
    let mut rules: Vec<(String, Vec<&Map<String, Value>>)> = Vec::new();
    for a in alerts {
        if a.contains_key("kibana.alert.building_block_type") {
            continue;
        }
        let name = text(a, "kibana.alert.rule.name");
        match rules.iter_mut().find(|(n, _)| *n == name) {
            Some((_, list)) => list.push(a),
            None => rules.push((name, vec![a])),
        }
    }
    let paint = |severity: &str, s: &str| -> String {
        if !color {
            return s.to_string();
        }
        let code = match severity {
            "critical" => "1;35",
            "high" => "1;31",
            "medium" => "33",
            _ => "36",
        };
        format!("\x1b[{code}m{s}\x1b[0m")
    };
    let mut out = String::new();
    for (name, list) in &rules {
        let severity = text(list[0], "kibana.alert.severity");
        let header = format!("{name} ({severity}, {} alerts)", list.len());
        out.push_str(&paint(&severity, &header));
        out.push('\n');
        for a in list {
            let time = text(a, "kibana.alert.original_time");
            let host = text(a, "host.name");
            let process = text(a, "process.name");
            let reason = text(a, "kibana.alert.reason");
            out.push_str(&format!(
                "  {time:<24}  {host:<16}  {process:<16}  {reason}\n"
            ));
        }
        out.push('\n');
    }
    out
}
