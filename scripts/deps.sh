#!/bin/sh
# Installs what minroot's tests and benchmarks need on a Debian bookworm machine (as root).
# Idempotent: packages already present are left alone.
# docker-registry is for tests/image_build.rs, which starts its own on 127.0.0.1 (the
# package's service on :5000 is not used).
set -eu
PKGS="podman runc skopeo umoci uidmap fuse-overlayfs qemu-user-static mmdebstrap bubblewrap \
gcc gcc-aarch64-linux-gnu libc6-dev-arm64-cross libtree pax-utils python3 python3-pyelftools python3-venv python3-pip \
patchelf hyperfine ca-certificates curl xz-utils libcap2-bin busybox-static libseccomp-dev iproute2 \
openjdk-17-jdk-headless docker-registry bsdutils"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "deps: installing$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
