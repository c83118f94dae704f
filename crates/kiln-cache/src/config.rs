//! Where the cache settings come from: command-line flags, then environment variables, then the
//! configuration file, the first that sets a field winning.
//!
//! | setting | flag | variable | `config.toml` key |
//! | --- | --- | --- | --- |
//! | caches to substitute from | `--substituters` | `KILN_SUBSTITUTERS` | `substituters` |
//! | keys to trust | `--trusted-public-keys` | `KILN_TRUSTED_PUBLIC_KEYS` | `trusted-public-keys` |
//! | key to sign pushes with | `--secret-key` | `KILN_SECRET_KEY_FILE` | `secret-key-file` |
//! | cache `--push` uploads to | `--push-to` | `KILN_PUSH_TO` | `push-to` |
//!
//! Lists are separated by white space in flags and variables (as Nix's `substituters` and
//! `trusted-public-keys`), and are strings or arrays of strings in the file. The file is
//! `$XDG_CONFIG_HOME/kiln/config.toml`, else `~/.config/kiln/config.toml`; a missing file is
//! no settings, an unknown key is an error (a typo would otherwise turn a cache off silently).

use crate::error::{CacheError, CacheResult};
use crate::keys::TrustedKeys;
use std::path::{Path, PathBuf};

/// The cache settings of one command.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub substituters: Vec<String>,
    pub trusted: TrustedKeys,
    pub secret_key_file: Option<PathBuf>,
    pub push_to: Option<String>,
}

/// What the command line said (each `None` when the flag was not given).
#[derive(Clone, Debug, Default)]
pub struct Flags {
    pub substituters: Option<String>,
    pub trusted_public_keys: Option<String>,
    pub secret_key_file: Option<PathBuf>,
    pub push_to: Option<String>,
}

/// `$XDG_CONFIG_HOME/kiln/config.toml`, else `~/.config/kiln/config.toml`.
pub fn config_path() -> Option<PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .map(|dir| dir.join("kiln/config.toml"))
}

#[derive(Default)]
struct FileSettings {
    substituters: Option<String>,
    trusted_public_keys: Option<String>,
    secret_key_file: Option<PathBuf>,
    push_to: Option<String>,
}

fn read_file(path: &Path) -> CacheResult<FileSettings> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileSettings::default()),
        Err(e) => return Err(CacheError::io("read", path)(e)),
    };
    let bad = |reason: String| CacheError::BadConfig {
        path: path.to_path_buf(),
        reason,
    };
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| bad(e.message().to_string()))?;
    let mut out = FileSettings::default();
    for (key, value) in &table {
        let words = || -> CacheResult<String> {
            match value {
                toml::Value::String(s) => Ok(s.clone()),
                toml::Value::Array(items) => items
                    .iter()
                    .map(|item| {
                        item.as_str().map(str::to_string).ok_or_else(|| {
                            bad(format!("`{key}` holds something other than strings"))
                        })
                    })
                    .collect::<CacheResult<Vec<_>>>()
                    .map(|items| items.join(" ")),
                _ => Err(bad(format!(
                    "`{key}` is neither a string nor a list of strings"
                ))),
            }
        };
        let string = || {
            value
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| bad(format!("`{key}` is not a string")))
        };
        match key.as_str() {
            "substituters" => out.substituters = Some(words()?),
            "trusted-public-keys" => out.trusted_public_keys = Some(words()?),
            "secret-key-file" => out.secret_key_file = Some(PathBuf::from(string()?)),
            "push-to" => out.push_to = Some(string()?),
            other => {
                return Err(bad(format!(
                    "unknown key `{other}` (known: substituters, trusted-public-keys, secret-key-file, push-to)"
                )))
            }
        }
    }
    Ok(out)
}

impl Settings {
    /// The settings `flags`, the environment and the configuration file give.
    pub fn load(flags: Flags) -> CacheResult<Settings> {
        let file = match config_path() {
            Some(path) => read_file(&path)?,
            None => FileSettings::default(),
        };
        Settings::merge(
            flags,
            |name| std::env::var(name).ok().filter(|v| !v.is_empty()),
            file,
        )
    }

    fn merge(
        flags: Flags,
        env: impl Fn(&str) -> Option<String>,
        file: FileSettings,
    ) -> CacheResult<Settings> {
        let substituters = flags
            .substituters
            .or_else(|| env("KILN_SUBSTITUTERS"))
            .or(file.substituters)
            .unwrap_or_default();
        let trusted = flags
            .trusted_public_keys
            .or_else(|| env("KILN_TRUSTED_PUBLIC_KEYS"))
            .or(file.trusted_public_keys)
            .unwrap_or_default();
        Ok(Settings {
            substituters: substituters
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            trusted: TrustedKeys::parse(&trusted)?,
            secret_key_file: flags
                .secret_key_file
                .or_else(|| env("KILN_SECRET_KEY_FILE").map(PathBuf::from))
                .or(file.secret_key_file),
            push_to: flags
                .push_to
                .or_else(|| env("KILN_PUSH_TO"))
                .or(file.push_to),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_the_environment_which_beats_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "substituters = [\"s3://file-a\", \"s3://file-b\"]\npush-to = \"s3://file-push\"\nsecret-key-file = \"/k\"\n",
        )
        .unwrap();
        let env = |name: &str| (name == "KILN_PUSH_TO").then(|| "s3://env-push".to_string());
        let settings = Settings::merge(Flags::default(), env, read_file(&path).unwrap()).unwrap();
        assert_eq!(settings.substituters, ["s3://file-a", "s3://file-b"]);
        assert_eq!(settings.push_to.as_deref(), Some("s3://env-push"));
        assert_eq!(settings.secret_key_file.as_deref(), Some(Path::new("/k")));
        let flags = Flags {
            substituters: Some("s3://flag".into()),
            ..Flags::default()
        };
        let settings = Settings::merge(flags, env, read_file(&path).unwrap()).unwrap();
        assert_eq!(settings.substituters, ["s3://flag"]);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "substituter = \"s3://typo\"\n").unwrap();
        assert!(read_file(&path).is_err());
        std::fs::write(&path, "substituters = 3\n").unwrap();
        assert!(read_file(&path).is_err());
        assert!(read_file(&dir.path().join("missing.toml")).is_ok());
    }
}
