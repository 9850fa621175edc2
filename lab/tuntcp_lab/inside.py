"""One experiment, run inside its own network namespace (the runner starts
`unshare -n python3 -m tuntcp_lab.inside NAME DIR [--quick]`). Writes
DIR/verdict.json and DIR/README.txt whatever happens, and stops everything
the experiment started."""
import sys
import traceback

from . import context, experiments, netns


def main(argv):
    name, out_dir = argv[0], argv[1]
    quick = "--quick" in argv[2:]
    exp = experiments.by_name()[name]
    netns.setup()
    ctx = context.Context(exp, out_dir, quick)
    result, error = None, None
    try:
        result = exp.run(ctx)
    except Exception as e:  # reported as an error verdict, not a crash
        error = f"{type(e).__name__}: {e}"
        traceback.print_exc()
    finally:
        ctx.cleanup()
    context.write_results(ctx, result, error)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
