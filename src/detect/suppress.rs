//! Alert suppression (`[rule.alert_suppression]`), as Kibana runs it: the
//! alerts of events (or of groups) that share the values of the rule's
//! `group_by` fields become one alert, with the others counted in its
//! `kibana.alert.suppression.docs_count`.
//!
//! Kibana has three implementations, and so has this module:
//!
//! - **query rules** group at search time ([`Buckets`]): a composite
//!   aggregation over `group_by`, one bucket per value combination (an
//!   array value puts an event in one bucket per value; a missing field is
//!   a null-valued bucket, last, unless `missing_fields_strategy` is
//!   `doNotSuppress`), each bucket one alert from its earliest event, at
//!   most `max_signals + 1` buckets per execution; a per-rule
//!   [`BucketHistory`] keeps events an earlier execution's bucket covered
//!   from starting a new one;
//! - **threshold rules** suppress their groups by time only (a duration);
//! - **the others** (EQL event queries, new_terms, and indicator match when
//!   it runs) suppress **in memory**: each alert their type would write
//!   becomes a [`Candidate`] whose terms are its event's `group_by` values
//!   (sorted arrays, null when missing), and [`Held::execute`] folds the
//!   candidates of one instance into the earliest.
//!
//! Without a duration, suppression works within one execution; with one,
//! [`Held::execute`] also folds into the open alert an execution created
//! less than the duration before (the alert is **updated**: its end, its
//! docs_count, its `last_detected`), so alerts are held until no later
//! execution can reach them, and each is output once, final.
//!
//! Without `--schedule`, query rules and EQL event queries run one
//! execution over the whole input: their groups span it ([`Grouper`]).
//!
//! Orders Kibana leaves to Elasticsearch, ruleq's choice: composite keys
//! field by field, booleans (`false` first), then numbers by value, then
//! strings by UTF-8 bytes, null last (`missing_order: last`); a bucket's
//! earliest event by time, then input order; in-memory terms sorted the
//! same way; candidates of equal time in the order their type gives them.

use super::persist::Persist;
use super::window::{carried, Key, Record, Written};
use crate::alert::new_terms::ancestor_of;
use crate::alert::suppression::{instance_id, query_alert_id, terms_value, Suppressed};
use crate::alert::{event_alert, Alert, Context, Naming};
use crate::engine::{Hit, Kept, Plan};
use crate::rule::{MissingFieldsStrategy, Rule, RuleType};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// How many candidates (created and suppressed) an in-memory execution of
/// a new_terms or indicator match rule handles, per `max_signals`
/// (Kibana's `MAX_SIGNALS_SUPPRESSION_MULTIPLIER`).
pub const MULTIPLIER: usize = 5;

/// A rule's alert suppression settings, as they run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// The fields alerts are grouped by (empty for a threshold rule, whose
    /// groups are its own).
    pub group_by: Vec<String>,
    /// The suppression window in nanoseconds; `None`: per execution.
    pub duration: Option<i64>,
    /// Whether events missing a `group_by` field are suppressed together
    /// (`suppress`, the default) rather than alerted one by one.
    pub suppress_missing: bool,
}

impl Suppression {
    /// The rule's suppression, when it has one that runs: 1 to 5
    /// `group_by` fields, or, for a threshold rule, a duration.
    pub fn of(rule: &Rule) -> Option<Suppression> {
        let a = rule.alert_suppression.as_ref()?;
        let duration = a
            .duration
            .as_ref()
            .map(|d| d.value.seconds().saturating_mul(1_000_000_000));
        let threshold = rule.rule_type.as_ref().map(|t| t.value) == Some(RuleType::Threshold);
        let group_by: Vec<String> = a.group_by.iter().map(|f| f.value.clone()).collect();
        if threshold {
            duration?;
        } else if !(1..=5).contains(&group_by.len()) {
            return None;
        }
        let suppress_missing = a
            .missing_fields_strategy
            .as_ref()
            .is_none_or(|m| m.value == MissingFieldsStrategy::Suppress);
        Some(Suppression {
            group_by: if threshold { Vec::new() } else { group_by },
            duration,
            suppress_missing,
        })
    }
}

/// How an event query's suppression runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Grouped at search time (query rules).
    Search,
    /// Grouped in memory (EQL event queries, indicator match).
    InMemory,
}

/// The suppression of a rule that is not windowed (query, EQL), and how it
/// runs; `None` when it has none, or one that does not run (an EQL
/// sequence or sample: see [`not_suppressed`]).
pub fn event_suppression(rule: &Rule, plan: &Plan) -> Option<(Suppression, Kind)> {
    let kind = match (rule.rule_type.as_ref().map(|t| t.value), plan) {
        (Some(RuleType::Query), Plan::Events(_)) => Kind::Search,
        (Some(RuleType::Eql) | Some(RuleType::ThreatMatch), Plan::Events(_)) => Kind::InMemory,
        _ => return None,
    };
    Some((Suppression::of(rule)?, kind))
}

/// Whether the rule sets `alert_suppression` that ruleq does not apply:
/// EQL sequences and samples (Kibana suppresses a sequence's shell alert
/// in newer releases; ruleq writes the sequences as without suppression).
pub fn not_suppressed(rule: &Rule, plan: &Plan) -> bool {
    rule.alert_suppression.is_some()
        && rule.rule_type.as_ref().map(|t| t.value) == Some(RuleType::Eql)
        && !matches!(plan, Plan::Events(_))
}

/// The fields a suppressed query or EQL rule's matching events carry (its
/// `group_by`), with their text: see [`crate::detect::executor::Executor::carried`].
pub fn carried_fields(rule: &Rule) -> Option<(Vec<String>, bool)> {
    let s = Suppression::of(rule)?;
    (!s.group_by.is_empty()).then_some((s.group_by, true))
}

/// What a suppressed event query keeps of a matching event: its time (the
/// execution's, `now`, when it has none, as Kibana falls back to the alert
/// time), the event, and the values of its first `n` carried fields as
/// [`Record::group_by`].
pub fn record(kept: &Kept, n: usize, now: i64) -> Record {
    let time = kept.hit.timestamp.unwrap_or(now);
    let mut r = Record::new(time, kept.hit.origin.clone(), Vec::new());
    r.group_by = (0..n).map(|j| carried(kept, j)).collect();
    r.hit = Some(kept.hit.clone());
    r
}

/// An in-memory candidate's `kibana.alert.suppression.terms`: per
/// `group_by` field its values sorted (as Kibana takes them from the
/// `fields` API: always an array), null when it has none; and whether
/// every field has a value.
pub fn in_memory_terms(group_by: &[String], values: &[Vec<Value>]) -> (Value, bool) {
    let mut complete = true;
    let terms: Vec<(String, Value)> = group_by
        .iter()
        .enumerate()
        .map(|(j, f)| {
            let mut vals: Vec<Value> = values.get(j).cloned().unwrap_or_default();
            if vals.is_empty() {
                complete = false;
                return (f.clone(), Value::Null);
            }
            vals.sort_by_key(|v| Key(v.clone()));
            (f.clone(), Value::Array(vals))
        })
        .collect();
    (terms_value(&terms), complete)
}

/// One alert an execution would write, offered to suppression: the alert
/// as its type writes it, and its suppression fields.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The alert (its id is the one it has without suppression, but for
    /// query and threshold rules).
    pub alert: Alert,
    /// Its original time (where it sorts in the output).
    pub time: Option<i64>,
    /// `kibana.alert.suppression.terms`.
    pub terms: Value,
    /// `kibana.alert.instance.id`.
    pub instance: String,
    /// The first event time of what it stands for, in nanoseconds.
    pub start: i64,
    /// The last event time, in nanoseconds.
    pub end: i64,
    /// What it already stands for besides its own event.
    pub docs_count: u64,
}

impl Candidate {
    /// The in-memory candidate of an alert on one event at `time`, whose
    /// `group_by` values are `terms` (as [`in_memory_terms`] gives them).
    pub fn of_event(
        alert: Alert,
        time: i64,
        terms: Value,
        rule_id: &str,
        saved_object: Option<&str>,
    ) -> Candidate {
        Candidate {
            instance: instance_id(&terms, rule_id, saved_object),
            alert,
            time: Some(time),
            terms,
            start: time,
            end: time,
            docs_count: 0,
        }
    }
}

/// One execution's suppression settings, for [`Held::execute`].
pub struct Step {
    /// The execution time, in nanoseconds.
    pub now: i64,
    /// The fixed fields of the execution's alerts.
    pub fixed: Arc<str>,
    /// The suppression window, in nanoseconds; `None`: per execution.
    pub duration: Option<i64>,
    /// Whether candidates of one instance fold into the earliest (every
    /// kind but query rules, whose buckets are distinct already).
    pub in_memory: bool,
    /// At most this many candidates are handled, created or suppressed
    /// (new_terms and indicator match: [`MULTIPLIER`] × `max_signals`).
    pub limit: Option<usize>,
}

/// What one [`Held::execute`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Alerts created.
    pub created: usize,
    /// Candidates folded into another alert (of this execution or an open
    /// one).
    pub suppressed: usize,
    /// Candidates already counted by an open alert of an earlier execution
    /// (its end is not before theirs): dropped.
    pub covered: usize,
}

/// A rule's suppressed alerts that a later execution may still update
/// (with a duration), and those final but not yet handed on.
#[derive(Debug, Default)]
pub struct Held {
    /// Per instance: its latest alert and the time of the execution that
    /// created it (`kibana.alert.start`).
    open: BTreeMap<String, (Suppressed, i64)>,
    /// Final alerts, to be written.
    ready: Vec<Suppressed>,
}

impl Held {
    /// Runs one execution's suppression over its `candidates` (Kibana's
    /// `alertWithSuppression`, after the in-memory step):
    ///
    /// 1. a candidate an earlier execution wrote (same id) is dropped;
    /// 2. with a duration, alerts created before `now - duration` are
    ///    final; a candidate whose instance has an open alert ending no
    ///    earlier than it is dropped (already counted);
    /// 3. in memory, candidates sorted by start: the first of an instance
    ///    stands, each later one adds its docs_count + 1 to it and extends
    ///    its end;
    /// 4. a standing candidate whose instance has an open alert updates it
    ///    (end, docs_count + 1, `last_detected`); the others are offered to
    ///    `persist` (`max_signals`) and created.
    ///
    /// Without a duration every alert created is final at once; with one
    /// it stays open. Final alerts wait in [`Held::take_ready`].
    pub fn execute(
        &mut self,
        step: &Step,
        candidates: Vec<Candidate>,
        persist: &mut Persist,
    ) -> Stats {
        let mut stats = Stats::default();
        if let Some(d) = step.duration {
            self.release(step.now.saturating_sub(d));
        }
        let mut kept: Vec<Candidate> = Vec::with_capacity(candidates.len());
        for c in candidates {
            if persist.already_written(&c.alert.uuid) {
                continue;
            }
            if step.duration.is_some()
                && self
                    .open
                    .get(&c.instance)
                    .is_some_and(|(open, _)| open.end >= c.end)
            {
                stats.covered += 1;
                continue;
            }
            kept.push(c);
        }
        if step.in_memory {
            kept.sort_by_key(|c| c.start);
        }
        let mut created: Vec<Suppressed> = Vec::new();
        let mut standing: HashMap<String, usize> = HashMap::new();
        let total = kept.len();
        for (n, c) in kept.into_iter().enumerate() {
            if step
                .limit
                .is_some_and(|l| stats.created + stats.suppressed >= l)
            {
                persist.left_out(total - n);
                break;
            }
            if step.in_memory {
                if let Some(&i) = standing.get(&c.instance) {
                    let s = &mut created[i];
                    s.docs_count += c.docs_count + 1;
                    s.end = s.end.max(c.end);
                    stats.suppressed += 1;
                    continue;
                }
            }
            if let Some((open, _)) = self.open.get_mut(&c.instance) {
                open.docs_count += c.docs_count + 1;
                open.end = open.end.max(c.end);
                open.last_detected = Some(step.now);
                stats.suppressed += 1;
                continue;
            }
            if !persist.offer(c.alert.uuid.clone()) {
                continue;
            }
            stats.created += 1;
            standing.insert(c.instance.clone(), created.len());
            created.push(Suppressed {
                alert: c.alert,
                fixed: step.fixed.clone(),
                time: c.time,
                instance: c.instance,
                terms: c.terms,
                start: c.start,
                end: c.end,
                docs_count: c.docs_count,
                last_detected: None,
            });
        }
        match step.duration {
            None => self.ready.extend(created),
            Some(_) => {
                for s in created {
                    if let Some((old, _)) = self.open.insert(s.instance.clone(), (s, step.now)) {
                        self.ready.push(old);
                    }
                }
            }
        }
        stats
    }

    /// Makes final the open alerts created before `start` (no execution
    /// whose suppression window starts at `start` or later finds them).
    pub fn release(&mut self, start: i64) {
        let done: Vec<String> = self
            .open
            .iter()
            .filter(|(_, (_, created))| *created < start)
            .map(|(k, _)| k.clone())
            .collect();
        for k in done {
            if let Some((s, _)) = self.open.remove(&k) {
                self.ready.push(s);
            }
        }
    }

    /// Makes every open alert final (no execution is left).
    pub fn release_all(&mut self) {
        let open = std::mem::take(&mut self.open);
        self.ready.extend(open.into_values().map(|(s, _)| s));
    }

    /// The final alerts not handed on yet, as whole documents (to be
    /// stored with an empty fixed part) and their original times.
    pub fn take_ready(&mut self) -> Vec<Written> {
        self.ready
            .drain(..)
            .map(|s| (s.time, vec![s.document()]))
            .collect()
    }

    /// Open alerts (that a later execution may update).
    pub fn open(&self) -> usize {
        self.open.len()
    }
}

/// A query bucket: its composite key (null for a missing field) and group.
pub type Bucket = (Vec<Value>, Group);

/// A composite key: per `group_by` field, whether it is null (nulls sort
/// last) and its value.
type CompositeKey = Vec<(bool, Key)>;

/// One group of events: its representative (earliest) event and figures.
#[derive(Debug, Clone)]
pub struct Group {
    /// The terms, as `kibana.alert.suppression.terms` shows them.
    pub terms: Value,
    /// The representative event and where it sorts (time, file, line).
    hit: Hit,
    rep: (i64, usize, u64),
    /// Events in the group.
    pub count: u64,
    /// The earliest event time.
    pub first: i64,
    /// The latest event time.
    pub last: i64,
}

impl Group {
    fn new(terms: Value, r: &Record, hit: &Hit) -> Group {
        Group {
            terms,
            hit: hit.clone(),
            rep: (r.time, r.origin.file, r.origin.line),
            count: 0,
            first: r.time,
            last: r.time,
        }
    }

    fn add(&mut self, r: &Record, hit: &Hit) {
        self.count += 1;
        self.first = self.first.min(r.time);
        self.last = self.last.max(r.time);
        let at = (r.time, r.origin.file, r.origin.line);
        if at < self.rep {
            self.rep = at;
            self.hit = hit.clone();
        }
    }
}

/// A query rule's buckets over some events (Kibana's composite
/// aggregation over `group_by`), in composite key order.
#[derive(Debug)]
pub struct Buckets {
    group_by: Vec<String>,
    suppress_missing: bool,
    groups: BTreeMap<CompositeKey, Group>,
}

impl Buckets {
    /// No buckets yet, for `setup`'s fields.
    pub fn new(setup: &Suppression) -> Buckets {
        Buckets {
            group_by: setup.group_by.clone(),
            suppress_missing: setup.suppress_missing,
            groups: BTreeMap::new(),
        }
    }

    /// Counts an event (its values in [`Record::group_by`]) in its
    /// buckets, one per combination of its fields' values; `false` when it
    /// misses a field and missing fields are not suppressed (it is then in
    /// no bucket).
    pub fn add(&mut self, r: &Record) -> bool {
        let Some(hit) = &r.hit else { return true };
        let mut keys: Vec<(CompositeKey, Vec<Value>)> = vec![(Vec::new(), Vec::new())];
        for j in 0..self.group_by.len() {
            let vals = r.group_by.get(j).map(Vec::as_slice).unwrap_or_default();
            let options: Vec<(bool, Value)> = if vals.is_empty() {
                if !self.suppress_missing {
                    return false;
                }
                vec![(true, Value::Null)]
            } else {
                vals.iter().map(|v| (false, v.clone())).collect()
            };
            keys = keys
                .into_iter()
                .flat_map(|(k, v)| {
                    options.iter().map(move |(null, value)| {
                        let (mut k, mut v) = (k.clone(), v.clone());
                        k.push((*null, Key(value.clone())));
                        v.push(value.clone());
                        (k, v)
                    })
                })
                .collect();
        }
        for (key, values) in keys {
            let group_by = &self.group_by;
            let g = self.groups.entry(key).or_insert_with(|| {
                let terms: Vec<(String, Value)> = group_by
                    .iter()
                    .cloned()
                    .zip(values.iter().cloned())
                    .collect();
                Group::new(terms_value(&terms), r, hit)
            });
            g.add(r, hit);
        }
        true
    }

    /// How many buckets.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The buckets in composite order, with their composite keys (null for
    /// a missing field) for the bucket history.
    fn into_groups(self) -> impl Iterator<Item = (Vec<Value>, Group)> {
        self.groups.into_iter().map(|(key, g)| {
            let values = key
                .into_iter()
                .map(|(null, k)| if null { Value::Null } else { k.0 })
                .collect();
            (values, g)
        })
    }
}

/// The candidate of one query bucket: the alert of its earliest event,
/// under the bucket's id (S1), with the bucket's figures.
fn bucket_candidate(
    ctx: &Context,
    naming: &Naming,
    g: Group,
    saved_object: Option<&str>,
) -> Candidate {
    let rule_id = ctx.rule.id().unwrap_or("");
    let alert = event_alert(ctx, &g.hit, naming);
    let (id, index) = ancestor_of(&alert.own).unwrap_or_default();
    let uuid = query_alert_id(
        (&index, &id),
        &g.terms,
        (g.first, g.last),
        rule_id,
        saved_object,
    );
    Candidate {
        alert: alert.with_uuid(&uuid),
        time: g.hit.timestamp,
        instance: instance_id(&g.terms, rule_id, saved_object),
        terms: g.terms,
        start: g.first,
        end: g.last,
        docs_count: g.count.saturating_sub(1),
    }
}

/// A query rule's bucket history (Kibana's `suppressionGroupHistory`):
/// per bucket an execution alerted on, its composite key and latest event
/// time. Later executions leave out the events such a bucket covered.
#[derive(Debug, Default)]
pub struct BucketHistory {
    entries: Vec<(Vec<Value>, i64)>,
}

impl BucketHistory {
    /// Keeps the entries whose latest event is after `from` (the
    /// execution's window start).
    pub fn prune(&mut self, from: i64) {
        self.entries.retain(|(_, end)| *end > from);
    }

    /// Whether an entry covers the event: it holds every non-null value of
    /// the entry's key (any of an array's values), lacks the fields whose
    /// value is null, and is not later than the entry's latest event.
    pub fn excludes(&self, r: &Record) -> bool {
        self.entries.iter().any(|(key, end)| {
            r.time <= *end
                && key.iter().enumerate().all(|(j, v)| {
                    let vals = r.group_by.get(j).map(Vec::as_slice).unwrap_or_default();
                    match v {
                        Value::Null => vals.is_empty(),
                        v => vals.contains(v),
                    }
                })
        })
    }

    fn add(&mut self, key: Vec<Value>, end: i64) {
        self.entries.push((key, end));
    }
}

/// One execution of a suppressed query rule (S1-S3) over the events of its
/// window, in time order: the buckets (at most `max_signals + 1`, in
/// composite order; the history then holds every one of them) and, with
/// `doNotSuppress`, the events that miss a field, in time order, and how
/// many plain alerts `max_signals` leaves room for (`max_signals` less the
/// buckets).
pub fn query_execution<'r>(
    setup: &Suppression,
    window: &'r [Record],
    history: &mut BucketHistory,
    from: i64,
    max_signals: usize,
) -> (Vec<Bucket>, Vec<&'r Record>, usize) {
    history.prune(from);
    let mut buckets = Buckets::new(setup);
    let mut missing = Vec::new();
    for r in window {
        if history.excludes(r) {
            continue;
        }
        if !buckets.add(r) {
            missing.push(r);
        }
    }
    let groups: Vec<Bucket> = buckets
        .into_groups()
        .take(max_signals.saturating_add(1))
        .collect();
    for (key, g) in &groups {
        history.add(key.clone(), g.last);
    }
    let room = max_signals.saturating_sub(groups.len());
    (groups, missing, room)
}

/// The candidates of query buckets, in their order.
pub fn bucket_candidates(
    ctx: &Context,
    naming: &Naming,
    groups: Vec<Bucket>,
    saved_object: Option<&str>,
) -> Vec<Candidate> {
    groups
        .into_iter()
        .map(|(_, g)| bucket_candidate(ctx, naming, g, saved_object))
        .collect()
}

/// The groups of a suppressed query or EQL event rule over the whole input
/// (one execution without a window: `ruleq run` without `--schedule`),
/// events taken one at a time, holding one event per group.
#[derive(Debug)]
pub struct Grouper {
    setup: Suppression,
    kind: Kind,
    buckets: Buckets,
    /// In-memory groups, by their terms' text.
    folded: BTreeMap<String, Group>,
}

impl Grouper {
    /// No events yet.
    pub fn new(setup: Suppression, kind: Kind) -> Grouper {
        Grouper {
            buckets: Buckets::new(&setup),
            setup,
            kind,
            folded: BTreeMap::new(),
        }
    }

    /// Takes one matching event; `false` when it is to be alerted on its
    /// own (it misses a field, and the strategy is `doNotSuppress`).
    pub fn add(&mut self, r: &Record) -> bool {
        match self.kind {
            Kind::Search => self.buckets.add(r),
            Kind::InMemory => {
                let Some(hit) = &r.hit else { return true };
                let (terms, complete) = in_memory_terms(&self.setup.group_by, &r.group_by);
                if !complete && !self.setup.suppress_missing {
                    return false;
                }
                let key = terms.to_string();
                self.folded
                    .entry(key)
                    .or_insert_with(|| Group::new(terms, r, hit))
                    .add(r, hit);
                true
            }
        }
    }

    /// The groups' alerts, final: for a query rule each bucket's (its id
    /// and figures as S1 gives them), else each group's earliest event's
    /// alert with the others counted.
    ///
    /// `alert` writes an in-memory group's alert on its earliest event
    /// (an indicator match rule's carries its enrichments).
    pub fn finish(
        self,
        ctx: &Context,
        naming: &Naming,
        saved_object: Option<&str>,
        alert: &dyn Fn(&Hit) -> Alert,
    ) -> Vec<Written> {
        let fixed: Arc<str> = Arc::from(ctx.fixed());
        let rule_id = ctx.rule.id().unwrap_or("");
        let candidates: Vec<Candidate> = match self.kind {
            Kind::Search => bucket_candidates(
                ctx,
                naming,
                self.buckets.into_groups().collect(),
                saved_object,
            ),
            Kind::InMemory => self
                .folded
                .into_values()
                .map(|g| Candidate {
                    alert: alert(&g.hit),
                    time: g.hit.timestamp,
                    instance: instance_id(&g.terms, rule_id, saved_object),
                    terms: g.terms,
                    start: g.first,
                    end: g.last,
                    docs_count: g.count.saturating_sub(1),
                })
                .collect(),
        };
        candidates
            .into_iter()
            .map(|c| {
                let s = Suppressed {
                    alert: c.alert,
                    fixed: fixed.clone(),
                    time: c.time,
                    instance: c.instance,
                    terms: c.terms,
                    start: c.start,
                    end: c.end,
                    docs_count: c.docs_count,
                    last_detected: None,
                };
                (s.time, vec![s.document()])
            })
            .collect()
    }
}

/// The schedule's executions of a suppressed event query (`--schedule`, or
/// one execution at a time), replayed over its kept matches.
impl super::Detector {
    /// Replays the executions of rule `s`, which suppresses as `setup` and
    /// `kind` say, over its kept `matches`, its alerts into `alerts`; how
    /// many it wrote. Per execution: the window's events, then a query
    /// rule's buckets (S1, S2) or an EQL rule's first `max_signals`
    /// results suppressed in memory (S5), then the duration merge (S6).
    pub(super) fn replay_suppressed(
        &self,
        i: usize,
        (setup, kind): (&Suppression, Kind),
        matches: &crate::engine::Matches,
        naming: &Naming,
        replay: &mut super::schedule::Replay,
        (alerts, stored): (&mut super::Alerts, &mut std::io::Result<()>),
    ) -> usize {
        use super::executor::Cap;
        use super::persist::RuleState;
        use crate::compile::date::format_iso;
        use crate::engine::Output;
        let s = &self.selection.selected[i];
        let rule = self.selection.rule(s);
        let schedule = match super::schedule::Schedule::of(rule) {
            Ok(s) => s,
            Err(why) => {
                let name = super::rule_name(rule).to_string();
                replay.unscheduled.push((why, name));
                return 0;
            }
        };
        let cap = super::max_signals(rule);
        // An indicator match rule: its events alert when an indicator
        // matches, its candidates stop at 5 x max_signals (S8).
        let threat = self.threat(i);
        let so = self.saved_object(rule);
        let so = so.as_deref();
        let rule_id = rule.id().unwrap_or("");
        let times = match self.config.executions {
            super::Executions::At(t) => vec![t],
            _ => schedule.executions(&matches.times()),
        };
        let n = setup.group_by.len();
        let kept = matches.kept();
        let mut state = RuleState::default();
        let mut held = Held::default();
        let mut history = BucketHistory::default();
        let mut written = 0;
        for t in times {
            let ctx = self.context(s, format_iso(t, false));
            replay.executions += 1;
            let (from, to) = (
                t.saturating_add(schedule.from),
                t.saturating_add(schedule.to),
            );
            // The window's results, and what their events carry.
            let lo = kept.partition_point(|k| k.sort.time < from);
            let hi = kept.partition_point(|k| k.sort.time <= to).max(lo);
            let by_origin: HashMap<(usize, u64), &Kept> = kept[lo..hi]
                .iter()
                .map(|k| ((k.hit.origin.file, k.hit.origin.line), k))
                .collect();
            let mut window: Vec<Record> = matches
                .within(from, to)
                .iter()
                .filter_map(|o| match o {
                    Output::Event(h) => by_origin.get(&(h.origin.file, h.origin.line)),
                    _ => None,
                })
                .map(|k| record(k, n, t))
                .collect();
            let matcher = threat.map(|th| th.matcher(self.indicators(), t));
            let alert_of = |hit: &Hit| match (threat, &matcher) {
                (Some(th), Some(m)) => th.alert(&ctx, hit, naming, m, so),
                _ => Some(event_alert(&ctx, hit, naming)),
            };
            let step = Step {
                now: t,
                fixed: Arc::from(ctx.fixed()),
                duration: setup.duration,
                in_memory: kind == Kind::InMemory,
                limit: threat.map(|_| MULTIPLIER.saturating_mul(cap)),
            };
            let mut plain: Vec<Written> = Vec::new();
            let (duplicates, cut) = match kind {
                Kind::Search => {
                    let (groups, missing, room) =
                        query_execution(setup, &window, &mut history, from, cap);
                    // Events missing a field: as a query rule's search
                    // pages on, until `room` new alerts are written.
                    let mut p = Persist::new(&mut state, room, Cap::Alerts);
                    for r in missing {
                        let Some(hit) = &r.hit else { continue };
                        let alert = event_alert(&ctx, hit, naming);
                        if p.offer(alert.uuid.clone()) {
                            plain.push((hit.timestamp, vec![alert]));
                        }
                    }
                    let (d, c) = (p.duplicates(), p.was_cut());
                    // Buckets are not capped by max_signals (their count
                    // is).
                    let mut p = Persist::new(&mut state, usize::MAX, Cap::Alerts);
                    let candidates = bucket_candidates(&ctx, naming, groups, so);
                    held.execute(&step, candidates, &mut p);
                    (d + p.duplicates(), c)
                }
                Kind::InMemory => {
                    // EQL asks Elasticsearch for `max_signals` results;
                    // indicator match pages on (its limit is the step's).
                    let beyond = match threat {
                        Some(_) => 0,
                        None => window.len().saturating_sub(cap),
                    };
                    if threat.is_none() {
                        window.truncate(cap);
                    }
                    let mut p = Persist::new(&mut state, cap, Cap::Alerts);
                    p.left_out(beyond);
                    let mut candidates = Vec::new();
                    for r in &window {
                        let Some(hit) = &r.hit else { continue };
                        let Some(alert) = alert_of(hit) else { continue };
                        let (terms, complete) = in_memory_terms(&setup.group_by, &r.group_by);
                        if complete || setup.suppress_missing {
                            candidates.push(Candidate::of_event(alert, r.time, terms, rule_id, so));
                        } else if p.offer(alert.uuid.clone()) {
                            plain.push((hit.timestamp, vec![alert]));
                        }
                    }
                    held.execute(&step, candidates, &mut p);
                    (p.duplicates(), p.was_cut())
                }
            };
            replay.duplicates += duplicates;
            replay.capped_executions += usize::from(cut);
            written += super::store_execution(alerts, stored, &ctx, plain);
            written += super::store_whole(alerts, stored, rule_id, held.take_ready());
        }
        held.release_all();
        written += super::store_whole(alerts, stored, rule_id, held.take_ready());
        let never = state.never_written();
        if never > 0 {
            replay.never_written += never;
            replay
                .capped_rules
                .push(format!("{} ({never})", super::rule_name(rule)));
        }
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Origin;
    use serde_json::json;

    fn rec(time: i64, line: u64, values: Vec<Vec<Value>>) -> Record {
        let mut r = Record::new(time, Origin { file: 0, line }, Vec::new());
        r.group_by = values;
        r.hit = Some(Hit::without_text(Origin { file: 0, line }, Some(time)));
        r
    }

    fn setup(n: usize, suppress_missing: bool) -> Suppression {
        Suppression {
            group_by: (0..n).map(|i| format!("f{i}")).collect(),
            duration: None,
            suppress_missing,
        }
    }

    #[test]
    fn buckets_take_each_value_and_put_nulls_last() {
        let mut b = Buckets::new(&setup(1, true));
        assert!(b.add(&rec(3, 1, vec![vec![json!("b"), json!("a")]])));
        assert!(b.add(&rec(1, 2, vec![vec![]])));
        assert!(b.add(&rec(2, 3, vec![vec![json!(10)]])));
        assert!(b.add(&rec(4, 4, vec![vec![json!("a")]])));
        let groups: Vec<(Vec<Value>, Group)> = b.into_groups().collect();
        let keys: Vec<&Value> = groups.iter().map(|(k, _)| &k[0]).collect();
        assert_eq!(keys, [&json!(10), &json!("a"), &json!("b"), &Value::Null]);
        let a = &groups[1].1;
        assert_eq!((a.count, a.first, a.last, a.rep.2), (2, 3, 4, 1));
        assert_eq!(a.terms, json!([{"field": "f0", "value": "a"}]));
        assert_eq!(groups[3].1.terms, json!([{"field": "f0", "value": null}]));
    }

    #[test]
    fn do_not_suppress_leaves_incomplete_events_out() {
        let mut b = Buckets::new(&setup(2, false));
        assert!(!b.add(&rec(1, 1, vec![vec![json!("h")], vec![]])));
        assert!(b.add(&rec(1, 2, vec![vec![json!("h")], vec![json!(1), json!(2)]])));
        assert_eq!(b.len(), 2);
    }

    #[test]
    fn history_covers_matching_events_up_to_its_end() {
        let mut h = BucketHistory::default();
        h.add(vec![json!("h1"), Value::Null], 10);
        let covered = rec(10, 1, vec![vec![json!("h1"), json!("h2")], vec![]]);
        let later = rec(11, 2, vec![vec![json!("h1")], vec![]]);
        let has_second = rec(5, 3, vec![vec![json!("h1")], vec![json!("x")]]);
        assert!(h.excludes(&covered));
        assert!(!h.excludes(&later));
        assert!(!h.excludes(&has_second));
        h.prune(10);
        assert!(
            !h.excludes(&covered),
            "pruned once its end is not after from"
        );
    }

    #[test]
    fn query_execution_caps_buckets_and_plain_events() {
        let s = setup(1, false);
        let window: Vec<Record> = (0..5)
            .map(|i| rec(i, i as u64, vec![vec![json!(format!("h{i}"))]]))
            .chain((5..8).map(|i| rec(i, i as u64, vec![vec![]])))
            .collect();
        let mut h = BucketHistory::default();
        let (groups, missing, room) = query_execution(&s, &window, &mut h, 0, 3);
        assert_eq!(groups.len(), 4, "max_signals + 1 buckets");
        assert_eq!(
            (missing.len(), room),
            (3, 0),
            "no room left for plain alerts"
        );
        let (groups, missing, room) = query_execution(&s, &window[3..], &mut h, 0, 5);
        assert_eq!(groups.len(), 1, "h3 is covered by the history: only h4");
        assert_eq!((missing.len(), room), (3, 4));
    }

    #[test]
    fn in_memory_terms_sort_arrays_and_null_missing_fields() {
        let group_by = ["a".to_string(), "b".to_string()];
        let (terms, complete) =
            in_memory_terms(&group_by, &[vec![json!("y"), json!("x"), json!(2)], vec![]]);
        assert_eq!(
            terms,
            json!([{"field": "a", "value": [2, "x", "y"]}, {"field": "b", "value": null}])
        );
        assert!(!complete);
    }

    fn candidate(id: &str, instance: &str, start: i64, end: i64) -> Candidate {
        Candidate {
            alert: Alert {
                uuid: id.into(),
                own: "{".into(),
            },
            time: Some(start),
            terms: json!([]),
            instance: instance.into(),
            start,
            end,
            docs_count: 0,
        }
    }

    fn step(now: i64, duration: Option<i64>, limit: Option<usize>) -> Step {
        Step {
            now,
            fixed: Arc::from(""),
            duration,
            in_memory: true,
            limit,
        }
    }

    #[test]
    fn held_folds_in_memory_and_updates_open_alerts_within_the_duration() {
        use crate::detect::executor::Cap;
        use crate::detect::persist::RuleState;
        let mut state = RuleState::default();
        let mut held = Held::default();
        let mut p = Persist::new(&mut state, 10, Cap::Alerts);
        // One execution: two on i1 (the earlier stands), one on i2.
        let got = held.execute(
            &step(100, Some(50), None),
            vec![
                candidate("b", "i1", 20, 20),
                candidate("a", "i1", 10, 10),
                candidate("c", "i2", 15, 15),
            ],
            &mut p,
        );
        assert_eq!((got.created, got.suppressed), (2, 1));
        assert!(held.take_ready().is_empty(), "open while the duration runs");
        assert_eq!(held.open(), 2);
        // A later execution within the duration: a is written (dropped), b
        // is covered (end 20 <= 20), d updates i1.
        let mut p = Persist::new(&mut state, 10, Cap::Alerts);
        let got = held.execute(
            &step(140, Some(50), None),
            vec![
                candidate("a", "i1", 10, 10),
                candidate("b", "i1", 20, 20),
                candidate("d", "i1", 30, 30),
            ],
            &mut p,
        );
        assert_eq!((got.created, got.suppressed, got.covered), (0, 1, 1));
        assert_eq!(p.duplicates(), 1);
        // Past the duration (160 - 50 > 100): both are final; e is new.
        let mut p = Persist::new(&mut state, 10, Cap::Alerts);
        let got = held.execute(
            &step(160, Some(50), None),
            vec![candidate("e", "i1", 40, 40)],
            &mut p,
        );
        assert_eq!(got.created, 1);
        let ready = held.take_ready();
        assert_eq!(ready.len(), 2);
        let i1 = ready
            .iter()
            .map(|(_, docs)| docs[0].uuid.clone())
            .collect::<Vec<_>>();
        assert!(i1.contains(&"a".to_string()) && i1.contains(&"c".to_string()));
        let doc = |id: &str| {
            let (_, docs) = ready.iter().find(|(_, d)| d[0].uuid == id).unwrap();
            let mut text = docs[0].own.clone();
            text.push('}');
            serde_json::from_str::<Value>(&text).unwrap()
        };
        assert_eq!(doc("a")["kibana.alert.suppression.docs_count"], 2);
        held.release_all();
        assert_eq!(held.take_ready().len(), 1);
        assert_eq!(held.open(), 0);
    }

    #[test]
    fn held_without_a_duration_is_final_at_once_and_limits_candidates() {
        use crate::detect::executor::Cap;
        use crate::detect::persist::RuleState;
        let mut state = RuleState::default();
        let mut held = Held::default();
        let mut p = Persist::new(&mut state, 1, Cap::Alerts);
        let cands = (0..6)
            .map(|i| candidate(&format!("x{i}"), if i < 4 { "i1" } else { "i2" }, i, i))
            .collect();
        let got = held.execute(&step(10, None, Some(3)), cands, &mut p);
        assert_eq!((got.created, got.suppressed), (1, 2));
        assert!(p.was_cut());
        assert_eq!(held.open(), 0);
        assert_eq!(held.take_ready().len(), 1);
        assert_eq!(state.never_written(), 3);
    }
}
