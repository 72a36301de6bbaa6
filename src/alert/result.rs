//! The alert documents of a rule's results: each matching event named
//! (its `_id`, else its file and line) and built from its text when that
//! is canonical, else from its source read into a map (the same document).

use super::{Alert, Context, OwnedSource, SourceText};
use crate::engine::{Hit, Origin, Output};
use crate::event::FileNames;
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::path::PathBuf;

thread_local! {
    /// While recording ([`record_shown`]): the events that alerts built on
    /// this thread show without their text at hand.
    static SHOWN: RefCell<Option<Vec<Origin>>> = const { RefCell::new(None) };
}

/// Starts recording, on this thread, the events whose alerts are built
/// while their hits hold no text (a distributed run's reduce over records
/// that left the text out: [`crate::detect::stage`]).
pub fn record_shown() {
    SHOWN.with(|s| *s.borrow_mut() = Some(Vec::new()));
}

/// Stops recording; the events recorded, in the order their alerts were
/// built (repeats included).
pub fn take_shown() -> Vec<Origin> {
    SHOWN.with(|s| s.borrow_mut().take().unwrap_or_default())
}

/// The id a result's documents are known by: the last one's (the shell's
/// for a sequence).
pub fn result_key(docs: &[Alert]) -> String {
    docs.last().map(|d| d.uuid.clone()).unwrap_or_default()
}

/// The alert documents of one result, and its original time.
pub fn result_alerts(ctx: &Context, out: &Output, naming: &Naming) -> (Option<i64>, Vec<Alert>) {
    let group = |hits: Vec<&Hit>| {
        let time = hits.first().and_then(|h| h.timestamp);
        let mut identities: Vec<Identity> = hits.iter().map(|h| Identity::of(h, naming)).collect();
        let texts: Option<Vec<&str>> = hits
            .iter()
            .map(|h| std::str::from_utf8(&h.source).ok())
            .collect();
        if let Some(texts) = texts {
            let views: Vec<SourceText> = identities
                .into_iter()
                .zip(texts)
                .map(|(identity, text)| identity.with_text(text))
                .collect();
            if let Some(docs) = ctx.sequence_alerts_text(&views) {
                return (time, docs);
            }
            identities = views.into_iter().map(Identity::from).collect();
        }
        let owned: Vec<_> = hits
            .iter()
            .zip(identities)
            .map(|(h, identity)| read_source(h, identity))
            .collect();
        (time, ctx.sequence_alerts_owned(owned))
    };
    match out {
        Output::Event(hit) => (hit.timestamp, vec![event_alert(ctx, hit, naming)]),
        Output::Sequence { events, .. } => group(events.iter().flatten().collect()),
        // A sample's events form one group, as a sequence's do.
        Output::Sample { events, .. } => group(events.iter().collect()),
    }
}

/// The alert of a matching event: written from its text when that is
/// canonical, else from its source read into a map (the same document).
pub fn event_alert(ctx: &Context, hit: &Hit, naming: &Naming) -> Alert {
    let mut identity = Identity::of(hit, naming);
    if let Ok(text) = std::str::from_utf8(&hit.source) {
        let view = identity.with_text(text);
        if let Some(alert) = ctx.event_alert_text(&view) {
            return alert;
        }
        identity = Identity::from(view);
    }
    ctx.event_alert_owned(read_source(hit, identity))
}

/// A matching event's source read into a map, named as its alerts name
/// it (for executors that read or add fields before the alert is built).
pub fn read_event(hit: &Hit, naming: &Naming) -> OwnedSource {
    read_source(hit, Identity::of(hit, naming))
}

/// What names events in their alerts: the event files read so far (an
/// [`Origin`](crate::engine::Origin)'s `file` indexes them), their names,
/// and the index of events without `_index`.
pub struct Naming<'a> {
    files: &'a [PathBuf],
    names: &'a FileNames,
    default_index: Option<&'a str>,
}

impl<'a> Naming<'a> {
    /// Names for events of `files` (what an origin's `file` indexes), as
    /// `names` calls them, in `default_index` unless they give theirs.
    pub fn new(files: &'a [PathBuf], names: &'a FileNames, default_index: Option<&'a str>) -> Self {
        Naming {
            files,
            names,
            default_index,
        }
    }
}

/// What names a matching event in its alerts.
struct Identity {
    id: String,
    index: Option<String>,
}

impl Identity {
    /// The hit's identity (`_id`, else its file's name and line: see
    /// [`FileNames`]) and index.
    fn of(hit: &Hit, naming: &Naming) -> Identity {
        if hit.source.is_empty() {
            SHOWN.with(|s| {
                if let Some(shown) = s.borrow_mut().as_mut() {
                    shown.push(hit.origin.clone());
                }
            });
        }
        let id = match hit.id() {
            Some(id) => id.to_string(),
            None => {
                let file = naming
                    .files
                    .get(hit.origin.file)
                    .map(|p| naming.names.name(p))
                    .unwrap_or_default();
                format!("{file}:{}", hit.origin.line)
            }
        };
        Identity {
            id,
            index: hit.index().or(naming.default_index).map(str::to_string),
        }
    }

    /// The event as written, named by this identity.
    fn with_text(self, text: &str) -> SourceText<'_> {
        SourceText {
            id: self.id,
            index: self.index,
            text,
        }
    }
}

impl From<SourceText<'_>> for Identity {
    /// The identity back from an event as written.
    fn from(t: SourceText) -> Identity {
        Identity {
            id: t.id,
            index: t.index,
        }
    }
}

/// A matching event's source read into a map, under its identity, as
/// its alerts take it.
fn read_source(hit: &Hit, identity: Identity) -> OwnedSource {
    let mut source: Map<String, Value> = serde_json::from_slice(&hit.source).unwrap_or_default();
    // Top-level `_id` and `_index` of a plain event are metadata, as in a
    // hit; they do not become alert fields.
    source.shift_remove("_id");
    source.shift_remove("_index");
    OwnedSource {
        id: identity.id,
        index: identity.index,
        source,
    }
}
