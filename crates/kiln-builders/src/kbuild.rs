//! The `kbuild-module` builder: an out-of-tree kernel module (a DKMS source package such as
//! `broadcom-sta-dkms`) compiled against Debian's kernel headers, in the build sandbox, with
//! Debian's own compiler.
//!
//! # Contract
//!
//! The derivation's attributes (see [`KbuildInputs`]):
//!
//! - `src`: the unpacked DKMS package; it holds exactly one `usr/src/<dir>/dkms.conf`.
//! - `root`: a `package-tree` of the compiler the kernel was built with (bookworm's `gcc-12`),
//!   `make`, binutils, the C library's headers, `patch`, and the kernel's three header
//!   packages (`linux-headers-<abi>-<flavour>`, `-common` and `linux-kbuild-<x.y>`), all
//!   pinned by the lock. The build runs with this tree as `/`, so the headers sit where Debian
//!   installs them and resolve as they would there.
//! - `modDirVersion`: the kernel release, `/lib/modules/<modDirVersion>` (`6.1.0-28-amd64`).
//! - `SOURCE_DATE_EPOCH`: the build timestamp kbuild records.
//!
//! The output is `lib/modules/<modDirVersion>/extra/<module>.ko` for every
//! `BUILT_MODULE_NAME[n]` of `dkms.conf` (named `DEST_MODULE_NAME[n]` when that is set), and
//! the package's `etc/modprobe.d/*.conf` (broadcom-sta's blacklist of the drivers it
//! competes with), and nothing else.
//!
//! # Hermetic
//!
//! Every program is the root's: nothing of the host but `bwrap` takes part, and the sandbox
//! has no network and an environment of exactly what is set here (`LC_ALL=C.UTF-8`,
//! kbuild's user, host and timestamp). The source is copied into a scratch directory (kbuild
//! writes objects next to it), mounted at `/tmp/build/<dir>`, so the module's debug strings
//! name the same path on every machine. `PATCH[n]` entries not applied yet are applied with
//! the root's `patch -p1`; kbuild's external module interface runs: `make -C
//! /usr/src/linux-headers-<modDirVersion> M=/tmp/build/<dir> modules`, as DKMS does when
//! `MAKE[0]` is unset; when it is set, only its `VAR=value` words are passed on (bookworm's
//! `broadcom-sta` has `make KVER=$kernelver`), because the rest of such a command line
//! assumes a host layout. As DKMS does by default (`STRIP[n]` unset or not `no`), debug
//! symbols are stripped with `strip -g`.

use crate::error::BuilderError;
use crate::modules::ModDirVersion;
use crate::sandbox::Sandbox;
use kiln_store::inputs::{self, StorePath};
use kiln_store::{BuildError, Builder, Derivation, Events};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The builder name of [`KbuildModule`].
pub const KBUILD_MODULE: &str = "kbuild-module";

/// What `kbuild-module` reads (see the module documentation).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KbuildInputs {
    src: StorePath,
    root: StorePath,
    mod_dir_version: ModDirVersion,
    #[serde(rename = "SOURCE_DATE_EPOCH")]
    source_date_epoch: u64,
}

/// Builds the kernel modules of a DKMS source package; see the module documentation.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct KbuildModule;

impl Builder for KbuildModule {
    fn check(&self, drv: &Derivation, inputs: &[PathBuf]) -> Result<(), BuildError> {
        inputs::check::<KbuildInputs>(drv, inputs).map_err(BuildError::new)?;
        Ok(())
    }

    fn build(
        &self,
        drv: &Derivation,
        inputs: &[PathBuf],
        out: &Path,
        _events: &dyn Events,
    ) -> Result<(), BuildError> {
        let inputs: KbuildInputs = inputs::parse(drv, inputs).map_err(BuildError::new)?;
        let name = drv.name.clone();
        build_module(&inputs, out).map_err(|failure| match failure {
            Failure::Builder(err) => err.into(),
            Failure::Message(message) => BuilderError::Kbuild { name, message }.into(),
        })
    }
}

/// A build failure: the sandbox's own error, or kbuild's, worded here.
enum Failure {
    Builder(BuilderError),
    Message(String),
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::Message(message)
    }
}

impl From<BuilderError> for Failure {
    fn from(err: BuilderError) -> Failure {
        Failure::Builder(err)
    }
}

/// What the builder reads from `dkms.conf`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct DkmsConf {
    modules: Vec<BuiltModule>,
    /// `MAKE[0]`, if set.
    make: Option<String>,
    /// `PATCH[n]` file names under `patches/`, in index order.
    patches: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct BuiltModule {
    /// `BUILT_MODULE_NAME[n]`, without `.ko`.
    name: String,
    /// `BUILT_MODULE_LOCATION[n]`: the directory under the source the `.ko` appears in.
    location: String,
    /// `DEST_MODULE_NAME[n]`, else the built name.
    dest_name: String,
    /// `STRIP[n]`: DKMS strips unless it says `no`.
    strip: bool,
}

fn build_module(inputs: &KbuildInputs, out: &Path) -> Result<(), Failure> {
    let src = inputs.src.path();
    let root = inputs.root.path();
    let version = inputs.mod_dir_version.as_str();
    let source = find_dkms_source(src)?;
    let conf_path = source.join("dkms.conf");
    let conf_text = fs::read_to_string(&conf_path).map_err(|e| io_error("read", &conf_path, &e))?;
    let conf = parse_dkms_conf(&conf_text, version)
        .map_err(|e| format!("{}: {e}", conf_path.display()))?;
    let make_vars = make_variables(conf.make.as_deref(), version)?;
    let kernel_tree = root
        .join("usr/src")
        .join(format!("linux-headers-{version}"));
    if !kernel_tree.join("Makefile").exists() {
        return Err(format!(
            "`root` has no `usr/src/linux-headers-{version}/Makefile`: the kernel's header \
             packages belong in the build root"
        )
        .into());
    }
    check_release(&kernel_tree, version)?;

    let scratch = out
        .parent()
        .map_or_else(tempfile::tempdir, tempfile::tempdir_in)
        .map_err(|e| format!("cannot create a scratch directory: {e}"))?;
    let source_name = file_name(&source);
    let build = scratch.path().join("build");
    fs::create_dir(&build).map_err(|e| io_error("create", &build, &e))?;
    copy_tree(&source, &build.join(&source_name))?;
    let log = scratch.path().join("build.log");
    let inside = format!("/tmp/build/{source_name}");
    let sandbox = Sandbox::new(root, false)?
        .bind(&build, "/tmp/build")
        .chdir(&inside)
        .env(
            "KBUILD_BUILD_TIMESTAMP",
            &format!("@{}", inputs.source_date_epoch),
        )
        .env("KBUILD_BUILD_USER", "kiln")
        .env("KBUILD_BUILD_HOST", "kiln")
        .env("SOURCE_DATE_EPOCH", &inputs.source_date_epoch.to_string());

    for patch in &conf.patches {
        if !build
            .join(&source_name)
            .join("patches")
            .join(patch)
            .is_file()
        {
            return Err(format!("`PATCH` names `patches/{patch}`, which is missing").into());
        }
        let file = format!("patches/{patch}");
        // A patch that reverses cleanly is already in the source (Debian applies its own).
        let already = sandbox
            .run(
                &["patch", "-p1", "-f", "-s", "-R", "--dry-run", "-i", &file],
                "patch -R --dry-run",
                &log,
            )
            .is_ok();
        if !already {
            sandbox.run(
                &["patch", "-p1", "-f", "-s", "-i", &file],
                &format!("applying {patch}"),
                &log,
            )?;
        }
    }

    let jobs = std::thread::available_parallelism().map_or(1, usize::from);
    let mut make: Vec<String> = vec![
        "make".into(),
        "-C".into(),
        format!("/usr/src/linux-headers-{version}"),
        format!("M={inside}"),
        format!("-j{jobs}"),
    ];
    make.extend(make_vars);
    make.push("modules".into());
    let make: Vec<&str> = make.iter().map(String::as_str).collect();
    sandbox.run(&make, "make", &log)?;

    // Everything is built before `out` is created, so a failure leaves no partial output.
    let mut built = Vec::new();
    for module in &conf.modules {
        let rel = Path::new(&module.location).join(format!("{}.ko", module.name));
        if !build.join(&source_name).join(&rel).is_file() {
            return Err(format!(
                "make succeeded but did not produce `{}`; the build log ends:\n{}",
                rel.display(),
                crate::sandbox::log_tail(&log)
            )
            .into());
        }
        if module.strip {
            let rel = rel.to_string_lossy();
            sandbox.run(
                &["strip", "-g", &rel],
                &format!("strip -g {}", module.name),
                &log,
            )?;
        }
        built.push((build.join(&source_name).join(&rel), module));
    }
    let extra = out.join("lib/modules").join(version).join("extra");
    fs::create_dir_all(&extra).map_err(|e| io_error("create", &extra, &e))?;
    for (path, module) in built {
        let dest = extra.join(format!("{}.ko", module.dest_name));
        fs::copy(&path, &dest).map_err(|e| io_error("copy to", &dest, &e))?;
        set_mode(&dest, 0o444)?;
    }
    Ok(copy_modprobe_config(src, out)?)
}

/// The package's `/etc/modprobe.d/*.conf` (`broadcom-sta-dkms` blacklists the drivers `wl`
/// competes with), as installing the DKMS package puts them on a system.
fn copy_modprobe_config(src: &Path, out: &Path) -> Result<(), String> {
    let dir = src.join("etc/modprobe.d");
    let Ok(entries) = fs::read_dir(&dir) else {
        return Ok(());
    };
    let dest = out.join("etc/modprobe.d");
    for name in sorted_entries(entries, &dir)? {
        let from = dir.join(&name);
        if !from.is_file() || !name.to_string_lossy().ends_with(".conf") {
            continue;
        }
        fs::create_dir_all(&dest).map_err(|e| io_error("create", &dest, &e))?;
        let to = dest.join(&name);
        fs::copy(&from, &to).map_err(|e| io_error("copy to", &to, &e))?;
        set_mode(&to, 0o444)?;
    }
    Ok(())
}

/// The single `usr/src/<dir>/` of a DKMS package that holds a `dkms.conf`.
fn find_dkms_source(src: &Path) -> Result<PathBuf, String> {
    if !src.is_dir() {
        return Err(format!("`src` `{}` is not a directory", src.display()));
    }
    let usr_src = src.join("usr/src");
    let mut found = Vec::new();
    if let Ok(entries) = fs::read_dir(&usr_src) {
        for entry in entries {
            let path = entry.map_err(|e| io_error("list", &usr_src, &e))?.path();
            if path.join("dkms.conf").is_file() {
                found.push(path);
            }
        }
    }
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(format!(
            "`src` `{}` has no `usr/src/*/dkms.conf`: it is not an unpacked DKMS package",
            src.display()
        )),
        _ => Err(format!(
            "`src` `{}` has more than one DKMS source: {}",
            src.display(),
            display_list(&found)
        )),
    }
}

/// Reads the `dkms.conf` keys the builder needs. The file is a shell fragment; kiln reads only
/// plain `KEY=value` / `KEY[n]=value` assignments with optional quotes, which is all Debian's
/// DKMS packages use for these keys. `$kernelver` is substituted; other expansions in a key
/// the builder uses are refused rather than guessed.
fn parse_dkms_conf(text: &str, version: &str) -> Result<DkmsConf, String> {
    let mut values: BTreeMap<(String, usize), String> = BTreeMap::new();
    for (line_idx, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (name, index) = match key.split_once('[') {
            Some((name, rest)) => {
                let index = rest
                    .strip_suffix(']')
                    .and_then(|i| i.parse::<usize>().ok())
                    .ok_or_else(|| format!("line {}: bad array index in `{key}`", line_idx + 1))?;
                (name, index)
            }
            None => (key, 0),
        };
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        values.insert((name.to_string(), index), unquote(value.trim()));
    }
    let get = |name: &str, index: usize| -> Result<Option<String>, String> {
        let Some(value) = values.get(&(name.to_string(), index)) else {
            return Ok(None);
        };
        let value = value
            .replace("${kernelver}", version)
            .replace("$kernelver", version);
        if value.contains('$') || value.contains('`') {
            return Err(format!(
                "`{name}[{index}]` is `{value}`: shell expansions other than $kernelver \
                 are not supported"
            ));
        }
        Ok(Some(value))
    };
    let indices = |name: &str| -> Vec<usize> {
        values
            .keys()
            .filter(|(n, _)| n == name)
            .map(|(_, i)| *i)
            .collect()
    };
    if values.keys().any(|(n, _)| n == "PATCH_MATCH") {
        return Err("`PATCH_MATCH` is not supported: every PATCH would need a regex match".into());
    }
    let mut res = DkmsConf {
        make: get("MAKE", 0)?,
        ..DkmsConf::default()
    };
    for index in indices("PATCH") {
        let patch = get("PATCH", index)?.unwrap_or_default();
        if patch.is_empty() || patch.contains('/') || patch == "." || patch == ".." {
            return Err(format!("`PATCH[{index}]` `{patch}` is not a file name"));
        }
        res.patches.push(patch);
    }
    for index in indices("BUILT_MODULE_NAME") {
        let name = get("BUILT_MODULE_NAME", index)?.unwrap_or_default();
        if name.is_empty() || name.contains('/') {
            return Err(format!(
                "`BUILT_MODULE_NAME[{index}]` `{name}` is not a module name"
            ));
        }
        let location = get("BUILT_MODULE_LOCATION", index)?.unwrap_or_default();
        if Path::new(&location)
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(format!(
                "`BUILT_MODULE_LOCATION[{index}]` `{location}` leaves the source directory"
            ));
        }
        let dest_name = get("DEST_MODULE_NAME", index)?.unwrap_or_else(|| name.clone());
        if dest_name.is_empty() || dest_name.contains('/') {
            return Err(format!(
                "`DEST_MODULE_NAME[{index}]` `{dest_name}` is not a module name"
            ));
        }
        let strip = get("STRIP", index)?.is_none_or(|s| !s.eq_ignore_ascii_case("no"));
        res.modules.push(BuiltModule {
            name,
            location,
            dest_name,
            strip,
        });
    }
    if res.modules.is_empty() {
        return Err("it names no `BUILT_MODULE_NAME[n]`".into());
    }
    Ok(res)
}

/// Strips one level of shell quoting from a whole value: `"a b"`, `'a b'` or `a`.
fn unquote(value: &str) -> String {
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|v| v.strip_suffix(quote))
        {
            return inner.to_string();
        }
    }
    value.to_string()
}

/// The `VAR=value` words of `MAKE[0]` (already `$kernelver`-substituted), passed on to kbuild.
fn make_variables(make: Option<&str>, version: &str) -> Result<Vec<String>, String> {
    let Some(make) = make else {
        return Ok(Vec::new());
    };
    let mut words = make.split_whitespace();
    if words.next().map(unquote).as_deref() != Some("make") {
        return Err(format!("`MAKE[0]` `{make}` does not run make"));
    }
    words
        .map(|word| {
            let word = unquote(word);
            match word.split_once('=') {
                Some((name, _))
                    if !name.is_empty()
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
                {
                    Ok(word)
                }
                _ => Err(format!(
                    "`MAKE[0]` `{make}` has `{word}`, which is not a VAR=value word: kiln runs \
                     kbuild directly for {version} and passes on only variables"
                )),
            }
        })
        .collect()
}

fn check_release(kernel_tree: &Path, version: &str) -> Result<(), String> {
    let path = kernel_tree.join("include/generated/utsrelease.h");
    let Ok(text) = fs::read_to_string(&path) else {
        return Err(format!(
            "the headers have no `include/generated/utsrelease.h` under `{}`",
            kernel_tree.display()
        ));
    };
    let release = text
        .lines()
        .find_map(|l| l.strip_prefix("#define UTS_RELEASE "))
        .map(|r| r.trim().trim_matches('"'));
    match release {
        Some(release) if release == version => Ok(()),
        Some(release) => Err(format!(
            "the headers are for kernel {release}, but `modDirVersion` is {version}"
        )),
        None => Err(format!("no UTS_RELEASE in `{}`", path.display())),
    }
}

/// Copies a tree (files, directories, symlinks as symlinks), every copy writable by its owner.
pub(crate) fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    let meta = fs::symlink_metadata(from).map_err(|e| io_error("stat", from, &e))?;
    if meta.file_type().is_symlink() {
        let link = fs::read_link(from).map_err(|e| io_error("read link", from, &e))?;
        std::os::unix::fs::symlink(link, to).map_err(|e| io_error("link", to, &e))
    } else if meta.is_dir() {
        fs::create_dir(to).map_err(|e| io_error("create", to, &e))?;
        set_mode(to, 0o755)?;
        let entries = fs::read_dir(from).map_err(|e| io_error("list", from, &e))?;
        for entry in sorted_entries(entries, from)? {
            copy_tree(&from.join(&entry), &to.join(&entry))?;
        }
        Ok(())
    } else if meta.is_file() {
        use std::os::unix::fs::PermissionsExt;
        fs::copy(from, to).map_err(|e| io_error("copy to", to, &e))?;
        set_mode(to, 0o644 | (meta.permissions().mode() & 0o111))
    } else {
        Err(format!(
            "`{}` is not a file, directory or symlink",
            from.display()
        ))
    }
}

fn sorted_entries(entries: fs::ReadDir, dir: &Path) -> Result<Vec<std::ffi::OsString>, String> {
    let mut names = entries
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| io_error("list", dir, &e))?;
    names.sort();
    Ok(names)
}

pub(crate) fn set_mode(path: &Path, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| io_error("chmod", path, &e))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

fn display_list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| format!("`{}`", p.display()))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn io_error(action: &str, path: &Path, err: &std::io::Error) -> String {
    format!("cannot {action} `{}`: {err}", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bookworm_broadcom_sta_conf() {
        // bookworm's broadcom-sta-dkms 6.30.223.271-23, verbatim.
        let text = "PACKAGE_NAME=\"broadcom-sta\"\nPACKAGE_VERSION=\"6.30.223.271\"\n\
                    MAKE[0]=\"make KVER=$kernelver\"\nBUILT_MODULE_NAME[0]=\"wl\"\n\
                    DEST_MODULE_LOCATION[0]=\"/updates/dkms\"\nAUTOINSTALL=\"YES\"\n";
        let conf = parse_dkms_conf(text, "6.1.0-28-amd64").unwrap();
        assert_eq!(conf.make.as_deref(), Some("make KVER=6.1.0-28-amd64"));
        assert!(conf.patches.is_empty());
        assert_eq!(
            conf.modules,
            vec![BuiltModule {
                name: "wl".into(),
                location: String::new(),
                dest_name: "wl".into(),
                strip: true,
            }]
        );
        assert_eq!(
            make_variables(conf.make.as_deref(), "6.1.0-28-amd64").unwrap(),
            vec!["KVER=6.1.0-28-amd64".to_string()]
        );
    }

    #[test]
    fn reads_patches_locations_and_strip() {
        let text = "# comment\nBUILT_MODULE_NAME[1]=b\nBUILT_MODULE_LOCATION[1]=sub/dir\n\
                    BUILT_MODULE_NAME[0]='a'\nDEST_MODULE_NAME[0]=a2\nSTRIP[0]=no\n\
                    PATCH[1]=\"second.patch\"\nPATCH[0]=first.patch\n";
        let conf = parse_dkms_conf(text, "v").unwrap();
        assert_eq!(conf.patches, ["first.patch", "second.patch"]);
        assert_eq!(conf.modules[0].dest_name, "a2");
        assert!(!conf.modules[0].strip);
        assert_eq!(conf.modules[1].location, "sub/dir");
        assert!(conf.modules[1].strip);
    }

    #[test]
    fn refuses_what_it_cannot_honour() {
        for (text, needle) in [
            ("PACKAGE_NAME=x\n", "no `BUILT_MODULE_NAME"),
            ("BUILT_MODULE_NAME[0]=$other\n", "shell expansions"),
            (
                "BUILT_MODULE_NAME[0]=a\nBUILT_MODULE_LOCATION[0]=../up\n",
                "leaves the source",
            ),
            (
                "BUILT_MODULE_NAME[0]=a\nPATCH[0]=p\nPATCH_MATCH[0]=6.*\n",
                "PATCH_MATCH",
            ),
        ] {
            let err = parse_dkms_conf(text, "v").unwrap_err();
            assert!(err.contains(needle), "{text:?}: {err}");
        }
        assert!(make_variables(Some("make -C /lib/modules/v/build"), "v")
            .unwrap_err()
            .contains("not a VAR=value word"));
        assert!(make_variables(Some("./build.sh"), "v")
            .unwrap_err()
            .contains("does not run make"));
    }
}
