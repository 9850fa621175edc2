#!/usr/bin/env python3
"""The engine stays pure and the layers point one way (docs/architecture.md §4).

Checked from the compiled objects and the sources:
  1. the engine library needs nothing but a few C library functions
     (allocation, mem*, strerror, assert): no libuv, no system call, no clock,
     no stdio;
  2. the engine's sources include only standard headers of that kind, their
     own folder's headers and tuntcp/tuntcp.h: nothing of the driver's;
  3. the driver uses of the engine's private headers only the wire formats;
  4. the engine keeps no mutable global or static state: no symbol of its
     own in .data or .bss (tables are const, in .rodata or .data.rel.ro);
  5. no call cycle between the engine's objects spans more than 3 of them:
     wire formats, then services, then the TCB and output, then the
     per-state modules, then the entry points, each calling only down
     (a timer and the output that re-arms it may call each other).

usage: layering.py ENGINE_LIB SOURCE_DIR
"""
import os
import re
import subprocess
import sys

LIBC = {"calloc", "free", "malloc", "realloc", "memcpy", "memmove", "memset", "memcmp",
        "strerror", "__assert_fail", "_GLOBAL_OFFSET_TABLE_"}
COMPILER = ("__asan_", "__ubsan_", "__sanitizer_", "__sancov_", "__odr_asan", "__stack_chk_")
STD_HEADERS = {"assert.h", "errno.h", "limits.h", "stdbool.h", "stddef.h", "stdint.h",
               "stdlib.h", "string.h", "sys/types.h",
               # the compiler's, under AddressSanitizer only (spare.c poisons spare blocks)
               "sanitizer/asan_interface.h"}
MAX_CYCLE = 3
WIRE_HEADERS = {"tcp_wire.h", "ipv4.h", "checksum.h", "bytes.h", "seq.h"}


def nm(args, lib):
    out = subprocess.run(["nm"] + args + [lib], capture_output=True, text=True, check=True)
    return out.stdout


def objects(lib):
    """{object name: (defined globals, undefined symbols)}"""
    objs, cur = {}, None
    for line in nm([], lib).splitlines():
        if line.endswith(".o:"):
            cur = os.path.basename(line[:-1]).split(".")[0]
            objs[cur] = (set(), set())
        elif cur and line.strip():
            parts = line.split()
            if len(parts) == 2 and parts[0] == "U":
                objs[cur][1].add(parts[1])
            elif len(parts) == 3 and parts[1] in "TDBRCVW":
                objs[cur][0].add(parts[2])
    return objs


def mutable_state(lib):
    """Symbols of the engine's own in writable sections: global state."""
    out = subprocess.run(["objdump", "-t", lib], capture_output=True, text=True, check=True)
    found = []
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[-3] in (".data", ".bss") and parts[-2] != "00000000" \
                and not parts[-1].startswith((".",) + COMPILER + ("___asan",)):
            found.append(parts[-1])
    return sorted(set(found))


def includes(path):
    with open(path) as f:
        return re.findall(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', f.read(), re.M)


def largest_cycle(objs):
    owner = {s: o for o, (d, _) in objs.items() for s in d}
    graph = {o: {owner[s] for s in u if s in owner and owner[s] != o} for o, (_, u) in objs.items()}
    index, low, stack, on, sccs = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                on.discard(w)
                scc.append(w)
                if w == v:
                    break
            sccs.append(sorted(scc))

    for v in graph:
        if v not in index:
            visit(v)
    return max(sccs, key=len)


def main():
    lib, src = sys.argv[1], sys.argv[2]
    bad = []
    objs = objects(lib)
    defined = set().union(*(d for d, _ in objs.values()))
    needed = set().union(*(u for _, u in objs.values())) - defined
    foreign = sorted(s for s in needed if s not in LIBC and not s.startswith(COMPILER))
    if foreign:
        bad.append(f"the engine needs {', '.join(foreign)}: only {sorted(LIBC)} are allowed")
    engine_dir = os.path.join(src, "stack", "engine")
    own = set(os.listdir(engine_dir))
    for name in sorted(os.listdir(engine_dir)):
        if not name.endswith((".c", ".h")):
            continue
        for kind, h in includes(os.path.join(engine_dir, name)):
            if kind == "<" and h not in STD_HEADERS:
                bad.append(f"stack/engine/{name} includes <{h}>")
            if kind == '"' and h not in own and h != "tuntcp/tuntcp.h":
                bad.append(f'stack/engine/{name} includes "{h}", not the engine\'s own')
    driver_dir = os.path.join(src, "stack", "driver")
    for name in sorted(os.listdir(driver_dir)):
        if name.endswith((".c", ".h")):
            for kind, h in includes(os.path.join(driver_dir, name)):
                if kind == '"' and h in own and h not in WIRE_HEADERS:
                    bad.append(f'stack/driver/{name} includes the engine\'s private "{h}"')
    for sym in mutable_state(lib):
        bad.append(f"the engine keeps mutable state: {sym} (.data/.bss)")
    cycle = largest_cycle(objs)
    if len(cycle) > MAX_CYCLE:
        bad.append(f"a call cycle spans {len(cycle)} objects: {' '.join(cycle)} "
                   f"(at most {MAX_CYCLE}; docs/architecture.md §2)")
    print(f"engine: {len(objs)} objects, needs only {sorted(needed & LIBC)} of the C library")
    print(f"largest call cycle: {len(cycle)} objects ({' '.join(cycle)}); at most {MAX_CYCLE}")
    for b in bad:
        print("FAIL", b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
