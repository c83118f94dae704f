//! Module errors as miette reports that point at the definitions in their source files.
//!
//! The Nix lib reports module errors with `throw`, in nixpkgs' wording (so `nix-instantiate` and
//! kiln print the same text, and `tests/module/err/*.err` pins it). Each message names the option
//! and lists the definitions as "- In `FILE:LINE': VALUE". This module recognises those shapes
//! ([`ModuleErrorKind`]), gives each a stable code, and labels every definition whose file it can
//! read with a span: the line the lib recorded, narrowed to the option's name where it is written.
//!
//! Design decision: recognising text rather than throwing a structured value keeps the lib
//! runnable by nix 2.8 (whose `throw` takes only a string) and keeps one wording for both
//! evaluators. The shapes are few and tested (`tests/diagnostics.rs`); an unrecognised `throw`
//! falls back to the evaluator's own report, so nothing is lost when a message changes.

use kiln_eval::{ErrorKind, EvalError, Evaluator};
use kiln_syntax::SnippetSource;
use miette::{Diagnostic, LabeledSpan, SourceSpan};
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// The kinds of module error the lib reports, each with a stable diagnostic code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModuleErrorKind {
    /// Several definitions of a single-valued option disagree.
    Conflict,
    /// A `types.unique` option is defined more than once.
    DefinedTwice,
    /// A definition for an option that no module declares.
    Undeclared,
    /// A definition whose value does not have the option's type.
    TypeMismatch,
    /// An option without a default that nothing defines is read.
    UsedButNotDefined,
    /// A read-only option is defined more than once.
    ReadOnly,
    /// `types.unspecified` cannot merge the definitions.
    CannotMerge,
    /// Two declarations of one option are incompatible.
    DeclaredTwice,
}

impl ModuleErrorKind {
    pub fn code(self) -> &'static str {
        match self {
            ModuleErrorKind::Conflict => "kiln::module::conflict",
            ModuleErrorKind::DefinedTwice => "kiln::module::defined_twice",
            ModuleErrorKind::Undeclared => "kiln::module::undeclared_option",
            ModuleErrorKind::TypeMismatch => "kiln::module::type_mismatch",
            ModuleErrorKind::UsedButNotDefined => "kiln::module::used_but_not_defined",
            ModuleErrorKind::ReadOnly => "kiln::module::read_only",
            ModuleErrorKind::CannotMerge => "kiln::module::cannot_merge",
            ModuleErrorKind::DeclaredTwice => "kiln::module::declared_twice",
        }
    }

    /// What the label on each definition says.
    fn label(self) -> &'static str {
        match self {
            ModuleErrorKind::Conflict | ModuleErrorKind::DefinedTwice => "conflicting definition",
            ModuleErrorKind::Undeclared => "defined here, but no module declares it",
            ModuleErrorKind::TypeMismatch => "a value of the wrong type",
            _ => "defined here",
        }
    }

    fn help(self) -> Option<&'static str> {
        match self {
            ModuleErrorKind::Conflict | ModuleErrorKind::DefinedTwice => Some(
                "make the definitions equal, or give the one that should win a lower priority number: `lib.mkForce` (50) beats plain definitions (100)",
            ),
            ModuleErrorKind::UsedButNotDefined => Some(
                "define the option in the profile, or give its declaration a `default`",
            ),
            ModuleErrorKind::ReadOnly => Some("define a read-only option in one place only"),
            ModuleErrorKind::TypeMismatch => {
                Some("`kiln options NAME` shows the option's type and description")
            }
            _ => None,
        }
    }
}

/// One definition named in a module error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefinitionSite {
    pub file: String,
    pub line: Option<u32>,
    /// The value as the message shows it, if it fits on the definition's line.
    pub value: Option<String>,
}

/// A module error, recognised from the lib's message.
#[derive(Debug)]
pub struct ModuleError {
    pub kind: ModuleErrorKind,
    /// The option concerned, as written in the message (`boot.kernelModules`).
    pub option: String,
    /// The lib's whole message, nixpkgs' wording.
    pub message: String,
    pub definitions: Vec<DefinitionSite>,
    /// Closest declared names, for an undeclared option.
    pub suggestions: Vec<String>,
    /// The definitions whose source could be read, with a span each.
    located: Vec<LocatedDefinition>,
}

#[derive(Debug)]
struct LocatedDefinition {
    /// `FILE:LINE`, the heading of the related report.
    location: String,
    text: String,
    source: SnippetSource,
    span: SourceSpan,
}

/// Recognises a module error in `message` (the text of a `throw`); `None` for any other message.
pub fn parse_module_error(message: &str) -> Option<ModuleError> {
    let first = message.lines().next()?;
    let (kind, option) = classify(first)?;
    let mut definitions = Vec::new();
    let mut suggestions = Vec::new();
    for line in message.lines().skip(1) {
        if let Some(rest) = line.strip_prefix("- In `") {
            let Some((location, after)) = rest.split_once('\'') else {
                continue;
            };
            let (file, line_no) = split_line(location);
            // A multi-line value follows on indented lines, which the loop skips.
            let value = after.strip_prefix(": ").map(str::to_string);
            definitions.push(DefinitionSite {
                file: file.to_string(),
                line: line_no,
                value,
            });
        } else if let Some(rest) = line.strip_prefix("Did you mean ") {
            suggestions = quoted_names(rest);
        }
    }
    Some(ModuleError {
        kind,
        option,
        message: message.to_string(),
        definitions,
        suggestions,
        located: Vec::new(),
    })
}

/// A miette report for `err`: a [`ModuleError`] with spans when the error is one the lib reports,
/// else the evaluator's own report. `max_frames` bounds the evaluator's trace (`None`: all).
pub fn report(ev: &Evaluator, err: &EvalError, max_frames: Option<usize>) -> miette::Report {
    if let ErrorKind::Catchable(kiln_eval::Catchable::Throw(message)) = err.kind() {
        if let Some(mut module_error) = parse_module_error(message) {
            module_error.locate(ev);
            module_error.add_trace(ev, err, max_frames.unwrap_or(usize::MAX));
            return miette::Report::new(module_error);
        }
    }
    miette::Report::new(err.report(ev.sources(), max_frames))
}

impl ModuleError {
    /// Adds the evaluation frames that lie in the user's files (not in the embedded lib, whose
    /// frames say only how the module system works), innermost first: "while evaluating …" with
    /// a span, e.g. the profile line that read the failing option.
    fn add_trace(&mut self, ev: &Evaluator, err: &EvalError, max_frames: usize) {
        let lib_dir = format!("{}/lib/", crate::LIB_ROOT);
        let frames = err.trace().iter().filter_map(|frame| {
            let span = frame.span?;
            let source = ev.sources().get(span.file);
            let path = source.path.as_ref()?.to_string_lossy().into_owned();
            (!path.starts_with(&lib_dir)).then_some((frame, span))
        });
        for (frame, span) in frames.take(max_frames) {
            self.located.push(LocatedDefinition {
                location: frame.message.clone(),
                text: "here".to_string(),
                source: ev.sources().named_source(span.file),
                span: span.into(),
            });
        }
    }

    /// Reads each definition's file through the evaluator's loader (so embedded profiles work too)
    /// and finds a span for it. Files that cannot be read (a `_file` name that is not a path) are
    /// still named in the message, without a label.
    fn locate(&mut self, ev: &Evaluator) {
        let last_name = self.option.rsplit('.').next().unwrap_or("").to_string();
        for def in &self.definitions {
            if !def.file.starts_with('/') {
                continue;
            }
            let Ok(bytes) = ev.loader().read_file(Path::new(&def.file)) else {
                continue;
            };
            let Ok(text) = String::from_utf8(bytes) else {
                continue;
            };
            let Some(span) = find_span(&text, def.line, &last_name) else {
                continue;
            };
            let label = match &def.value {
                Some(v) => format!("{}: {v}", self.kind.label()),
                None => self.kind.label().to_string(),
            };
            self.located.push(LocatedDefinition {
                location: location(def),
                text: label,
                source: SnippetSource::new(def.file.clone(), Arc::from(text)),
                span,
            });
        }
    }
}

/// The declared names closest to `wanted` (at most two edits, case-insensitive, best first, at
/// most three), as the lib suggests them.
pub(crate) fn closest(wanted: &str, names: &[String]) -> Vec<String> {
    let wanted_lower = wanted.to_lowercase();
    let mut scored: Vec<(usize, &String)> = names
        .iter()
        .map(|n| (strsim::levenshtein(&wanted_lower, &n.to_lowercase()), n))
        .filter(|(d, _)| *d <= 2 && *d < wanted.chars().count())
        .collect();
    scored.sort_by_key(|(d, _)| *d);
    scored.into_iter().take(3).map(|(_, n)| n.clone()).collect()
}

fn classify(first: &str) -> Option<(ModuleErrorKind, String)> {
    let option = || quoted_names(first).into_iter().next().unwrap_or_default();
    let kind = if first.starts_with("The option `")
        && first.contains("' has conflicting definition values")
    {
        ModuleErrorKind::Conflict
    } else if first.starts_with("The unique option `")
        && first.contains("' is defined multiple times")
    {
        ModuleErrorKind::DefinedTwice
    } else if first.starts_with("The option `") && first.contains("' does not exist.") {
        ModuleErrorKind::Undeclared
    } else if first.starts_with("A definition for option `") && first.contains("' is not of type `")
    {
        ModuleErrorKind::TypeMismatch
    } else if first.starts_with("The option `") && first.ends_with("' is used but not defined.") {
        ModuleErrorKind::UsedButNotDefined
    } else if first.starts_with("The option `")
        && first.contains("' is read-only, but it's set multiple times")
    {
        ModuleErrorKind::ReadOnly
    } else if first.starts_with("Cannot merge definitions of `") {
        ModuleErrorKind::CannotMerge
    } else if first.starts_with("The option `") && first.contains("' is already declared in ") {
        ModuleErrorKind::DeclaredTwice
    } else {
        return None;
    };
    Some((kind, option()))
}

/// The names quoted as `name' in a message.
fn quoted_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('`') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('\'') else { break };
        names.push(after[..end].to_string());
        rest = &after[end + 1..];
    }
    names
}

/// `FILE:LINE` → (`FILE`, `Some(LINE)`); anything else → (it, `None`).
fn split_line(location: &str) -> (&str, Option<u32>) {
    match location.rsplit_once(':') {
        Some((file, line)) if !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit()) => {
            (file, line.parse().ok())
        }
        _ => (location, None),
    }
}

fn location(def: &DefinitionSite) -> String {
    match def.line {
        Some(line) => format!("{}:{line}", def.file),
        None => def.file.clone(),
    }
}

/// The span to label: on the recorded line, from the option's (last) name to the end of the line;
/// without a line, the first place the name is written as a whole word; else the whole line.
fn find_span(text: &str, line: Option<u32>, name: &str) -> Option<SourceSpan> {
    let (start, end) = match line {
        Some(line) => {
            let start = text
                .split_inclusive('\n')
                .take(line.checked_sub(1)? as usize)
                .map(str::len)
                .sum::<usize>();
            if start >= text.len() {
                return None;
            }
            let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
            (start, end)
        }
        None => (0, text.len()),
    };
    let region = &text[start..end];
    let found = if name.is_empty() {
        None
    } else {
        word_find(region, name)
    };
    match (found, line) {
        (Some(offset), _) => {
            let from = start + offset;
            let line_end = text[from..].find('\n').map_or(text.len(), |i| from + i);
            let trimmed = text[from..line_end].trim_end().len();
            Some((from, trimmed.max(name.len())).into())
        }
        (None, Some(_)) => {
            let indent = region.len() - region.trim_start().len();
            Some((start + indent, region.trim().len().max(1)).into())
        }
        (None, None) => None,
    }
}

/// The first occurrence of `name` not inside a longer identifier.
fn word_find(haystack: &str, name: &str) -> Option<usize> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '\'';
    let mut from = 0;
    while let Some(i) = haystack[from..].find(name) {
        let at = from + i;
        let before = haystack[..at].chars().next_back();
        let after = haystack[at + name.len()..].chars().next();
        if !before.is_some_and(is_ident) && !after.is_some_and(is_ident) {
            return Some(at);
        }
        from = at + name.len();
    }
    None
}

impl fmt::Display for ModuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ModuleError {}

impl Diagnostic for ModuleError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.kind.code()))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let explain = match self.kind {
            ModuleErrorKind::Undeclared | ModuleErrorKind::DeclaredTwice => None,
            _ if self.option.is_empty() => None,
            _ => Some(format!(
                "`kiln explain {} PROFILE` shows every definition with its file, line and priority",
                self.option
            )),
        };
        let text = match (self.kind.help(), explain) {
            (Some(help), Some(explain)) => format!("{help}\n{explain}"),
            (Some(help), None) => help.to_string(),
            (None, Some(explain)) => explain,
            (None, None) => return None,
        };
        Some(Box::new(text))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        if self.located.is_empty() {
            return None;
        }
        Some(Box::new(self.located.iter().map(|d| d as &dyn Diagnostic)))
    }
}

impl fmt::Display for LocatedDefinition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.location)
    }
}

impl std::error::Error for LocatedDefinition {}

impl Diagnostic for LocatedDefinition {
    fn severity(&self) -> Option<miette::Severity> {
        Some(miette::Severity::Advice)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some(self.text.clone()),
            self.span,
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_a_conflict_with_lines() {
        let err = parse_module_error(
            "The option `networking.hostName' has conflicting definition values:\n- In `/a.nix:9': \"two\"\n- In `/b.nix:8': \"one\"",
        )
        .unwrap();
        assert_eq!(err.kind, ModuleErrorKind::Conflict);
        assert_eq!(err.option, "networking.hostName");
        assert_eq!(
            err.definitions,
            vec![
                DefinitionSite {
                    file: "/a.nix".into(),
                    line: Some(9),
                    value: Some("\"two\"".into())
                },
                DefinitionSite {
                    file: "/b.nix".into(),
                    line: Some(8),
                    value: Some("\"one\"".into())
                },
            ]
        );
    }

    #[test]
    fn recognises_an_undeclared_option_with_suggestions() {
        let err = parse_module_error(
            "The option `boot.kernelModule' does not exist. Definition values:\n- In `my-profile.nix':\n    [\n      \"wl\"\n    ]\nDid you mean `boot.kernelModules' or `boot.kernelParams'?",
        )
        .unwrap();
        assert_eq!(err.kind, ModuleErrorKind::Undeclared);
        assert_eq!(
            err.suggestions,
            vec!["boot.kernelModules", "boot.kernelParams"]
        );
        assert_eq!(err.definitions[0].line, None);
        assert_eq!(err.definitions[0].value, None);
    }

    #[test]
    fn other_messages_are_not_module_errors() {
        assert!(parse_module_error("something else").is_none());
        assert!(parse_module_error("").is_none());
    }

    #[test]
    fn spans_name_the_option_on_its_line() {
        let text = "{\n  boot.kernelModule = [ \"wl\" ];\n}\n";
        let span = find_span(text, None, "kernelModule").unwrap();
        assert_eq!(
            &text[span.offset()..span.offset() + span.len()],
            "kernelModule = [ \"wl\" ];"
        );
        let span = find_span(text, Some(2), "hostName").unwrap();
        assert_eq!(
            &text[span.offset()..span.offset() + span.len()],
            "boot.kernelModule = [ \"wl\" ];"
        );
        assert!(find_span(text, Some(99), "x").is_none());
    }

    #[test]
    fn closest_names() {
        let names = vec![
            "kernelModules".to_string(),
            "kernelParams".to_string(),
            "x".to_string(),
        ];
        assert_eq!(closest("kernelModule", &names), vec!["kernelModules"]);
        assert!(closest("t", &names).is_empty());
    }
}
