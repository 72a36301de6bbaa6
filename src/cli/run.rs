//! `ruleq run`: every rule under the rule paths over event files in one
//! pass, alerts written as Kibana writes them.

use super::inputs::event_inputs;
use clap::{Args, ValueEnum};
use ruleq::alert::{lookup, Alert};
use ruleq::check::output;
use ruleq::detect::schedule::Replay;
use ruleq::detect::stage;
use ruleq::detect::{
    load_rules, rule_name, Alerts, Config, Detector, Executions, Feedback, HistoryRead, Outcome,
    Selection,
};
use ruleq::engine::{now_nanos, MAX_PARTIALS, REORDER};
use ruleq::event::{EventSource, FileNames, Input};
use ruleq::exceptions::Exceptions;
use ruleq::indicators::Indicators;
use ruleq::mapping::Mapping;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
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

/// A stage of a distributed run (`--stage`).
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Stage {
    /// Read a share of the events: write the alerts of rules whose alerts
    /// depend on no other event (`A<TAB>document` lines) and every other
    /// rule's candidate records (`R<TAB>partition<TAB>record` lines; their
    /// events' texts apart, once each: `T<TAB>file<TAB>line<TAB>text`),
    /// then the figures (`S<TAB>{...}`).
    Map,
    /// Read the record lines of some partitions (files or standard input,
    /// any order) and the texts their alerts show (`T` lines), and write
    /// their alert documents, then the figures (`S<TAB>{...}`).
    Reduce,
    /// Read the record lines of some partitions as `reduce` does, and write
    /// the events whose text their alerts show that the records left out
    /// (`U<TAB>file<TAB>line`): the texts `reduce` then needs.
    Shown,
    /// Read every stage's figures (`S<TAB>{...}` lines) and reports of
    /// malformed events (`M<TAB>report`; other lines are skipped), and
    /// print the summary one run prints, with its exit code.
    Summary,
}

/// Arguments of `ruleq run`.
#[derive(Args, Clone)]
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
    /// execution's time. Alert suppression then works per execution (and
    /// over its duration), as in Kibana; without it a suppressed query or
    /// EQL rule groups its alerts over the whole input.
    #[arg(long)]
    schedule: bool,
    /// The rule's Kibana saved-object id, for a run of a single rule whose
    /// file does not carry one (a rule from a Kibana export carries its
    /// `id`): with it, threshold, new_terms and suppressed alerts get
    /// Kibana's own ids.
    #[arg(long, value_name = "ID")]
    saved_object_id: Option<String>,
    /// Exception lists (repeatable): a Kibana exception list export, a
    /// Kibana rule export's lists, or detection-rules' TOML form. A rule
    /// applies the lists its `exceptions_list` names.
    #[arg(long = "exceptions", value_name = "FILE")]
    exceptions: Vec<PathBuf>,
    /// A value list for exception entries of type `list`: its id and a
    /// file of one value a line (repeatable).
    #[arg(long = "value-list", value_name = "ID=FILE")]
    value_lists: Vec<String>,
    /// Events that only feed new_terms rules' history windows (repeatable;
    /// files, folders, globs, `-`, as for events): they raise no alerts and
    /// no other rule sees them.
    #[arg(long = "history", value_name = "FILE")]
    history: Vec<PathBuf>,
    /// Indicators for indicator match rules (repeatable; files, folders,
    /// globs, as for events), read in full before the events. An
    /// indicator's `_index` decides which rules' `threat_index` searches
    /// it (one without serves every rule); its `_index` and `_id` name it
    /// in `threat.enrichments`.
    #[arg(long = "indicators", value_name = "FILE")]
    indicators: Vec<PathBuf>,
    /// Run one stage of a distributed run (the Spark driver under `spark/`
    /// runs them): `map` over a share of the events, `shown` and `reduce`
    /// over the records maps routed, `summary` over every stage's figures.
    #[arg(long, value_enum)]
    stage: Option<Stage>,
    /// With `--stage map`: the name `ruleq run` over the whole input gives
    /// the events' file (default: the one event file's name).
    #[arg(long, value_name = "NAME", requires = "stage")]
    split_name: Option<String>,
    /// With `--stage map`: the file's place among the whole run's event
    /// files (ties in time go by it).
    #[arg(long, value_name = "N", default_value_t = 0, requires = "stage")]
    split_index: usize,
    /// With `--stage map`: the line number, in the whole file, of the
    /// share's first line.
    #[arg(long, value_name = "N", default_value_t = 1, requires = "stage")]
    split_first_line: u64,
    /// With `--stage summary`: the run's time, in seconds, for the summary.
    #[arg(long, value_name = "SECS", requires = "stage", hide = true)]
    elapsed: Option<f64>,
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
    let (mut detector, inputs) = match load(&args) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    report_selection(detector.selection(), args.quiet);

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
    let feedback = Feedback::new(args.quiet, started);
    let history = match read_history(&args, &mut detector, &feedback) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    // Rules are loaded: what is freed from here on goes back at once.
    crate::return_freed_memory_at_once();
    if args.stage.is_some() {
        // The stages' lines are made on the workers and freed here:
        // returning each freed page at once took a map stage over 200,000
        // corpus events from 3.0 to 24 s (system time).
        crate::keep_freed_memory_a_while();
    }
    match args.stage {
        Some(Stage::Map) => {
            let given = (&inputs[..], history);
            return map_stage(&args, &detector, source, &names, given, &feedback);
        }
        Some(Stage::Reduce) => return reduce_stage(&args, &detector, &inputs, history, &feedback),
        Some(Stage::Shown) => return shown_stage(&args, &detector, &inputs, history, &feedback),
        Some(Stage::Summary) => return summary_stage(&args, &detector, &inputs, started),
        None => {}
    }
    let passed = detector.pass(source, &names, &feedback);
    // What is left is mostly freeing: freed memory may wait again.
    crate::keep_freed_memory_a_while();
    let mut outcome = passed.finish();
    let selection = detector.selection();
    let written = outcome.alerts.count;
    let figures = figures(&detector, &outcome, written, history, &args);
    report_notes(selection, &figures, &args);
    if !args.quiet {
        report_clashes(&names, &outcome.files);
    }
    let alerts = std::mem::replace(&mut outcome.alerts, Alerts::new(0));
    let stored = std::mem::replace(&mut outcome.stored, Ok(()));
    if let Err(e) = stored.and_then(|()| write_alerts(&args, alerts)) {
        if e.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("error: writing alerts: {e}");
            return 2;
        }
    }
    if !args.quiet {
        let secs = started.elapsed().as_secs_f64();
        report_summary(selection, &figures, &outcome.over_cap, secs);
        report_inputs(selection, &figures);
    }
    let code = exit_code(&args, selection, &figures);
    // The process ends with this command: freeing the rules, their
    // compiled queries, kept matches and alert contexts one by one took the
    // corpus rules 50 ms at the end of every run. The system takes the
    // memory back.
    std::mem::forget(outcome);
    std::mem::forget(detector);
    code
}

/// The figures of a run's summary, from its outcome: `documents` alert
/// documents written, what `--history` held.
fn figures(
    detector: &Detector,
    outcome: &Outcome<'_>,
    documents: usize,
    history: Option<HistoryRead>,
    args: &RunArgs,
) -> stage::Figures {
    let indicators = detector.indicators();
    stage::Figures {
        read: outcome.read,
        malformed: outcome.malformed,
        io_failed: outcome.io_failed,
        documents,
        counts: outcome.counts.clone(),
        late: outcome
            .late
            .iter()
            .map(|l| stage::LateAt {
                rule: l.rule,
                count: l.count,
                file: outcome
                    .files
                    .get(l.first.file)
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                line: l.first.line,
            })
            .collect(),
        partials_dropped: outcome.partials_dropped.clone(),
        replay: outcome.replay.clone(),
        windowed: outcome.windowed.clone(),
        history,
        indicators: (!args.indicators.is_empty()).then_some(stage::IndicatorsRead {
            read: indicators.read,
            malformed: indicators.malformed,
            io_failed: indicators.io_failed,
            replaced: indicators.replaced,
        }),
        threat_notes: detector.threat_notes(),
    }
}

/// The exit code of a run with these figures: 2 for I/O errors (and
/// malformed events with `--strict`), 3 when some rules could not be
/// loaded, 1 with `--fail-on-alert` and alerts.
fn exit_code(args: &RunArgs, selection: &Selection, figures: &stage::Figures) -> i32 {
    let h = figures.history.unwrap_or_default();
    let i = figures.indicators.unwrap_or_default();
    let malformed = figures.malformed + h.malformed + i.malformed;
    let io_failed = figures.io_failed || h.io_failed || i.io_failed;
    if io_failed || (args.strict && malformed > 0) {
        2
    } else if selection.failed > 0 {
        3
    } else if args.fail_on_alert && figures.documents > 0 {
        1
    } else {
        0
    }
}

/// The run's summary on stderr: rules, events, alerts per rule, the
/// schedule's figures, the rules over their `max_signals` (`over_cap`:
/// (rule, results, max_signals)), the run taking `secs` seconds.
fn report_summary(
    selection: &Selection,
    figures: &stage::Figures,
    over_cap: &[(usize, usize, usize)],
    secs: f64,
) {
    let (read, malformed, written) = (figures.read, figures.malformed, figures.documents);
    eprintln!(
        "{} rules run, {} not run, {} failed to load",
        selection.selected.len(),
        selection.not_run.len(),
        selection.failed
    );
    eprintln!(
        "{read} events read ({malformed} malformed), {written} alert documents in {secs:.2} s ({:.0} events/s)",
        read as f64 / secs.max(1e-9)
    );
    for ((name, severity), n) in &per_rule(selection, &figures.counts) {
        eprintln!("  {n:>6}  {severity:<8}  {name}");
    }
    if let Some(replay) = &figures.replay {
        report_replay(replay);
    }
    if let Some(windowed) = &figures.windowed {
        let rules = selection
            .selected
            .iter()
            .filter(|s| s.executor.windowed())
            .count();
        eprintln!(
            "note: {rules} threshold and new_terms rules ran their schedule's executions, as --schedule does (their results mean nothing outside an execution's window; --now does not apply to them)"
        );
        report_replay(windowed);
    }
    if !over_cap.is_empty() {
        let rules: Vec<String> = over_cap
            .iter()
            .map(|&(i, n, cap)| {
                let rule = selection.rule(&selection.selected[i]);
                format!("{} ({n} > {cap})", rule_name(rule))
            })
            .collect();
        eprintln!(
            "note: {} rules raised more alerts than their max_signals, which caps one Kibana execution: {}",
            rules.len(),
            rules.join(", ")
        );
    }
}

/// What `--history` and `--indicators` held, and the indicator match
/// rules' notes, on stderr.
fn report_inputs(selection: &Selection, figures: &stage::Figures) {
    if let Some(h) = &figures.history {
        eprintln!(
            "history: {} events read ({} malformed) from --history, in the history of {} new_terms rules (they raise no alerts)",
            h.read, h.malformed, h.rules
        );
    }
    if let Some(i) = &figures.indicators {
        let replaced = match i.replaced {
            0 => String::new(),
            n => format!(
                "; {n} replaced an earlier indicator with the same _index and _id, as indexing it again would"
            ),
        };
        eprintln!(
            "indicators: {} read ({} malformed) from --indicators, for {} indicator match rules{replaced}",
            i.read,
            i.malformed,
            selection
                .selected
                .iter()
                .filter(|s| selection.rule(s).rule_type.as_ref().map(|t| t.value)
                    == Some(ruleq::rule::RuleType::ThreatMatch))
                .count()
        );
    }
    report_reasons("indicators", &figures.threat_notes);
}

/// The `--exceptions` lists and `--value-list` lists; a list file with an
/// error is reported with its diagnostics (a usage error).
fn load_exceptions(
    files: &[PathBuf],
    value_lists: &[String],
    now: i64,
) -> Result<Exceptions, String> {
    let mut exceptions = Exceptions {
        now,
        ..Exceptions::default()
    };
    for path in files {
        let file =
            ruleq::exceptions::load::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if file.has_errors() {
            let color = io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            return Err(format!(
                "{} does not load as exception lists (`ruleq check --exceptions` checks it):\n{}",
                path.display(),
                file.render(color)
            ));
        }
        exceptions.lists.extend(file.lists);
    }
    // The type each value list is used with (a list entry names it).
    let mut types: Vec<(String, String)> = Vec::new();
    fn list_types(entries: &[ruleq::exceptions::Entry], out: &mut Vec<(String, String)>) {
        for e in entries {
            match e {
                ruleq::exceptions::Entry::List {
                    list_id, list_type, ..
                } => out.push((list_id.clone(), list_type.clone())),
                ruleq::exceptions::Entry::Nested { entries, .. } => list_types(entries, out),
                _ => {}
            }
        }
    }
    for list in &exceptions.lists {
        for item in &list.items {
            list_types(&item.entries, &mut types);
        }
    }
    for spec in value_lists {
        let (id, file) = spec
            .split_once('=')
            .ok_or_else(|| format!("--value-list {spec}: write ID=FILE"))?;
        let text =
            std::fs::read_to_string(file).map_err(|e| format!("--value-list {file}: {e}"))?;
        let values = ruleq::exceptions::filter::read_value_list(&text);
        // A value not of the list's type is a located usage error, as
        // Kibana's import of the list refuses it.
        for (_, list_type) in types.iter().filter(|(list, _)| list == id) {
            use ruleq::exceptions::filter::{check_value_list, ListError};
            if let Err(ListError::Line(n, why)) = check_value_list(list_type, &values) {
                return Err(format!(
                    "--value-list {id}={file}:{n}: {why} (the list is used as type {list_type})"
                ));
            }
        }
        exceptions.value_lists.insert(id.to_string(), values);
    }
    Ok(exceptions)
}

/// The `--indicators` documents (malformed ones reported with their file
/// and line, and counted).
fn read_indicators(paths: &[PathBuf]) -> Result<Indicators, String> {
    if paths.is_empty() {
        return Ok(Indicators::default());
    }
    let inputs = event_inputs(paths)?;
    Indicators::read(&inputs).map_err(|e| format!("--indicators: {e}"))
}

/// Reads the `--history` events, when there are any, into the history of
/// the rules that keep one.
fn read_history(
    args: &RunArgs,
    detector: &mut Detector,
    feedback: &Feedback,
) -> Result<Option<HistoryRead>, String> {
    if args.history.is_empty() {
        return Ok(None);
    }
    let inputs = event_inputs(&args.history)?;
    let source = EventSource::new(&inputs)
        .map_err(|e| e.to_string())?
        .with_max_event_bytes(args.max_event_bytes);
    Ok(Some(detector.read_history(source, feedback)))
}

/// The rules loaded and selected as the arguments say, and the event
/// inputs; a usage or I/O error as its message.
fn load(args: &RunArgs) -> Result<(Detector, Vec<Input>), String> {
    let now = parse_now(&args.now)?;
    let inputs = event_inputs(&args.events)?;
    let mapping = Mapping::from_files(&args.mappings).map_err(|e| e.to_string())?;
    let files = load_rules(&args.rules)?;
    let mut exceptions = load_exceptions(&args.exceptions, &args.value_lists, now)?;
    // A Kibana rule export's exception lists load as if given apart.
    for file in files
        .iter()
        .filter(|f| f.format == ruleq::rule::Format::Ndjson)
    {
        let path = file.path.clone();
        let embedded = ruleq::exceptions::load::parse(path, file.source.clone());
        exceptions.lists.extend(embedded.lists);
    }
    // Rules evaluated on every thread, each event read once for all of
    // them; the results do not depend on the thread count.
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let config = Config {
        now,
        mapping,
        max_partials: args.max_partials,
        executions: if args.schedule {
            Executions::Schedule
        } else {
            Executions::Single
        },
        bound_by_look_back: true,
        threads,
        default_index: args.index.clone(),
        group_events: false,
        exceptions,
        saved_object_id: args.saved_object_id.clone(),
        indicators: std::sync::Arc::new(read_indicators(&args.indicators)?),
    };
    let detector = Detector::new(files, config);
    if args.saved_object_id.is_some() && detector.selection().selected.len() > 1 {
        return Err(format!(
            "--saved-object-id names one rule's saved object, but {} rules run",
            detector.selection().selected.len()
        ));
    }
    Ok((detector, inputs))
}

/// What kept rules from loading or running, and the settings not applied,
/// on stderr.
fn report_selection(selection: &Selection, quiet: bool) {
    if !selection.errors.findings.is_empty() {
        let color = io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        eprint!("{}", output::human(&selection.errors, color));
    }
    for rendered in &selection.compile_errors {
        eprint!("{rendered}");
    }
    if quiet {
        return;
    }
    report_reasons("not run", &selection.not_run);
    report_reasons("exceptions", &selection.exception_notes);
    // Settings Kibana applies that this run does not, once per setting.
    for (what, names) in selection.unapplied() {
        let count = names.len();
        eprintln!(
            "note: {what} not applied ({count} rules): {}",
            some_names(&names)
        );
    }
}

/// The notes of the pass, on stderr: events too late for sequences,
/// partial sequences dropped.
fn report_notes(selection: &Selection, figures: &stage::Figures, args: &RunArgs) {
    let name = |i: usize| rule_name(selection.rule(&selection.selected[i]));
    for late in &figures.late {
        let effect = match selection.selected[late.rule].executor.windowed() {
            true => "they counted only in the executions not run yet, where Kibana would have searched them in every window they fall in",
            false => "they took no step of its sequences (they only cancelled), where Elasticsearch would have sorted them in",
        };
        eprintln!(
            "note: \"{}\": {} events came more than {REORDER} candidates out of time order (the first at {}:{}); {effect}: sort the input by time for exact results",
            name(late.rule),
            late.count,
            late.file,
            late.line
        );
    }
    for &(i, dropped) in &figures.partials_dropped {
        eprintln!(
            "note: \"{}\": held more than {} partial sequences at once (--max-partials); the {dropped} oldest were dropped, and the sequences they would have completed are missing",
            name(i),
            args.max_partials
        );
    }
}

/// A note on event files named alike (their events without `_id` can share
/// alert ids).
fn report_clashes(names: &FileNames, files: &[PathBuf]) {
    for (name, paths) in names.clashes(files) {
        let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        eprintln!(
            "note: event files {} are all named {name} in alert ids (an event without `_id` is named by its file and line): their events without `_id` can share alert ids; name them apart or give the events an `_id`",
            paths.join(", ")
        );
    }
}

/// Alerts per rule, by (name, severity).
fn per_rule(selection: &Selection, counts: &[usize]) -> BTreeMap<(String, String), usize> {
    let mut per_rule = BTreeMap::new();
    for (s, &count) in selection
        .selected
        .iter()
        .zip(counts)
        .filter(|(_, &c)| c > 0)
    {
        let rule = selection.rule(s);
        let severity = rule
            .severity
            .as_ref()
            .and_then(|s| serde_json::to_value(s).ok())
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        *per_rule
            .entry((rule_name(rule).to_string(), severity))
            .or_default() += count;
    }
    per_rule
}

/// What the replay of the schedule did, on stderr.
fn report_replay(replay: &Replay) {
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
    report_reasons("not run under --schedule", &replay.unscheduled);
    if !replay.partial_history.is_empty() {
        let executions: usize = replay.partial_history.iter().map(|(_, n)| n).sum();
        let names: Vec<&str> = replay
            .partial_history
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        eprintln!(
            "note: {executions} executions of {} new_terms rules had a history window reaching before the first event they saw, so terms old before it looked new there (give older events with --history FILE): {}",
            names.len(),
            some_names(&names)
        );
    }
}

/// Rules that did not run, as `(why, name)`: a note on stderr once per
/// reason, with the first rules it concerns.
fn report_reasons(what: &str, rules: &[(String, String)]) {
    let mut reasons: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (why, name) in rules {
        reasons.entry(why).or_default().push(name);
    }
    for (why, names) in &reasons {
        eprintln!("note: {what}: {} {why}: {}", names.len(), some_names(names));
    }
}

/// `ruleq run --stage map`: the share's final alerts and routed records,
/// then its counts, on standard output (or `--output`).
fn map_stage(
    args: &RunArgs,
    detector: &Detector,
    source: EventSource,
    names: &FileNames,
    (inputs, history): (&[Input], Option<HistoryRead>),
    feedback: &Feedback,
) -> i32 {
    use ruleq::detect::stage;
    let name = match (&args.split_name, inputs) {
        (Some(n), _) => n.clone(),
        (None, [Input::Path(p)]) => names.name(p),
        _ => {
            eprintln!("error: --stage map over standard input or several files needs --split-name");
            return 2;
        }
    };
    let split = stage::Split {
        name,
        index: args.split_index,
        first_line: args.split_first_line,
    };
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => match File::create(path) {
            Ok(f) => Box::new(BufWriter::with_capacity(OUT_BUF, f)),
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return 2;
            }
        },
        None => Box::new(BufWriter::with_capacity(OUT_BUF, io::stdout().lock())),
    };
    // Malformed events are reported at their place in the whole file.
    let feedback = Feedback {
        progress: false,
        started: feedback.started,
        share: Some((PathBuf::from(&split.name), split.first_line)),
    };
    let mut failed: io::Result<()> = Ok(());
    let passed = detector.map(source, names, &split, &feedback, &mut |line| {
        if failed.is_ok() {
            failed = out
                .write_all(line.as_bytes())
                .and_then(|()| out.write_all(b"\n"));
        }
    });
    let mut outcome = passed.finish();
    let mut figures = figures(detector, &outcome, outcome.alerts.count, history, args);
    for late in &mut figures.late {
        late.file = split.name.clone();
    }
    let alerts = std::mem::replace(&mut outcome.alerts, Alerts::new(0));
    let stored = std::mem::replace(&mut outcome.stored, Ok(()));
    let written = failed.and(stored).and_then(|()| {
        alerts.finish_parts(|own, fixed| {
            out.write_all(stage::ALERT.as_bytes())?;
            out.write_all(b"\t")?;
            write_document(&mut out, own, fixed)?;
            out.write_all(b"\n")
        })
    });
    let selection = detector.selection();
    let written = written.and_then(|()| {
        let stats = serde_json::to_string(&figures).map_err(io::Error::other)?;
        writeln!(out, "{}\t{stats}", stage::STATS)?;
        out.flush()
    });
    if let Err(e) = written {
        if e.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("error: writing the map stage's output: {e}");
        }
        return 2;
    }
    if outcome.io_failed || (args.strict && outcome.malformed > 0) {
        2
    } else if selection.failed > 0 {
        3
    } else {
        0
    }
}

/// `ruleq run --stage reduce`: the alert documents of the routed records
/// in the event arguments (files, or standard input), as NDJSON.
fn reduce_stage(
    args: &RunArgs,
    detector: &Detector,
    inputs: &[Input],
    history: Option<HistoryRead>,
    feedback: &Feedback,
) -> i32 {
    records_stage(args, detector, inputs, history, feedback, false)
}

/// `ruleq run --stage shown`: the events whose text the alerts of the
/// routed records in the event arguments show, where the records left it
/// out (`U<TAB>file<TAB>line` lines).
fn shown_stage(
    args: &RunArgs,
    detector: &Detector,
    inputs: &[Input],
    history: Option<HistoryRead>,
    feedback: &Feedback,
) -> i32 {
    records_stage(args, detector, inputs, history, feedback, true)
}

/// The stages over routed records: the alert documents (`reduce`), or the
/// events they show without their text (`shown`).
fn records_stage(
    args: &RunArgs,
    detector: &Detector,
    inputs: &[Input],
    history: Option<HistoryRead>,
    feedback: &Feedback,
    shown: bool,
) -> i32 {
    use ruleq::detect::stage;
    let mut records = Vec::new();
    let mut texts: HashMap<(usize, u64), std::sync::Arc<[u8]>> = HashMap::new();
    let loaded = each_stage_line(inputs, |line, what, n| {
        if let Some(rest) = line.strip_prefix("T\t") {
            let (event, text) = stage::parse_text(rest)
                .ok_or_else(|| format!("{what}:{n}: not an event text line"))?;
            texts.insert(event, std::sync::Arc::from(text.as_bytes()));
            return Ok(());
        }
        let mut parts = line.splitn(3, '\t');
        if parts.next() != Some(stage::RECORD) {
            return Ok(());
        }
        let (Some(_partition), Some(json)) = (parts.next(), parts.next()) else {
            return Err(format!("{what}:{n}: a record line without its record"));
        };
        let record: stage::Routed = serde_json::from_str(json)
            .map_err(|e| format!("{what}:{n}: not a routed record: {e}"))?;
        records.push(record);
        Ok(())
    });
    if let Err(e) = loaded {
        eprintln!("error: {e}");
        return 2;
    }
    // The texts the records left out, where given.
    stage::attach_texts(&mut records, &texts);
    let names = FileNames::verbatim();
    if shown {
        let events = match detector.shown(records, &names, feedback) {
            Ok(events) => events,
            Err(e) => {
                eprintln!("error: {e}");
                return 2;
            }
        };
        let mut out = BufWriter::with_capacity(OUT_BUF, io::stdout().lock());
        let written = events
            .iter()
            .try_for_each(|(file, line)| writeln!(out, "{}\t{file}\t{line}", stage::SHOWN))
            .and_then(|()| out.flush());
        if let Err(e) = written {
            if e.kind() != io::ErrorKind::BrokenPipe {
                eprintln!("error: writing the events shown: {e}");
            }
            return 2;
        }
        return if detector.selection().failed > 0 {
            3
        } else {
            0
        };
    }
    let passed = match detector.reduce(records, &names, feedback) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let mut outcome = passed.finish();
    // The events were counted by the map stages.
    let figures = stage::Figures {
        read: 0,
        malformed: 0,
        io_failed: false,
        ..figures(detector, &outcome, outcome.alerts.count, history, args)
    };
    let alerts = std::mem::replace(&mut outcome.alerts, Alerts::new(0));
    let stored = std::mem::replace(&mut outcome.stored, Ok(()));
    let mut ndjson = args.clone();
    ndjson.format = Some(AlertFormat::Ndjson);
    let written = stored
        .and_then(|()| write_alerts(&ndjson, alerts))
        .and_then(|()| {
            let stats = serde_json::to_string(&figures).map_err(io::Error::other)?;
            let mut out: Box<dyn Write> = match &args.output {
                Some(path) => Box::new(File::options().append(true).open(path)?),
                None => Box::new(io::stdout().lock()),
            };
            writeln!(out, "{}\t{stats}", stage::STATS)?;
            out.flush()
        });
    if let Err(e) = written {
        if e.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("error: writing alerts: {e}");
        }
        return 2;
    }
    if detector.selection().failed > 0 {
        3
    } else {
        0
    }
}

/// `ruleq run --stage summary`: the figures of every stage of a
/// distributed run (`S<TAB>` lines of the event arguments: files, or
/// standard input) added up, and printed as one run prints its summary;
/// the exit code is one run's.
fn summary_stage(args: &RunArgs, detector: &Detector, inputs: &[Input], started: Instant) -> i32 {
    let mut figures = stage::Figures::default();
    let mut reports = Vec::new();
    let loaded = each_stage_line(inputs, |line, what, n| {
        if let Some(report) = line.strip_prefix("M\t") {
            reports.push(report.to_string());
        } else if let Some(json) = line.strip_prefix("S\t") {
            let more: stage::Figures = serde_json::from_str(json)
                .map_err(|e| format!("{what}:{n}: not a stage's figures: {e}"))?;
            figures.add(more);
        }
        Ok(())
    });
    if let Err(e) = loaded {
        eprintln!("error: {e}");
        return 2;
    }
    let selection = detector.selection();
    if figures.counts.len() > selection.selected.len() {
        eprintln!("error: the stages' figures count more rules than the rules given: run every stage with the same rules");
        return 2;
    }
    figures.counts.resize(selection.selected.len(), 0);
    let names: Vec<&str> = selection
        .selected
        .iter()
        .map(|s| rule_name(selection.rule(s)))
        .collect();
    figures.in_rule_order(&names);
    // The stages' reports of malformed events, where one run prints them.
    for report in &reports {
        eprintln!("{report}");
    }
    report_notes(selection, &figures, args);
    if !args.quiet {
        let secs = args
            .elapsed
            .unwrap_or_else(|| started.elapsed().as_secs_f64());
        let over_cap = detector.over_cap(&figures.counts);
        report_summary(selection, &figures, &over_cap, secs);
        report_inputs(selection, &figures);
    }
    exit_code(args, selection, &figures)
}

/// Calls `each` with every line of the stage lines in `inputs` (files, or
/// standard input), where it is (for errors) and its line number; the
/// first error ends the reading.
fn each_stage_line(
    inputs: &[Input],
    mut each: impl FnMut(&str, &str, usize) -> Result<(), String>,
) -> Result<(), String> {
    use std::io::BufRead;
    let mut read = |reader: &mut dyn BufRead, what: &str| -> Result<(), String> {
        for (n, line) in reader.lines().enumerate() {
            let line = line.map_err(|e| format!("{what}: {e}"))?;
            each(&line, what, n + 1)?;
        }
        Ok(())
    };
    inputs.iter().try_for_each(|input| match input {
        Input::Path(p) => {
            let f = File::open(p).map_err(|e| format!("{}: {e}", p.display()))?;
            read(&mut io::BufReader::new(f), &p.display().to_string())
        }
        Input::Stdin => read(&mut io::stdin().lock(), "<stdin>"),
    })
}

/// Output buffer size, in bytes.
const OUT_BUF: usize = 1 << 20;

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

fn write_alerts(args: &RunArgs, alerts: Alerts) -> io::Result<()> {
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
            alerts.finish_parts(|own, fixed| {
                let doc = Alert {
                    uuid: String::new(),
                    own: own.to_string(),
                };
                all.push(serde_json::from_str(&doc.document(fixed))?);
                Ok(())
            })?;
            out.write_all(table(&all, color).as_bytes())?;
        }
        AlertFormat::Ndjson => alerts.finish_parts(|own, fixed| {
            write_document(&mut out, own, fixed)?;
            out.write_all(b"\n")
        })?,
        AlertFormat::Json => {
            // One document per line inside the array.
            let mut first = true;
            out.write_all(b"[")?;
            alerts.finish_parts(|own, fixed| {
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
        let plural = if list.len() == 1 { "" } else { "s" };
        let header = format!("{name} ({severity}, {} alert{plural})", list.len());
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
