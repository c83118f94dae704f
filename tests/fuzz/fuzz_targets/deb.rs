//! cargo-fuzz entry for the `deb` target; the body is `tests/fuzz/targets/deb.rs`, which
//! `crates/kiln-cli/tests/fuzz_smoke.rs` also runs as a bounded smoke test.
#![no_main]

#[path = "../targets/deb.rs"]
mod target;

libfuzzer_sys::fuzz_target!(|data: &[u8]| target::run(data));
