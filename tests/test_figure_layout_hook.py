"""The post-cell hook that lays figures out without painting them (report.plots): the PNG a
notebook shows is the same, byte for byte, as after pyplot's own hook, which paints."""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from IPython.core.pylabtools import print_figure  # noqa: E402

from evaluation.analysis.rates import wilson  # noqa: E402
from evaluation.report import plots  # noqa: E402

NOTEBOOK_RC = {k: v for k, v in plots.RC.items() if k != "axes.prop_cycle"}


def _figure():
    """Bars like the durability chapter's: constrained layout lands elsewhere when it runs once
    more, so the PNG shows whether the hook laid the figure out."""
    with plots.style():
        fig, ax = plt.subplots(figsize=(7.0, 2.4), layout="constrained")
        plots.rate_bars(ax, ["Complete cases", "Worst case", "Best case"],
                        [wilson(412, 530), wilson(412, 706), wilson(594, 706)])  # fmt: skip
    return fig


def _png(fig) -> bytes:
    out = print_figure(fig, "png", bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return out


def test_layout_without_painting_gives_the_painted_png():
    plt.close("all")
    with matplotlib.rc_context(NOTEBOOK_RC):
        painted = _figure()
        painted.canvas.draw()  # what pyplot's hook does to a new figure after its cell
        laid_out = _figure()
        was = matplotlib.is_interactive()
        plt.ion()
        try:
            plots.lay_out_stale_figures()  # both figures: only the new one is stale
        finally:
            matplotlib.interactive(was)
        untouched = _figure()
        assert not laid_out.stale and untouched.stale
        expected = _png(painted)
        assert _png(laid_out) == expected
        assert _png(untouched) != expected  # without the hook's layout the PNG differs


def test_setup_swaps_the_hook_in_place(monkeypatch):
    import IPython

    def flush() -> None:  # the inline backend's hook: must still run after ours
        pass

    shell = SimpleNamespace(
        events=SimpleNamespace(callbacks={"post_execute": [plt._draw_all_if_interactive, flush]})
    )
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    plots.setup_notebook()
    plots.setup_notebook()  # a reused kernel sets up again: nothing more changes
    assert shell.events.callbacks["post_execute"] == [plots.lay_out_stale_figures, flush]
