"""Stats checks: present and well-shaped, numeric stats equal the data, image stats close to the pixels."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from lerobot_nb.stats import QUANTILE_NAMES, STAT_NAMES, FeatureStats, aggregate_stats, stats_from_json
from lerobot_nb.validate.context import STATS_PATH, DatasetContext, check
from lerobot_nb.validate.recompute import episode_image_stats, episode_numeric_stats, stored_episode_stats
from lerobot_nb.validate.report import Finding

__all__: list[str] = []

_REPAIR = "run `lerobot-nb stats --recompute PATH`"
#: lerobot <= 0.5 squared uint8 pixels in uint8: the squares wrapped, the variance came out
#: negative and was clipped to 0, so every episode's image std reads exactly 0.
_OVERFLOW = "lerobot <= 0.5's uint8 overflow bug"


def _fail(reason: str, **where: Any) -> Finding:
    return Finding(status="fail", reason=reason, **where)


def _expected_shape(ctx: DatasetContext, key: str, name: str) -> tuple[int, ...]:
    if name == "count":
        return (1,)
    feature = ctx.features[key]
    shape = list(feature["shape"])
    if feature["dtype"] in ("video", "image"):
        return (shape[-1], 1, 1)
    return (shape[-1],)


def _episodes_file(ctx: DatasetContext) -> str:
    return str(ctx.episode_files[0].relative_to(ctx.root)) if ctx.episode_files else "meta/episodes"


@check("stats.present", requires=("structure.info", "structure.episodes"))
def present(ctx: DatasetContext) -> list[Finding]:
    """stats.json and the per-episode stats hold min..q99 for every non-string feature, rightly shaped."""
    try:
        stats = ctx.stats
    except FileNotFoundError:
        return [_fail(f"meta/stats.json is missing; {_REPAIR}", file=STATS_PATH)]
    except (ValueError, json.JSONDecodeError) as exc:
        return [_fail(f"stats.json does not parse ({exc}); {_REPAIR}", file=STATS_PATH)]
    out = []
    keys = ctx.numeric_keys + ctx.visual_keys
    for key in keys:
        if key not in stats:
            out.append(_fail(f"no stats for feature `{key}`; {_REPAIR}", file=STATS_PATH))
            continue
        for name in STAT_NAMES:
            if name not in stats[key]:
                out.append(_fail(f"`{key}` lacks `{name}`; {_REPAIR}", file=STATS_PATH))
                continue
            value = np.asarray(stats[key][name], dtype=np.float64)
            want = _expected_shape(ctx, key, name)
            if value.shape != want:
                out.append(
                    _fail(f"`{key}` `{name}` has shape {value.shape}, expected {want}", file=STATS_PATH)
                )
            elif not np.all(np.isfinite(value)):
                out.append(_fail(f"`{key}` `{name}` holds NaN or inf; {_REPAIR}", file=STATS_PATH))
    rel = _episodes_file(ctx)
    for row in ctx.episode_rows():
        for key in keys:
            missing = [n for n in STAT_NAMES if row.get(f"stats/{key}/{n}") is None]
            if missing:
                out.append(
                    _fail(
                        f"episode stats of `{key}` lack {missing}; {_REPAIR}",
                        file=rel,
                        episode=row["episode_index"],
                    )
                )
                continue
            for name in STAT_NAMES:
                value = np.asarray(row[f"stats/{key}/{name}"], dtype=np.float64)
                want = _expected_shape(ctx, key, name)
                if value.shape != want:
                    out.append(
                        _fail(
                            f"episode stats `{key}` `{name}` have shape {value.shape}, expected {want}",
                            file=rel,
                            episode=row["episode_index"],
                        )
                    )
    return out[:50]


def _compare(
    stored: FeatureStats, ours: FeatureStats, names: tuple[str, ...], *, rtol: float, atol: float
) -> tuple[str, int, float, float] | None:
    """The first stat that differs: (name, flat element, stored value, recomputed value)."""
    for name in names:
        a, b = np.asarray(stored[name], dtype=np.float64), np.asarray(ours[name], dtype=np.float64)
        if a.shape != b.shape:
            return name, -1, float("nan"), float("nan")
        close = np.isclose(a, b, rtol=rtol, atol=atol) if name != "count" else a == b
        if not np.all(close):
            i = int(np.flatnonzero(~close.ravel())[0])
            return name, i, float(a.ravel()[i]), float(b.ravel()[i])
    return None


def _mismatch(key: str, diff: tuple[str, int, float, float]) -> str:
    name, i, a, b = diff
    return f"`{key}` {name}[{i}] is stored as {a:.6g} but the data give {b:.6g}; {_REPAIR}"


@check("stats.numeric", requires=("stats.present", "structure.index"))
def numeric(ctx: DatasetContext) -> list[Finding]:
    """Numeric stats recomputed from the data equal stats.json and the per-episode stats (float tolerance)."""
    out = []
    rtol = ctx.config.numeric_rtol
    rel = _episodes_file(ctx)
    per_episode = []
    for row in ctx.episode_rows():
        ep = row["episode_index"]
        ours = episode_numeric_stats(ctx, ep)
        alternative = episode_numeric_stats(ctx, ep, stored_timestamps=True)
        per_episode.append((ours, alternative))
        for key, stats in ours.items():
            stored = stored_episode_stats(ctx, row, key)
            assert stored is not None  # stats.present passed
            diff = _compare(stored, stats, STAT_NAMES, rtol=rtol, atol=1e-9)
            if (
                diff is not None
                and _compare(stored, alternative[key], STAT_NAMES, rtol=rtol, atol=1e-9) is None
            ):
                diff = None  # timestamp stats computed from the stored float32 values: fine too
            if diff is not None:
                out.append(_fail(_mismatch(key, diff), file=rel, episode=ep))
    totals = [aggregate_stats([p[i] for p in per_episode]) for i in (0, 1)]
    stored_total = stats_from_json(ctx.stats)
    for key in ctx.numeric_keys:
        diffs = [_compare(stored_total[key], t[key], STAT_NAMES, rtol=rtol, atol=1e-9) for t in totals]
        if all(d is not None for d in diffs):
            out.append(_fail(_mismatch(key, diffs[0]), file=STATS_PATH))  # type: ignore[arg-type]
    return out


def _image_tolerances(ctx: DatasetContext, key: str) -> list[tuple[tuple[str, ...], float]]:
    """(stat names, absolute tolerance) tiers. PNG images are lossless: exact but for mean/std.

    Stored stats come from the source pixels (as lerobot computes them). Lossy video moves single
    pixels — yuv420p chroma subsampling moves edge pixels by up to 179/255 on small frames — so
    min/max of decoded frames say nothing about the stored ones; they are checked for order
    instead (`_order_problem`), moments and quantiles within tolerance.
    """
    atol = ctx.config.image_atol
    if ctx.features[key]["dtype"] == "image":
        # lossless pixels: exact, but mean/std, which lerobot accumulates in float32 (drifts) and
        # lerobot_nb.stats sums exactly
        exact = tuple(n for n in STAT_NAMES if n not in ("mean", "std"))
        return [(exact, 1e-6), (("mean", "std"), atol)]
    return [(("count", "mean", "std"), atol), (QUANTILE_NAMES, 2.5 * atol)]


def _order_problem(stats: FeatureStats) -> str | None:
    """Why stored image stats cannot be right: outside [0, 1], or not min <= q01 <= ... <= q99 <= max.

    Allows 1e-6 of float noise: lerobot's own histogram quantiles break the order by up to 2e-9
    and dip 4e-13 below 0 (measured on the lerobot-written fixtures).
    """
    eps = 1e-6
    chain = ["min", *QUANTILE_NAMES, "max"]
    values = np.stack([np.asarray(stats[n], np.float64).ravel() for n in chain])
    if values.min() < -eps or values.max() > 1 + eps:
        return "values outside [0, 1]"
    steps = np.diff(values, axis=0)
    if (steps < -eps).any():
        i, c = np.argwhere(steps < -eps)[0]
        return f"{chain[i]} > {chain[i + 1]} in channel {c}"
    return None


def _compare_tiers(
    stored: FeatureStats, ours: FeatureStats, tiers: list[tuple[tuple[str, ...], float]]
) -> tuple[str, int, float, float] | None:
    for names, atol in tiers:
        diff = _compare(stored, ours, names, rtol=0.0, atol=atol)
        if diff is not None:
            return diff
    return None


def _overflow(ctx: DatasetContext) -> list[Finding]:
    """Episodes whose image std is 0 in every channel although their pixels span a range: impossible."""
    out = []
    rel = _episodes_file(ctx)
    for key in ctx.visual_keys:
        hit = []
        for row in ctx.episode_rows():
            stored = stored_episode_stats(ctx, row, key)
            if stored is not None and np.all(stored["std"] == 0) and np.any(stored["max"] > stored["min"]):
                hit.append(row["episode_index"])
        if hit:
            out.append(
                _fail(
                    f"`{key}` std is 0 in every channel of {len(hit)} episode(s) although min < max: {_OVERFLOW}; "
                    f"stats.json std ({np.asarray(ctx.stats[key]['std']).ravel().round(4).tolist()}) is wrong too; {_REPAIR}",
                    file=rel,
                    episode=hit[0],
                )
            )
    return out


@check("stats.images", requires=("stats.present",))
def images(ctx: DatasetContext) -> list[Finding]:
    """Image stats carry no uint8 overflow and agree with the pixels (sampled frames; video is lossy)."""
    if not ctx.visual_keys:
        return [Finding(status="pass", reason="no image or video features")]
    out = _overflow(ctx)
    video_ok = ctx.passed("video.sync") and ctx.config.video
    keys = [k for k in ctx.visual_keys if ctx.features[k]["dtype"] == "image" or video_ok]
    if not keys and not out:
        return [
            Finding(
                status="skip",
                reason="pixels unavailable (video checks did not pass or video=False); stored image stats not verified",
            )
        ]
    if out:
        return out  # recomputing would repeat the same diagnosis per episode
    rel = _episodes_file(ctx)
    for key in keys:
        tiers = _image_tolerances(ctx, key)
        per_episode = []
        for row in ctx.episode_rows():
            ours = episode_image_stats(ctx, row, key)
            per_episode.append({key: ours})
            stored = stored_episode_stats(ctx, row, key)
            assert stored is not None
            order = _order_problem(stored)
            if order is not None:
                out.append(
                    _fail(
                        f"`{key}` stats are inconsistent ({order}); {_REPAIR}",
                        file=rel,
                        episode=row["episode_index"],
                    )
                )
                continue
            diff = _compare_tiers(stored, ours, tiers)
            if diff is not None:
                out.append(_fail(_mismatch(key, diff), file=rel, episode=row["episode_index"]))
        total = stats_from_json(ctx.stats)[key]
        order = _order_problem(total)
        if order is not None:
            out.append(_fail(f"`{key}` stats are inconsistent ({order}); {_REPAIR}", file=STATS_PATH))
            continue
        diff = _compare_tiers(total, aggregate_stats(per_episode)[key], tiers)
        if diff is not None:
            out.append(_fail(_mismatch(key, diff), file=STATS_PATH))
    return out
