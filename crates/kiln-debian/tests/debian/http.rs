//! Downloads over HTTP from a local test server: a connection cut half-way is retried and
//! resumed with a `Range` request; a 404 fails at once with the URL in the message.

use crate::common::{make_deb, Item};
use kiln_debian::{sha256_file, LockedPackage, Version};
use kiln_store::Store;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// Serves `body` at any path: the first response stops after half the bytes; later ones honour
/// `Range`. Returns the base URL and the `Range` header of each request.
fn flaky_server(body: Vec<u8>, status_404: bool) -> (String, Arc<Mutex<Vec<Option<String>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let ranges = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&ranges);
    std::thread::spawn(move || {
        for (idx, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut range = None;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
                    range = value.trim().trim_end_matches('-').parse::<usize>().ok();
                }
            }
            seen.lock()
                .unwrap()
                .push(range.map(|r| format!("bytes={r}-")));
            let _ = if status_404 {
                stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
            } else if idx == 0 {
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                stream
                    .write_all(head.as_bytes())
                    .and_then(|()| stream.write_all(&body[..body.len() / 2]))
            } else {
                let start = range.unwrap_or(0);
                let head = format!(
                    "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {start}-{}/{}\r\nConnection: close\r\n\r\n",
                    body.len() - start,
                    body.len() - 1,
                    body.len()
                );
                stream
                    .write_all(head.as_bytes())
                    .and_then(|()| stream.write_all(&body[start..]))
            };
        }
    });
    (url, ranges)
}

fn fetch_from(
    url: &str,
    deb: &std::path::Path,
) -> (kiln_testkit::TempDir, Result<std::path::PathBuf, String>) {
    let package = LockedPackage {
        name: "tool".into(),
        version: Version::parse("1.0").unwrap(),
        architecture: "amd64".into(),
        filename: "pool/tool.deb".into(),
        size: std::fs::metadata(deb).unwrap().len(),
        sha256: sha256_file(deb).unwrap(),
        depends: Vec::new(),
        installed_size: None,
    };
    let dir = kiln_testkit::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let result = crate::common::realise_package(&store, &package, url)
        .map_err(|e| crate::common::error_text(&e));
    (dir, result)
}

#[test]
fn cut_connection_is_resumed_with_range() {
    let payload: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let bytes = make_deb(&[Item::File("./big", &payload)], "");
    let src = kiln_testkit::tempdir().unwrap();
    let deb = src.path().join("tool.deb");
    std::fs::write(&deb, &bytes).unwrap();
    let (url, ranges) = flaky_server(bytes.clone(), false);
    let (_dir, result) = fetch_from(&url, &deb);
    let tree = result.unwrap();
    assert_eq!(std::fs::read(tree.join("big")).unwrap(), payload);
    let ranges = ranges.lock().unwrap();
    assert_eq!(ranges.len(), 2, "{ranges:?}");
    assert_eq!(ranges[0], None);
    assert_eq!(
        ranges[1].as_deref(),
        Some(format!("bytes={}-", bytes.len() / 2).as_str())
    );
}

#[test]
fn not_found_fails_without_retrying() {
    let src = kiln_testkit::tempdir().unwrap();
    let deb = src.path().join("tool.deb");
    std::fs::write(&deb, make_deb(&[Item::File("./x", b"x")], ".gz")).unwrap();
    let (url, ranges) = flaky_server(Vec::new(), true);
    let (_dir, result) = fetch_from(&url, &deb);
    let message = result.unwrap_err();
    assert!(message.contains("HTTP 404"), "{message}");
    assert!(message.contains("/pool/tool.deb"), "{message}");
    assert_eq!(ranges.lock().unwrap().len(), 1);
}
