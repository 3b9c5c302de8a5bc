"""Matplotlib views of an alignment: stream coverage over time and staleness distributions.

Figures are built with `matplotlib.figure.Figure` (no pyplot state), so they work under Agg,
in notebooks (displayed as the cell's value) and in tests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from lerobot_nb.episode import AlignedEpisode

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_coverage", "plot_staleness"]


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def plot_coverage(episode_or_report: AlignedEpisode | pl.DataFrame) -> Figure:
    """Where each stream has samples and which grid ticks were kept, flagged or dropped.

    Given an `AlignedEpisode`: one row per stream over time (seconds from the grid start):
    source samples as thin lines, kept ticks as dots (orange when flagged stale), dropped ticks
    as red crosses. Given a report (one or many episodes): the share of grid ticks kept per
    episode and stream.
    """
    if isinstance(episode_or_report, AlignedEpisode):
        return _coverage_timeline(episode_or_report)
    return _coverage_bars(episode_or_report)


def _coverage_timeline(ep: AlignedEpisode) -> Figure:
    keys = list(ep.timing)
    fig = _figure(10, 0.7 + 0.55 * max(1, len(keys)))
    ax = fig.add_subplot()
    for row, key in enumerate(keys):
        t = ep.timing[key]
        y = len(keys) - 1 - row
        ax.vlines(t.sample_s, y - 0.35, y - 0.05, color="0.55", linewidth=0.6)
        ok = ~t.flagged
        ax.plot(t.tick_s[ok], np.full(int(ok.sum()), y + 0.15), "o", ms=2.5, color="tab:green")
        if t.flagged.any():
            ax.plot(t.tick_s[~ok], np.full(int((~ok).sum()), y + 0.15), "o", ms=3, color="tab:orange")
        if len(t.dropped_s):
            ax.plot(t.dropped_s, np.full(len(t.dropped_s), y + 0.15), "x", ms=4, color="tab:red")
    ax.set_yticks(range(len(keys)), list(reversed(keys)))
    ax.set_xlabel("seconds from the grid start")
    ax.set_title(
        f"{ep.episode_id}: {ep.length} ticks at {ep.fps} fps on {ep.index} "
        "(grey: samples, green: kept, orange: flagged, red: dropped)",
        fontsize=9,
    )
    return fig


def _coverage_bars(report: pl.DataFrame) -> Figure:
    df = report.with_columns((pl.col("kept") / pl.col("grid_ticks")).alias("share"))
    episodes = df["episode"].unique(maintain_order=True).to_list()
    streams = df["stream"].unique(maintain_order=True).to_list()
    fig = _figure(max(6, 1.2 * len(episodes) + 3), 3.5)
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(streams))
    x = np.arange(len(episodes))
    for i, stream in enumerate(streams):
        sub = {r["episode"]: r["share"] for r in df.filter(stream=stream).iter_rows(named=True)}
        ax.bar(x + i * width, [100 * (sub.get(e) or 0.0) for e in episodes], width, label=stream)
    ax.set_xticks(x + width * (len(streams) - 1) / 2, episodes, rotation=30, ha="right")
    ax.set_ylabel("grid ticks kept (%)")
    ax.set_ylim(0, 105)
    ax.legend(fontsize=8, ncols=min(4, len(streams)))
    ax.set_title("coverage per episode and stream")
    return fig


def plot_staleness(report_or_episode: pl.DataFrame | AlignedEpisode) -> Figure:
    """Staleness of the values used at the ticks.

    Given an `AlignedEpisode`: one histogram per stream (ms) with its tolerance as a dashed
    line. Given a report: p50 / p99 / max per stream over all its episodes (ms, worst episode).
    """
    if isinstance(report_or_episode, AlignedEpisode):
        return _staleness_histograms(report_or_episode)
    report = report_or_episode
    agg = report.group_by("stream", maintain_order=True).agg(
        pl.col("staleness_p50_ms").median(),
        pl.col("staleness_p99_ms").max(),
        pl.col("staleness_max_ms").max(),
        pl.col("tolerance_ms").max(),
    )
    fig = _figure(max(6, 1.3 * agg.height + 2), 3.5)
    ax = fig.add_subplot()
    x = np.arange(agg.height)
    for i, (col, label) in enumerate(
        (("staleness_p50_ms", "p50"), ("staleness_p99_ms", "p99"), ("staleness_max_ms", "max"))
    ):
        ax.bar(x + (i - 1) * 0.27, agg[col].fill_null(0).to_numpy(), 0.27, label=label)
    ax.plot(x, agg["tolerance_ms"].fill_null(np.nan).to_numpy(), "k_", ms=30, label="tolerance")
    ax.set_xticks(x, agg["stream"].to_list(), rotation=20, ha="right")
    ax.set_ylabel("staleness (ms)")
    ax.legend(fontsize=8)
    ax.set_title("staleness per stream")
    return fig


def _staleness_histograms(ep: AlignedEpisode) -> Figure:
    keys = list(ep.timing)
    cols = min(3, max(1, len(keys)))
    rows = (len(keys) + cols - 1) // cols or 1
    fig = _figure(3.6 * cols, 2.6 * rows)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, key in zip(axes.flat, keys, strict=False):
        t = ep.timing[key]
        ms = t.staleness_s * 1e3
        ax.hist(ms, bins=min(40, max(5, len(ms) // 5)), color="tab:blue")
        if np.isfinite(t.tolerance_s):
            ax.axvline(t.tolerance_s * 1e3, color="tab:red", linestyle="--", label="tolerance")
            ax.legend(fontsize=7)
        ax.set_title(key, fontsize=9)
        ax.set_xlabel("staleness (ms)")
    for ax in list(axes.flat)[len(keys) :]:
        ax.set_visible(False)
    fig.suptitle(f"{ep.episode_id}: staleness at the kept ticks", fontsize=10)
    return fig
