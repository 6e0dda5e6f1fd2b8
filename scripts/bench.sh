#!/bin/sh
# Whole-command benchmarks, one per row of the speed table (issue 14), measured the way
# users run them: outputs written to real files on the disk (target/bench/work, not a
# tmpfs), default options where the row says so, and the peer doing the same work. The
# commands of a row are alternated run by run (A B A B ...; scripts/alternate.py) and the
# medians of the per-round ratios printed, as Markdown tables for benches/README.md:
#   1. pack ffmpeg's closure -o x.tar    vs `cat` of the same files into one file (the copy
#                                        limit) and GNU `tar | tee x.tar | sha256sum`
#   2. the same -o /dev/null             vs GNU `tar | sha256sum`
#   3. default pack -o x.tar (package metadata on) vs the same without package metadata
#   4. trace --format list /usr/bin/ffmpeg            vs libtree (and lddtree, once), and
#                                        the floor: benches/floor.c opening and reading
#                                        each file of the closure, nothing searched
#   5. trace --format list of every ELF of /usr/bin   vs libtree, one process each, and
#                                        the floor over all their files
#      (rows 4 and 5 also time `sh -c true`: every command there is started through
#      Python and sh, a few ms that both sides pay and that narrow their ratio)
#   6. check of the amd64 test root (~13k entries)    (goal: <= 0.3 s; no peer)
#   7. the gzip and zstd layers          vs GNU `tar | gzip -6 > x.tar.gz`, and the sizes
#   8. import-heavy CPython start        from the packed image vs in the root
#   9. minroot probe overhead            a run under observation vs the same run
# OLD=/path/to/an/older/minroot puts that binary next to the new one in rows 1-7.
# Installs what it needs (ffmpeg, libtree, pax-utils' lddtree, hyperfine) when missing.
# The machine is small and noisy: compare the ratios, not the absolute times.
# Usage: [OLD=...] scripts/bench.sh [RUNS]   (default 10 rounds; 3 for the compressed layers)
set -eu
cd "$(dirname "$0")/.."
RUNS=${1:-10}
OUT=$PWD/target/bench
W=$OUT/work
mkdir -p "$W"
scripts/deps.sh
if ! command -v ffmpeg >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ffmpeg >/dev/null
fi
cargo build --release -q
M=$PWD/target/release/minroot
OLD=${OLD:-}
LDDTREE="/usr/bin/python3 /usr/bin/lddtree"
TMP=$W/tmp.$$
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT
A="/usr/bin/python3 $PWD/scripts/alternate.py"
echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), kernel $(uname -r),"
echo "  $W on $(df --output=source,fstype "$W" | tail -1 | tr -s ' '), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "minroot $M${OLD:+, old $OLD}"
echo

# Every ELF of /usr/bin, one per line.
for f in /usr/bin/*; do
    [ -f "$f" ] && head -c4 "$f" 2>/dev/null | grep -q ELF && echo "$f"
done > "$TMP/elfs"
ELFS=$(tr '\n' ' ' < "$TMP/elfs")
NELF=$(wc -l < "$TMP/elfs")

# ffmpeg's closure as minroot selects it without base files and package metadata, as
# paths relative to / (files and links for tar; the regular files alone for cat).
$M files --no-base --no-package-db --no-copyright -f json /usr/bin/ffmpeg 2>/dev/null | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
keep = [e for e in d["entries"] if e["kind"] in ("file", "symlink")]
print("\n".join(e["path"].lstrip("/") for e in keep))
print(sum(e["size"] for e in keep), len(keep), file=sys.stderr)
' > "$TMP/list" 2> "$TMP/size"
( cd / && xargs -a "$TMP/list" sh -c 'for f; do [ -L "$f" ] || echo "$f"; done' sh ) > "$TMP/files"
echo "ffmpeg's closure: $(cut -d' ' -f2 "$TMP/size") files and links, $(wc -l < "$TMP/files") regular files, $(cut -d' ' -f1 "$TMP/size") bytes"
echo
TAR="tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C / -cf - -T $TMP/list"
NOMETA="--no-base --no-package-db --no-copyright"
# with_old NAME COMMAND-WITH-@M@: the row's minroot command, and the old one's if OLD is set.
with_old() {
    printf '%s\n' "minroot $1=$(echo "$2" | sed "s|@M@|$M|g")"
    [ -z "$OLD" ] || printf '%s\n' "old minroot $1=$(echo "$2" | sed "s|@M@|$OLD|g")"
}
row() { # TITLE RUNS, then the NAME=COMMAND lines on stdin
    title=$1
    runs=$2
    set --
    while IFS= read -r l; do set -- "$@" "$l"; done
    $A "$runs" "$title" "$@"
}

{ with_old "pack -o x.tar" "@M@ pack $NOMETA -o $W/x.tar /usr/bin/ffmpeg"
  echo "cat FILES > c.out (the copy limit)=cd / && xargs -a $TMP/files cat > $W/c.out"
  echo "GNU tar | tee x.tar | sha256sum=$TAR | tee $W/t.tar | sha256sum"
} | row "1. pack ffmpeg's closure into a file" "$RUNS"

{ with_old "pack -o /dev/null" "@M@ pack $NOMETA -o /dev/null /usr/bin/ffmpeg"
  echo "GNU tar | sha256sum=$TAR | sha256sum"
} | row "2. the same, written to /dev/null" "$RUNS"

{ echo "minroot pack --no-package-db --no-copyright -o x.tar=$M pack --no-package-db --no-copyright -o $W/x.tar /usr/bin/ffmpeg"
  with_old "pack -o x.tar (default: package metadata)" "@M@ pack -o $W/x.tar /usr/bin/ffmpeg"
} | row "3. package metadata: default pack vs without metadata" "$RUNS"

# The floor of rows 4 and 5 (benches/floor.c): open, two reads and close per file of the
# closure, paths known, nothing searched or parsed; the files are the programs, their
# loader and each library of their closures once, as minroot reads them.
cc -O2 -o "$TMP/floor" benches/floor.c
closure() { # PROGRAM... -> the real path of each file read, once
    "$M" trace --format json "$@" | /usr/bin/python3 -c '
import json, sys
files = set()
for p in json.load(sys.stdin)["programs"]:
    files.add(p["realpath"])
    if p.get("interpreter"):
        files.add(p["interpreter"]["realpath"])
    files.update(o["realpath"] for o in p["objects"] if o.get("realpath"))
print("\n".join(sorted(files)))'
}
closure /usr/bin/ffmpeg > "$TMP/ffmpeg.files"
{ with_old "trace --format list ffmpeg" "@M@ trace --format list /usr/bin/ffmpeg"
  echo "libtree /usr/bin/ffmpeg=libtree /usr/bin/ffmpeg"
  echo "floor: $(wc -l < "$TMP/ffmpeg.files") files opened and read=$TMP/floor $TMP/ffmpeg.files"
  echo "harness: sh -c true (the start every command of the row pays)=true"
} | row "4. trace /usr/bin/ffmpeg ($($M trace --format list /usr/bin/ffmpeg | wc -l) libraries)" "$RUNS"
echo "lddtree /usr/bin/ffmpeg=$LDDTREE /usr/bin/ffmpeg" | row "4b. lddtree (Python), for scale" 1

closure $ELFS > "$TMP/all.files"
{ with_old "trace --format list (all)" "@M@ trace --format list $ELFS; true"
  echo "libtree (all)=libtree $ELFS; true"
  echo "floor: $(wc -l < "$TMP/all.files") files opened and read=$TMP/floor $TMP/all.files"
  echo "harness: sh -c true (the start every command of the row pays)=true"
} | row "5. trace all $NELF ELFs of /usr/bin in one process" "$RUNS"

SYSROOT="${MINROOT_SYSROOTS:-$PWD/target/sysroots}/amd64"
if [ -d "$SYSROOT" ]; then
    with_old "check $SYSROOT" "@M@ check $SYSROOT >/dev/null; true" |
        row "6. check of the amd64 test root ($(find "$SYSROOT" | wc -l) entries, $($M check --json "$SYSROOT" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["stats"]["elf"])') ELFs)" "$RUNS"
fi

ZRUNS=$(( (RUNS + 3) / 4 ))
[ "$ZRUNS" -ge 3 ] || ZRUNS=3
{ with_old "pack -o x.tar.gz" "@M@ pack $NOMETA -o $W/x.tar.gz /usr/bin/ffmpeg"
  echo "GNU tar | gzip -6 > g.tar.gz=$TAR | gzip -6 > $W/g.tar.gz"
  with_old "pack -o x.tar.zst" "@M@ pack $NOMETA -o $W/x.tar.zst /usr/bin/ffmpeg"
} | row "7. compressed layers" "$ZRUNS"
# The rounds rotate, so the old minroot may have written x.tar.gz last: the sizes are of
# outputs written again here, each by its own binary.
"$M" pack --quiet $NOMETA -o "$W/x.tar.gz" /usr/bin/ffmpeg >/dev/null
"$M" pack --quiet $NOMETA -o "$W/x.tar.zst" /usr/bin/ffmpeg >/dev/null
if [ -n "$OLD" ]; then
    "$OLD" pack --quiet $NOMETA -o "$W/o.tar.gz" /usr/bin/ffmpeg >/dev/null
    echo "old minroot gzip $(stat -c %s "$W/o.tar.gz") bytes"
fi
echo "sizes: minroot gzip $(stat -c %s "$W/x.tar.gz"), GNU gzip -6 $(stat -c %s "$W/g.tar.gz") (minroot $(/usr/bin/python3 -c "print(f'{$(stat -c %s "$W/x.tar.gz")/$(stat -c %s "$W/g.tar.gz")*100-100:+.1f}%')")), minroot zstd $(stat -c %s "$W/x.tar.zst") bytes"
echo
echo "### 8. import-heavy CPython start: from the packed image vs in the root"
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
echo "### 9. minroot probe: a run under observation vs the same run"
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
