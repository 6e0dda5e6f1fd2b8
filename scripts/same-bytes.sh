#!/bin/sh
# Runs two minroot binaries on the same matrix of jobs and compares everything they
# write: every output file's bytes (layers, OCI layouts and archives, rootfs trees,
# Dockerfile dirs, bundles, SBOMs), stdout, and the exit status. For refactors that must
# not change a byte: build the commit before the change, then the change, and compare.
#
#   git worktree add /tmp/before HEAD~1 && (cd /tmp/before && cargo build --release)
#   cargo build --release
#   scripts/same-bytes.sh /tmp/before/target/release/minroot target/release/minroot
#
# Needs the sysroots of scripts/make-sysroot.sh. Exit status 0 when everything is equal,
# 1 when something differs (the differences are printed), 2 on a usage error.
# stderr is compared too, but only reported: wording on stderr may change.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 OLD_MINROOT NEW_MINROOT" >&2; exit 2; }
OLD=$(realpath "$1")
NEW=$(realpath "$2")
cd "$(dirname "$0")/.."
TOP=$PWD
SYS="${MINROOT_SYSROOTS:-$TOP/target/sysroots}"
A64="$SYS/amd64"
ARM="$SYS/arm64"
for r in "$A64" "$ARM"; do
    [ -d "$r" ] || { echo "$r missing: run scripts/make-sysroot.sh" >&2; exit 2; }
done
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fails=0
n=0

# A description of a tree: every path with its type, mode, owner, size, link target and,
# for files, sha256
describe() {
    (cd "$1" && find . -printf '%p %y %m %U:%G %s %l\n' | LC_ALL=C sort &&
        { find ./fs ./b -printf '%p %T@\n' 2>/dev/null | LC_ALL=C sort || true; } &&
        find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
}

# case NAME ARGS...: runs both binaries in fresh directories with ARGS (outputs are
# relative names, so stdout is comparable) and compares.
case_() {
    name=$1
    shift
    n=$((n + 1))
    for side in old new; do
        d="$WORK/$side/$n"
        mkdir -p "$d"
        bin=$OLD
        [ $side = new ] && bin=$NEW
        rc=0
        (cd "$d" && SOURCE_DATE_EPOCH='' "$bin" "$@" >"../$n.stdout" 2>"../$n.stderr") || rc=$?
        echo $rc >"$WORK/$side/$n.rc"
        describe "$d" >"$WORK/$side/$n.tree"
    done
    bad=""
    for f in rc stdout tree; do
        cmp -s "$WORK/old/$n.$f" "$WORK/new/$n.$f" || bad="$bad $f"
    done
    if [ -n "$bad" ]; then
        fails=$((fails + 1))
        echo "DIFFER: $name ($bad )"
        for f in $bad; do
            diff "$WORK/old/$n.$f" "$WORK/new/$n.$f" | head -20
        done
    else
        echo "same:   $name (exit $(cat "$WORK/new/$n.rc"))"
    fi
    if ! cmp -s "$WORK/old/$n.stderr" "$WORK/new/$n.stderr"; then
        echo "        (stderr differs)"
        diff "$WORK/old/$n.stderr" "$WORK/new/$n.stderr" | head -10 | sed 's/^/        /'
    fi
}

E=1700000000
# Layers in every compression, on both architectures, with the options that change bytes.
case_ "amd64 nginx tar" pack --root "$A64" -o l.tar --include /etc/nginx /usr/sbin/nginx
case_ "amd64 nginx tar.gz + sboms + report" pack --root "$A64" -o l.tar.gz --sbom s.spdx.json --sbom s.cdx.json --report --include /etc/nginx /usr/sbin/nginx
case_ "amd64 python3 tar.zst" pack --root "$A64" -o l.tar.zst --include /usr/lib/python3.11 /usr/bin/python3
case_ "amd64 curl epoch chown strip" pack --root "$A64" --source-date-epoch $E --chown 1000:1000 --strip-setuid -o l.tar /usr/bin/curl
case_ "amd64 file data dlopen" pack --root "$A64" --data tzdata --data C.utf8 --dlopen libz.so.1 --dlopen-priority suggested -o l.tar /usr/bin/file
case_ "amd64 no-base no-metadata" pack --root "$A64" --no-base --no-package-db --no-copyright --no-gconv -o l.tar /usr/bin/curl
case_ "amd64 script (pydoc3)" pack --root "$A64" -o l.tar /usr/bin/pydoc3
case_ "amd64 missing dlopen refused" pack --root "$A64" -o l.tar --dlopen libnope.so.9 /usr/bin/curl
case_ "amd64 missing dlopen allowed" pack --root "$A64" -o l.tar --allow-missing --dlopen libnope.so.9 /usr/bin/curl
case_ "amd64 oci + archive + dev" pack --root "$A64" --oci oci --oci-archive a.tar --dev --tag web:1 --env A=1 --label k=v --cmd -g --cmd 'daemon off;' --workdir / --user 0 --include /etc/nginx /usr/sbin/nginx
case_ "amd64 oci zstd" pack --root "$A64" --oci oci --compression zstd /usr/bin/curl
case_ "amd64 oci uncompressed" pack --root "$A64" --oci-archive a.tar --compression none --entrypoint /bin/sh /usr/bin/busybox
case_ "amd64 rootfs + dockerfile" pack --root "$A64" --rootfs fs --dockerfile df --env PRICE='$5' /usr/bin/curl
case_ "amd64 json summary" pack --root "$A64" -o l.tar.gz --json --sbom s.spdx.json /usr/bin/curl
case_ "arm64 curl tar.gz" pack --root "$ARM" -o l.tar.gz /usr/bin/curl
case_ "arm64 python3 oci" pack --root "$ARM" --oci oci --include /usr/lib/python3.11 /usr/bin/python3
case_ "arm64 busybox sbom" pack --root "$ARM" -o l.tar --sbom s.cdx.json /bin/busybox
case_ "host ls" pack -o l.tar /usr/bin/ls
case_ "host ls gz" pack -o l.tar.gz --source-date-epoch $E /usr/bin/ls
# Views of the same run.
case_ "amd64 files list" files --root "$A64" --include /etc/nginx /usr/sbin/nginx
case_ "amd64 files json" files --root "$A64" --format json /usr/bin/curl
case_ "amd64 files no-metadata" files --root "$A64" --no-package-db --no-copyright /usr/bin/python3
case_ "arm64 files json" files --root "$ARM" --format json /usr/bin/python3
case_ "amd64 report" report --root "$A64" --include /etc/nginx /usr/sbin/nginx
case_ "amd64 report json" report --root "$A64" --json /usr/bin/curl
case_ "amd64 files missing" files --root "$A64" --dlopen libnope.so.9 /usr/bin/curl
case_ "amd64 files bad option" files --root "$A64" --dlopen-priority often /usr/bin/curl
case_ "amd64 files no such program" files --root "$A64" /usr/bin/nope
# Bundles.
case_ "amd64 bundle dir" bundle --root "$A64" -o b /usr/bin/curl
case_ "amd64 bundle tar.gz python" bundle --root "$A64" -o py.tar.gz --include /usr/lib/python3.11 /usr/bin/python3 /usr/bin/pydoc3
case_ "arm64 bundle" bundle --root "$ARM" -o b.tar.gz --name app --source-date-epoch $E /usr/bin/curl
# Trace and check.
case_ "amd64 trace tree" trace --root "$A64" -a -v /usr/sbin/nginx /usr/bin/python3
case_ "amd64 trace json" trace --root "$A64" --format json /usr/bin/curl /usr/lib/x86_64-linux-gnu/libcurl.so.4
case_ "arm64 trace list" trace --root "$ARM" --format list /usr/bin/curl /bin/busybox
case_ "check amd64 root" check "$A64"
case_ "check bad flag" check --no-such-flag "$A64"
case_ "check arm64 root json" check --json "$ARM"
# build: two platforms in one index.
spec="$WORK/spec"
mkdir -p "$spec"
ln -s "$A64" "$spec/amd64"
ln -s "$ARM" "$spec/arm64"
cat >"$spec/minroot.toml" <<EOF
bins = ["/usr/bin/curl"]
include = ["/etc/ssl/certs"]
source_date_epoch = $E
dev = true
[image]
tag = "curl:8"
env = ["A=1"]
labels = { "org.example" = "x" }
[[platform]]
name = "linux/amd64"
root = "amd64"
[[platform]]
name = "linux/arm64"
root = "arm64"
EOF
case_ "build two platforms" build "$spec/minroot.toml" --oci oci --oci-archive a.tar
case_ "build json" build "$spec/minroot.toml" --oci oci --json

echo "same-bytes: $n cases, $fails differ"
[ $fails -eq 0 ]
