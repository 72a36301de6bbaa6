//! The event inputs named on the command line, shared by the commands that
//! read events: which inputs (`-` is standard input).

use ruleq::event::Input;
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
