//! `rec { __overrides = { … }; … }`: nix's legacy way to override attributes of a recursive set
//! so that the set's other attributes see the new values (which `//` cannot do: it replaces an
//! attribute but not the references to it inside the set).
//!
//! Semantics (nix 2.8's `ExprAttrs::eval`): when a `rec` set has a static attribute named
//! `__overrides`, it is forced to a set as soon as the set is built. Each of its attributes
//! replaces the set's attribute of the same name, both in the result (with the override's
//! position) and in the recursive scope; names the set does not have are added to the result
//! only. Dynamic attributes (`${e} = …`) come after and see the overridden scope.
//!
//! Design decision: kiln's environment slots are written once (and a variable bound to another
//! variable copies its value), so such a set gets slots that forward to a table of final
//! values, which the overrides then update. Only sets with `__overrides` pay for it.

use crate::eval::Env;
use crate::ir::AttrsDef;
use crate::value::{AttrEntry, Thunk};
use crate::{EvalResult, Evaluator, Value};
use std::cell::RefCell;
use std::rc::Rc;

/// Whether a `rec` set has a static `__overrides` (its attributes are sorted by name).
pub(crate) fn has_overrides(def: &AttrsDef) -> bool {
    def.attrs
        .binary_search_by(|attr| attr.name.as_str().cmp("__overrides"))
        .is_ok()
}

impl Evaluator {
    /// The static entries and the recursive scope of a `rec` set with `__overrides`.
    pub(crate) fn rec_with_overrides(
        &mut self,
        def: &AttrsDef,
        env: &Rc<Env>,
    ) -> EvalResult<(Vec<AttrEntry>, Rc<Env>)> {
        let finals: Rc<RefCell<Vec<Value>>> = Rc::new(RefCell::new(Vec::new()));
        let slots = (0..def.attrs.len())
            .map(|i| {
                let finals = finals.clone();
                Thunk::native(move |ev| {
                    let value = finals.borrow()[i].clone();
                    ev.force(&value)
                })
            })
            .collect();
        let inner = Env::new(slots, Some(env.clone()));
        let values: Vec<Value> = def
            .attrs
            .iter()
            .map(|attr| {
                if attr.inherited {
                    self.delay(&attr.value, env)
                } else {
                    Thunk::suspended(attr.value.clone(), inner.clone())
                }
            })
            .collect();
        *finals.borrow_mut() = values.clone();
        let mut entries: Vec<AttrEntry> = def
            .attrs
            .iter()
            .zip(values)
            .map(|(attr, value)| AttrEntry {
                name: attr.name,
                value,
                pos: Some(attr.span),
            })
            .collect();
        let at = entries
            .binary_search_by(|e| e.name.as_str().cmp("__overrides"))
            .map_err(|_| crate::EvalError::bug("__overrides vanished"))?;
        let overrides = entries[at].value.clone();
        let overrides = self.force_attrs(&overrides)?;
        let mut added = false;
        for entry in overrides.iter() {
            match entries.binary_search_by_key(&entry.name, |e| e.name) {
                Ok(slot) => {
                    entries[slot] = entry.clone();
                    finals.borrow_mut()[slot] = entry.value.clone();
                }
                Err(_) => {
                    entries.push(entry.clone());
                    added = true;
                }
            }
        }
        if added {
            entries.sort_by_key(|e| e.name);
        }
        Ok((entries, inner))
    }
}
