//! Reading one REPL input: nix repl 2.8's `:` commands, `name = expr` bindings and plain
//! expressions, and telling an incomplete expression (continued on the next line) from a
//! finished one.

use kiln_syntax::{SourceMap, SyntaxErrorKind};
use std::path::Path;

/// One input, split as nix repl 2.8's `processLine` splits it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Command<'a> {
    /// Nothing but whitespace.
    Empty,
    /// Evaluate and print one level deep.
    Eval(&'a str),
    /// `name = expr`: bind lazily.
    Bind { name: &'a str, expr: &'a str },
    /// `:?`
    Help,
    /// `:p EXPR`: evaluate and print everything.
    Print(&'a str),
    /// `:t EXPR`: the type.
    Type(&'a str),
    /// `:doc NAME`: a builtin's, a `lib` function's or an option's documentation.
    Doc(&'a str),
    /// `:l FILE`: bring the attributes of a file's set into scope.
    Load(&'a str),
    /// `:a EXPR`: bring the attributes of a set into scope.
    Add(&'a str),
    /// `:r`: reload what `:l` and the command line loaded.
    Reload,
    /// `:explain OPTION`: every definition of an option and which won.
    Explain(&'a str),
    /// `:b EXPR`: build a derivation.
    Build(&'a str),
    /// `:q`
    Quit,
    /// A command that needs an argument got none.
    MissingArgument(&'static str),
    /// `:x` that is no command.
    Unknown(&'a str),
}

/// The commands, as `:?` lists them and completion offers them: name, alias, argument, help.
pub(crate) const COMMANDS: &[(&str, &str, &str, &str)] = &[
    ("<expr>", "", "", "Evaluate and print expression"),
    ("<x> = <expr>", "", "", "Bind expression to variable"),
    (
        ":a",
        ":add",
        "<expr>",
        "Add attributes from resulting set to scope",
    ),
    (
        ":b",
        ":build",
        "<expr>",
        "Build derivation (needs the store)",
    ),
    (
        ":doc",
        "",
        "<name>",
        "Show documentation of a builtin, lib function or option",
    ),
    (
        ":explain",
        "",
        "<option>",
        "Show every definition of an option and which won",
    ),
    (
        ":l",
        ":load",
        "<path>",
        "Load Nix expression and add it to scope",
    ),
    (
        ":p",
        ":print",
        "<expr>",
        "Evaluate and print expression recursively",
    ),
    (":q", ":quit", "", "Exit kiln repl"),
    (":r", ":reload", "", "Reload all files"),
    (":t", ":type", "<expr>", "Describe result of evaluation"),
    (":?", ":help", "", "Show this help"),
];

/// Splits `input` into a command; `:cmd` and its argument are separated by whitespace.
pub(crate) fn parse_command<'a>(input: &'a str) -> Command<'a> {
    let line = input.trim();
    if line.is_empty() {
        return Command::Empty;
    }
    if let Some(rest) = line.strip_prefix(':') {
        let (name, arg) = match rest.find(char::is_whitespace) {
            Some(at) => (&rest[..at], rest[at..].trim()),
            None => (rest, ""),
        };
        // A command with an argument: `make(arg)`, or `MissingArgument` when there is none.
        let with_arg = |command: &'static str, make: fn(&'a str) -> Command<'a>| {
            if arg.is_empty() {
                Command::MissingArgument(command)
            } else {
                make(arg)
            }
        };
        return match name {
            "?" | "help" => Command::Help,
            "q" | "quit" => Command::Quit,
            "r" | "reload" => Command::Reload,
            "p" | "print" => with_arg(":p", Command::Print),
            "t" | "type" => with_arg(":t", Command::Type),
            "doc" => with_arg(":doc", Command::Doc),
            "l" | "load" => with_arg(":l", Command::Load),
            "a" | "add" => with_arg(":a", Command::Add),
            "b" | "build" => with_arg(":b", Command::Build),
            // Not `:e`: nix repl's `:e` opens an editor.
            "explain" => with_arg(":explain", Command::Explain),
            _ => Command::Unknown(name),
        };
    }
    match binding(line) {
        Some((name, expr)) => Command::Bind { name, expr },
        None => Command::Eval(line),
    }
}

/// `name = expr` when the text before the first `=` is a variable name and the `=` is not
/// part of `==` (nix repl's rule; `{ a = 1; }` and `a == b` are expressions).
fn binding(line: &str) -> Option<(&str, &str)> {
    let at = line.find('=')?;
    if line[at + 1..].starts_with('=') {
        return None;
    }
    let name = line[..at].trim();
    is_var_name(name).then(|| (name, line[at + 1..].trim()))
}

/// Nix's `isVarName`: an identifier that does not start with a digit, `-` or `'`.
pub(crate) fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '\''))
}

/// The expression text a command will parse, if any (to decide whether input continues).
pub(crate) fn expression_of<'a>(command: &Command<'a>) -> Option<&'a str> {
    match *command {
        Command::Eval(e)
        | Command::Print(e)
        | Command::Type(e)
        | Command::Add(e)
        | Command::Build(e)
        | Command::Bind { expr: e, .. } => Some(e),
        _ => None,
    }
}

/// Whether `input` is an expression that stops short: more lines may complete it (an open
/// bracket, string or comment, or a construct the end of the text cut off, like `let a = 1;`).
pub(crate) fn is_incomplete(input: &str) -> bool {
    let Some(text) = expression_of(&parse_command(input)) else {
        return false;
    };
    if text.is_empty() {
        return false;
    }
    let mut sources = SourceMap::new();
    let file = sources.add_virtual("«string»", Path::new("/"), text);
    match kiln_syntax::parse(&sources, file) {
        Ok(_) => false,
        Err(err) => matches!(
            err.kind(),
            SyntaxErrorKind::UnterminatedString
                | SyntaxErrorKind::UnterminatedIndString
                | SyntaxErrorKind::UnterminatedComment
                | SyntaxErrorKind::UnterminatedInterpolation
                | SyntaxErrorKind::UnexpectedEnd
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::{is_incomplete, parse_command, Command};

    #[test]
    fn expressions_and_bindings() {
        assert_eq!(parse_command("  "), Command::Empty);
        assert_eq!(parse_command("1 + 2"), Command::Eval("1 + 2"));
        assert_eq!(
            parse_command("x = 1 + 2"),
            Command::Bind {
                name: "x",
                expr: "1 + 2"
            }
        );
        assert_eq!(
            parse_command("x' =1"),
            Command::Bind {
                name: "x'",
                expr: "1"
            }
        );
        assert_eq!(parse_command("a == b"), Command::Eval("a == b"));
        assert_eq!(parse_command("{ a = 1; }"), Command::Eval("{ a = 1; }"));
        assert_eq!(parse_command("a <= b"), Command::Eval("a <= b"));
        assert_eq!(parse_command("1a = 2"), Command::Eval("1a = 2"));
    }

    #[test]
    fn commands() {
        assert_eq!(parse_command(":p { a = 1; }"), Command::Print("{ a = 1; }"));
        assert_eq!(parse_command(":t\t1"), Command::Type("1"));
        assert_eq!(
            parse_command(":doc builtins.map"),
            Command::Doc("builtins.map")
        );
        assert_eq!(parse_command(":l ./a.nix"), Command::Load("./a.nix"));
        assert_eq!(parse_command(":a { x = 1; }"), Command::Add("{ x = 1; }"));
        assert_eq!(
            parse_command(":explain boot.kernelModules"),
            Command::Explain("boot.kernelModules")
        );
        assert_eq!(parse_command(":b pkgs.hello"), Command::Build("pkgs.hello"));
        assert_eq!(parse_command(":r"), Command::Reload);
        assert_eq!(parse_command(":q"), Command::Quit);
        assert_eq!(parse_command(":?"), Command::Help);
        assert_eq!(parse_command(":p"), Command::MissingArgument(":p"));
        assert_eq!(parse_command(":frob x"), Command::Unknown("frob"));
    }

    #[test]
    fn incomplete_input() {
        assert!(is_incomplete("{ a = 1;"));
        assert!(is_incomplete("x = ["));
        assert!(is_incomplete(":p let a = 1;"));
        assert!(is_incomplete("\"abc"));
        assert!(is_incomplete("''\n  text"));
        assert!(is_incomplete("/* comment"));
        assert!(is_incomplete("f ("));
        assert!(!is_incomplete("{ a = 1; }"));
        assert!(!is_incomplete("{ a = 1; } }"));
        assert!(!is_incomplete("1 +* 2"));
        assert!(!is_incomplete(":q"));
        assert!(!is_incomplete(""));
    }
}
