//! The field table: the dotted field paths the compiled rules read, interned
//! as [`FieldId`]s and organised as a trie over path segments.
//!
//! The projection deserializer walks this trie while it reads an event: for
//! every JSON key it asks the current node whether the key (split at its
//! dots, so `"process.name"` and `{"process": {"name": ..}}` meet the same
//! node) leads somewhere. A key that leads nowhere is skipped without being
//! looked at further; a node that carries a field records the values found
//! there; a node with children is descended into.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// An interned field path (index into the [`FieldTable`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldId(pub(crate) u32);

impl FieldId {
    /// The dense index of this field, `0..table.len()`, for per-field arrays.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A node of the path trie: a path prefix such as `dns.answers`. Nested
/// (KQL `path:{...}`) queries name their scope by the node of `path`; see
/// [`crate::event::Record::element_in`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeId(pub(crate) u32);

/// Below this many children a node keeps them in a vector and scans it;
/// comparing a word and a length per child beats hashing the key.
const FEW: usize = 8;

/// A small multiplicative hasher for the short segment strings of a wide
/// trie node (the root of an ECS rule set has dozens of children). The
/// standard SipHash is built to resist flooding, which a rule set's own
/// field names cannot cause, and costs several times more per key.
#[derive(Default)]
pub(crate) struct SegmentHasher(u64);

impl Hasher for SegmentHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            h = (h.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
        self.0 = h;
    }

    fn write_u8(&mut self, i: u8) {
        self.write(&[i]);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type SegmentMap = HashMap<Box<str>, u32, BuildHasherDefault<SegmentHasher>>;

/// One child of a narrow node, with its segment's first eight bytes packed
/// into a word (little-endian, zero-padded) so that a lookup compares one
/// word and a length per child instead of strings.
#[derive(Debug, Clone)]
struct Child {
    prefix: u64,
    len: usize,
    seg: Box<str>,
    node: u32,
}

/// The first eight bytes of `seg` as a little-endian word, zero-padded.
pub(crate) fn prefix_of(seg: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    let n = seg.len().min(8);
    word[..n].copy_from_slice(&seg[..n]);
    u64::from_le_bytes(word)
}

#[derive(Debug, Clone)]
enum Children {
    Few(Vec<Child>),
    Many(SegmentMap),
}

impl Children {
    fn get(&self, seg: &str) -> Option<u32> {
        self.get_prefixed(seg, prefix_of(seg.as_bytes()))
    }

    /// [`Children::get`] with the segment's [`prefix_of`] already known.
    #[inline]
    fn get_prefixed(&self, seg: &str, prefix: u64) -> Option<u32> {
        match self {
            Children::Few(v) => {
                // Most keys of an event match no child: one word and a
                // length reject them; only longer segments compare the rest.
                let len = seg.len();
                v.iter()
                    .find(|c| {
                        c.prefix == prefix
                            && c.len == len
                            && (len <= 8 || c.seg.as_bytes()[8..] == seg.as_bytes()[8..])
                    })
                    .map(|c| c.node)
            }
            Children::Many(m) => m.get(seg).copied(),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Children::Few(v) => v.is_empty(),
            Children::Many(m) => m.is_empty(),
        }
    }

    fn insert(&mut self, seg: &str, node: u32) {
        match self {
            Children::Few(v) if v.len() < FEW => v.push(Child {
                prefix: prefix_of(seg.as_bytes()),
                len: seg.len(),
                seg: seg.into(),
                node,
            }),
            Children::Few(v) => {
                let mut m: SegmentMap = v.drain(..).map(|c| (c.seg, c.node)).collect();
                m.insert(seg.into(), node);
                *self = Children::Many(m);
            }
            Children::Many(m) => {
                m.insert(seg.into(), node);
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Node {
    children: Children,
    field: Option<FieldId>,
}

/// The set of fields a rule set reads, as a trie over path segments.
///
/// Build it once at compile time with [`FieldTable::intern`]; it is then
/// shared read-only by every projection (it is `Sync`).
#[derive(Debug, Clone)]
pub struct FieldTable {
    nodes: Vec<Node>,
    paths: Vec<Box<str>>,
}

impl Default for FieldTable {
    fn default() -> Self {
        Self::new()
    }
}

impl FieldTable {
    /// An empty table (only the root node).
    pub fn new() -> Self {
        FieldTable {
            nodes: vec![Node {
                children: Children::Few(Vec::new()),
                field: None,
            }],
            paths: Vec::new(),
        }
    }

    /// The root node (the top level of an event).
    pub fn root(&self) -> NodeId {
        NodeId(0)
    }

    /// Interns `path` (dotted, e.g. `process.parent.name`) and returns its id;
    /// the same path always gives the same id.
    pub fn intern(&mut self, path: &str) -> FieldId {
        let node = self.intern_node(path);
        let n = &mut self.nodes[node.0 as usize];
        if let Some(f) = n.field {
            return f;
        }
        let id = FieldId(self.paths.len() as u32);
        n.field = Some(id);
        self.paths.push(path.into());
        id
    }

    /// Interns the trie node of `path` without making it a field: the scope
    /// of a nested query (`dns.answers:{...}`), which only groups values.
    pub fn intern_node(&mut self, path: &str) -> NodeId {
        let mut cur = 0u32;
        for seg in path.split('.') {
            cur = match self.nodes[cur as usize].children.get(seg) {
                Some(n) => n,
                None => {
                    let n = self.nodes.len() as u32;
                    self.nodes.push(Node {
                        children: Children::Few(Vec::new()),
                        field: None,
                    });
                    self.nodes[cur as usize].children.insert(seg, n);
                    n
                }
            };
        }
        NodeId(cur)
    }

    /// The id of an interned field path, if any.
    pub fn get(&self, path: &str) -> Option<FieldId> {
        self.node(path).and_then(|n| self.field_at(n))
    }

    /// The trie node of an interned path (field or scope), if any.
    pub fn node(&self, path: &str) -> Option<NodeId> {
        self.walk(self.root(), path)
    }

    /// The dotted path of a field.
    pub fn path(&self, id: FieldId) -> &str {
        &self.paths[id.index()]
    }

    /// How many fields are interned; ids are `0..len()`.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    /// Whether no field is interned.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// Every field with its path, in id order.
    pub fn fields(&self) -> impl Iterator<Item = (FieldId, &str)> {
        self.paths
            .iter()
            .enumerate()
            .map(|(i, p)| (FieldId(i as u32), &**p))
    }

    /// Follows a JSON key from `from`: the key is split at its dots, so a flat
    /// key `"parent.name"` under `process` reaches `process.parent.name`.
    /// `None` when the key leads to nothing the rules read.
    pub fn walk(&self, from: NodeId, key: &str) -> Option<NodeId> {
        // A plain byte loop: `str::split` costs more than the lookups for
        // the short keys of an event, and this runs for every key read.
        let bytes = key.as_bytes();
        let mut cur = from.0;
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'.' {
                cur = self.nodes[cur as usize].children.get(&key[start..i])?;
                start = i + 1;
            }
        }
        cur = self.nodes[cur as usize].children.get(&key[start..])?;
        Some(NodeId(cur))
    }

    /// The child of `from` for one key segment without dots, whose
    /// [`prefix_of`] the caller has computed (the scanner reads it straight
    /// from the event bytes).
    #[inline]
    pub(crate) fn child(&self, from: NodeId, seg: &str, prefix: u64) -> Option<NodeId> {
        self.nodes[from.0 as usize]
            .children
            .get_prefixed(seg, prefix)
            .map(NodeId)
    }

    /// The field recorded at `node`, if the rules read that exact path.
    pub fn field_at(&self, node: NodeId) -> Option<FieldId> {
        self.nodes[node.0 as usize].field
    }

    /// Whether some field lies below `node` (objects there must be read).
    pub fn has_children(&self, node: NodeId) -> bool {
        !self.nodes[node.0 as usize].children.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_is_stable_and_shares_prefixes() {
        let mut t = FieldTable::new();
        let a = t.intern("process.name");
        let b = t.intern("process.parent.name");
        assert_eq!(t.intern("process.name"), a);
        assert_ne!(a, b);
        assert_eq!(t.path(b), "process.parent.name");
        assert_eq!(t.get("process.name"), Some(a));
        assert_eq!(t.get("process"), None);
        let p = t.walk(t.root(), "process").unwrap();
        assert!(t.has_children(p));
        assert_eq!(
            t.walk(p, "parent.name").and_then(|n| t.field_at(n)),
            Some(b)
        );
        assert_eq!(t.walk(p, "pid"), None);
    }

    #[test]
    fn wide_nodes_switch_to_a_map() {
        let mut t = FieldTable::new();
        let ids: Vec<_> = (0..50).map(|i| t.intern(&format!("f{i}.x"))).collect();
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(t.get(&format!("f{i}.x")), Some(*id));
        }
        assert_eq!(t.get("f50.x"), None);
        assert_eq!(t.len(), 50);
    }
}
