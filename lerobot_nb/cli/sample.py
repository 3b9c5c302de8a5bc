"""`lerobot-nb sample OUT_DIR`: write the built-in PushT sample recordings (`.rrd` + one ROS 2 MCAP)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lerobot_nb.config import add_config_arguments, config_from_args


def register(sub: Any) -> None:
    """Add the `sample` subcommand to `sub`."""
    from lerobot_nb.sources.sample import SampleConfig

    parser: argparse.ArgumentParser = sub.add_parser(
        "sample",
        help="write sample PushT recordings (gym-pusht simulator) to a folder",
        description="Simulate PushT episodes with a scripted pushing policy and log them as Rerun "
        ".rrd recordings at native rates (OUT_DIR/rrd/), plus one ROS 2 MCAP episode (OUT_DIR/mcap/). "
        "The same seed gives the same data.",
    )
    parser.add_argument("out_dir", metavar="OUT_DIR", type=Path, help="folder to write into")
    add_config_arguments(parser, SampleConfig)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the sample recordings into OUT_DIR and print one line per episode; exit code 0."""
    from lerobot_nb.sources.sample import SampleConfig, read_sample_summary, write_sample_recordings

    config = config_from_args(SampleConfig, args)
    out: Path = args.out_dir
    if out.exists() and not out.is_dir():
        from lerobot_nb.errors import LerobotNbError

        raise LerobotNbError("exists and is not a folder", file=out)
    write_sample_recordings(out, config)
    rows = read_sample_summary(out)
    print(f"{'episode':<16} {'file':<26} {'seconds':>7} {'coverage start -> end (max)':>28}")
    for row in rows:
        cov = f"{row['coverage_start']:.2f} -> {row['coverage_end']:.2f} ({row['coverage_max']:.2f})"
        print(f"{row['episode']!s:<16} {row['file']!s:<26} {row['duration_s']:>7.1f} {cov:>28}")
    print(f"\nwrote {len(rows)} episodes to {out}; inspect them with `lerobot-nb inspect {out / 'rrd'}`")
    return 0
