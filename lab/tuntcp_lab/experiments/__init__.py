"""The experiments: one module each, found by listing this package.

A module defines NAME (the name on the command line), CLAIM (the claim as
commonly stated, one line), EXPECTED ("confirmed" or "refuted"), ORDER (an
int for `tuntcp-lab list`), TIME_LIMIT (seconds, {"quick": .., "full": ..})
and run(ctx), which returns ctx.verdict(holds, summary). See lab/README.md.
"""
import importlib
import pkgutil


def load_all():
    mods = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        mods.append(importlib.import_module(f"{__name__}.{info.name}"))
    return sorted(mods, key=lambda m: (getattr(m, "ORDER", 1000), m.NAME))


def by_name():
    return {m.NAME: m for m in load_all()}
