"""Normalization with dataset statistics, as lerobot 0.6.1's `NormalizerProcessorStep` computes it.

Modes (`lerobot.configs.types.NormalizationMode`, eps = 1e-8):
- `mean_std` (MEAN_STD): `(x - mean) / (std + eps)`;
- `min_max` (MIN_MAX): `2 (x - min) / (max - min) - 1`, a zero range replaced by eps;
- `quantiles` (QUANTILES): `2 (x - q01) / (q99 - q01) - 1`, same guard;
- `quantile10` (QUANTILE10): the same with q10 / q90.
(IDENTITY leaves values as they are.) `unnormalize` is the inverse lerobot applies to a
policy's output. Statistics are `lerobot_nb.stats` dicts (lerobot's layout).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from lerobot_nb.stats import FeatureStats

__all__ = ["EPS", "LEROBOT_MODES", "Normalization", "normalize", "tile_stats", "unnormalize"]

Normalization = Literal["mean_std", "min_max", "quantiles", "quantile10"]
#: Our names -> lerobot's `NormalizationMode` values.
LEROBOT_MODES: dict[str, str] = {
    "mean_std": "MEAN_STD",
    "min_max": "MIN_MAX",
    "quantiles": "QUANTILES",
    "quantile10": "QUANTILE10",
}
EPS = 1e-8
_BOUNDS = {"min_max": ("min", "max"), "quantiles": ("q01", "q99"), "quantile10": ("q10", "q90")}


def _affine(stats: FeatureStats, mode: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(offset, denominator, scale) with normalized = scale * (x - offset) / denominator - (scale - 1)."""
    if mode == "mean_std":
        mean, std = np.asarray(stats["mean"], np.float64), np.asarray(stats["std"], np.float64)
        return mean, std + EPS, np.ones_like(mean)
    if mode not in _BOUNDS:
        raise ValueError(f"unknown normalization {mode!r}")
    lo_name, hi_name = _BOUNDS[mode]
    lo, hi = np.asarray(stats[lo_name], np.float64), np.asarray(stats[hi_name], np.float64)
    span = hi - lo
    return lo, np.where(span == 0, EPS, span), np.full_like(lo, 2.0)


def normalize(values: np.ndarray, stats: FeatureStats, mode: str) -> np.ndarray:
    """(T, D) values normalized like lerobot (computed in float64, returned float32)."""
    offset, denom, scale = _affine(stats, mode)
    out = scale * (np.asarray(values, np.float64) - offset) / denom - (scale - 1)
    return out.astype(np.float32)


def unnormalize(values: np.ndarray, stats: FeatureStats, mode: str) -> np.ndarray:
    """The inverse of `normalize` (lerobot's unnormalizer; mean_std multiplies by std, not std + eps)."""
    offset, denom, scale = _affine(stats, mode)
    v = np.asarray(values, np.float64)
    if mode == "mean_std":
        return np.asarray(v * np.asarray(stats["std"], np.float64) + offset)
    return np.asarray((v + 1) * denom / scale + offset)


def tile_stats(stats: FeatureStats, times: int) -> FeatureStats:
    """Stats of a D-vector repeated `times` times (the (H * D) chunk of an action), count unchanged."""
    return {k: v if k == "count" else np.tile(np.asarray(v), times) for k, v in stats.items()}
