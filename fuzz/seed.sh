#!/bin/sh
# Generates the seed corpora of every fuzz target into fuzz/corpus/<target>/ (not committed).
# Usage: fuzz/seed.sh   (from anywhere)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cargo run --quiet --release --manifest-path "$here/Cargo.toml" -p minroot-fuzz-seed -- "$here/corpus"
