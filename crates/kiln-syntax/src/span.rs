//! Source positions. Every AST node carries a [`Span`] so that parse and evaluation
//! diagnostics can point at the text that caused them; the [`SourceMap`] owns the texts.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// Index of a file in a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A byte range in one file. Offsets are `u32`: kiln refuses sources over 4 GiB.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: u32, end: u32) -> Span {
        Span { file, start, end }
    }

    /// The smallest span covering both `self` and `other` (same file assumed).
    pub fn to(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn len(self) -> u32 {
        self.end - self.start
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(span: Span) -> miette::SourceSpan {
        (span.start as usize, (span.end - span.start) as usize).into()
    }
}

/// One source text and where it came from.
#[derive(Debug)]
pub struct SourceFile {
    /// Shown in diagnostics: the path as given, or `«string»` / `(stdin)` for text not from a file.
    pub name: String,
    /// The file this text was read from, if any.
    pub path: Option<PathBuf>,
    /// Relative paths in this text (`./a`) resolve against this directory.
    pub base_dir: PathBuf,
    pub text: Arc<str>,
    /// The byte offset of the start of every line after the first, computed on first use by
    /// [`SourceMap::line_col`]. Module evaluation asks for the line of every definition
    /// (`unsafeGetAttrPos`); counting newlines from the start of the file each time made that
    /// quadratic in the file's length (a tenth of the instructions of a module benchmark).
    line_starts: OnceLock<Box<[u32]>>,
}

/// Owns every source text seen in one run; [`FileId`]s index into it.
#[derive(Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    /// Adds a text read from `path`; relative paths inside it resolve against its directory.
    pub fn add_file(&mut self, path: &Path, text: impl Into<Arc<str>>) -> FileId {
        let base_dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("/"));
        self.push(SourceFile {
            name: path.display().to_string(),
            path: Some(path.to_path_buf()),
            base_dir,
            text: text.into(),
            line_starts: OnceLock::new(),
        })
    }

    /// Adds a text that is not a file (`-E`, stdin, the REPL); relative paths resolve against `base_dir`.
    pub fn add_virtual(
        &mut self,
        name: &str,
        base_dir: &Path,
        text: impl Into<Arc<str>>,
    ) -> FileId {
        self.push(SourceFile {
            name: name.to_string(),
            path: None,
            base_dir: base_dir.to_path_buf(),
            text: text.into(),
            line_starts: OnceLock::new(),
        })
    }

    fn push(&mut self, file: SourceFile) -> FileId {
        let id = FileId(u32::try_from(self.files.len()).expect("more than 2^32 source files"));
        self.files.push(file);
        id
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    /// A stand-alone source for a miette report (long lines clipped around the span).
    pub fn named_source(&self, id: FileId) -> crate::SnippetSource {
        let file = self.get(id);
        crate::SnippetSource::new(file.name.clone(), file.text.clone())
    }

    /// A position as nix shows it inside a message: `FILE:LINE:COL`, with `(string)` for an
    /// expression given on the command line (nix's spelling there; reports say `«string»`).
    pub fn message_position(&self, span: Span) -> String {
        let (line, col) = self.line_col(span.file, span.start);
        let name = &self.get(span.file).name;
        let name = if name == "«string»" {
            "(string)"
        } else {
            name
        };
        format!("{name}:{line}:{col}")
    }

    /// 1-based line and column (in chars) of a byte offset, as Nix reports positions.
    pub fn line_col(&self, id: FileId, offset: u32) -> (u32, u32) {
        let file = self.get(id);
        let text = &*file.text;
        let offset = floor_char_boundary(text, (offset as usize).min(text.len()));
        let starts = file.line_starts.get_or_init(|| {
            text.match_indices('\n')
                .map(|(i, _)| u32::try_from(i + 1).unwrap_or(u32::MAX))
                .collect()
        });
        // The number of line starts at or before `offset` is the number of newlines before it.
        let before = starts.partition_point(|&start| start as usize <= offset);
        let line_start = match before {
            0 => 0,
            n => starts[n - 1] as usize,
        };
        let col = text[line_start..offset].chars().count() as u32 + 1;
        (before as u32 + 1, col)
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::{floor_char_boundary, SourceMap};
    use std::path::Path;

    /// The line index gives what counting newlines from the start of the text gives, at every
    /// offset, inside multi-byte characters and past the end too.
    #[test]
    fn line_col_agrees_with_counting() {
        let texts = ["", "a", "\n", "ab\ncd\n\nef", "é\nüx\n\n€€\nz", "\n\nlast"];
        for text in texts {
            let mut sources = SourceMap::new();
            let id = sources.add_virtual("t", Path::new("/"), text);
            for offset in 0..=text.len() as u32 + 2 {
                let o = floor_char_boundary(text, (offset as usize).min(text.len()));
                let before = &text[..o];
                let line = before.matches('\n').count() as u32 + 1;
                let start = before.rfind('\n').map_or(0, |i| i + 1);
                let col = before[start..].chars().count() as u32 + 1;
                assert_eq!(
                    sources.line_col(id, offset),
                    (line, col),
                    "{text:?} at {offset}"
                );
            }
        }
    }
}
