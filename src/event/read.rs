//! Event sources: files, folders and stdin, read as a stream of raw events.
//!
//! # Layouts
//!
//! Each file (and each decompressed stream, stdin included) is one of
//! three layouts, told apart by its content with a lookahead of one line:
//!
//! * **NDJSON**, one event per line: the first line (after a byte-order
//!   mark and blank lines) is one complete JSON value, unless it is an
//!   array followed by nothing but whitespace to the end of the input.
//!   So a first line `[1,2]` followed by events is one malformed event (not
//!   an object) and the events after it are read.
//! * A **JSON array** of events: the first line starts with `[` otherwise
//!   (a pretty-printed array, or an array on one line alone). Its elements
//!   are split off by a scanner that checks their JSON syntax; a bad element
//!   is reported at its element number and reading goes on after its end
//!   (found by counting brackets outside strings); a missing separator
//!   makes the element after it bad.
//! * A **stream of JSON values** separated by any whitespace (what
//!   `jq . events.ndjson` writes: pretty-printed objects one after another):
//!   anything else. An event's position is the line it starts on. A value
//!   that is not valid JSON is reported at its start line, and reading
//!   resumes at the first later line whose first byte is `{`.
//!
//! The first line is gathered (at most the event size limit of it) to
//! decide; a first line longer than the limit is an array when it starts
//! with `[`, else NDJSON (its event is too large either way). Nothing is
//! loaded whole: NDJSON is read line by line, arrays and streams value by
//! value, so a many-gigabyte file needs no more memory than its largest
//! event.
//!
//! # Limits and files that change
//!
//! One event's text (a line without its line break, an element, a value)
//! is at most [`DEFAULT_MAX_EVENT_BYTES`] unless
//! [`EventSource::with_max_event_bytes`] says otherwise: a longer one is
//! reported as malformed and skipped without being held whole. A file is
//! read up to the size it had when it was opened (bytes appended later are
//! not read). A memory-mapped file found shorter than that before a window
//! of it is mapped ends with an I/O error naming the file and the offset.
//!
//! # Several files: one timeline
//!
//! Files ending in `.gz` or `.zst` are decompressed on the fly; stdin is
//! recognised by the compressed formats' magic bytes instead. Other files
//! are memory-mapped a window at a time (`stream`), unless
//! [`EventSource::without_mmap`] asks for buffered reads.
//!
//! Several inputs are read merged by time, as if their events had been
//! concatenated and sorted (stably) by `@timestamp`: a k-way merge over
//! each file's next event, ties broken by input order, then position. The
//! time is read from the event's raw text (the first `"@timestamp"` key,
//! an RFC 3339 string or epoch milliseconds); an event without one takes
//! the last time read in its file (so it goes out in its place there).
//! Each file keeps one event ahead and its own buffer. At most
//! [`MAX_OPEN`] files are open at once: more inputs are merged in groups
//! of that many, in input order, one group after the other.
//!
//! The reader does not parse events (that is the projection's job, which
//! may run on other threads); it only reports what it finds wrong in the
//! layout itself. [`ReadStats`] accounts for every line, element or value.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use super::stream::{Mapped, SharedBytes, Stream, WINDOW};
use super::text::Strings;

/// Read buffer size: large reads keep system calls and decompressor calls
/// out of the per-event cost.
const BUF: usize = 1 << 20;

/// How deep a folder walk goes (a guard against symlink loops).
const MAX_DEPTH: usize = 64;

/// The default limit on one event's text, in bytes: 100 MiB, Elasticsearch's
/// default `http.max_content_length`, so no bigger document could have been
/// indexed.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 100 << 20;

/// At most this many files are open at once when several are merged by
/// time; more are merged in groups of this many, one group after another.
pub const MAX_OPEN: usize = 256;

/// One input named by the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file (read whatever its name) or a folder (walked).
    Path(PathBuf),
    /// Standard input.
    Stdin,
}

/// Where an event sits in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// 1-based line of an NDJSON file, or the line a value of a stream of
    /// JSON values starts on.
    Line(u64),
    /// 1-based index of an element of a JSON array file.
    Element(u64),
}

impl Position {
    /// The 1-based number, line or element alike (what output calls `_line`).
    pub fn number(self) -> u64 {
        match self {
            Position::Line(n) | Position::Element(n) => n,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Position::Line(n) => write!(f, "line {n}"),
            Position::Element(n) => write!(f, "element {n}"),
        }
    }
}

/// One event as read: its bytes (a line without its line break, an array
/// element, or a value of a stream, which may span lines) and where it
/// came from. Borrowed from the source until the next call to
/// [`EventSource::next_item`].
#[derive(Debug, Clone, Copy)]
pub struct RawEvent<'s> {
    /// The file's index in [`EventSource::files`].
    pub file: usize,
    /// The file (`<stdin>` for standard input).
    pub path: &'s Path,
    /// Line or element number.
    pub pos: Position,
    /// The event's JSON text.
    pub bytes: &'s [u8],
    /// When the text lies in a memory-mapped file: the window holding it
    /// and where `bytes` start there (so that it can be read later, on
    /// another thread, without a copy).
    pub shared: Option<(&'s SharedBytes, usize)>,
}

/// An event that could not be read: reported, counted, and skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// The file.
    pub path: PathBuf,
    /// Line or element number.
    pub pos: Position,
    /// What is wrong (serde_json's message for an event that does not parse).
    pub message: String,
}

impl Malformed {
    /// The report for a raw event that failed to parse.
    pub fn new(event: &RawEvent<'_>, error: &dyn fmt::Display) -> Self {
        Malformed {
            path: event.path.to_path_buf(),
            pos: event.pos,
            message: error.to_string(),
        }
    }
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "{}:{}: malformed event: {}",
            self.path.display(),
            self.pos.number(),
            self.message
        )
    }
}

/// What [`EventSource::next_item`] yields.
#[derive(Debug)]
pub enum Item<'s> {
    /// An event to parse.
    Event(RawEvent<'s>),
    /// An event the reader itself found wrong: bad JSON in an array element
    /// or a stream value, a broken array structure, or an event over the
    /// size limit. Reading goes on after it.
    Malformed(Malformed),
}

/// Counts of what was read. Every NDJSON line, array element and stream
/// value is exactly one of: blank (NDJSON lines, and the blank lines before
/// a stream's first value), an event handed out, or malformed; so at the
/// end of the source `units == blank + events + malformed`. The caller adds
/// the events that then fail to parse to its own malformed count, so that
/// what it reads is `events + malformed` of these.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Files opened.
    pub files: u64,
    /// NDJSON lines, array elements and stream values read (a structural
    /// error in an array, or a stream's bad value, counts as one).
    pub units: u64,
    /// Blank NDJSON lines skipped.
    pub blank: u64,
    /// Events read (counted as each file's next event is read, which may be
    /// before it is handed out when files are merged).
    pub events: u64,
    /// Malformed events found by the reader.
    pub malformed: u64,
    /// Decompressed bytes read.
    pub bytes: u64,
}

/// One input of the open group.
struct Slot {
    /// Index into [`EventSource::files`].
    file: usize,
    /// `None` once the file has ended.
    reader: Option<FileReader>,
    /// The file's next event, read ahead: where it is, and its bytes' place.
    head: Option<(Position, At)>,
    /// The time of the file's last event with one (for those without).
    last_time: i64,
}

/// A stream of raw events over a list of inputs; several inputs are
/// merged by time (see the module documentation).
///
/// Not an [`Iterator`]: each event borrows the source's buffers.
pub struct EventSource {
    /// Every input in order, folders expanded (what [`RawEvent::file`]
    /// indexes), and whether it is standard input.
    files: Vec<(PathBuf, bool)>,
    /// The first input not opened yet.
    next: usize,
    /// Inputs of the current group still to open.
    opening: VecDeque<usize>,
    /// How many inputs the current group has.
    group_size: usize,
    /// The current group's open inputs.
    group: Vec<Slot>,
    /// Slots whose next event must be read before the least is chosen.
    stale: VecDeque<usize>,
    /// The heads, least first: (time, input, position, slot).
    heads: BinaryHeap<Reverse<(i64, usize, u64, usize)>>,
    stats: ReadStats,
    /// Whether plain files are memory-mapped (else read through a buffer).
    map_files: bool,
    /// The limit on one event's text.
    max_event_bytes: usize,
    /// The stream of [`EventSource::from_reader`], until it is opened.
    given: Option<Stream>,
}

impl fmt::Debug for EventSource {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_struct("EventSource")
            .field("files", &self.files)
            .field("next", &self.next)
            .field("stats", &self.stats)
            .finish()
    }
}

impl EventSource {
    /// A source over `inputs` in the order given; folders are walked now
    /// (recursively, sorted by path; hidden entries skipped; files whose
    /// name ends in `.json`, `.ndjson` or `.jsonl`, optionally followed by
    /// `.gz` or `.zst`), so a missing path is an error before any event.
    /// Files named directly are read whatever their name.
    pub fn new(inputs: &[Input]) -> io::Result<Self> {
        let mut files = Vec::new();
        for input in inputs {
            match input {
                Input::Stdin => files.push((PathBuf::from("<stdin>"), true)),
                Input::Path(p) => {
                    let meta = std::fs::metadata(p)
                        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))?;
                    if meta.is_dir() {
                        let mut found = Vec::new();
                        walk(p, 0, &mut found)?;
                        found.sort();
                        files.extend(found.into_iter().map(|p| (p, false)));
                    } else {
                        files.push((p.clone(), false));
                    }
                }
            }
        }
        Ok(EventSource::over(files))
    }

    fn over(files: Vec<(PathBuf, bool)>) -> Self {
        EventSource {
            files,
            next: 0,
            opening: VecDeque::new(),
            group_size: 0,
            group: Vec::new(),
            stale: VecDeque::new(),
            heads: BinaryHeap::new(),
            stats: ReadStats::default(),
            map_files: true,
            max_event_bytes: DEFAULT_MAX_EVENT_BYTES,
            given: None,
        }
    }

    /// A source over standard input.
    pub fn stdin() -> Self {
        EventSource::over(vec![(PathBuf::from("<stdin>"), true)])
    }

    /// A source over one in-memory or custom stream (named `name` in
    /// reports), decompressed when it starts with gzip or zstd magic bytes.
    pub fn from_reader(
        name: impl Into<PathBuf>,
        reader: impl Read + Send + 'static,
    ) -> io::Result<Self> {
        let mut src = EventSource::over(vec![(name.into(), false)]);
        src.given = Some(sniffed(Box::new(reader))?);
        Ok(src)
    }

    /// Reads plain files through a buffer instead of mapping them into
    /// memory (mapped files are faster to read, but a file truncated by
    /// another process while a window of it is mapped ends the run with
    /// SIGBUS; logs rotated in place with `copytruncate` are such files).
    pub fn without_mmap(mut self) -> Self {
        self.map_files = false;
        self
    }

    /// Sets the limit on one event's text (a line, an element, a value),
    /// in bytes; longer events are reported as malformed and skipped.
    /// The default is [`DEFAULT_MAX_EVENT_BYTES`].
    pub fn with_max_event_bytes(mut self, max: usize) -> Self {
        self.max_event_bytes = max;
        self
    }

    /// Every input in order, folders expanded: what [`RawEvent::file`]
    /// indexes (`<stdin>` for standard input).
    pub fn files(&self) -> Vec<PathBuf> {
        self.files.iter().map(|(p, _)| p.clone()).collect()
    }

    /// The counts so far.
    pub fn stats(&self) -> ReadStats {
        self.stats
    }

    /// The next event or malformed event, `None` at the end of the last
    /// input. An `Err` is an I/O error (an unreadable file, a corrupt
    /// compressed stream, a file truncated while mapped): the rest of that
    /// file is skipped and the next calls go on with the other inputs.
    pub fn next_item(&mut self) -> Option<io::Result<Item<'_>>> {
        loop {
            // The inputs of a new group open one at a time, each error
            // returned as it comes.
            if let Some(file) = self.opening.pop_front() {
                match self.open(file) {
                    Ok(reader) => self.push_slot(file, reader),
                    Err(e) => return Some(Err(e)),
                }
                continue;
            }
            // Read ahead the next event of each input that has none.
            if let Some(&s) = self.stale.front() {
                let merging = self.group_size > 1;
                let slot = &mut self.group[s];
                let Some(reader) = slot.reader.as_mut() else {
                    self.stale.pop_front();
                    continue;
                };
                match reader.next(&mut self.stats) {
                    Ok(Step::Event(pos, at)) => {
                        self.stale.pop_front();
                        self.stats.events += 1;
                        self.stats.units += 1;
                        if merging {
                            if let Some(t) = event_time(reader.bytes(at)) {
                                slot.last_time = t;
                            }
                        }
                        slot.head = Some((pos, at));
                        let key = (slot.last_time, slot.file, pos.number(), s);
                        self.heads.push(Reverse(key));
                    }
                    Ok(Step::Malformed(pos, message)) => {
                        self.stats.malformed += 1;
                        self.stats.units += 1;
                        let path = self.files[slot.file].0.clone();
                        return Some(Ok(Item::Malformed(Malformed { path, pos, message })));
                    }
                    Ok(Step::End) => {
                        self.stale.pop_front();
                        slot.reader = None;
                    }
                    Err(e) => {
                        self.stale.pop_front();
                        slot.reader = None;
                        let path = self.files[slot.file].0.display();
                        return Some(Err(io::Error::new(e.kind(), format!("{path}: {e}"))));
                    }
                }
                continue;
            }
            // Hand out the least head.
            if let Some(Reverse((_, file, _, s))) = self.heads.pop() {
                self.stale.push_back(s);
                let slot = &self.group[s];
                let (reader, (pos, at)) = (slot.reader.as_ref()?, slot.head?);
                return Some(Ok(Item::Event(RawEvent {
                    file,
                    path: &self.files[file].0,
                    pos,
                    bytes: reader.bytes(at),
                    shared: match at {
                        At::Buffer(_) => reader.src.inner.shared(),
                        At::Copied => None,
                    },
                })));
            }
            // The group is done: open the next one.
            self.group.clear();
            if self.next >= self.files.len() {
                return None;
            }
            let end = (self.next + MAX_OPEN).min(self.files.len());
            self.opening.extend(self.next..end);
            self.group_size = end - self.next;
            self.next = end;
        }
    }

    fn push_slot(&mut self, file: usize, reader: FileReader) {
        self.stale.push_back(self.group.len());
        self.group.push(Slot {
            file,
            reader: Some(reader),
            head: None,
            last_time: i64::MIN,
        });
    }

    /// Buffer and map window sizes for a file of a group of `n`: smaller
    /// when many files are open at once, so that their buffers together
    /// stay near 8 of each.
    fn sizes(&self) -> (usize, u64) {
        let n = self.group_size.max(1);
        let buf = (BUF * 8 / n).clamp(64 << 10, BUF);
        let window = (WINDOW * 8 / n as u64).clamp(256 << 10, WINDOW);
        (buf, window)
    }

    fn open(&mut self, index: usize) -> io::Result<FileReader> {
        let (path, stdin) = self.files[index].clone();
        let (buf, window) = self.sizes();
        let stream: Stream = if let Some(given) = self.given.take() {
            given
        } else if stdin {
            sniffed(Box::new(io::stdin()))?
        } else {
            let wrap = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
            let mut file = File::open(&path).map_err(wrap)?;
            let name = path.to_string_lossy();
            // Compression is told by name, or else by the first bytes: logs
            // fetched from object stores are often gzip under a `.json` name.
            // A pipe (`<(zcat ...)`) cannot go back after a look: it is read
            // through a buffer that looks.
            let regular = file.metadata().is_ok_and(|m| m.is_file());
            if !regular && !name.ends_with(".gz") && !name.ends_with(".zst") {
                let stream = sniffed(Box::new(file)).map_err(wrap)?;
                return self.start(index, stream);
            }
            let magic = match regular {
                true => magic_of(&mut file).map_err(wrap)?,
                false => Magic::Other,
            };
            let inner: Box<dyn Read + Send> = if name.ends_with(".gz") || magic == Magic::Gzip {
                Box::new(flate2::bufread::MultiGzDecoder::new(
                    BufReader::with_capacity(buf, file),
                ))
            } else if name.ends_with(".zst") || magic == Magic::Zstd {
                Box::new(zstd::stream::read::Decoder::new(file).map_err(wrap)?)
            } else if !self.map_files {
                // Read up to the size it has now, as a mapped file is.
                match file.metadata() {
                    Ok(m) if m.is_file() => Box::new(file.take(m.len())),
                    _ => Box::new(file),
                }
            } else {
                match Mapped::open(file, window) {
                    Ok(mapped) => return self.start(index, Stream::Mapped(mapped)),
                    Err(file) => Box::new(file),
                }
            };
            Stream::Buffered(BufReader::with_capacity(buf, inner))
        };
        self.start(index, stream)
    }

    fn start(&mut self, file: usize, stream: Stream) -> io::Result<FileReader> {
        self.stats.files += 1;
        let mut reader = FileReader::new(stream, self.max_event_bytes);
        reader.detect(&mut self.stats).map_err(|e| {
            let path = self.files[file].0.display();
            io::Error::new(e.kind(), format!("{path}: {e}"))
        })?;
        Ok(reader)
    }
}
/// Collects the event files below `dir`.
fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> io::Result<()> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let err = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", dir.display()));
    for entry in std::fs::read_dir(dir).map_err(err)? {
        let path = entry.map_err(err)?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk(&path, depth + 1, out)?;
        } else if is_event_file(&name) {
            out.push(path);
        }
    }
    Ok(())
}

/// Whether a file name looks like an event file, compressed or not.
fn is_event_file(name: &str) -> bool {
    let base = name
        .strip_suffix(".gz")
        .or_else(|| name.strip_suffix(".zst"))
        .unwrap_or(name);
    [".json", ".ndjson", ".jsonl"]
        .iter()
        .any(|e| base.ends_with(e))
}

/// What a file's first bytes say it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Magic {
    Gzip,
    Zstd,
    Other,
}

impl Magic {
    /// What data starting with `head` is.
    fn of(head: &[u8]) -> Magic {
        if head.starts_with(&[0x1f, 0x8b]) {
            Magic::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Magic::Zstd
        } else {
            Magic::Other
        }
    }
}

/// Reads the first bytes of `file` to tell compressed data, then goes back
/// to the start.
fn magic_of(file: &mut File) -> io::Result<Magic> {
    use std::io::Seek;
    let mut head = [0u8; 4];
    let mut got = 0;
    while got < head.len() {
        match file.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    file.rewind()?;
    Ok(Magic::of(&head[..got]))
}

/// Wraps a stream of unknown compression, looking at its first bytes.
fn sniffed(inner: Box<dyn Read + Send>) -> io::Result<Stream> {
    let mut br = BufReader::with_capacity(BUF, inner);
    Ok(Stream::Buffered(match Magic::of(br.fill_buf()?) {
        Magic::Gzip => {
            BufReader::with_capacity(BUF, Box::new(flate2::bufread::MultiGzDecoder::new(br)))
        }
        Magic::Zstd => {
            BufReader::with_capacity(BUF, Box::new(zstd::stream::read::Decoder::with_buffer(br)?))
        }
        Magic::Other => br,
    }))
}

/// The time of an event in nanoseconds, read cheaply from its raw text:
/// the value of the first `"@timestamp"` key, an RFC 3339 string (or
/// epoch milliseconds as a string) or a number of epoch milliseconds, as
/// the engine reads `@timestamp`. `None` when there is none or it does not
/// read as a time.
pub fn event_time(text: &[u8]) -> Option<i64> {
    const KEY: &[u8] = b"\"@timestamp\"";
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(KEY));
    let skip_ws = |mut i: usize| {
        while i < text.len() && is_ws(text[i]) {
            i += 1;
        }
        i
    };
    for at in FINDER.find_iter(text) {
        // An escaped quote is inside a string, not a key.
        if at > 0 && text[at - 1] == b'\\' {
            continue;
        }
        let i = skip_ws(at + KEY.len());
        if text.get(i) != Some(&b':') {
            continue;
        }
        let i = skip_ws(i + 1);
        return match text.get(i)? {
            b'"' => {
                let rest = &text[i + 1..];
                let end = memchr::memchr2(b'"', b'\\', rest)?;
                if rest[end] != b'"' {
                    return None;
                }
                let s = std::str::from_utf8(&rest[..end]).ok()?;
                crate::compile::date::parse_default(s).map(|t| t.lo)
            }
            b'-' | b'0'..=b'9' => {
                let len = text[i..]
                    .iter()
                    .take_while(|b| matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
                    .count();
                let s = std::str::from_utf8(&text[i..i + len]).ok()?;
                crate::compile::date::epoch_millis_number(s)
            }
            _ => None,
        };
    }
    None
}

/// Where an event's bytes are.
#[derive(Clone, Copy, Debug)]
enum At {
    /// The first `len` bytes of the reader's stream buffer (most NDJSON
    /// lines: handed out in place, without a copy).
    Buffer(usize),
    /// The reader's own buffer.
    Copied,
}

enum Step {
    Event(Position, At),
    Malformed(Position, String),
    End,
}

/// The layout of one input.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Layout {
    /// One event per line.
    Lines,
    /// A JSON array, and where its scanner is between elements.
    Array(Between),
    /// JSON values separated by whitespace.
    Values,
}

/// Where the array scanner is between elements.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Between {
    /// After `[` or `,`: an element or (leniently) `]` comes next.
    Element,
    /// After an element: `,` or `]` comes next.
    Separator,
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

fn too_large(size: u64, max: usize) -> String {
    format!("event of {size} bytes exceeds the limit of {max} bytes (--max-event-bytes)")
}

/// An input's bytes, with room to give back bytes read ahead (read again
/// before the stream's).
struct Src {
    inner: Stream,
    /// Bytes given back, read from `back_at` on.
    back: Vec<u8>,
    back_at: usize,
    /// Whether `line` is kept (not for NDJSON, which counts lines itself).
    count_lines: bool,
    /// The 1-based line of the next byte.
    line: u64,
}

impl Src {
    fn fill(&mut self) -> io::Result<&[u8]> {
        if self.back_at < self.back.len() {
            return Ok(&self.back[self.back_at..]);
        }
        if !self.back.is_empty() {
            // It may have been a long first line: give the memory back.
            self.back = Vec::new();
            self.back_at = 0;
        }
        self.inner.fill_buf()
    }

    /// Consumes `n` bytes of what [`Src::fill`] returned.
    fn take(&mut self, n: usize, stats: &mut ReadStats) {
        if self.back_at < self.back.len() {
            if self.count_lines {
                self.line += newlines(&self.back[self.back_at..self.back_at + n]);
            }
            self.back_at += n;
        } else {
            if self.count_lines {
                self.line += newlines(&self.inner.buffer()[..n]);
            }
            self.inner.consume(n);
            stats.bytes += n as u64;
        }
    }

    /// Gives `bytes` back, to be read before anything not read yet.
    fn unread(&mut self, bytes: &[u8]) {
        if self.count_lines {
            self.line -= newlines(bytes);
        }
        let mut back = Vec::with_capacity(bytes.len() + self.back.len() - self.back_at);
        back.extend_from_slice(bytes);
        back.extend_from_slice(&self.back[self.back_at..]);
        self.back = back;
        self.back_at = 0;
    }

    /// Skips whitespace; returns the next byte without consuming it.
    fn peek_non_ws(&mut self, stats: &mut ReadStats) -> io::Result<Option<u8>> {
        loop {
            let chunk = self.fill()?;
            if chunk.is_empty() {
                return Ok(None);
            }
            let n = chunk.iter().take_while(|&&b| is_ws(b)).count();
            let next = chunk.get(n).copied();
            self.take(n, stats);
            if next.is_some() {
                return Ok(next);
            }
        }
    }
}

/// What scanning one JSON value gave.
enum Value {
    /// Its text is in the buffer.
    Whole,
    /// It ended, but was longer than the limit (its size).
    TooLarge(u64),
    /// The byte after what was consumed cannot come next (why, and at
    /// which line); the buffer holds what was consumed, unless it went
    /// past the limit.
    Bad(String, u64),
    /// The input ended inside it.
    Eof,
}

/// One open input.
struct FileReader {
    src: Src,
    /// The event gathered or scanned last.
    buf: Vec<u8>,
    /// Bytes of the stream buffer still lent out as the last line,
    /// consumed at the next call.
    pending: usize,
    layout: Layout,
    /// Lines (NDJSON) or elements (array) read so far.
    count: u64,
    /// A first event found while telling the layout.
    first: Option<Step>,
    done: bool,
    /// The limit on one event's text.
    max: usize,
    /// The JSON syntax checker for arrays and streams.
    json: Json,
    /// Whether the value scanned last went past the limit (the buffer
    /// holds only its start).
    truncated: bool,
    /// Whether the last byte scanned was a line break.
    ended_nl: bool,
}

impl FileReader {
    fn new(inner: Stream, max: usize) -> FileReader {
        FileReader {
            src: Src {
                inner,
                back: Vec::new(),
                back_at: 0,
                count_lines: false,
                line: 1,
            },
            buf: Vec::new(),
            pending: 0,
            layout: Layout::Lines,
            count: 0,
            first: None,
            done: false,
            max,
            json: Json::default(),
            truncated: false,
            ended_nl: false,
        }
    }

    /// The bytes of an event this reader returned last.
    fn bytes(&self, at: At) -> &[u8] {
        match at {
            At::Buffer(len) => &self.src.inner.buffer()[..len],
            At::Copied => &self.buf,
        }
    }

    /// Skips a byte-order mark and leading whitespace, then tells the
    /// layout from the first line (see the module documentation).
    fn detect(&mut self, stats: &mut ReadStats) -> io::Result<()> {
        let head = self.src.inner.fill_buf()?;
        if head.starts_with(&[0xef, 0xbb, 0xbf]) {
            self.src.take(3, stats);
        }
        let mut blank = 0;
        let first = loop {
            let chunk = self.src.fill()?;
            if chunk.is_empty() {
                // Empty or blank: no events; its lines were blank lines.
                self.account_blank(blank, stats);
                self.done = true;
                return Ok(());
            }
            let n = chunk.iter().take_while(|&&b| is_ws(b)).count();
            blank += newlines(&chunk[..n]);
            let next = chunk.get(n).copied();
            self.src.take(n, stats);
            if let Some(b) = next {
                break b;
            }
        };
        let line = blank + 1;
        let array = first == b'[';
        // Past the limit, only the kept start of the line is consumed.
        let (size, ended) = self.gather_line(true, stats)?.unwrap_or((0, false));
        let over = size > self.max as u64;
        let complete = !over && Json::is_one_value(&self.buf);
        if array && complete {
            // One line alone is an array; followed by more, an NDJSON line.
            let mut after = 0;
            loop {
                let chunk = self.src.fill()?;
                if chunk.is_empty() {
                    break;
                }
                let n = chunk.iter().take_while(|&&b| is_ws(b)).count();
                after += newlines(&chunk[..n]);
                let more = n < chunk.len();
                self.src.take(n, stats);
                if more {
                    self.account_blank(blank + after, stats);
                    self.count = line + after;
                    self.first = Some(Step::Event(Position::Line(line), At::Copied));
                    return Ok(());
                }
            }
            self.start_scan(Layout::Array(Between::Element), line, false);
            self.src.take(1, stats);
        } else if array {
            self.start_scan(Layout::Array(Between::Element), line, ended);
            self.src.take(1, stats);
        } else if complete || (over && !Json::is_more_than_one_value(&self.buf)) {
            self.account_blank(blank, stats);
            self.count = line;
            self.first = Some(if over {
                // The rest of the long line.
                let kept = self.buf.len() as u64;
                let rest = self.gather_line(false, stats)?.map_or(0, |(n, _)| n);
                Step::Malformed(Position::Line(line), too_large(kept + rest, self.max))
            } else {
                Step::Event(Position::Line(line), At::Copied)
            });
        } else {
            self.account_blank(blank, stats);
            self.start_scan(Layout::Values, line, ended);
        }
        Ok(())
    }

    /// Reads the buffer (the first line read so far) again, as the start
    /// of an array or a stream on line `line`.
    fn start_scan(&mut self, layout: Layout, line: u64, newline: bool) {
        self.layout = layout;
        if newline {
            self.buf.push(b'\n');
        }
        self.src.unread(&self.buf);
        self.src.count_lines = true;
        self.src.line = line;
        self.buf.clear();
    }

    fn account_blank(&mut self, lines: u64, stats: &mut ReadStats) {
        self.count += lines;
        stats.units += lines;
        stats.blank += lines;
    }

    /// Gathers the rest of the line into the buffer, its line break
    /// consumed and not kept, nor its trailing `\r`s; past the limit, only
    /// the first bytes are kept (and with `stop`, reading stops there).
    /// Returns the line's size and whether it ended with a line break;
    /// `None` at the end of the input.
    fn gather_line(
        &mut self,
        stop: bool,
        stats: &mut ReadStats,
    ) -> io::Result<Option<(u64, bool)>> {
        self.buf.clear();
        let keep = self.max.saturating_add(2);
        let (mut total, mut cr, mut any) = (0u64, 0u64, false);
        loop {
            let chunk = self.src.fill()?;
            if chunk.is_empty() {
                if !any {
                    return Ok(None);
                }
                let size = total - cr;
                self.buf.truncate(size.min(self.buf.len() as u64) as usize);
                return Ok(Some((size, false)));
            }
            any = true;
            let (piece, newline) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (&chunk[..i], true),
                None => (chunk, false),
            };
            let room = keep.saturating_sub(self.buf.len()).min(piece.len());
            self.buf.extend_from_slice(&piece[..room]);
            total += piece.len() as u64;
            let trailing = piece.iter().rev().take_while(|&&b| b == b'\r').count() as u64;
            cr = if trailing == piece.len() as u64 {
                cr + trailing
            } else {
                trailing
            };
            let n = piece.len() + usize::from(newline);
            if stop && total - cr > self.max as u64 {
                // Only what was kept is consumed.
                self.src.take(room, stats);
                return Ok(Some((total, false)));
            }
            self.src.take(n, stats);
            if newline {
                let size = total - cr;
                self.buf.truncate(size.min(self.buf.len() as u64) as usize);
                return Ok(Some((size, true)));
            }
        }
    }

    fn next(&mut self, stats: &mut ReadStats) -> io::Result<Step> {
        if let Some(first) = self.first.take() {
            return Ok(first);
        }
        if self.done {
            return Ok(Step::End);
        }
        match self.layout {
            Layout::Lines => self.next_line(stats),
            Layout::Array(_) => self.next_element(stats),
            Layout::Values => self.next_value(stats),
        }
    }

    fn next_line(&mut self, stats: &mut ReadStats) -> io::Result<Step> {
        loop {
            self.src.inner.consume(std::mem::take(&mut self.pending));
            let chunk = self.src.inner.fill_buf()?;
            // A line inside the buffer is lent out in place; one that runs
            // past its end is gathered into `buf`.
            let (size, at) = match memchr::memchr(b'\n', chunk) {
                Some(i) => {
                    self.pending = i + 1;
                    stats.bytes += (i + 1) as u64;
                    let mut len = i;
                    while len > 0 && chunk[len - 1] == b'\r' {
                        len -= 1;
                    }
                    (len as u64, At::Buffer(len))
                }
                None => {
                    let Some((size, _)) = self.gather_line(false, stats)? else {
                        self.done = true;
                        return Ok(Step::End);
                    };
                    (size, At::Copied)
                }
            };
            self.count += 1;
            let pos = Position::Line(self.count);
            if size > self.max as u64 {
                return Ok(Step::Malformed(pos, too_large(size, self.max)));
            }
            if self.bytes(at).iter().all(|&b| is_ws(b)) {
                stats.units += 1;
                stats.blank += 1;
                continue;
            }
            return Ok(Step::Event(pos, at));
        }
    }

    /// Scans one JSON value into the buffer (the next byte starts it).
    fn scan_value(&mut self, stats: &mut ReadStats) -> io::Result<Value> {
        self.buf.clear();
        self.truncated = false;
        self.ended_nl = false;
        self.json.reset();
        let mut size = 0u64;
        loop {
            let chunk = self.src.fill()?;
            if chunk.is_empty() {
                return Ok(if self.json.finish() {
                    self.value_end(size)
                } else {
                    Value::Eof
                });
            }
            let fed = self.json.feed(chunk);
            let n = match &fed {
                Fed::More => chunk.len(),
                Fed::Done(n) | Fed::Bad(n, _) => *n,
            };
            if size + (n as u64) <= self.max as u64 {
                self.buf.extend_from_slice(&chunk[..n]);
            } else {
                self.truncated = true;
            }
            if n > 0 {
                self.ended_nl = chunk[n - 1] == b'\n';
            }
            size += n as u64;
            self.src.take(n, stats);
            match fed {
                Fed::More => {}
                Fed::Done(_) => return Ok(self.value_end(size)),
                Fed::Bad(_, why) => return Ok(Value::Bad(why, self.src.line)),
            }
        }
    }

    fn value_end(&mut self, size: u64) -> Value {
        if size > self.max as u64 {
            self.buf.clear();
            Value::TooLarge(size)
        } else {
            Value::Whole
        }
    }

    fn next_value(&mut self, stats: &mut ReadStats) -> io::Result<Step> {
        if self.src.peek_non_ws(stats)?.is_none() {
            self.done = true;
            return Ok(Step::End);
        }
        let start = self.src.line;
        let pos = Position::Line(start);
        Ok(match self.scan_value(stats)? {
            Value::Whole => Step::Event(pos, At::Copied),
            Value::TooLarge(size) => Step::Malformed(pos, too_large(size, self.max)),
            Value::Eof => {
                self.done = true;
                Step::Malformed(pos, "unexpected end of input inside the value".into())
            }
            Value::Bad(why, line) => {
                self.resync(start, stats)?;
                Step::Malformed(pos, format!("{why} at line {line}"))
            }
        })
    }

    /// After a bad value that started on line `start`: goes on at the
    /// first later line whose first byte is `{`.
    fn resync(&mut self, start: u64, stats: &mut ReadStats) -> io::Result<()> {
        // The value's text read so far, from its start (unless it went past
        // the limit): such a line may be in it.
        let held = std::mem::take(&mut self.buf);
        let found = memchr::memmem::find(&held, b"\n{").filter(|_| !self.truncated);
        if let Some(i) = found {
            self.src.unread(&held[i + 1..]);
            self.buf = held;
            return Ok(());
        }
        self.buf = held;
        let mut line_start = self.ended_nl && self.src.line > start;
        loop {
            let chunk = self.src.fill()?;
            if chunk.is_empty() {
                self.done = true;
                return Ok(());
            }
            if line_start && chunk[0] == b'{' {
                return Ok(());
            }
            match memchr::memchr(b'\n', chunk) {
                Some(i) => {
                    self.src.take(i + 1, stats);
                    line_start = true;
                }
                None => {
                    let n = chunk.len();
                    self.src.take(n, stats);
                    line_start = false;
                }
            }
        }
    }

    fn next_element(&mut self, stats: &mut ReadStats) -> io::Result<Step> {
        loop {
            let state = match self.layout {
                Layout::Array(state) => state,
                _ => Between::Element,
            };
            let next = self.count + 1;
            match (self.src.peek_non_ws(stats)?, state) {
                (None, _) => {
                    self.done = true;
                    return Ok(Step::Malformed(
                        Position::Element(next),
                        "unexpected end of input: the JSON array is not closed".into(),
                    ));
                }
                (Some(b']'), _) => {
                    self.src.take(1, stats);
                    self.done = true;
                    return Ok(match self.src.peek_non_ws(stats)? {
                        None => Step::End,
                        Some(_) => Step::Malformed(
                            Position::Element(next),
                            format!(
                                "trailing characters after the JSON array at line {}",
                                self.src.line
                            ),
                        ),
                    });
                }
                (Some(b','), Between::Separator) => {
                    self.src.take(1, stats);
                    self.layout = Layout::Array(Between::Element);
                }
                (Some(b), Between::Separator) => {
                    // The element after a missing separator is skipped.
                    let line = self.src.line;
                    self.count += 1;
                    let pos = Position::Element(self.count);
                    if let Value::Bad(..) = self.scan_value(stats)? {
                        self.skip_element(stats)?;
                    }
                    return Ok(Step::Malformed(
                        pos,
                        format!(
                            "expected `,` or `]` after element {}, found {:?} at line {line}",
                            self.count - 1,
                            char::from(b)
                        ),
                    ));
                }
                (Some(_), Between::Element) => {
                    self.count += 1;
                    self.layout = Layout::Array(Between::Separator);
                    let pos = Position::Element(self.count);
                    return Ok(match self.scan_value(stats)? {
                        Value::Whole => Step::Event(pos, At::Copied),
                        Value::TooLarge(size) => Step::Malformed(pos, too_large(size, self.max)),
                        Value::Eof => {
                            self.done = true;
                            Step::Malformed(
                                pos,
                                "unexpected end of input inside the element".into(),
                            )
                        }
                        Value::Bad(why, line) => {
                            self.skip_element(stats)?;
                            Step::Malformed(pos, format!("{why} at line {line}"))
                        }
                    });
                }
            }
        }
    }

    /// After a syntax error inside an array element: skips to the
    /// element's end, counting brackets outside strings from where the
    /// error was found (at least one byte, the one that was wrong).
    fn skip_element(&mut self, stats: &mut ReadStats) -> io::Result<()> {
        let mut depth = self.json.stack.len();
        let (mut strings, mut first) = (Strings::default(), true);
        loop {
            let chunk = self.src.fill()?;
            if chunk.is_empty() {
                return Ok(());
            }
            let mut end = None;
            for (i, &b) in chunk.iter().enumerate() {
                let was_first = std::mem::replace(&mut first, false);
                if !strings.outside(b) {
                    continue;
                }
                if depth == 0 && !was_first && (b == b',' || b == b']' || is_ws(b)) {
                    end = Some(i);
                    break;
                }
                match b {
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' if depth > 0 => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let n = end.unwrap_or(chunk.len());
            self.src.take(n, stats);
            if end.is_some() {
                return Ok(());
            }
        }
    }
}

/// The deepest nesting the JSON checker follows (an event may nest
/// [`super::MAX_EVENT_DEPTH`] levels at most, which the projection
/// reports): deeper input is bad, and the checker's stack stays small.
const MAX_NESTING: usize = 1024;

/// What the JSON checker expects next, outside tokens.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
enum Want {
    /// A value.
    #[default]
    Value,
    /// A value or `]` (after `[`).
    ValueOrClose,
    /// A key or `}` (after `{`).
    KeyOrClose,
    /// A key (after `,` in an object).
    Key,
    /// `:` after a key.
    Colon,
    /// `,` or the container's closing bracket, after a value in it.
    CommaOrClose,
}

/// The token the JSON checker is inside.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
enum Token {
    /// None: between tokens.
    #[default]
    None,
    /// A string (a key or not); after a backslash.
    Str { key: bool, escape: bool },
    /// `true`, `false` or `null`: the letters still to come.
    Literal(&'static [u8]),
    /// A number (its characters are left to the projection to check).
    Number,
}

/// What feeding bytes to the JSON checker gave.
enum Fed {
    /// All of them belong to the value, which goes on.
    More,
    /// The value ends after the first `n` bytes.
    Done(usize),
    /// The byte at `n` cannot come next (why).
    Bad(usize, String),
}

/// A JSON syntax checker fed a value's bytes in pieces: it finds where a
/// value ends and the first byte that makes it invalid, tracking strings
/// and the open containers. Escapes and number digits are left to the
/// projection, which reads every event handed out.
#[derive(Default)]
struct Json {
    /// The open containers: `{` or `[`.
    stack: Vec<u8>,
    want: Want,
    token: Token,
}

impl Json {
    fn reset(&mut self) {
        self.stack.clear();
        self.want = Want::Value;
        self.token = Token::None;
    }

    /// Whether `text` is one JSON value, with nothing but whitespace after.
    fn is_one_value(text: &[u8]) -> bool {
        let mut json = Json::default();
        let start = text.iter().take_while(|&&b| is_ws(b)).count();
        let end = match json.feed(&text[start..]) {
            Fed::Done(n) => start + n,
            Fed::More if json.finish() => text.len(),
            _ => return false,
        };
        text[end..].iter().all(|&b| is_ws(b))
    }

    /// Whether the start of a line already shows more than one value on
    /// it (or bad JSON).
    fn is_more_than_one_value(text: &[u8]) -> bool {
        let mut json = Json::default();
        let start = text.iter().take_while(|&&b| is_ws(b)).count();
        match json.feed(&text[start..]) {
            Fed::Done(n) => text[start + n..].iter().any(|&b| !is_ws(b)),
            Fed::Bad(..) => true,
            Fed::More => false,
        }
    }

    /// Whether a value that ends with the input is complete (a number at
    /// the top level ends there).
    fn finish(&self) -> bool {
        self.token == Token::Number && self.stack.is_empty()
    }

    /// A value ended: true when it was the top-level one.
    fn value_done(&mut self) -> bool {
        self.want = Want::CommaOrClose;
        self.stack.is_empty()
    }

    fn feed(&mut self, chunk: &[u8]) -> Fed {
        let mut i = 0;
        while i < chunk.len() {
            let b = chunk[i];
            match self.token {
                Token::Str { key, escape: true } => {
                    self.token = Token::Str { key, escape: false };
                    i += 1;
                    continue;
                }
                Token::Str { key, escape: false } => {
                    let Some(j) = memchr::memchr2(b'"', b'\\', &chunk[i..]) else {
                        return Fed::More;
                    };
                    i += j;
                    if chunk[i] == b'\\' {
                        self.token = Token::Str { key, escape: true };
                    } else {
                        self.token = Token::None;
                        if key {
                            self.want = Want::Colon;
                        } else if self.value_done() {
                            return Fed::Done(i + 1);
                        }
                    }
                    i += 1;
                    continue;
                }
                Token::Literal(rest) => {
                    if b != rest[0] {
                        return Fed::Bad(i, format!("invalid literal: unexpected {}", shown(b)));
                    }
                    i += 1;
                    if rest.len() > 1 {
                        self.token = Token::Literal(&rest[1..]);
                    } else {
                        self.token = Token::None;
                        if self.value_done() {
                            return Fed::Done(i);
                        }
                    }
                    continue;
                }
                Token::Number => {
                    if matches!(b, b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') {
                        i += 1;
                        continue;
                    }
                    self.token = Token::None;
                    if self.value_done() {
                        return Fed::Done(i);
                    }
                }
                Token::None => {}
            }
            if is_ws(b) {
                i += 1;
                continue;
            }
            let value = matches!(self.want, Want::Value | Want::ValueOrClose);
            let top = self.stack.last().copied();
            if value && matches!(b, b'{' | b'[') && self.stack.len() >= MAX_NESTING {
                return Fed::Bad(i, format!("nesting deeper than {MAX_NESTING}"));
            }
            match b {
                b'{' if value => {
                    self.stack.push(b'{');
                    self.want = Want::KeyOrClose;
                }
                b'[' if value => {
                    self.stack.push(b'[');
                    self.want = Want::ValueOrClose;
                }
                b'"' if value => {
                    self.token = Token::Str {
                        key: false,
                        escape: false,
                    }
                }
                b'"' if matches!(self.want, Want::KeyOrClose | Want::Key) => {
                    self.token = Token::Str {
                        key: true,
                        escape: false,
                    }
                }
                b't' if value => self.token = Token::Literal(b"rue"),
                b'f' if value => self.token = Token::Literal(b"alse"),
                b'n' if value => self.token = Token::Literal(b"ull"),
                b'-' | b'0'..=b'9' if value => self.token = Token::Number,
                b']' if top == Some(b'[')
                    && matches!(self.want, Want::ValueOrClose | Want::CommaOrClose) =>
                {
                    self.stack.pop();
                    if self.value_done() {
                        return Fed::Done(i + 1);
                    }
                }
                b'}' if top == Some(b'{')
                    && matches!(self.want, Want::KeyOrClose | Want::CommaOrClose) =>
                {
                    self.stack.pop();
                    if self.value_done() {
                        return Fed::Done(i + 1);
                    }
                }
                b':' if self.want == Want::Colon => self.want = Want::Value,
                b',' if self.want == Want::CommaOrClose => {
                    self.want = if top == Some(b'{') {
                        Want::Key
                    } else {
                        Want::Value
                    };
                }
                _ => {
                    let expected = match self.want {
                        Want::Value => "a value",
                        Want::ValueOrClose => "a value or `]`",
                        Want::KeyOrClose => "a key or `}`",
                        Want::Key => "a key",
                        Want::Colon => "`:`",
                        Want::CommaOrClose if top == Some(b'{') => "`,` or `}`",
                        Want::CommaOrClose => "`,` or `]`",
                    };
                    return Fed::Bad(i, format!("expected {expected}, found {}", shown(b)));
                }
            }
            i += 1;
        }
        Fed::More
    }
}

/// A byte as an error message shows it.
fn shown(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("`{}`", char::from(b))
    } else {
        format!("byte 0x{b:02x}")
    }
}
