"""Alignment throughput: 1 h of 7-DoF state at 200 Hz + 6-DoF action at 100 Hz (jittered) onto 30 fps.

Prints source rows per second for the numpy core (per policy) and for the whole server path
(`align_episode`: query, checks, grid, resampling, report) with the default numpy latest-at and
with the server's own latest-at (`--pushdown`), against the 1 M rows/s target. Run: `.venv/bin/python benchmarks/bench_align.py [--minutes 60]`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from lerobot_nb.align import AlignConfig, align_episode
from lerobot_nb.align.grid import grid_ticks, units_per_second
from lerobot_nb.align.resample import resample
from lerobot_nb.server import RecordingServer, ServerConfig

TARGET = 1_000_000  # source rows per second
T0 = 1_700_000_000_000_000_000


def jittered(rng: np.random.Generator, rate: float, seconds: float) -> np.ndarray:
    n = int(rate * seconds)
    t = (np.arange(n) + rng.uniform(-0.3, 0.3, n)) / rate
    return np.unique(T0 + np.round(np.clip(t, 0, None) * 1e9).astype(np.int64))


def best_of(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    seconds = args.minutes * 60
    state_t, action_t = jittered(rng, 200, seconds), jittered(rng, 100, seconds)
    state_v = rng.normal(size=(len(state_t), 7))
    action_v = rng.normal(size=(len(action_t), 6))
    rows = len(state_t) + len(action_t)
    start, end = max(state_t[0], action_t[0]), min(state_t[-1], action_t[-1])
    ticks = grid_ticks(int(start), int(end), args.fps, units_per_second("real_time", "timestamp", None))
    print(
        f"{args.minutes:g} min: state {len(state_t):,} rows (7-d, 200 Hz), action {len(action_t):,} rows "
        f"(6-d, 100 Hz) -> {len(ticks):,} ticks at {args.fps} fps\n"
    )
    results: list[tuple[str, float]] = []
    for policy in ("latest", "nearest", "linear"):
        secs = best_of(
            lambda p=policy: (
                resample(state_t, state_v, ticks, p),  # type: ignore[misc]
                resample(action_t, action_v, ticks, p),
            ),
            args.repeat,
        )
        results.append((f"numpy core, {policy}", secs))

    with tempfile.TemporaryDirectory() as tmp:
        import rerun as rr

        path = Path(tmp) / "bench.rrd"
        rec = rr.RecordingStream("lerobot_nb_bench", recording_id="bench")
        rec.save(path)
        for entity, t, v in (("/observation/state", state_t, state_v), ("/action", action_t, action_v)):
            rec.send_columns(
                entity,
                indexes=[rr.TimeColumn("real_time", timestamp=t.astype("datetime64[ns]"))],
                columns=rr.Scalars.columns(scalars=v),
            )
        rec.flush()
        rec.disconnect()
        with RecordingServer(ServerConfig(recordings=(str(path),))) as server:
            for label, cfg in (
                ("server path, default (numpy)", AlignConfig(fps=args.fps, task="bench")),
                ("server path, --pushdown", AlignConfig(fps=args.fps, task="bench", pushdown=True)),
                ("server path, linear", AlignConfig(fps=args.fps, task="bench", policy="linear")),
            ):
                ep = align_episode(server.dataset, "bench", cfg)  # warm-up (and sanity check)
                assert ep.length > 0.99 * len(ticks)
                secs = best_of(lambda c=cfg: align_episode(server.dataset, "bench", c), args.repeat)  # type: ignore[misc]
                results.append((label, secs))

    print(f"{'path':<34} {'seconds':>8} {'source rows/s':>15} {'x target':>9}")
    for label, secs in results:
        rate = rows / secs
        print(f"{label:<34} {secs:>8.3f} {rate:>15,.0f} {rate / TARGET:>9.1f}")


if __name__ == "__main__":
    main()
