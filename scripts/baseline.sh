#!/bin/sh
# Builds minroot as it was at a commit, for tests that must show a change kept every byte
# (e.g. `pack --no-runtime` against the last commit before language runtimes), and prints
# the binary's path. Built from `git archive` of that commit under target/baseline/COMMIT/
# with its own target directory; built once, then reused.
# Usage: scripts/baseline.sh [COMMIT]   (default: 13a43b9, the last commit before runtime profiles)
set -eu
cd "$(dirname "$0")/.."
C=${1:-13a43b9}
OUT=$PWD/target/baseline/$C
BIN=$OUT/target/release/minroot
if [ ! -x "$BIN" ]; then
    echo "baseline: building minroot at $C" >&2
    rm -rf "$OUT/src"
    mkdir -p "$OUT/src"
    git archive --format=tar "$C" | tar -x -C "$OUT/src"
    (cd "$OUT/src" && CARGO_TARGET_DIR="$OUT/target" cargo build --release -q) >&2
    rm -rf "$OUT/src"
fi
echo "$BIN"
