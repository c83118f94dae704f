//! The door through which a build driver gives the evaluator a store.
//!
//! Evaluation stays pure: kiln-eval never writes a store path. `derivationStrict` asks the
//! [`StoreHost`] set with [`Evaluator::set_store_host`] to record a derivation and name its
//! outputs; without a host it is `not_available`, as before. `derivation` is Nix's own wrapper
//! around `derivationStrict` (Nix 2.8's `corepkgs/derivation.nix`), evaluated once per
//! evaluator, so the attributes of a derivation value stay as lazy as Nix's.

use crate::{Attrs, EvalResult, Evaluator, Value};

/// What a build driver provides (see the module comment).
pub trait StoreHost {
    /// Records the derivation described by `attrs` (the argument of `derivationStrict`) and
    /// returns `{ drvPath; <output> = outPath; … }`, the strings carrying their context.
    fn derivation_strict(&self, ev: &mut Evaluator, attrs: &Attrs) -> EvalResult<Value>;
}

/// Nix 2.8's `derivation`, written in terms of `derivationStrict`.
const DERIVATION_NIX: &str = r#"drvAttrs @ { outputs ? [ "out" ], ... }:
let
  strict = builtins.derivationStrict drvAttrs;
  commonAttrs = drvAttrs // (builtins.listToAttrs outputsList) //
    { all = map (x: x.value) outputsList;
      inherit drvAttrs;
    };
  outputToAttrListElement = outputName:
    { name = outputName;
      value = commonAttrs // {
        outPath = builtins.getAttr outputName strict;
        drvPath = strict.drvPath;
        type = "derivation";
        inherit outputName;
      };
    };
  outputsList = map outputToAttrListElement outputs;
in (builtins.head outputsList).value
"#;

impl Evaluator {
    /// Gives this evaluator a store: `derivation` and `derivationStrict` start working.
    pub fn set_store_host(&mut self, host: std::rc::Rc<dyn StoreHost>) {
        self.host = Some(host);
    }

    pub(crate) fn derivation_strict(&mut self, arg: &Value) -> EvalResult<Value> {
        let Some(host) = self.host.clone() else {
            return Err(crate::EvalError::new(crate::ErrorKind::NotAvailable {
                builtin: "derivationStrict",
            }));
        };
        let attrs = self.force_attrs(arg)?;
        host.derivation_strict(self, &attrs)
    }

    pub(crate) fn derivation(&mut self, arg: &Value) -> EvalResult<Value> {
        if self.host.is_none() {
            return Err(crate::EvalError::new(crate::ErrorKind::NotAvailable {
                builtin: "derivation",
            }));
        }
        let func = match &self.derivation_fn {
            Some(func) => func.clone(),
            None => {
                let file = self.sources.add_virtual(
                    "<kiln/derivation.nix>",
                    std::path::Path::new("/"),
                    DERIVATION_NIX,
                );
                let func = self.eval_source(file)?;
                self.derivation_fn = Some(func.clone());
                func
            }
        };
        self.call(&func, arg.clone())
    }
}
