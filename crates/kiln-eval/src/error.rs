//! Evaluation errors: what went wrong ([`ErrorKind`]), where (a primary [`Span`]) and how we got
//! there (a bounded trace of frames, innermost first).
//!
//! Errors hold data only; [`EvalError::report`] joins them with the sources into a stand-alone
//! miette diagnostic, so an `EvalError` stays cheap to create and to catch (`tryEval`).
//!
//! Design decision: `throw` and failed assertions are *catchable* (Nix 2.8's `tryEval` catches
//! exactly these two) and are kept in their own type, [`Catchable`], inside the kind. Every
//! other error propagates through `tryEval`. We rejected a separate `Result` layer for catchable
//! errors (Tvix's nested `Result`) because only `tryEval` ever looks at the difference.

use crate::value::Value;
use kiln_syntax::SnippetSource;
use kiln_syntax::{SourceMap, Span};
use miette::{Diagnostic, LabeledSpan, SourceSpan};
use std::fmt;

pub type EvalResult<T> = Result<T, EvalError>;

/// How many trace frames a report shows without `--show-trace`.
pub const DEFAULT_TRACE_FRAMES: usize = 5;
/// How many frames an error keeps at most (the outermost ones are dropped beyond this).
const MAX_TRACE_FRAMES: usize = 200;

/// An evaluation error. Boxed so that `EvalResult` stays one word wide.
pub struct EvalError(Box<ErrorData>);

struct ErrorData {
    kind: ErrorKind,
    span: Option<Span>,
    trace: Vec<Frame>,
    dropped_frames: usize,
    /// Help an embedder adds to the kind's own (see [`EvalError::hint`]).
    hint: Option<String>,
}

/// One step of the evaluation that led to an error.
#[derive(Clone, Debug)]
pub struct Frame {
    pub span: Option<Span>,
    pub message: String,
}

/// Errors that `builtins.tryEval` catches.
#[derive(Clone, Debug)]
pub enum Catchable {
    Throw(String),
    /// `assert COND; …` with a false condition; `condition` is COND as nix prints it.
    AssertionFailed {
        condition: String,
    },
    /// `<name>` found nowhere on the search path. nix 2.8 throws this as it throws `throw`'s
    /// error, so `tryEval <missing>` is `{ success = false; }` (nixpkgs probes optional
    /// entries that way).
    SearchPath {
        name: String,
    },
}

/// What went wrong. Each variant has a stable diagnostic code, `kiln::eval::<snake_case>`.
#[derive(Clone, Debug)]
pub enum ErrorKind {
    Catchable(Catchable),
    Abort(String),
    /// A value of the wrong type: "value is an integer while a string was expected".
    Type {
        expected: &'static str,
        got: &'static str,
    },
    MissingAttr {
        name: String,
        suggestions: Vec<String>,
    },
    /// An attribute a builtin needs is missing from its argument (`getAttr`, `listToAttrs`).
    BuiltinMissingAttr {
        name: String,
        builtin: &'static str,
        suggestions: Vec<String>,
    },
    /// `-A PATH` (nix's `findAlongAttrPath`) failed at one of its steps.
    SelectionPath {
        path: String,
        failure: SelectionFailure,
    },
    UndefinedVar {
        name: String,
    },
    NotAFunction {
        got: &'static str,
    },
    /// `at` is where the function is defined, as nix shows it (`/f.nix:1:9`).
    MissingArgument {
        name: String,
        function: Option<String>,
        at: Option<String>,
    },
    UnexpectedArgument {
        name: String,
        function: Option<String>,
        at: Option<String>,
        suggestions: Vec<String>,
    },
    /// `nix-instantiate`'s auto-call (`--arg`, `-A`) met a function argument nothing supplies.
    AutoCallArgument {
        name: String,
    },
    /// A dynamic attribute `${e} = …` whose name is already taken; `first` is where the first
    /// definition is, as nix shows it.
    DuplicateAttr {
        name: String,
        first: Option<String>,
    },
    DivisionByZero,
    InfiniteRecursion,
    StackOverflow,
    /// The embedder's interrupt flag was set (Ctrl-C in the REPL); see
    /// [`Evaluator::set_interrupt`](crate::Evaluator::set_interrupt).
    Interrupted,
    /// More evaluation steps than `EvalOptions::max_steps` allows.
    StepLimit,
    /// A value a builtin cannot work with (bad regex, out of range index, malformed JSON, ...).
    InvalidArgument {
        builtin: &'static str,
        message: String,
    },
    /// A comparison or coercion that Nix does not define.
    Unsupported {
        message: String,
    },
    /// `operation` is nix's wording of what failed ("opening file", "getting status of");
    /// `message` is the system's (`No such file or directory`).
    Io {
        operation: &'static str,
        path: String,
        message: String,
    },
    NoDefaultNix {
        path: String,
    },
    /// A parse error (in the main file or an imported one), with the parser's code.
    Syntax {
        code: &'static str,
        message: String,
    },
    NotAvailable {
        builtin: &'static str,
    },
    /// A fetcher given a remote location (`fetchGit "https://…"`): kiln's network reaches only
    /// package registries.
    RemoteFetch {
        builtin: &'static str,
        url: String,
    },
    /// A store operation (`derivation`, a path in a string, `toFile`) in an evaluator made
    /// without a [`crate::StoreHost`].
    NoStore {
        what: &'static str,
    },
    /// The store host refused something (a derivation whose builder cannot read its
    /// attributes, say), with the host's own diagnostic code and help.
    Host {
        code: String,
        message: String,
        help: Option<String>,
    },
    Bug {
        message: String,
    },
}

impl ErrorKind {
    pub fn code(&self) -> &str {
        match self {
            ErrorKind::Host { code, .. } => code,
            ErrorKind::Catchable(Catchable::Throw(_)) => "kiln::eval::throw",
            ErrorKind::Catchable(Catchable::AssertionFailed { .. }) => {
                "kiln::eval::assertion_failed"
            }
            ErrorKind::Catchable(Catchable::SearchPath { .. }) => "kiln::eval::search_path",
            ErrorKind::Abort(_) => "kiln::eval::abort",
            ErrorKind::Type { .. } => "kiln::eval::type_error",
            ErrorKind::MissingAttr { .. } | ErrorKind::BuiltinMissingAttr { .. } => {
                "kiln::eval::missing_attr"
            }
            ErrorKind::SelectionPath { failure, .. } => match failure {
                SelectionFailure::MissingAttr { .. } => "kiln::eval::missing_attr",
                SelectionFailure::WrongType { .. } => "kiln::eval::type_error",
                SelectionFailure::IndexOutOfRange { .. } => "kiln::eval::invalid_argument",
            },
            ErrorKind::UndefinedVar { .. } => "kiln::eval::undefined_var",
            ErrorKind::NotAFunction { .. } => "kiln::eval::not_a_function",
            ErrorKind::MissingArgument { .. } | ErrorKind::AutoCallArgument { .. } => {
                "kiln::eval::missing_argument"
            }
            ErrorKind::UnexpectedArgument { .. } => "kiln::eval::unexpected_argument",
            ErrorKind::DuplicateAttr { .. } => "kiln::eval::duplicate_attr",
            ErrorKind::DivisionByZero => "kiln::eval::division_by_zero",
            ErrorKind::InfiniteRecursion => "kiln::eval::infinite_recursion",
            ErrorKind::StackOverflow => "kiln::eval::stack_overflow",
            ErrorKind::Interrupted => "kiln::eval::interrupted",
            ErrorKind::StepLimit => "kiln::eval::step_limit",
            ErrorKind::InvalidArgument { .. } => "kiln::eval::invalid_argument",
            ErrorKind::Unsupported { .. } => "kiln::eval::unsupported",
            ErrorKind::Io { .. } => "kiln::eval::io",
            ErrorKind::NoDefaultNix { .. } => "kiln::eval::no_default_nix",
            ErrorKind::Syntax { code, .. } => code,
            ErrorKind::NotAvailable { .. } | ErrorKind::RemoteFetch { .. } => {
                "kiln::eval::not_available"
            }
            ErrorKind::NoStore { .. } => "kiln::eval::no_store",
            ErrorKind::Bug { .. } => "kiln::bug",
        }
    }

    fn help(&self) -> Option<String> {
        match self {
            ErrorKind::Host { help, .. } => help.clone(),
            ErrorKind::MissingAttr { suggestions, .. }
            | ErrorKind::BuiltinMissingAttr { suggestions, .. }
            | ErrorKind::SelectionPath {
                failure: SelectionFailure::MissingAttr { suggestions, .. },
                ..
            }
            | ErrorKind::UnexpectedArgument { suggestions, .. }
                if !suggestions.is_empty() =>
            {
                let names: Vec<String> = suggestions.iter().map(|s| format!("`{s}`")).collect();
                Some(format!("did you mean {}?", names.join(" or ")))
            }
            ErrorKind::NoDefaultNix { .. } => {
                Some("importing a directory imports its `default.nix`".to_string())
            }
            ErrorKind::NotAvailable { .. } => Some(
                "kiln fetches only Debian's packages, pinned in kiln.lock; Nix's fetchers are not implemented"
                    .to_string(),
            ),
            ErrorKind::RemoteFetch { .. } => Some(
                "kiln's network reaches only package registries (Debian's archive, pinned in kiln.lock); fetchGit reads local repositories: a path or a file:// URL"
                    .to_string(),
            ),
            ErrorKind::NoStore { .. } => Some(
                "kiln's commands give every evaluation a store; an evaluator made without one (a library use) has none"
                    .to_string(),
            ),
            ErrorKind::AutoCallArgument { .. } => Some(
                "a function evaluated as the top-level expression must have its arguments supplied by default values or with `--arg`/`--argstr`"
                    .to_string(),
            ),
            ErrorKind::StackOverflow => Some(
                "the evaluation recursed too deeply; is there an unbounded recursion?".to_string(),
            ),
            ErrorKind::Bug { .. } => Some(
                "this is a bug in kiln; please report it together with the input that caused it"
                    .to_string(),
            ),
            _ => None,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // nix 2.8: "'f' at /f.nix:1:9 called …", "anonymous function at (string):1:2 called …".
        fn in_fn(function: &Option<String>, at: &Option<String>) -> String {
            let name = match function {
                Some(name) => format!("'{name}'"),
                None => "anonymous function".to_string(),
            };
            match at {
                Some(at) => format!("{name} at {at}"),
                None => name,
            }
        }
        match self {
            ErrorKind::Catchable(Catchable::Throw(msg)) => write!(f, "{msg}"),
            ErrorKind::Catchable(Catchable::AssertionFailed { condition }) => {
                write!(f, "assertion '{condition}' failed")
            }
            ErrorKind::Abort(msg) => {
                write!(
                    f,
                    "evaluation aborted with the following error message: '{msg}'"
                )
            }
            ErrorKind::Type { expected, got } => {
                write!(f, "value is {got} while {expected} was expected")
            }
            ErrorKind::MissingAttr { name, .. } => write!(f, "attribute '{name}' missing"),
            ErrorKind::BuiltinMissingAttr { name, builtin, .. } => {
                write!(f, "attribute '{name}' missing for call to '{builtin}'")
            }
            ErrorKind::SelectionPath { path, failure } => match failure {
                SelectionFailure::MissingAttr { name, .. } => {
                    write!(f, "attribute '{name}' in selection path '{path}' not found")
                }
                SelectionFailure::WrongType { expected, got } => write!(
                    f,
                    "the expression selected by the selection path '{path}' should be {expected} but is {got}"
                ),
                SelectionFailure::IndexOutOfRange { index } => {
                    write!(f, "list index {index} in selection path '{path}' is out of range")
                }
            },
            ErrorKind::UndefinedVar { name } => write!(f, "undefined variable '{name}'"),
            ErrorKind::NotAFunction { got } => {
                write!(
                    f,
                    "attempt to call something which is not a function but {got}"
                )
            }
            ErrorKind::MissingArgument { name, function, at } => {
                write!(
                    f,
                    "{} called without required argument '{name}'",
                    in_fn(function, at)
                )
            }
            ErrorKind::UnexpectedArgument {
                name, function, at, ..
            } => {
                write!(
                    f,
                    "{} called with unexpected argument '{name}'",
                    in_fn(function, at)
                )
            }
            ErrorKind::AutoCallArgument { name } => write!(
                f,
                "cannot evaluate a function that has an argument without a value ('{name}')"
            ),
            ErrorKind::DuplicateAttr { name, first } => match first {
                Some(first) => write!(f, "dynamic attribute '{name}' already defined at {first}"),
                None => write!(f, "dynamic attribute '{name}' already defined"),
            },
            ErrorKind::DivisionByZero => f.write_str("division by zero"),
            ErrorKind::InfiniteRecursion => f.write_str("infinite recursion encountered"),
            ErrorKind::StackOverflow => f.write_str("stack overflow (possible infinite recursion)"),
            ErrorKind::Interrupted => f.write_str("evaluation interrupted"),
            ErrorKind::StepLimit => f.write_str("evaluation step limit reached"),
            // The builtin is named by the trace ("while calling `match`"), as in nix.
            ErrorKind::InvalidArgument { message, .. } => f.write_str(message),
            ErrorKind::Unsupported { message } => f.write_str(message),
            ErrorKind::Io {
                operation,
                path,
                message,
            } => write!(f, "{operation} '{path}': {message}"),
            ErrorKind::NoDefaultNix { path } => write!(
                f,
                "opening file '{}/default.nix': No such file or directory",
                path.trim_end_matches('/')
            ),
            ErrorKind::Catchable(Catchable::SearchPath { name }) => write!(
                f,
                "file '{name}' was not found in the Nix search path (add it using $NIX_PATH or -I)"
            ),
            ErrorKind::Syntax { message, .. } => f.write_str(message),
            ErrorKind::NotAvailable { builtin } => {
                write!(f, "`{builtin}` is not supported by kiln")
            }
            ErrorKind::RemoteFetch { builtin, url } => {
                write!(f, "`{builtin}` of the remote repository '{url}' is not supported by kiln")
            }
            ErrorKind::Host { message, .. } => f.write_str(message),
            ErrorKind::NoStore { what } => {
                write!(f, "{what} needs a store, and this evaluation has none")
            }
            ErrorKind::Bug { message } => write!(f, "internal error: {message}"),
        }
    }
}

/// How one step of `-A PATH` failed.
#[derive(Clone, Debug)]
pub enum SelectionFailure {
    MissingAttr {
        name: String,
        suggestions: Vec<String>,
    },
    /// `expected` is "a set" or "a list".
    WrongType {
        expected: &'static str,
        got: &'static str,
    },
    IndexOutOfRange {
        index: usize,
    },
}

/// A position as nix shows it inside a message (see [`SourceMap::message_position`]).
pub fn message_position(sources: &SourceMap, span: Span) -> String {
    sources.message_position(span)
}

/// The condition of a failed `assert`, printed as nix prints it (`((1 == 2) && true)`): the text
/// under `span` parsed again and printed, so that evaluation keeps no copy of it.
pub fn assertion_condition(sources: &SourceMap, span: Span) -> String {
    let file = sources.get(span.file);
    let text = file
        .text
        .get(span.start as usize..span.end as usize)
        .unwrap_or_default();
    let mut scratch = SourceMap::new();
    let id = scratch.add_virtual(&file.name, &file.base_dir, text);
    match kiln_syntax::parse(&scratch, id) {
        Ok(expr) => kiln_syntax::print_expr(&expr),
        Err(_) => text.to_string(),
    }
}

/// The system's wording of an I/O error, as nix prints it (`strerror`): "No such file or
/// directory", without Rust's " (os error 2)".
pub fn system_message(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

impl EvalError {
    pub fn new(kind: ErrorKind) -> EvalError {
        EvalError(Box::new(ErrorData {
            kind,
            span: None,
            trace: Vec::new(),
            dropped_frames: 0,
            hint: None,
        }))
    }

    /// Adds a line of help that only the embedder can give (the driver knows why a package
    /// name may be missing from `pkgs`, say).
    pub fn hint(mut self, text: impl Into<String>) -> EvalError {
        self.0.hint = Some(text.into());
        self
    }

    pub fn type_error(expected: &'static str, got: &Value) -> EvalError {
        EvalError::new(ErrorKind::Type {
            expected,
            got: got.type_phrase(),
        })
    }

    pub fn throw(message: impl Into<String>) -> EvalError {
        EvalError::new(ErrorKind::Catchable(Catchable::Throw(message.into())))
    }

    pub fn invalid_argument(builtin: &'static str, message: impl Into<String>) -> EvalError {
        EvalError::new(ErrorKind::InvalidArgument {
            builtin,
            message: message.into(),
        })
    }

    pub fn bug(message: impl Into<String>) -> EvalError {
        EvalError::new(ErrorKind::Bug {
            message: message.into(),
        })
    }

    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    pub fn code(&self) -> &str {
        self.0.kind.code()
    }

    pub fn span(&self) -> Option<Span> {
        self.0.span
    }

    pub fn trace(&self) -> &[Frame] {
        &self.0.trace
    }

    /// Whether `builtins.tryEval` catches this error.
    pub fn is_catchable(&self) -> bool {
        matches!(self.0.kind, ErrorKind::Catchable(_))
    }

    /// Sets the primary span if the error has none yet (the innermost span wins); otherwise
    /// gives the span to the outermost frame so far if it has none ("while calling `import`"
    /// points at the call).
    pub fn at(mut self, span: Span) -> EvalError {
        if self.0.span.is_none() {
            self.0.span = Some(span);
        } else if let Some(frame) = self.0.trace.last_mut() {
            if frame.span.is_none() {
                frame.span = Some(span);
            }
        }
        self
    }

    /// Adds an outer frame to the trace.
    pub fn frame(mut self, span: Option<Span>, message: impl FnOnce() -> String) -> EvalError {
        if self.0.trace.len() < MAX_TRACE_FRAMES {
            self.0.trace.push(Frame {
                span,
                message: message(),
            });
        } else {
            self.0.dropped_frames += 1;
        }
        self
    }

    /// A stand-alone diagnostic with the sources it points into. `max_frames` bounds the trace
    /// (`None`: all frames, as `--show-trace`).
    pub fn report(&self, sources: &SourceMap, max_frames: Option<usize>) -> Report {
        let source = |span: Option<Span>| span.map(|s| (s, sources.named_source(s.file)));
        let limit = max_frames.unwrap_or(usize::MAX);
        let mut related: Vec<FrameReport> = self
            .0
            .trace
            .iter()
            .take(limit)
            .map(|f| FrameReport {
                message: f.message.clone(),
                source: source(f.span),
            })
            .collect();
        let hidden = self.0.trace.len().saturating_sub(limit) + self.0.dropped_frames;
        if hidden > 0 {
            related.push(FrameReport {
                message: format!("… {hidden} more frames (use --show-trace to see them)"),
                source: None,
            });
        }
        Report {
            message: self.0.kind.to_string(),
            code: self.0.kind.code().to_string(),
            help: match (self.0.kind.help(), &self.0.hint) {
                (Some(help), Some(hint)) => Some(format!("{help}\n{hint}")),
                (help, hint) => help.or_else(|| hint.clone()),
            },
            source: source(self.0.span),
            related,
        }
    }
}

impl fmt::Debug for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}) at {:?}", self.0.kind, self.code(), self.0.span)
    }
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.kind, f)
    }
}

impl std::error::Error for EvalError {}

type Located = Option<(Span, SnippetSource)>;

/// An [`EvalError`] joined with its sources, ready for miette.
#[derive(Debug)]
pub struct Report {
    message: String,
    code: String,
    help: Option<String>,
    source: Located,
    related: Vec<FrameReport>,
}

/// One trace frame as a related diagnostic.
#[derive(Debug)]
struct FrameReport {
    message: String,
    source: Located,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl fmt::Display for FrameReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FrameReport {}

fn label(source: &Located, text: &str) -> Option<Box<dyn Iterator<Item = LabeledSpan>>> {
    let (span, _) = source.as_ref()?;
    let span: SourceSpan = (*span).into();
    Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
        Some(text.to_string()),
        span,
    ))))
}

impl Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(&self.code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source
            .as_ref()
            .map(|(_, src)| src as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        label(&self.source, "here")
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(self.related.iter().map(|r| r as &dyn Diagnostic)))
    }
}

impl Diagnostic for FrameReport {
    fn severity(&self) -> Option<miette::Severity> {
        Some(miette::Severity::Advice)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source
            .as_ref()
            .map(|(_, src)| src as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        label(&self.source, "")
    }
}
