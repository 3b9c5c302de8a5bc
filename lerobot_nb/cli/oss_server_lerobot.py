"""`oss_server_lerobot`: the reference conversion command (Rerun OSS server -> LeRobot v3 dataset).

Every flag of the reference spec (`--rrd-dir --output --dataset-name --fps --index --action-path
--state-path --task-path --image --action-column --state-column --task-column --video-format`)
plus this package's export flags. `--rrd-dir` also takes `.mcap` files or a server URL.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from lerobot_nb.cli.convert import add_convert_arguments, run_convert
from lerobot_nb.cli.main import run_cli

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The `oss_server_lerobot` parser: --rrd-dir (repeatable) and the convert flags but --server-url."""
    parser = argparse.ArgumentParser(
        prog="oss_server_lerobot",
        description="Read a directory of .rrd recordings via the Rerun OSS server API, align them at a "
        "target FPS and write a LeRobot v3 dataset to disk.",
    )
    parser.add_argument(
        "--rrd-dir",
        action="append",
        required=True,
        metavar="DIR|FILE|URL",
        help="folder of recordings (.rrd, .mcap, any format lerobot-nb reads), one recording, or a server URL "
        "(rerun+http://host:port) whose dataset --dataset-name is converted (repeatable)",
    )
    add_convert_arguments(parser, server_skip=("server_url",))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Convert the --rrd-dir recordings, or one server URL's dataset; returns the exit code (2: bad input)."""
    args = build_parser().parse_args(argv)

    def body() -> int:
        urls = [p for p in args.rrd_dir if "://" in p]
        if urls:
            if len(args.rrd_dir) > 1:
                from lerobot_nb.errors import LerobotNbError

                raise LerobotNbError("--rrd-dir takes either one server URL or recording paths, not both")
            return run_convert(args, server_url=urls[0])
        return run_convert(args, recordings=tuple(args.rrd_dir))

    return run_cli(body)


if __name__ == "__main__":
    sys.exit(main())
