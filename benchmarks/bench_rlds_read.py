"""RLDS read speed on real BridgeData (octo's debug set: 2 splits x 25 episodes x 10 steps, 4 JPEG cameras 64x64).

Prints steps per second for: opening the folder (scanning every shard's record headers), reading
episodes (CRC check, protobuf parse, every numeric feature decoded, black-camera check), reading
and decoding every camera frame, and reading plus aligning (`iter_recorded`, 3 cameras, fps 5).
Run: `.venv/bin/python benchmarks/bench_rlds_read.py [--path BUILDER_DIR] [--repeat 3]`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from lerobot_nb.align import AlignConfig, iter_recorded
from lerobot_nb.episode import AlignedEpisode
from lerobot_nb.sources.rlds import open_reader

DEFAULT = (
    Path(__file__).resolve().parents[1].parent / "shared/fixtures/real/bridge_rlds_octo/bridge_dataset/1.0.0"
)


def best_of(fn: Callable[[], int], repeat: int) -> tuple[float, int]:
    """Fastest wall time of `fn` over `repeat` runs, and the steps it handled."""
    best, steps = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        steps = fn()
        best = min(best, time.perf_counter() - start)
    return best, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", type=Path, default=DEFAULT)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    reader = open_reader(args.path)
    ids = reader.episode_ids()

    def read() -> int:
        return sum(len(reader.read(e).numeric["/steps/action"].times) for e in ids)

    def read_frames() -> int:
        n = 0
        for e in ids:
            rec = reader.read(e)
            for images in rec.images.values():
                n += sum(1 for _ in images.frames(images.times))
        return n // max(1, len(rec.images))

    def read_align() -> int:
        config = AlignConfig(**{**reader.defaults(), "fps": 5})
        n = 0
        for ep in iter_recorded(reader, config):
            assert isinstance(ep, AlignedEpisode)
            n += ep.length
            for frames in ep.images.values():
                sum(1 for _ in frames)
        return n

    rows = [
        ("open (scan headers)", best_of(lambda: len(open_reader(args.path).episode_ids()) * 10, args.repeat)),
        ("read episodes (numeric)", best_of(read, args.repeat)),
        ("read + decode 4 cameras", best_of(read_frames, args.repeat)),
        ("read + align (3 cameras)", best_of(read_align, args.repeat)),
    ]
    print(f"{len(ids)} episodes from {args.path}")
    print(f"{'what':28} {'seconds':>9} {'steps':>7} {'steps/s':>10}")
    for name, (seconds, steps) in rows:
        print(f"{name:28} {seconds:9.3f} {steps:7d} {steps / seconds:10.0f}")


if __name__ == "__main__":
    main()
