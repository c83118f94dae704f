//! The module closure: the requested modules plus everything they need, in an order in which
//! they can be loaded (dependencies first), and the firmware they name.
//!
//! Semantics:
//! - A requested name is a module name (`-` and `_` alike) or, failing that, an alias matched
//!   against every module's `alias=` patterns with fnmatch rules, as `modprobe` does; an alias
//!   may select several modules, and all are included.
//! - `depends=` edges are hard: a missing dependency is an error, and a cycle made only of
//!   `depends=` edges is an error (the kernel could not load it either).
//! - `softdep=` names are included when some tree provides them (missing ones are reported, not
//!   fatal); `pre:` ones load before the module, `post:` ones after. An edge that closes a cycle
//!   through a softdep is dropped, as modprobe does.
//! - A name no tree provides but `modules.builtin` lists is satisfied by the kernel itself and
//!   reported in [`Closure::builtin`].
//! - The order is a depth-first post-order over the requests in the order given, so it is
//!   deterministic for the same inputs.

use super::fnmatch;
use super::index::{Module, ModuleIndex};
use crate::ImageError;
use std::collections::{BTreeMap, BTreeSet};

/// The resolved closure.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Closure {
    /// Module names in load order.
    pub modules: Vec<String>,
    /// Every `firmware=` string of the included modules, sorted, without duplicates.
    pub firmware: Vec<String>,
    /// Softdeps no tree provides, sorted; worth a warning, no more.
    pub missing_softdeps: Vec<String>,
    /// Requested or soft-depended modules that the kernel has built in, sorted.
    pub builtin: Vec<String>,
}

impl Closure {
    /// The included modules, in load order.
    pub fn iter<'a>(&'a self, index: &'a ModuleIndex) -> impl Iterator<Item = &'a Module> + 'a {
        self.modules
            .iter()
            .filter_map(|name| index.modules.get(name))
    }
}

/// Resolves `requested` (names or aliases) against `index`.
pub fn resolve<S: AsRef<str>>(index: &ModuleIndex, requested: &[S]) -> Result<Closure, ImageError> {
    let mut ctx = Ctx {
        index,
        state: BTreeMap::new(),
        stack: Vec::new(),
        order: Vec::new(),
        missing_softdeps: BTreeSet::new(),
        builtin: BTreeSet::new(),
    };
    for name in requested {
        let name = name.as_ref();
        let targets = lookup(index, name);
        if targets.is_empty() {
            if let Some(builtin) = index.builtin(name) {
                ctx.builtin.insert(builtin);
                continue;
            }
            return Err(ImageError::UnknownModule {
                name: name.to_owned(),
                suggestions: suggest(index, name),
            });
        }
        for target in targets {
            ctx.visit(&target, Edge::Hard)?;
        }
    }
    let mut firmware = BTreeSet::new();
    for name in &ctx.order {
        if let Some(module) = index.modules.get(name) {
            firmware.extend(module.info.firmware.iter().cloned());
        }
    }
    Ok(Closure {
        modules: ctx.order,
        firmware: firmware.into_iter().collect(),
        missing_softdeps: ctx.missing_softdeps.into_iter().collect(),
        builtin: ctx.builtin.into_iter().collect(),
    })
}

/// Module names for `name`: the module itself, else every module with a matching alias.
pub fn lookup(index: &ModuleIndex, name: &str) -> Vec<String> {
    let normalized = super::normalize_name(name);
    if index.modules.contains_key(&normalized) {
        return vec![normalized];
    }
    index
        .modules
        .values()
        .filter(|m| {
            m.info
                .aliases
                .iter()
                .any(|pattern| fnmatch(pattern.as_bytes(), name.as_bytes()))
        })
        .map(|m| m.name.clone())
        .collect()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Edge {
    Hard,
    Soft,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    InProgress,
    Done,
}

struct Ctx<'a> {
    index: &'a ModuleIndex,
    state: BTreeMap<String, State>,
    /// The current DFS path and how each element was reached.
    stack: Vec<(String, Edge)>,
    order: Vec<String>,
    missing_softdeps: BTreeSet<String>,
    builtin: BTreeSet<String>,
}

impl Ctx<'_> {
    fn visit(&mut self, name: &str, edge: Edge) -> Result<(), ImageError> {
        match self.state.get(name) {
            Some(State::Done) => return Ok(()),
            Some(State::InProgress) => return self.back_edge(name, edge),
            None => {}
        }
        let Some(module) = self.index.modules.get(name) else {
            // Callers only pass indexed names; report a bug-shaped error rather than panic.
            return Err(ImageError::UnknownModule {
                name: name.to_owned(),
                suggestions: Vec::new(),
            });
        };
        self.state.insert(name.to_owned(), State::InProgress);
        self.stack.push((name.to_owned(), edge));
        for dep in &module.info.depends {
            if !self.index.modules.contains_key(dep) {
                if self.index.builtin.contains(dep) {
                    continue;
                }
                return Err(ImageError::MissingDependency {
                    module: name.to_owned(),
                    dependency: dep.clone(),
                });
            }
            self.visit(dep, Edge::Hard)?;
        }
        for soft in &module.info.softdep_pre {
            self.visit_soft(soft)?;
        }
        self.stack.pop();
        self.state.insert(name.to_owned(), State::Done);
        self.order.push(name.to_owned());
        for soft in &module.info.softdep_post {
            self.visit_soft(soft)?;
        }
        Ok(())
    }

    fn visit_soft(&mut self, name: &str) -> Result<(), ImageError> {
        let targets = lookup(self.index, name);
        if targets.is_empty() {
            match self.index.builtin(name) {
                Some(builtin) => self.builtin.insert(builtin),
                None => self.missing_softdeps.insert(name.to_owned()),
            };
        }
        for target in targets {
            self.visit(&target, Edge::Soft)?;
        }
        Ok(())
    }

    /// An edge to a module still on the DFS path: an error if the cycle is all `depends=`.
    fn back_edge(&self, name: &str, edge: Edge) -> Result<(), ImageError> {
        let Some(start) = self.stack.iter().position(|(n, _)| n == name) else {
            return Ok(());
        };
        let all_hard = edge == Edge::Hard
            && self.stack[start + 1..]
                .iter()
                .all(|(_, e)| *e == Edge::Hard);
        if !all_hard {
            return Ok(());
        }
        let mut cycle: Vec<String> = self.stack[start..].iter().map(|(n, _)| n.clone()).collect();
        cycle.push(name.to_owned());
        Err(ImageError::ModuleCycle { cycle })
    }
}

/// Up to three module names closest to `name` by edit distance.
fn suggest(index: &ModuleIndex, name: &str) -> Vec<String> {
    let wanted = super::normalize_name(name);
    let limit = (wanted.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &String)> = index
        .modules
        .keys()
        .map(|candidate| (strsim::levenshtein(&wanted, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, n)| n.clone()).collect()
}
