//! Tab completion: `:` commands, names in scope, and attribute paths (`config.boot.init`,
//! `lib.mk`). An attribute path is evaluated up to its last `.` (as nix repl does) and its
//! attributes are offered; under `config` or `options` of a profile, an option's type is
//! shown next to its name.

use super::command::{is_var_name, COMMANDS};
use super::profile;
use super::Session;
use kiln_eval::Value;

/// One completion: what replaces the word, and what the list shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub(crate) replacement: String,
    pub(crate) display: String,
}

impl Session {
    /// Candidates for the word that ends at `pos` of `line`, and where that word starts.
    pub(crate) fn complete(&mut self, line: &str, pos: usize) -> (usize, Vec<Candidate>) {
        let before = &line[..pos.min(line.len())];
        if before.starts_with(':') && !before.contains(char::is_whitespace) {
            let found = COMMANDS
                .iter()
                .flat_map(|(name, alias, _, _)| [*name, *alias])
                .filter(|name| name.starts_with(':') && name.starts_with(before))
                .map(|name| Candidate {
                    replacement: name.to_string(),
                    display: name.to_string(),
                })
                .collect();
            return (0, found);
        }
        let start = before
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '\'' | '.'))
            .last()
            .map_or(before.len(), |(i, _)| i);
        let word = &before[start..];
        match word.rsplit_once('.') {
            None => {
                let mut names: Vec<&str> =
                    self.scope_names().filter(|n| n.starts_with(word)).collect();
                names.sort_unstable();
                names.dedup();
                let found = names
                    .into_iter()
                    .map(|n| Candidate {
                        replacement: n.to_string(),
                        display: n.to_string(),
                    })
                    .collect();
                (start, found)
            }
            Some((path, partial)) => {
                let found = self.complete_attrs(path, partial);
                (start + path.len() + 1, found)
            }
        }
    }

    fn complete_attrs(&mut self, path: &str, partial: &str) -> Vec<Candidate> {
        if path.is_empty() || path.split('.').any(|part| !is_var_name(part)) {
            return Vec::new();
        }
        let Some(Value::Attrs(attrs)) = self.eval_quietly(path) else {
            return Vec::new();
        };
        // The option tree that describes these attributes, if they belong to a profile.
        let option_path = match path
            .split_once('.')
            .map_or((path, ""), |(head, rest)| (head, rest))
        {
            ("config" | "options", rest) if self.profile_options().is_ok() => {
                Some(rest.to_string())
            }
            _ => None,
        };
        let mut found = Vec::new();
        for entry in attrs.iter() {
            let name = entry.name.as_str();
            if !name.starts_with(partial) {
                continue;
            }
            let replacement = if is_var_name(name) {
                name.to_string()
            } else {
                let mut quoted = String::new();
                kiln_eval::print::escape_string(name, &mut quoted);
                quoted
            };
            let ty = match &option_path {
                Some(rest) => self.option_type(&format!("{rest}.{name}")),
                None => None,
            };
            let display = match ty {
                Some(ty) => format!("{replacement} ({ty})"),
                None => replacement.clone(),
            };
            found.push(Candidate {
                replacement,
                display,
            });
        }
        found.sort_by(|a, b| a.replacement.cmp(&b.replacement));
        found
    }

    /// The type description of the option at `path` of the loaded profile.
    fn option_type(&mut self, path: &str) -> Option<String> {
        let options = self.profile_options().ok()?;
        let option = profile::find_option(&mut self.ev, &options, path).ok()??;
        profile::type_description(&mut self.ev, &option).ok()?
    }
}
