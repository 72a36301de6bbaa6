//! The ordered, stateful stage for sequences: events come in (timestamp,
//! tiebreaker, input order) order, already reduced to the stages they match
//! and their join keys; complete sequences come out in the order they
//! complete.
//!
//! Elasticsearch's state machine keeps, per stage and per join key, only the
//! newest partial sequence that has reached that stage. An event that
//! matches several stages is offered to the last stage first, so it can
//! complete an older partial sequence before starting a new one; this gives
//! `[a] [a]` over events 1..5 the matches (1,2), (2,3), (3,4), (4,5).
//! `maxspan` drops a partial sequence that cannot complete in time, `until`
//! drops every partial sequence of its key. State is bounded by the number
//! of distinct join keys times the number of stages.

use compact_str::CompactString;
use rustc_hash::FxHashMap;

/// A join-key value: a string, or a number or boolean as its canonical text
/// (so `"1234"` and `1234` stay different keys, as in Elasticsearch). The
/// texts are [`CompactString`]s, held inline up to 24 bytes: most keys
/// (entity ids, host ids, addresses, ports) are short, and every event a
/// sequence step matches builds its keys.
///
/// Serialized as a one-key map naming the kind (`{"str": "abc"}`,
/// `{"num": "5"}`, `{"bool": true}`, `{"date": 1704067200000000000}`), so
/// that `"5"` and `5` stay apart on the wire too.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum KeyValue {
    /// A keyword value.
    Str(CompactString),
    /// A number, in canonical text (`5`, `2.5`).
    Num(CompactString),
    /// `true` / `false`.
    Bool(bool),
    /// A value of a `date` or `date_nanos` field, in nanoseconds since the
    /// epoch: `"2024-01-01"` and `1704067200000` are the same key.
    /// Elasticsearch writes it as ISO 8601 in a sequence's join keys and
    /// as epoch milliseconds in a sample's ([`KeyValue::date_text`]).
    Date(i64),
}

impl KeyValue {
    /// A date key's text as Elasticsearch returns it: ISO 8601 with at
    /// least milliseconds (`1970-01-01T00:00:00.000Z`) in a sequence,
    /// epoch milliseconds (`1671235200000`) in a sample.
    pub fn date_text(nanos: i64, in_sequence: bool) -> String {
        if in_sequence {
            crate::compile::date::format_iso_key(nanos)
        } else {
            nanos.div_euclid(1_000_000).to_string()
        }
    }
}

/// A join-key value as the matcher compares it, or `None` for the null of
/// an optional key.
pub type KeyPart = Option<KeyValue>;

/// All join-key values of one event for one stage.
pub type Key = Vec<KeyPart>;

/// An event's position in the ordered input.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Ordinal {
    /// The event time, in nanoseconds since the epoch.
    pub timestamp: i64,
    /// The position in the input (after sorting by timestamp and tiebreaker).
    pub position: u64,
}

/// A partial or complete sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// The join key.
    pub key: Key,
    /// The events of the stages reached so far, in stage order.
    pub events: Vec<usize>,
    /// When the first event happened, for `maxspan`.
    start: i64,
}

/// The sequence state machine.
#[derive(Debug)]
pub struct SequenceMatcher {
    stages: usize,
    maxspan: Option<i64>,
    /// `pending[i]`: per key, the newest partial sequence whose last event
    /// matched stage `i` (never the last stage: those are complete).
    pending: Vec<FxHashMap<Key, Match>>,
    /// When expired partial sequences were last dropped.
    swept_at: i64,
    /// The partial sequences held at most, and where to count those
    /// dropped past it.
    limit: usize,
    dropped: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl SequenceMatcher {
    /// A matcher for `stages` stages (runs already expanded), with
    /// `maxspan` in nanoseconds.
    pub fn new(stages: usize, maxspan: Option<i64>) -> Self {
        assert!(stages >= 1, "a sequence has at least one stage");
        SequenceMatcher {
            stages,
            maxspan,
            pending: vec![FxHashMap::default(); stages.saturating_sub(1)],
            swept_at: i64::MIN,
            limit: usize::MAX,
            dropped: std::sync::Arc::default(),
        }
    }

    /// Holds at most `limit` partial sequences: past it, the oldest (by
    /// their first event's time) are dropped, down to three quarters of
    /// it, and counted in `dropped`. Each may cost a sequence; none is
    /// invented.
    pub fn with_limit(
        mut self,
        limit: usize,
        dropped: std::sync::Arc<std::sync::atomic::AtomicU64>,
    ) -> Self {
        self.limit = limit.max(1);
        self.dropped = dropped;
        self
    }

    /// Feeds the next event (in order) and appends completed sequences to
    /// `out`: its time (`ts`, nanoseconds), the caller's handle for it (its
    /// index in the input, say), the stages it matches with the keys it
    /// joins on there (several for multi-valued key fields), the latest
    /// stage first, and the keys for which it matches `until`. An event
    /// that matches several stages is offered to the latest first (see the
    /// module's documentation). Returns whether the event took part:
    /// whether a partial or complete sequence now holds it (an event that
    /// only matches a later stage of keys with no partial sequence is not
    /// needed again).
    pub fn feed<'k>(
        &mut self,
        ts: i64,
        event: usize,
        stages_latest_first: impl IntoIterator<Item = (usize, &'k [Key])>,
        until: &[Key],
        out: &mut Vec<Match>,
    ) -> bool {
        self.sweep(ts);
        let mut took = false;
        for (stage, keys) in stages_latest_first {
            for key in keys {
                took |= self.offer(stage, key, ts, event, out);
            }
        }
        // `until` closes the partial sequences of its key after the event's
        // own steps ran: an event that is both the last step and the `until`
        // still completes its sequence, one that only extends a sequence
        // closes it (Elasticsearch's specs fix both).
        for key in until {
            for stage in &mut self.pending {
                stage.remove(key);
            }
        }
        took
    }

    /// Offers the event (`event`, at time `ts`) to one stage for one key;
    /// whether a sequence took it.
    fn offer(
        &mut self,
        stage: usize,
        key: &Key,
        ts: i64,
        event: usize,
        out: &mut Vec<Match>,
    ) -> bool {
        let next = if stage == 0 {
            Match {
                key: key.clone(),
                events: vec![event],
                start: ts,
            }
        } else {
            // Most later-step candidates find no partial sequence at all:
            // an empty map is not worth hashing the key for.
            let waiting = &mut self.pending[stage - 1];
            if waiting.is_empty() {
                return false;
            }
            let Some(mut partial) = waiting.remove(key) else {
                return false;
            };
            if self.maxspan.is_some_and(|m| ts - partial.start > m) {
                return false;
            }
            partial.events.push(event);
            partial
        };
        if stage + 1 == self.stages {
            out.push(next);
        } else if self.pending[stage].insert(key.clone(), next).is_none()
            && self.pending() > self.limit
        {
            self.drop_oldest();
        }
        true
    }

    /// Drops the oldest partial sequences, down to three quarters of the
    /// limit (so that a full matcher does not sort its partials at every
    /// new one).
    fn drop_oldest(&mut self) {
        let held = self.pending();
        let keep = self.limit - self.limit / 4;
        let mut starts: Vec<i64> = self
            .pending
            .iter()
            .flat_map(|stage| stage.values().map(|m| m.start))
            .collect();
        // The start of the newest partial dropped: those before it go, and
        // as many at it as are needed.
        let cut = held - keep;
        let (_, &mut at, _) = starts.select_nth_unstable(cut - 1);
        let before = starts.iter().filter(|&&s| s < at).count();
        let mut at_cut = cut - before;
        for stage in &mut self.pending {
            stage.retain(|_, m| {
                if m.start < at {
                    return false;
                }
                if m.start == at && at_cut > 0 {
                    at_cut -= 1;
                    return false;
                }
                true
            });
        }
        let dropped = held - self.pending();
        self.dropped
            .fetch_add(dropped as u64, std::sync::atomic::Ordering::Relaxed);
    }

    /// Drops partial sequences that can no longer complete within
    /// `maxspan`, once per `maxspan` of input time, so that state holds only
    /// keys seen within the last `maxspan` (amortised: each partial sequence
    /// is visited a bounded number of times). Without `maxspan` nothing
    /// expires: a partial sequence waits for its key until the input ends.
    fn sweep(&mut self, now: i64) {
        let Some(m) = self.maxspan else { return };
        if now.saturating_sub(self.swept_at) <= m {
            return;
        }
        for stage in &mut self.pending {
            stage.retain(|_, p| now - p.start <= m);
        }
        self.swept_at = now;
    }

    /// The events the partial sequences held refer to (with repeats).
    pub fn pending_events(&self) -> impl Iterator<Item = usize> + '_ {
        self.pending
            .iter()
            .flat_map(|stage| stage.values().flat_map(|m| m.events.iter().copied()))
    }

    /// Number of partial sequences held.
    pub fn pending(&self) -> usize {
        self.pending.iter().map(|p| p.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_limit_the_oldest_partials_are_dropped_and_counted() {
        let dropped = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut m = SequenceMatcher::new(2, None).with_limit(8, dropped.clone());
        let mut out = Vec::new();
        let key = |i: usize| -> Key { vec![Some(KeyValue::Str(format!("k{i}").into()))] };
        // Eight first steps are held; the ninth drops the three oldest.
        for i in 0..9 {
            m.feed(i as i64, i, [(0, &[key(i)][..])], &[], &mut out);
        }
        assert_eq!(m.pending(), 6);
        assert_eq!(dropped.load(std::sync::atomic::Ordering::Relaxed), 3);
        // A dropped partial completes nothing; a kept one does.
        m.feed(20, 20, [(1, &[key(0)][..])], &[], &mut out);
        assert!(out.is_empty());
        m.feed(21, 21, [(1, &[key(8)][..])], &[], &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].events, vec![8, 21]);
    }

    /// An event (handle `i`, time `ts`) of the given stages, joining on
    /// `key`, and closing the sequences of `until`.
    struct Cand {
        i: usize,
        ts: i64,
        stages: Vec<usize>,
        key: Vec<Key>,
        until: Vec<Key>,
    }

    fn cand(i: usize, ts: i64, stages: &[usize], key: &str) -> Cand {
        Cand {
            i,
            ts,
            stages: stages.to_vec(),
            key: vec![vec![Some(KeyValue::Str(key.into()))]],
            until: Vec::new(),
        }
    }

    fn push(m: &mut SequenceMatcher, c: &Cand, out: &mut Vec<Match>) -> bool {
        let stages = c.stages.iter().rev().map(|s| (*s, c.key.as_slice()));
        m.feed(c.ts, c.i, stages, &c.until, out)
    }

    fn run(m: &mut SequenceMatcher, cands: &[Cand]) -> Vec<Vec<usize>> {
        let mut out = Vec::new();
        for c in cands {
            push(m, c, &mut out);
        }
        out.into_iter().map(|m| m.events).collect()
    }

    #[test]
    fn an_event_completes_one_sequence_and_starts_another() {
        let cands: Vec<_> = (1..=5).map(|i| cand(i, i as i64, &[0, 1], "k")).collect();
        let got = run(&mut SequenceMatcher::new(2, None), &cands);
        assert_eq!(got, vec![vec![1, 2], vec![2, 3], vec![3, 4], vec![4, 5]]);
    }

    #[test]
    fn newer_partial_replaces_older_and_keys_separate() {
        let cands = vec![
            cand(1, 1, &[0], "a"),
            cand(2, 2, &[0], "a"),
            cand(3, 3, &[0], "b"),
            cand(4, 4, &[1], "a"),
            cand(5, 5, &[1], "b"),
        ];
        let got = run(&mut SequenceMatcher::new(2, None), &cands);
        assert_eq!(got, vec![vec![2, 4], vec![3, 5]]);
    }

    #[test]
    fn expired_partial_sequences_are_dropped() {
        let mut m = SequenceMatcher::new(2, Some(10));
        let mut out = Vec::new();
        for i in 0..100 {
            // Each event starts a sequence for its own key, none completes.
            push(
                &mut m,
                &cand(i, i as i64 * 5, &[0], &format!("k{i}")),
                &mut out,
            );
        }
        assert!(out.is_empty());
        // Only keys started within the last two maxspans remain.
        assert!(m.pending() <= 5, "{} pending", m.pending());
    }

    #[test]
    fn maxspan_and_until() {
        let cands = vec![cand(1, 0, &[0], "a"), cand(2, 11, &[1], "a")];
        assert!(run(&mut SequenceMatcher::new(2, Some(10)), &cands).is_empty());
        assert_eq!(
            run(&mut SequenceMatcher::new(2, Some(11)), &cands),
            vec![vec![1, 2]]
        );
        let mut until = cand(2, 5, &[], "a");
        until.until = vec![vec![Some(KeyValue::Str("a".into()))]];
        let cands = vec![cand(1, 0, &[0], "a"), until, cand(3, 6, &[1], "a")];
        let mut m = SequenceMatcher::new(2, None);
        assert!(run(&mut m, &cands).is_empty());
        assert_eq!(m.pending(), 0);
    }
}

/// Whether a candidate sequence is cancelled by its missing-event stages.
///
/// `missing[i]` says whether stage `i` is a `![...]` stage; `positives` holds
/// the candidate's events for the other stages, in order; `fillers[i]` holds,
/// for a missing stage `i`, the events with the candidate's key that match
/// it, in input order (empty for positive stages).
///
/// Elasticsearch's specs fix the rule: a missing stage between two positive
/// stages cancels the candidate when any matching event lies strictly
/// between its neighbours, each such stage on its own (so `runs=2` on a
/// missing stage needs only one event). The leading and trailing missing
/// stages count together: they cancel only when all of them can be filled,
/// in order, with the whole sequence still within `maxspan`
/// (`![m] [n] ![m]` with maxspan=19m keeps `n` when the two `m` events are 20
/// minutes apart). Choosing the fillers nearest the positive events keeps
/// the span smallest, so a greedy choice decides.
pub fn is_cancelled(
    missing: &[bool],
    positives: &[Ordinal],
    fillers: &[&[Ordinal]],
    maxspan: Option<i64>,
) -> bool {
    let n = missing.len();
    let key = |o: &Ordinal| (o.timestamp, o.position);
    let mut positive_at: Vec<Option<Ordinal>> = vec![None; n];
    let mut it = positives.iter();
    for i in 0..n {
        if !missing[i] {
            positive_at[i] = it.next().copied();
        }
    }
    let (Some(first), Some(last)) = (
        (0..n).find(|&i| !missing[i]),
        (0..n).rfind(|&i| !missing[i]),
    ) else {
        return false;
    };
    // Stages between two positive events: any matching event between them cancels.
    for i in first + 1..last {
        if !missing[i] {
            continue;
        }
        let prev = (0..i)
            .rev()
            .find_map(|j| positive_at[j])
            .expect("a positive stage precedes");
        let next = (i + 1..n)
            .find_map(|j| positive_at[j])
            .expect("a positive stage follows");
        if fillers[i]
            .iter()
            .any(|o| key(o) > key(&prev) && key(o) < key(&next))
        {
            return true;
        }
    }
    if first == 0 && last == n - 1 {
        return false;
    }
    // Leading stages, filled backwards with the latest events before the first positive.
    let mut lo = positive_at[first].expect("first positive").timestamp;
    let mut bound = positive_at[first].expect("first positive");
    for i in (0..first).rev() {
        match fillers[i].iter().rev().find(|o| key(o) < key(&bound)) {
            Some(o) => {
                bound = *o;
                lo = o.timestamp;
            }
            None => return false,
        }
    }
    // Trailing stages, filled forwards with the earliest events after the last positive.
    let mut hi = positive_at[last].expect("last positive").timestamp;
    let mut bound = positive_at[last].expect("last positive");
    for stage in &fillers[last + 1..] {
        match stage.iter().find(|o| key(o) > key(&bound)) {
            Some(o) => {
                bound = *o;
                hi = o.timestamp;
            }
            None => return false,
        }
    }
    maxspan.is_none_or(|m| hi - lo <= m)
}

#[cfg(test)]
mod missing_tests {
    use super::*;

    fn o(t: i64) -> Ordinal {
        Ordinal {
            timestamp: t,
            position: t as u64,
        }
    }

    #[test]
    fn middle_stages_cancel_on_their_own() {
        // [a] ![m] [b]: an event between a and b cancels.
        assert!(is_cancelled(
            &[false, true, false],
            &[o(1), o(4)],
            &[&[], &[o(3)], &[]],
            None
        ));
        assert!(!is_cancelled(
            &[false, true, false],
            &[o(1), o(4)],
            &[&[], &[o(5)], &[]],
            None
        ));
        // Two middle missing stages: either one alone cancels.
        let m = [o(3)];
        let f: [&[Ordinal]; 4] = [&[], &m, &[], &[]];
        assert!(is_cancelled(
            &[false, true, true, false],
            &[o(1), o(9)],
            &f,
            None
        ));
    }

    #[test]
    fn leading_and_trailing_cancel_together_within_maxspan() {
        let fill = [o(0), o(20)];
        let f: [&[Ordinal]; 3] = [&fill, &[], &fill];
        assert!(!is_cancelled(&[true, false, true], &[o(10)], &f, Some(19)));
        assert!(is_cancelled(&[true, false, true], &[o(10)], &f, Some(21)));
        // Only a leading event: a trailing stage left empty keeps the candidate.
        let before = [o(9)];
        let f: [&[Ordinal]; 3] = [&before, &[], &[]];
        assert!(!is_cancelled(&[true, false, true], &[o(10)], &f, Some(19)));
        let f: [&[Ordinal]; 2] = [&before, &[]];
        assert!(is_cancelled(&[true, false], &[o(10)], &f, Some(3)));
        assert!(!is_cancelled(&[true, false], &[o(20)], &f, Some(3)));
    }
}
