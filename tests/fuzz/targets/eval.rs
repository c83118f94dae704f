//! Fuzz target body: evaluating any text that parses must not panic or overflow the stack; it
//! yields a value or an `EvalError`. A step limit bounds run time and a loader without files
//! keeps evaluation hermetic.

use kiln_eval::{EvalOptions, Evaluator, FileType, Loader};
use std::io;
use std::path::Path;

/// A file system with nothing in it.
struct NoFiles;

impl Loader for NoFiles {
    fn read_file(&self, _: &Path) -> io::Result<Vec<u8>> {
        Err(io::ErrorKind::NotFound.into())
    }
    fn file_type(&self, _: &Path) -> io::Result<FileType> {
        Err(io::ErrorKind::NotFound.into())
    }
    fn exists(&self, _: &Path) -> bool {
        false
    }
    fn read_dir(&self, _: &Path) -> io::Result<Vec<(String, FileType)>> {
        Err(io::ErrorKind::NotFound.into())
    }
    fn get_env(&self, _: &str) -> Option<String> {
        None
    }
    fn read_link(&self, _: &Path) -> io::Result<String> {
        Err(io::ErrorKind::NotFound.into())
    }
    fn is_executable(&self, _: &Path) -> bool {
        false
    }
}

pub(crate) fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let options = EvalOptions {
        trace_to_stderr: false,
        max_steps: 100_000,
        ..EvalOptions::default()
    };
    let mut ev = Evaluator::new(options, Box::new(NoFiles));
    let file = ev.sources_mut().add_virtual("«fuzz»", Path::new("/"), text);
    if let Ok(value) = ev.eval_source(file) {
        let _ = ev.print(&value, true);
        let _ = ev.print_json(&value, true);
    }
}
