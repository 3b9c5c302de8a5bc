"""The per-episode grid: tick k sits exactly `round(k * units_per_second / fps)` after the start."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

import numpy as np

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.units import NS_PER_S

__all__ = ["NS_PER_S", "episode_span", "grid_ticks", "units_per_second"]


def units_per_second(index: str, kind: str, sequence_rate: float | None) -> Fraction:
    """How many timeline units make one second: 1e9 for timestamp timelines (int64 ns).

    A sequence timeline (`frame`, `log_tick`) has no time unit of its own: the user must say
    how many steps it advances per second (`sequence_rate`), otherwise a grid in ticks per
    second would be meaningless.
    """
    if kind == "timestamp":
        return Fraction(NS_PER_S)
    if sequence_rate is None:
        raise LerobotNbError(
            f"timeline {index!r} is a sequence (steps, not time): an fps in ticks per second needs "
            "its rate; pass sequence_rate=<steps per second> (CLI --sequence-rate) or align on a "
            "timestamp timeline"
        )
    return Fraction(sequence_rate).limit_denominator(1_000_000)


def grid_ticks(start: int, end: int, fps: int, per_second: Fraction) -> np.ndarray:
    """Ticks `start + round(k * per_second / fps)` for k = 0.. while the tick is <= `end`.

    Integer arithmetic throughout (round half up), so tick k of a nanosecond timeline is exactly
    `start + round(k * 1e9 / fps)` with no float drift over hours.
    """
    if end < start:
        return np.empty(0, np.int64)
    step = per_second / fps  # timeline units per tick, exact
    if step < 1:
        raise LerobotNbError(
            f"fps={fps} is finer than the timeline's resolution ({float(per_second):g} steps per "
            "second): ticks would repeat"
        )
    num, den = step.numerator, step.denominator
    last = (end - start) * den // num + 1  # first k that is surely past the end, plus slack
    k = np.arange(last + 1, dtype=np.int64)
    ticks = start + (2 * k * num + den) // (2 * den)
    return ticks[ticks <= end]


def episode_span(
    times: Mapping[str, np.ndarray], *, span_stream: str | None = None, episode: str | None = None
) -> tuple[int, int]:
    """`(start, end)`: latest first sample .. earliest last sample over `times` (all non-empty).

    With `span_stream`, the span of that stream alone (other streams may then lack values at the
    edges; those ticks are dropped by the aligner).
    """
    if span_stream is not None:
        t = times[span_stream]
        return int(t[0]), int(t[-1])
    first_key = max(times, key=lambda k: times[k][0])
    last_key = min(times, key=lambda k: times[k][-1])
    start, end = int(times[first_key][0]), int(times[last_key][-1])
    if end < start:
        raise LerobotNbError(
            f"streams do not overlap in time: {last_key} ends before {first_key} starts",
            episode=episode,
            stream=first_key,
        )
    return start, end
