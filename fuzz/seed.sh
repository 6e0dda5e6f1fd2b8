#!/bin/sh
# Generates the seed corpora of every fuzz target into fuzz/corpus/<target>/ (not committed).
# Usage: fuzz/seed.sh                 (from anywhere)
#        fuzz/seed.sh --regressions   rewrites the generated seeds kept (and committed) as
#                                     testdata/fuzz-regressions/<target>/seed-*, which
#                                     tests/fuzz_regressions.rs replays and checks
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if [ "${1:-}" = --regressions ]; then
    exec cargo run --quiet --release --manifest-path "$here/Cargo.toml" -p minroot-fuzz-seed -- \
        --regressions "$here/../testdata/fuzz-regressions"
fi
cargo run --quiet --release --manifest-path "$here/Cargo.toml" -p minroot-fuzz-seed -- "$here/corpus"
