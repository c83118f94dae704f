//! `kiln explain OPTION`: an option's final value, every definition of it (file and line, priority,
//! `mkOrder`, `mkIf` state, whether it took part in the value) and why the winners won.
//!
//! The data comes from the option's `definitionsWithPriorities` (see `lib/README.md`), which the
//! Nix lib records while merging; this module only reads it and words the reason. Values are shown
//! with `lib.showValue` (derivations as `<derivation NAME>`), and a value that fails to evaluate
//! shows its error instead, so explaining a conflicting or broken option still works — that is
//! exactly when people ask.

use crate::profile::{get, get_bool, get_int, get_string, get_strings, lib};
use kiln_eval::{ErrorKind, EvalError, EvalResult, Evaluator, Value};
use std::fmt;

/// What `kiln explain` shows about one option.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// `boot.kernelModules`.
    pub option: String,
    /// The type's description: "list of string".
    pub type_description: String,
    /// The files that declare the option.
    pub declarations: Vec<String>,
    /// The final value as Nix source, or `<error: …>`.
    pub value: String,
    /// Every definition, the option's `default` first, then in merge order (the reverse of module
    /// order).
    pub definitions: Vec<Definition>,
}

/// One definition of an option.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Definition {
    pub file: String,
    /// The line of the definition, when the lib knows it (written in its module's own file).
    pub line: Option<i64>,
    /// `mkOverride` priority: lower wins; plain definitions are 100.
    pub priority: i64,
    /// `mkOrder` order: lower comes first in a list; plain definitions are 1000.
    pub order: i64,
    /// `None` outside `mkIf`, else the condition's value.
    pub mk_if: Option<bool>,
    /// Whether the definition took part in the final value.
    pub won: bool,
    /// Whether this is the option's `default` rather than a definition in a module.
    pub is_default: bool,
    /// The value as Nix source (wrappers removed), or `<error: …>`.
    pub value: String,
}

/// Explains the option at `option_path` (`boot.kernelModules`) of `result`, an
/// [`eval_profile`](crate::eval_profile) result; one more part (`fileSystems./iso`, or quoted,
/// `fileSystems."/iso"`) explains one attribute of an attribute-set option, whose definitions
/// have their own priorities. An unknown path is a missing-attribute error with the closest
/// declared names as suggestions.
pub fn explain(ev: &mut Evaluator, result: &Value, option_path: &str) -> EvalResult<Explanation> {
    let parts = split_path(option_path);
    let (option, key) = find_option(ev, result, &parts)?;
    let lib = lib(ev)?;
    let show_value = get(ev, &lib, "showValue")?;
    let type_description = {
        let ty = get(ev, &option, "type")?;
        get_string(ev, &ty, "description")?
    };
    let declarations = get_strings(ev, &option, "declarations")?;
    let has_default = ev.force_attrs(&option)?.get_str("default").is_some();
    let mut raw = Vec::new();
    let defs = get(ev, &option, "definitionsWithPriorities")?;
    for (index, def) in ev.force_list(&defs)?.iter().enumerate() {
        let attrs = ev.force_attrs(def)?;
        let line = match attrs.get_str("line") {
            Some(v) => match ev.force(v)? {
                Value::Int(line) => Some(line),
                _ => None,
            },
            None => None,
        };
        let mk_if = get(ev, def, "mkIf")?;
        let mk_if = match ev.force(&mk_if)? {
            Value::Bool(b) => Some(b),
            _ => None,
        };
        raw.push(RawDefinition {
            file: get_string(ev, def, "file")?,
            line,
            priority: get_int(ev, def, "priority")?,
            order: get_int(ev, def, "order")?,
            mk_if,
            won: get_bool(ev, def, "won")?,
            is_default: has_default && index == 0,
            value: get(ev, def, "value"),
        });
    }
    let value = get(ev, &option, "value");
    let (value, raw, type_description) = match &key {
        None => (value, raw, type_description),
        Some(key) => {
            let raw = key_definitions(ev, raw, key)?;
            if raw.is_empty() {
                return Err(EvalError::new(ErrorKind::MissingAttr {
                    name: show_path(&parts),
                    suggestions: Vec::new(),
                }));
            }
            let value = value.and_then(|v| get(ev, &v, key));
            (value, raw, format!("an element of {type_description}"))
        }
    };
    let value = show(ev, &show_value, value);
    let definitions = raw
        .into_iter()
        .map(|d| Definition {
            value: show(ev, &show_value, d.value),
            file: d.file,
            line: d.line,
            priority: d.priority,
            order: d.order,
            mk_if: d.mk_if,
            won: d.won,
            is_default: d.is_default,
        })
        .collect();
    Ok(Explanation {
        option: show_path(&parts),
        type_description,
        declarations,
        value,
        definitions,
    })
}

/// A definition before its value is shown.
struct RawDefinition {
    file: String,
    line: Option<i64>,
    priority: i64,
    order: i64,
    mk_if: Option<bool>,
    won: bool,
    is_default: bool,
    value: EvalResult<Value>,
}

/// The definitions of one attribute `key` of an attribute-set option (`attrsOf`, `submodule`):
/// each definition that sets `key`, with the wrappers around that attribute's value (`mkOverride`,
/// `mkIf`, `mkOrder`, `mkMerge`) taken off and applied to its priority, order and `mkIf` state, as
/// `attrsOf` merges per attribute. The winners are recomputed for the attribute alone.
fn key_definitions(
    ev: &mut Evaluator,
    defs: Vec<RawDefinition>,
    key: &str,
) -> EvalResult<Vec<RawDefinition>> {
    let mut res: Vec<RawDefinition> = Vec::new();
    for def in defs {
        let Ok(value) = def.value else { continue };
        let attrs = ev.force_attrs(&value)?;
        let Some(entry) = attrs.entry(kiln_eval::Symbol::intern(key)).cloned() else {
            continue;
        };
        // The attribute's own line, when it is written in the definition's file (the definition's
        // line is that of the option's first attribute in the module).
        let line = entry
            .pos
            .filter(|span| {
                let source = ev.sources().get(span.file);
                source.path.as_deref().and_then(|p| p.to_str()) == Some(def.file.as_str())
            })
            .map(|span| i64::from(ev.sources().line_col(span.file, span.start).0))
            .or(def.line);
        let mut stack = vec![(entry.value, def.priority, def.order, def.mk_if)];
        while let Some((item, priority, order, mk_if)) = stack.pop() {
            let forced = ev.force(&item)?;
            let wrapper = match &forced {
                Value::Attrs(a) => match a.get_str("_type") {
                    Some(t) => Some(ev.force_string(t)?.as_str().to_string()),
                    None => None,
                },
                _ => None,
            };
            match wrapper.as_deref() {
                Some("override") => {
                    let content = get(ev, &forced, "content")?;
                    stack.push((content, get_int(ev, &forced, "priority")?, order, mk_if));
                }
                Some("order") => {
                    let content = get(ev, &forced, "content")?;
                    stack.push((content, priority, get_int(ev, &forced, "priority")?, mk_if));
                }
                Some("if") => {
                    let content = get(ev, &forced, "content")?;
                    let condition = get_bool(ev, &forced, "condition")?;
                    let mk_if = if mk_if == Some(false) {
                        mk_if
                    } else {
                        Some(condition)
                    };
                    stack.push((content, priority, order, mk_if));
                }
                Some("merge") => {
                    let contents = get(ev, &forced, "contents")?;
                    for content in ev.force_list(&contents)?.iter().rev() {
                        stack.push((content.clone(), priority, order, mk_if));
                    }
                }
                _ => res.push(RawDefinition {
                    file: def.file.clone(),
                    line,
                    priority,
                    order,
                    mk_if,
                    won: false,
                    is_default: def.is_default,
                    value: Ok(forced),
                }),
            }
        }
    }
    let best = res
        .iter()
        .filter(|d| d.mk_if != Some(false))
        .map(|d| d.priority)
        .min();
    for def in &mut res {
        def.won = def.mk_if != Some(false) && Some(def.priority) == best;
    }
    Ok(res)
}

/// `fileSystems."/iso"`: parts joined by dots, quoted where they are not plain names (as the lib's
/// `showOption` does).
fn show_path(parts: &[String]) -> String {
    let plain = |p: &str| {
        !p.is_empty()
            && p.chars().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, '_' | '\'' | '-' | '<' | '>' | '*')
            })
    };
    let shown: Vec<String> = parts
        .iter()
        .map(|p| {
            if plain(p) {
                p.clone()
            } else {
                format!("{p:?}")
            }
        })
        .collect();
    shown.join(".")
}

/// `fileSystems."/iso".fsType` → `fileSystems`, `/iso`, `fsType`: dots inside quotes do not split.
fn split_path(path: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in path.chars() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    parts.push(current);
    parts.retain(|p| !p.is_empty());
    parts
}

/// The name people know a priority by: `mkForce (50)`, `plain (100)`, `mkOverride 75 (75)`.
pub fn priority_name(priority: i64) -> String {
    let name = match priority {
        10 => "mkVMOverride",
        50 => "mkForce",
        60 => "mkImageMediaOverride",
        100 => "plain",
        1000 => "mkDefault",
        1500 => "mkOptionDefault",
        _ => return format!("mkOverride {priority} ({priority})"),
    };
    format!("{name} ({priority})")
}

fn order_name(order: i64) -> String {
    match order {
        500 => "mkBefore (500)".to_string(),
        1000 => "default order (1000)".to_string(),
        1500 => "mkAfter (1500)".to_string(),
        _ => format!("mkOrder {order} ({order})"),
    }
}

impl Definition {
    /// `FILE:LINE`, or `FILE` when the line is unknown.
    pub fn location(&self) -> String {
        match self.line {
            Some(line) => format!("{}:{line}", self.file),
            None => self.file.clone(),
        }
    }

    fn priority_label(&self) -> String {
        if self.is_default && self.priority == 1500 {
            "default (1500)".to_string()
        } else {
            priority_name(self.priority)
        }
    }

    fn active(&self) -> bool {
        self.mk_if != Some(false)
    }
}

impl Explanation {
    /// Why the value is what it is, in a sentence or three.
    pub fn reason(&self) -> String {
        let winners: Vec<&Definition> = self.definitions.iter().filter(|d| d.won).collect();
        let switched_off = self.definitions.iter().filter(|d| !d.active()).count();
        let mut lines = Vec::new();
        match winners.first() {
            None if self.definitions.is_empty() => lines.push(
                "nothing defines this option and it has no default, so reading it is an error"
                    .to_string(),
            ),
            None => lines
                .push("no definition is active, so the option is used but not defined".to_string()),
            Some(first) => {
                let best_loser = self
                    .definitions
                    .iter()
                    .filter(|d| d.active() && !d.won)
                    .min_by_key(|d| d.priority);
                let who = if winners.len() == 1 {
                    format!("{} at {}", first.priority_label(), first.location())
                } else {
                    format!(
                        "{} definitions at {}",
                        winners.len(),
                        first.priority_label()
                    )
                };
                match best_loser {
                    Some(loser) => lines.push(format!(
                        "{who} {} {} at {}: the lower priority number wins{}",
                        if winners.len() == 1 { "beats" } else { "beat" },
                        loser.priority_label(),
                        loser.location(),
                        if winners.len() > 1 {
                            "; the winners are merged"
                        } else {
                            ""
                        }
                    )),
                    None if winners.len() == 1 && first.is_default => {
                        lines.push("nothing else defines it, so the default applies".to_string())
                    }
                    None if winners.len() == 1 => {
                        lines.push(format!("{who} is the only active definition"))
                    }
                    None => lines.push(format!(
                        "all {} active definitions have the same priority, {}, and are merged by the type `{}`",
                        winners.len(),
                        first.priority_label(),
                        self.type_description
                    )),
                }
                if winners.len() > 1 && winners.iter().any(|d| d.order != 1000) {
                    lines.push(
                        "the merged definitions are sorted by mkOrder first (mkBefore 500, plain 1000, mkAfter 1500), then by module order reversed".to_string(),
                    );
                } else if winners.len() > 1 && self.type_description.starts_with("list of") {
                    lines.push(
                        "lists concatenate in the reverse of module order (imports before the module that imports them)".to_string(),
                    );
                }
            }
        }
        if self.value.starts_with("<error:") && !winners.is_empty() {
            lines.push(if self.value.contains("has conflicting definition values") {
                "the winners conflict (see the value); `lib.mkForce` on the one that should win settles it".to_string()
            } else {
                "evaluating the value fails (see the value)".to_string()
            });
        }
        if switched_off > 0 {
            lines.push(format!(
                "{switched_off} definition{} under `mkIf false` take{} no part",
                if switched_off == 1 { "" } else { "s" },
                if switched_off == 1 { "s" } else { "" }
            ));
        }
        lines.join("\n")
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.option)?;
        writeln!(f, "  type: {}", self.type_description)?;
        for file in &self.declarations {
            writeln!(f, "  declared in: {file}")?;
        }
        writeln!(f, "  value: {}", indent(&self.value, "    "))?;
        writeln!(f)?;
        writeln!(
            f,
            "definitions ({} in merge order; * = part of the value):",
            self.definitions.len()
        )?;
        for def in &self.definitions {
            let mut notes = vec![def.priority_label()];
            if def.order != 1000 {
                notes.push(order_name(def.order));
            }
            match def.mk_if {
                Some(true) => notes.push("mkIf true".to_string()),
                Some(false) => notes.push("mkIf false: switched off".to_string()),
                None => {}
            }
            if !def.won && def.active() {
                notes.push("lost".to_string());
            }
            writeln!(
                f,
                "  {} {}  [{}]",
                if def.won { '*' } else { ' ' },
                def.location(),
                notes.join(", ")
            )?;
            writeln!(f, "      {}", indent(&def.value, "      "))?;
        }
        writeln!(f)?;
        writeln!(f, "why: {}", indent(&self.reason(), "     "))
    }
}

/// Walks `result.options` along the path to an option; one more part names an attribute of an
/// attribute-set option (`fileSystems./iso`).
fn find_option(
    ev: &mut Evaluator,
    result: &Value,
    parts: &[String],
) -> EvalResult<(Value, Option<String>)> {
    let mut node = get(ev, result, "options")?;
    let mut done: Vec<&str> = Vec::new();
    for (index, part) in parts.iter().enumerate() {
        if is_option(ev, &node)? {
            if index + 1 == parts.len() {
                return Ok((node, Some(part.clone())));
            }
            return Err(EvalError::throw(format!(
                "kiln explain looks one attribute deep into an option's value: explain `{}.{part}` or `{}`",
                done.join("."),
                done.join(".")
            )));
        }
        let attrs = ev.force_attrs(&node)?;
        match attrs.get_str(part) {
            Some(next) => node = next.clone(),
            None => {
                let names: Vec<String> = attrs
                    .iter()
                    .map(|e| e.name.as_str().to_string())
                    .filter(|n| !n.starts_with('_'))
                    .collect();
                let full = |n: &str| {
                    let mut p = done.clone();
                    p.push(n);
                    p.join(".")
                };
                return Err(EvalError::new(ErrorKind::MissingAttr {
                    name: full(part),
                    suggestions: crate::diagnostic::closest(part, &names)
                        .into_iter()
                        .map(|n| full(&n))
                        .collect(),
                }));
            }
        }
        done.push(part);
    }
    if !is_option(ev, &node)? {
        let attrs = ev.force_attrs(&node)?;
        if done.is_empty() {
            let top: Vec<String> = attrs
                .iter()
                .map(|e| e.name.as_str())
                .filter(|n| !n.starts_with('_'))
                .map(|n| format!("`{n}`"))
                .collect();
            return Err(EvalError::throw(format!(
                "name an option to explain; the top level has {}",
                top.join(", ")
            )));
        }
        let below: Vec<String> = attrs
            .iter()
            .map(|e| e.name.as_str())
            .filter(|n| !n.starts_with('_'))
            .take(8)
            .map(|n| format!("`{}.{n}`", done.join(".")))
            .collect();
        return Err(EvalError::throw(format!(
            "`{}` is a set of options, not an option; below it: {}",
            done.join("."),
            below.join(", ")
        )));
    }
    Ok((node, None))
}

fn is_option(ev: &mut Evaluator, node: &Value) -> EvalResult<bool> {
    let attrs = ev.force_attrs(node)?;
    match attrs.get_str("_type") {
        Some(t) => Ok(ev.force_string(t)?.as_str() == "option"),
        None => Ok(false),
    }
}

/// `lib.showValue value`, or the error that evaluating it raised.
fn show(ev: &mut Evaluator, show_value: &Value, value: EvalResult<Value>) -> String {
    let shown = value
        .and_then(|v| ev.call(show_value, v))
        .and_then(|s| ev.force_string(&s).map(|s| s.as_str().to_string()));
    match shown {
        Ok(text) => text,
        Err(err) => format!("<error: {}>", err.to_string().trim_end()),
    }
}

fn indent(text: &str, prefix: &str) -> String {
    text.replace('\n', &format!("\n{prefix}"))
}
