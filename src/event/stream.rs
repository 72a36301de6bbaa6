//! The bytes of one input, lent out in place.
//!
//! Plain event files are mapped into memory a window at a time, so their
//! bytes reach the scanner without being copied out of the page cache
//! first (that copy costs about a sixth of a one-thread run). Standard
//! input, compressed files and anything that cannot be mapped are read
//! through a buffer instead. Both give [`BufRead`]: a line inside the
//! current window or buffer is read where it lies.

use memmap2::{Mmap, MmapOptions};
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::ops::Deref;
use std::sync::Arc;

/// How much of a file is mapped at a time. The pages of the window count
/// towards the resident set, so it stays small; each new window is one
/// `mmap` call that also faults its pages in.
pub(super) const WINDOW: u64 = 4 << 20;

/// How many windows ahead of the one mapped the system is asked to start
/// reading the file into its page cache, so that the disk works while the
/// events already read are evaluated (mapping a window waits for what is
/// not cached yet, and on several threads the reader is held meanwhile).
const AHEAD: u64 = 4;

/// A window of a memory-mapped event file, shared by the events read
/// from it: other threads can read an event where it lies, without a copy.
/// Cloning is cheap; the window stays mapped while a clone lives.
#[derive(Clone)]
pub struct SharedBytes(Arc<Mmap>);

impl SharedBytes {
    /// Whether both are the same window.
    pub fn same(&self, other: &SharedBytes) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Deref for SharedBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SharedBytes {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "SharedBytes({} bytes)", self.len())
    }
}

/// One input's bytes.
pub(super) enum Stream {
    /// Read through a buffer.
    Buffered(BufReader<Box<dyn Read + Send>>),
    /// A regular file, mapped window by window.
    Mapped(Mapped),
}

impl Stream {
    /// The bytes read ahead and not yet consumed (what the last
    /// [`BufRead::fill_buf`] returned, less what was consumed since).
    pub(super) fn buffer(&self) -> &[u8] {
        match self {
            Stream::Buffered(b) => b.buffer(),
            Stream::Mapped(m) => m.rest(),
        }
    }

    /// For a mapped file: the current window and where [`Stream::buffer`]
    /// starts in it.
    pub(super) fn shared(&self) -> Option<(&SharedBytes, usize)> {
        match self {
            Stream::Buffered(_) => None,
            Stream::Mapped(m) => m.map.as_ref().map(|w| (w, m.pos)),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Buffered(b) => b.read(out),
            Stream::Mapped(m) => m.read(out),
        }
    }
}

impl BufRead for Stream {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match self {
            Stream::Buffered(b) => b.fill_buf(),
            Stream::Mapped(m) => m.fill_buf(),
        }
    }

    fn consume(&mut self, n: usize) {
        match self {
            Stream::Buffered(b) => b.consume(n),
            Stream::Mapped(m) => m.consume(n),
        }
    }
}

/// A regular file read through a moving memory map.
pub(super) struct Mapped {
    file: File,
    /// The file's length when opened: a file that grows meanwhile is read
    /// up to there.
    len: u64,
    /// The current window (`None` at the end).
    map: Option<SharedBytes>,
    /// The file offset of the window's first byte.
    start: u64,
    /// The read position in the window.
    pos: usize,
    /// The window size ([`WINDOW`] but in tests).
    window: u64,
}

impl Mapped {
    /// Maps `file`, `window` bytes at a time, when it is a regular,
    /// non-empty file; gives it back otherwise (a pipe, a device, or a file
    /// whose mapping fails). It is read up to the size it has now.
    pub(super) fn open(file: File, window: u64) -> Result<Mapped, File> {
        let len = match file.metadata() {
            Ok(m) if m.is_file() && m.len() > 0 => m.len(),
            _ => return Err(file),
        };
        let mut mapped = Mapped {
            file,
            len,
            map: None,
            start: 0,
            pos: 0,
            window,
        };
        // The windows before the first read-ahead one.
        read_ahead(&mapped.file, 0, AHEAD * window);
        match mapped.map_at(0) {
            Ok(()) => Ok(mapped),
            Err(_) => Err(mapped.file),
        }
    }

    /// Moves the window to start at file offset `at`.
    fn map_at(&mut self, at: u64) -> io::Result<()> {
        self.map = None;
        self.start = at;
        self.pos = 0;
        if at >= self.len {
            return Ok(());
        }
        // A file truncated since it was opened would raise SIGBUS where
        // its lost pages are read: it ends here instead. (One truncated
        // while a window of it is mapped still does; `--no-mmap` is safe.)
        let now = self.file.metadata()?.len();
        if now < self.len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "truncated to {now} bytes while being read (was {} when opened), at byte {at}; use --no-mmap to read files that may shrink during a run",
                    self.len
                ),
            ));
        }
        let size = (self.len - at).min(self.window) as usize;
        // SAFETY: the mapping is read-only and private, and it is only read
        // through the slices this reader lends out, which the borrow
        // checker keeps from outliving the window. What no program can
        // rule out is another process truncating the file while it is
        // mapped: reading the lost pages then raises SIGBUS. Like grep
        // tools that map files, ruleq accepts that for the files it is
        // asked to read; `--no-mmap` reads through a buffer instead.
        let map = unsafe {
            MmapOptions::new()
                .offset(at)
                .len(size)
                .populate()
                .map(&self.file)?
        };
        self.map = Some(SharedBytes(Arc::new(map)));
        let ahead = at + AHEAD * self.window;
        if ahead < self.len {
            read_ahead(&self.file, ahead, self.window);
        }
        Ok(())
    }

    /// The unread part of the window.
    fn rest(&self) -> &[u8] {
        self.map.as_deref().map_or(&[], |m| &m[self.pos..])
    }
}

/// Asks the system to start reading `len` bytes of `file` from `at` into
/// its page cache, without waiting for them: a hint, whose failure changes
/// nothing but speed.
#[cfg(target_os = "linux")]
fn read_ahead(file: &File, at: u64, len: u64) {
    use std::os::unix::io::AsRawFd;
    let (Ok(at), Ok(len)) = (libc::off_t::try_from(at), libc::off_t::try_from(len)) else {
        return;
    };
    // SAFETY: a hint about a descriptor this reader owns and keeps open;
    // the call reads and writes no memory of the process.
    unsafe {
        libc::posix_fadvise(file.as_raw_fd(), at, len, libc::POSIX_FADV_WILLNEED);
    }
}

/// Elsewhere the system's own read-ahead does.
#[cfg(not(target_os = "linux"))]
fn read_ahead(_file: &File, _at: u64, _len: u64) {}

impl Read for Mapped {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let rest = self.fill_buf()?;
        let n = rest.len().min(out.len());
        out[..n].copy_from_slice(&rest[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Mapped {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let window = self.map.as_deref().map_or(0, <[u8]>::len);
        if self.pos == window && self.start + (window as u64) < self.len {
            self.map_at(self.start + window as u64)?;
        }
        Ok(self.rest())
    }

    fn consume(&mut self, n: usize) {
        let window = self.map.as_deref().map_or(0, <[u8]>::len);
        self.pos = (self.pos + n).min(window);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Lines of many lengths, some longer than the window, so that lines
    /// start, end and run across window edges everywhere.
    fn sample() -> Vec<u8> {
        let mut text = Vec::new();
        for i in 0..400usize {
            let len = (i * 37) % 300 + if i % 50 == 7 { 700 } else { 0 };
            text.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, len));
            text.push(b'\n');
        }
        text.extend_from_slice(b"last line without a break");
        text
    }

    #[test]
    fn a_file_reads_the_same_through_small_windows() {
        let text = sample();
        let path = std::env::temp_dir().join(format!("ruleq-mapped-{}.ndjson", std::process::id()));
        std::fs::File::create(&path)
            .unwrap()
            .write_all(&text)
            .unwrap();
        for window in [1, 255, 256, 4096, 1 << 20] {
            let file = File::open(&path).unwrap();
            let Ok(mut mapped) = Mapped::open(file, window) else {
                panic!("a regular file maps");
            };
            // Whole lines as the event reader takes them: in place when
            // the window holds them, else gathered by read_until.
            let mut lines = Vec::new();
            let mut line = Vec::new();
            while mapped.read_until(b'\n', &mut line).unwrap() > 0 {
                lines.push(std::mem::take(&mut line));
            }
            assert_eq!(lines.concat(), text, "window {window}");
            assert_eq!(lines.len(), 401, "window {window}");
        }
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn empty_files_are_not_mapped() {
        let path = std::env::temp_dir().join(format!("ruleq-empty-{}.ndjson", std::process::id()));
        std::fs::File::create(&path).unwrap();
        assert!(Mapped::open(File::open(&path).unwrap(), WINDOW).is_err());
        std::fs::remove_file(&path).unwrap();
    }
}
