//! `kiln diff A B`: what changed in an image's Debian packages, from two package manifests or
//! two profiles. The comparison is kiln-debian's (`manifest::diff`); this file finds the
//! manifests and prints.
//!
//! A profile's manifest is built as its `config.system.build.packageManifest`, the step whose
//! output the ISO step copies beside the ISO: the packages are fetched and unpacked (their
//! control files and copyright files are read), but no root is configured and no ISO written.
//! The manifest is the same either way, so comparing a profile with the `NAME.manifest.json` of
//! an ISO built from it shows no change.

use crate::cmd_build::{build_attrs, BuildAttrs};
use crate::progress::human_bytes;
use kiln_debian::manifest::{self, Manifest, ManifestPackage};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The attribute a profile's manifest is built from.
const MANIFEST_ATTR: &str = "config.system.build.packageManifest";

/// Compare the Debian packages of two images: what was added, removed, upgraded or
/// downgraded, and how the installed and download sizes changed.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The old image: a `NAME.manifest.json` (written beside `result/iso/NAME.iso`), or a
    /// profile, whose package manifest is built (its packages fetched and unpacked, no ISO).
    old: PathBuf,
    /// The new image, as OLD.
    new: PathBuf,
    /// For profiles: add a search path entry (`name=path` or `path`), as `nix-build -I`.
    #[arg(short = 'I', value_name = "PATH")]
    include: Vec<String>,
    /// For profiles: fail instead of adding packages the lock lacks.
    #[arg(long)]
    locked: bool,
    /// For profiles: use only what the store holds.
    #[arg(long)]
    offline: bool,
    /// The store (default: `$KILN_STORE`, else `~/.cache/kiln/store`).
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
}

pub(crate) fn run(args: Args) -> miette::Result<ExitCode> {
    let old = load(&args.old, &args)?;
    let new = load(&args.new, &args)?;
    print!("{}", render(&args.old, &old, &args.new, &new));
    Ok(ExitCode::SUCCESS)
}

/// A manifest file (`*.json`), or a profile's manifest, built.
fn load(path: &Path, args: &Args) -> miette::Result<Manifest> {
    if !path.exists() {
        return Err(miette::miette!(
            code = "kiln::cli::no_such_file",
            help = "give a `NAME.manifest.json` (beside `result/iso/NAME.iso`) or a profile",
            "`{}` does not exist",
            path.display()
        ));
    }
    let what = path.display().to_string();
    if path.extension().is_some_and(|e| e == "json") {
        let text = std::fs::read(path)
            .map_err(|e| miette::miette!(code = "kiln::cli::io", "cannot read `{what}`: {e}"))?;
        return Ok(Manifest::parse(&String::from_utf8_lossy(&text), &what)?);
    }
    let request = BuildAttrs {
        profile: Some(path),
        attrs: &[MANIFEST_ATTR],
        include: &args.include,
        store: args.store.clone(),
        offline: args.offline,
        locked: args.locked,
    };
    build_attrs(request, |outs| {
        let file = outs[0].join("manifest.json");
        let text = std::fs::read_to_string(&file).map_err(|e| {
            miette::miette!(
                code = "kiln::cli::io",
                "cannot read `{}`: {e}",
                file.display()
            )
        })?;
        Ok(Manifest::parse(&text, &file.display().to_string())?)
    })
}

fn render(old_path: &Path, old: &Manifest, new_path: &Path, new: &Manifest) -> String {
    let d = manifest::diff(old, new);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "--- {} ({} packages)\n+++ {} ({} packages)",
        old_path.display(),
        old.packages.len(),
        new_path.display(),
        new.packages.len()
    );
    if d.is_empty() {
        out.push_str("no package changed\n");
    }
    let installed = |p: &ManifestPackage| {
        p.lock
            .installed_size
            .map_or(0, |kib| kib.saturating_mul(1024))
    };
    let section = |out: &mut String, title: &str, count: usize| {
        if count > 0 {
            let _ = writeln!(out, "{title} ({count}):");
        }
    };
    section(&mut out, "added", d.added.len());
    for p in &d.added {
        let _ = writeln!(
            out,
            "  + {} {} ({}, {} installed)",
            p.name,
            p.version,
            p.architecture,
            human_bytes(installed(p))
        );
    }
    section(&mut out, "removed", d.removed.len());
    for p in &d.removed {
        let _ = writeln!(
            out,
            "  - {} {} ({}, {} installed)",
            p.name,
            p.version,
            p.architecture,
            human_bytes(installed(p))
        );
    }
    for (title, pairs) in [
        ("upgraded", &d.upgraded),
        ("downgraded", &d.downgraded),
        ("rebuilt (the same version, another .deb)", &d.changed),
    ] {
        section(&mut out, title, pairs.len());
        for (a, b) in pairs.iter() {
            let _ = writeln!(
                out,
                "  ~ {} {} -> {} ({} installed)",
                a.name,
                a.version,
                b.version,
                signed(installed(a), installed(b))
            );
        }
    }
    let _ = writeln!(out, "unchanged: {}", d.unchanged);
    let (old_kib, new_kib) = d.installed_kib;
    let _ = writeln!(
        out,
        "installed size: {} -> {} ({})",
        human_bytes(old_kib.saturating_mul(1024)),
        human_bytes(new_kib.saturating_mul(1024)),
        signed(old_kib.saturating_mul(1024), new_kib.saturating_mul(1024))
    );
    let (old_bytes, new_bytes) = d.deb_bytes;
    let _ = writeln!(
        out,
        ".deb size: {} -> {} ({})",
        human_bytes(old_bytes),
        human_bytes(new_bytes),
        signed(old_bytes, new_bytes)
    );
    out
}

/// `new - old` with its sign: `+1.2 MiB`, `-300 B`, `±0 B`.
fn signed(old: u64, new: u64) -> String {
    match new.cmp(&old) {
        std::cmp::Ordering::Greater => format!("+{}", human_bytes(new - old)),
        std::cmp::Ordering::Less => format!("-{}", human_bytes(old - new)),
        std::cmp::Ordering::Equal => "±0 B".to_string(),
    }
}
