//! `builtins.fetchGit` of a local repository, done as nix 2.8's Git fetcher does it: by
//! running the `git` program (a host tool, as for nix; a missing `git` is
//! `kiln::driver::git_missing`), with the same commands and the same decisions, so the tree,
//! `rev`, `revCount` and `lastModified` are nix's.
//!
//! - **A working tree** (a repository with a `.git`, no `ref` and no `rev` given): if it is
//!   clean (`git diff HEAD --quiet` finds nothing), the commit at `HEAD`; if not, or if there is
//!   no commit yet, *the tracked files as they are on disk* (`git ls-files`, with
//!   `--recurse-submodules` when `submodules`), with no `rev` and `lastModified` the time of
//!   `HEAD` (0 without one), after nix's warning `Git tree '…' is dirty`.
//! - **A commit** (`ref` or `rev` given, or a clean tree): `ref` defaults to the checked-out
//!   branch, `rev` to what `git rev-parse REF` names; `git cat-file commit REV` must find it,
//!   the tree is `git archive REV` (so `export-ignore` and `export-subst` apply, as in nix),
//!   `lastModified` is its commit time and `revCount` `git rev-list --count REV` (not for
//!   `shallow`; a shallow repository needs `shallow = true`). With `submodules`, nix's
//!   checkout: a scratch repository fetches every ref, checks `REV` out and runs
//!   `git submodule update --init --recursive`; everything but `.git` is the tree.
//! - **A bare repository** (no `.git` below the path): nix clones it into a cache as a remote;
//!   kiln reads it in place with the same rules: `ref` defaults to `master`, `refs/heads/REF`
//!   is what it names (`refs/…` and `HEAD` as given), and a `rev` must be on that ref unless
//!   `allRefs`. nix's cache can make an earlier fetch of the same `rev` succeed where this
//!   rule fails; kiln has no such memory.
//!
//! Never the network: kiln-eval refuses remote URLs before anything runs, and every `git` here
//! runs with `protocol.allow=never` (the file protocol keeps the policy the user's Git
//! configuration gives it, as for nix), so a submodule on a server fails with
//! `kiln::driver::remote_submodule`. The tree is read into memory and added to the store by
//! content like any path (a `copy-path` entry), so a derivation that uses it is keyed by its
//! bytes; the working tree is read through the evaluator's loader.

use crate::error::HostError;
use crate::host::{host_error, read_tree};
use kiln_builders::SourceTree;
use kiln_eval::{EvalError, EvalResult, Evaluator, FetchGit, FileType};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// What a fetch found: the tree and nix's attributes for it.
pub(crate) struct Checkout {
    pub(crate) tree: SourceTree,
    pub(crate) git_ref: Option<String>,
    pub(crate) rev: Option<String>,
    pub(crate) rev_count: Option<u64>,
    pub(crate) last_modified: u64,
}

/// Fetches what `request` names (see the module comment).
pub(crate) fn fetch(ev: &mut Evaluator, request: &FetchGit) -> EvalResult<Checkout> {
    let git = Git::new()?;
    let path = request.path.as_str();
    // nix: a `file://` repository without `.git` is "bare" and fetched like a remote one.
    let bare = ev
        .loader()
        .file_type(&Path::new(path).join(".git"))
        .is_err();
    if !bare && request.git_ref.is_none() && request.rev.is_none() {
        if let Some(checkout) = working_tree(ev, &git, request)? {
            return Ok(checkout);
        }
    }
    Ok(commit(ev, &git, request, bare)?)
}

/// A dirty working tree's checkout, or `None` if the tree is clean (then its `HEAD` commit is
/// fetched).
fn working_tree(ev: &mut Evaluator, git: &Git, request: &FetchGit) -> EvalResult<Option<Checkout>> {
    let path = request.path.as_str();
    let head = git.run(
        &[
            "-C",
            path,
            "--git-dir=.git",
            "rev-parse",
            "--verify",
            "--no-revs",
            "HEAD^{commit}",
        ],
        true,
    )?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&head.stdout),
        String::from_utf8_lossy(&head.stderr)
    );
    let fetch_error = |message: String| EvalError::from(HostError::FetchGit { message });
    let has_head = if said.contains("fatal: not a git repository") {
        return Err(fetch_error(format!("'{path}' is not a Git repository")));
    } else if said.contains("fatal: Needed a single revision") {
        false
    } else if !head.status.success() {
        return Err(fetch_error(format!(
            "getting the HEAD of the Git tree '{path}' failed with exit code {}:\n{said}",
            head.status.code().unwrap_or(-1)
        )));
    } else {
        true
    };
    if has_head {
        let mut diff = vec!["-C", path, "diff", "HEAD", "--quiet"];
        if !request.submodules {
            // Changes in submodules make the tree dirty only when they are copied too.
            diff.push("--ignore-submodules");
        }
        diff.push("--");
        let out = git.run(&diff, false)?;
        match out.status.code() {
            Some(0) => return Ok(None),
            Some(1) => {}
            _ => return Err(git.failed(&diff, &out).into()),
        }
    }
    if ev.options().trace_to_stderr {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("warning: Git tree '{path}' is dirty");
        }
    }
    let mut ls_files = vec!["-C", path, "ls-files", "-z"];
    if request.submodules {
        ls_files.push("--recurse-submodules");
    }
    let listed = git.ok(&ls_files)?;
    let files: BTreeSet<String> = listed
        .split('\0')
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect();
    let root = Path::new(path);
    // nix's filter: a tracked file, or a directory some tracked file is under.
    let mut keep = |_: &mut Evaluator, entry: &Path, kind: FileType| -> EvalResult<bool> {
        let Ok(relative) = entry.strip_prefix(root) else {
            return Ok(false);
        };
        let relative = relative.to_string_lossy();
        Ok(if kind == FileType::Directory {
            let prefix = format!("{relative}/");
            files
                .range(prefix.clone()..)
                .next()
                .is_some_and(|f| f.starts_with(&prefix))
        } else {
            files.contains(relative.as_ref())
        })
    };
    let tree = read_tree(ev, root, &mut keep)?;
    let last_modified = if has_head {
        commit_time(git, path, "HEAD")?
    } else {
        0
    };
    Ok(Some(Checkout {
        tree,
        git_ref: None,
        rev: None,
        rev_count: None,
        last_modified,
    }))
}

/// A commit's checkout (see the module comment).
fn commit(
    ev: &mut Evaluator,
    git: &Git,
    request: &FetchGit,
    bare: bool,
) -> Result<Checkout, HostError> {
    let path = request.path.as_str();
    // `--git-dir` for a bare repository, so that Git never searches the directories above it
    // (a path that is no repository fails instead of finding an enclosing one).
    let repo: Vec<String> = if bare {
        vec![format!("--git-dir={path}")]
    } else {
        vec!["-C".into(), path.into()]
    };
    let in_repo = |args: &[&str]| -> Vec<String> {
        let mut all = repo.clone();
        all.extend(args.iter().map(|s| s.to_string()));
        all
    };
    let run_ok = |args: &[&str]| git.ok_owned(&in_repo(args));
    let git_ref = match &request.git_ref {
        Some(git_ref) => git_ref.clone(),
        None if bare => "master".to_string(),
        None => run_ok(&["rev-parse", "--abbrev-ref", "HEAD"])?
            .trim()
            .to_string(),
    };
    // nix names a bare repository by its URL, as it names remote ones.
    let location = if bare {
        format!("file://{path}")
    } else {
        path.to_string()
    };
    let not_found = || {
        HostError::FetchGit {
        message: format!(
            "Cannot find Git revision '{}' in ref '{git_ref}' of repository '{location}'! Please make sure that the rev exists on the ref you've specified or add allRefs = true; to fetchGit.",
            request.rev.as_deref().unwrap_or_default()
        ),
    }
    };
    let rev = if bare {
        // What nix would fetch into its cache: `refs/heads/REF`, `refs/…` or `HEAD`.
        let full_ref = if git_ref.starts_with("refs/") || git_ref == "HEAD" {
            git_ref.clone()
        } else {
            format!("refs/heads/{git_ref}")
        };
        let tip = git.run_owned(&in_repo(&["rev-parse", "--verify", "--quiet", &full_ref]))?;
        // nix's `git fetch` of the ref (of every ref with `allRefs`) fails on a missing ref.
        let fetches_all = request.all_refs && request.rev.is_some();
        if !tip.status.success() && !fetches_all {
            return Err(HostError::GitFailed {
                command: format!("git fetch {location} {full_ref}"),
                status: "failed with exit code 128".into(),
                stderr: format!("fatal: couldn't find remote ref {full_ref}"),
            });
        }
        match &request.rev {
            Some(rev) if request.all_refs => rev.clone(),
            Some(rev) => {
                // Only the ref's history would be in nix's clone.
                let on_ref = git
                    .run_owned(&in_repo(&["merge-base", "--is-ancestor", rev, &full_ref]))?
                    .status
                    .success();
                if !on_ref {
                    return Err(not_found());
                }
                rev.clone()
            }
            None => parse_sha1(&String::from_utf8_lossy(&tip.stdout))?,
        }
    } else {
        match &request.rev {
            Some(rev) => rev.clone(),
            None => parse_sha1(&run_ok(&["rev-parse", &git_ref])?)?,
        }
    };
    let shallow_repo = run_ok(&["rev-parse", "--is-shallow-repository"])?.trim() == "true";
    if shallow_repo && !request.shallow {
        return Err(HostError::FetchGit {
            message: format!(
                "'{location}' is a shallow Git repository, but a non-shallow repository is needed"
            ),
        });
    }
    let exists = git.run_owned(&in_repo(&["cat-file", "commit", &rev]))?;
    if exists.status.code() == Some(128)
        && String::from_utf8_lossy(&exists.stderr).contains("bad file")
    {
        return Err(not_found());
    }
    let tree = if request.submodules {
        with_submodules(ev, git, path, &rev)?
    } else {
        let archive = git.run_owned(&in_repo(&["archive", &rev]))?;
        if !archive.status.success() {
            return Err(git.failed_owned(&in_repo(&["archive", &rev]), &archive));
        }
        tree_of_archive(&archive.stdout)?
    };
    let last_modified = commit_time_in(git, &in_repo, &rev)?;
    let rev_count = if request.shallow {
        None
    } else {
        let count = run_ok(&["rev-list", "--count", &rev])?;
        Some(parse_count(&count)?)
    };
    Ok(Checkout {
        tree,
        git_ref: Some(git_ref),
        rev: Some(rev),
        rev_count,
        last_modified,
    })
}

/// nix's checkout with submodules, in a scratch directory that is removed afterwards.
fn with_submodules(
    ev: &mut Evaluator,
    git: &Git,
    repo: &str,
    rev: &str,
) -> Result<SourceTree, HostError> {
    let scratch = tempfile::Builder::new()
        .prefix("kiln-fetchgit-")
        .tempdir()
        .map_err(|source| HostError::Io {
            action: "create a scratch directory for",
            path: repo.to_string(),
            source,
        })?;
    let work = scratch.path().join("work");
    let git_dir = scratch.path().join("git");
    let (work, git_dir) = (work.to_string_lossy(), git_dir.to_string_lossy());
    git.ok(&[
        "-c",
        "init.defaultBranch=kiln-scratch",
        "init",
        "--quiet",
        &work,
        "--separate-git-dir",
        &git_dir,
    ])?;
    git.ok(&[
        "-C",
        &work,
        "fetch",
        "--quiet",
        "--force",
        "--update-head-ok",
        "--",
        repo,
        "refs/*:refs/*",
    ])?;
    git.ok(&["-C", &work, "checkout", "--quiet", rev])?;
    git.ok(&["-C", &work, "remote", "add", "origin", repo])?;
    let update = [
        "-C",
        &work,
        "submodule",
        "--quiet",
        "update",
        "--init",
        "--recursive",
    ];
    let out = git.run(&update, false)?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if stderr.contains("transport '")
            && stderr.contains("' not allowed")
            && !stderr.contains("transport 'file'")
        {
            return Err(HostError::RemoteSubmodule {
                path: repo.to_string(),
                stderr,
            });
        }
        return Err(git.failed(&update, &out));
    }
    let mut keep = |_: &mut Evaluator, entry: &Path, _: FileType| -> EvalResult<bool> {
        Ok(entry.file_name().is_none_or(|name| name != ".git"))
    };
    read_tree(ev, Path::new(work.as_ref()), &mut keep).map_err(|e| HostError::FetchGit {
        message: e.kind().to_string(),
    })
}

/// The tree `git archive` writes, as a [`SourceTree`] (nix unpacks the same tar).
fn tree_of_archive(tar_bytes: &[u8]) -> Result<SourceTree, HostError> {
    let bad = |source: std::io::Error| HostError::Io {
        action: "read the archive git wrote of",
        path: "the commit".to_string(),
        source,
    };
    let mut root = BTreeMap::new();
    let mut archive = tar::Archive::new(tar_bytes);
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let kind = entry.header().entry_type();
        let node = match kind {
            tar::EntryType::Regular => {
                let mut bytes = Vec::new();
                entry.read_to_end(&mut bytes).map_err(bad)?;
                let mode = entry.header().mode().map_err(bad)?;
                SourceTree::File {
                    bytes,
                    executable: mode & 0o100 != 0,
                }
            }
            tar::EntryType::Symlink => {
                let target = entry.link_name().map_err(bad)?.unwrap_or_default();
                SourceTree::Symlink(target.to_string_lossy().into_owned())
            }
            tar::EntryType::Directory => SourceTree::Dir(BTreeMap::new()),
            // The commit id git records in a pax global header.
            tar::EntryType::XGlobalHeader => continue,
            other => {
                return Err(bad(std::io::Error::other(format!(
                    "unexpected entry of type {other:?}"
                ))))
            }
        };
        let path = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        insert(&mut root, &path, node);
    }
    Ok(SourceTree::Dir(root))
}

/// Puts `node` at `path` (`a/b/c`, or `a/b/` for a directory) below `root`, making the
/// directories on the way.
fn insert(root: &mut BTreeMap<String, SourceTree>, path: &str, node: SourceTree) {
    let mut parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    let Some(last) = parts.pop() else {
        return;
    };
    let mut dir = root;
    for part in parts {
        let child = dir
            .entry(part.to_string())
            .or_insert_with(|| SourceTree::Dir(BTreeMap::new()));
        if !matches!(child, SourceTree::Dir(_)) {
            *child = SourceTree::Dir(BTreeMap::new());
        }
        let SourceTree::Dir(entries) = child else {
            unreachable!("made a directory just above");
        };
        dir = entries;
    }
    // A directory listed after its files keeps them.
    if !(matches!(node, SourceTree::Dir(_)) && matches!(dir.get(last), Some(SourceTree::Dir(_)))) {
        dir.insert(last.to_string(), node);
    }
}

fn commit_time(git: &Git, path: &str, rev: &str) -> Result<u64, HostError> {
    let out = git.ok(&[
        "-C",
        path,
        "log",
        "-1",
        "--format=%ct",
        "--no-show-signature",
        rev,
    ])?;
    parse_count(&out)
}

fn commit_time_in(
    git: &Git,
    in_repo: &dyn Fn(&[&str]) -> Vec<String>,
    rev: &str,
) -> Result<u64, HostError> {
    let out = git.ok_owned(&in_repo(&[
        "log",
        "-1",
        "--format=%ct",
        "--no-show-signature",
        rev,
    ]))?;
    parse_count(&out)
}

fn parse_count(text: &str) -> Result<u64, HostError> {
    text.trim().parse().map_err(|_| HostError::FetchGit {
        message: format!("git printed '{}' where a number was expected", text.trim()),
    })
}

/// A commit id as git prints it (40 hex digits), checked as nix's `Hash::parseAny(…, sha1)`.
fn parse_sha1(text: &str) -> Result<String, HostError> {
    let text = text.trim();
    if text.len() == 40 && text.bytes().all(|c| c.is_ascii_hexdigit()) {
        Ok(text.to_ascii_lowercase())
    } else {
        Err(HostError::FetchGit {
            message: format!("hash '{text}' has wrong length for hash type 'sha1'"),
        })
    }
}

/// Runs `git` with kiln's configuration: no network protocol, the file protocol as the user's
/// Git configuration allows it.
struct Git {
    config: Vec<String>,
}

impl Git {
    fn new() -> Result<Git, HostError> {
        // What `protocol.file.allow` is for this user (Git's default, `user`, if unset), so
        // that `protocol.allow=never` takes away the network and nothing else.
        let bare = Git { config: Vec::new() };
        let out = bare.run(&["config", "--get", "protocol.file.allow"], false)?;
        let file_policy = match String::from_utf8_lossy(&out.stdout).trim() {
            "" => "user".to_string(),
            policy => policy.to_string(),
        };
        Ok(Git {
            config: vec![
                "-c".into(),
                "protocol.allow=never".into(),
                "-c".into(),
                format!("protocol.file.allow={file_policy}"),
            ],
        })
    }

    /// Runs `git ARGS` and returns what it did, whatever its status. `c_locale` runs it with
    /// `LC_ALL=C`, for messages that are matched.
    fn run(&self, args: &[&str], c_locale: bool) -> Result<Output, HostError> {
        let mut command = Command::new("git");
        command
            .args(&self.config)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if c_locale {
            command.env("LC_ALL", "C");
        }
        command.output().map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => HostError::GitMissing,
            _ => HostError::Io {
                action: "run git on",
                path: args.join(" "),
                source,
            },
        })
    }

    fn run_owned(&self, args: &[String]) -> Result<Output, HostError> {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run(&args, false)
    }

    /// Runs `git ARGS`, which must succeed; its standard output.
    fn ok(&self, args: &[&str]) -> Result<String, HostError> {
        let out = self.run(args, false)?;
        if !out.status.success() {
            return Err(self.failed(args, &out));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn ok_owned(&self, args: &[String]) -> Result<String, HostError> {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.ok(&args)
    }

    /// nix's error for a failed program, with what git said.
    fn failed(&self, args: &[&str], out: &Output) -> HostError {
        let status = match out.status.code() {
            Some(code) => format!("failed with exit code {code}"),
            None => "was killed by a signal".to_string(),
        };
        HostError::GitFailed {
            command: format!("git {}", args.join(" ")),
            status,
            stderr: String::from_utf8_lossy(&out.stderr).trim_end().to_string(),
        }
    }

    fn failed_owned(&self, args: &[String], out: &Output) -> HostError {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.failed(&args, out)
    }
}

impl From<HostError> for EvalError {
    fn from(err: HostError) -> EvalError {
        host_error(&err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> SourceTree {
        SourceTree::File {
            bytes: text.as_bytes().to_vec(),
            executable: false,
        }
    }

    #[test]
    fn archive_paths_build_a_tree() {
        let mut root = BTreeMap::new();
        insert(&mut root, "d/", SourceTree::Dir(BTreeMap::new()));
        insert(&mut root, "d/b", file("b"));
        insert(&mut root, "a", file("a"));
        insert(&mut root, "e/f/g", file("g"));
        // A directory entry after its contents keeps them.
        insert(&mut root, "e/", SourceTree::Dir(BTreeMap::new()));
        let tree = SourceTree::Dir(root);
        let expected = SourceTree::Dir(
            [
                ("a".to_string(), file("a")),
                (
                    "d".to_string(),
                    SourceTree::Dir([("b".to_string(), file("b"))].into()),
                ),
                (
                    "e".to_string(),
                    SourceTree::Dir(
                        [(
                            "f".to_string(),
                            SourceTree::Dir([("g".to_string(), file("g"))].into()),
                        )]
                        .into(),
                    ),
                ),
            ]
            .into(),
        );
        assert_eq!(tree, expected);
    }

    #[test]
    fn commit_ids_are_sha1() {
        let rev = "A68F6B2B07176EE907BECC6EA31A1398C37EE451\n";
        assert_eq!(parse_sha1(rev).unwrap(), rev.trim().to_ascii_lowercase());
        assert!(parse_sha1("main").is_err());
    }
}
