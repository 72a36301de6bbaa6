//! The event inputs named on the command line, shared by the commands that
//! read events: which inputs (`-` is standard input), how alert ids name
//! their files, and how malformed events are reported.

use ruleq::event::{Input, Malformed};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The inputs for event arguments: each path a file or folder, `-`
/// standard input; none at all is standard input too. `-` given twice is
/// a usage error (standard input can be read once).
pub fn event_inputs(events: &[PathBuf]) -> Result<Vec<Input>, String> {
    if events.is_empty() {
        return Ok(vec![Input::Stdin]);
    }
    let stdin = Path::new("-");
    if events.iter().filter(|p| p.as_path() == stdin).count() > 1 {
        return Err("`-` (standard input) is given more than once".into());
    }
    Ok(events
        .iter()
        .map(|p| match p.as_path() == stdin {
            true => Input::Stdin,
            false => Input::Path(p.clone()),
        })
        .collect())
}

/// How an event without `_id` is named in its alerts (`kibana.alert.ancestors`
/// and so every alert id): its file's path relative to the folder named on
/// the command line, or the file's name when the file itself was named,
/// then `:` and its line. The same files give the same ids however their
/// paths are spelled (`./x.ndjson`, an absolute path) and wherever they lie.
pub struct FileNames {
    inputs: Vec<Input>,
}

impl FileNames {
    /// Names for the files of `inputs`.
    pub fn new(inputs: &[Input]) -> FileNames {
        FileNames {
            inputs: inputs.to_vec(),
        }
    }

    /// The name of `path`, a file read from these inputs.
    pub fn name(&self, path: &Path) -> String {
        let slashed = |p: &Path| {
            p.components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/")
        };
        let file_name = || {
            path.file_name()
                .map_or_else(|| slashed(path), |n| n.to_string_lossy().into_owned())
        };
        let named = |input: &Input| matches!(input, Input::Path(p) if p == path);
        if self.inputs.iter().any(named) {
            return file_name();
        }
        for input in &self.inputs {
            if let Input::Path(folder) = input {
                if let Ok(inner) = path.strip_prefix(folder) {
                    if !inner.as_os_str().is_empty() {
                        return slashed(inner);
                    }
                }
            }
        }
        // Standard input (`<stdin>`), or a file found some other way.
        file_name()
    }

    /// The names two or more of `files` share, each with those files: their
    /// events without `_id` would share alert ids.
    pub fn clashes<'f>(&self, files: &'f [PathBuf]) -> Vec<(String, Vec<&'f Path>)> {
        let mut by_name: HashMap<String, Vec<&Path>> = HashMap::new();
        let mut order = Vec::new();
        for file in files {
            let name = self.name(file);
            let list = by_name.entry(name.clone()).or_default();
            if list.is_empty() {
                order.push(name);
            }
            if !list.contains(&file.as_path()) {
                list.push(file);
            }
        }
        order
            .into_iter()
            .filter_map(|name| {
                let list = by_name.remove(&name)?;
                (list.len() > 1).then_some((name, list))
            })
            .collect()
    }
}
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
