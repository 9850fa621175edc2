#!/usr/bin/env bash
# The install test: `cmake --install BUILD --prefix P` into a fresh
# directory, then consumer.c is built against P twice, as a user would:
# with pkg-config (shared libraries) and with find_package(tuntcp) (shared
# and static), and each program must run and print "ok". Also checked: the
# files are where the README says, the libraries carry a versioned SONAME,
# and the engine's shared library needs no libuv (the engine is pure).
#   run.sh BUILD_DIR [CFLAGS]   CFLAGS: e.g. the sanitizer flags BUILD_DIR used
set -euo pipefail
build=$1
cflags=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >"$work/install.log" || {
    cat "$work/install.log" >&2; fail "cmake --install"; }
pc=$(find "$prefix" -name tuntcp.pc -print -quit)
[ -n "$pc" ] || fail "no tuntcp.pc under $prefix"
libdir=$(cd "$(dirname "$pc")/.." && pwd)
[ -f "$libdir/pkgconfig/tuntcp.pc" ] || fail "no tuntcp.pc under $prefix"
for f in include/tuntcp/tuntcp.h include/tuntcp/driver.h bin/echo-server bin/echo-client; do
    [ -e "$prefix/$f" ] || fail "$f not installed"
done
for lib in tuntcp_engine tuntcp_driver; do
    [ -f "$libdir/lib$lib.a" ] || fail "lib$lib.a not installed"
    soname=$(readelf -d "$libdir/lib$lib.so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
    [ "$soname" = "lib$lib.so.0" ] || fail "lib$lib.so has SONAME '$soname', want lib$lib.so.0"
    [ -e "$libdir/$soname" ] || fail "$soname not installed"
done
if readelf -d "$libdir/libtuntcp_engine.so" | grep -q 'NEEDED.*libuv'; then
    fail "libtuntcp_engine.so needs libuv: the engine must stay pure"
fi
"$prefix/bin/echo-server" --version >/dev/null || fail "installed echo-server --version"

export LD_LIBRARY_PATH=$libdir
export PKG_CONFIG_PATH=$libdir/pkgconfig
# shellcheck disable=SC2046,SC2086 # pkg-config's words are separate flags
cc -std=c11 -Wall -Werror $cflags -o "$work/consumer_pc" "$here/consumer.c" \
    $(pkg-config --cflags --libs tuntcp) || fail "build with pkg-config"
out=$("$work/consumer_pc") || { echo "$out" >&2; fail "consumer (pkg-config) did not succeed"; }
echo "$out" | tail -n 1
echo "$out" | tail -n 1 | grep -q ': ok$' || fail "consumer (pkg-config): $out"

cmake -S "$here" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="$cflags" \
    >"$work/configure.log" || { cat "$work/configure.log" >&2; fail "find_package(tuntcp)"; }
cmake --build "$work/cmake" >"$work/build.log" || { cat "$work/build.log" >&2; fail "build with find_package"; }
for p in consumer_shared consumer_static; do
    out=$("$work/cmake/$p") || { echo "$out" >&2; fail "$p did not succeed"; }
    echo "$out" | tail -n 1 | grep -q ': ok$' || fail "$p: $out"
done
echo "install test: pkg-config and find_package(tuntcp) programs ran: ok"
