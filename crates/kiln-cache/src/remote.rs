//! One cache's object store, reached through Apache Arrow's `object_store` crate, and the few
//! operations kiln needs of it: read a small text, download a file, upload a file, write a
//! small text, list. Everything here is async; the runtime that drives it belongs to the caller
//! ([`crate::Caches`] or [`crate::push`]), so no other part of kiln sees async code.
//!
//! URLs: `s3://BUCKET[/PREFIX][?endpoint=URL&region=REGION&profile=NAME]` and `file:///DIR`.
//! S3 credentials come from the usual places, in the usual order: `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, else the shared credentials file
//! (`AWS_SHARED_CREDENTIALS_FILE`, default `~/.aws/credentials`) under the profile the URL or
//! `AWS_PROFILE` names (default `default`); with a custom endpoint and no credentials at all,
//! requests go unsigned (a public or test bucket), and against AWS itself `object_store` asks
//! the instance metadata service. Credentials are never printed: errors name the URL only,
//! which carries none.

use futures::StreamExt;
use kiln_store::Digest;
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStore, RetryConfig};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{CacheError, CacheResult};

/// How long a small request (a manifest, an existence check) may take.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a download may go without receiving a byte.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// A cache's object store and the prefix its objects live under.
#[derive(Clone)]
pub(crate) struct Remote {
    /// As the user wrote it; it carries no credentials.
    pub(crate) url: String,
    store: Arc<dyn ObjectStore>,
    prefix: String,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote").field("url", &self.url).finish()
    }
}

/// What went wrong with a request, told apart where kiln acts differently.
#[derive(Debug)]
pub(crate) enum RemoteError {
    NotFound,
    /// The cache is unreachable, slow, or failing: kiln stops asking it.
    Down(String),
}

impl std::fmt::Display for RemoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RemoteError::NotFound => f.write_str("not found"),
            RemoteError::Down(why) => f.write_str(why),
        }
    }
}

fn classify(err: object_store::Error) -> RemoteError {
    match err {
        object_store::Error::NotFound { .. } => RemoteError::NotFound,
        other => RemoteError::Down(other.to_string()),
    }
}

async fn timed<T>(
    what: &str,
    limit: Duration,
    fut: impl std::future::Future<Output = Result<T, object_store::Error>>,
) -> Result<T, RemoteError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(result) => result.map_err(classify),
        Err(_) => Err(RemoteError::Down(format!(
            "{what} took longer than {}s",
            limit.as_secs()
        ))),
    }
}

impl Remote {
    /// Opens the cache at `url` (no request is made yet).
    pub(crate) fn open(url: &str) -> CacheResult<Remote> {
        let bad = |reason: &str| CacheError::BadUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        if let Some(dir) = url.strip_prefix("file://") {
            if !dir.starts_with('/') {
                return Err(bad("a file URL names an absolute directory, `file:///DIR`"));
            }
            std::fs::create_dir_all(dir).map_err(CacheError::io("create", dir))?;
            let store = object_store::local::LocalFileSystem::new_with_prefix(dir)
                .map_err(|e| bad(&e.to_string()))?;
            return Ok(Remote {
                url: url.to_string(),
                store: Arc::new(store),
                prefix: String::new(),
            });
        }
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| bad("the scheme is neither `s3://` nor `file://`"))?;
        let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
        if bucket.is_empty() {
            return Err(bad("no bucket"));
        }
        let mut builder = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_retry(RetryConfig {
                max_retries: 2,
                retry_timeout: Duration::from_secs(10),
                backoff: object_store::BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(2),
                    base: 2.0,
                },
            });
        let mut client = ClientOptions::new()
            .with_connect_timeout(Duration::from_secs(5))
            .with_timeout_disabled();
        let mut profile = std::env::var("AWS_PROFILE").ok();
        let mut endpoint = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "endpoint" => {
                    if value.starts_with("http://") {
                        client = client.with_allow_http(true);
                    }
                    builder = builder.with_endpoint(value);
                    endpoint = Some(value.to_string());
                }
                "region" => builder = builder.with_region(value),
                "profile" => profile = Some(value.to_string()),
                "scheme" => {} // Nix's; the endpoint carries its own scheme here
                other => return Err(bad(&format!("unknown parameter `{other}`"))),
            }
        }
        builder = builder.with_client_options(client);
        if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
            match shared_credentials(profile.as_deref().unwrap_or("default")) {
                Some(credentials) => {
                    builder = builder
                        .with_access_key_id(credentials.key_id)
                        .with_secret_access_key(credentials.secret);
                    if let Some(token) = credentials.token {
                        builder = builder.with_token(token);
                    }
                }
                None if endpoint.is_some() => builder = builder.with_skip_signature(true),
                None => {}
            }
        }
        let store = builder.build().map_err(|e| bad(&e.to_string()))?;
        Ok(Remote {
            url: url.to_string(),
            store: Arc::new(store),
            prefix: prefix.trim_matches('/').to_string(),
        })
    }

    fn path(&self, rel: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(rel)
        } else {
            ObjectPath::from(format!("{}/{rel}", self.prefix))
        }
    }

    /// A small object as text.
    pub(crate) async fn get_text(&self, rel: &str) -> Result<String, RemoteError> {
        let path = self.path(rel);
        let bytes = timed("a request", REQUEST_TIMEOUT, async {
            self.store.get(&path).await?.bytes().await
        })
        .await?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| RemoteError::Down(format!("`{rel}` is not text")))
    }

    pub(crate) async fn exists(&self, rel: &str) -> Result<bool, RemoteError> {
        match timed(
            "a request",
            REQUEST_TIMEOUT,
            self.store.head(&self.path(rel)),
        )
        .await
        {
            Ok(_) => Ok(true),
            Err(RemoteError::NotFound) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Downloads `rel` into `dest`, reporting bytes as they arrive; the blake3 hash and size of
    /// what was written. More than `limit` bytes is a failing cache.
    pub(crate) async fn download(
        &self,
        rel: &str,
        dest: &Path,
        limit: u64,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<(Digest, u64), RemoteError> {
        let path = self.path(rel);
        let result = timed("a request", REQUEST_TIMEOUT, self.store.get(&path)).await?;
        let mut stream = result.into_stream();
        let io = |e: std::io::Error| {
            RemoteError::Down(format!("cannot write `{}`: {e}", dest.display()))
        };
        let mut file = std::io::BufWriter::new(std::fs::File::create(dest).map_err(io)?);
        let mut hasher = blake3::Hasher::new();
        let mut size = 0u64;
        loop {
            let chunk = match tokio::time::timeout(IDLE_TIMEOUT, stream.next()).await {
                Err(_) => {
                    return Err(RemoteError::Down(format!(
                        "no data for {}s",
                        IDLE_TIMEOUT.as_secs()
                    )))
                }
                Ok(None) => break,
                Ok(Some(chunk)) => chunk.map_err(classify)?,
            };
            hasher.update(&chunk);
            file.write_all(&chunk).map_err(io)?;
            size += chunk.len() as u64;
            if size > limit {
                return Err(RemoteError::Down(format!(
                    "`{rel}` is longer than the {limit} bytes its manifest says"
                )));
            }
            progress(size);
        }
        file.flush().map_err(io)?;
        Ok((Digest::from_hasher(&hasher), size))
    }

    /// Uploads a file (in parts if large; an interrupted multipart upload is never visible).
    pub(crate) async fn upload(&self, rel: &str, src: &Path) -> Result<(), RemoteError> {
        use std::io::Read;
        use tokio::io::AsyncWriteExt;
        let io =
            |e: std::io::Error| RemoteError::Down(format!("cannot read `{}`: {e}", src.display()));
        let mut file = std::fs::File::open(src).map_err(io)?;
        let mut writer = object_store::buffered::BufWriter::with_capacity(
            self.store.clone(),
            self.path(rel),
            16 << 20,
        );
        let mut buf = vec![0u8; 8 << 20];
        let written: Result<(), std::io::Error> = async {
            loop {
                let n = file.read(&mut buf)?;
                if n == 0 {
                    return Ok(());
                }
                writer.write_all(&buf[..n]).await?;
            }
        }
        .await;
        if let Err(e) = written {
            // Abandons the multipart upload, which was never visible.
            let _ = writer.abort().await;
            return Err(RemoteError::Down(e.to_string()));
        }
        // Completes the upload; a failure leaves it incomplete, and so invisible (`abort` after
        // a failed shutdown is not allowed: object_store panics).
        writer
            .shutdown()
            .await
            .map_err(|e| RemoteError::Down(e.to_string()))
    }

    pub(crate) async fn put_text(&self, rel: &str, text: String) -> Result<(), RemoteError> {
        let path = self.path(rel);
        timed(
            "a request",
            REQUEST_TIMEOUT,
            self.store.put(&path, text.into_bytes().into()),
        )
        .await
        .map(|_| ())
    }

    /// The object paths under `rel`, relative to the cache's prefix, sorted.
    pub(crate) async fn list(&self, rel: &str) -> Result<Vec<String>, RemoteError> {
        let prefix = self.path(rel);
        let mut names = Vec::new();
        let mut stream = self.store.list(Some(&prefix));
        loop {
            match tokio::time::timeout(REQUEST_TIMEOUT, stream.next()).await {
                Err(_) => return Err(RemoteError::Down("listing timed out".into())),
                Ok(None) => break,
                Ok(Some(meta)) => {
                    let location = meta.map_err(classify)?.location.to_string();
                    let rel = if self.prefix.is_empty() {
                        location
                    } else {
                        location
                            .strip_prefix(&format!("{}/", self.prefix))
                            .unwrap_or(&location)
                            .to_string()
                    };
                    names.push(rel);
                }
            }
        }
        names.sort();
        Ok(names)
    }
}

struct Credentials {
    key_id: String,
    secret: String,
    token: Option<String>,
}

/// A profile of the AWS shared credentials file (an INI file of `[profile]` sections).
fn shared_credentials(profile: &str) -> Option<Credentials> {
    let path = std::env::var_os("AWS_SHARED_CREDENTIALS_FILE")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".aws/credentials")))?;
    let text = std::fs::read_to_string(path).ok()?;
    parse_credentials(&text, profile)
}

fn parse_credentials(text: &str, profile: &str) -> Option<Credentials> {
    let mut section = String::new();
    let (mut key_id, mut secret, mut token) = (None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_string();
            continue;
        }
        if section != profile {
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            let value = Some(value.trim().to_string());
            match key.trim() {
                "aws_access_key_id" => key_id = value,
                "aws_secret_access_key" => secret = value,
                "aws_session_token" => token = value,
                _ => {}
            }
        }
    }
    Some(Credentials {
        key_id: key_id?,
        secret: secret?,
        token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_file_profiles() {
        let text = "[default]\naws_access_key_id = A\naws_secret_access_key = B\n\n[ci]\naws_access_key_id=C\naws_secret_access_key=D\naws_session_token=E\n";
        let default = parse_credentials(text, "default").unwrap();
        assert_eq!(
            (
                default.key_id.as_str(),
                default.secret.as_str(),
                default.token
            ),
            ("A", "B", None)
        );
        let ci = parse_credentials(text, "ci").unwrap();
        assert_eq!(ci.token.as_deref(), Some("E"));
        assert!(parse_credentials(text, "missing").is_none());
    }

    #[test]
    fn urls() {
        assert!(Remote::open("s3://bucket?endpoint=http://127.0.0.1:1&region=us-east-1").is_ok());
        assert!(Remote::open("http://x").is_err());
        assert!(Remote::open("s3://?region=x").is_err());
        assert!(Remote::open("s3://b?color=red").is_err());
    }
}
