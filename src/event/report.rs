//! Malformed events reported as a run meets them, bounded per file.

use super::Malformed;
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
}

impl Reporter {
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
            eprintln!("{m}");
        }
    }

    /// The malformed events reported or counted so far.
    pub fn total(&self) -> u64 {
        self.seen.iter().map(|(_, n)| n).sum()
    }

    /// Prints, per file, how many malformed events were not shown.
    pub fn finish(&self) {
        for (path, n) in &self.seen {
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
