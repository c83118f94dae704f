//! Dependency closure: which packages a list of names needs, over `Depends` and `Pre-Depends`.
//!
//! The rules, applied breadth-first from the request so the same index and request always
//! give the same closure:
//!
//! - For each group of alternatives, the **first satisfiable** alternative is taken.
//! - An alternative `name (op v)` is satisfied by the newest real package `name` whose version
//!   satisfies the constraint; failing that, by a package that `Provides` `name` (with a
//!   version, for a versioned relation). Several providers: one that was requested wins, else
//!   the first by name (one already chosen wins over both).
//! - A package already pinned (by a lock) is kept at its pinned version when that satisfies.
//! - Cycles are fine: a package is expanded once.
//! - `Essential: yes` packages join the request only when asked (`with_essential`).
//!
//! A group nothing satisfies is an error naming the group and the chain of packages from a
//! requested name down to the one that needed it.

use crate::archive::Index;
use crate::error::{DebianError, DebianResult};
use crate::packages::{Group, Package, Relation};
use crate::version::Version;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// How to resolve.
#[derive(Clone, Debug, Default)]
pub struct ResolveOptions {
    /// Add every `Essential: yes` package to the request.
    pub with_essential: bool,
    /// Versions to keep where they satisfy (a lock's pins), by package name.
    pub pinned: BTreeMap<String, Version>,
}

/// The closure of `names`: each needed package once, by name.
pub fn resolve(
    index: &Index,
    names: &[String],
    options: &ResolveOptions,
) -> DebianResult<BTreeMap<String, Package>> {
    let mut request: Vec<String> = names.to_vec();
    if options.with_essential {
        request.extend(index.iter().filter(|p| p.essential).map(|p| p.name.clone()));
    }
    let requested: BTreeSet<&str> = request.iter().map(String::as_str).collect();
    let mut ctx = Ctx {
        index,
        options,
        requested: &requested,
        chosen: BTreeMap::new(),
        parent: BTreeMap::new(),
        queue: VecDeque::new(),
    };
    for name in &request {
        if ctx.chosen.contains_key(name) {
            continue;
        }
        let relation = Relation {
            name: name.clone(),
            constraint: None,
        };
        match ctx.satisfy(&relation) {
            Some(package) => ctx.choose(package, None),
            None => {
                return Err(DebianError::UnknownPackage { name: name.clone() });
            }
        }
    }
    while let Some(name) = ctx.queue.pop_front() {
        let package = ctx.chosen[&name].clone();
        for group in package.pre_depends.iter().chain(&package.depends) {
            ctx.satisfy_group(group, &name)?;
        }
    }
    Ok(ctx.chosen)
}

struct Ctx<'a> {
    index: &'a Index,
    options: &'a ResolveOptions,
    requested: &'a BTreeSet<&'a str>,
    chosen: BTreeMap<String, Package>,
    /// Who first needed each chosen package (none for requested ones).
    parent: BTreeMap<String, String>,
    queue: VecDeque<String>,
}

impl Ctx<'_> {
    fn choose(&mut self, package: Package, needed_by: Option<&str>) {
        if self.chosen.contains_key(&package.name) {
            return;
        }
        if let Some(parent) = needed_by {
            self.parent.insert(package.name.clone(), parent.to_string());
        }
        self.queue.push_back(package.name.clone());
        self.chosen.insert(package.name.clone(), package);
    }

    fn satisfy_group(&mut self, group: &Group, needed_by: &str) -> DebianResult<()> {
        for relation in &group.0 {
            if let Some(package) = self.satisfy(relation) {
                self.choose(package, Some(needed_by));
                return Ok(());
            }
        }
        Err(DebianError::MissingDependency {
            relation: group.to_string(),
            chain: self.chain(needed_by),
        })
    }

    /// The package that satisfies `relation`, by the rules in the module comment.
    fn satisfy(&self, relation: &Relation) -> Option<Package> {
        // A package chosen already (possibly at a pinned version) satisfies if it can, so
        // that the closure holds one version of each name.
        if let Some(chosen) = self.chosen.get(&relation.name) {
            if relation.accepts(Some(&chosen.version)) {
                return Some(chosen.clone());
            }
            // Another version of a chosen package cannot join; only providers remain.
        } else {
            let versions = self.index.versions(&relation.name);
            if let Some(pinned) = self.options.pinned.get(&relation.name) {
                if let Some(package) = versions.iter().find(|p| &p.version == pinned) {
                    if relation.accepts(Some(&package.version)) {
                        return Some(package.clone());
                    }
                }
            }
            if let Some(package) = versions.iter().find(|p| relation.accepts(Some(&p.version))) {
                return Some(package.clone());
            }
        }
        let mut providers: Vec<&Package> = self
            .index
            .providers(&relation.name)
            .into_iter()
            .filter(|p| {
                self.chosen
                    .get(&p.name)
                    .is_none_or(|c| c.version == p.version)
            })
            .filter(|p| {
                p.provides
                    .iter()
                    .filter(|provided| provided.name == relation.name)
                    .any(|provided| relation.accepts(provided.constraint.as_ref().map(|(_, v)| v)))
            })
            .collect();
        providers.sort_by(|a, b| {
            let rank = |p: &Package| {
                (
                    !self.chosen.contains_key(&p.name),
                    !self.requested.contains(p.name.as_str()),
                    p.name.clone(),
                    std::cmp::Reverse(p.version.clone()),
                )
            };
            rank(a).cmp(&rank(b))
        });
        providers.first().map(|p| (*p).clone())
    }

    /// `requested → … → name`.
    fn chain(&self, name: &str) -> Vec<String> {
        let mut chain = vec![name.to_string()];
        let mut current = name;
        while let Some(parent) = self.parent.get(current) {
            if chain.len() > self.chosen.len() {
                break;
            }
            chain.push(parent.clone());
            current = parent;
        }
        chain.reverse();
        chain
    }
}
