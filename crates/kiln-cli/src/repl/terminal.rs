//! The interactive side of `kiln repl`: the line editor (rustyline) with history, completion
//! and colouring, multi-line input, and Ctrl-C.
//!
//! Ctrl-C at the prompt clears the input (the terminal is in raw mode, so it is a key, not a
//! signal). During an evaluation it is SIGINT: the handler sets the session's interrupt flag,
//! which the evaluator polls, and the prompt comes back. A second Ctrl-C before the evaluation
//! has noticed the first one exits (status 130), so a stuck kiln can always be left.
//! Ctrl-D on an empty line exits.

use super::command::is_incomplete;
use super::{highlight, Flow, ReplError, Session};
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::history::FileHistory;
use rustyline::validate::Validator;
use rustyline::{CompletionType, Config, Context, Editor, Helper};
use signal_hook::consts::SIGINT;
use std::borrow::Cow;
use std::cell::RefCell;
use std::io::Write;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::Ordering;

const PROMPT: &str = "kiln-repl> ";
/// As wide as the prompt, so continued lines line up.
const CONTINUATION_PROMPT: &str = "       ... ";

/// Runs the read-eval-print loop until `:q` or Ctrl-D.
pub(crate) fn run(session: Session, color: bool) -> miette::Result<()> {
    let interrupt = session.interrupt_flag();
    let session = Rc::new(RefCell::new(session));
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .max_history_size(10_000)
        .map_err(|err| miette::miette!("{err}"))?
        .auto_add_history(false)
        .build();
    let mut editor: Editor<ReplHelper, FileHistory> = Editor::with_config(config)
        .map_err(|err| miette::miette!("cannot start the line editor: {err}"))?;
    // After the editor: rustyline installs its own SIGINT handler when its terminal is created
    // (it only matters with `enable_signals`); ours replaces it (and chains to it, which is
    // harmless: rustyline reads its signal pipe only when a read is interrupted).
    for register in [
        signal_hook::flag::register_conditional_shutdown(SIGINT, 130, interrupt.clone()),
        signal_hook::flag::register(SIGINT, interrupt.clone()),
    ] {
        register.map_err(|err| miette::miette!("cannot handle Ctrl-C: {err}"))?;
    }
    editor.set_helper(Some(ReplHelper {
        session: session.clone(),
        color,
    }));
    let history = history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }

    let mut input = String::new();
    loop {
        let prompt = if input.is_empty() {
            PROMPT
        } else {
            CONTINUATION_PROMPT
        };
        let line = match editor.readline(prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                input.clear();
                continue;
            }
            Err(ReadlineError::Eof) => {
                println!();
                break;
            }
            Err(err) => return Err(miette::miette!("cannot read input: {err}")),
        };
        if !line.trim().is_empty() {
            let _ = editor.add_history_entry(line.as_str());
            if let Some(path) = &history {
                let _ = editor.append_history(path);
            }
        }
        if !input.is_empty() {
            input.push('\n');
        }
        input.push_str(&line);
        if is_incomplete(&input) {
            continue;
        }
        let mut out = String::new();
        let result = session.borrow_mut().execute(&input, &mut out);
        interrupt.store(false, Ordering::Relaxed);
        let blank = !input.trim().is_empty();
        input.clear();
        print!("{out}");
        let _ = std::io::stdout().flush();
        match result {
            Ok(Flow::Quit) => break,
            Ok(Flow::Continue) => {}
            Err(report) => {
                if matches!(
                    report.downcast_ref::<ReplError>(),
                    Some(ReplError::Interrupted)
                ) {
                    // The terminal echoed `^C` where the cursor was.
                    eprintln!();
                }
                eprintln!("{}", format!("{report:?}").trim_end());
            }
        }
        if blank {
            println!();
        }
    }
    Ok(())
}

/// `$XDG_DATA_HOME/kiln/repl-history` (`~/.local/share/kiln/repl-history` by default); `None`
/// when there is no such directory and it cannot be made.
fn history_path() -> Option<PathBuf> {
    let data = match std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".local/share"),
    };
    let dir = data.join("kiln");
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir.join("repl-history"))
}

/// Connects the line editor to the session for completion and colouring.
struct ReplHelper {
    session: Rc<RefCell<Session>>,
    color: bool,
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let Ok(mut session) = self.session.try_borrow_mut() else {
            return Ok((pos, Vec::new()));
        };
        let (start, found) = session.complete(line, pos);
        let pairs = found
            .into_iter()
            .map(|c| Pair {
                display: c.display,
                replacement: c.replacement,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Highlighter for ReplHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if self.color {
            Cow::Owned(highlight::highlight(line))
        } else {
            Cow::Borrowed(line)
        }
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        self.color
    }
}

impl Hinter for ReplHelper {
    type Hint = String;
}

impl Validator for ReplHelper {}

impl Helper for ReplHelper {}
