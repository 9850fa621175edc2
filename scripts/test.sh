#!/usr/bin/env bash
# Installs what is missing (Debian packages), builds with ASan and UBSan, and
# runs every test with ctest. This is the command the README gives and the
# one CI runs (.ci/run). Arguments go to ctest (e.g. -R interop).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v cmake >/dev/null || need+=(cmake)
command -v cc >/dev/null || need+=(gcc)
command -v make >/dev/null || need+=(make)
command -v pkg-config >/dev/null || need+=(pkg-config)
dpkg -s libcmocka-dev >/dev/null 2>&1 || need+=(libcmocka-dev)
dpkg -s libuv1-dev >/dev/null 2>&1 || need+=(libuv1-dev)
# the benchmark's lwIP peer (tests/bench)
dpkg -s liblwip-dev >/dev/null 2>&1 || need+=(liblwip-dev)
# for the interop tests: namespaces and ss (iproute2), ping, tshark, python3,
# and valgrind for the interop run under memcheck
command -v ip >/dev/null || need+=(iproute2)
command -v ping >/dev/null || need+=(iputils-ping)
command -v tshark >/dev/null || need+=(tshark)
command -v python3 >/dev/null || need+=(python3)
# the lab's plots (lab/, tuntcp-lab: /usr/bin/python3 with matplotlib)
dpkg -s python3-matplotlib >/dev/null 2>&1 || need+=(python3-matplotlib)
command -v valgrind >/dev/null || need+=(valgrind)
# the formatting check (tests/layout/format.sh)
command -v clang-format >/dev/null || need+=(clang-format)
# libFuzzer for the fuzz smoke (clang and its sanitizer runtimes)
command -v clang >/dev/null || need+=(clang)
dpkg -s libclang-rt-14-dev >/dev/null 2>&1 || need+=(libclang-rt-14-dev)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi

build=${BUILD_DIR:-build-test}
cmake -S . -B "$build" -DTT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
cmake --build "$build" -j"$(nproc)"
# The apps once more without sanitizers, for the interop run under valgrind
# (tests/interop/test_valgrind.py): ASan and valgrind do not mix.
cmake -S . -B "$build-vg" -DTT_TESTS=OFF -DCMAKE_BUILD_TYPE=Debug
cmake --build "$build-vg" -j"$(nproc)" --target echo-server echo-client
export TT_VALGRIND_BUILD_DIR="$PWD/$build-vg"
(cd "$build" && ctest --output-on-failure -j"$(nproc)" "$@")
# The fuzz smokes (tests/fuzz): each target's seed corpus, a bounded run of
# mutations (60 s for the engine, 20 s for each stateless target) and every crash reproducer as a
# regression test. Only for a full run: arguments select ctest tests of the
# main build.
if [ $# -eq 0 ]; then
    cmake -S . -B "$build-fuzz" -DCMAKE_C_COMPILER=clang -DTT_FUZZ=ON
    cmake --build "$build-fuzz" -j"$(nproc)" --target fuzz_engine fuzz_wire fuzz_fault fuzz_ctl
    ctest --test-dir "$build-fuzz" --output-on-failure -L fuzz
fi
