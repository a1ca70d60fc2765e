"""One visual style for every figure: print-ready, legible in greyscale, deterministic output."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from evaluation.analysis.rates import Rate

# Greys and hatches carry the meaning; colour is never the only cue.
GREYS = ("#1a1a1a", "#595959", "#8c8c8c", "#bfbfbf", "#d9d9d9")
HATCHES = ("", "//", "..", "xx", "\\\\")
LINESTYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1)))

RC = {
    "figure.figsize": (7.0, 3.6),
    "figure.dpi": 110,
    "savefig.dpi": 200,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e0e0e0",
    "grid.linewidth": 0.6,
    "axes.prop_cycle": None,  # filled in style()
    "legend.frameon": False,
    "svg.hashsalt": "evaluation",  # stable SVG ids
    "svg.fonttype": "none",
    "pdf.fonttype": 42,
    "font.family": "DejaVu Sans",
}


@contextmanager
def style() -> Iterator[None]:
    """Apply the house style for the figures made inside the block."""
    import matplotlib as mpl
    from cycler import cycler

    rc = dict(RC)
    rc["axes.prop_cycle"] = cycler(color=GREYS[:4]) + cycler(linestyle=list(LINESTYLES[:4]))
    with mpl.rc_context(rc):
        yield


# said instead of a figure whose every bar would be withheld
ALL_WITHHELD = (
    "_No figure: every group is below the disclosure threshold, so all its bars would be withheld._"
)


def no_figure(reason: str) -> str:
    """The sentence said instead of a figure when there is nothing to draw (e.g. nothing to
    evaluate): no figure, so nothing is numbered (`chapters.demote_non_exhibits`) and both
    renderers number the figures that remain alike."""
    return f"_No figure. {reason.strip()}_"


def count_label(n: int, threshold: int = 5) -> str:
    """A count as printed in a figure: 1 to threshold-1 become '<threshold' (disclosure)."""
    return f"<{threshold}" if 0 < n < threshold else str(n)


def setup_notebook() -> None:
    """Make inline notebook figures deterministic (no timestamps) and print-sized."""
    import matplotlib as mpl

    mpl.rcParams.update({k: v for k, v in RC.items() if k != "axes.prop_cycle"})
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png", metadata={"Software": None})
    except Exception:  # noqa: BLE001 - outside IPython there is nothing to configure
        pass
    _lay_out_only_after_cells()


def _lay_out_only_after_cells() -> None:
    """In a kernel, pyplot paints every new figure after its cell, and the inline backend then
    paints it again for the PNG it shows: replace the first painting by the layout it also does
    (the PNG depends on that layout, not on the pixels thrown away). About a third of a
    figure's cost."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    import matplotlib.pyplot as plt  # registers pyplot's hook (first import in a kernel)

    hooks = shell.events.callbacks.get("post_execute", [])
    paint = getattr(plt, "_draw_all_if_interactive", None)
    if paint in hooks:  # in place: it must still run before the inline backend shows figures
        hooks[hooks.index(paint)] = lay_out_stale_figures


def lay_out_stale_figures() -> None:
    """pyplot's post-cell hook (draw every changed figure when interactive) without painting:
    the layout engine and every artist's positions run as in a drawing; no pixel is drawn."""
    import matplotlib
    from matplotlib._pylab_helpers import Gcf

    if not matplotlib.is_interactive():
        return
    for manager in Gcf.get_all_fig_managers():
        if manager.canvas.figure.stale:
            manager.canvas.figure.draw_without_rendering()


def rate_bars(
    ax: Axes,
    labels: Sequence[str],
    rates: Sequence[Rate],
    xlabel: str = "Share (%)",
    threshold: int = 5,
    decided: Sequence[tuple[bool, bool, bool]] | None = None,
) -> Axes:
    """Horizontal bars of rates with 95 % interval whiskers, each labelled with value and n/N.

    A rate that would disclose a count below the threshold is not drawn, only named as withheld.
    decided: in a pipeline run, what the joint disclosure decision shows of each rate (the
    share with its interval, n, N); a withheld share is not drawn, a withheld count is 'x'.
    """
    from evaluation.publish.disclosure import is_withheld

    ys = list(range(len(rates)))[::-1]
    own = [not is_withheld(r.n, r.N, threshold) for r in rates]
    if decided is None:
        decided = [(True, True, True)] * len(rates)
    shown = [ok and d[0] for ok, d in zip(own, decided, strict=True)]
    for y, r, ok, d, fine in zip(ys, rates, shown, decided, own, strict=True):
        if not ok:
            why = f"fewer than {threshold}" if not fine else "disclosure control"
            ax.text(1, y, f"withheld ({why})", va="center", fontsize=9)
            continue
        est = 100 * r.estimate
        ax.barh([y], [est], color=GREYS[3], edgecolor=GREYS[0], linewidth=0.8, height=0.6)
        ax.errorbar(
            [est],
            [y],
            xerr=[[est - 100 * r.ci_low], [100 * r.ci_high - est]],
            fmt="none",
            ecolor=GREYS[0],
            elinewidth=1.2,
            capsize=4,
        )
        n, big = (r.n if d[1] else "x"), (r.N if d[2] else "x")
        ax.text(100 * r.ci_high + 1.5, y, f"{r.pct()}  ({n}/{big})", va="center", fontsize=9)
    ax.set_yticks(ys, labels)
    # the same room around each row whether or not any bar is drawn: with every rate withheld,
    # matplotlib would put the first and last labels on the edges of the panel
    ax.set_ylim(-0.6, len(rates) - 0.4)
    highs = [100 * r.ci_high for r, ok in zip(rates, shown, strict=True) if ok] or [50]
    ax.set_xlim(0, min(100, max(highs) + 25))
    ax.set_xlabel(xlabel)
    ax.grid(axis="y", visible=False)
    return ax
