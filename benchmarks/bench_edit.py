"""Dataset edits: frames per second of merge, trim and delete, this rewriter vs lerobot's dataset_tools.

Exports two datasets of `--episodes` synthetic episodes each (`--seconds` long, 30 fps, two
96x128 AV1 cameras: lerobot's default codec) with the project's writer, then times, on the same
inputs: merging the two (`merge_datasets` both sides), trimming every episode by 1 s at each end
(lerobot has no trim; the closest is `delete_episodes`, which cuts video by re-encoding), and
deleting one episode. Ours runs without validation (the `+ full validation` row shows its cost);
lerobot's times include opening the inputs as `LeRobotDataset`s, which its tools require.
Run once: `.venv/bin/python benchmarks/bench_edit.py [--episodes 10 --seconds 10]`.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from lerobot_nb.dataset import RewriteConfig, delete_episodes, merge_datasets, trim_episodes
from lerobot_nb.export import ExportConfig, export_dataset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_validate import FPS, episode  # the same synthetic episodes


def timed(func: Callable[[], object]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def _lerobot(root: Path):  # type: ignore[no-untyped-def]
    from lerobot.datasets import LeRobotDataset

    return LeRobotDataset(f"local/{root.name}", root=root, video_backend="pyav")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    from lerobot.datasets import dataset_tools

    n = int(args.seconds * FPS)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        inputs = []
        for name, first in (("a", 0), ("b", args.episodes)):
            out = tmp / name
            episodes = (episode(first + i, args.seconds) for i in range(args.episodes))
            export_dataset(episodes, ExportConfig(output=str(out), progress=False))
            inputs.append(out)
        a, b = inputs

        def ours(name: str, **kw: object) -> RewriteConfig:
            return RewriteConfig(output=str(tmp / name), progress=False, validate="off", **kw)  # type: ignore[arg-type]

        trims = {e: (FPS, n - FPS) for e in range(args.episodes)}
        rows = [
            (
                "merge 2 datasets",
                2 * args.episodes * n,
                timed(lambda: merge_datasets([a, b], ours("m"))),
                timed(
                    lambda: dataset_tools.merge_datasets([_lerobot(a), _lerobot(b)], "local/lm", tmp / "lm")
                ),
            ),
            (
                "trim 1 s at both ends (lerobot: delete 1)",
                args.episodes * (n - 2 * FPS),
                timed(lambda: trim_episodes(a, trims, ours("t"))),
                timed(lambda: dataset_tools.delete_episodes(_lerobot(a), [0], tmp / "lt", "local/lt")),
            ),
            (
                "delete 1 episode",
                (args.episodes - 1) * n,
                timed(lambda: delete_episodes(a, [0], ours("d"))),
                timed(lambda: dataset_tools.delete_episodes(_lerobot(a), [0], tmp / "ld", "local/ld")),
            ),
        ]
        full = timed(lambda: merge_datasets([a, b], RewriteConfig(output=str(tmp / "mv"), progress=False)))
    print(f"2 x {args.episodes} episodes of {n} frames, 2 cameras 96x128 AV1 at {FPS} fps")
    print(
        f"{'operation':44} {'frames':>7} {'ours s':>7} {'ours fr/s':>10} {'lerobot s':>10} {'lr fr/s':>8} {'speedup':>8}"
    )
    for label, frames, mine, theirs in rows:
        print(
            f"{label:44} {frames:7d} {mine:7.2f} {frames / mine:10.0f} {theirs:10.2f} "
            f"{frames / theirs:8.0f} {theirs / mine:7.1f}x"
        )
    merged = rows[0][1]
    print(f"{'merge 2 datasets + full validation (ours)':44} {merged:7d} {full:7.2f} {merged / full:10.0f}")


if __name__ == "__main__":
    main()
