"""Plots for notebook 05: episode length histogram and per-feature stats (from meta/, no decoding)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
from matplotlib.figure import Figure

__all__ = ["plot_episode_lengths", "plot_feature_stats"]


def _episodes(path: Path) -> pl.DataFrame:
    files = sorted(path.glob("meta/episodes/chunk-*/file-*.parquet"))
    return pl.concat([pl.read_parquet(f, columns=["episode_index", "length"]) for f in files])


def plot_episode_lengths(path: str | Path) -> Figure:
    """Histogram of episode lengths in seconds (and frames), with the median marked."""
    root = Path(path)
    fps = json.loads((root / "meta/info.json").read_text())["fps"]
    lengths = _episodes(root)["length"].to_numpy()
    fig = Figure(figsize=(7, 3.5))
    ax = fig.subplots()
    seconds = lengths / fps
    ax.hist(seconds, bins=min(30, max(5, len(lengths))), color="#4c72b0", edgecolor="white")
    median = float(np.median(seconds))
    ax.axvline(
        median,
        color="#dd8452",
        linestyle="--",
        label=f"median {median:.1f} s ({int(np.median(lengths))} frames)",
    )
    ax.set_xlabel("episode length (s)")
    ax.set_ylabel("episodes")
    ax.set_title(f"{len(lengths)} episodes, {int(lengths.sum())} frames at {fps} fps")
    ax.legend()
    fig.tight_layout()
    return fig


def plot_feature_stats(path: str | Path) -> Figure:
    """Per numeric feature: mean ± std, min..max and q01..q99 per dimension; per camera: channel means."""
    root = Path(path)
    info = json.loads((root / "meta/info.json").read_text())
    stats = json.loads((root / "meta/stats.json").read_text())
    skip = {"timestamp", "frame_index", "episode_index", "index", "task_index"}
    keys = [k for k in stats if k in info["features"] and k not in skip]
    fig = Figure(figsize=(9, 2.6 * max(1, len(keys))))
    axes = fig.subplots(max(1, len(keys)), 1, squeeze=False)[:, 0]
    for ax, key in zip(axes, keys, strict=False):
        s = {name: np.asarray(v, dtype=np.float64).ravel() for name, v in stats[key].items()}
        x = np.arange(len(s["mean"]))
        ax.fill_between(x, s["min"], s["max"], color="#c7d3e8", step="mid", label="min..max")
        if "q01" in s and "q99" in s:
            ax.fill_between(x, s["q01"], s["q99"], color="#8da6d0", step="mid", label="q01..q99")
        ax.errorbar(x, s["mean"], yerr=s["std"], fmt="o", color="#1f3f7a", capsize=3, label="mean ± std")
        names = info["features"][key].get("names")
        if info["features"][key]["dtype"] in ("video", "image"):
            labels = ["R", "G", "B"][: len(x)]
        elif isinstance(names, list) and len(names) == len(x) and all(isinstance(n, str) for n in names):
            labels = names
        else:
            labels = [str(i) for i in x]
        ax.set_xticks(x, labels, rotation=30 if len(x) > 6 else 0, fontsize=8)
        ax.set_title(f"{key} (count {int(s['count'][0])})", fontsize=10)
        ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig
