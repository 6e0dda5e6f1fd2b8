#!/bin/sh
# The whole test suite, as README.md and .ci/run call it. On a fresh Debian bookworm
# machine with Rust (run as root): installs the apt packages the tests need, builds the
# sysroots and fixtures, checks formatting and lints, and runs every test, including the
# end-to-end ones (podman, qemu-user). Every external resource is required here
# (MINROOT_REQUIRE_ALL=1): a test never passes because something was missing. The
# documentation builds without warnings too.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/make-sysroot.sh
scripts/make-fixtures.sh
cargo fmt --check
cargo clippy --all-targets --release -- -D warnings
RUSTDOCFLAGS='-D warnings' cargo doc --no-deps --quiet
scripts/module-cycles.py
scripts/python-tools.sh
# The minroot of the commit before runtime profiles: --no-runtime must give its layers.
MINROOT_BASELINE=$(scripts/baseline.sh)
export MINROOT_BASELINE
# Debug build too, for the regression inputs: overflow checks are on there.
cargo test --test fuzz_regressions --test malformed
MINROOT_REQUIRE_ALL=1 cargo test --release --lib --bins --tests -- --test-threads="${MINROOT_TEST_THREADS:-2}"
# The benchmarks once each, as tests (divan's test mode): they must still run.
cargo test --release --benches
echo "test.sh: all tests passed"
