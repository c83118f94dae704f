# kiln developer recipes; `just --list` shows them.

# Run the workspace tests (quick, hermetic).
test:
    cargo test --workspace

# Run everything CI runs, including the nix oracle tests.
slow:
    KILN_SLOW_TESTS=1 cargo test --workspace

# Regenerate expected files of the golden corpora.
bless:
    UPDATE_EXPECT=1 cargo test --workspace

# Formatting and lints, as CI wants them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Fuzz a target under tests/fuzz: parse, eval or deb (needs nightly and cargo-fuzz). Inputs over
# a second or 2 GiB of RSS are failures. `cargo test -p kiln-cli --test fuzz_smoke` runs the same
# bodies, bounded, on stable (KILN_FUZZ_EXECS=N inputs each). Leak detection is off: interned
# symbols and the evaluator's reference cycles live until exit by design (RSS is bounded instead).
fuzz target="parse" time="600":
    cargo +nightly fuzz run --fuzz-dir tests/fuzz {{target}} tests/fuzz/corpus/{{target}} tests/fuzz/seeds/{{target}} -- -max_total_time={{time}} -timeout=1 -rss_limit_mb=2048 -detect_leaks=0

# Side-by-side benchmarks against the peers (nix-instantiate, apt + dpkg-deb, cpio + zstd,
# xorriso, mksquashfs).
bench:
    tests/bench/parse.sh
    tests/bench/eval.sh
    tests/bench/modules.sh
    tests/bench/fetch.sh
    tests/bench/initrd.sh
    tests/bench/iso.sh
    tests/bench/squashfs.sh
    tests/bench/build.sh
    tests/bench/liveroot.sh
