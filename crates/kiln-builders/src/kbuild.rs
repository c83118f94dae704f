//! The `kbuild-module` builder: an out-of-tree kernel module (a DKMS source package such as
//! `broadcom-sta-dkms`) compiled against Debian's unpacked kernel headers.
//!
//! # Contract
//!
//! The derivation's `env`, as in a Nix derivation (store paths are already realised):
//!
//! - `src`: the unpacked DKMS package; it holds exactly one `usr/src/<dir>/dkms.conf`.
//! - `headers`: space-separated unpacked `linux-headers-<abi>-<flavour>`,
//!   `linux-headers-<abi>-common` and `linux-kbuild-<major.minor>` packages.
//! - `modDirVersion`: the kernel release, `/lib/modules/<modDirVersion>` (`6.1.0-28-amd64`).
//! - `SOURCE_DATE_EPOCH`: the build timestamp kbuild records.
//!
//! The output is `lib/modules/<modDirVersion>/extra/<module>.ko` for every
//! `BUILT_MODULE_NAME[n]` of `dkms.conf` (named `DEST_MODULE_NAME[n]` when that is set), and
//! nothing else. The store builds into a temporary path and renames it in, so a failure leaves
//! nothing behind; this builder also creates `out` only once every module is built.
//!
//! # Impurity
//!
//! The compiler and `make` are the host's, found on `PATH`: `gcc` and `make`, plus the exact
//! compiler the headers name in `.kernelvariables` (`gcc-12` for bookworm), and `strip` from
//! binutils (which gcc depends on). Their versions are not part of the derivation id, so two
//! hosts with different compilers can produce different bytes under one store entry. Bundling
//! Debian's own `gcc-12` and `binutils` from the archive was the alternative; it needs a
//! chroot-like setup (the compiler finds `cc1`, `as` and `ld` by absolute paths) and is left
//! for later. Everything else is fixed: the environment is cleared except `PATH`, the locale
//! is `C`, kbuild's user, host and timestamp are constants, and `-ffile-prefix-map` hides the
//! temporary directories, so one host gives byte-identical modules from run to run.
//!
//! # The header tree
//!
//! Debian's headers are three packages meant to be unpacked together at `/`:
//!
//! - `usr/src/linux-headers-<abi>-amd64/` has `.config`, `Module.symvers`, the generated
//!   headers, and a one-line `Makefile`: `include /usr/src/linux-headers-<abi>-common/Makefile`;
//!   its `scripts` and `tools` are relative symlinks `../../lib/linux-kbuild-6.1/{scripts,tools}`.
//! - `usr/src/linux-headers-<abi>-common/` has the kernel's top `Makefile`, `include/`,
//!   `arch/`, and the same two relative symlinks.
//! - `usr/lib/linux-kbuild-6.1/` has kbuild's host programs (`fixdep`, `modpost`, ...).
//!
//! Store entries are immutable and live apart, so the builder lays out a small root in a
//! temporary directory that resolves exactly as the installed packages would:
//! `root/usr/{src,lib}/<dir>` is a real directory for every such directory of every headers
//! package, and each of its children is a symlink to the store's copy. Children that are
//! symlinks themselves are copied as symlinks (same target text), so the relative
//! `scripts`/`tools` links resolve inside `root` to linux-kbuild, as they would under `/`.
//! A `Makefile` whose lines `include /...` an absolute path is rewritten to include the
//! same path under `root`; that is the amd64 tree's one-liner and nothing else. Only
//! directories and symlinks are created: no header file is copied. The kernel Makefile takes
//! `srctree` from the real path of its *directory*, which is the directory in `root`, so
//! `$(srctree)/scripts` resolves through the same links.
//!
//! The source is copied (it is small, and kbuild writes objects next to it), `PATCH[n]`
//! entries that are not applied yet are applied with `patch -p1`, and kbuild's external
//! module interface runs: `make -C <root>/usr/src/linux-headers-<modDirVersion> M=<copy>
//! modules`. That is what DKMS runs when `MAKE[0]` is unset; when it is set, only its
//! `VAR=value` words are passed on (bookworm's `broadcom-sta` has `make KVER=$kernelver`),
//! because the rest of such a command line assumes `/lib/modules/<version>/build` on the host.
//! As DKMS does by default (`STRIP[n]` unset or not `no`), the module's debug symbols are
//! stripped with `strip -g`.

use crate::error::BuilderError;
use crate::modules::ModDirVersion;
use kiln_store::inputs::{self, StorePath};
use kiln_store::{BuildError, Builder, Derivation, Events};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The builder name of [`KbuildModule`].
pub const KBUILD_MODULE: &str = "kbuild-module";

/// What `kbuild-module` reads (see the module documentation).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KbuildInputs {
    src: StorePath,
    headers: Vec<StorePath>,
    mod_dir_version: ModDirVersion,
    #[serde(rename = "SOURCE_DATE_EPOCH")]
    source_date_epoch: u64,
}

/// Builds the kernel modules of a DKMS source package; see the module documentation for the
/// derivation's contract.
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
        build_module(&inputs, out).map_err(|message| {
            if message == NEED_TOOLS {
                BuilderError::KbuildTools { name }.into()
            } else {
                BuilderError::Kbuild { name, message }.into()
            }
        })
    }
}

/// How many lines of the build log a failure shows.
const LOG_TAIL_LINES: usize = 30;

/// The one failure with help of its own ([`BuilderError::KbuildTools`]).
const NEED_TOOLS: &str = "no gcc and make on the host";

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

fn build_module(inputs: &KbuildInputs, out: &Path) -> Result<(), String> {
    let src = inputs.src.path().to_path_buf();
    let headers: Vec<PathBuf> = inputs
        .headers
        .iter()
        .map(|h| h.path().to_path_buf())
        .collect();
    let version = inputs.mod_dir_version.as_str();
    let epoch = inputs.source_date_epoch;

    let source = find_dkms_source(&src)?;
    // The host tools are checked before any work; `find_tools` adds what the headers and
    // dkms.conf ask for.
    let (Some(make), Some(_gcc)) = (find_program("make"), find_program("gcc")) else {
        return Err(NEED_TOOLS.into());
    };
    let conf_path = source.join("dkms.conf");
    let conf_text = fs::read_to_string(&conf_path).map_err(|e| io_error("read", &conf_path, &e))?;
    let conf = parse_dkms_conf(&conf_text, version)
        .map_err(|e| format!("{}: {e}", conf_path.display()))?;
    let make_vars = make_variables(conf.make.as_deref(), version)?;

    let work = tempfile::Builder::new()
        .prefix("kiln-kbuild-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    let root = work.path().join("root");
    for tree in &headers {
        link_headers(tree, &root)?;
    }
    let kernel_tree = root
        .join("usr/src")
        .join(format!("linux-headers-{version}"));
    if !kernel_tree.join("Makefile").exists() {
        return Err(format!(
            "no `usr/src/linux-headers-{version}/Makefile` in `headers` ({})",
            display_list(&headers)
        ));
    }
    check_release(&kernel_tree, version)?;
    let tools = find_tools(make, &kernel_tree, &conf)?;

    let source_name = file_name(&source);
    let build_dir = work.path().join(&source_name);
    copy_tree(&source, &build_dir)?;
    let log_path = work.path().join("build.log");
    let log = fs::File::create(&log_path).map_err(|e| io_error("create", &log_path, &e))?;
    // Every program runs with only these variables (and what the caller adds), so the host's
    // `MAKEFLAGS`, `ARCH`, `CROSS_COMPILE`, `KCFLAGS` or locale cannot reach the build.
    let command = |program: &Path| {
        let mut command = Command::new(program);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LC_ALL", "C")
            .env("TMPDIR", work.path());
        command
    };
    let run = |command: &mut Command, what: &str| -> Result<bool, String> {
        let stdout = log
            .try_clone()
            .map_err(|e| io_error("open", &log_path, &e))?;
        let stderr = log
            .try_clone()
            .map_err(|e| io_error("open", &log_path, &e))?;
        command
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .status()
            .map(|status| status.success())
            .map_err(|e| format!("cannot run {what}: {e}"))
    };

    for patch in &conf.patches {
        let file = build_dir.join("patches").join(patch);
        if !file.is_file() {
            return Err(format!(
                "`PATCH` names `{}`, which is missing",
                file.display()
            ));
        }
        let patch_cmd = |reverse: bool| {
            let mut command = command(&tools.patch);
            command.current_dir(&build_dir).args(["-p1", "-f", "-s"]);
            if reverse {
                command.args(["-R", "--dry-run"]);
            }
            command.arg("-i").arg(&file);
            command
        };
        // A patch that reverses cleanly is already in the source (Debian applies its own).
        if run(&mut patch_cmd(true), "patch")? {
            continue;
        }
        if !run(&mut patch_cmd(false), "patch")? {
            return Err(failure(&format!("applying {patch} failed"), &log_path));
        }
    }

    let jobs = std::thread::available_parallelism().map_or(1, usize::from);
    // Paths inside the module (debug info, `__FILE__`) name what an installed system has, not
    // this run's temporary directory.
    let prefix_map = format!(
        "-ffile-prefix-map={}=/usr/src/{source_name} -ffile-prefix-map={}/=/",
        build_dir.display(),
        root.display()
    );
    let mut make = command(&tools.make);
    make.arg("-C")
        .arg(&kernel_tree)
        .arg(format!("M={}", build_dir.display()))
        .arg(format!("-j{jobs}"))
        .args(&make_vars)
        .arg("modules")
        .env("KBUILD_BUILD_TIMESTAMP", format!("@{epoch}"))
        .env("KBUILD_BUILD_USER", "kiln")
        .env("KBUILD_BUILD_HOST", "kiln")
        .env("KCFLAGS", &prefix_map);
    if !run(&mut make, "make")? {
        return Err(failure("make failed", &log_path));
    }

    // Everything is built before `out` is created, so a failure leaves no partial output.
    let mut built = Vec::new();
    for module in &conf.modules {
        let path = build_dir
            .join(&module.location)
            .join(format!("{}.ko", module.name));
        if !path.is_file() {
            return Err(failure(
                &format!("make succeeded but did not produce `{}`", path.display()),
                &log_path,
            ));
        }
        if module.strip && !run(command(&tools.strip).arg("-g").arg(&path), "strip")? {
            return Err(failure(
                &format!("strip -g {} failed", module.name),
                &log_path,
            ));
        }
        built.push((path, module));
    }
    let extra = out.join("lib/modules").join(version).join("extra");
    fs::create_dir_all(&extra).map_err(|e| io_error("create", &extra, &e))?;
    for (path, module) in built {
        let dest = extra.join(format!("{}.ko", module.dest_name));
        fs::copy(&path, &dest).map_err(|e| io_error("copy to", &dest, &e))?;
        set_mode(&dest, 0o444)?;
    }
    copy_modprobe_config(&src, out)
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

/// Links one unpacked headers package into `root`; see "The header tree" above.
fn link_headers(tree: &Path, root: &Path) -> Result<(), String> {
    if !tree.is_dir() {
        return Err(format!(
            "`headers` entry `{}` is not a directory",
            tree.display()
        ));
    }
    for parent in ["usr/src", "usr/lib"] {
        let from = tree.join(parent);
        let Ok(entries) = fs::read_dir(&from) else {
            continue;
        };
        let into = root.join(parent);
        fs::create_dir_all(&into).map_err(|e| io_error("create", &into, &e))?;
        for entry in sorted_entries(entries, &from)? {
            let path = from.join(&entry);
            let target = into.join(&entry);
            let meta = fs::symlink_metadata(&path).map_err(|e| io_error("stat", &path, &e))?;
            if !meta.is_dir() {
                link_one(&path, &target)?;
                continue;
            }
            // A real directory per package directory, its children linked one by one.
            fs::create_dir_all(&target).map_err(|e| io_error("create", &target, &e))?;
            let children = fs::read_dir(&path).map_err(|e| io_error("list", &path, &e))?;
            for child in sorted_entries(children, &path)? {
                let child_path = path.join(&child);
                let child_target = target.join(&child);
                if child == "Makefile" {
                    if let Some(text) = rewrite_makefile(&child_path, root)? {
                        fs::write(&child_target, text)
                            .map_err(|e| io_error("write", &child_target, &e))?;
                        continue;
                    }
                }
                link_one(&child_path, &child_target)?;
            }
        }
    }
    Ok(())
}

/// Links `path` at `target`: a symlink is copied as itself (so relative links resolve inside
/// the root), anything else becomes a symlink to the store path. Two packages providing the
/// same path is an error.
fn link_one(path: &Path, target: &Path) -> Result<(), String> {
    if fs::symlink_metadata(target).is_ok() {
        return Err(format!(
            "two `headers` entries provide `{}`",
            target
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        ));
    }
    let meta = fs::symlink_metadata(path).map_err(|e| io_error("stat", path, &e))?;
    let link_to = if meta.file_type().is_symlink() {
        fs::read_link(path).map_err(|e| io_error("read link", path, &e))?
    } else {
        path.to_path_buf()
    };
    std::os::unix::fs::symlink(&link_to, target).map_err(|e| io_error("link", target, &e))
}

/// A Makefile with `include /abs/path` lines, those paths moved under `root`; `None` when it
/// has none (or is not a regular file).
fn rewrite_makefile(path: &Path, root: &Path) -> Result<Option<String>, String> {
    let meta = fs::symlink_metadata(path).map_err(|e| io_error("stat", path, &e))?;
    if !meta.is_file() {
        return Ok(None);
    }
    let text = fs::read_to_string(path).map_err(|e| io_error("read", path, &e))?;
    let mut changed = false;
    let mut res = String::with_capacity(text.len());
    for line in text.lines() {
        match line.strip_prefix("include /") {
            Some(rest) => {
                changed = true;
                res.push_str(&format!("include {}/{rest}\n", root.display()));
            }
            None => {
                res.push_str(line);
                res.push('\n');
            }
        }
    }
    Ok(changed.then_some(res))
}

/// The headers must be for `version`: kbuild writes their release into `vermagic`, and the
/// kernel refuses a module whose `vermagic` differs.
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

/// The host programs the build runs, found on `PATH` before anything runs.
struct Tools {
    make: PathBuf,
    /// `strip` and `patch` are looked for only when `dkms.conf` needs them; otherwise these
    /// are the bare names and never run.
    strip: PathBuf,
    patch: PathBuf,
}

fn find_tools(make: PathBuf, kernel_tree: &Path, conf: &DkmsConf) -> Result<Tools, String> {
    // The headers name the compiler the kernel was built with (`CC = ... gcc-12`).
    let variables = kernel_tree.join(".kernelvariables");
    if let Ok(text) = fs::read_to_string(&variables) {
        let compiler = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("CC"))
            .filter_map(|l| l.trim_start().strip_prefix('='))
            .filter_map(|l| l.split_whitespace().last())
            .map(|w| w.trim_start_matches("$(CROSS_COMPILE)"))
            .find(|w| !w.contains('$') && !w.is_empty());
        if let Some(compiler) = compiler {
            if find_program(compiler).is_none() {
                return Err(format!(
                    "the kernel headers build with `{compiler}`, which is not on PATH: \
                     apt-get install {compiler}"
                ));
            }
        }
    }
    let strip = if conf.modules.iter().any(|m| m.strip) {
        find_program("strip")
            .ok_or("stripping kernel modules needs strip on the host: apt-get install binutils")?
    } else {
        PathBuf::from("strip")
    };
    let patch = if conf.patches.is_empty() {
        PathBuf::from("patch")
    } else {
        find_program("patch")
            .ok_or("dkms.conf lists patches, which need patch on the host: apt-get install patch")?
    };
    Ok(Tools { make, strip, patch })
}

/// An executable named `name` in a `PATH` directory.
fn find_program(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// Copies a tree (files, directories, symlinks as symlinks), every copy writable by its owner.
fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
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
        fs::copy(from, to).map_err(|e| io_error("copy to", to, &e))?;
        set_mode(to, 0o644 | (mode_of(&meta) & 0o111))
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

fn mode_of(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode()
}

fn set_mode(path: &Path, mode: u32) -> Result<(), String> {
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

fn io_error(action: &str, path: &Path, err: &std::io::Error) -> String {
    format!("cannot {action} `{}`: {err}", path.display())
}

/// `what`, then the last lines of the build log.
fn failure(what: &str, log: &Path) -> String {
    let text = fs::read(log).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text.lines().collect();
    let tail = &lines[lines.len().saturating_sub(LOG_TAIL_LINES)..];
    format!(
        "{what}; the last {} lines of the build log:\n{}",
        tail.len(),
        tail.join("\n")
    )
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

    #[test]
    fn rewrites_absolute_includes_only() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        fs::write(&plain, "obj-m += a.o\ninclude $(srctree)/x\n").unwrap();
        assert_eq!(rewrite_makefile(&plain, Path::new("/r")).unwrap(), None);
        let debian = dir.path().join("debian");
        fs::write(
            &debian,
            "include /usr/src/linux-headers-6.1.0-28-common/Makefile\n",
        )
        .unwrap();
        assert_eq!(
            rewrite_makefile(&debian, Path::new("/r"))
                .unwrap()
                .as_deref(),
            Some("include /r/usr/src/linux-headers-6.1.0-28-common/Makefile\n")
        );
    }
}
