"""Server start-up: a folder of 20 sample episodes served and ready to query, against a 1 s budget.

Measures `with RecordingServer(...)` from nothing to a usable dataset (find files, read recording
ids, start the server on loopback, register all episodes, list them) and the shutdown, best and
median of several runs, plus the same with the 20 `.mcap` twins already converted (cache hit).
Run: `.venv/bin/python benchmarks/bench_server_start.py [--episodes 20 --repeat 5]`.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from lerobot_nb.server import RecordingServer, ServerConfig
from lerobot_nb.sources.sample import SampleConfig, sample_mcap, sample_recordings

BUDGET_S = 1.0


def _time_start(paths: list[str], cache: str, repeat: int, expect: int) -> tuple[list[float], list[float]]:
    starts, stops = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        server = RecordingServer(ServerConfig(recordings=tuple(paths), cache_dir=cache))
        server.__enter__()
        episodes = server.episodes
        t1 = time.perf_counter()
        server.__exit__(None, None, None)
        t2 = time.perf_counter()
        assert len(episodes) == expect, episodes
        starts.append(t1 - t0)
        stops.append(t2 - t1)
    return starts, stops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    t0 = time.perf_counter()
    folder = sample_recordings(config=SampleConfig(episodes=args.episodes, duration_s=4.0, mcap=False))
    print(f"sample set: {folder} ({time.perf_counter() - t0:.1f} s to generate or find)")
    size = sum(p.stat().st_size for p in folder.glob("*.rrd"))
    print(f"{args.episodes} episodes, {size / 2**20:.1f} MiB\n")

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cache = str(Path(tmp) / "cache")
        rows.append(("rrd folder", *_time_start([str(folder)], cache, args.repeat, args.episodes)))
        # The same episodes as files given one by one.
        files = sorted(str(p) for p in folder.glob("*.rrd"))
        rows.append(("rrd file list", *_time_start(files, cache, args.repeat, args.episodes)))
        # MCAP input with a warm conversion cache: 20 copies of the sample ROS 2 episode.
        mcap = sample_mcap()
        mdir = Path(tmp) / "mcap"
        mdir.mkdir()
        for i in range(args.episodes):
            shutil.copy(mcap, mdir / f"ros2_{i:03d}.mcap")
        t = time.perf_counter()
        _time_start([str(mdir)], cache, 1, args.episodes)  # first run converts
        convert_s = time.perf_counter() - t
        rows.append(("mcap folder, cached", *_time_start([str(mdir)], cache, args.repeat, args.episodes)))

    print(f"{'input':<22} {'start best':>10} {'median':>8} {'x budget':>9} {'shutdown':>9}")
    for name, starts, stops in rows:
        best, med = min(starts), statistics.median(starts)
        print(
            f"{name:<22} {best:>9.3f}s {med:>7.3f}s {med / BUDGET_S:>8.2f}x {statistics.median(stops):>8.3f}s"
        )
    print(f"\nbudget: {BUDGET_S:.1f} s to start with {args.episodes} episodes (x budget < 1 is within it)")
    print(f"first MCAP run (converting {args.episodes} files): {convert_s:.2f} s")


if __name__ == "__main__":
    main()
