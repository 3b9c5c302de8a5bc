"""Time units of the timelines and the one robust period estimate every step uses."""

from __future__ import annotations

import numpy as np

__all__ = ["NS_PER_S", "median_interval"]

#: Timestamp timelines count int64 nanoseconds.
NS_PER_S = 1_000_000_000


def median_interval(times: np.ndarray) -> float | None:
    """Median spacing of the distinct sample times (timeline units; `times` sorted ascending).

    Repeated times (several samples logged at once) are not intervals and are left out, so lost
    samples or bursts barely move it. None when there are fewer than two distinct times; each
    caller states what that means for it (align: an infinite period, inspect: no rate).
    """
    d = np.diff(times)
    d = d[d > 0]
    return float(np.median(d)) if len(d) else None
