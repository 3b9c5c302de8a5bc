"""Statistics recomputed from a dataset's own data, and `recompute_stats`: repair them in place, safely.

Numeric features are recomputed exactly as lerobot's writer computed them (timestamps from
float64 frame_index / fps, as lerobot does). Images come from the stored pixels: PNG bytes of
`image` features (lossless, so exact) or the decoded video (lossy, so close to what lerobot
computed from the frames before encoding).
"""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.stats import (
    STAT_NAMES,
    FeatureStats,
    aggregate_stats,
    image_stats,
    numeric_stats,
    sample_frame_indices,
    stats_to_json,
)
from lerobot_nb.validate.config import ValidateConfig
from lerobot_nb.validate.context import STATS_PATH, DatasetContext
from lerobot_nb.validate.timing import video_scans

__all__ = ["episode_image_stats", "episode_numeric_stats", "recompute_stats", "stored_episode_stats"]


def episode_numeric_stats(
    ctx: DatasetContext, episode: int, *, stored_timestamps: bool = False
) -> dict[str, FeatureStats]:
    """Stats of every numeric feature of one episode, from its data rows.

    `timestamp` stats come from float64 frame_index / fps as lerobot's writer computes them, or
    with `stored_timestamps=True` from the stored (float32) column, as other writers may.
    """
    frame = ctx.episode_data(episode)
    out = {}
    for key in ctx.numeric_keys:
        if key == "timestamp" and not stored_timestamps:
            out[key] = numeric_stats(frame["frame_index"].to_numpy() / ctx.fps)
        else:
            out[key] = numeric_stats(ctx.numeric(frame, key))
    return out


def episode_image_stats(ctx: DatasetContext, episode_row: dict[str, Any], key: str) -> FeatureStats:
    """Stats of one camera of one episode from its stored pixels (sampled like lerobot)."""
    episode, length = episode_row["episode_index"], episode_row["length"]
    if ctx.features[key]["dtype"] == "video":
        rel = ctx.video_file(
            key, episode_row[f"videos/{key}/chunk_index"], episode_row[f"videos/{key}/file_index"]
        )
        samples = video_scans(ctx)[rel].samples
        frames = [samples[(episode, k)] for k in sample_frame_indices(length)]
        return image_stats(frames, presampled=True)
    return image_stats(_png_frames(ctx, episode, key), length=length)


def _png_frames(ctx: DatasetContext, episode: int, key: str) -> list[np.ndarray]:
    from PIL import Image

    rows = ctx.episode_data(episode)
    rel = rows["_file"][0]
    column = pq.read_table(ctx.root / rel, columns=[key]).column(key)
    picked = column.take(pa.array(rows["_row"].to_numpy()))
    frames = []
    for item in picked.to_pylist():
        with Image.open(io.BytesIO(item["bytes"])) as img:
            frames.append(np.asarray(img.convert("RGB")))
    return frames


def stored_episode_stats(
    ctx: DatasetContext, episode_row: dict[str, Any], feature: str
) -> FeatureStats | None:
    """One episode's stats of one feature as stored in meta/episodes, or None when absent."""
    out = {}
    for name in STAT_NAMES:
        value = episode_row.get(f"stats/{feature}/{name}")
        if value is None:
            return None
        out[name] = np.asarray(value, dtype=np.int64 if name == "count" else np.float64)
    return out


def recompute_stats(path: str | Path) -> dict[str, FeatureStats]:
    """Recompute every feature's stats from the data and rewrite meta/ in place; returns stats.json's content.

    Safe: the new meta/ is written beside the old one (`meta.recompute-tmp/`), then swapped in by
    two renames (old -> `meta.recompute-old/`, new -> `meta/`), and the old copy is removed. If
    the process dies in between, the complete old metadata is still on disk under that name.
    """
    ctx = DatasetContext(path, ValidateConfig())
    from lerobot_nb.validate import run_checks

    needed = ("structure.episode_ranges", "structure.index") + (("video.sync",) if ctx.video_keys else ())
    report = run_checks(ctx, only=needed)
    if not report.ok or any(report.status(n) == "skip" for n in needed):
        raise LerobotNbError(
            "cannot recompute stats: " + "; ".join(f"{c}: {r}" for c, r in _failures(report)), file=ctx.root
        )
    per_episode: list[dict[str, FeatureStats]] = []
    for row in ctx.episode_rows():
        ep = row["episode_index"]
        stats = episode_numeric_stats(ctx, ep)
        for key in ctx.visual_keys:
            stats[key] = episode_image_stats(ctx, row, key)
        per_episode.append(stats)
    total = aggregate_stats(per_episode)
    _write_meta(ctx, per_episode, total)
    return total


def _failures(report: Any) -> list[tuple[str, str]]:
    table = report.table.filter(report.table["status"].is_in(["fail", "skip"]))
    return [(r["check"], r["reason"]) for r in table.iter_rows(named=True)][:3]


def _write_meta(
    ctx: DatasetContext, per_episode: list[dict[str, FeatureStats]], total: dict[str, FeatureStats]
) -> None:
    meta = ctx.root / "meta"
    tmp = ctx.root / "meta.recompute-tmp"
    old = ctx.root / "meta.recompute-old"
    for leftover in (tmp, old):
        if leftover.exists():
            shutil.rmtree(leftover)
    shutil.copytree(meta, tmp)
    by_episode = {
        row["episode_index"]: stats for row, stats in zip(ctx.episode_rows(), per_episode, strict=True)
    }
    for file in ctx.episode_files:
        rel = file.relative_to(meta)
        table = pq.read_table(file)
        episodes = table.column("episode_index").to_pylist()
        for feature in total:
            for name in STAT_NAMES:
                column = f"stats/{feature}/{name}"
                values = [np.asarray(by_episode[ep][feature][name]).tolist() for ep in episodes]
                if column in table.column_names:
                    array = pa.array(values, type=table.schema.field(column).type)
                    table = table.set_column(table.column_names.index(column), column, array)
                else:
                    table = table.append_column(column, pa.array(values))
        pq.write_table(table, tmp / rel)
    (tmp / Path(STATS_PATH).name).write_text(json.dumps(stats_to_json(total), indent=4))
    os.rename(meta, old)
    os.rename(tmp, meta)
    shutil.rmtree(old)
