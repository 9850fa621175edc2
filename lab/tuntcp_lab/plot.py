"""Plots with matplotlib when it is installed (python3-matplotlib); without
it every plot is skipped with a note and the verdicts stand. matplotlib is
imported only when a plot is drawn (inside an experiment), so `list` and the
runner stay quick."""
import importlib.util


def available():
    return importlib.util.find_spec("matplotlib") is not None


def figure(ctx, fname, draw, size=(6.4, 4.2)):
    """Calls draw(fig, ax) and saves ctx.path(fname); returns the path, or
    None (with a note in README.txt) when matplotlib is missing."""
    if not available():
        ctx.look(f"(No {fname}: matplotlib is not installed; "
                 "apt-get install python3-matplotlib.)")
        return None
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=size)
    draw(fig, ax)
    fig.tight_layout()
    path = ctx.path(fname)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
