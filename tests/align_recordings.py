"""Helpers for the alignment tests: write small `.rrd` recordings with exact nanosecond times.

No tests here; `test_align_*.py` import these to build recordings whose true values they know.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np

T0 = 1_700_000_000_000_000_000  # ns, a fixed epoch for every synthetic recording


def write_rrd(
    path: Path,
    recording_id: str,
    scalars: Mapping[str, tuple[np.ndarray, np.ndarray]] = {},
    *,
    names: Mapping[str, Sequence[str]] = {},
    task: str | None = None,
    frame_numbers: bool = False,
) -> Path:
    """One recording: each `entity -> (times_ns int64, values (N, D))` as Scalars on `real_time`.

    With `frame_numbers`, a `frame` sequence timeline numbers the rows of each entity.
    """
    import rerun as rr

    rec = rr.RecordingStream("lerobot_nb_align_test", recording_id=recording_id)
    rec.save(path)
    for entity, (times, values) in scalars.items():
        indexes = [rr.TimeColumn("real_time", timestamp=np.asarray(times, dtype="datetime64[ns]"))]
        if frame_numbers:
            indexes.append(rr.TimeColumn("frame", sequence=np.arange(len(times))))
        rec.send_columns(
            entity, indexes=indexes, columns=rr.Scalars.columns(scalars=np.asarray(values, np.float64))
        )
    for entity, labels in names.items():
        rec.log(entity, rr.SeriesLines(names=list(labels)), static=True)
    if task is not None:
        rec.log("/language_instruction", rr.TextDocument(task), static=True)
    rec.flush()
    rec.disconnect()
    return path


def irregular_times(
    rng: np.random.Generator,
    rate_hz: float,
    duration_s: float,
    *,
    start_ns: int = T0,
    jitter: float = 0.3,
    gaps: Sequence[tuple[float, float]] = (),
) -> np.ndarray:
    """Sorted distinct int64 ns times at about `rate_hz` with jitter, minus the `gaps` (s from start)."""
    n = int(duration_s * rate_hz)
    base = np.arange(n) / rate_hz
    t = base + rng.uniform(-jitter, jitter, n) / rate_hz
    t = np.sort(t[t >= 0])
    for lo, hi in gaps:
        t = t[(t < lo) | (t > hi)]
    ns = start_ns + np.round(t * 1e9).astype(np.int64)
    return np.unique(ns)


def expected_ticks(start: int, end: int, fps: int) -> np.ndarray:
    """Grid ticks computed with exact fractions, one at a time: start + round(k * 1e9 / fps)."""
    out: list[int] = []
    k = 0
    while True:
        tick = start + int(Fraction(k * 10**9, fps) + Fraction(1, 2))  # round half up, exact
        if tick > end:
            return np.array(out, dtype=np.int64)
        out.append(tick)
        k += 1


def brute_latest(times: np.ndarray, values: np.ndarray, tick: int) -> tuple[np.ndarray, int]:
    """(value, staleness) of the last sample at or before `tick`, by a plain scan."""
    best = -1
    for j, t in enumerate(times):
        if t <= tick:
            best = j
    return values[best], int(tick - times[best])


def brute_nearest(times: np.ndarray, values: np.ndarray, tick: int) -> tuple[np.ndarray, int]:
    """(value, distance) of the nearest sample; ties go to the earlier one."""
    best, dist = -1, None
    for j, t in enumerate(times):
        d = abs(int(t) - tick)
        if dist is None or d < dist:
            best, dist = j, d
    assert dist is not None
    return values[best], dist


def brute_linear(times: np.ndarray, values: np.ndarray, tick: int) -> np.ndarray:
    """Linear interpolation between the samples around `tick` (exact hit: that sample)."""
    for j in range(len(times)):
        if times[j] == tick:
            return values[j]
        if j + 1 < len(times) and times[j] < tick < times[j + 1]:
            w = (tick - int(times[j])) / (int(times[j + 1]) - int(times[j]))
            return values[j] + (values[j + 1] - values[j]) * w
    raise AssertionError("tick outside the samples")
