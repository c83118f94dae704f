//! What the command line does to a value before printing or building it, as Nix 2.8's
//! `nix-instantiate` and `nix-build` do: call a function with the `--arg`/`--argstr` set
//! (`autoCallFunction`) and follow an `-A` selection path (`findAlongAttrPath`), where a
//! component that is a number indexes a list and every step calls a function it meets.

use crate::error::{ErrorKind, EvalError, EvalResult, SelectionFailure};
use crate::{Attrs, Evaluator, Symbol, Value};

impl Evaluator {
    /// Nix's `autoCallFunction`: a function with a set pattern is called with the arguments it
    /// names from `args` (all of `args` if it has `...`; a missing one without a default is
    /// an error); a set with `__functor` is called through it; anything else is returned as
    /// it is.
    pub fn auto_call(&mut self, value: &Value, args: &Attrs) -> EvalResult<Value> {
        let value = self.force(value)?;
        match &value {
            Value::Lambda(closure) => match closure.formal_names() {
                None => Ok(value),
                Some((formals, ellipsis)) => {
                    let mut entries = Vec::new();
                    for (name, has_default) in formals {
                        match args.entry(name) {
                            Some(entry) => entries.push(entry.clone()),
                            None if has_default => {}
                            None => {
                                return Err(EvalError::new(ErrorKind::AutoCallArgument {
                                    name: name.to_string(),
                                }))
                            }
                        }
                    }
                    if ellipsis {
                        entries = args.entries().to_vec();
                    }
                    self.call(&value, Value::Attrs(Attrs::from_entries(entries)))
                }
            },
            Value::Attrs(attrs) => match attrs.get(Symbol::intern("__functor")) {
                Some(functor) => {
                    let functor = functor.clone();
                    let inner = self.call(&functor, value.clone())?;
                    self.auto_call(&inner, args)
                }
                None => Ok(value),
            },
            _ => Ok(value),
        }
    }

    /// Nix's `findAlongAttrPath`: `a.b.0` selects attribute `a`, then `b`, then the first list
    /// item, calling functions with `args` before each step. `path` may quote a component
    /// (`a."b.c"`). (`nix-instantiate --eval` calls the result only when there are `--arg`s.)
    pub fn select_attr_path(
        &mut self,
        root: &Value,
        path: &str,
        args: &Attrs,
    ) -> EvalResult<Value> {
        let failed = |failure| {
            EvalError::new(ErrorKind::SelectionPath {
                path: path.to_string(),
                failure,
            })
        };
        let mut value = root.clone();
        for component in split_attr_path(path)? {
            value = self.auto_call(&value, args)?;
            let forced = self.force(&value)?;
            value = match (component.parse::<usize>(), &forced) {
                (Ok(index), Value::List(list)) => match list.get(index) {
                    Some(item) => item.clone(),
                    None => return Err(failed(SelectionFailure::IndexOutOfRange { index })),
                },
                (Err(_), Value::Attrs(attrs)) => match attrs.get(Symbol::intern(&component)) {
                    Some(item) => item.clone(),
                    None => {
                        let names = attrs.iter().map(|entry| entry.name.as_str());
                        let suggestions = crate::call::suggest(&component, names);
                        return Err(failed(SelectionFailure::MissingAttr {
                            name: component,
                            suggestions,
                        }));
                    }
                },
                (index, other) => {
                    let expected = if index.is_ok() { "a list" } else { "a set" };
                    return Err(failed(SelectionFailure::WrongType {
                        expected,
                        got: other.type_phrase(),
                    }));
                }
            };
        }
        Ok(value)
    }
}

/// A malformed selection path (nix's `parseAttrPath` and `findAlongAttrPath` errors).
fn malformed(message: String) -> EvalError {
    EvalError::new(ErrorKind::Unsupported { message })
}

/// Nix's `parseAttrPath`: components split at `.`, a double-quoted component kept whole.
fn split_attr_path(path: &str) -> EvalResult<Vec<String>> {
    let mut components = Vec::new();
    let mut current = String::new();
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        match c {
            '.' => components.push(std::mem::take(&mut current)),
            '"' => loop {
                match chars.next() {
                    Some('"') => break,
                    Some(c) => current.push(c),
                    None => {
                        return Err(malformed(format!(
                            "missing closing quote in selection path '{path}'"
                        )))
                    }
                }
            },
            c => current.push(c),
        }
    }
    if !path.is_empty() {
        components.push(current);
    }
    if components.iter().any(String::is_empty) {
        return Err(malformed(format!(
            "empty attribute name in selection path '{path}'"
        )));
    }
    Ok(components)
}

#[cfg(test)]
mod tests {
    use super::split_attr_path;

    #[test]
    fn splits_like_nix() {
        assert_eq!(split_attr_path("").unwrap(), Vec::<String>::new());
        assert_eq!(split_attr_path("a.b.0").unwrap(), ["a", "b", "0"]);
        assert_eq!(split_attr_path(r#"a."b.c".d"#).unwrap(), ["a", "b.c", "d"]);
        assert!(split_attr_path("a..b").is_err());
        assert!(split_attr_path(r#"a."b"#).is_err());
    }
}
