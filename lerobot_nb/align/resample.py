"""Pure numpy resampling of one stream onto grid ticks: latest-at, nearest, linear.

Sample times must be sorted ascending (int64, the timeline's unit); ticks too. Every function
is vectorised (`searchsorted`), O((N + T) log N), and never looks at wall-clock time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lerobot_nb.align.config import Policy
from lerobot_nb.units import median_interval

__all__ = ["Resampled", "gaps", "median_period", "pick_indices", "resample", "source_indices"]


@dataclass(frozen=True)
class Resampled:
    """One stream on the grid.

    `index[k]` is the source row used at tick k (for linear: the row at or before the tick),
    -1 when the stream has no usable sample there; `staleness[k]` is how far (timeline units)
    the used sample(s) are from tick k: `tick - t[i]` for latest, `|tick - t[i]|` for nearest,
    and the farther of the two bracketing samples for linear. `values` is `(T, D)` float64 or
    None for non-numeric streams.
    """

    index: np.ndarray
    staleness: np.ndarray
    values: np.ndarray | None = None

    @property
    def available(self) -> np.ndarray:
        """Ticks where the stream has a value at all."""
        return self.index >= 0


def median_period(times: np.ndarray) -> float:
    """`units.median_interval` (timeline units), inf for fewer than 2 distinct times: a stream
    without a period gets no finite automatic tolerance."""
    period = median_interval(times)
    return float("inf") if period is None else period


def gaps(times: np.ndarray, limit: float) -> np.ndarray:
    """Indices i where `times[i+1] - times[i] > limit` (a gap starts after sample i)."""
    return np.flatnonzero(np.diff(times) > limit)


def source_indices(times: np.ndarray, ticks: np.ndarray, policy: Policy) -> tuple[np.ndarray, np.ndarray]:
    """`(index, staleness)` per tick for `latest` or `nearest` (see `Resampled`)."""
    after = np.searchsorted(times, ticks, side="right")  # first sample strictly after the tick
    prev = after - 1  # latest sample at or before the tick (-1: none yet)
    if policy == "latest":
        stale = np.where(prev >= 0, ticks - times[np.maximum(prev, 0)], 0)
        return prev.astype(np.int64), stale.astype(np.int64)
    nxt = np.minimum(after, len(times) - 1)
    d_prev = np.where(prev >= 0, ticks - times[np.maximum(prev, 0)], np.iinfo(np.int64).max)
    d_next = np.where(after < len(times), times[nxt] - ticks, np.iinfo(np.int64).max)
    # Ties go to the earlier sample: it was already known at the tick (no look-ahead).
    take_next = d_next < d_prev
    idx = np.where(take_next, nxt, prev)
    return idx.astype(np.int64), np.minimum(d_prev, d_next).astype(np.int64)


def pick_indices(times: np.ndarray, ticks: np.ndarray, policy: Policy) -> tuple[np.ndarray, np.ndarray]:
    """Source rows for image streams (no interpolation of pixels): latest or nearest."""
    return source_indices(times, ticks, "latest" if policy == "linear" else policy)


def resample(times: np.ndarray, values: np.ndarray, ticks: np.ndarray, policy: Policy) -> Resampled:
    """Resample `(N, D)` `values` sampled at `times` onto `ticks` with `policy`.

    Ticks without a usable sample (before the first sample for latest/linear, after the last for
    linear) get index -1 and NaN values.
    """
    values = np.asarray(values, dtype=np.float64)
    if policy != "linear":
        idx, stale = source_indices(times, ticks, policy)
        out = values[np.maximum(idx, 0)]
        out[idx < 0] = np.nan
        return Resampled(idx, stale, out)
    after = np.searchsorted(times, ticks, side="right")
    i0 = after - 1
    i1 = np.minimum(after, len(times) - 1)
    exact = (i0 >= 0) & (times[np.maximum(i0, 0)] == ticks)
    ok = (i0 >= 0) & ((after < len(times)) | exact)
    t0 = times[np.maximum(i0, 0)]
    t1 = np.where(exact, t0, times[i1])
    span = (t1 - t0).astype(np.float64)
    # Weight of the later sample; an exact hit (or duplicate times) takes the earlier sample.
    w = np.divide((ticks - t0).astype(np.float64), span, out=np.zeros(len(ticks)), where=span > 0)
    v0 = values[np.maximum(i0, 0)]
    v1 = values[np.where(exact, np.maximum(i0, 0), i1)]
    out = v0 + (v1 - v0) * w[:, None]
    idx = np.where(ok, i0, -1).astype(np.int64)
    stale = np.where(ok, np.maximum(ticks - t0, t1 - ticks), 0).astype(np.int64)
    out[~ok] = np.nan
    return Resampled(idx, stale, out)
