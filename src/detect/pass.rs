//! One pass of a rule set over event inputs, on any number of threads.
//!
//! Worker threads take turns at the reader, each refilling its own batch
//! of raw events (events of memory-mapped files are referenced where they
//! lie, others copied), and project and evaluate the batch against every
//! query; this thread takes the workers' kept events back in input order
//! and collects them. The results therefore do not depend on the thread
//! count. With one thread everything happens here, in input order, and
//! events are evaluated where the source read them (batches only count
//! them off).

use crate::alert::Alert;
use crate::detect::window::Record;
use crate::engine::{Kept, Matches, Origin, Output, RuleSet, Runner};
use crate::event::{EventSource, Item, Malformed, Position, RawEvent, Reporter, SharedBytes};
use std::collections::BTreeMap;
use std::io::{self, IsTerminal};
use std::path::PathBuf;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Instant;

/// Raw events handed to a worker at a time.
const BATCH: usize = 1024;

/// An event query's match made ready on a worker thread.
pub enum Prepared {
    /// Its alert documents, and its time.
    Alerts(Option<i64>, Vec<Alert>),
    /// A windowed rule's record of it (`None`: it counts nowhere).
    Record(Option<Box<Record>>),
    /// Lines for another stage of a distributed run (`ruleq run --stage
    /// map`): the record, routed to the partitions that need it.
    Routed(Vec<String>),
}

/// Builds a [`Prepared`] match: (query, what it kept of the matching event,
/// the event files an [`Origin`]'s `file` indexes); `None` leaves it to the
/// sink.
pub type Prepare<'f> = &'f (dyn Fn(usize, &Kept, &[PathBuf]) -> Option<Prepared> + Sync);

/// A result handed to the sink.
pub enum Ready {
    /// An event query's match, already prepared.
    Prepared(Prepared),
    /// Any other result.
    Output(Output),
}

/// What to do with the evaluated events.
pub enum Collect<'f> {
    /// Keep them all, for results over time ranges ([`Pass::matches`]).
    Keep,
    /// Hand each result, as soon as it is final, to `sink`, with the event
    /// files; event queries' matches are first prepared on the
    /// worker threads.
    Stream {
        /// Runs on the workers, for each match of an event query (of every
        /// query, when `every`).
        prepare: Prepare<'f>,
        /// Whether every query's records are prepared, sequences' and
        /// samples' too (a map stage routes them all).
        every: bool,
        /// Takes every result.
        sink: &'f mut dyn FnMut(usize, Ready, &[PathBuf]),
    },
}

/// What one pass produced.
pub struct Pass<'s> {
    /// Per query of the set: its evaluated events (when kept).
    pub matches: Vec<Matches<'s>>,
    /// Per streaming query that met events too late to put in time order:
    /// (query, how many, where the first came from).
    pub late: Vec<(usize, u64, Origin)>,
    /// The event files, in input order, folders expanded (an [`Origin`]'s
    /// `file` indexes this list).
    pub files: Vec<PathBuf>,
    /// Event lines or elements read, malformed ones included.
    pub read: u64,
    /// Of those, the malformed ones (each reported on stderr).
    pub malformed: u64,
    /// Whether reading failed somewhere (reported on stderr).
    pub io_failed: bool,
}

/// How the pass reports as it goes.
pub struct Feedback {
    /// Show a progress line on stderr (for terminals).
    pub progress: bool,
    /// When the run started, for rates.
    pub started: Instant,
    /// When the input is a share of a file (a distributed run's map
    /// stage): the file's name and the line, in the file, of the share's
    /// first line, to report malformed events as a run over the whole
    /// file does.
    pub share: Option<(PathBuf, u64)>,
}

impl Feedback {
    /// Progress only on a terminal, and not when quiet.
    pub fn new(quiet: bool, started: Instant) -> Self {
        Feedback {
            progress: !quiet && io::stderr().is_terminal(),
            started,
            share: None,
        }
    }

    /// No progress line.
    pub fn quiet() -> Self {
        Feedback {
            progress: false,
            started: Instant::now(),
            share: None,
        }
    }
}

/// A batch of raw events: where each one's bytes are (events of a mapped
/// file are read where they lie; others are copied into the batch).
struct Batch {
    number: u64,
    /// The input serial of the first event.
    first: u64,
    /// The copied events' bytes, back to back.
    text: Vec<u8>,
    /// The mapped-file windows the other events lie in.
    windows: Vec<SharedBytes>,
    /// Per event: where its bytes are, origin, position.
    events: Vec<(Span, Origin, Position)>,
    /// Every event file met up to the end of this batch.
    files: Arc<Vec<PathBuf>>,
    /// What the reader found malformed, each after how many of the
    /// batch's events.
    malformed: Vec<(usize, Malformed)>,
}

/// Where an event's bytes are in its [`Batch`].
#[derive(Clone, Copy)]
enum Span {
    /// `text[start..end]`.
    Copied(usize, usize),
    /// `windows[window][start..end]`.
    Mapped(usize, usize, usize),
}

impl Batch {
    fn bytes(&self, span: Span) -> &[u8] {
        match span {
            Span::Copied(start, end) => &self.text[start..end],
            Span::Mapped(w, start, end) => &self.windows[w][start..end],
        }
    }
}

/// A worker's verdicts on one batch.
struct Done {
    number: u64,
    kept: Vec<(usize, Kept)>,
    /// The batch's malformed events, the reader's and those that failed to
    /// parse, in input order.
    bad: Vec<Malformed>,
    /// The batch's event files.
    files: Arc<Vec<PathBuf>>,
    prepared: Vec<(usize, Prepared)>,
}

impl Done {
    /// No verdicts yet on batch `number`, whose event files are `files`,
    /// in a kept list from `spare` (with the room an earlier batch grew it
    /// to: with many rules a batch keeps thousands, and growing a new list
    /// step by step copied it over and over).
    fn new(number: u64, files: &Arc<Vec<PathBuf>>, spare: &Spare) -> Done {
        Done {
            number,
            kept: spare.take(),
            bad: Vec::new(),
            files: Arc::clone(files),
            prepared: Vec::new(),
        }
    }
}

/// Kept lists the collecting side has emptied, for the next batches. With
/// many rules a batch keeps a megabyte of verdicts; a list allocated on a
/// worker and freed on the collecting thread every batch was handed back
/// to the system and faulted in again (zeroed) each time.
#[derive(Default)]
struct Spare(Mutex<Vec<Vec<(usize, Kept)>>>);

impl Spare {
    /// Lists kept for reuse at most: as many batches as can be in flight.
    const LIMIT: usize = 64;

    /// An empty list, one emptied earlier when there is one.
    fn take(&self) -> Vec<(usize, Kept)> {
        self.0
            .lock()
            .ok()
            .and_then(|mut spare| spare.pop())
            .unwrap_or_default()
    }

    /// Keeps `list`, emptied, for a later batch.
    fn give(&self, mut list: Vec<(usize, Kept)>) {
        list.clear();
        if let Ok(mut spare) = self.0.lock() {
            if spare.len() < Self::LIMIT {
                spare.push(list);
            }
        }
    }
}

/// The reader's side: the input, split into batches.
struct Reader<'a> {
    source: EventSource,
    feedback: &'a Feedback,
    /// The event files, in input order (what an [`Origin`]'s `file`
    /// indexes), shared with the batches.
    files: Arc<Vec<PathBuf>>,
    read: u64,
    io_failed: bool,
    bytes: u64,
    last_shown: Instant,
    serial: u64,
    number: u64,
    /// Kept lists to reuse.
    spare: Arc<Spare>,
    /// What the source found malformed in the current batch, each after
    /// how many of its events.
    malformed: Vec<(usize, Malformed)>,
}

impl Reader<'_> {
    /// Refills `batch` (its buffers reused) with the next batch; false at
    /// the end of the input. Malformed items and I/O errors are reported
    /// as they come.
    fn next_batch(&mut self, batch: &mut Batch) -> bool {
        batch.number = self.number;
        batch.first = self.serial;
        batch.text.clear();
        batch.windows.clear();
        batch.events.clear();
        let n = self.next_events(|raw, origin| {
            let span = match raw.shared {
                Some((window, at)) => {
                    // Files merged by time take turns: their windows are
                    // among the last few.
                    let n = batch.windows.len();
                    let w = match batch
                        .windows
                        .iter()
                        .rev()
                        .take(8)
                        .position(|w| w.same(window))
                    {
                        Some(back) => n - 1 - back,
                        None => {
                            batch.windows.push(window.clone());
                            n
                        }
                    };
                    Span::Mapped(w, at, at + raw.bytes.len())
                }
                None => {
                    let start = batch.text.len();
                    batch.text.extend_from_slice(raw.bytes);
                    Span::Copied(start, batch.text.len())
                }
            };
            batch.events.push((span, origin, raw.pos));
        });
        if n == 0 {
            // What the reader found after the last event stays for the end
            // of the pass (no batch carries it).
            return false;
        }
        batch.files = Arc::clone(&self.files);
        batch.malformed.clear();
        batch.malformed.append(&mut self.malformed);
        true
    }

    /// Evaluates the next batch's worth of events straight from the
    /// source's buffer (one thread: no copy into a batch), as [`evaluate`]
    /// does a batch; `None` at the end of the input.
    fn evaluate_next(
        &mut self,
        set: &RuleSet,
        runner: &mut Runner,
        prepare: Option<(Prepare, bool)>,
    ) -> Option<Done> {
        let mut done = Done::new(self.number, &self.files, &self.spare);
        let mut serial = self.serial;
        let mut failed = Vec::new();
        let mut i = 0;
        let n = self.next_events(|raw, origin| {
            if let Err(e) = runner.evaluate(&origin, serial, raw.bytes, &mut done.kept) {
                failed.push((i, Malformed::new(raw, &e)));
            }
            serial += 1;
            i += 1;
        });
        if n == 0 {
            // What the reader found after the last event stays for the end
            // of the pass.
            return None;
        }
        done.bad = in_order(std::mem::take(&mut self.malformed), failed);
        done.files = Arc::clone(&self.files);
        prepared(set, &mut done, prepare);
        Some(done)
    }

    /// Hands up to [`BATCH`] events to `each` (with their origin) and
    /// counts them as a batch; returns how many (0 at the end of the
    /// input). Malformed items and I/O errors are reported as they come.
    fn next_events(&mut self, mut each: impl FnMut(&RawEvent, Origin)) -> usize {
        let mut n = 0;
        while n < BATCH {
            let Some(item) = self.source.next_item() else {
                break;
            };
            match item {
                Ok(Item::Event(raw)) => {
                    self.read += 1;
                    self.bytes += raw.bytes.len() as u64 + 1;
                    let origin = Origin {
                        file: raw.file,
                        line: raw.pos.number(),
                    };
                    each(&raw, origin);
                    n += 1;
                }
                Ok(Item::Malformed(m)) => {
                    self.read += 1;
                    self.malformed.push((n, m));
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    self.io_failed = true;
                }
            }
        }
        self.show_progress();
        if n == 0 {
            self.clear_progress();
            return 0;
        }
        self.serial += n as u64;
        self.number += 1;
        n
    }

    fn show_progress(&mut self) {
        if !self.feedback.progress || self.last_shown.elapsed().as_millis() < 250 {
            return;
        }
        self.last_shown = Instant::now();
        let secs = self.feedback.started.elapsed().as_secs_f64().max(1e-9);
        eprint!(
            "\r{} events, {:.1} MB, {:.0} events/s, {:.1} MB/s ",
            self.read,
            self.bytes as f64 / 1e6,
            self.read as f64 / secs,
            self.bytes as f64 / 1e6 / secs
        );
    }

    fn clear_progress(&mut self) {
        if self.feedback.progress && self.last_shown != self.feedback.started {
            eprint!("\r\x1b[2K");
        }
    }
}

/// Evaluates one batch: the kept events (event queries' matches prepared
/// when there is a `prepare`), the parse failures, the batch's files.
fn evaluate(
    set: &RuleSet,
    runner: &mut Runner,
    batch: &Batch,
    prepare: Option<(Prepare, bool)>,
    spare: &Spare,
) -> Done {
    let mut done = Done::new(batch.number, &batch.files, spare);
    let events = batch
        .events
        .iter()
        .enumerate()
        .map(|(i, (span, origin, _))| (origin, batch.first + i as u64, batch.bytes(*span)));
    let mut failed = Vec::new();
    runner.evaluate_batch(events, &mut done.kept, |i, e| {
        let (_, origin, pos) = &batch.events[i];
        let path = batch.files.get(origin.file).cloned().unwrap_or_default();
        let message = e.to_string();
        failed.push((
            i,
            Malformed {
                path,
                pos: *pos,
                message,
            },
        ));
    });
    done.bad = in_order(batch.malformed.clone(), failed);
    prepared(set, &mut done, prepare);
    done
}

/// A batch's malformed events in input order: the reader's, each after
/// how many events it came, and the events (by index) that failed to parse.
fn in_order(read: Vec<(usize, Malformed)>, failed: Vec<(usize, Malformed)>) -> Vec<Malformed> {
    if read.is_empty() {
        return failed.into_iter().map(|(_, m)| m).collect();
    }
    // The reader's come before the event they precede.
    let mut all: Vec<(usize, bool, Malformed)> =
        read.into_iter().map(|(n, m)| (n, false, m)).collect();
    all.extend(failed.into_iter().map(|(i, m)| (i, true, m)));
    all.sort_by_key(|(at, event, _)| (*at, *event));
    all.into_iter().map(|(_, _, m)| m).collect()
}

/// Prepares the batch's matches of event queries (when there is a
/// `prepare`), taking them out of its kept events.
fn prepared(set: &RuleSet, done: &mut Done, prepare: Option<(Prepare, bool)>) {
    if let Some((prepare, every)) = prepare {
        let files = &done.files;
        let prepared = &mut done.prepared;
        done.kept.retain(|(q, k)| {
            if !every && !set.queries[*q].streams_at_once() {
                return true;
            }
            match prepare(*q, k, files) {
                Some(p) => {
                    prepared.push((*q, p));
                    false
                }
                None => true,
            }
        });
    }
}

/// The collecting side: takes verdicts in input order.
struct Merger<'s, 'f> {
    runner: Runner<'s>,
    collect: Collect<'f>,
    files: Arc<Vec<PathBuf>>,
    reporter: Reporter,
    spare: Arc<Spare>,
}

impl<'s> Merger<'s, '_> {
    /// The results still held, to the sink (streaming) or kept whole, and
    /// the pass's figures.
    fn finish(self, read: u64, malformed: u64, io_failed: bool) -> Pass<'s> {
        let late = self.runner.late();
        let matches = match self.collect {
            Collect::Keep => self.runner.finish_matches(),
            Collect::Stream { sink, .. } => {
                for (q, outputs) in self.runner.finish().into_iter().enumerate() {
                    for out in outputs {
                        sink(q, Ready::Output(out), &self.files);
                    }
                }
                Vec::new()
            }
        };
        Pass {
            matches,
            late,
            files: Arc::unwrap_or_clone(self.files),
            read,
            malformed,
            io_failed,
        }
    }

    fn take(&mut self, mut done: Done) {
        self.files = done.files;
        for m in &done.bad {
            self.reporter.report(m);
        }
        for (q, k) in done.kept.drain(..) {
            self.runner.push(q, k);
        }
        self.spare.give(done.kept);
        if let Collect::Stream { sink, .. } = &mut self.collect {
            let files = &self.files;
            for (q, p) in done.prepared {
                sink(q, Ready::Prepared(p), files);
            }
            self.runner
                .take_ready(|q, out| sink(q, Ready::Output(out), files));
        }
    }
}

/// Runs `set` over candidate records another stage made (`records`, as
/// (query, record), in the order one run would have kept them), on this
/// thread: the stateful half of [`run`]. `files` are what the records'
/// origins index.
pub fn run_records<'s, 'f>(
    set: &'s RuleSet,
    records: Vec<(usize, Kept)>,
    files: Vec<PathBuf>,
    collect: Collect<'f>,
) -> Pass<'s> {
    let prepare: Option<(Prepare<'f>, bool)> = match &collect {
        Collect::Stream { prepare, every, .. } => Some((*prepare, *every)),
        Collect::Keep => None,
    };
    let streaming = matches!(collect, Collect::Stream { .. });
    let files = Arc::new(files);
    let mut merger = Merger {
        runner: Runner::collecting(set, streaming),
        collect,
        files: Arc::clone(&files),
        reporter: Reporter::default(),
        spare: Arc::default(),
    };
    let mut records = records.into_iter().peekable();
    let mut number = 0;
    while records.peek().is_some() {
        let mut done = Done::new(number, &files, &merger.spare);
        done.kept.extend(records.by_ref().take(BATCH));
        prepared(set, &mut done, prepare);
        merger.take(done);
        number += 1;
    }
    merger.finish(0, 0, false)
}

/// Runs `set` over `source` on `threads` threads.
pub fn run<'s, 'f>(
    set: &'s RuleSet,
    source: EventSource,
    threads: usize,
    default_index: Option<String>,
    feedback: &Feedback,
    collect: Collect<'f>,
) -> Pass<'s> {
    let prepare: Option<(Prepare<'f>, bool)> = match &collect {
        Collect::Stream { prepare, every, .. } => Some((*prepare, *every)),
        Collect::Keep => None,
    };
    let files = Arc::new(source.files());
    let mut reader = Reader {
        source,
        feedback,
        files: Arc::clone(&files),
        read: 0,
        malformed: Vec::new(),
        io_failed: false,
        bytes: 0,
        last_shown: feedback.started,
        serial: 0,
        number: 0,
        spare: Arc::default(),
    };
    let streaming = matches!(collect, Collect::Stream { .. });
    // With workers, this thread's runner only collects what they keep.
    let runner = match (threads <= 1, streaming) {
        (true, true) => Runner::streaming(set),
        (true, false) => Runner::new(set),
        (false, streaming) => Runner::collecting(set, streaming),
    };
    let mut merger = Merger {
        runner,
        collect,
        files,
        reporter: match &feedback.share {
            Some((name, first)) => Reporter::for_share(name.clone(), *first),
            None => Reporter::default(),
        },
        spare: Arc::clone(&reader.spare),
    };
    if threads <= 1 {
        merger.runner.set_default_index(default_index);
        // Events are evaluated where the source read them: no batch copy.
        while let Some(done) = reader.evaluate_next(set, &mut merger.runner, prepare) {
            merger.take(done);
        }
    } else {
        // Each worker takes its turn at the reader to refill its own
        // batch, then evaluates it: no reader thread competes with the
        // workers for cores.
        let shared = Mutex::new(reader);
        std::thread::scope(|scope| {
            let (done_tx, done_rx) = mpsc::sync_channel::<Done>(threads * 16);
            for _ in 0..threads {
                let done_tx = done_tx.clone();
                let (shared, default_index) = (&shared, default_index.clone());
                let spare = Arc::clone(&merger.spare);
                scope.spawn(move || {
                    let mut runner = Runner::new(set);
                    runner.set_default_index(default_index);
                    let mut batch = Batch {
                        number: 0,
                        first: 0,
                        text: Vec::new(),
                        windows: Vec::new(),
                        events: Vec::with_capacity(BATCH),
                        files: Arc::new(Vec::new()),
                        malformed: Vec::new(),
                    };
                    loop {
                        // The lock is held only while the batch is filled.
                        let more = match shared.lock() {
                            Ok(mut reader) => reader.next_batch(&mut batch),
                            Err(_) => false,
                        };
                        if !more {
                            break;
                        }
                        let done = evaluate(set, &mut runner, &batch, prepare, &spare);
                        if done_tx.send(done).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(done_tx);
            // Take the workers' verdicts back in batch order.
            let mut waiting: BTreeMap<u64, Done> = BTreeMap::new();
            let mut next = 0u64;
            for done in done_rx {
                waiting.insert(done.number, done);
                while let Some(done) = waiting.remove(&next) {
                    merger.take(done);
                    next += 1;
                }
            }
        });
        reader = shared.into_inner().expect("the event reader panicked");
    }
    // What the reader found after the last event.
    for (_, m) in std::mem::take(&mut reader.malformed) {
        merger.reporter.report(&m);
    }
    merger.reporter.finish();
    let malformed = merger.reporter.total();
    merger.finish(reader.read, malformed, reader.io_failed)
}
