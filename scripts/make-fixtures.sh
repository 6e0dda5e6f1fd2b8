#!/bin/sh
# Builds the loader fixtures under target/fixtures/ (or $MINROOT_FIXTURES) from the C sources
# in testdata/src/, with the real gcc/ld of this machine: every rule they show is real linker
# output, and the real loader of the root is the oracle (tests/oracle.rs). Each fixture is a
# small root: the arch's real ld.so and libc.so.6 copied in, the app tree under /app, a few
# libraries under /opt and /usr/lib/TRIPLET. testdata/README.md explains every program.
#   x86_64, aarch64              : no /etc/ld.so.cache (the loader searches the default dirs)
#   x86_64-cache, aarch64-cache  : the same tree plus an ld.so.cache made by the arch's own
#                                  ldconfig (host ldconfig; the arm64 sysroot's static
#                                  ldconfig under qemu-aarch64-static for aarch64)
#   java                         : testdata/src/*.java compiled by the host's javac
#                                  (--release 17, the JRE of the amd64 sysroot) into
#                                  java/ (tests/runtime_java.rs runs them in packed JREs)
# A root is rebuilt only when its inputs changed (stamp file with their checksum); the new
# tree is built next to the old one and renamed into place.
# Usage: scripts/make-fixtures.sh [x86_64|aarch64|java]...   (default: all three)
# shellcheck disable=SC2016 # '$ORIGIN', '$LIB', '$PLATFORM' are for the loader, not the shell
set -eu
cd "$(dirname "$0")/.."
TOP=$PWD
OUT="${MINROOT_FIXTURES:-$TOP/target/fixtures}"
SYSROOTS="${MINROOT_SYSROOTS:-$TOP/target/sysroots}"
SRC="$TOP/testdata/src"
mkdir -p "$OUT"

# shlib OUT SONAME FN VALUE [GCC ARGS...]: a library exporting FN() (testdata/src/lib.c).
# An empty SONAME builds a library without DT_SONAME.
shlib() {
    out=$1 soname=$2 fn=$3 value=$4
    shift 4
    mkdir -p "$(dirname "$out")"
    "$CC" -shared -fPIC -O2 -o "$out" "$SRC/lib.c" -DFN="$fn" -DVALUE="$value" \
        ${soname:+"-Wl,-soname,$soname"} "$@"
}

# prog OUT CALLS [GCC ARGS...]: a program calling the functions in CALLS (testdata/src/app.c).
prog() {
    out=$1 calls=$2
    shift 2
    mkdir -p "$(dirname "$out")"
    "$CC" -O2 -o "$out" "$SRC/app.c" -DCALLS="$calls" -Wl,--no-as-needed "$@"
}

# tree ROOT: every fixture program and library of one architecture inside ROOT.
tree() {
    R=$1
    A="$R/app"
    mkdir -p "$R/$(dirname "$LOADER")" "$R/lib/$T" "$R/etc" "$R/tmp"
    cp "$TOOLLIB/$(basename "$LOADER")" "$R/$LOADER"
    cp "$TOOLLIB/libc.so.6" "$R/lib/$T/libc.so.6"

    # A symlink chain and an absolute symlink: the loader opens app/lib/libfoo.so.1.
    # (libbar.so.1 is made absolute at the end: ld follows it on the host while linking.)
    shlib "$A/lib/libbar.so.1.0" libbar.so.1 bar_value 40
    ln -s libbar.so.1.0 "$A/lib/libbar.so.1"
    shlib "$A/lib/libfoo.so.1.2.3" libfoo.so.1 foo_value 2 -DDEP=bar_value "$A/lib/libbar.so.1.0"
    ln -s libfoo.so.1.2.3 "$A/lib/libfoo.so.1.2"
    ln -s libfoo.so.1.2 "$A/lib/libfoo.so.1"
    ln -s libfoo.so.1 "$A/lib/libfoo.so"

    # DT_RPATH is inherited by libfoo (finds libbar); DT_RUNPATH is not (libbar not found).
    prog "$A/bin/app-rpath" 'X(foo_value)' "$A/lib/libfoo.so" \
        -Wl,--disable-new-dtags,-rpath,'$ORIGIN/../lib' -Wl,-rpath-link,"$A/lib"
    prog "$A/bin/app-runpath" 'X(foo_value)' "$A/lib/libfoo.so" \
        -Wl,--enable-new-dtags,-rpath,'$ORIGIN/../lib' -Wl,-rpath-link,"$A/lib"

    # ${ORIGIN} (braced) and $LIB in one DT_RUNPATH.
    shlib "$A/brace/libbrace.so.1" libbrace.so.1 brace_value 100
    shlib "$R/opt/lib/$T/liblibdir.so.1" liblibdir.so.1 libdir_value 200
    prog "$A/bin/app-dst" 'X(brace_value) X(libdir_value)' \
        "$A/brace/libbrace.so.1" "$R/opt/lib/$T/liblibdir.so.1" \
        -Wl,--enable-new-dtags,-rpath,'${ORIGIN}/../brace:/opt/$LIB'

    # $PLATFORM: AT_PLATFORM, which glibc replaces by haswell or xeon_phi on such Intel
    # CPUs; a build for each value the loader can take here (the value tells which).
    v=7
    for p in $PLATFORMS; do
        shlib "$R/opt/plat/$p/libplat.so.1" libplat.so.1 plat_value "$v"
        v=$((v + 1))
    done
    prog "$A/bin/app-platform" 'X(plat_value)' "$R/opt/plat/$ARCH/libplat.so.1" \
        -Wl,--enable-new-dtags,-rpath,'/opt/plat/$PLATFORM'

    # -z nodefaultlib (DF_1_NODEFLIB): libnodef's own dependency is not looked up in the cache's default-dir
    # entries nor in the default dirs; libnodefc's is in the cache under /opt/cached.
    shlib "$R/usr/lib/$T/libdefonly.so.1" libdefonly.so.1 defonly_value 1000
    shlib "$R/opt/cached/libcached.so.1" libcached.so.1 cached_value 3000
    shlib "$A/lib/libnodef.so.1" libnodef.so.1 nodef_value 2000 -Wl,-z,nodefaultlib \
        -DDEP=defonly_value "$R/usr/lib/$T/libdefonly.so.1"
    shlib "$A/lib/libnodefc.so.1" libnodefc.so.1 nodefc_value 4000 -Wl,-z,nodefaultlib \
        -DDEP=cached_value "$R/opt/cached/libcached.so.1"
    prog "$A/bin/app-nodeflib" 'X(nodef_value)' "$A/lib/libnodef.so.1" \
        -Wl,--enable-new-dtags,-rpath,'$ORIGIN/../lib' -Wl,-rpath-link,"$R/usr/lib/$T"
    prog "$A/bin/app-nodeflib-preloaded" 'X(defonly_value) X(nodef_value)' \
        "$R/usr/lib/$T/libdefonly.so.1" "$A/lib/libnodef.so.1" \
        -Wl,--enable-new-dtags,-rpath,'$ORIGIN/../lib'
    prog "$A/bin/app-nodeflib-cache" 'X(nodefc_value)' "$A/lib/libnodefc.so.1" \
        -Wl,--enable-new-dtags,-rpath,'$ORIGIN/../lib' -Wl,-rpath-link,"$R/opt/cached"
    # Found only through ld.so.cache (/opt/cached is in ld.so.conf, which the loader never reads).
    printf '/opt/cached\n' > "$R/etc/ld.so.conf"
    prog "$A/bin/app-cache" 'X(cached_value)' "$R/opt/cached/libcached.so.1"

    # Legacy tls/ subdirectory (glibc 2.36 still searches it before the directory itself).
    shlib "$A/lib/liblegacy.so.1" liblegacy.so.1 legacy_value 1
    shlib "$A/lib/tls/liblegacy.so.1" liblegacy.so.1 legacy_value 3
    prog "$A/bin/app-tls" 'X(legacy_value)' "$A/lib/liblegacy.so.1" \
        -Wl,--enable-new-dtags,-rpath,'$ORIGIN/../lib'

    # DT_NEEDED with a '/': relative (library without DT_SONAME, linked by relative path:
    # relative to the process cwd, "/" here) and absolute (a DT_SONAME holding a path).
    shlib "$A/lib/libnprel.so" '' nprel_value 10
    shlib "$R/opt/np/libnpabs.so" /opt/np/libnpabs.so npabs_value 20
    (cd "$R" && prog app/bin/app-needed-path 'X(nprel_value) X(npabs_value)' \
        app/lib/libnprel.so opt/np/libnpabs.so)

    # DT_FILTER (filtee loaded, before the filter) and a DT_AUXILIARY whose filtee is missing.
    shlib "$A/lib/libfiltee.so.1" libfiltee.so.1 filt_value 5
    shlib "$A/lib/libfilter.so.1" libfilter.so.1 filt_value 0 \
        -Wl,--filter=libfiltee.so.1 -Wl,--enable-new-dtags,-rpath,'$ORIGIN'
    shlib "$A/lib/libaux.so.1" libaux.so.1 aux_value 6 -Wl,--auxiliary=libauxmissing.so.1
    prog "$A/bin/app-filter" 'X(filt_value) X(aux_value)' \
        "$A/lib/libfilter.so.1" "$A/lib/libaux.so.1" \
        -Wl,--enable-new-dtags,-rpath,'$ORIGIN/../lib'

    # The main program's $ORIGIN is its realpath's directory, not the symlink's.
    shlib "$R/opt/vendor/lib/liborigin.so.1" liborigin.so.1 origin_value 8
    prog "$R/opt/vendor/bin/app-origin" 'X(origin_value)' "$R/opt/vendor/lib/liborigin.so.1" \
        -Wl,--disable-new-dtags,-rpath,'$ORIGIN/../lib'
    ln -s ../../opt/vendor/bin/app-origin "$A/bin/app-origin-link"

    # glibc-hwcaps: a x86-64-v2 build next to the baseline one, in a search dir and in the
    # cache (ldconfig records the glibc-hwcaps entries of /opt/cached).
    if [ "$ARCH" = x86_64 ]; then
        shlib "$A/lib/libhw.so.1" libhw.so.1 hw_value 1
        shlib "$A/lib/glibc-hwcaps/x86-64-v2/libhw.so.1" libhw.so.1 hw_value 2 -march=x86-64-v2
        prog "$A/bin/app-hwcaps" 'X(hw_value)' "$A/lib/libhw.so.1" \
            -Wl,--enable-new-dtags,-rpath,'$ORIGIN/../lib'
        shlib "$R/opt/cached/libhwc.so.1" libhwc.so.1 hwc_value 1
        shlib "$R/opt/cached/glibc-hwcaps/x86-64-v2/libhwc.so.1" libhwc.so.1 hwc_value 2 \
            -march=x86-64-v2
        prog "$A/bin/app-hwcaps-cache" 'X(hwc_value)' "$R/opt/cached/libhwc.so.1"
    fi

    # iconv_open and pthread_cancel, for the glibc hints (gconv modules, libgcc_s.so.1).
    mkdir -p "$A/bin"
    "$CC" -O2 -pthread -o "$A/bin/app-hints" "$SRC/hints.c"

    # An absolute symlink target is inside the root (bwrap binds the root at /).
    ln -sfn /app/lib/libbar.so.1.0 "$A/lib/libbar.so.1"
}

# build ARCH: both roots of one architecture, when their inputs changed.
build() {
    ARCH=$1
    case $ARCH in
        x86_64)
            CC=gcc T=x86_64-linux-gnu PLATFORMS="x86_64 haswell xeon_phi"
            LOADER=lib64/ld-linux-x86-64.so.2
            TOOLLIB=/lib/x86_64-linux-gnu
            LDCONFIG=/sbin/ldconfig
            ;;
        aarch64)
            CC=aarch64-linux-gnu-gcc T=aarch64-linux-gnu PLATFORMS=aarch64
            LOADER=lib/ld-linux-aarch64.so.1 TOOLLIB=/usr/aarch64-linux-gnu/lib
            # The arm64 sysroot's ldconfig is static: qemu-user runs it directly.
            LDCONFIG="qemu-aarch64-static $SYSROOTS/arm64/sbin/ldconfig"
            if [ ! -f "$SYSROOTS/arm64/sbin/ldconfig" ]; then
                echo "fixtures aarch64: no $SYSROOTS/arm64/sbin/ldconfig; run scripts/make-sysroot.sh arm64 first" >&2
                exit 2
            fi
            ;;
        *) echo "unknown fixture arch $ARCH (x86_64, aarch64)" >&2; exit 2 ;;
    esac
    key=$({ cat "$TOP/scripts/make-fixtures.sh" "$SRC"/*.c "$TOOLLIB/libc.so.6" \
        "$TOOLLIB/$(basename "$LOADER")"; "$CC" --version; } | cksum)
    stamp="$OUT/$ARCH.stamp"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ] && [ -d "$OUT/$ARCH" ] &&
        [ -d "$OUT/$ARCH-cache" ]; then
        echo "fixtures $ARCH: up to date ($OUT/$ARCH)" >&2
        return 0
    fi
    echo "fixtures $ARCH: building with $CC" >&2
    rm -f "$stamp"
    tmp="$OUT/.$ARCH.tmp"
    rm -rf "$tmp" "$tmp-cache"
    tree "$tmp"
    cp -a "$tmp" "$tmp-cache"
    # -X: do not touch the symlinks; -r: the cache is for the root, from its ld.so.conf.
    # shellcheck disable=SC2086 # LDCONFIG is a command with arguments
    $LDCONFIG -X -r "$tmp-cache"
    rm -rf "${OUT:?}/$ARCH" "${OUT:?}/$ARCH-cache"
    mv "$tmp" "$OUT/$ARCH"
    mv "$tmp-cache" "$OUT/$ARCH-cache"
    echo "$key" > "$stamp"
}

# build_java: the classes of testdata/src/*.java, when the sources or javac changed.
build_java() {
    if ! command -v javac >/dev/null 2>&1; then
        echo "fixtures java: no javac; scripts/deps.sh installs openjdk-17-jdk-headless" >&2
        exit 2
    fi
    key=$({ cat "$TOP/scripts/make-fixtures.sh" "$SRC"/*.java; javac -version 2>&1; } | cksum)
    stamp="$OUT/java.stamp"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ] && [ -d "$OUT/java" ]; then
        echo "fixtures java: up to date ($OUT/java)" >&2
        return 0
    fi
    echo "fixtures java: building with $(javac -version 2>&1)" >&2
    rm -f "$stamp"
    tmp="$OUT/.java.tmp"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    javac --release 17 -d "$tmp" "$SRC"/*.java
    rm -rf "${OUT:?}/java"
    mv "$tmp" "$OUT/java"
    echo "$key" > "$stamp"
}

[ $# -gt 0 ] || set -- x86_64 aarch64 java
for a in "$@"; do
    case $a in
        java) build_java ;;
        *) build "$a" ;;
    esac
done
