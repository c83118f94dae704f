//! Interned identifiers and attribute names.
//!
//! Attribute lookups are the hottest operation of a Nix evaluator, so names are interned once
//! and compared by pointer. Like Nix's own `SymbolTable`, interned strings live for the rest of
//! the process (they are leaked): the set of names a program uses is bounded by its source text
//! plus the keys it builds dynamically, and freeing them would need a GC we do not have.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

/// An interned name. Equality is pointer equality; order is the order of the strings, which is
/// the order in which Nix prints attributes.
///
/// A thin pointer (one word) to the leaked `&str`, not the `&str` itself (two words): symbols
/// sit in every attribute of every set, and the extra word made each attribute a fifth larger.
/// Reading the text costs one more load, which only ordering and printing need.
#[derive(Clone, Copy)]
pub struct Symbol(&'static &'static str);

thread_local! {
    static INTERNER: RefCell<HashSet<Interned, BuildFxHasher>> = RefCell::new(HashSet::default());
}

/// An entry of the interner, looked up by its text.
#[derive(PartialEq, Eq, Hash)]
struct Interned(&'static &'static str);

impl std::borrow::Borrow<str> for Interned {
    fn borrow(&self) -> &str {
        self.0
    }
}

/// The Fx hash (rustc's): much faster than SipHash on short keys, and the interner is not
/// exposed to untrusted keys in a way where hash flooding would matter more than the program's
/// own size.
#[derive(Default, Clone, Copy)]
pub(crate) struct BuildFxHasher;

pub(crate) struct FxHasher(u64);

impl std::hash::BuildHasher for BuildFxHasher {
    type Hasher = FxHasher;
    fn build_hasher(&self) -> FxHasher {
        FxHasher(0)
    }
}

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in chunks.by_ref() {
            let word = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
            self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
        }
        for &byte in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(byte)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl Symbol {
    /// Interns `name`, allocating it only the first time it is seen.
    pub fn intern(name: &str) -> Symbol {
        INTERNER.with(|set| {
            let mut set = set.borrow_mut();
            if let Some(existing) = set.get(name) {
                return Symbol(existing.0);
            }
            let text: &'static str = Box::leak(name.to_owned().into_boxed_str());
            let leaked: &'static &'static str = Box::leak(Box::new(text));
            set.insert(Interned(leaked));
            Symbol(leaked)
        })
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }

    /// A hash of the symbol's identity, for hash tables keyed by symbols.
    pub(crate) fn id_hash(self) -> u64 {
        (std::ptr::from_ref(self.0) as usize as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
}

impl PartialEq for Symbol {
    fn eq(&self, other: &Symbol) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

impl Eq for Symbol {}

impl PartialOrd for Symbol {
    fn partial_cmp(&self, other: &Symbol) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Symbol {
    fn cmp(&self, other: &Symbol) -> std::cmp::Ordering {
        if self == other {
            std::cmp::Ordering::Equal
        } else {
            (*self.0).cmp(*other.0)
        }
    }
}

impl std::hash::Hash for Symbol {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (std::ptr::from_ref(self.0) as usize).hash(state);
    }
}

impl fmt::Debug for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Symbol;

    #[test]
    fn interning_is_by_content_and_order_is_by_string() {
        let a = Symbol::intern("abc");
        let b = Symbol::intern(&String::from("abc"));
        assert_eq!(a, b);
        assert!(Symbol::intern("a") < Symbol::intern("b"));
    }
}
