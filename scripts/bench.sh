#!/bin/sh
# Whole-command benchmarks against the peers, in one run, printed as ratios:
#   1. trace /usr/bin/ffmpeg            minroot vs libtree vs lddtree
#   2. trace every ELF of /usr/bin      (one process each)
#   3. pack ffmpeg's closure            minroot vs GNU tar | sha256sum (and | gzip -6),
#                                       and vs reading + hashing the files once (cat | sha256sum)
#   4. import-heavy CPython start       from the packed image vs in the root
#   5. minroot probe overhead           a run under observation vs the same run
#   4. import-heavy CPython start       from the packed image vs in the root (bwrap, read-only,
#                                       alternated run by run, median of the per-pair ratios)
# Installs what it needs (ffmpeg, libtree, pax-utils' lddtree, hyperfine) when missing.
# The machine is small and noisy: compare the ratios, not the absolute times.
# Usage: scripts/bench.sh [RUNS]   (default 20 runs per command; lddtree on all of /usr/bin runs once)
set -eu
cd "$(dirname "$0")/.."
RUNS=${1:-20}
OUT=target/bench
mkdir -p "$OUT"
scripts/deps.sh
if ! command -v ffmpeg >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ffmpeg >/dev/null
fi
cargo build --release -q
M=$PWD/target/release/minroot
LDDTREE="/usr/bin/python3 /usr/bin/lddtree"
TMP=${TMPDIR:-/dev/shm}/minroot-bench.$$
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT

# Every ELF of /usr/bin, one per line.
for f in /usr/bin/*; do
    [ -f "$f" ] && head -c4 "$f" 2>/dev/null | grep -q ELF && echo "$f"
done > "$TMP/elfs"
ELFS=$(tr '\n' ' ' < "$TMP/elfs")
NELF=$(wc -l < "$TMP/elfs")

ratio() { # hyperfine JSON -> "name: mean ms (x ratio to the first)"
    /usr/bin/python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
base = r[0]["mean"]
for x in r:
    print(f"  {x['command'][:60]:60s} {x['mean']*1e3:10.1f} ms  x{x['mean']/base:6.2f}")
PY
}

echo "== 1. trace /usr/bin/ffmpeg ($($M trace -f list /usr/bin/ffmpeg | wc -l) libraries)"
hyperfine -N -w 5 -r "$RUNS" --export-json "$OUT/trace-ffmpeg.json" \
    "$M trace -f list /usr/bin/ffmpeg" "libtree /usr/bin/ffmpeg" "$LDDTREE /usr/bin/ffmpeg" >/dev/null
ratio "$OUT/trace-ffmpeg.json"

echo "== 2. trace all $NELF ELFs of /usr/bin in one process"
hyperfine -N -i -w 2 -r "$RUNS" --export-json "$OUT/trace-usr-bin.json" \
    "$M trace -f list $ELFS" "libtree $ELFS" >/dev/null
ratio "$OUT/trace-usr-bin.json"
echo "  lddtree (one run):"
hyperfine -N -i -r 1 --export-json "$OUT/trace-usr-bin-lddtree.json" "$LDDTREE $ELFS" >/dev/null
ratio "$OUT/trace-usr-bin-lddtree.json"

echo "== 3. pack ffmpeg's closure"
# The same files and links for everyone: the closure minroot selects (no base files,
# package database or gconv), as paths relative to /.
$M files --no-base --no-gconv -f json /usr/bin/ffmpeg 2>/dev/null | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
skip = ("/var/lib/dpkg/", "/usr/share/doc/")
keep = [e for e in d["entries"] if e["kind"] in ("file", "symlink") and not e["path"].startswith(skip)]
print("\n".join(e["path"].lstrip("/") for e in keep))
print(sum(e["size"] for e in keep), len(keep), file=sys.stderr)
' > "$TMP/list" 2> "$TMP/size"
echo "  $(cut -d' ' -f2 "$TMP/size") files and links, $(cut -d' ' -f1 "$TMP/size") bytes"
( cd / && xargs -a "$TMP/list" sh -c 'for f; do [ -L "$f" ] || echo "$f"; done' sh ) > "$TMP/files"
TAR="tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C / -cf - -T $TMP/list"
P="$M pack --no-base --no-gconv --no-package-db --no-copyright /usr/bin/ffmpeg"
hyperfine -N -w 1 -r "$RUNS" --export-json "$OUT/pack-tar.json" \
    "$P -o /dev/null" \
    "sh -c '$TAR | sha256sum'" \
    "sh -c 'cd / && xargs -a $TMP/files cat | sha256sum'" >/dev/null
ratio "$OUT/pack-tar.json"
hyperfine -N -w 1 -r "$(( (RUNS + 3) / 4 ))" --export-json "$OUT/pack-gzip.json" \
    "$P -o $TMP/l.tar.gz" \
    "sh -c '$TAR | gzip -6 | sha256sum'" \
    "$P -o $TMP/l.tar.zst" >/dev/null
ratio "$OUT/pack-gzip.json"

$P -o "$TMP/l.tar.gz" >/dev/null
$P -o "$TMP/l.tar.zst" >/dev/null
sh -c "$TAR | gzip -6 > $TMP/g.tar.gz"
echo "  sizes: minroot gzip $(stat -c %s "$TMP/l.tar.gz"), GNU gzip -6 $(stat -c %s "$TMP/g.tar.gz"), minroot zstd $(stat -c %s "$TMP/l.tar.zst") bytes"
echo "== 4. import-heavy CPython start: from the packed image vs in the root"
# The root is the amd64 test sysroot when it exists (scripts/make-sysroot.sh), else the host.
# Both sides run the same command under bwrap with the tree bound read-only, as in a
# read-only image: CPython can use its cached bytecode but never write any, so a layer
# whose .pyc files are stale recompiles at every start.
PYROOT="${MINROOT_SYSROOTS:-$PWD/target/sysroots}/amd64"
[ -x "$PYROOT/usr/bin/python3" ] || PYROOT=/
$M pack --root "$PYROOT" --rootfs "$TMP/py" /usr/bin/python3 >/dev/null
# bwrap needs the mount points; the layer has none (a container runtime makes them).
mkdir -p "$TMP/py/proc" "$TMP/py/dev"
PYCMD="import json, email.parser, http.client, decimal, sqlite3, ssl"
/usr/bin/python3 - "$RUNS" "$PYROOT" "$TMP/py" "$PYCMD" <<'PY'
import statistics, subprocess, sys, time
runs, root, image, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
def bwrap(tree):
    return ["bwrap", "--ro-bind", tree, "/", "--proc", "/proc", "--dev", "/dev",
            "--unshare-pid", "--die-with-parent", "--clearenv", "/usr/bin/python3", "-c", cmd]
def once(tree):
    t = time.perf_counter()
    subprocess.run(bwrap(tree), check=True)
    return time.perf_counter() - t
for tree in (root, image):  # warm-up
    once(tree)
a, b = [], []
for _ in range(runs):  # alternated: A B A B ...
    a.append(once(root))
    b.append(once(image))
ratios = [y / x for x, y in zip(a, b)]
print(f"  in the root ({root})            median {statistics.median(a)*1e3:7.1f} ms")
print(f"  from the packed image (--rootfs) median {statistics.median(b)*1e3:7.1f} ms")
print(f"  image / root: median of {runs} per-pair ratios x{statistics.median(ratios):.2f}")
PY
echo "== 5. minroot probe: a run under observation vs the same run"
# The same command in the same root, alternated: plain under bwrap (read-only root, as
# above), and under `minroot probe` (which also sets up its namespaces and overlay and
# writes the record). Two kinds of run: an import-heavy CPython start (~1000 file calls)
# and a `git status`-like walk that stats every file of a tree.
/usr/bin/python3 - "$RUNS" "$PYROOT" "$M" "$TMP" "$PYCMD" <<'PY'
import statistics, subprocess, sys, time
runs, root, m, tmp, pycmd = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
cases = [
    ("import-heavy CPython start", ["/usr/bin/python3", "-c", pycmd]),
    ("stat every file of /usr/lib/python3.11", ["/usr/bin/find", "/usr/lib/python3.11", "-newer", "/etc/hostname"]),
]
def plain(cmd):
    return ["bwrap", "--ro-bind", root, "/", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
            "--unshare-pid", "--unshare-net", "--die-with-parent", "--clearenv", *cmd]
def probed(cmd):
    return [m, "probe", "--root", root, "-o", f"{tmp}/bench.probe.json", "--", *cmd]
def once(argv):
    t = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t
for name, cmd in cases:
    once(plain(cmd)); once(probed(cmd))
    a, b = [], []
    for _ in range(runs):
        a.append(once(plain(cmd)))
        b.append(once(probed(cmd)))
    ratios = [y / x for x, y in zip(a, b)]
    print(f"  {name}: plain median {statistics.median(a)*1e3:7.1f} ms, probed {statistics.median(b)*1e3:7.1f} ms,"
          f" median of {runs} per-pair ratios x{statistics.median(ratios):.2f}")
PY
echo "(raw hyperfine results in $OUT/)"
