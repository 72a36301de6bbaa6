//! Event sources: files, folders and stdin, read as a stream of raw events.
//!
//! A file is NDJSON (one event per line) or a single JSON array of events,
//! told apart by its first non-blank character (`[` for an array). Files
//! ending in `.gz` or `.zst` are decompressed on the fly; stdin is recognised
//! by the compressed formats' magic bytes instead. Other files are
//! memory-mapped a window at a time (`stream`), unless
//! [`EventSource::without_mmap`] asks for buffered reads. Nothing is loaded whole:
//! NDJSON is read line by line and arrays are split into their top-level
//! elements by a small scanner that tracks strings and nesting, so a
//! many-gigabyte array needs no more memory than its largest element.
//!
//! The reader does not parse events (that is the projection's job, which may
//! run on other threads); it only reports what it finds wrong in the array
//! structure itself. [`ReadStats`] accounts for every line or element read.

use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use super::stream::{Mapped, SharedBytes, Stream};

/// Read buffer size: large reads keep system calls and decompressor calls
/// out of the per-event cost.
const BUF: usize = 1 << 20;

/// How deep a folder walk goes (a guard against symlink loops).
const MAX_DEPTH: usize = 64;

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
    /// 1-based line of an NDJSON file.
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

/// One event as read: its bytes (a line without its line break, or an array
/// element) and where it came from. Borrowed from the source until the next
/// call to [`EventSource::next_item`].
#[derive(Debug, Clone, Copy)]
pub struct RawEvent<'s> {
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
    /// A structural error in a JSON array file (the rest of that file is
    /// skipped, since its element boundaries are lost).
    Malformed(Malformed),
}

/// Counts of what was read. Every NDJSON line and every array element is
/// exactly one of: blank, an event handed out, or malformed; so
/// `units == blank + events + malformed`. The caller adds the events that
/// then fail to parse to its own malformed count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Files opened.
    pub files: u64,
    /// NDJSON lines and array elements read (a structural error in an array
    /// counts as one).
    pub units: u64,
    /// Blank NDJSON lines skipped.
    pub blank: u64,
    /// Events handed out.
    pub events: u64,
    /// Structural errors found by the reader.
    pub malformed: u64,
    /// Decompressed bytes read.
    pub bytes: u64,
}

/// A stream of raw events over a list of inputs, file after file.
///
/// Not an [`Iterator`]: each event borrows the source's buffer.
pub struct EventSource {
    queue: VecDeque<Input>,
    current: Option<Reader>,
    path: PathBuf,
    buf: Vec<u8>,
    stats: ReadStats,
    /// Whether plain files are memory-mapped (else read through a buffer).
    map_files: bool,
}

impl fmt::Debug for EventSource {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_struct("EventSource")
            .field("path", &self.path)
            .field("queue", &self.queue)
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
        let mut queue = VecDeque::new();
        for input in inputs {
            match input {
                Input::Stdin => queue.push_back(Input::Stdin),
                Input::Path(p) => {
                    let meta = std::fs::metadata(p)
                        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))?;
                    if meta.is_dir() {
                        let mut files = Vec::new();
                        walk(p, 0, &mut files)?;
                        files.sort();
                        queue.extend(files.into_iter().map(Input::Path));
                    } else {
                        queue.push_back(Input::Path(p.clone()));
                    }
                }
            }
        }
        Ok(EventSource {
            queue,
            current: None,
            path: PathBuf::new(),
            buf: Vec::new(),
            stats: ReadStats::default(),
            map_files: true,
        })
    }

    /// A source over standard input.
    pub fn stdin() -> Self {
        EventSource {
            queue: VecDeque::from([Input::Stdin]),
            current: None,
            path: PathBuf::new(),
            buf: Vec::new(),
            stats: ReadStats::default(),
            map_files: true,
        }
    }

    /// A source over one in-memory or custom stream (named `name` in
    /// reports), decompressed when it starts with gzip or zstd magic bytes.
    pub fn from_reader(
        name: impl Into<PathBuf>,
        reader: impl Read + Send + 'static,
    ) -> io::Result<Self> {
        let mut src = EventSource {
            queue: VecDeque::new(),
            current: None,
            path: name.into(),
            buf: Vec::new(),
            stats: ReadStats::default(),
            map_files: true,
        };
        src.start(sniffed(Box::new(reader))?)?;
        Ok(src)
    }

    /// Reads plain files through a buffer instead of mapping them into
    /// memory (mapped files are faster to read, but a file truncated by
    /// another process while it is mapped ends the run with SIGBUS; logs
    /// rotated in place with `copytruncate` are such files).
    pub fn without_mmap(mut self) -> Self {
        self.map_files = false;
        self
    }

    /// The counts so far.
    pub fn stats(&self) -> ReadStats {
        self.stats
    }

    /// The next event or structural error, `None` at the end of the last
    /// input. An `Err` is an I/O error (an unreadable file, a corrupt
    /// compressed stream): the rest of that file is skipped and the next
    /// call goes on with the next input.
    pub fn next_item(&mut self) -> Option<io::Result<Item<'_>>> {
        loop {
            if self.current.is_none() {
                let input = self.queue.pop_front()?;
                if let Err(e) = self.open(input) {
                    return Some(Err(e));
                }
                continue;
            }
            let step = self.current.as_mut()?.next(&mut self.buf, &mut self.stats);
            match step {
                Ok(Step::Event(pos, at)) => {
                    self.stats.events += 1;
                    let (bytes, shared) = match at {
                        At::Buffer(len) => {
                            let inner = &self.current.as_ref()?.inner;
                            (&inner.buffer()[..len], inner.shared())
                        }
                        At::Copied => (&self.buf[..], None),
                    };
                    return Some(Ok(Item::Event(RawEvent {
                        path: &self.path,
                        pos,
                        bytes,
                        shared,
                    })));
                }
                Ok(Step::Malformed(pos, message)) => {
                    self.stats.malformed += 1;
                    self.stats.units += 1;
                    return Some(Ok(Item::Malformed(Malformed {
                        path: self.path.clone(),
                        pos,
                        message,
                    })));
                }
                Ok(Step::End) => self.current = None,
                Err(e) => {
                    self.current = None;
                    let path = self.path.display();
                    return Some(Err(io::Error::new(e.kind(), format!("{path}: {e}"))));
                }
            }
        }
    }

    fn open(&mut self, input: Input) -> io::Result<()> {
        let stream: Stream = match input {
            Input::Stdin => {
                self.path = PathBuf::from("<stdin>");
                sniffed(Box::new(io::stdin()))?
            }
            Input::Path(p) => {
                self.path = p;
                let wrap = |e: io::Error| {
                    io::Error::new(e.kind(), format!("{}: {e}", self.path.display()))
                };
                let file = File::open(&self.path).map_err(wrap)?;
                let name = self.path.to_string_lossy();
                let inner: Box<dyn Read + Send> = if name.ends_with(".gz") {
                    Box::new(flate2::bufread::MultiGzDecoder::new(
                        BufReader::with_capacity(BUF, file),
                    ))
                } else if name.ends_with(".zst") {
                    Box::new(zstd::stream::read::Decoder::new(file).map_err(wrap)?)
                } else if !self.map_files {
                    Box::new(file)
                } else {
                    match Mapped::open(file) {
                        Ok(mapped) => return self.start(Stream::Mapped(mapped)),
                        Err(file) => Box::new(file),
                    }
                };
                Stream::Buffered(BufReader::with_capacity(BUF, inner))
            }
        };
        self.start(stream)
    }

    fn start(&mut self, stream: Stream) -> io::Result<()> {
        self.stats.files += 1;
        let mut reader = Reader {
            inner: stream,
            pending: 0,
            array: None,
            count: 0,
            done: false,
        };
        let path = self.path.display().to_string();
        reader
            .detect(&mut self.stats)
            .map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))?;
        self.current = Some(reader);
        Ok(())
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

/// Wraps a stream of unknown compression, looking at its first bytes.
fn sniffed(inner: Box<dyn Read + Send>) -> io::Result<Stream> {
    let mut br = BufReader::with_capacity(BUF, inner);
    let head = br.fill_buf()?;
    Ok(Stream::Buffered(if head.starts_with(&[0x1f, 0x8b]) {
        BufReader::with_capacity(BUF, Box::new(flate2::bufread::MultiGzDecoder::new(br)))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        BufReader::with_capacity(BUF, Box::new(zstd::stream::read::Decoder::with_buffer(br)?))
    } else {
        br
    }))
}

/// Where an event's bytes are.
enum At {
    /// The first `len` bytes of the reader's buffer (most NDJSON lines:
    /// handed out in place, without a copy).
    Buffer(usize),
    /// The source's line buffer.
    Copied,
}

enum Step {
    Event(Position, At),
    Malformed(Position, String),
    End,
}

/// Where the array scanner is between elements.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Between {
    /// After `[` or `,`: an element or (leniently) `]` comes next.
    Element,
    /// After an element: `,` or `]` comes next.
    Separator,
}

/// One open file.
struct Reader {
    inner: Stream,
    /// Bytes of the buffer still lent out as the last line, consumed at the
    /// next call.
    pending: usize,
    /// `Some` for a JSON array file.
    array: Option<Between>,
    /// Lines (NDJSON) or elements (array) read so far.
    count: u64,
    done: bool,
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

impl Reader {
    /// Skips a byte-order mark and leading whitespace, then tells NDJSON
    /// from an array. Whole blank lines skipped here are counted as blank
    /// NDJSON lines (an array file's leading whitespace is not a line).
    fn detect(&mut self, stats: &mut ReadStats) -> io::Result<()> {
        let head = self.inner.fill_buf()?;
        if head.starts_with(&[0xef, 0xbb, 0xbf]) {
            self.inner.consume(3);
        }
        let mut newlines = 0;
        loop {
            let chunk = self.inner.fill_buf()?;
            if chunk.is_empty() {
                // Empty or blank: no events; its lines were blank lines.
                self.account_blank(newlines, stats);
                self.done = true;
                return Ok(());
            }
            let n = chunk.iter().take_while(|&&b| is_ws(b)).count();
            newlines += chunk[..n].iter().filter(|&&b| b == b'\n').count() as u64;
            if n < chunk.len() {
                let first = chunk[n];
                self.inner.consume(n);
                stats.bytes += n as u64;
                if first == b'[' {
                    self.inner.consume(1);
                    stats.bytes += 1;
                    self.array = Some(Between::Element);
                } else {
                    self.account_blank(newlines, stats);
                }
                return Ok(());
            }
            let len = chunk.len();
            self.inner.consume(len);
            stats.bytes += len as u64;
        }
    }

    fn account_blank(&mut self, lines: u64, stats: &mut ReadStats) {
        self.count += lines;
        stats.units += lines;
        stats.blank += lines;
    }

    fn next(&mut self, buf: &mut Vec<u8>, stats: &mut ReadStats) -> io::Result<Step> {
        if self.done {
            return Ok(Step::End);
        }
        if self.array.is_some() {
            return self.next_element(buf, stats);
        }
        loop {
            self.inner.consume(std::mem::take(&mut self.pending));
            let chunk = self.inner.fill_buf()?;
            // A line inside the buffer is lent out in place; one that runs
            // past its end is gathered into `buf`.
            let (line, at) = match memchr::memchr(b'\n', chunk) {
                Some(i) => {
                    self.pending = i + 1;
                    stats.bytes += (i + 1) as u64;
                    (&chunk[..i], At::Buffer(i))
                }
                None => {
                    buf.clear();
                    let n = self.inner.read_until(b'\n', buf)?;
                    if n == 0 {
                        self.done = true;
                        return Ok(Step::End);
                    }
                    stats.bytes += n as u64;
                    (&buf[..], At::Copied)
                }
            };
            self.count += 1;
            stats.units += 1;
            let mut len = line.len();
            while len > 0 && matches!(line[len - 1], b'\n' | b'\r') {
                len -= 1;
            }
            if line[..len].iter().all(|&b| is_ws(b)) {
                stats.blank += 1;
                continue;
            }
            let at = match at {
                At::Buffer(_) => At::Buffer(len),
                At::Copied => {
                    buf.truncate(len);
                    At::Copied
                }
            };
            return Ok(Step::Event(Position::Line(self.count), at));
        }
    }

    /// Skips whitespace; returns the next byte without consuming it.
    fn peek_non_ws(&mut self, stats: &mut ReadStats) -> io::Result<Option<u8>> {
        loop {
            let chunk = self.inner.fill_buf()?;
            if chunk.is_empty() {
                return Ok(None);
            }
            let n = chunk.iter().take_while(|&&b| is_ws(b)).count();
            if n < chunk.len() {
                let b = chunk[n];
                self.inner.consume(n);
                stats.bytes += n as u64;
                return Ok(Some(b));
            }
            let len = chunk.len();
            self.inner.consume(len);
            stats.bytes += len as u64;
        }
    }

    fn next_element(&mut self, buf: &mut Vec<u8>, stats: &mut ReadStats) -> io::Result<Step> {
        loop {
            let state = self.array.unwrap_or(Between::Element);
            let next = self.count + 1;
            match (self.peek_non_ws(stats)?, state) {
                (None, _) => {
                    self.done = true;
                    return Ok(Step::Malformed(
                        Position::Element(next),
                        "unexpected end of input: the JSON array is not closed".into(),
                    ));
                }
                (Some(b']'), _) => {
                    self.inner.consume(1);
                    stats.bytes += 1;
                    self.done = true;
                    return Ok(match self.peek_non_ws(stats)? {
                        None => Step::End,
                        Some(_) => Step::Malformed(
                            Position::Element(next),
                            "trailing characters after the JSON array".into(),
                        ),
                    });
                }
                (Some(b','), Between::Separator) => {
                    self.inner.consume(1);
                    stats.bytes += 1;
                    self.array = Some(Between::Element);
                }
                (Some(b), Between::Separator) => {
                    self.done = true;
                    return Ok(Step::Malformed(
                        Position::Element(next),
                        format!(
                            "expected `,` or `]` after element {}, found {:?}",
                            self.count,
                            char::from(b)
                        ),
                    ));
                }
                (Some(_), Between::Element) => {
                    self.count += 1;
                    self.array = Some(Between::Separator);
                    let pos = Position::Element(self.count);
                    return Ok(if self.scan_element(buf, stats)? {
                        stats.units += 1;
                        Step::Event(pos, At::Copied)
                    } else {
                        self.done = true;
                        Step::Malformed(pos, "unexpected end of input inside the element".into())
                    });
                }
            }
        }
    }

    /// Copies one element into `buf`, stopping after its last byte.
    /// Returns false when the input ends inside it.
    fn scan_element(&mut self, buf: &mut Vec<u8>, stats: &mut ReadStats) -> io::Result<bool> {
        buf.clear();
        let mut depth = 0u32;
        let mut in_str = false;
        let mut esc = false;
        loop {
            let chunk = self.inner.fill_buf()?;
            if chunk.is_empty() {
                // A scalar may end at the end of input (then the array is
                // unclosed, which the next call reports).
                return Ok(!buf.is_empty() && depth == 0 && !in_str);
            }
            let mut end = None;
            for (i, &b) in chunk.iter().enumerate() {
                if in_str {
                    if esc {
                        esc = false;
                    } else if b == b'\\' {
                        esc = true;
                    } else if b == b'"' {
                        in_str = false;
                        if depth == 0 {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    continue;
                }
                match b {
                    b'"' => {
                        // A quote after scalar text at depth 0 starts
                        // something new: the scalar ended before it.
                        if depth == 0 && (i > 0 || !buf.is_empty()) {
                            end = Some(i);
                            break;
                        }
                        in_str = true;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        if depth == 0 {
                            end = Some(i);
                            break;
                        }
                        depth -= 1;
                        if depth == 0 {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    b',' if depth == 0 => {
                        end = Some(i);
                        break;
                    }
                    _ if depth == 0 && is_ws(b) => {
                        end = Some(i);
                        break;
                    }
                    _ => {}
                }
            }
            let take = end.unwrap_or(chunk.len());
            buf.extend_from_slice(&chunk[..take]);
            self.inner.consume(take);
            stats.bytes += take as u64;
            if end.is_some() {
                return Ok(true);
            }
        }
    }
}
