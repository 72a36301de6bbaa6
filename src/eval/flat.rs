//! Filters laid out flat for evaluation: the conditions of many filters in
//! one array, as short-circuit jump code.
//!
//! A [`Filter`] tree keeps every `and`/`or` list in an allocation of its
//! own, wherever the compiler left it: a rule set of a thousand rules
//! spreads its filters over megabytes, and walking one filter for an event
//! misses the cache at each level, and pays a call per node. A [`Program`]
//! holds a filter as its leaf conditions only, one after the other, each
//! knowing where to go when it holds and when it does not: the next
//! condition, or the verdict. `and`, `or` and `not` become those jumps (a
//! failed condition of an `and` jumps past the rest, `not` swaps the two
//! targets), so that evaluating a filter is a loop over a line or two of
//! memory. Term tests stay where the trees hold them and are read only when
//! evaluated. The verdicts are those of [`matches`](fn@matches): leaves the
//! flat form does not spell out (nested queries, free text, scripts) are
//! evaluated by it.
//!
//! Layer: evaluation. It imports the compiled IR and
//! [`crate::compile::test`], and the rest of [`crate::eval`]; compilation
//! does not import it.

use super::{matches, Document};
use crate::compile::ir::{FieldId, Filter, Test};
use crate::compile::test::passes;

/// Where evaluation goes after a condition: another condition (its place
/// in [`Program::code`]), or one of the two verdicts.
type Target = u32;
const HOLDS: Target = u32::MAX;
const FAILS: Target = u32::MAX - 1;

/// One condition and the two places to go after it.
#[derive(Debug, Clone, Copy)]
struct Step {
    op: Op,
    /// Where to go when the condition holds.
    then: Target,
    /// Where to go when it does not.
    other: Target,
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Exists(FieldId),
    ExplicitNull(FieldId),
    /// A term test: the field, and the test's place in `tests`.
    Test(FieldId, u32),
    /// A term test whose verdict is shared (its memo number, field, test).
    SharedTest(u32, FieldId, u32),
    /// Any other filter, by its place in `others`, for [`matches`](fn@matches).
    Other(u32),
}

/// Filters flattened for evaluation (see the module documentation); each
/// added filter is known by the number [`Program::add`] returned.
#[derive(Debug, Default)]
pub struct Program<'f> {
    code: Vec<Step>,
    /// Per filter added: where its evaluation starts (a verdict, for a
    /// filter that needs no condition).
    roots: Vec<Target>,
    tests: Vec<&'f Test>,
    others: Vec<&'f Filter>,
}

impl<'f> Program<'f> {
    /// An empty program.
    pub fn new() -> Self {
        Program::default()
    }

    /// Adds `filter`; returns its number, for [`Program::matches`].
    pub fn add(&mut self, filter: &'f Filter) -> usize {
        // Steps are emitted last first (a condition's targets must exist
        // before it), then put in evaluation order.
        let start = self.code.len();
        let root = self.emit(filter, HOLDS, FAILS);
        let steps = self.code.len() - start;
        let place = |t: Target| match t {
            HOLDS | FAILS => t,
            t => (start + steps - 1 - (t as usize - start)) as Target,
        };
        self.code[start..].reverse();
        for step in &mut self.code[start..] {
            step.then = place(step.then);
            step.other = place(step.other);
        }
        self.roots.push(place(root));
        self.roots.len() - 1
    }

    /// How many filters were added.
    pub fn len(&self) -> usize {
        self.roots.len()
    }

    /// Whether no filter was added.
    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    /// Emits the steps of `filter`, going to `then` when it holds and to
    /// `other` when not; returns where its evaluation starts.
    fn emit(&mut self, filter: &'f Filter, then: Target, other: Target) -> Target {
        let op = match filter {
            Filter::Const(true) => return then,
            Filter::Const(false) => return other,
            Filter::And(children) => {
                // Each child passes on to the next; any failing fails all.
                let mut next = then;
                for c in children.iter().rev() {
                    next = self.emit(c, next, other);
                }
                return next;
            }
            Filter::Or(children) => {
                let mut next = other;
                for c in children.iter().rev() {
                    next = self.emit(c, then, next);
                }
                return next;
            }
            Filter::Not(child) => return self.emit(child, other, then),
            Filter::Exists(f) => Op::Exists(*f),
            Filter::ExplicitNull(f) => Op::ExplicitNull(*f),
            Filter::Test { field, test } => {
                self.tests.push(test);
                Op::Test(*field, (self.tests.len() - 1) as u32)
            }
            Filter::Shared(id, inner) => match &**inner {
                Filter::Test { field, test } => {
                    self.tests.push(test);
                    Op::SharedTest(*id, *field, (self.tests.len() - 1) as u32)
                }
                _ => self.other(filter),
            },
            Filter::Nested { .. } | Filter::AnyField { .. } | Filter::Script(_) => {
                self.other(filter)
            }
        };
        self.code.push(Step { op, then, other });
        (self.code.len() - 1) as Target
    }

    fn other(&mut self, filter: &'f Filter) -> Op {
        self.others.push(filter);
        Op::Other((self.others.len() - 1) as u32)
    }

    /// Whether `doc` satisfies filter `filter` (a number [`Program::add`]
    /// returned): the verdict of [`matches`](fn@matches) on the filter added.
    pub fn matches(&self, filter: usize, doc: &impl Document) -> bool {
        let mut at = self.roots[filter];
        loop {
            match at {
                HOLDS => return true,
                FAILS => return false,
                _ => {}
            }
            let step = self.code[at as usize];
            at = if self.holds(step.op, doc) {
                step.then
            } else {
                step.other
            };
        }
    }

    /// The verdicts of the filters numbered `first + i` for each bit `i`
    /// set in `mask`: bit `i` of the result is set when that filter holds.
    pub fn verdicts(&self, first: u32, mask: u64, doc: &impl Document) -> u64 {
        let (mut bits, mut verdicts) = (mask, 0u64);
        while bits != 0 {
            let bit = bits.trailing_zeros();
            bits &= bits - 1;
            if self.matches(first as usize + bit as usize, doc) {
                verdicts |= 1 << bit;
            }
        }
        verdicts
    }

    fn holds(&self, op: Op, doc: &impl Document) -> bool {
        match op {
            Op::Exists(field) => doc.present(field).next().is_some(),
            Op::ExplicitNull(field) => doc.values(field).any(|v| v.is_null()),
            Op::Test(field, test) => {
                let test = self.tests[test as usize];
                doc.present(field).any(|v| passes(test, &v))
            }
            Op::SharedTest(id, field, test) => doc.shared(id, || {
                let test = self.tests[test as usize];
                doc.present(field).any(|v| passes(test, &v))
            }),
            Op::Other(i) => matches(self.others[i as usize], doc),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::ir::Lit;
    use crate::event::{FieldTable, Projector};

    #[test]
    fn flat_verdicts_are_the_trees_verdicts() {
        let mut table = FieldTable::default();
        let os = table.intern("host.os.type");
        let name = table.intern("process.name");
        let eq = |field, s: &str| Filter::Test {
            field,
            test: Test::Eq(Lit::Str(s.into())),
        };
        // `and`, `or`, `not` nested, a missing field under `not`, constants.
        let filters = [
            Filter::And(vec![
                eq(os, "linux"),
                Filter::Or(vec![eq(name, "bash"), eq(name, "sh")]),
            ]),
            Filter::And(vec![
                eq(os, "linux"),
                Filter::Not(Box::new(Filter::Or(vec![
                    eq(name, "bash"),
                    Filter::Exists(name),
                ]))),
            ]),
            Filter::Or(vec![
                Filter::Const(false),
                Filter::Not(Box::new(eq(os, "macos"))),
            ]),
            Filter::And(vec![]),
            Filter::Or(vec![]),
            // Shared tests, under `not` and beside one.
            Filter::Or(vec![
                Filter::Not(Box::new(Filter::Shared(0, Box::new(eq(os, "linux"))))),
                Filter::And(vec![
                    Filter::Shared(0, Box::new(eq(os, "linux"))),
                    Filter::Not(Box::new(Filter::Exists(name))),
                ]),
            ]),
            Filter::Not(Box::new(Filter::And(vec![
                Filter::Or(vec![eq(name, "zsh"), eq(name, "sh")]),
                Filter::Not(Box::new(Filter::Const(false))),
            ]))),
        ];
        let mut program = Program::new();
        let numbers: Vec<usize> = filters.iter().map(|f| program.add(f)).collect();
        let mut projector = Projector::new(&table);
        let events = [
            r#"{"host":{"os":{"type":"linux"}},"process":{"name":"sh"}}"#,
            r#"{"host":{"os":{"type":"linux"}}}"#,
            r#"{"host":{"os":{"type":"macos"}},"process":{"name":"bash"}}"#,
            r#"{"process":{"name":["zsh","bash"]}}"#,
        ];
        let mut seen = Vec::new();
        for event in events {
            let record = projector.project(event.as_bytes()).expect("valid event");
            for (f, &n) in filters.iter().zip(&numbers) {
                let flat = program.matches(n, &record);
                assert_eq!(flat, matches(f, &record), "{f:?} on {event}");
                seen.push(flat);
            }
            projector.recycle(record);
        }
        // Both verdicts occur, so the comparison means something.
        assert!(seen.contains(&true) && seen.contains(&false));
    }
}
