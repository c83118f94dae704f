//! A serial console on a child process's stdin and stdout: QEMU's `-serial stdio` in the boot
//! and GNOME tests, `kiln run`'s terminal in run.rs. What it printed so far, waiting for text,
//! and shell commands run with markers around their output.

#![allow(dead_code)] // each test file uses its own part

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) struct Console {
    child: Child,
    stdin: ChildStdin,
    output: Arc<Mutex<Vec<u8>>>,
    /// What the failure messages call this console.
    pub(crate) label: String,
    /// When the child started (power-on, for QEMU).
    pub(crate) started: Instant,
}

impl Console {
    /// Starts `command` with its stdin and stdout on the console; stderr stays as `command`
    /// has it.
    pub(crate) fn spawn(command: &mut Command, label: &str) -> Console {
        let started = Instant::now();
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("{label}: start {:?}: {err}", command.get_program()));
        let stdin = child.stdin.take().expect("stdin");
        let mut stdout = child.stdout.take().expect("stdout");
        let output = Arc::new(Mutex::new(Vec::new()));
        let sink = output.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Console {
            child,
            stdin,
            output,
            label: label.to_string(),
            started,
        }
    }

    /// Everything the console printed so far.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    /// Waits until the console output after `from` contains `needle`; returns where it ends.
    pub(crate) fn wait_for(&self, needle: &str, from: usize, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            let text = self.text();
            if let Some(at) = text.get(from..).and_then(|t| t.find(needle)) {
                return from + at + needle.len();
            }
            assert!(
                Instant::now() < deadline,
                "{}: no `{needle}` on the serial console within {timeout:?}; it said:\n{}",
                self.label,
                tail(&text, 6000)
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Types a line.
    pub(crate) fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("write to the console");
        self.stdin.flush().expect("flush the console");
    }

    /// Runs a shell command on the console's shell and returns what it printed.
    pub(crate) fn run(&mut self, command: &str) -> String {
        let n = self.text().len();
        // Markers around the output, split with '' in the command so that the echo of the
        // command line (which the line editor may wrap) never matches them.
        self.send(&format!(
            "printf 'BE''GIN{n}\\n'; {command}; printf '\\nEN''D{n}\\n'"
        ));
        // The tty turns "\n" into "\r\n"; under TCG a busy guest answers slowly.
        let begin = self.wait_for(&format!("BEGIN{n}\r\n"), n, Duration::from_secs(180));
        let end = self.wait_for(&format!("\nEND{n}"), begin - 1, Duration::from_secs(180));
        let text = self.text();
        let out = strip_escapes(&text[begin..end - format!("\nEND{n}").len()]).replace('\r', "");
        out.strip_suffix('\n').unwrap_or(&out).to_string()
    }

    /// Waits for the child to exit by itself; `None` if it is still running after `timeout`.
    pub(crate) fn wait_for_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the child") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `text` without terminal control sequences (`ESC [ ... letter`), which the line editor and
/// programs that think they talk to a terminal (systemd's tools) write around output.
pub(crate) fn strip_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// The last `n` bytes of `text` (or a little fewer, at a character boundary).
pub(crate) fn tail(text: &str, n: usize) -> &str {
    let mut from = text.len().saturating_sub(n);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    &text[from..]
}
