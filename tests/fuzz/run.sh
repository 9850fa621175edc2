#!/usr/bin/env bash
# The long fuzz run (the ctest smoke tests are the short ones).
#
#   tests/fuzz/run.sh [SECONDS] [JOBS]        default: 1800 s, 1 job
#   TARGET=fuzz_wire tests/fuzz/run.sh ...    the wire target instead
#   TARGET=fuzz_fault tests/fuzz/run.sh ...   the --fault classifier and parser
#
# Configures build-fuzz/ with clang and -DTT_FUZZ=ON, builds the target
# (fuzz_engine unless TARGET says otherwise), and runs it for SECONDS
# (-max_total_time) with JOBS parallel workers (-jobs and -workers; the
# machine's cores are shared, so keep it at 1 or 2). The working corpus lives
# in build-fuzz/corpus (fuzz_wire: corpus-wire, fuzz_fault: corpus-fault), seeded
# from tests/fuzz/corpus (corpus_wire, corpus_fault), which is never written to; crashes, leaks
# and timeouts land in build-fuzz/artifacts/. To keep a finding of fuzz_engine:
#
#   build-fuzz/tests/fuzz/fuzz_engine -minimize_crash=1 -max_total_time=60 \
#       -exact_artifact_path=tests/fuzz/crashes/NAME.bin build-fuzz/artifacts/crash-...
#   TT_FUZZ_TRACE=1 build-fuzz/tests/fuzz/fuzz_engine tests/fuzz/crashes/NAME.bin
#
# and describe it in tests/fuzz/crashes/README.md. Extra arguments after JOBS
# go to libFuzzer (e.g. -dict=..., -seed=N).
set -euo pipefail
cd "$(dirname "$0")/../.."

secs=${1:-1800}
jobs=${2:-1}
shift $(( $# > 2 ? 2 : $# ))
build=${BUILD_DIR:-build-fuzz}
target=${TARGET:-fuzz_engine}
case "$target" in
# fuzz_engine: -len_control=0 lets programs grow to -max_len at once. libFuzzer
# would otherwise start from the longest seed (about 100 bytes) and grow
# slowly, and deep states (several connections, long transfers) need longer
# programs. fuzz_wire, fuzz_fault: one datagram, up to a 9000-byte MTU's.
fuzz_engine) seeds="$PWD/tests/fuzz/corpus" corpus=corpus len=(-max_len=2048 -len_control=0) ;;
fuzz_wire) seeds="$PWD/tests/fuzz/corpus_wire" corpus=corpus-wire len=(-max_len=9001) ;;
fuzz_fault) seeds="$PWD/tests/fuzz/corpus_fault" corpus=corpus-fault len=(-max_len=9100) ;;
fuzz_ctl) seeds="$PWD/tests/fuzz/corpus_ctl" corpus=corpus-ctl len=(-max_len=4200) ;;
*) echo "run.sh: TARGET must be fuzz_engine, fuzz_wire, fuzz_fault or fuzz_ctl, not '$target'" >&2
   exit 2 ;;
esac

cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DTT_FUZZ=ON >/dev/null
cmake --build "$build" --target "$target" -j"$jobs"

cd "$build" # -jobs writes its fuzz-N.log files here
mkdir -p "$corpus" artifacts
args=(-max_total_time="$secs" "${len[@]}" -timeout=10 -rss_limit_mb=2048
      -print_final_stats=1 -artifact_prefix=artifacts/)
if [ "$jobs" -gt 1 ]; then
    args+=(-jobs="$jobs" -workers="$jobs")
fi
echo "fuzzing $target for ${secs}s with $jobs job(s); findings in $build/artifacts/"
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
exec "tests/fuzz/$target" "${args[@]}" "$@" "$corpus" "$seeds"
