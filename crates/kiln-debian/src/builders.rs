//! The store builders `fetch-deb` and `unpack-deb`, and the derivations that use them.
//!
//! A locked package becomes two derivations: a fixed-output `fetch-deb` keyed by the `.deb`'s
//! SHA-256 (so a mirror change does not change it), whose output is the `.deb` file, and an
//! input-addressed `unpack-deb` whose output is the unpacked tree. The fetch builder checks
//! size and SHA-256 before returning, so a corrupted or tampered download fails the step and
//! the store registers nothing.

use crate::download::{download, FileSink};
use crate::error::{DebianError, DebianResult};
use crate::lock::LockedPackage;
use crate::release::hex;
use crate::unpack::unpack_deb;
use kiln_store::inputs::{self, StorePath};
use kiln_store::{BuildError, Builder, Derivation, DrvId, Events, Graph};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The builder name of [`FetchDeb`].
pub const FETCH_DEB: &str = "fetch-deb";
/// The builder name of [`UnpackDeb`].
pub const UNPACK_DEB: &str = "unpack-deb";

/// Downloads a `.deb` and checks its size and SHA-256 (the derivation's `fixed_output`,
/// `sha256:<hex>`).
#[derive(Clone, Debug, Default)]
pub struct FetchDeb {
    /// Overrides the mirror recorded in derivations (their ids do not depend on it).
    pub mirror: Option<String>,
}

/// What `fetch-deb` reads.
#[derive(Deserialize)]
pub struct FetchInputs {
    /// The archive's base URL (`http://deb.debian.org/debian`).
    pub mirror: String,
    /// The pool path (`pool/main/h/hello/hello_2.10-3_amd64.deb`).
    pub filename: String,
    /// The `.deb`'s size in bytes, as the signed index says.
    pub size: u64,
}

impl FetchInputs {
    /// Reads a `fetch-deb` derivation's attributes (for plans and progress displays).
    pub fn of(drv: &Derivation) -> Option<FetchInputs> {
        (drv.builder == FETCH_DEB)
            .then(|| inputs::check(drv, &[]).ok())
            .flatten()
    }
}

/// Unpacks the `.deb` named by its `deb` attribute into a directory tree.
#[derive(Clone, Copy, Debug, Default)]
pub struct UnpackDeb;

/// What `unpack-deb` reads.
#[derive(Deserialize)]
struct UnpackInputs {
    /// A `fetch-deb` output.
    deb: StorePath,
    /// The output's layout: 2 has the control area and manifest in `.kiln-deb/`. Part of the
    /// key, so trees unpacked by an older kiln are not taken for this layout.
    #[allow(dead_code)]
    layout: Layout,
}

/// The one output layout this builder writes.
#[derive(Deserialize)]
enum Layout {
    #[serde(rename = "2")]
    Two,
}

impl Builder for FetchDeb {
    fn check(&self, drv: &Derivation, inputs: &[PathBuf]) -> Result<(), BuildError> {
        inputs::check::<FetchInputs>(drv, inputs).map_err(BuildError::new)?;
        Ok(())
    }

    fn build(
        &self,
        drv: &Derivation,
        inputs: &[PathBuf],
        out: &Path,
        events: &dyn Events,
    ) -> Result<(), BuildError> {
        let inputs: FetchInputs = inputs::parse(drv, inputs).map_err(BuildError::new)?;
        self.fetch(drv, &inputs, out, events)
            .map_err(BuildError::new)
    }
}

impl FetchDeb {
    fn fetch(
        &self,
        drv: &Derivation,
        inputs: &FetchInputs,
        out: &Path,
        events: &dyn Events,
    ) -> DebianResult<()> {
        let malformed = |reason: &str| DebianError::BadDeb {
            deb: drv.name.clone(),
            reason: format!("malformed fetch-deb derivation: {reason}"),
        };
        let (mirror, filename, size) = (&inputs.mirror, &inputs.filename, inputs.size);
        let expected = drv
            .fixed_output
            .as_deref()
            .and_then(|h| h.strip_prefix("sha256:"))
            .ok_or_else(|| malformed("no `sha256:` fixed output"))?;
        let mirror = self
            .mirror
            .as_deref()
            .unwrap_or(mirror)
            .trim_end_matches('/');
        let url = format!("{mirror}/{filename}");
        let mut sink = FileSink::create(out)?;
        download(&url, &mut sink, &|done, total| {
            events.progress(drv, done, total.or(Some(size)));
        })?;
        drop(sink);
        let actual_size = std::fs::metadata(out)
            .map_err(DebianError::io("stat", out))?
            .len();
        if actual_size != size {
            return Err(DebianError::SizeMismatch {
                what: url,
                expected: size,
                actual: actual_size,
            });
        }
        let actual = sha256_file(out)?;
        if actual != expected {
            return Err(DebianError::HashMismatch {
                what: url,
                expected: format!("sha256:{expected}"),
                actual: format!("sha256:{actual}"),
            });
        }
        Ok(())
    }
}

impl Builder for UnpackDeb {
    fn check(&self, drv: &Derivation, inputs: &[PathBuf]) -> Result<(), BuildError> {
        inputs::check::<UnpackInputs>(drv, inputs).map_err(BuildError::new)?;
        Ok(())
    }

    fn build(
        &self,
        drv: &Derivation,
        inputs: &[PathBuf],
        out: &Path,
        _events: &dyn Events,
    ) -> Result<(), BuildError> {
        let inputs: UnpackInputs = inputs::parse(drv, inputs).map_err(BuildError::new)?;
        unpack_deb(inputs.deb.path(), out).map_err(BuildError::new)
    }
}

/// The SHA-256 of a file, streamed.
pub fn sha256_file(path: &Path) -> DebianResult<String> {
    let mut file = std::fs::File::open(path).map_err(DebianError::io("open", path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(DebianError::io("read", path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// The fixed-output derivation that downloads `package`'s `.deb` from `mirror`.
pub fn fetch_derivation(package: &LockedPackage, mirror: &str) -> Derivation {
    let basename = package
        .filename
        .rsplit('/')
        .next()
        .unwrap_or(&package.filename);
    let mut drv = Derivation::new(store_name(basename), FETCH_DEB);
    for (key, value) in [
        ("mirror", mirror.trim_end_matches('/').to_string()),
        ("filename", package.filename.clone()),
        ("size", package.size.to_string()),
    ] {
        drv.env.insert(key.to_string(), value);
    }
    drv.fixed_output = Some(format!("sha256:{}", package.sha256));
    drv
}

/// The derivation that unpacks the output of `fetch` (from [`fetch_derivation`]), found at
/// `deb` (the fetch's out path).
pub fn unpack_derivation(package: &LockedPackage, fetch: DrvId, deb: &str) -> Derivation {
    let mut drv = Derivation::new(unpack_name(package), UNPACK_DEB);
    drv.env.insert("deb".to_string(), deb.to_string());
    drv.env.insert("layout".to_string(), "2".to_string());
    drv.inputs = vec![fetch];
    drv
}

/// Adds `package`'s fetch and unpack derivations to `graph`; returns the unpack's id, whose
/// output is the package's tree.
pub fn add_package(
    graph: &mut Graph,
    store: &kiln_store::Store,
    package: &LockedPackage,
    mirror: &str,
) -> kiln_store::StoreResult<DrvId> {
    let fetch = fetch_derivation(package, mirror);
    let deb = store.path(&fetch.entry()?);
    let fetch = graph.add(fetch);
    Ok(graph.add(unpack_derivation(package, fetch, &deb.to_string_lossy())))
}

/// The store name of `package`'s unpacked tree (`hello-2.10-3`).
pub fn unpack_name(package: &LockedPackage) -> String {
    store_name(&format!("{}-{}", package.name, package.version))
}

/// Store names allow `A-Za-z0-9+-._?=`; Debian names add `:` (epochs) and `~`.
fn store_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+-._?=".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}
