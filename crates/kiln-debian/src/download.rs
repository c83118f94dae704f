//! Downloads with retries and resume, over plain HTTP (ureq, blocking) or from `file://`.
//!
//! Integrity never depends on the transport: every byte fetched here is checked against a
//! SHA-256 from the signed `InRelease` before anyone reads it, so HTTP is as good as HTTPS
//! (apt makes the same choice). A transient failure (connection reset, timeout, 5xx) is
//! retried with backoff; a retry asks for the rest of the file with an HTTP `Range` request
//! and appends when the server answers 206, or starts over when it answers 200.

use crate::error::{DebianError, DebianResult};
use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

const ATTEMPTS: u32 = 5;
const CHUNK: usize = 256 * 1024;

/// Where downloaded bytes go; it can be truncated to start over.
pub(crate) trait Sink: Write {
    fn written(&self) -> u64;
    fn reset(&mut self) -> io::Result<()>;
}

impl Sink for Vec<u8> {
    fn written(&self) -> u64 {
        self.len() as u64
    }
    fn reset(&mut self) -> io::Result<()> {
        self.clear();
        Ok(())
    }
}

pub(crate) struct FileSink {
    file: File,
    written: u64,
}

impl FileSink {
    pub(crate) fn create(path: &Path) -> DebianResult<FileSink> {
        let file = File::create(path).map_err(DebianError::io("create", path))?;
        Ok(FileSink { file, written: 0 })
    }
}

impl Write for FileSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Sink for FileSink {
    fn written(&self) -> u64 {
        self.written
    }
    fn reset(&mut self) -> io::Result<()> {
        self.file.set_len(0)?;
        self.file.rewind()?;
        self.written = 0;
        Ok(())
    }
}

/// Downloads `url` into `sink`, calling `progress(done, total)` as bytes arrive.
pub(crate) fn download(
    url: &str,
    sink: &mut dyn Sink,
    progress: &dyn Fn(u64, Option<u64>),
) -> DebianResult<()> {
    if let Some(path) = url.strip_prefix("file://") {
        return copy_file(url, Path::new(path), sink, progress);
    }
    let https = cfg!(feature = "https") && url.starts_with("https://");
    if !(url.starts_with("http://") || https) {
        return Err(DebianError::UnsupportedUrl {
            url: url.to_string(),
        });
    }
    let mut last_error = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(250 << attempt));
        }
        match attempt_http(url, sink, progress) {
            Ok(()) => return Ok(()),
            Err(Failure::Permanent(message)) => {
                return Err(DebianError::Download {
                    url: url.to_string(),
                    message,
                })
            }
            Err(Failure::Transient(message)) => last_error = message,
        }
    }
    Err(DebianError::Download {
        url: url.to_string(),
        message: format!("{last_error} (after {ATTEMPTS} attempts)"),
    })
}

enum Failure {
    Transient(String),
    Permanent(String),
}

fn agent() -> &'static ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(15))
            .timeout_read(Duration::from_secs(30))
            .try_proxy_from_env(true)
            .user_agent(concat!("kiln/", env!("CARGO_PKG_VERSION")))
            .build()
    })
}

fn attempt_http(
    url: &str,
    sink: &mut dyn Sink,
    progress: &dyn Fn(u64, Option<u64>),
) -> Result<(), Failure> {
    let io_failure = |e: io::Error| Failure::Permanent(format!("cannot write: {e}"));
    let offset = sink.written();
    let mut request = agent().get(url);
    if offset > 0 {
        request = request.set("Range", &format!("bytes={offset}-"));
    }
    let response = match request.call() {
        Ok(response) => response,
        Err(ureq::Error::Status(416, _)) if offset > 0 => {
            // Our partial copy is unusable (or already complete but unconfirmed): start over.
            sink.reset().map_err(io_failure)?;
            return Err(Failure::Transient("range not satisfiable".into()));
        }
        Err(ureq::Error::Status(code, response)) => {
            let message = format!("HTTP {code} {}", response.status_text());
            return Err(if code >= 500 || code == 429 || code == 408 {
                Failure::Transient(message)
            } else {
                Failure::Permanent(message)
            });
        }
        Err(err) => return Err(Failure::Transient(err.to_string())),
    };
    let length: Option<u64> = response
        .header("Content-Length")
        .and_then(|v| v.parse().ok());
    let start = if response.status() == 206 {
        offset
    } else {
        sink.reset().map_err(io_failure)?;
        0
    };
    let total = length.map(|l| l + start);
    let mut reader = response.into_reader();
    copy(&mut reader, sink, total, progress).map_err(|e| match e {
        CopyError::Read(e) => Failure::Transient(format!("connection lost: {e}")),
        CopyError::Write(e) => io_failure(e),
    })?;
    match total {
        Some(total) if sink.written() < total => Err(Failure::Transient(format!(
            "the connection closed after {} of {total} bytes",
            sink.written()
        ))),
        _ => Ok(()),
    }
}

enum CopyError {
    Read(io::Error),
    Write(io::Error),
}

fn copy(
    reader: &mut dyn Read,
    sink: &mut dyn Sink,
    total: Option<u64>,
    progress: &dyn Fn(u64, Option<u64>),
) -> Result<(), CopyError> {
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e)),
        };
        sink.write_all(&buf[..n]).map_err(CopyError::Write)?;
        progress(sink.written(), total);
    }
    sink.flush().map_err(CopyError::Write)
}

fn copy_file(
    url: &str,
    path: &Path,
    sink: &mut dyn Sink,
    progress: &dyn Fn(u64, Option<u64>),
) -> DebianResult<()> {
    let failed = |message: String| DebianError::Download {
        url: url.to_string(),
        message,
    };
    let mut file = File::open(path).map_err(|e| failed(e.to_string()))?;
    let total = file.metadata().ok().map(|m| m.len());
    sink.reset().map_err(|e| failed(e.to_string()))?;
    copy(&mut file, sink, total, progress).map_err(|e| match e {
        CopyError::Read(e) | CopyError::Write(e) => failed(e.to_string()),
    })
}
