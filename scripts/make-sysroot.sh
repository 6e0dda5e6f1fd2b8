#!/bin/sh
# Builds the Debian bookworm sysroots the tests use, under target/sysroots/ (or $MINROOT_SYSROOTS).
#   arm64      : mmdebstrap --variant=extract (nothing is run), arm64 packages, then the root's
#                own ldconfig run under qemu-aarch64-static so /etc/ld.so.cache exists as on a
#                real arm64 system. Its loader runs under qemu-user for the oracle tests.
#   amd64      : mmdebstrap --variant=minbase with nginx, python3, curl and friends installed.
# A root is rebuilt only when its package list changed (stamp file).
# Usage: scripts/make-sysroot.sh [arm64|amd64]...   (default: both)
set -eu
cd "$(dirname "$0")/.."
OUT="${MINROOT_SYSROOTS:-$PWD/target/sysroots}"
mkdir -p "$OUT"
MIRROR="${MINROOT_MIRROR:-http://deb.debian.org/debian}"

ARM64_PKGS="libc6,libc-bin,libgcc-s1,busybox,curl,openssl,ca-certificates,python3,python3-minimal,libpython3.11-stdlib,zlib1g,libssl3,libsqlite3-0,libffi8,liblzma5,perl,libperl5.36,perl-modules-5.36,python3-yaml"
AMD64_PKGS="nginx,python3,curl,ca-certificates,openssl,busybox,libmagic1,file,libc-bin,perl,nodejs,openjdk-17-jre-headless,python3-yaml"

build() {
    name=$1 arch=$2 variant=$3 pkgs=$4
    dir="$OUT/$name"
    stamp="$dir.stamp"
    want="$arch $variant $pkgs"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d "$dir" ]; then
        echo "sysroot $name: up to date ($dir)" >&2
        return 0
    fi
    rm -rf "$dir" "$stamp"
    echo "sysroot $name: mmdebstrap $variant $arch ($pkgs)" >&2
    mmdebstrap --mode=root --variant="$variant" --architectures="$arch" \
        --include="$pkgs" bookworm "$dir" "$MIRROR" >&2
    if [ "$arch" = arm64 ]; then
        cp /usr/bin/qemu-aarch64-static "$dir/usr/bin/qemu-aarch64-static"
        chroot "$dir" /usr/bin/qemu-aarch64-static /sbin/ldconfig
        rm -f "$dir/usr/bin/qemu-aarch64-static"
    fi
    echo "$want" > "$stamp"
}

[ $# -gt 0 ] || set -- arm64 amd64
for r in "$@"; do
    case $r in
        arm64) build arm64 arm64 extract "$ARM64_PKGS" ;;
        amd64) build amd64 amd64 minbase "$AMD64_PKGS" ;;
        *) echo "unknown sysroot $r (arm64, amd64)" >&2; exit 2 ;;
    esac
done
