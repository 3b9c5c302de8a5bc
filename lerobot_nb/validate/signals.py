"""Motion and picture tests on one episode's arrays, shared by validate's quality warnings and curate's scores.

One definition each of: a still step, a spike, how far an episode reaches beyond the others, a
duplicate, and the longest run of a condition. Arrays are (T, D) per feature, row k = frame k.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Spikes",
    "as_rows",
    "clipped_std",
    "longest_run",
    "motion_digest",
    "moving_steps",
    "range_reach",
    "second_differences",
    "spikes",
]

#: Offsets (in frames) of the velocities compared around a spike: one-frame and two-frame glitches.
_RETURN_WINDOWS = (1, 2)


def as_rows(values: np.ndarray) -> np.ndarray:
    """A feature as a (T, D) float64 array (a scalar feature becomes D = 1)."""
    values = np.asarray(values, dtype=np.float64)
    return values.reshape(len(values), -1)


def moving_steps(arrays: Sequence[np.ndarray], tolerances: Sequence[float | np.ndarray]) -> np.ndarray:
    """Per step k -> k+1 (T - 1 values): True when some dimension of some array changes by more than
    its tolerance (a scalar, or one value per dimension in the array's units)."""
    lengths = {len(a) for a in arrays}
    if len(lengths) != 1:
        raise ValueError(f"arrays of different lengths {sorted(lengths)}")
    moving = np.zeros(max(lengths.pop() - 1, 0), bool)
    for values, tol in zip(arrays, tolerances, strict=True):
        moving |= np.any(np.abs(np.diff(as_rows(values), axis=0)) > tol, axis=1)
    return moving


def clipped_std(values: np.ndarray, clip: float = 5.0, rounds: int = 2) -> np.ndarray:
    """Per column std after dropping values beyond `clip` stds (twice), so the spikes we hunt do
    not inflate it. Not MAD: teleop actions are often piecewise constant, which makes MAD ~0."""
    sigma = values.std(axis=0)
    for _ in range(rounds):
        keep = np.abs(values - values.mean(axis=0)) <= clip * sigma
        count = keep.sum(axis=0)
        mean = np.where(keep, values, 0.0).sum(axis=0) / np.maximum(count, 1)
        sigma = np.sqrt(np.where(keep, (values - mean) ** 2, 0.0).sum(axis=0) / np.maximum(count, 1))
    return np.asarray(sigma)


def second_differences(values: np.ndarray) -> np.ndarray:
    """(T - 2, D): row j is x[j + 2] - 2 x[j + 1] + x[j], centred on frame j + 1."""
    return np.diff(as_rows(values), n=2, axis=0)


@dataclass(frozen=True)
class Spikes:
    """Second differences of one feature in stds (`z`, (T, D), 0 at the first and last frame) and
    which of them are spikes (`spiking`, same shape)."""

    z: np.ndarray
    spiking: np.ndarray

    @property
    def frames(self) -> np.ndarray:
        """Frame numbers with a spike in some dimension, ascending."""
        return np.flatnonzero(self.spiking.any(axis=1))

    def worst(self) -> tuple[int, int, float] | None:
        """(frame, dimension, z) of the largest spike, or None."""
        if not self.spiking.any():
            return None
        masked = np.where(self.spiking, self.z, -1.0)
        k, d = np.unravel_index(int(np.argmax(masked)), masked.shape)
        return int(k), int(d), float(self.z[k, d])


def spikes(values: np.ndarray, sigma: np.ndarray, limit: float) -> Spikes:
    """Where the values jump and come back.

    A spike at frame k: the second difference centred on k exceeds `limit` times `sigma` (the
    dataset's per-dimension std of second differences) in some dimension, and in that dimension,
    for w = 1 or 2 frames around k, both the velocity and the position come back: the velocity
    after frame k + w equals the velocity before frame k - w, and x[k + w] - x[k - w] is what
    those velocities predict, each within half the second difference. A velocity step (a
    contact, a start, a stop) changes the velocity; a held value that catches up after a gap
    steps the position: neither comes back, so neither is a spike.
    """
    x = as_rows(values)
    T, D = x.shape
    z = np.zeros((T, D))
    spiking = np.zeros((T, D), bool)
    if T < 3:
        return Spikes(z, spiking)
    d2 = second_differences(x)
    z[1:-1] = np.abs(d2) / np.where(sigma > 0, sigma, np.inf)
    padded = np.pad(x, ((3, 3), (0, 0)), mode="edge")  # beyond the ends the values hold: velocity 0
    k = np.arange(1, T - 1) + 3
    allowed = 0.5 * np.abs(d2)
    returns = np.zeros((T - 2, D), bool)
    for w in _RETURN_WINDOWS:
        before = padded[k - w] - padded[k - w - 1]
        after = padded[k + w + 1] - padded[k + w]
        moved = padded[k + w] - padded[k - w] - w * (before + after)
        returns |= (np.abs(after - before) <= allowed) & (np.abs(moved) <= allowed)
    spiking[1:-1] = (z[1:-1] > limit) & returns
    return Spikes(z, spiking)


def range_reach(values: np.ndarray, others: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per dimension: how far `values` reach from the median of `others`, in `others`' stds (0 where
    those are constant), and the frame where each dimension reaches farthest."""
    x, o = as_rows(values), as_rows(others)
    centre, sigma = np.median(o, axis=0), o.std(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        dist = np.abs(x - centre) / sigma
    dist = np.where(sigma > 0, dist, 0.0)
    return dist.max(axis=0), dist.argmax(axis=0)


def motion_digest(arrays: Sequence[np.ndarray]) -> bytes:
    """The arrays' bytes (with shapes): equal for two episodes whose values are equal, frame for frame."""
    return b"".join(repr(a.shape).encode() + np.ascontiguousarray(a).tobytes() for a in arrays)


def longest_run(mask: np.ndarray) -> tuple[int, int]:
    """(length, first index) of the longest run of True in `mask`; (0, 0) when there is none."""
    m = np.concatenate([[False], np.asarray(mask, bool), [False]])
    edges = np.flatnonzero(np.diff(m.astype(np.int8)))
    if not len(edges):
        return 0, 0
    starts, ends = edges[::2], edges[1::2]
    i = int(np.argmax(ends - starts))
    return int(ends[i] - starts[i]), int(starts[i])
