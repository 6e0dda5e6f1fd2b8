#!/bin/sh
# Runs one fuzz target for a while, as recorded in fuzz/README.md.
# Usage: fuzz/run.sh TARGET [SECONDS]   (default 600; TARGET: elf_inspect, ldcache, dlopen_note)
# Needs cargo-fuzz (`cargo install cargo-fuzz`); RUSTC_BOOTSTRAP=1 lets the stable toolchain
# take the nightly-only sanitizer flags cargo-fuzz passes. One job: the machine is shared.
# The libFuzzer log ends up in fuzz/artifacts/logs/TARGET.log, crashes in fuzz/artifacts/TARGET/.
set -eu
target=$1
secs=${2:-600}
cd "$(dirname "$0")/.."
[ -d "fuzz/corpus/$target" ] || fuzz/seed.sh
mkdir -p fuzz/artifacts/logs
status=0
RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" -- \
    -max_total_time="$secs" -jobs=1 -timeout=10 -max_len=65536 -rss_limit_mb=2048 || status=$?
mv fuzz-0.log "fuzz/artifacts/logs/$target.log"
grep -E '^Done|^#[0-9]+\s+DONE|ERROR|SUMMARY' "fuzz/artifacts/logs/$target.log" || true
tail -n 3 "fuzz/artifacts/logs/$target.log"
exit "$status"
