//! Malformed events reported as a run meets them, bounded per file.

use super::{Malformed, Position};
use std::collections::HashMap;
use std::path::PathBuf;

/// How many malformed events are reported one by one per file; the rest
/// are counted.
pub const REPORTED_PER_FILE: usize = 20;

/// Reports malformed events on stderr: the first [`REPORTED_PER_FILE`] of
/// each file with their line and reason, then (at [`Reporter::finish`]) one
/// line per file with the count of the rest.
#[derive(Default)]
pub struct Reporter {
    /// Per file: malformed events seen, in the order files first had one.
    seen: Vec<(PathBuf, u64)>,
    index: HashMap<PathBuf, usize>,
    /// When the input is a share of a file: the file's name and the line,
    /// in the file, of the share's first line.
    share: Option<(PathBuf, u64)>,
}

impl Reporter {
    /// A reporter for a share of a file (a distributed run's map stage):
    /// its malformed events are reported under the file's `name`, at their
    /// line in the whole file (the share starts at line `first_line`).
    pub fn for_share(name: PathBuf, first_line: u64) -> Self {
        Reporter {
            share: Some((name, first_line)),
            ..Reporter::default()
        }
    }

    /// Reports (or counts) one malformed event.
    pub fn report(&mut self, m: &Malformed) {
        let at = match self.index.get(&m.path) {
            Some(&at) => at,
            None => {
                self.index.insert(m.path.clone(), self.seen.len());
                self.seen.push((m.path.clone(), 0));
                self.seen.len() - 1
            }
        };
        let seen = &mut self.seen[at].1;
        *seen += 1;
        if *seen <= REPORTED_PER_FILE as u64 {
            match &self.share {
                Some((name, first)) => {
                    let mut whole = m.clone();
                    whole.path = name.clone();
                    let shift = |n: u64| n.saturating_add(*first).saturating_sub(1);
                    if let Position::Line(n) = m.pos {
                        whole.pos = Position::Line(shift(n));
                        // The reader's "... at line N" of a stream value
                        // (serde_json's messages give a column too).
                        if let Some((why, n)) = m.message.rsplit_once(" at line ") {
                            if let Ok(n) = n.parse::<u64>() {
                                whole.message = format!("{why} at line {}", shift(n));
                            }
                        }
                    }
                    eprintln!("{whole}");
                }
                None => eprintln!("{m}"),
            }
        }
    }

    /// The malformed events reported or counted so far.
    pub fn total(&self) -> u64 {
        self.seen.iter().map(|(_, n)| n).sum()
    }

    /// Prints, per file, how many malformed events were not shown.
    pub fn finish(&self) {
        for (path, n) in &self.seen {
            let path = self.share.as_ref().map_or(path, |(name, _)| name);
            let rest = n.saturating_sub(REPORTED_PER_FILE as u64);
            if rest > 0 {
                eprintln!(
                    "{}: {rest} more malformed events not shown ({n} in this file)",
                    path.display()
                );
            }
        }
    }
}
