//! Filters laid out flat for evaluation: the nodes of many filters in one
//! array, each filter's nodes together in pre-order.
//!
//! A [`Filter`] tree keeps every `and`/`or` list in an allocation of its
//! own, wherever the compiler left it: a rule set of a thousand rules
//! spreads its filters over megabytes, and walking one filter for an event
//! misses the cache at each level. A [`Program`] holds the same filters as
//! 16-byte nodes, one filter after the other, so that a filter's structure
//! is a line or two of memory; its term tests stay where the trees hold
//! them and are read only when evaluated. The verdicts are those of
//! [`matches`](fn@matches): leaves the flat form does not spell out (nested queries,
//! free text, scripts) are evaluated by it.

use super::{matches, passes, Document};
use crate::compile::ir::{FieldId, Filter, Test};

/// One node; `end` is the index just past its subtree (its last
/// descendant's successor), which lets `and`/`or` step over a child.
#[derive(Debug, Clone, Copy)]
struct Node {
    op: Op,
    end: u32,
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Const(bool),
    /// Children follow, up to `end`.
    And,
    Or,
    /// The child follows.
    Not,
    Exists(FieldId),
    ExplicitNull(FieldId),
    /// A term test: the field, and the test's place in `tests`.
    Test(FieldId, u32),
    /// A shared condition (its memo number); the condition follows.
    Shared(u32),
    /// Any other filter, by its place in `others`, for [`matches`](fn@matches).
    Other(u32),
}

/// Filters flattened for evaluation (see the module documentation); each
/// added filter is known by the number [`Program::add`] returned.
#[derive(Debug, Default)]
pub struct Program<'f> {
    nodes: Vec<Node>,
    /// Per filter added: its root node.
    roots: Vec<u32>,
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
        let root = self.nodes.len() as u32;
        self.push(filter);
        self.roots.push(root);
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

    fn push(&mut self, filter: &'f Filter) {
        let at = self.nodes.len();
        let op = match filter {
            Filter::Const(b) => Op::Const(*b),
            Filter::And(_) => Op::And,
            Filter::Or(_) => Op::Or,
            Filter::Not(_) => Op::Not,
            Filter::Exists(f) => Op::Exists(*f),
            Filter::ExplicitNull(f) => Op::ExplicitNull(*f),
            Filter::Test { field, test } => {
                self.tests.push(test);
                Op::Test(*field, (self.tests.len() - 1) as u32)
            }
            Filter::Shared(id, _) => Op::Shared(*id),
            Filter::Nested { .. } | Filter::AnyField { .. } | Filter::Script(_) => {
                self.others.push(filter);
                Op::Other((self.others.len() - 1) as u32)
            }
        };
        self.nodes.push(Node { op, end: 0 });
        match filter {
            Filter::And(children) | Filter::Or(children) => {
                children.iter().for_each(|c| self.push(c));
            }
            Filter::Not(child) | Filter::Shared(_, child) => self.push(child),
            _ => {}
        }
        self.nodes[at].end = self.nodes.len() as u32;
    }

    /// Whether `doc` satisfies filter `filter` (a number [`Program::add`]
    /// returned): the verdict of [`matches`](fn@matches) on the filter added.
    pub fn matches(&self, filter: usize, doc: &impl Document) -> bool {
        self.eval(self.roots[filter] as usize, doc)
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

    fn eval(&self, at: usize, doc: &impl Document) -> bool {
        let node = self.nodes[at];
        match node.op {
            Op::Const(b) => b,
            Op::And => {
                let mut child = at + 1;
                while child < node.end as usize {
                    if !self.eval(child, doc) {
                        return false;
                    }
                    child = self.nodes[child].end as usize;
                }
                true
            }
            Op::Or => {
                let mut child = at + 1;
                while child < node.end as usize {
                    if self.eval(child, doc) {
                        return true;
                    }
                    child = self.nodes[child].end as usize;
                }
                false
            }
            Op::Not => !self.eval(at + 1, doc),
            Op::Exists(field) => doc.present(field).next().is_some(),
            Op::ExplicitNull(field) => doc.values(field).any(|v| v.is_null()),
            Op::Test(field, test) => {
                let test = self.tests[test as usize];
                doc.present(field).any(|v| passes(test, &v))
            }
            Op::Shared(id) => doc.shared(id, || self.eval(at + 1, doc)),
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
