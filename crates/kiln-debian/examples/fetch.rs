//! Fetch and unpack named Debian packages (not their closures) into a store, timing each
//! phase; `tests/bench/fetch.sh` runs it against `apt-get download` + `dpkg-deb -x`.
//!
//! ```text
//! cargo run --release -p kiln-debian --example fetch -- INDEX_STORE STORE JOBS NAME...
//! ```
//!
//! The index is cached in INDEX_STORE (so it is not part of the timed fetch, just as apt's
//! lists are not); the packages go into STORE.

use kiln_debian::{add_package, open_index, ArchiveOptions, FetchDeb, LockedPackage, UnpackDeb};
use kiln_store::{realise, Builder, Builders, Graph, Quiet, RealiseOptions, Store};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [index_store, store, jobs, names @ ..] = args.as_slice() else {
        return Err("usage: fetch INDEX_STORE STORE JOBS NAME...".into());
    };
    let options = ArchiveOptions::default();
    let started = Instant::now();
    let index = open_index(&Store::open(index_store)?, &options, None)?;
    let index_time = started.elapsed();
    let store = Store::open(store)?;
    let mut graph = Graph::new();
    let mut targets = Vec::new();
    let mut bytes = 0;
    for name in names {
        let package = index
            .get(name)
            .ok_or_else(|| format!("no package `{name}`"))?;
        bytes += package.size;
        targets.push(add_package(
            &mut graph,
            &store,
            &LockedPackage::from(package),
            &options.mirror,
        )?);
    }
    let (fetch, unpack) = (FetchDeb::default(), UnpackDeb);
    let builders: Builders = [
        (kiln_debian::FETCH_DEB, &fetch as &dyn Builder),
        (kiln_debian::UNPACK_DEB, &unpack as &dyn Builder),
    ]
    .into_iter()
    .collect();
    let realise_options = RealiseOptions {
        jobs: jobs.parse()?,
        offline: false,
        ..RealiseOptions::default()
    };
    let started = Instant::now();
    realise(
        &store,
        &graph,
        &targets,
        &builders,
        &realise_options,
        &Quiet,
    )?;
    let fetch_time = started.elapsed();
    let started = Instant::now();
    realise(
        &store,
        &graph,
        &targets,
        &builders,
        &realise_options,
        &Quiet,
    )?;
    let noop_time = started.elapsed();
    println!(
        "index {:.3}s; fetch+unpack {} packages ({:.1} MB) {:.3}s; no-op {:.1}ms",
        index_time.as_secs_f64(),
        names.len(),
        bytes as f64 / 1e6,
        fetch_time.as_secs_f64(),
        noop_time.as_secs_f64() * 1e3
    );
    println!("KILN_SECONDS={:.3}", fetch_time.as_secs_f64());
    Ok(())
}
