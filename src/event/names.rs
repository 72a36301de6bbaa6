//! The names events without `_id` go by in alert ids: their file's name
//! as given, and their line.

use super::Input;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// How an event without `_id` is named in its alerts (`kibana.alert.ancestors`
/// and so every alert id): its file's path relative to the folder named on
/// the command line, or the file's name when the file itself was named,
/// then `:` and its line. The same files give the same ids however their
/// paths are spelled (`./x.ndjson`, an absolute path) and wherever they lie.
pub struct FileNames {
    inputs: Vec<Input>,
    /// Whether a path is its own name (a distributed run's stages name
    /// events by the names the driver gives).
    verbatim: bool,
}

impl FileNames {
    /// Names for the files of `inputs`.
    pub fn new(inputs: &[Input]) -> FileNames {
        FileNames {
            inputs: inputs.to_vec(),
            verbatim: false,
        }
    }

    /// Names that are the paths as written (each path given is the name
    /// `ruleq run` gave the file: a distributed run's stages).
    pub fn verbatim() -> FileNames {
        FileNames {
            inputs: Vec::new(),
            verbatim: true,
        }
    }

    /// The name of `path`, a file read from these inputs.
    pub fn name(&self, path: &Path) -> String {
        if self.verbatim {
            return path.to_string_lossy().into_owned();
        }
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
