"""`lerobot-nb stats PATH`: show a dataset's feature stats; `--recompute` repairs them in place, safely."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.tables import render_table

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    """Add the `stats` subcommand to `sub`."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "stats",
        help="show or recompute a LeRobot dataset's feature statistics",
        description="Without flags, print meta/stats.json as a table. With --recompute, recompute every "
        "feature's statistics from the data (as lerobot 0.6.1 does) and rewrite meta/stats.json and the "
        "per-episode stats in meta/episodes: the new meta/ is written aside and swapped in by rename.",
    )
    parser.add_argument("path", metavar="PATH", help="dataset root folder (holds meta/info.json)")
    parser.add_argument(
        "--recompute", action="store_true", help="recompute the stats and repair them in place"
    )
    parser.set_defaults(func=run)


def _table(stats: dict[str, dict[str, Any]]) -> str:
    """One row per feature: count, and min / max / mean / std folded over its dimensions."""
    rows = []
    for key, s in stats.items():
        v = {n: np.asarray(s[n], dtype=np.float64).ravel() for n in ("min", "max", "mean", "std", "count")}
        rows.append(
            {
                "feature": key,
                "count": int(v["count"][0]),
                "min": float(v["min"].min()),
                "max": float(v["max"].max()),
                "mean": float(v["mean"].mean()),
                "std": float(v["std"].mean()),
            }
        )
    return render_table(rows, ("feature", "count", "min", "max", "mean", "std"), floats=".4g")


def run(args: argparse.Namespace) -> int:
    """Print meta/stats.json as a table; with --recompute rewrite it from the data first. Exit code 0."""
    from lerobot_nb.stats import stats_to_json
    from lerobot_nb.validate import recompute_stats

    root = Path(args.path)
    if args.recompute:
        stats = stats_to_json(recompute_stats(root))
        print(f"{root}: recomputed stats of {len(stats)} features from the data")
    else:
        path = root / "meta" / "stats.json"
        if not path.is_file():
            raise LerobotNbError("no meta/stats.json; run `lerobot-nb stats --recompute PATH`", file=root)
        stats = json.loads(path.read_text())
    print(_table(stats))
    return 0
