#!/usr/bin/env bash
# The tree follows .clang-format: a check, not a rewrite. To mend what it
# lists: clang-format -i FILE (or every file, as below, before committing).
#   format.sh SOURCE_DIR
set -euo pipefail
cd "$1"
command -v clang-format >/dev/null || { echo "FAIL: clang-format is not installed"; exit 1; }
mapfile -t files < <(find include stack apps tests -name '*.c' -o -name '*.h' | sort)
bad=()
for f in "${files[@]}"; do
    clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
    echo "FAIL: not formatted as .clang-format says ($(clang-format --version)):"
    printf '  %s\n' "${bad[@]}"
    echo "mend with: clang-format -i ${bad[*]}"
    exit 1
fi
echo "ok: ${#files[@]} files formatted as .clang-format says"
