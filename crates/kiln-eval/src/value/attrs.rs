//! Attribute sets: entries sorted by name, with two layouts for the sets that module
//! evaluation makes large.
//!
//! - A set of a dozen names or more gets a hash index of its symbols once it has been searched
//!   a few times (`lib`, `pkgs`, `builtins`, option trees): a lookup is then one hash and a
//!   probe or two instead of a binary search comparing strings. The index is built lazily
//!   because most sets are small or read once, and then it would cost more than it saves.
//! - `large // small` (an overlay on `pkgs`, `args // extra`) makes a layered set: the small
//!   side's entries over a shared reference to the large side, found in that order, so the
//!   update costs what the small side costs instead of copying the large side. The merged,
//!   sorted entries are built the first time something iterates over the set (printing,
//!   `attrNames`, a lambda with formals and no ellipsis), once.
//!
//! Both layouts are invisible to Nix programs: lookups, iteration order, positions and
//! identity (`«repeated»` in printing) are what the flat layout gives.
//!
//! Rejected: a hash map per set (Tvix keeps a `BTreeMap` for large sets): it costs far more
//! memory than the sorted vector for the small sets that are most sets, and iteration in name
//! order, which Nix shows everywhere, would need a sort each time.

use super::{AttrEntry, Value};
use crate::symbol::Symbol;
use std::cell::{Cell, OnceCell};
use std::rc::Rc;

/// Sets with at least this many entries get a hash index once searched `INDEX_AFTER` times.
const INDEX_MIN_LEN: usize = 12;
const INDEX_AFTER: u32 = 8;

/// `base // top` is layered when `base` has at least this many entries and `top` at most a
/// `LAYER_RATIO`th of them; otherwise the two are merged into a flat set.
const LAYER_MIN_BASE: usize = 64;
const LAYER_RATIO: usize = 8;

/// An attribute set: entries sorted by name, names unique.
#[derive(Clone)]
pub struct Attrs(pub(super) Rc<AttrsData>);

pub(super) enum AttrsData {
    Flat(Flat),
    Layered(Box<Layered>),
}

pub(super) struct Flat {
    pub(super) entries: Box<[AttrEntry]>,
    /// Built on the `INDEX_AFTER`th lookup of a large set.
    index: OnceCell<Box<Index>>,
    lookups: Cell<u32>,
}

/// `base // top`: `top`'s entries win. Invariant: `base` is flat and `top` is sorted.
pub(super) struct Layered {
    pub(super) base: Attrs,
    pub(super) top: Box<[AttrEntry]>,
    /// The number of distinct names.
    len: usize,
    /// The merged entries, built on first iteration.
    pub(super) merged: OnceCell<Box<[AttrEntry]>>,
}

/// Open addressing over entry indices (plus one; 0 is an empty slot), by symbol identity.
struct Index {
    slots: Box<[u32]>,
    shift: u32,
}

impl Index {
    fn build(entries: &[AttrEntry]) -> Index {
        let size = (entries.len() * 2).next_power_of_two();
        let shift = 64 - size.trailing_zeros();
        let mut slots = vec![0u32; size].into_boxed_slice();
        let mask = size - 1;
        for (i, entry) in entries.iter().enumerate() {
            let mut slot = (entry.name.id_hash() >> shift) as usize;
            while slots[slot] != 0 {
                slot = (slot + 1) & mask;
            }
            slots[slot] = i as u32 + 1;
        }
        Index { slots, shift }
    }

    fn find<'a>(&self, entries: &'a [AttrEntry], name: Symbol) -> Option<&'a AttrEntry> {
        let mask = self.slots.len() - 1;
        let mut slot = (name.id_hash() >> self.shift) as usize;
        loop {
            let i = self.slots[slot];
            if i == 0 {
                return None;
            }
            let entry = &entries[i as usize - 1];
            if entry.name == name {
                return Some(entry);
            }
            slot = (slot + 1) & mask;
        }
    }
}

impl Flat {
    fn new(entries: Box<[AttrEntry]>) -> Flat {
        Flat {
            entries,
            index: OnceCell::new(),
            lookups: Cell::new(0),
        }
    }

    fn entry(&self, name: Symbol) -> Option<&AttrEntry> {
        let entries = &*self.entries;
        if entries.len() <= 8 {
            return entries.iter().find(|e| e.name == name);
        }
        if let Some(index) = self.index.get() {
            return index.find(entries, name);
        }
        if entries.len() >= INDEX_MIN_LEN {
            let n = self.lookups.get() + 1;
            self.lookups.set(n);
            if n >= INDEX_AFTER {
                return self
                    .index
                    .get_or_init(|| Box::new(Index::build(entries)))
                    .find(entries, name);
            }
        }
        search(entries, name)
    }
}

fn search(entries: &[AttrEntry], name: Symbol) -> Option<&AttrEntry> {
    entries
        .binary_search_by(|e| e.name.cmp(&name))
        .ok()
        .map(|i| &entries[i])
}

/// Merges two sorted entry lists; on equal names `right` wins.
fn merge(left: &[AttrEntry], right: &[AttrEntry]) -> Vec<AttrEntry> {
    let mut out = Vec::with_capacity(left.len() + right.len());
    let (mut i, mut j) = (0, 0);
    while i < left.len() && j < right.len() {
        match left[i].name.cmp(&right[j].name) {
            std::cmp::Ordering::Less => {
                out.push(left[i].clone());
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(right[j].clone());
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push(right[j].clone());
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&left[i..]);
    out.extend_from_slice(&right[j..]);
    out
}

impl Attrs {
    pub fn empty() -> Attrs {
        thread_local!(static EMPTY: Attrs = Attrs::flat(Box::default()));
        EMPTY.with(Attrs::clone)
    }

    fn flat(entries: Box<[AttrEntry]>) -> Attrs {
        Attrs(Rc::new(AttrsData::Flat(Flat::new(entries))))
    }

    /// Builds a set from entries in any order. When a name occurs more than once the *first*
    /// entry wins (as in `listToAttrs`).
    pub fn from_entries(mut entries: Vec<AttrEntry>) -> Attrs {
        if !entries.windows(2).all(|w| w[0].name < w[1].name) {
            entries.sort_by_key(|e| e.name);
            entries.dedup_by(|later, earlier| later.name == earlier.name);
        }
        Attrs::flat(entries.into_boxed_slice())
    }

    /// Builds a set from entries already sorted by name without duplicates.
    pub(crate) fn from_sorted(entries: Vec<AttrEntry>) -> Attrs {
        debug_assert!(entries.windows(2).all(|w| w[0].name < w[1].name));
        Attrs::flat(entries.into_boxed_slice())
    }

    pub fn len(&self) -> usize {
        match &*self.0 {
            AttrsData::Flat(flat) => flat.entries.len(),
            AttrsData::Layered(layered) => layered.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> std::slice::Iter<'_, AttrEntry> {
        self.entries().iter()
    }

    /// The entries in name order (a layered set merges its layers the first time).
    pub fn entries(&self) -> &[AttrEntry] {
        match &*self.0 {
            AttrsData::Flat(flat) => &flat.entries,
            AttrsData::Layered(layered) => layered
                .merged
                .get_or_init(|| merge(layered.base.entries(), &layered.top).into_boxed_slice()),
        }
    }

    pub fn entry(&self, name: Symbol) -> Option<&AttrEntry> {
        match &*self.0 {
            AttrsData::Flat(flat) => flat.entry(name),
            AttrsData::Layered(layered) => match layered.top.iter().find(|e| e.name == name) {
                Some(entry) => Some(entry),
                None => layered.base.entry(name),
            },
        }
    }

    pub fn get(&self, name: Symbol) -> Option<&Value> {
        self.entry(name).map(|e| &e.value)
    }

    /// Looks a name up without interning it.
    pub fn get_str(&self, name: &str) -> Option<&Value> {
        if let AttrsData::Layered(layered) = &*self.0 {
            if let Some(entry) = layered.top.iter().find(|e| e.name.as_str() == name) {
                return Some(&entry.value);
            }
            return layered.base.get_str(name);
        }
        let entries = self.entries();
        entries
            .binary_search_by(|e| e.name.as_str().cmp(name))
            .ok()
            .map(|i| &entries[i].value)
    }

    /// `self // other`: `other` wins. A small `other` on a large flat (or layered) `self` is
    /// layered over it; anything else is merged into a flat set.
    pub fn update(&self, other: &Attrs) -> Attrs {
        if other.is_empty() {
            return self.clone();
        }
        if self.is_empty() {
            return other.clone();
        }
        let (base, top): (&Attrs, std::borrow::Cow<'_, [AttrEntry]>) = match &*self.0 {
            // A layer on a layered set: one layer of the two tops over the same base.
            AttrsData::Layered(layered) => (
                &layered.base,
                std::borrow::Cow::Owned(merge(&layered.top, other.entries())),
            ),
            AttrsData::Flat(_) => (self, std::borrow::Cow::Borrowed(other.entries())),
        };
        if base.len() >= LAYER_MIN_BASE && top.len() * LAYER_RATIO <= base.len() {
            let shadowed = top.iter().filter(|e| base.entry(e.name).is_some()).count();
            let len = base.len() + top.len() - shadowed;
            return Attrs(Rc::new(AttrsData::Layered(Box::new(Layered {
                base: base.clone(),
                top: top.into_owned().into_boxed_slice(),
                len,
                merged: OnceCell::new(),
            }))));
        }
        Attrs::flat(merge(self.entries(), other.entries()).into_boxed_slice())
    }

    pub(crate) fn strong_count(&self) -> usize {
        Rc::strong_count(&self.0)
    }

    /// Calls `f` with every value the set holds, the base of a layered set included (as a set).
    pub(crate) fn for_each_value(&self, f: &mut impl FnMut(&Value)) {
        match &*self.0 {
            AttrsData::Flat(flat) => flat.entries.iter().for_each(|e| f(&e.value)),
            AttrsData::Layered(layered) => {
                layered.top.iter().for_each(|e| f(&e.value));
                if let Some(merged) = layered.merged.get() {
                    merged.iter().for_each(|e| f(&e.value));
                }
                f(&Value::Attrs(layered.base.clone()));
            }
        }
    }

    /// Identity of the set (for the printer's `«repeated»`).
    pub(crate) fn ptr(&self) -> *const () {
        Rc::as_ptr(&self.0) as *const ()
    }
}

impl AttrsData {
    /// Moves the values this set owns out, for `drop_iteratively`; what is left is a leaf.
    pub(super) fn take_values(&mut self, out: &mut Vec<Value>) {
        match self {
            AttrsData::Flat(flat) => {
                let entries = std::mem::take(&mut flat.entries);
                out.extend(entries.into_vec().into_iter().rev().map(|e| e.value));
            }
            AttrsData::Layered(layered) => {
                let merged = layered.merged.take().unwrap_or_default();
                out.extend(merged.into_vec().into_iter().rev().map(|e| e.value));
                let top = std::mem::take(&mut layered.top);
                out.extend(top.into_vec().into_iter().rev().map(|e| e.value));
                out.push(Value::Attrs(std::mem::replace(
                    &mut layered.base,
                    Attrs::empty(),
                )));
            }
        }
    }

    /// Whether dropping this set may drop other values (and so recurse).
    pub(super) fn has_containers(&self) -> bool {
        match self {
            AttrsData::Flat(flat) => flat.entries.iter().any(|e| super::is_container(&e.value)),
            AttrsData::Layered(_) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Attrs, LAYER_MIN_BASE};
    use crate::{AttrEntry, Symbol, Value};

    fn set(names: impl Iterator<Item = String>, tag: i64) -> Attrs {
        Attrs::from_entries(
            names
                .map(|n| AttrEntry {
                    name: Symbol::intern(&n),
                    value: Value::Int(tag),
                    pos: None,
                })
                .collect(),
        )
    }

    fn flat_update(a: &Attrs, b: &Attrs) -> Vec<(String, i64)> {
        let mut map = std::collections::BTreeMap::new();
        for e in a.iter().chain(b.iter()) {
            let Value::Int(n) = e.value else { panic!() };
            map.insert(e.name.as_str().to_string(), n);
        }
        map.into_iter().collect()
    }

    fn contents(a: &Attrs) -> Vec<(String, i64)> {
        a.iter()
            .map(|e| {
                let Value::Int(n) = e.value else { panic!() };
                (e.name.as_str().to_string(), n)
            })
            .collect()
    }

    /// Layered updates, updates of layered sets and indexed lookups agree with a flat merge.
    #[test]
    fn layouts_agree_with_a_flat_merge() {
        let big = set((0..LAYER_MIN_BASE * 3).map(|i| format!("k{i}")), 1);
        let small = set(
            (0..5).map(|i| format!("k{}", i * 40)).chain(["new".into()]),
            2,
        );
        let layered = big.update(&small);
        assert_eq!(layered.len(), big.len() + 1);
        assert_eq!(contents(&layered), flat_update(&big, &small));
        let more = set(["k3".to_string(), "zz".to_string()].into_iter(), 3);
        let twice = layered.update(&more);
        let expected: Vec<_> = {
            let mut m: std::collections::BTreeMap<String, i64> =
                flat_update(&big, &small).into_iter().collect();
            m.insert("k3".into(), 3);
            m.insert("zz".into(), 3);
            m.into_iter().collect()
        };
        assert_eq!(twice.len(), expected.len());
        for _ in 0..20 {
            for (name, n) in &expected {
                let Some(Value::Int(got)) = twice.get(Symbol::intern(name)) else {
                    panic!("{name} missing")
                };
                assert_eq!(got, n, "{name}");
                assert!(twice.get_str(name).is_some());
            }
            assert!(twice.get(Symbol::intern("absent")).is_none());
            assert!(big.get(Symbol::intern("absent")).is_none());
        }
        assert_eq!(contents(&twice), expected);
        assert_eq!(contents(&small.update(&big)), flat_update(&small, &big));
    }
}
