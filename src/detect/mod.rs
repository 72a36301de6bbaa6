//! Rule execution: the layer between [`crate::engine`] (queries over a
//! stream of events) and the command line. Kibana's `rule_types/` is the
//! model:
//!
//! - [`select`]: which rules run, and why the others do not;
//! - [`executor`]: what differs between rule types, one file each;
//! - [`schedule`]: executions and their windows;
//! - [`persist`]: de-duplication by id, then `max_signals`, with the state
//!   a rule carries from one execution to the next;
//! - the pass over the events (on any number of threads) and the alert
//!   documents in output order.
//!
//! Alert documents themselves are built in [`crate::alert`].
//!
//! # Example
//!
//! Load rule files, run them over events, iterate over the alert documents:
//!
//! ```
//! use ruleq::detect::{load_rules, Config, Detector, Feedback};
//! use ruleq::event::{EventSource, FileNames, Input};
//!
//! // The bundled rules, over the bundled example events.
//! let files = load_rules(&["rules".into()]).expect("rule files load");
//! let config = Config {
//!     now: ruleq::compile::date::parse_iso("2024-06-01T00:00:00Z").unwrap().lo,
//!     ..Config::default()
//! };
//! let detector = Detector::new(files, config);
//! assert_eq!(detector.selection().selected.len(), 5);
//!
//! let inputs = [Input::Path("examples/telnet-events.ndjson".into())];
//! let source = EventSource::new(&inputs).expect("the events open");
//! let names = FileNames::new(&inputs);
//! let outcome = detector.pass(source, &names, &Feedback::quiet()).finish();
//! assert_eq!(outcome.read, 28);
//!
//! let mut rules = Vec::new();
//! outcome
//!     .alerts
//!     .finish(|document| {
//!         let alert: serde_json::Value = serde_json::from_str(document)?;
//!         rules.push(alert["kibana.alert.rule.name"].as_str().unwrap().to_string());
//!         Ok(())
//!     })
//!     .expect("alerts are written");
//! assert_eq!(rules.len(), 22);
//! assert!(rules.contains(&"Telnet Port Activity".to_string()));
//! ```

pub mod executor;
mod pass;
pub mod persist;
pub mod schedule;
pub mod select;
mod sorter;
pub mod stage;
pub mod suppress;
pub mod window;

pub use pass::Feedback;
pub use select::{rule_name, Selected, Selection};
pub use sorter::Alerts;

use crate::alert::{event_alert, result_key, Alert, Context, Naming};
use crate::compile::date::format_iso;
use crate::engine::{Kept, Matches, Origin, QueryOptions, MAX_PARTIALS};
use crate::event::{EventSource, FileNames};
use crate::exceptions::Exceptions;
use crate::indicators::{Indicators, ThreatRule};
use crate::mapping::Mapping;
use crate::rule::{self, RuleFile};
use persist::{Persist, RuleState};
use schedule::{Replay, Schedule};
use sorter::Order;
use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use suppress::{Grouper, Kind, Suppression};
use window::{Ran, Windows, Written};

/// Serialized alert documents held before output, in bytes: beyond it they
/// go to sorted temporary files.
const ALERT_BUDGET: usize = 32 << 20;

/// How rules run.
#[derive(Debug, Clone)]
pub struct Config {
    /// The execution time, in nanoseconds since the epoch (Kibana writes
    /// it into each alert's `@timestamp`; KQL date math counts from it).
    pub now: i64,
    /// The index mapping: field types, aliases, constant keywords.
    pub mapping: Option<Mapping>,
    /// The partial sequences one rule holds at most.
    pub max_partials: usize,
    /// Which executions run.
    pub executions: Executions,
    /// Whether a sequence without `maxspan` is bounded by the rule's
    /// look-back window (`from`..`to`), as no execution of the rule sees a
    /// longer one whole. `ruleq run` bounds it; `ruleq test`'s
    /// `execution = "all"` does not.
    pub bound_by_look_back: bool,
    /// Threads evaluating rules (1: all on the calling thread). The output
    /// is the same whatever the count.
    pub threads: usize,
    /// The index of events without `_index`.
    pub default_index: Option<String>,
    /// The exception lists and value lists given (`--exceptions`,
    /// `--value-list`); their items' expiry is judged at `now`.
    pub exceptions: Exceptions,
    /// Whether to tell which events each threshold alert's group holds
    /// ([`Outcome::groups`]: `ruleq test` asserts them).
    pub group_events: bool,
    /// The saved-object id of rules that do not carry one (`--saved-object-id`
    /// for a single rule): with it, threshold alerts get Kibana's own ids.
    pub saved_object_id: Option<String>,
    /// The indicators indicator match rules match events against
    /// (`--indicators`).
    pub indicators: Arc<Indicators>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            now: crate::engine::now_nanos(),
            mapping: None,
            max_partials: MAX_PARTIALS,
            executions: Executions::Single,
            bound_by_look_back: true,
            threads: 1,
            default_index: None,
            group_events: false,
            exceptions: Exceptions::default(),
            saved_object_id: None,
            indicators: Arc::default(),
        }
    }
}

/// Which executions of each rule a run makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Executions {
    /// One execution over all the input, without a window or a cap (what
    /// `ruleq run` does by default).
    Single,
    /// Kibana's schedule replayed (`ruleq run --schedule`): an execution
    /// every rule `interval` (at whole multiples of it since the epoch)
    /// whose window holds a match, each capped at `max_signals`, results an
    /// earlier execution wrote not written again.
    Schedule,
    /// One execution at this time (nanoseconds since the epoch), over the
    /// rule's window around it, capped at `max_signals`.
    At(i64),
}

impl Executions {
    /// Whether results are kept for executions over time windows.
    fn windowed(self) -> bool {
        self != Executions::Single
    }
}

/// Reads the rule files under `paths` (files and folders), on all cores,
/// in path order. A file that cannot be read is an error naming it.
pub fn load_rules(paths: &[PathBuf]) -> Result<Vec<RuleFile>, String> {
    let paths = rule::collect_paths(paths).map_err(|e| e.to_string())?;
    let loaded = crate::par::map(&paths, |p| rule::load_file(p));
    paths
        .iter()
        .zip(loaded)
        .map(|(path, file)| file.map_err(|e| format!("{}: {e}", path.display())))
        .collect()
}

/// Rules ready to run over events.
pub struct Detector {
    config: Config,
    selection: Selection,
    /// Per rule that runs: the records of history-only events
    /// ([`Detector::read_history`]), taken by its executions.
    history: std::sync::Mutex<Vec<Vec<window::Record>>>,
    /// The mapping's constant keywords (path, value), which Kibana merges
    /// from a hit's `fields` into alert sources that lack them.
    constants: Arc<[(String, String)]>,
    /// Per rule that runs: an indicator match rule's selection and
    /// matching (or why it has none).
    threats: Vec<Option<Result<ThreatRule, String>>>,
}

impl Detector {
    /// Checks `files` and compiles the rules that run.
    pub fn new(files: Vec<RuleFile>, config: Config) -> Self {
        let options = QueryOptions {
            now: config.now,
            mapping: config.mapping.clone(),
            max_partials: config.max_partials,
            ..QueryOptions::default()
        };
        let exceptions = Exceptions {
            now: config.now,
            schedule: config.executions == Executions::Schedule,
            ..config.exceptions.clone()
        };
        let selection = Selection::new(
            files,
            config.mapping.as_ref(),
            &options,
            config.bound_by_look_back,
            &exceptions,
        );
        let constants = config
            .mapping
            .iter()
            .flat_map(|m| m.constants())
            .map(|(path, value)| (path.to_string(), value.to_string()))
            .collect();
        let history = std::sync::Mutex::new(vec![Vec::new(); selection.selected.len()]);
        let threats = selection
            .selected
            .iter()
            .map(|s| {
                let rule = selection.rule(s);
                ThreatRule::of(rule, exceptions.for_rule(rule).filter)
            })
            .collect();
        Detector {
            config,
            selection,
            history,
            constants,
            threats,
        }
    }

    /// Reads events that only feed the history of the rules that keep one
    /// (new_terms' history windows, `--history`): they raise no alert, and
    /// no other rule sees them. Malformed ones are reported as in a pass.
    /// Call before [`Detector::pass`].
    pub fn read_history(&mut self, source: EventSource, feedback: &Feedback) -> HistoryRead {
        let selected = &self.selection.selected;
        let mut by_query: Vec<Option<usize>> = vec![None; self.selection.set.queries.len()];
        for (i, s) in selected.iter().enumerate() {
            let keeps = s
                .executor
                .history(self.selection.rule(s))
                .is_ok_and(|h| h.is_some());
            if keeps {
                by_query[s.query] = Some(i);
            }
        }
        let mut records: Vec<Vec<window::Record>> = vec![Vec::new(); selected.len()];
        let prepare = |q: usize, kept: &Kept, _: &[PathBuf]| -> Option<pass::Prepared> {
            let i = by_query[q]?;
            let s = &selected[i];
            let record = s.executor.record(self.selection.rule(s), kept);
            Some(pass::Prepared::Record(record.map(Box::new)))
        };
        let mut sink = |q: usize, ready: pass::Ready, _: &[PathBuf]| {
            if let (Some(i), pass::Ready::Prepared(pass::Prepared::Record(Some(r)))) =
                (by_query[q], ready)
            {
                records[i].push(*r);
            }
        };
        let pass = pass::run(
            &self.selection.set,
            source,
            self.config.threads.max(1),
            self.config.default_index.clone(),
            feedback,
            pass::Collect::Stream {
                prepare: &prepare,
                sink: &mut sink,
                every: false,
            },
        );
        let read = HistoryRead {
            read: pass.read,
            malformed: pass.malformed,
            io_failed: pass.io_failed,
            rules: records.iter().filter(|r| !r.is_empty()).count(),
        };
        let history = self.history.get_mut().unwrap_or_else(|e| e.into_inner());
        for (mine, more) in history.iter_mut().zip(records) {
            mine.extend(more);
        }
        read
    }

    /// The rules (as [`Selection::selected`]) that one execution over all
    /// the input leaves with more results than their `max_signals`, given
    /// their results `counts`: (rule, results, max_signals). None with a
    /// schedule (its executions apply the cap), nor for the rules that
    /// always run their schedule.
    pub fn over_cap(&self, counts: &[usize]) -> Vec<(usize, usize, usize)> {
        if self.config.executions.windowed() {
            return Vec::new();
        }
        let selection = &self.selection;
        selection
            .selected
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.executor.windowed())
            .filter_map(|(i, s)| {
                let (n, cap) = (*counts.get(i)?, max_signals(selection.rule(s)));
                (n > cap).then_some((i, n, cap))
            })
            .collect()
    }

    /// The indicators indicator match rules match events against.
    pub fn indicators(&self) -> &Indicators {
        &self.config.indicators
    }

    /// Which rules run, which do not and why.
    pub fn selection(&self) -> &Selection {
        &self.selection
    }

    /// Rule `i`'s indicator match, when it is an indicator match rule that
    /// can run.
    fn threat(&self, i: usize) -> Option<&ThreatRule> {
        self.threats.get(i)?.as_ref()?.as_ref().ok()
    }

    /// Where rule `i`'s lead values sit among the values its events carry:
    /// after a suppressed rule's `group_by` values.
    fn lead_skip(&self, i: usize) -> usize {
        self.suppression(i).map_or(0, |(s, _)| s.group_by.len())
    }

    /// Whether an indicator `m` holds may match indicator match rule `i`'s
    /// kept event (`false`: none does), from the lead values it carries
    /// after `skip` others.
    fn may_match(
        &self,
        i: usize,
        skip: usize,
        kept: &Kept,
        m: &crate::indicators::Matcher,
    ) -> bool {
        let Some(t) = self.threat(i) else {
            return true;
        };
        let fields = t.lead_fields();
        let values: Vec<Vec<serde_json::Value>> = (0..fields.len())
            .map(|k| window::carried(kept, skip + k))
            .collect();
        !m.is_empty() && m.may_match(fields, &values)
    }

    /// The notes on indicator match rules: (what, rule name) for each rule
    /// that had no indicator (none given searches its `threat_index`), or
    /// whose `threat_query` date math left none at some execution.
    pub fn threat_notes(&self) -> Vec<(String, String)> {
        let mut notes = Vec::new();
        for (s, t) in self.selection.selected.iter().zip(&self.threats) {
            let name = rule_name(self.selection.rule(s)).to_string();
            match t {
                None => {}
                Some(Err(why)) => {
                    notes.push((format!("indicator match rules not matched ({why})"), name))
                }
                Some(Ok(t)) => {
                    if t.searched(&self.config.indicators) == 0 {
                        notes.push((
                            format!(
                                "indicator match rules without indicators: no --indicators document is in their threat_index {}",
                                t.threat_index()
                            ),
                            name,
                        ));
                    } else if let Some(at) = t.emptied_at() {
                        notes.push((
                            format!(
                                "indicator match rules whose threat_query date math selected no indicator at an execution time ({}): replaying old data, give --now near the indicators' time",
                                format_iso(at, false)
                            ),
                            name,
                        ));
                    }
                }
            }
        }
        notes
    }

    /// The alert context of rule `s` for an execution at `time`.
    fn context(&self, s: &Selected, time: String) -> Context<'_> {
        Context::new(self.selection.rule(s), time).with_constants(self.constants.clone())
    }

    /// Runs the rules over `source` in one pass. Without a schedule, each
    /// result becomes its alerts as soon as it is final (event queries'
    /// matches on the worker threads); with one, the matches are kept for
    /// [`Passed::finish`] to replay the executions over.
    pub fn pass<'d>(
        &'d self,
        source: EventSource,
        names: &'d FileNames,
        feedback: &Feedback,
    ) -> Passed<'d> {
        self.pass_from(Input::Events(Box::new(source)), names, feedback, None)
    }

    /// The map stage of a distributed run ([`stage`]) over `source`, a
    /// share of the input that `split` names: the alerts of the rules
    /// whose alerts depend on no other event go to the outcome, as in
    /// [`Detector::pass`]; every other rule's candidate records go to
    /// `out`, one [`stage::Routed`] line each (tagged [`stage::RECORD`],
    /// with its partition).
    pub fn map<'d>(
        &'d self,
        source: EventSource,
        names: &'d FileNames,
        split: &stage::Split,
        feedback: &Feedback,
        out: &mut dyn FnMut(&str),
    ) -> Passed<'d> {
        stage::forget_texts();
        self.pass_from(
            Input::Events(Box::new(source)),
            names,
            feedback,
            Some((split, out)),
        )
    }

    /// The reduce stage of a distributed run ([`stage`]): the rules over
    /// the candidate records map stages routed to some partitions, in any
    /// order; `names` should be [`FileNames::verbatim`]. An error when a
    /// record names a query of another rule (the stages ran other rules).
    pub fn reduce<'d>(
        &'d self,
        records: Vec<stage::Routed>,
        names: &'d FileNames,
        feedback: &Feedback,
    ) -> Result<Passed<'d>, String> {
        let selected = &self.selection.selected;
        let mut by_query: Vec<Option<usize>> = vec![None; self.selection.set.queries.len()];
        for (i, s) in selected.iter().enumerate() {
            by_query[s.query] = Some(i);
        }
        let mut files: Vec<PathBuf> = Vec::new();
        let mut kept = Vec::with_capacity(records.len());
        for r in records {
            let rule = by_query
                .get(r.q)
                .copied()
                .flatten()
                .map(|i| self.selection.rule(&selected[i]).id().unwrap_or(""));
            if rule != Some(r.rule.as_str()) {
                return Err(format!(
                    "a record of rule {} (query {}) is not one of the rules given: run the stages with the same rules",
                    r.rule, r.q
                ));
            }
            let f = r.kept.hit.origin.file;
            if files.len() <= f {
                files.resize(f + 1, PathBuf::new());
            }
            files[f] = PathBuf::from(&r.name);
            kept.push((r.q, r.kept));
        }
        // As one run reads them: by time, tiebreaker, then input place.
        kept.sort_by(|a, b| a.1.sort.cmp(&b.1.sort));
        Ok(self.pass_from(Input::Records(kept, files), names, feedback, None))
    }

    /// The first reduce of records that left their event's text out
    /// ([`stage::text_apart`]): the events (file and line) whose text the
    /// alerts of `records` show, sorted, each once. The reduce then needs
    /// those texts ([`stage::attach_texts`]) to write the alerts.
    pub fn shown(
        &self,
        records: Vec<stage::Routed>,
        names: &FileNames,
        feedback: &Feedback,
    ) -> Result<Vec<(usize, u64)>, String> {
        crate::alert::record_shown();
        let outcome = self.reduce(records, names, feedback).map(Passed::finish);
        let shown = crate::alert::take_shown();
        outcome?;
        let mut events: Vec<(usize, u64)> = shown.into_iter().map(|o| (o.file, o.line)).collect();
        events.sort_unstable();
        events.dedup();
        Ok(events)
    }

    /// A pass over `input`; with `route`, a map stage's (see
    /// [`Detector::map`]).
    fn pass_from<'d>(
        &'d self,
        input: Input,
        names: &'d FileNames,
        feedback: &Feedback,
        mut route: Option<Route<'_>>,
    ) -> Passed<'d> {
        let selected = &self.selection.selected;
        let set = &self.selection.set;
        let default_index = self.config.default_index.as_deref();
        let mut alerts = Alerts::new(ALERT_BUDGET);
        let mut stored: io::Result<()> = Ok(());
        let mut counts = vec![0usize; selected.len()];
        let mut by_query: Vec<Option<usize>> = vec![None; set.queries.len()];
        for (i, s) in selected.iter().enumerate() {
            by_query[s.query] = Some(i);
        }
        let now_text = format_iso(self.config.now, false);
        // Rendering a rule's fixed fields takes about 0.1 ms: on all cores.
        let contexts: Vec<Context> =
            crate::par::map(selected, |s| self.context(s, now_text.clone()));
        // Each rule's fixed fields are held once by the sorter.
        let shared: Vec<u32> = contexts
            .iter()
            .map(|c| alerts.share(c.fixed().to_string()))
            .collect();
        // An event query's match becomes its alert on the worker thread that
        // found it; other results on this one, as they become final. A
        // windowed rule's match becomes its record there, and its
        // executions run here as the records pass them.
        let single = !self.config.executions.windowed();
        let mut unscheduled = Vec::new();
        let mut windows: Vec<Option<Windows>> = selected
            .iter()
            .enumerate()
            .map(|(i, s)| match self.windows(i) {
                Some(Ok(w)) if single => Some(w),
                Some(Err(why)) => {
                    let name = rule_name(self.selection.rule(s)).to_string();
                    unscheduled.push((why, name));
                    None
                }
                _ => None,
            })
            .collect();
        // Indicator match rules in one execution: their indicators at now.
        let threat_now: Vec<_> = (0..selected.len())
            .map(|i| {
                let t = self.threat(i).filter(|_| single)?;
                let matcher = t.matcher(&self.config.indicators, self.config.now);
                let so = self.saved_object(self.selection.rule(&selected[i]));
                Some((t, matcher, so))
            })
            .collect();
        // Where an indicator match rule's lead values sit among the values
        // its events carry (after a suppressed rule's group_by values).
        let skips: Vec<usize> = (0..selected.len()).map(|i| self.lead_skip(i)).collect();
        let may_match = |i: usize, kept: &Kept, m: &crate::indicators::Matcher| {
            self.may_match(i, skips[i], kept, m)
        };
        // A suppressed event query groups its matches over all the input
        // (one execution without a window).
        let suppression: Vec<Option<(Suppression, Kind)>> =
            (0..selected.len()).map(|i| self.suppression(i)).collect();
        let mut groupers: Vec<Option<Grouper>> = suppression
            .iter()
            .map(|s| {
                let (setup, kind) = s.clone().filter(|_| single)?;
                Some(Grouper::new(setup, kind))
            })
            .collect();
        let now = self.config.now;
        // A map stage names events as one run over the whole input does.
        let split = route.as_ref().map(|(split, _)| (*split).clone());
        let verbatim = FileNames::verbatim();
        let global_files: Vec<PathBuf> = match &split {
            Some(sp) => {
                let mut f = vec![PathBuf::new(); sp.index + 1];
                f[sp.index] = PathBuf::from(&sp.name);
                f
            }
            None => Vec::new(),
        };
        // Whether a map stage routes rule `i`'s records (its alerts depend
        // on other events) rather than writing its alerts.
        let routes = |i: usize| {
            let s = &selected[i];
            s.executor.windowed()
                || suppression[i].is_some()
                || self.config.executions.windowed()
                || !set.queries[s.query].streams_at_once()
        };
        let prepare = |q: usize, kept: &Kept, files: &[PathBuf]| -> Option<pass::Prepared> {
            let i = by_query[q]?;
            let s = &selected[i];
            if let Some(sp) = &split {
                // Where the event is in the whole input.
                let mut kept = kept.clone();
                let (line, serial) = sp.place(kept.hit.origin.line);
                kept.hit.origin = crate::engine::Origin {
                    file: sp.index,
                    line,
                };
                kept.sort.seq = serial;
                if routes(i) {
                    let rule = self.selection.rule(s).id().unwrap_or("").to_string();
                    // By join key, unless a rule's partial sequences are
                    // held to a limit given (`--max-partials`): a limit
                    // over all its keys, so all in one partition.
                    let keyed = matches!(
                        set.queries[s.query].plan,
                        crate::engine::Plan::Sequence { .. } | crate::engine::Plan::Sample { .. }
                    ) && !self.config.executions.windowed()
                        && self.config.max_partials == crate::engine::MAX_PARTIALS;
                    // The event's text goes once, apart, but for an
                    // indicator match rule (its reduce reads the event).
                    let threat = self.threats.get(i).is_some_and(Option::is_some);
                    let text = (!threat && !kept.hit.source.is_empty())
                        .then(|| stage::text_apart(&mut kept))
                        .flatten();
                    let parts = match keyed {
                        true => stage::by_key(&kept),
                        false => vec![(None, kept)],
                    };
                    let lines = text
                        .into_iter()
                        .chain(parts.into_iter().map(|(key, kept)| {
                            let partition = stage::partition(&rule, q, key.as_ref());
                            let record = stage::Routed {
                                q,
                                rule: rule.clone(),
                                name: sp.name.clone(),
                                kept,
                            };
                            let json = serde_json::to_string(&record).unwrap_or_default();
                            format!("{}\t{partition}\t{json}", stage::RECORD)
                        }))
                        .collect();
                    return Some(pass::Prepared::Routed(lines));
                }
                let hit = kept.hit();
                let naming = Naming::new(&global_files, &verbatim, default_index);
                if let Some((t, matcher, so)) = threat_now[i].as_ref() {
                    if !may_match(i, &kept, matcher) {
                        return Some(pass::Prepared::Alerts(hit.timestamp, Vec::new()));
                    }
                    let alert = t.alert(&contexts[i], hit, &naming, matcher, so.as_deref());
                    return Some(pass::Prepared::Alerts(
                        hit.timestamp,
                        alert.into_iter().collect(),
                    ));
                }
                let alert = event_alert(&contexts[i], hit, &naming);
                return Some(pass::Prepared::Alerts(hit.timestamp, vec![alert]));
            }
            if s.executor.windowed() {
                let record = s.executor.record(self.selection.rule(s), kept);
                return Some(pass::Prepared::Record(record.map(Box::new)));
            }
            if let Some((setup, _)) = &suppression[i] {
                // An indicator match rule's event counts when an indicator
                // matches it.
                if let Some((t, matcher, _)) = threat_now[i].as_ref() {
                    if !may_match(i, kept, matcher) || !t.matches(kept.hit(), matcher) {
                        return Some(pass::Prepared::Alerts(None, Vec::new()));
                    }
                }
                let record = suppress::record(kept, setup.group_by.len(), now);
                return Some(pass::Prepared::Record(Some(Box::new(record))));
            }
            let hit = kept.hit();
            let naming = Naming::new(files, names, default_index);
            if let Some((t, matcher, so)) = threat_now[i].as_ref() {
                if !may_match(i, kept, matcher) {
                    return Some(pass::Prepared::Alerts(hit.timestamp, Vec::new()));
                }
                let alert = t.alert(&contexts[i], hit, &naming, matcher, so.as_deref());
                return Some(pass::Prepared::Alerts(
                    hit.timestamp,
                    alert.into_iter().collect(),
                ));
            }
            let alert = event_alert(&contexts[i], hit, &naming);
            Some(pass::Prepared::Alerts(hit.timestamp, vec![alert]))
        };
        let mut sink = |q: usize, ready: pass::Ready, files: &[PathBuf]| {
            let Some(i) = by_query[q] else { return };
            let rule = self.selection.rule(&selected[i]);
            let naming = Naming::new(files, names, default_index);
            let (time, docs) = match ready {
                pass::Ready::Prepared(pass::Prepared::Routed(lines)) => {
                    if let Some((_, out)) = route.as_mut() {
                        lines.iter().for_each(|l| out(l));
                    }
                    return;
                }
                // An indicator match rule's event that no indicator matched.
                pass::Ready::Prepared(pass::Prepared::Alerts(_, docs)) if docs.is_empty() => return,
                pass::Ready::Prepared(pass::Prepared::Alerts(time, docs)) => (time, docs),
                pass::Ready::Prepared(pass::Prepared::Record(record)) => {
                    let Some(record) = record else { return };
                    if let Some(g) = groupers[i].as_mut() {
                        if g.add(&record) {
                            return;
                        }
                        // Missing a group_by field, not suppressed: an
                        // alert of its own.
                        let Some(hit) = &record.hit else { return };
                        let alert = event_alert(&contexts[i], hit, &naming);
                        (hit.timestamp, vec![alert])
                    } else {
                        let Some(w) = windows[i].as_mut() else { return };
                        let context = |t: i64| self.context(&selected[i], format_iso(t, false));
                        let out = RefCell::new((&mut alerts, &mut stored, &mut counts[i]));
                        let mut emit = |ctx: &Context, results: Vec<Written>| {
                            let (alerts, stored, count) = &mut *out.borrow_mut();
                            **count += store_execution(alerts, stored, ctx, results);
                        };
                        let mut release = |results: Vec<Written>| {
                            let (alerts, stored, count) = &mut *out.borrow_mut();
                            **count +=
                                store_whole(alerts, stored, rule.id().unwrap_or(""), results);
                        };
                        let mut env = window::Env {
                            naming: &naming,
                            context: &context,
                            emit: &mut emit,
                            release: &mut release,
                        };
                        w.push(*record, &mut env);
                        return;
                    }
                }
                pass::Ready::Output(out) => {
                    selected[i].executor.alerts(&contexts[i], &out, &naming)
                }
            };
            counts[i] += 1;
            if stored.is_ok() {
                stored = store(&mut alerts, rule.id().unwrap_or(""), time, docs, shared[i]);
            }
        };
        // A map stage streams every record to its route.
        let mapping = split.is_some();
        let collect = if self.config.executions.windowed() && !mapping {
            pass::Collect::Keep
        } else {
            pass::Collect::Stream {
                prepare: &prepare,
                sink: &mut sink,
                every: mapping,
            }
        };
        let pass = match input {
            Input::Events(source) => pass::run(
                set,
                *source,
                self.config.threads.max(1),
                self.config.default_index.clone(),
                feedback,
                collect,
            ),
            Input::Records(records, files) => pass::run_records(set, records, files, collect),
        };
        Passed {
            detector: self,
            names,
            pass,
            alerts,
            stored,
            counts,
            contexts,
            by_query,
            windows,
            groupers,
            unscheduled,
        }
    }
}

/// A map stage's split and where its routed lines go.
type Route<'a> = (&'a stage::Split, &'a mut dyn FnMut(&str));

/// What a pass reads: events, or the candidate records of a map stage.
enum Input {
    Events(Box<EventSource>),
    Records(Vec<(usize, Kept)>, Vec<PathBuf>),
}

/// What [`Detector::read_history`] read.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HistoryRead {
    /// Events read, malformed included.
    pub read: u64,
    /// Of those, the malformed ones (each reported on stderr).
    pub malformed: u64,
    /// Whether reading failed somewhere.
    pub io_failed: bool,
    /// The rules some history event matched.
    pub rules: usize,
}

/// The rules run over the events: results streamed into alerts, or kept
/// for the schedule's executions.
pub struct Passed<'d> {
    detector: &'d Detector,
    names: &'d FileNames,
    pass: pass::Pass<'d>,
    alerts: Alerts,
    stored: io::Result<()>,
    counts: Vec<usize>,
    /// The alert contexts of the single execution (unused by a replay).
    contexts: Vec<Context<'d>>,
    by_query: Vec<Option<usize>>,
    /// Per rule: a windowed rule's executions still running (streamed).
    windows: Vec<Option<Windows>>,
    /// Per rule: a suppressed event query's groups over all the input
    /// (without a schedule).
    groupers: Vec<Option<Grouper>>,
    /// (why, rule name) for windowed rules whose schedule cannot be replayed.
    unscheduled: Vec<(String, String)>,
}

/// Events that came too late to be put in time order for a streaming
/// sequence rule: they took no step of its sequences.
#[derive(Debug, Clone)]
pub struct Late {
    /// The rule (a place in [`Selection::selected`]).
    pub rule: usize,
    /// How many events.
    pub count: u64,
    /// Where the first came from.
    pub first: Origin,
}

/// What a run did: its alert documents and the figures of its summary.
///
/// It holds on to what the pass kept (the matches a replay went over,
/// the alert contexts) until it is dropped: a program about to end may
/// [`std::mem::forget`] it rather than free it all piece by piece.
pub struct Outcome<'d> {
    /// The alert documents, in output order (original time, rule id,
    /// alert id).
    pub alerts: Alerts,
    /// Whether holding the documents failed (a temporary file could not
    /// be written): then `alerts` lacks some.
    pub stored: io::Result<()>,
    /// Per rule that runs (as [`Selection::selected`]): the results it
    /// alerted on.
    pub counts: Vec<usize>,
    /// The event files read, in input order, folders expanded (what an
    /// [`Origin`]'s `file` indexes).
    pub files: Vec<PathBuf>,
    /// Events read (lines, array elements or values), malformed included.
    pub read: u64,
    /// Of those, the malformed ones.
    pub malformed: u64,
    /// Whether reading failed somewhere.
    pub io_failed: bool,
    /// Events out of time order that sequence rules could not use.
    pub late: Vec<Late>,
    /// Per rule that dropped partial sequences at `max_partials`: (rule,
    /// how many).
    pub partials_dropped: Vec<(usize, u64)>,
    /// One execution over all the input: the rules that found more results
    /// than their `max_signals`, as (rule, results, max_signals).
    pub over_cap: Vec<(usize, usize, usize)>,
    /// With a schedule: what its replay did.
    pub replay: Option<Replay>,
    /// With [`Config::group_events`]: per threshold alert, the events of its
    /// group, in time order.
    pub groups: HashMap<String, Vec<Origin>>,
    /// Without one: what the replay of the rules whose types always run
    /// their schedule (threshold) did, when there were any.
    pub windowed: Option<Replay>,
    _retained: Retained<'d>,
}

/// What the pass kept, held until the outcome is dropped.
struct Retained<'d> {
    _pass: pass::Pass<'d>,
    _contexts: Vec<Context<'d>>,
}

impl<'d> Passed<'d> {
    /// The event files read so far (what an [`Origin`]'s `file` indexes).
    pub fn files(&self) -> &[PathBuf] {
        &self.pass.files
    }

    /// Replays the executions over what the pass kept (with a schedule),
    /// and gives the outcome.
    pub fn finish(self) -> Outcome<'d> {
        let Passed {
            detector,
            names,
            pass,
            mut alerts,
            mut stored,
            mut counts,
            contexts,
            by_query,
            mut windows,
            mut groupers,
            unscheduled,
        } = self;
        let selection = &detector.selection;
        let late = pass
            .late
            .iter()
            .filter_map(|(q, n, origin)| {
                Some(Late {
                    rule: by_query[*q]?,
                    count: *n,
                    first: origin.clone(),
                })
            })
            .collect();
        let partials_dropped = selection
            .selected
            .iter()
            .enumerate()
            .map(|(i, s)| (i, selection.set.queries[s.query].partials_dropped()))
            .filter(|(_, n)| *n > 0)
            .collect();
        let mut over_cap = Vec::new();
        let mut late: Vec<Late> = late;
        let mut groups = HashMap::new();
        let mut replay = detector.config.executions.windowed().then(Replay::default);
        let mut windowed: Option<Replay> = None;
        let naming = Naming::new(&pass.files, names, detector.config.default_index.as_deref());
        for (i, s) in selection.selected.iter().enumerate() {
            let matches = pass.matches.get(s.query);
            if s.executor.windowed() {
                let summary = match replay.as_mut() {
                    Some(r) => r,
                    None => windowed.get_or_insert_with(Replay::default),
                };
                let rule = selection.rule(s);
                // Streamed through the pass, or replayed over its kept
                // matches (with a schedule).
                let (mut w, replayed) = match (windows[i].take(), matches) {
                    (Some(w), _) => (w, None),
                    (None, Some(matches)) => match detector.windows(i) {
                        Some(Ok(w)) => (w, Some(matches)),
                        Some(Err(why)) => {
                            summary.unscheduled.push((why, rule_name(rule).to_string()));
                            continue;
                        }
                        None => continue,
                    },
                    (None, None) => continue,
                };
                let out = RefCell::new((&mut alerts, &mut stored, &mut counts[i]));
                let mut env = window::Env {
                    naming: &naming,
                    context: &|t| detector.context(s, format_iso(t, false)),
                    emit: &mut |ctx, results| {
                        let (alerts, stored, count) = &mut *out.borrow_mut();
                        **count += store_execution(alerts, stored, ctx, results);
                    },
                    release: &mut |results| {
                        let (alerts, stored, count) = &mut *out.borrow_mut();
                        **count += store_whole(alerts, stored, rule.id().unwrap_or(""), results);
                    },
                };
                for kept in replayed.into_iter().flat_map(Matches::kept) {
                    if let Some(r) = s.executor.record(rule, kept) {
                        w.push(r, &mut env);
                    }
                }
                let ran = w.finish(&mut env);
                add_ran(summary, &mut late, &mut groups, (i, rule), ran);
                continue;
            }
            if let Some(g) = groupers[i].take() {
                let so = detector.saved_object(selection.rule(s));
                let threat = detector.threat(i).map(|t| {
                    let m = t.matcher(detector.indicators(), detector.config.now);
                    (t, m)
                });
                let alert = |hit: &crate::engine::Hit| {
                    let enriched = threat
                        .as_ref()
                        .and_then(|(t, m)| t.alert(&contexts[i], hit, &naming, m, so.as_deref()));
                    enriched.unwrap_or_else(|| event_alert(&contexts[i], hit, &naming))
                };
                let results = g.finish(&contexts[i], &naming, so.as_deref(), &alert);
                let rule_id = selection.rule(s).id().unwrap_or("");
                counts[i] += store_whole(&mut alerts, &mut stored, rule_id, results);
            }
            let cap = max_signals(selection.rule(s));
            let (Some(matches), Some(replay)) = (matches, replay.as_mut()) else {
                // One execution over all the input has no cap: say which
                // rules Kibana would have cut at max_signals.
                if counts[i] > cap {
                    over_cap.push((i, counts[i], cap));
                }
                continue;
            };
            let written = match detector.suppression(i) {
                Some((setup, kind)) => detector.replay_suppressed(
                    i,
                    (&setup, kind),
                    matches,
                    &naming,
                    replay,
                    (&mut alerts, &mut stored),
                ),
                None => detector.replay(i, matches, &naming, replay, &mut alerts, &mut stored),
            };
            counts[i] += written;
        }
        if !unscheduled.is_empty() {
            let summary = match replay.as_mut() {
                Some(r) => r,
                None => windowed.get_or_insert_with(Replay::default),
            };
            summary.unscheduled.extend(unscheduled);
        }
        Outcome {
            alerts,
            stored,
            counts,
            files: pass.files.clone(),
            read: pass.read,
            malformed: pass.malformed,
            io_failed: pass.io_failed,
            late,
            partials_dropped,
            over_cap,
            replay,
            groups,
            windowed,
            _retained: Retained {
                _pass: pass,
                _contexts: contexts,
            },
        }
    }
}

impl Detector {
    /// Replays the executions of rule `s` over its kept `matches`, its
    /// alerts into `alerts`; how many results it wrote.
    fn replay(
        &self,
        i: usize,
        matches: &Matches,
        naming: &Naming,
        replay: &mut Replay,
        alerts: &mut Alerts,
        stored: &mut io::Result<()>,
    ) -> usize {
        let s = &self.selection.selected[i];
        let rule = self.selection.rule(s);
        let schedule = match Schedule::of(rule) {
            Ok(s) => s,
            Err(why) => {
                replay.unscheduled.push((why, rule_name(rule).to_string()));
                return 0;
            }
        };
        let cap = max_signals(rule);
        let mut state = RuleState::default();
        let mut written = 0;
        let times = match self.config.executions {
            Executions::At(t) => vec![t],
            _ => schedule.executions(&matches.times()),
        };
        let threat = self.threat(i);
        let so = self.saved_object(rule);
        for t in times {
            let ctx = self.context(s, format_iso(t, false));
            let mut fixed = None;
            replay.executions += 1;
            let mut persist = Persist::new(&mut state, cap, s.executor.cap());
            let mut outs = matches.within(t + schedule.from, t + schedule.to);
            if s.executor.newest_first(rule) {
                outs.reverse();
            }
            let matcher = threat.map(|th| th.matcher(&self.config.indicators, t));
            // The window's events an indicator may match, from the lead
            // values they carry: the others are not read whole.
            let candidates: Option<std::collections::HashSet<(usize, u64)>> =
                matcher.as_ref().map(|m| {
                    let (from, to) = (t + schedule.from, t + schedule.to);
                    let kept = matches.kept();
                    let lo = kept.partition_point(|k| k.sort.time < from);
                    let hi = kept.partition_point(|k| k.sort.time <= to).max(lo);
                    let skip = self.lead_skip(i);
                    kept[lo..hi]
                        .iter()
                        .filter(|k| self.may_match(i, skip, k, m))
                        .map(|k| (k.hit.origin.file, k.hit.origin.line))
                        .collect()
                });
            for out in outs {
                let (time, docs) = match (threat, &matcher, &out) {
                    (Some(th), Some(m), crate::engine::Output::Event(hit)) => {
                        let origin = (hit.origin.file, hit.origin.line);
                        if candidates.as_ref().is_some_and(|c| !c.contains(&origin)) {
                            continue;
                        }
                        match th.alert(&ctx, hit, naming, m, so.as_deref()) {
                            Some(alert) => (hit.timestamp, vec![alert]),
                            None => continue,
                        }
                    }
                    _ => s.executor.alerts(&ctx, &out, naming),
                };
                if !persist.offer(result_key(&docs)) {
                    continue;
                }
                written += 1;
                let fixed = *fixed.get_or_insert_with(|| alerts.share(ctx.fixed().to_string()));
                if stored.is_ok() {
                    *stored = store(alerts, rule.id().unwrap_or(""), time, docs, fixed);
                }
            }
            replay.duplicates += persist.duplicates();
            replay.capped_executions += usize::from(persist.was_cut());
        }
        let never = state.never_written();
        if never > 0 {
            replay.never_written += never;
            replay
                .capped_rules
                .push(format!("{} ({never})", rule_name(rule)));
        }
        written
    }
}

impl Detector {
    /// The executions of rule `i` (a place in [`Selection::selected`]) when
    /// its type is windowed, or why its schedule cannot be replayed.
    fn windows(&self, i: usize) -> Option<Result<Windows, String>> {
        let s = &self.selection.selected[i];
        if !s.executor.windowed() {
            return None;
        }
        let rule = self.selection.rule(s);
        let made = Schedule::of(rule).and_then(|schedule| {
            // Kibana counts the history start from the window's end.
            let history = s.executor.history(rule)?.map(|h| h + schedule.to);
            let at = match self.config.executions {
                Executions::At(t) => Some(t),
                _ => None,
            };
            let saved_object = self.saved_object(rule);
            let mut w = Windows::new(
                s.executor,
                schedule,
                history,
                at,
                max_signals(rule),
                saved_object,
            );
            if self.config.group_events {
                w.keep_group_events();
            }
            let mut kept = self.history.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(records) = kept.get_mut(i) {
                w.set_history(std::mem::take(records));
            }
            Ok(w)
        });
        Some(made)
    }
}

impl Detector {
    /// The saved-object id of `rule`: its own (`id`, from a Kibana
    /// export), else the one the run was given.
    fn saved_object(&self, rule: &rule::Rule) -> Option<String> {
        rule.extra("id")
            .and_then(|v| v.as_str().map(str::to_string))
            .or(self.config.saved_object_id.clone())
    }

    /// The suppression of rule `i` (a place in [`Selection::selected`])
    /// when it is an event query that suppresses (query rules, EQL event
    /// queries; windowed types suppress in their executors).
    fn suppression(&self, i: usize) -> Option<(Suppression, Kind)> {
        let s = &self.selection.selected[i];
        if s.executor.windowed() {
            return None;
        }
        let plan = &self.selection.set.queries[s.query].plan;
        suppress::event_suppression(self.selection.rule(s), plan)
    }
}

/// What a windowed rule's executions did, into the run's summary.
fn add_ran(
    summary: &mut Replay,
    late: &mut Vec<Late>,
    groups: &mut HashMap<String, Vec<Origin>>,
    (i, rule): (usize, &rule::Rule),
    ran: Ran,
) {
    groups.extend(ran.groups);
    summary.executions += ran.executions;
    summary.duplicates += ran.duplicates;
    summary.capped_executions += ran.capped;
    if ran.never_written > 0 {
        summary.never_written += ran.never_written;
        summary
            .capped_rules
            .push(format!("{} ({})", rule_name(rule), ran.never_written));
    }
    if ran.partial_history > 0 {
        summary
            .partial_history
            .push((rule_name(rule).to_string(), ran.partial_history));
    }
    if let Some(first) = ran.first_late {
        late.push(Late {
            rule: i,
            count: ran.late,
            first,
        });
    }
}

/// The rule's `max_signals`, Kibana's 100 when it has none.
fn max_signals(rule: &crate::rule::Rule) -> usize {
    let cap = rule.max_signals.as_ref().map_or(100, |m| m.value);
    usize::try_from(cap).unwrap_or(0)
}

/// One execution's written results into the sorter, its fixed fields
/// shared by them; how many.
fn store_execution(
    alerts: &mut Alerts,
    stored: &mut io::Result<()>,
    ctx: &Context,
    results: Vec<Written>,
) -> usize {
    let n = results.len();
    let fixed = alerts.share(ctx.fixed().to_string());
    let rule_id = ctx.rule.id().unwrap_or("");
    for (time, docs) in results {
        if stored.is_ok() {
            *stored = store(alerts, rule_id, time, docs, fixed);
        }
    }
    n
}

/// Suppressed alerts, final, into the sorter: whole documents, each with
/// its execution's fixed fields (which may differ from one to the next:
/// see [`crate::alert::suppression::Suppressed::document`]); how many.
fn store_whole(
    alerts: &mut Alerts,
    stored: &mut io::Result<()>,
    rule_id: &str,
    results: Vec<Written>,
) -> usize {
    let n = results.len();
    if n == 0 {
        return 0;
    }
    let none = alerts.share(String::new());
    for (time, docs) in results {
        if stored.is_ok() {
            *stored = store(alerts, rule_id, time, docs, none);
        }
    }
    n
}

/// One result's documents into the sorter; `fixed` numbers their
/// execution's fixed fields there.
fn store(
    alerts: &mut Alerts,
    rule_id: &str,
    time: Option<i64>,
    docs: Vec<Alert>,
    fixed: u32,
) -> io::Result<()> {
    // Documents of one result share the last one's id (the shell's for a
    // sequence) as their sort key, and keep the order Kibana writes them.
    let result = result_key(&docs);
    for (pos, doc) in docs.into_iter().enumerate() {
        let order = Order {
            time: time.unwrap_or(i64::MIN),
            rule: rule_id.to_string(),
            result: result.clone(),
            pos,
        };
        alerts.push(order, doc.own, fixed)?;
    }
    Ok(())
}
