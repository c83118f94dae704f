//! Errors of the REPL itself (as opposed to the evaluation errors it shows): a command used
//! the wrong way, or something kiln cannot do yet.

use miette::Diagnostic;
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub(crate) enum ReplError {
    #[error("unknown command `:{command}`")]
    #[diagnostic(code(kiln::repl::unknown_command), help("`:?` lists the commands"))]
    UnknownCommand { command: String },

    #[error("`{command}` needs an argument")]
    #[diagnostic(
        code(kiln::repl::missing_argument),
        help("`:?` lists the commands and their arguments")
    )]
    MissingArgument { command: &'static str },

    #[error("interrupted")]
    #[diagnostic(code(kiln::repl::interrupted))]
    Interrupted,

    #[error("expression does not evaluate to a derivation (it is {got}), so it cannot be built")]
    #[diagnostic(code(kiln::repl::not_a_derivation))]
    NotADerivation { got: String },

    #[error("no profile is loaded")]
    #[diagnostic(
        code(kiln::repl::no_profile),
        help("start `kiln repl PROFILE`, or `:l PROFILE`")
    )]
    NoProfile,

    #[error("no documentation found for `{name}`")]
    #[diagnostic(
        code(kiln::repl::no_doc),
        help("`:doc` knows builtins (`builtins.map`), functions with a comment above them (`lib.mkIf`) and options (`boot.kernelModules`)")
    )]
    NoDoc { name: String },
}
