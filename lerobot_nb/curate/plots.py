"""Small multiples of flagged episodes: state and action over time, the flagged moments shaded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from lerobot_nb.curate.score import Scores

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_flagged"]

#: Colour per flag that has a place in time (the others, e.g. duplicate or no_task, are not drawn).
_COLOURS = {
    "idle_head": "tab:orange",
    "idle_tail": "tab:orange",
    "spike": "tab:red",
    "out_of_range": "tab:purple",
    "gap": "tab:brown",
    "stale": "tab:brown",
    "frozen_camera": "tab:blue",
    "dead_camera": "tab:blue",
}


def plot_flagged(scores: Scores, episodes: Sequence[str] | None = None, *, max_episodes: int = 8) -> Figure:
    """One row per episode (default: the flagged ones, worst first), one panel per motion feature.

    Spans are the flagged stretches (idle head/tail, frozen camera, gaps), dashed lines the flagged
    moments (spikes, range outliers); the legend of each row says which flag a colour is.
    """
    import matplotlib.pyplot as plt

    names = list(episodes) if episodes is not None else scores.flagged[:max_episodes]
    keys = [k for k in ("observation.state", "action") if any(k in scores.episode(n).motion for n in names)]
    rows, cols = max(1, len(names)), max(1, len(keys))
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 1.9 * rows + 0.4), squeeze=False, sharex="row")
    if not names:
        axes[0][0].set_axis_off()
        axes[0][0].text(0.5, 0.5, "no episode flagged", ha="center", va="center")
        return fig
    for r, name in enumerate(names):
        ep = scores.episode(name)
        found = scores.findings.filter(pl.col("episode") == name)
        t = np.arange(ep.length) / ep.fps
        for c, key in enumerate(keys):
            ax = axes[r][c]
            if key in ep.motion:
                values = np.asarray(ep.motion[key], np.float64).reshape(ep.length, -1)
                ax.plot(t, values, linewidth=0.9)
            _mark(ax, found)
            ax.set_title(f"{name}: {key}", fontsize=8, loc="left")
            ax.tick_params(labelsize=7)
        flags = ", ".join(dict.fromkeys(found["flag"].to_list()))
        axes[r][-1].text(1.01, 0.5, flags, transform=axes[r][-1].transAxes, fontsize=7, va="center")
    for ax in axes[-1]:
        ax.set_xlabel("seconds from the episode start", fontsize=7)
    fig.tight_layout()
    return fig


def _mark(ax: Axes, found: pl.DataFrame) -> None:
    for f in found.iter_rows(named=True):
        colour = _COLOURS.get(f["flag"])
        if colour is None or f["at_s"] is None:
            continue
        if f["length_s"] and f["flag"] != "spike":
            ax.axvspan(f["at_s"], f["at_s"] + f["length_s"], color=colour, alpha=0.18, linewidth=0)
        else:
            ax.axvline(f["at_s"], color=colour, linestyle="--", linewidth=1.0)
