//! Native `.deb` unpacking: `ar` → `data.tar.{xz,zst,gz}` → a directory tree, refusing
//! hostile archives.
//!
//! A `.deb` is an `ar` archive of `debian-binary` (`2.0`), `control.tar.*` and `data.tar.*`.
//! The data member becomes the tree; what dpkg keeps of the package goes to `.kiln-deb/` beside
//! it ([`CONTROL_DIR`]): the control area's files (`control`, `md5sums`, `conffiles`, the
//! maintainer scripts, `triggers`, `templates`, ...) under `control/`, and `files`, the data
//! member's entries in archive order with the metadata the store does not keep (see
//! [`FILES_MANIFEST`]). That is what a configured root needs: dpkg's database and each file's
//! real mode and owner. The tree is a root filesystem fragment, so:
//!
//! - entry paths must be relative and free of `..` (`./usr/bin/x` is fine, `/etc/x` and
//!   `../x` are refused);
//! - nothing is ever written through a symlink: every parent of an entry must be a real
//!   directory of the tree, so an entry cannot reach outside by way of an earlier link;
//! - a relative symlink target must not climb above the tree's root from the link's
//!   directory; an absolute target is accepted, because Debian policy requires absolute links
//!   between top-level directories (`/lib64/ld-linux-x86-64.so.2 → /lib/…`), and inside the
//!   image it resolves within the image's root. Readers of the store must copy links, not
//!   follow them;
//! - a hard link must name a regular file already in the tree;
//! - device nodes, FIFOs and other special files are refused (an unprivileged build could
//!   not make them, and a package that needs them is not one kiln can ship).

use crate::error::{DebianError, DebianResult};
use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

/// An xz decoder that uses several threads when the stream has several blocks (as Debian's
/// big packages do: the kernel's `data.tar.xz` has about twenty), and one otherwise.
pub(crate) fn xz_reader<R: Read>(reader: R) -> Result<liblzma::read::XzDecoder<R>, String> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let stream = liblzma::stream::MtStreamBuilder::new()
        .threads(u32::try_from(threads).unwrap_or(1))
        .memlimit_threading(1 << 30)
        .memlimit_stop(u64::MAX)
        .decoder()
        .map_err(|e| format!("cannot start the xz decoder: {e}"))?;
    Ok(liblzma::read::XzDecoder::new_stream(reader, stream))
}

/// Where an unpacked package keeps its control area and manifest: `<tree>/.kiln-deb/`.
pub const CONTROL_DIR: &str = ".kiln-deb";

/// The manifest of the data member: one line per entry, in archive order,
/// `TYPE<TAB>MODE<TAB>UID<TAB>GID<TAB>USER<TAB>GROUP<TAB>PATH[<TAB>TARGET]`, where `TYPE` is
/// `d` (directory), `f` (file), `l` (symlink, with its target) or `h` (hard link, with the
/// path it links to), `MODE` is octal with the setuid, setgid and sticky bits, and `PATH` is
/// absolute (`/usr/bin/x`), as dpkg's `.list` files write it.
pub const FILES_MANIFEST: &str = "files";

/// Unpacks the `.deb` at `deb` into the new directory `out`: its data, and its control area
/// and manifest under [`CONTROL_DIR`]. On error `out` may hold part of the tree (the
/// `unpack-deb` builder builds in the store's temporary directory, which the store discards).
pub fn unpack_deb(deb: &Path, out: &Path) -> DebianResult<()> {
    let name = deb
        .file_name()
        .map_or_else(|| deb.display().to_string(), |n| n.to_string_lossy().into());
    let bad = |reason: String| DebianError::BadDeb {
        deb: name.clone(),
        reason,
    };
    let file = fs::File::open(deb).map_err(DebianError::io("open", deb))?;
    let mut archive = crate::ar::ArReader::new(io::BufReader::new(file))
        .map_err(|e| bad(format!("bad ar archive: {e}")))?;
    let mut seen_version = false;
    let mut control: Option<Vec<(String, u32, Vec<u8>)>> = None;
    while let Some(id) = archive
        .next_member()
        .map_err(|e| bad(format!("bad ar archive: {e}")))?
    {
        let mut member = archive.member();
        if !seen_version {
            if id != "debian-binary" {
                return Err(bad(format!(
                    "the first member is `{id}`, not `debian-binary`"
                )));
            }
            let mut version = String::new();
            member
                .by_ref()
                .take(16)
                .read_to_string(&mut version)
                .map_err(|e| bad(format!("cannot read `debian-binary`: {e}")))?;
            if !version.starts_with("2.") {
                return Err(bad(format!("unsupported format `{}`", version.trim())));
            }
            seen_version = true;
            continue;
        }
        if let Some(compression) = id.strip_prefix("control.tar") {
            let reader = decompressor(member, compression).map_err(bad)?;
            control = Some(read_control(reader).map_err(bad)?);
            continue;
        }
        let Some(compression) = id.strip_prefix("data.tar") else {
            continue;
        };
        let Some(control) = control.take() else {
            return Err(bad("no `control.tar` member before `data.tar`".into()));
        };
        let reader = decompressor(member, compression).map_err(bad)?;
        fs::create_dir(out).map_err(DebianError::io("create", out))?;
        let manifest = extract(reader, out, &name)?;
        return write_control(out, &control, &manifest);
    }
    Err(bad("no `data.tar` member".into()))
}

/// A decompressing reader for a `control.tar`/`data.tar` member's compression suffix.
fn decompressor<'a>(
    member: impl Read + 'a,
    compression: &str,
) -> Result<Box<dyn Read + 'a>, String> {
    Ok(match compression {
        "" => Box::new(member),
        ".xz" => Box::new(xz_reader(member)?),
        ".gz" => Box::new(flate2::read::GzDecoder::new(member)),
        ".zst" => Box::new(
            zstd::stream::read::Decoder::new(member)
                .map_err(|e| format!("cannot start zstd: {e}"))?,
        ),
        other => return Err(format!("unsupported compression `{other}`")),
    })
}

/// The control area's regular files: (name, mode, bytes). Only plain names at its top level
/// are kept (`./postinst`); dpkg reads nothing else.
fn read_control(reader: impl Read) -> Result<Vec<(String, u32, Vec<u8>)>, String> {
    let mut archive = tar::Archive::new(reader);
    let mut files = Vec::new();
    for entry in archive
        .entries()
        .map_err(|e| format!("bad control.tar: {e}"))?
    {
        let mut entry = entry.map_err(|e| format!("bad control.tar: {e}"))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .map_err(|e| format!("bad control.tar path: {e}"))?
            .into_owned();
        let name = match relative(&path) {
            Ok(rel) if rel.components().count() == 1 => rel.to_string_lossy().into_owned(),
            _ => continue,
        };
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b))
        {
            continue;
        }
        let mode = entry.header().mode().unwrap_or(0o644) & 0o777;
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| format!("control.tar `{name}`: {e}"))?;
        files.push((name, mode, bytes));
    }
    Ok(files)
}

/// Writes `.kiln-deb/control/*` and `.kiln-deb/files`.
fn write_control(
    out: &Path,
    control: &[(String, u32, Vec<u8>)],
    manifest: &str,
) -> DebianResult<()> {
    let dir = out.join(CONTROL_DIR).join("control");
    fs::create_dir_all(&dir).map_err(DebianError::io("create", &dir))?;
    for (name, mode, bytes) in control {
        let path = dir.join(name);
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(*mode | 0o600)
            .open(&path)
            .and_then(|mut f| f.write_all(bytes))
            .map_err(DebianError::io("write", &path))?;
    }
    let path = out.join(CONTROL_DIR).join(FILES_MANIFEST);
    fs::write(&path, manifest).map_err(DebianError::io("write", &path))
}

/// Extracts the data member; returns its manifest ([`FILES_MANIFEST`]).
fn extract(reader: impl Read, out: &Path, deb: &str) -> DebianResult<String> {
    let bad = |reason: String| DebianError::BadDeb {
        deb: deb.to_string(),
        reason,
    };
    let mut archive = tar::Archive::new(reader);
    let entries = archive
        .entries()
        .map_err(|e| bad(format!("bad data.tar: {e}")))?;
    // Directories of the tree known to be real directories (never links), so each entry
    // costs no `stat` per parent.
    let mut dirs: HashSet<PathBuf> = HashSet::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut manifest = String::new();
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(format!("bad data.tar: {e}")))?;
        let raw_path = entry
            .path()
            .map_err(|e| bad(format!("bad entry path: {e}")))?
            .into_owned();
        let shown = raw_path.display().to_string();
        let hostile = |reason: &str| DebianError::HostileDeb {
            deb: deb.to_string(),
            entry: shown.clone(),
            reason: reason.to_string(),
        };
        let rel = relative(&raw_path).map_err(hostile)?;
        let kind = entry.header().entry_type();
        if rel.as_os_str().is_empty() {
            if kind.is_dir() {
                manifest_line(&mut manifest, 'd', entry.header(), Path::new(""), None);
                continue; // `./`, the root itself
            }
            return Err(hostile("names the root of the tree"));
        }
        if rel.starts_with(CONTROL_DIR) {
            return Err(hostile("a path kiln keeps for the control area"));
        }
        let dest = out.join(&rel);
        ensure_parents(out, &rel, &mut dirs).map_err(|r| hostile(&r))?;
        let io_error = |action: &'static str| DebianError::io(action, dest.clone());
        let mode = entry.header().mode().unwrap_or(0o644) & 0o777;
        if kind.is_dir() {
            if !dirs.contains(&rel) {
                match fs::symlink_metadata(&dest) {
                    Ok(meta) if meta.is_dir() => {}
                    Ok(_) => return Err(hostile("a directory replaces a file or link")),
                    Err(_) => fs::DirBuilder::new()
                        .mode(mode | 0o700)
                        .create(&dest)
                        .map_err(io_error("create"))?,
                }
                dirs.insert(rel.clone());
            }
            manifest_line(&mut manifest, 'd', entry.header(), &rel, None);
        } else if kind.is_file() || kind == tar::EntryType::Continuous {
            if dirs.contains(&rel) {
                return Err(hostile("an entry that replaces a directory"));
            }
            clear(&dest).map_err(|r| hostile(&r))?;
            // The mode is applied at creation (less the umask; the store keeps only the
            // executable bit anyway), which saves a `chmod` per file.
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode | 0o600)
                .open(&dest)
                .map_err(io_error("create"))?;
            loop {
                let n = match entry.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(bad(format!("`{shown}`: {e}"))),
                };
                file.write_all(&buf[..n]).map_err(io_error("write"))?;
            }
            manifest_line(&mut manifest, 'f', entry.header(), &rel, None);
        } else if kind.is_symlink() {
            let target = entry
                .link_name()
                .map_err(|e| bad(format!("`{shown}`: bad link target: {e}")))?
                .ok_or_else(|| hostile("a symlink without a target"))?
                .into_owned();
            check_symlink(&rel, &target).map_err(hostile)?;
            if dirs.contains(&rel) {
                return Err(hostile("an entry that replaces a directory"));
            }
            clear(&dest).map_err(|r| hostile(&r))?;
            std::os::unix::fs::symlink(&target, &dest).map_err(io_error("create"))?;
            manifest_line(&mut manifest, 'l', entry.header(), &rel, Some(&target));
        } else if kind.is_hard_link() {
            let target = entry
                .link_name()
                .map_err(|e| bad(format!("`{shown}`: bad link target: {e}")))?
                .ok_or_else(|| hostile("a hard link without a target"))?;
            let target_rel =
                relative(&target).map_err(|r| hostile(&format!("hard link target: {r}")))?;
            ensure_parents(out, &target_rel, &mut dirs).map_err(|r| hostile(&r))?;
            if dirs.contains(&rel) {
                return Err(hostile("an entry that replaces a directory"));
            }
            let source = out.join(&target_rel);
            match fs::symlink_metadata(&source) {
                Ok(meta) if meta.is_file() => {}
                _ => {
                    return Err(hostile(
                        "a hard link to something that is not a file of the tree",
                    ))
                }
            }
            clear(&dest).map_err(|r| hostile(&r))?;
            fs::hard_link(&source, &dest).map_err(io_error("link"))?;
            let target = Path::new("/").join(&target_rel);
            manifest_line(&mut manifest, 'h', entry.header(), &rel, Some(&target));
        } else {
            let what = match kind {
                tar::EntryType::Char => "a character device",
                tar::EntryType::Block => "a block device",
                tar::EntryType::Fifo => "a FIFO",
                _ => "an unsupported kind of entry",
            };
            return Err(hostile(&format!("{what} (refused)")));
        }
    }
    Ok(manifest)
}

/// One line of the [`FILES_MANIFEST`]. Names with a tab or newline cannot be written (and
/// Debian has none); they are kept, with the separators replaced, so the line count matches.
fn manifest_line(
    out: &mut String,
    kind: char,
    header: &tar::Header,
    rel: &Path,
    target: Option<&Path>,
) {
    use std::fmt::Write as _;
    let clean = |text: &str| text.replace(['\t', '\n'], " ");
    let name = |bytes: Option<Vec<u8>>| {
        bytes
            .map(|b| clean(&String::from_utf8_lossy(&b)))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "-".to_string())
    };
    let mode = header.mode().unwrap_or(0o644) & 0o7777;
    let uid = header.uid().unwrap_or(0);
    let gid = header.gid().unwrap_or(0);
    let user = name(header.username_bytes().map(<[u8]>::to_vec));
    let group = name(header.groupname_bytes().map(<[u8]>::to_vec));
    // dpkg lists the root as `/.`.
    let path = if rel.as_os_str().is_empty() {
        "/.".to_string()
    } else {
        clean(&Path::new("/").join(rel).to_string_lossy())
    };
    let _ = write!(
        out,
        "{kind}\t{mode:o}\t{uid}\t{gid}\t{user}\t{group}\t{path}"
    );
    if let Some(target) = target {
        let _ = write!(out, "\t{}", clean(&target.to_string_lossy()));
    }
    out.push('\n');
}

/// The path as components under the tree's root: `./a/b` → `a/b`; `..` and absolute paths
/// are refused.
fn relative(path: &Path) -> Result<PathBuf, &'static str> {
    let mut rel = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::Normal(part) => rel.push(part),
            Component::ParentDir => return Err("a `..` component"),
            Component::RootDir | Component::Prefix(_) => return Err("an absolute path"),
        }
    }
    Ok(rel)
}

/// A relative symlink at `rel` must not climb above the root; see the module comment.
fn check_symlink(rel: &Path, target: &Path) -> Result<(), &'static str> {
    if target.as_os_str().is_empty() {
        return Err("a symlink with an empty target");
    }
    if target.is_absolute() {
        return Ok(());
    }
    let mut depth = rel.components().count().saturating_sub(1);
    for component in target.components() {
        match component {
            Component::ParentDir => {
                depth = depth
                    .checked_sub(1)
                    .ok_or("a symlink that escapes the tree")?;
            }
            Component::Normal(_) => depth += 1,
            _ => {}
        }
    }
    Ok(())
}

/// Every parent of `rel` under `out` is a real directory (created when missing), never a link.
/// `dirs` holds the directories already checked or made.
fn ensure_parents(out: &Path, rel: &Path, dirs: &mut HashSet<PathBuf>) -> Result<(), String> {
    let Some(parent) = rel.parent() else {
        return Ok(());
    };
    if parent.as_os_str().is_empty() || dirs.contains(parent) {
        return Ok(());
    }
    let mut current = PathBuf::new();
    for component in parent.components() {
        current.push(component);
        if dirs.contains(&current) {
            continue;
        }
        let path = out.join(&current);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => {}
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err("a path that goes through a symlink".into())
            }
            Ok(_) => return Err("a path whose parent is not a directory".into()),
            Err(_) => fs::DirBuilder::new()
                .mode(0o755)
                .create(&path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?,
        }
        dirs.insert(current.clone());
    }
    Ok(())
}

/// Removes a file or link that a later entry replaces (never a directory).
fn clear(dest: &Path) -> Result<(), String> {
    match fs::symlink_metadata(dest) {
        Ok(meta) if meta.is_dir() => Err("an entry that replaces a directory".into()),
        Ok(_) => fs::remove_file(dest).map_err(|e| format!("cannot replace: {e}")),
        Err(_) => Ok(()),
    }
}
