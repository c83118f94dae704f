//! cargo-fuzz entry for the `parse` target; the body is `tests/fuzz/targets/parse.rs`, which
//! `crates/kiln-cli/tests/fuzz_smoke.rs` also runs as a bounded smoke test.
#![no_main]

#[path = "../targets/parse.rs"]
mod target;

libfuzzer_sys::fuzz_target!(|data: &[u8]| target::run(data));
