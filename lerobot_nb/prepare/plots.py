"""Figures and tables of notebook 06: state/action before and after, chunks, stats, coverage, loss.

Everything reads the datasets from disk (`SourceDataset`) and `meta/embodiments.json`; the figures
are matplotlib `Figure`s (no pyplot state), the tables polars DataFrames.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl
from matplotlib.figure import Figure

from lerobot_nb.dataset import SourceDataset
from lerobot_nb.export.layout import STATS_PATH, read_json
from lerobot_nb.prepare.features import ACTION, CHUNK, CHUNK_PAD, STATE, STATE_MASK
from lerobot_nb.prepare.meta import read_prepared
from lerobot_nb.prepare.shared import column
from lerobot_nb.stats import stats_from_json

__all__ = [
    "episode_values",
    "plot_action_chunks",
    "plot_before_after",
    "plot_coverage",
    "plot_loss",
    "stats_table",
]


def episode_values(dataset: str | Path, episode: int, features: Sequence[str]) -> dict[str, np.ndarray]:
    """(T, D) float64 values of numeric `features` of one episode (those the dataset has)."""
    src = SourceDataset(dataset)
    rows = src.rows(episode)
    return {f: column(rows, f) for f in features if f in src.features}


def _names(dataset: str | Path, feature: str) -> list[str]:
    names = SourceDataset(dataset).features[feature].get("names")
    return list(names) if isinstance(names, list) else []


def plot_before_after(
    source: str | Path, prepared: str | Path, *, episode: int = 0, prepared_episode: int = 0
) -> Figure:
    """Left: the source's `observation.state` and `action` over time; right: the prepared state
    (known dimensions only) and its action, which is the state one frame later."""
    before = episode_values(source, episode, (STATE, ACTION))
    after = episode_values(prepared, prepared_episode, (STATE, ACTION, STATE_MASK))
    fps = SourceDataset(prepared).fps
    fig = Figure(figsize=(11, 3.8))
    left, right = fig.subplots(1, 2)
    for feature, style in ((STATE, "-"), (ACTION, ":")):
        values = before.get(feature)
        if values is None:
            continue
        names = _names(source, feature) or [str(i) for i in range(values.shape[1])]
        t = np.arange(len(values)) / fps
        for d in range(min(values.shape[1], 4)):
            left.plot(t, values[:, d], style, label=f"{feature}[{names[d]}]")
    left.set_title(f"before: {Path(source).name}, episode {episode}", fontsize=9)
    known = after[STATE_MASK].any(axis=0)
    names = _names(prepared, STATE)
    t = np.arange(len(after[STATE])) / fps
    for d in np.flatnonzero(known)[:4]:
        (line,) = right.plot(t, after[STATE][:, d], "-", label=f"state {names[d]}")
        right.plot(
            t, after[ACTION][:, d], ":", color=line.get_color(), label=f"action {names[d]} (= state at t+1)"
        )
    right.set_title(f"after: {Path(prepared).name}, episode {prepared_episode}", fontsize=9)
    normalized = read_prepared(prepared)["normalized"]
    right.set_ylabel("normalized per embodiment" if normalized else "shared units (m, 6D rotation, 0..1)")
    for ax in (left, right):
        ax.set_xlabel("t (s)")
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def plot_action_chunks(
    prepared: str | Path, *, episode: int = 0, frame: int | None = None, every: int = 5
) -> Figure:
    """The state's first two known dimensions as a path, with the action chunk of every `every`-th
    frame (or of `frame` alone) drawn from that frame: real steps solid, padded steps crossed."""
    values = episode_values(prepared, episode, (STATE, STATE_MASK, CHUNK, CHUNK_PAD))
    if CHUNK not in values:
        raise ValueError("the dataset has no action_chunk (prepare it with a horizon)")
    state, pad = values[STATE], values[CHUNK_PAD].astype(bool)
    n, horizon = pad.shape
    chunks = values[CHUNK].reshape(n, horizon, state.shape[1])
    x, y = np.flatnonzero(values[STATE_MASK].any(axis=0))[:2]
    names = _names(prepared, STATE)
    fig = Figure(figsize=(5.5, 5))
    ax = fig.subplots()
    ax.plot(state[:, x], state[:, y], "-", color="#bbbbbb", label="state path")
    frames = [frame] if frame is not None else list(range(0, n, every))
    for t in frames:
        ax.plot(chunks[t, ~pad[t], x], chunks[t, ~pad[t], y], ".-", lw=1.2)
        ax.plot(chunks[t, pad[t], x], chunks[t, pad[t], y], "x", color="#c44e52")
        ax.plot(state[t, x], state[t, y], "o", color="black", ms=3)
    ax.plot([], [], "x", color="#c44e52", label="padded step (past the episode end)")
    ax.set_xlabel(names[x])
    ax.set_ylabel(names[y])
    ax.set_title(
        f"action chunks (H = {horizon}), episode {episode}"
        + (f", frame {frame}" if frame is not None else ""),
        fontsize=9,
    )
    ax.legend(fontsize=7)
    ax.set_aspect("equal", adjustable="datalim")
    fig.tight_layout()
    return fig


def stats_table(prepared: str | Path, feature: str = STATE) -> pl.DataFrame:
    """One row per (embodiment, dimension) of `feature`: mean, std, min, max, q01, q99 of the raw
    values per embodiment (meta/embodiments.json), then `all` = the stored values' stats.json."""
    meta = read_prepared(prepared)
    names = _names(prepared, feature)
    groups = {n: stats_from_json(meta["stats"][n])[feature] for n in meta["embodiments"]}
    stored = stats_from_json(read_json(Path(prepared) / STATS_PATH))
    groups["all (stats.json)"] = stored[feature]
    rows = []
    for group, stats in groups.items():
        for d, name in enumerate(names):
            rows.append(
                {"embodiment": group, "dimension": name}
                | {k: float(stats[k][d]) for k in ("mean", "std", "min", "max", "q01", "q99")}
            )
    return pl.DataFrame(rows)


def plot_coverage(coverage: pl.DataFrame) -> Figure:
    """Per embodiment, the share of known values of each shared key (the rest is masked)."""
    keys = [c for c in coverage.columns if c not in ("embodiment", "episodes", "frames")]
    fig = Figure(figsize=(7, 3.2))
    ax = fig.subplots()
    width = 0.8 / max(1, coverage.height)
    for i, row in enumerate(coverage.iter_rows(named=True)):
        at = np.arange(len(keys)) + i * width
        ax.bar(
            at,
            [row[k] for k in keys],
            width,
            label=f"{row['embodiment']} ({row['episodes']} ep, {row['frames']} frames)",
        )
    ax.set_xticks(np.arange(len(keys)) + width * (coverage.height - 1) / 2, keys)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("known (mask True)")
    ax.set_title("coverage of the shared keys per embodiment", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_loss(steps: np.ndarray, losses: np.ndarray, *, title: str = "") -> Figure:
    """The training loss per logged step."""
    fig = Figure(figsize=(6, 3.2))
    ax = fig.subplots()
    ax.plot(steps, losses, "o-", ms=3)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.set_title(title or f"lerobot-train: loss {losses[0]:.3g} -> {losses[-1]:.3g}", fontsize=9)
    fig.tight_layout()
    return fig
