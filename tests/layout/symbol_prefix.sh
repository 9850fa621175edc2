#!/usr/bin/env bash
# Every global symbol the libraries define starts with tt_, internal ones
# included: a program that links tuntcp next to lwIP or libpcap (which have
# their own tcp_input, pcap_close, ...) must get neither a clash nor, worse,
# the wrong function. Compiler-made symbols (__asan_*, __odr_asan.*, ...)
# start with "__" and are not ours.
#   symbol_prefix.sh LIBRARY...   (static archives or shared objects)
set -euo pipefail
bad=0
for lib in "$@"; do
    case "$lib" in
    *.so*) syms=$(nm -D --defined-only "$lib") ;;
    *) syms=$(nm -g --defined-only "$lib") ;;
    esac
    offenders=$(echo "$syms" | awk 'NF == 3 { print $3 }' | grep -v '^tt_' | grep -v '^__' |
                grep -v -x -e _init -e _fini -e _edata -e _end -e __bss_start || true)
    n=$(echo "$syms" | awk 'NF == 3' | wc -l)
    if [ -n "$offenders" ]; then
        echo "FAIL $(basename "$lib"): global symbols without the tt_ prefix:"
        echo "$offenders" | sed 's/^/  /'
        bad=1
    else
        echo "ok   $(basename "$lib"): $n global symbols, all tt_"
    fi
done
exit $bad
