//! What the command line does to a value before printing or building it, as Nix 2.8's
//! `nix-instantiate` and `nix-build` do: call a function with the `--arg`/`--argstr` set
//! (`autoCallFunction`) and follow an `-A` selection path (`findAlongAttrPath`), where a
//! component that is a number indexes a list and every step calls a function it meets.

use crate::error::{ErrorKind, EvalError, EvalResult};
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
                                return Err(EvalError::new(ErrorKind::MissingArgument {
                                    name: name.to_string(),
                                    function: closure.name().map(|n| n.to_string()),
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

    /// Nix's `findAlongAttrPath` followed by `autoCallFunction`: `a.b.0` selects attribute
    /// `a`, then `b`, then the first list item, calling functions on the way with `args`.
    /// `path` may quote a component (`a."b.c"`).
    pub fn select_attr_path(
        &mut self,
        root: &Value,
        path: &str,
        args: &Attrs,
    ) -> EvalResult<Value> {
        let mut value = root.clone();
        for component in split_attr_path(path)? {
            value = self.auto_call(&value, args)?;
            let forced = self.force(&value)?;
            value = match (component.parse::<usize>(), &forced) {
                (Ok(index), Value::List(list)) => match list.get(index) {
                    Some(item) => item.clone(),
                    None => {
                        return Err(selection(
                            format!("list index {index} in selection path '{path}' is out of range"),
                            Vec::new(),
                        ))
                    }
                },
                (Ok(_), other) => {
                    return Err(selection(
                        format!(
                            "the expression selected by the selection path '{path}' should be a list but is {}",
                            other.type_phrase()
                        ),
                        Vec::new(),
                    ))
                }
                (Err(_), Value::Attrs(attrs)) => match attrs.get(Symbol::intern(&component)) {
                    Some(item) => item.clone(),
                    None => {
                        let names = attrs.iter().map(|entry| entry.name.as_str());
                        return Err(selection(
                            format!(
                                "attribute '{component}' in selection path '{path}' not found"
                            ),
                            crate::call::suggest(&component, names),
                        ));
                    }
                },
                (Err(_), other) => {
                    return Err(selection(
                        format!(
                            "the expression selected by the selection path '{path}' should be a set but is {}",
                            other.type_phrase()
                        ),
                        Vec::new(),
                    ))
                }
            };
        }
        self.auto_call(&value, args)
    }
}

fn selection(message: String, suggestions: Vec<String>) -> EvalError {
    EvalError::new(ErrorKind::SelectionPath {
        message,
        suggestions,
    })
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
                        return Err(selection(
                            format!("missing closing quote in selection path '{path}'"),
                            Vec::new(),
                        ))
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
        return Err(selection(
            format!("empty attribute name in selection path '{path}'"),
            Vec::new(),
        ));
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
