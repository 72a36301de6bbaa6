//! Alert documents put in output order with bounded memory: documents are
//! held serialized, and when they pass a memory budget the sorted batch is
//! written to a temporary file (a run); at the end the runs and the last
//! batch are merged.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;

/// The output order of one document: original time, rule id, the id of
/// the result it belongs to, its place in that result.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Order {
    /// Original event time in nanoseconds (`i64::MIN` when unknown).
    pub time: i64,
    /// The rule's `rule_id`.
    pub rule: String,
    /// The id the result's documents share.
    pub result: String,
    /// The document's place in its result.
    pub pos: usize,
}

/// One serialized alert document and its place: its own part, and which
/// of the shared parts completes it.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    order: Order,
    doc: String,
    shared: u32,
}

/// A run's alert documents, put in output order: held serialized, sorted
/// runs spilled to temporary files past a memory budget.
pub struct Alerts {
    /// The parts many documents share (an execution's fixed fields).
    shared: Vec<String>,
    batch: Vec<Entry>,
    bytes: usize,
    budget: usize,
    runs: Vec<PathBuf>,
    /// Documents taken in all.
    pub count: usize,
}

impl Alerts {
    /// A sorter holding at most about `budget` bytes of documents.
    pub fn new(budget: usize) -> Self {
        Alerts {
            shared: Vec::new(),
            batch: Vec::new(),
            bytes: 0,
            budget,
            runs: Vec::new(),
            count: 0,
        }
    }

    /// Holds a part documents share; returns its number for
    /// [`Alerts::push`].
    pub fn share(&mut self, part: String) -> u32 {
        // Shared parts stay in memory: they do not count toward the budget
        // of documents waiting to be spilled.
        self.shared.push(part);
        (self.shared.len() - 1) as u32
    }

    /// Takes one document: its own part (one line of text) and the number
    /// of the shared part that completes it.
    pub fn push(&mut self, order: Order, doc: String, shared: u32) -> io::Result<()> {
        // Documents are built in growing buffers: held, they take only
        // their length (the budget counts lengths), at the cost of a copy.
        let doc = if doc.capacity() > doc.len() + doc.len() / 8 {
            doc.as_str().to_owned()
        } else {
            doc
        };
        self.bytes += doc.len() + order.rule.len() + order.result.len() + 64;
        self.batch.push(Entry { order, doc, shared });
        self.count += 1;
        if self.bytes > self.budget {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> io::Result<()> {
        self.batch.sort_unstable();
        let path = std::env::temp_dir().join(format!(
            "ruleq-alerts-{}-{}.run",
            std::process::id(),
            self.runs.len()
        ));
        // Documents are kilobytes each: a small buffer would pass most of
        // them to the system one write at a time.
        let mut out = BufWriter::with_capacity(1 << 20, File::create(&path)?);
        self.runs.push(path);
        for e in self.batch.drain(..) {
            let o = &e.order;
            let rule = serde_json::to_string(&o.rule)?;
            writeln!(
                out,
                "{}\t{}\t{}\t{}\t{}\t{}",
                o.time, o.pos, e.shared, rule, o.result, e.doc
            )?;
        }
        out.flush()?;
        self.bytes = 0;
        Ok(())
    }

    /// Every document in order, to `each`, whole.
    pub fn finish(self, mut each: impl FnMut(&str) -> io::Result<()>) -> io::Result<()> {
        let mut document = String::new();
        self.finish_parts(|own, fixed| {
            document.clear();
            crate::alert::join(own, fixed, |part| document.push_str(part));
            each(&document)
        })
    }

    /// Every document in order, to `each` in two parts: its own, and the
    /// shared one that completes it (see [`crate::alert::join`]), so that
    /// a writer need not join them.
    pub fn finish_parts(
        mut self,
        mut each: impl FnMut(&str, &str) -> io::Result<()>,
    ) -> io::Result<()> {
        self.batch.sort_unstable();
        let shared = std::mem::take(&mut self.shared);
        let part = |n: u32| shared.get(n as usize).map_or("", String::as_str);
        if self.runs.is_empty() {
            for e in &self.batch {
                each(&e.doc, part(e.shared))?;
            }
            return Ok(());
        }
        // Merge: the heap holds the head of every run and of the batch
        // (source index usize::MAX).
        let mut readers = Vec::with_capacity(self.runs.len());
        for path in &self.runs {
            readers.push(BufReader::with_capacity(1 << 16, File::open(path)?).lines());
        }
        let mut heap: BinaryHeap<Reverse<(Entry, usize)>> = BinaryHeap::new();
        for (i, r) in readers.iter_mut().enumerate() {
            if let Some(e) = read_entry(r)? {
                heap.push(Reverse((e, i)));
            }
        }
        let mut batch = std::mem::take(&mut self.batch).into_iter();
        if let Some(e) = batch.next() {
            heap.push(Reverse((e, usize::MAX)));
        }
        while let Some(Reverse((e, i))) = heap.pop() {
            each(&e.doc, part(e.shared))?;
            let next = if i == usize::MAX {
                batch.next()
            } else {
                read_entry(&mut readers[i])?
            };
            if let Some(n) = next {
                heap.push(Reverse((n, i)));
            }
        }
        Ok(())
    }
}

impl Drop for Alerts {
    fn drop(&mut self) {
        for path in &self.runs {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn bad_run(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("alert run file: {what}"),
    )
}

fn read_entry(lines: &mut io::Lines<BufReader<File>>) -> io::Result<Option<Entry>> {
    let Some(line) = lines.next().transpose()? else {
        return Ok(None);
    };
    let mut parts = line.splitn(6, '\t');
    let mut next = |what| parts.next().ok_or_else(|| bad_run(what));
    let time = next("time")?.parse().map_err(|_| bad_run("time"))?;
    let pos = next("position")?.parse().map_err(|_| bad_run("position"))?;
    let shared = next("shared part")?
        .parse()
        .map_err(|_| bad_run("shared part"))?;
    let rule: String = serde_json::from_str(next("rule")?)?;
    let result = next("result")?.to_string();
    let doc = next("document")?.to_string();
    Ok(Some(Entry {
        order: Order {
            time,
            rule,
            result,
            pos,
        },
        doc,
        shared,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(budget: usize) -> (Vec<String>, usize) {
        let mut s = Alerts::new(budget);
        let tail = s.share("\"k\":1}".into());
        // Times out of order, rules and positions tied on time.
        for i in 0..500u64 {
            let time = ((i * 7919) % 97) as i64;
            let order = Order {
                time,
                rule: format!("rule\t{}", i % 3),
                result: format!("{:04}", i % 11),
                pos: (i % 2) as usize,
            };
            s.push(order, format!("{{\"n\":{i},\"t\":{time},"), tail)
                .unwrap();
        }
        let runs = s.runs.len();
        let mut out = Vec::new();
        s.finish_parts(|own, shared| {
            out.push(format!("{own}{shared}"));
            Ok(())
        })
        .unwrap();
        (out, runs)
    }

    #[test]
    fn spilled_runs_merge_to_the_in_memory_order() {
        let (memory, no_runs) = sorted(usize::MAX);
        let (spilled, runs) = sorted(2_000);
        assert_eq!(no_runs, 0);
        assert!(runs > 5, "{runs} runs");
        assert_eq!(memory.len(), 500);
        assert!(
            memory.iter().all(|d| d.ends_with(",\"k\":1}")),
            "{memory:?}"
        );
        assert_eq!(spilled, memory);
    }
}
