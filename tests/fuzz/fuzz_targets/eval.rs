//! cargo-fuzz entry for the `eval` target; the body is `tests/fuzz/targets/eval.rs`, which
//! `crates/kiln-cli/tests/fuzz_smoke.rs` also runs as a bounded smoke test.
#![no_main]

#[path = "../targets/eval.rs"]
mod target;

libfuzzer_sys::fuzz_target!(|data: &[u8]| target::run(data));
