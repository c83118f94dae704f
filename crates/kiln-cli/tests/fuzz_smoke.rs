//! The fuzz targets of `tests/fuzz` (`parse`, `eval`, `deb`) as a bounded smoke test, so every
//! `cargo test` feeds each the same function cargo-fuzz does: their seeds, then mutations of
//! them (bit flips, interesting bytes, insertions, deletions, duplications, splices), from a
//! fixed random seed. Each input must finish without a panic in under a second (five in a debug
//! build), and the process's peak RSS must stay under 2 GiB.
//!
//! `KILN_FUZZ_EXECS=N` sets the inputs per target (default 1500); the long runs are cargo-fuzz's
//! (`just fuzz deb`), whose coverage guidance this does not have.

#[path = "../../../tests/fuzz/targets/deb.rs"]
mod deb;
#[path = "../../../tests/fuzz/targets/eval.rs"]
mod eval;
#[path = "../../../tests/fuzz/targets/parse.rs"]
mod parse;

use std::path::Path;
use std::time::{Duration, Instant};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const INTERESTING: &[u8] = b"\x00\xff\x7f\x80 \n\t{}[]();=:.,'\"$\\/-+*<>|&!?#@~`0123456789";

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut input = seeds[rng.below(seeds.len())].clone();
    for _ in 0..=rng.below(4) {
        let len = input.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                input[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                input[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 => {
                let i = rng.below(len + 1);
                let n = 1 + rng.below(8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                input.splice(i..i, bytes);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                input.drain(i..i + n);
            }
            4 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                let copy = input[i..i + n].to_vec();
                let at = rng.below(len + 1);
                input.splice(at..at, copy);
            }
            5 => {
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len() + 1);
                let at = rng.below(len + 1);
                input.truncate(at);
                input.extend_from_slice(&other[from..]);
            }
            _ if len > 1 => {
                // Keep the selector byte of `deb` inputs; truncate the rest.
                input.truncate(1 + rng.below(len - 1));
            }
            _ => {}
        }
    }
    input
}

/// Peak resident memory of this process in KiB (`VmHWM`).
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn execs() -> usize {
    std::env::var("KILN_FUZZ_EXECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1500)
}

fn smoke(target: &str, seeds: Vec<Vec<u8>>, run: fn(&[u8]), seed: u64) {
    let limit = if cfg!(debug_assertions) {
        Duration::from_secs(5)
    } else {
        Duration::from_secs(1)
    };
    let mut rng = Rng(seed);
    let n = execs();
    let start = Instant::now();
    let mut slowest = Duration::ZERO;
    let inputs = seeds
        .iter()
        .cloned()
        .chain((0..n).map(|_| mutate(&mut rng, &seeds)));
    for (i, input) in inputs.enumerate() {
        let began = Instant::now();
        let outcome = std::panic::catch_unwind(|| run(&input));
        let took = began.elapsed();
        if outcome.is_err() || took > limit {
            let saved = kiln_testkit::workspace()
                .join("target")
                .join(format!("fuzz-smoke-{target}-{i}"));
            let _ = std::fs::write(&saved, &input);
            panic!(
                "{target}: input {i} {} (saved to {})",
                if outcome.is_err() {
                    "panicked".to_string()
                } else {
                    format!("took {took:?}")
                },
                saved.display()
            );
        }
        slowest = slowest.max(took);
    }
    let rss = peak_rss_kib();
    eprintln!(
        "{target}: {} inputs ({} seeds) in {:.1?}, slowest {:.1?}, peak RSS {} MiB",
        n + seeds.len(),
        seeds.len(),
        start.elapsed(),
        slowest,
        rss / 1024
    );
    assert!(rss < 2 * 1024 * 1024, "{target}: peak RSS {rss} KiB");
}

/// The `.nix` files of a corpus directory, as seeds.
fn nix_seeds(dirs: &[&str]) -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for dir in dirs {
        let dir = kiln_testkit::workspace().join(dir);
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "nix"))
            .collect();
        paths.sort();
        for path in paths {
            let bytes = std::fs::read(&path).unwrap();
            // Small inputs mutate into something new more often.
            if bytes.len() <= 4096 {
                seeds.push(bytes);
            }
        }
    }
    assert!(!seeds.is_empty());
    seeds
}

#[test]
fn parse_target() {
    smoke(
        "parse",
        nix_seeds(&["tests/syntax/ok", "tests/syntax/err"]),
        parse::run,
        1,
    );
}

#[test]
fn eval_target() {
    smoke("eval", nix_seeds(&["tests/eval/ok"]), eval::run, 2);
}

#[test]
fn deb_target() {
    let mut seeds = deb::seeds();
    // And the fixture archive's real index and release texts.
    let fixtures = kiln_testkit::workspace().join("crates/kiln-debian/tests/fixtures");
    let packages = std::fs::read(fixtures.join("packages-main.txt")).unwrap();
    seeds.push([&[1u8][..], &packages[..packages.len().min(8192)]].concat());
    let inrelease = std::fs::read(fixtures.join("archive/dists/bookworm/InRelease")).unwrap();
    seeds.push([&[2u8][..], &inrelease[..]].concat());
    if let Ok(dir) = std::env::var("KILN_FUZZ_WRITE_SEEDS") {
        for (i, seed) in seeds.iter().enumerate() {
            std::fs::write(Path::new(&dir).join(format!("seed-{i}")), seed).unwrap();
        }
    }
    smoke("deb", seeds, deb::run, 3);
}
