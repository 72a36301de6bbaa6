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
    /// Every child: (segment, node).
    fn list(&self) -> Vec<(&str, u32)> {
        match self {
            Children::Few(v) => v.iter().map(|c| (&*c.seg, c.node)).collect(),
            Children::Many(m) => m.iter().map(|(s, &n)| (&**s, n)).collect(),
        }
    }

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

/// One slot of a node's [`Slots`]: a child's segment as the scanner meets
/// it ([`prefix_of`] and length; the bytes past the eighth for longer
/// segments), or empty (`len == usize::MAX`).
#[derive(Debug, Clone)]
struct Slot {
    prefix: u64,
    len: usize,
    rest: Box<[u8]>,
    node: u32,
}

/// A node's children in a perfect hash table for the scanner's lookups:
/// each child sits alone in slot `hash(prefix, len)`, so a key costs one
/// multiplication and one comparison however many children there are.
/// Built when a child is added; `None` when no multiplier separates them
/// (two segments alike in their first eight bytes and length), and lookups
/// then go through [`Children`].
#[derive(Debug, Clone)]
struct Slots {
    mult: u64,
    shift: u32,
    slots: Vec<Slot>,
}

impl Slots {
    #[inline(always)]
    fn index(&self, prefix: u64, len: usize) -> usize {
        (prefix.wrapping_add(len as u64).wrapping_mul(self.mult) >> self.shift) as usize
    }

    /// A table for `children` (segment, node), if one is found.
    fn build(children: &[(&str, u32)]) -> Option<Slots> {
        if children.is_empty() {
            return Some(Slots {
                mult: 0,
                shift: 63,
                slots: Vec::new(),
            });
        }
        let empty = Slot {
            prefix: 0,
            len: usize::MAX,
            rest: Box::default(),
            node: 0,
        };
        // Deterministic odd multipliers (splitmix64), tried on tables of
        // two to eight slots per child.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let min_bits = (2 * children.len())
            .next_power_of_two()
            .trailing_zeros()
            .max(1);
        for bits in min_bits..min_bits + 3 {
            for _ in 0..256 {
                state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                let mut table = Slots {
                    mult: (z ^ (z >> 31)) | 1,
                    shift: 64 - bits,
                    slots: vec![empty.clone(); 1 << bits],
                };
                let placed = children.iter().all(|&(seg, node)| {
                    let b = seg.as_bytes();
                    let prefix = prefix_of(b);
                    let i = table.index(prefix, b.len());
                    let slot = &mut table.slots[i];
                    if slot.len != usize::MAX {
                        return false;
                    }
                    *slot = Slot {
                        prefix,
                        len: b.len(),
                        rest: b.get(8..).unwrap_or_default().into(),
                        node,
                    };
                    true
                });
                if placed {
                    return Some(table);
                }
            }
        }
        None
    }
}

#[derive(Debug, Clone)]
struct Node {
    children: Children,
    slots: Option<Slots>,
    field: Option<FieldId>,
}

impl Node {
    fn new() -> Self {
        Node {
            children: Children::Few(Vec::new()),
            slots: Slots::build(&[]),
            field: None,
        }
    }
}

/// The set of fields a rule set reads, as a trie over path segments.
///
/// Build it once at compile time with [`FieldTable::intern`]; it is then
/// shared read-only by every projection (it is `Sync`).
#[derive(Debug, Clone)]
pub struct FieldTable {
    nodes: Vec<Node>,
    paths: Vec<Box<str>>,
    /// Fields every event holds a value of, sent or not (a mapping's
    /// `constant_keyword`s), with that value.
    constants: Vec<(FieldId, Box<str>)>,
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
            nodes: vec![Node::new()],
            paths: Vec::new(),
            constants: Vec::new(),
        }
    }

    /// Makes `value` the value of field `id` in every event that has none
    /// of its own (see [`FieldTable::constants`]).
    pub fn set_constant(&mut self, id: FieldId, value: &str) {
        if !self.constants.iter().any(|(f, _)| *f == id) {
            self.constants.push((id, value.into()));
        }
    }

    /// The fields whose value every event holds, sent or not (as
    /// Elasticsearch gives a mapped `constant_keyword` its value on every
    /// document of the index): a projected event without a value of one
    /// gets this value.
    pub fn constants(&self) -> &[(FieldId, Box<str>)] {
        &self.constants
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
                    self.nodes.push(Node::new());
                    let parent = &mut self.nodes[cur as usize];
                    parent.children.insert(seg, n);
                    parent.slots = Slots::build(&parent.children.list());
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

    /// The child of `from` for one key segment without dots (UTF-8), whose
    /// [`prefix_of`] the caller has computed (the scanner reads it straight
    /// from the event bytes).
    #[inline(always)]
    pub(crate) fn child(&self, from: NodeId, seg: &[u8], prefix: u64) -> Option<NodeId> {
        let node = &self.nodes[from.0 as usize];
        let Some(table) = &node.slots else {
            let seg = std::str::from_utf8(seg).ok()?;
            return node.children.get_prefixed(seg, prefix).map(NodeId);
        };
        let slot = table.slots.get(table.index(prefix, seg.len()))?;
        (slot.prefix == prefix
            && slot.len == seg.len()
            && (seg.len() <= 8 || *slot.rest == seg[8..]))
            .then_some(NodeId(slot.node))
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
