"""Figures the notebooks draw that no step module owns: raw vs aligned trajectories, figure display."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "as_matrix",
    "plot_aligned_vs_raw",
    "plot_detection_rate",
    "plot_hand_keypoints",
    "plot_validation",
    "show_figure",
]


def as_matrix(values: Any) -> np.ndarray:
    """A numeric stream's values (pyarrow list array, or a sequence of vectors) as an (N, D) float64 array."""
    rows = values.to_pylist() if hasattr(values, "to_pylist") else list(values)
    if not rows:
        return np.zeros((0, 0), dtype=np.float64)
    return np.stack([np.atleast_1d(np.asarray(r, dtype=np.float64)) for r in rows])


def show_figure(fig: Figure) -> None:
    """Display `fig` once in the cell output and close it (so inline backends do not show it twice)."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    display(fig)
    plt.close(fig)


def plot_aligned_vs_raw(
    raw_times: np.ndarray,
    raw_values: np.ndarray,
    ticks: np.ndarray,
    aligned: np.ndarray,
    *,
    title: str = "",
    names: Sequence[str] | None = None,
    max_dims: int = 3,
    seconds_per_unit: float = 1e-9,
) -> Figure:
    """One panel per dimension (up to `max_dims`): raw samples as dots+line, aligned ticks as steps.

    `raw_times` and `ticks` are in the timeline's unit (ns for timestamp timelines, hence the
    default `seconds_per_unit`); the x axis is seconds from the first tick. `raw_values` is (N, D),
    `aligned` is (T, D) with T == len(ticks).
    """
    import matplotlib.pyplot as plt

    raw_values = np.asarray(raw_values, dtype=np.float64).reshape(len(raw_times), -1)
    aligned = np.asarray(aligned, dtype=np.float64).reshape(len(ticks), -1)
    if raw_values.shape[1] != aligned.shape[1]:
        raise ValueError(f"raw has {raw_values.shape[1]} dims, aligned has {aligned.shape[1]}")
    t0 = int(ticks[0]) if len(ticks) else 0
    rx = (np.asarray(raw_times, dtype=np.int64) - t0) * seconds_per_unit
    ax_t = (np.asarray(ticks, dtype=np.int64) - t0) * seconds_per_unit
    dims = min(max_dims, aligned.shape[1])
    fig, axes = plt.subplots(dims, 1, figsize=(9, 1.9 * dims + 0.6), sharex=True, squeeze=False)
    for d in range(dims):
        ax = axes[d, 0]
        ax.plot(rx, raw_values[:, d], ".-", color="0.6", lw=0.8, ms=3, label="raw samples")
        ax.step(ax_t, aligned[:, d], where="post", color="C0", lw=1.2)
        ax.plot(ax_t, aligned[:, d], "o", color="C0", ms=3.5, label="aligned ticks")
        ax.set_ylabel(names[d] if names and d < len(names) else f"dim {d}", fontsize=8)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("seconds from the first tick")
    if ax_t.size:
        axes[-1, 0].set_xlim(min(rx.min(initial=0.0), 0.0), max(ax_t.max(), rx.max(initial=0.0)))
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_detection_rate(rates: Mapping[str, float]) -> Figure:
    """Bar chart of the share of frames with at least one detected hand, per episode (0..1)."""
    import matplotlib.pyplot as plt

    names = list(rates)
    fig, ax = plt.subplots(figsize=(max(5.0, 0.6 * len(names) + 2), 3.0))
    bars = ax.bar(range(len(names)), [100.0 * rates[n] for n in names], color="C2")
    ax.bar_label(bars, fmt="%.0f%%", fontsize=8)
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 105)
    ax.set_ylabel("frames with a hand (%)")
    ax.set_title("hand detection rate")
    fig.tight_layout()
    return fig


#: Joints `plot_hand_keypoints` draws: (label, index in the 21-joint OpenPose order).
_PLOTTED_JOINTS = (("wrist", 0), ("index tip", 8))


def plot_hand_keypoints(episode: Any, *, prefix: str = "observation.hands") -> Figure:
    """Pixel u/v of the wrist and index fingertip per hand over the frames; gaps where no hand was found.

    Reads `<prefix>.<side>.kp2d` (T, 42: u, v per joint) and `<prefix>.<side>.present` (T, 1).
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 1, figsize=(9, 4.2), sharex=True)
    for ax, axis_name, offset in ((axes[0], "u (px)", 0), (axes[1], "v (px)", 1)):
        for side, style in (("left", "-"), ("right", "--")):
            kp = episode.numeric.get(f"{prefix}.{side}.kp2d")
            if kp is None:
                continue
            kp = np.asarray(kp, dtype=np.float64)
            present = np.asarray(episode.numeric.get(f"{prefix}.{side}.present", np.ones((len(kp), 1))))
            mask = present.reshape(len(kp), -1)[:, 0] > 0
            for (label, joint), color in zip(_PLOTTED_JOINTS, ("C0", "C1"), strict=True):
                series = np.where(mask, kp[:, 2 * joint + offset], np.nan)
                ax.plot(series, style, color=color, lw=1.2, label=f"{side} {label}")
        ax.set_ylabel(axis_name)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, ncol=4, loc="upper right")
    axes[1].set_xlabel("frame")
    fig.suptitle(f"{episode.episode_id}: hand keypoints over frames")
    fig.tight_layout()
    return fig


#: Colours of the check statuses in `plot_validation`.
STATUS_COLOURS = {"pass": "#55a868", "warn": "#dd8452", "fail": "#c44e52", "skip": "#b0b0b0"}


def plot_validation(checks: Any) -> Figure:
    """One coloured bar per check (pass/warn/fail/skip), grouped by family, with its finding count.

    `checks` is `ValidationReport.checks` (columns check, family, status, findings).
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    rows = checks.to_dicts()
    fig, ax = plt.subplots(figsize=(8, 0.26 * len(rows) + 1.2))
    y = np.arange(len(rows))[::-1]
    ax.barh(y, [1] * len(rows), color=[STATUS_COLOURS.get(r["status"], "0.5") for r in rows], height=0.8)
    for yi, r in zip(y, rows, strict=True):
        ax.text(0.02, yi, f"{r['check']}", va="center", fontsize=8, color="white", fontweight="bold")
        ax.text(
            0.98, yi, f"{r['status']} ({r['findings']})", va="center", ha="right", fontsize=8, color="white"
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_yticks([])
    ax.set_xticks([])
    counts = {s: sum(r["status"] == s for r in rows) for s in STATUS_COLOURS}
    ax.legend(
        handles=[Patch(color=c, label=f"{s} {counts[s]}") for s, c in STATUS_COLOURS.items()],
        ncol=4,
        fontsize=8,
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        frameon=False,
    )
    fig.tight_layout()
    return fig
