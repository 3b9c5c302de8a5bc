"""`lerobot-nb`: one subcommand per module in this package, each exposing `register(subparsers)`."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence

from lerobot_nb.errors import LerobotNbError

__all__ = ["SUBCOMMANDS", "main", "run_cli"]

#: Subcommand modules under `lerobot_nb.cli`, in the order `--help` lists them (the data flow).
SUBCOMMANDS = (
    "sample",
    "inspect",
    "align",
    "hands",
    "convert",
    "validate",
    "stats",
    "curate",
    "prepare",
    "push",
    "notebooks",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lerobot-nb",
        description="Turn robot recordings (Rerun, MCAP, ROS bags, xgym, RLDS, LeRobot datasets) into LeRobot v3.0 datasets.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"lerobot_nb.cli.{name}").register(sub)
    return parser


def run_cli(func: Callable[[], int]) -> int:
    """Run a command body: a `LerobotNbError` becomes one `error:` line and exit code 2."""
    try:
        return func()
    except LerobotNbError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv` (default: `sys.argv[1:]`) and run the subcommand; returns the exit code."""
    # Rerun's Rust side logs importer warnings (e.g. repeated MCAP metadata keys) straight to
    # stderr; on the command line they would add lines to the one-line errors. RUST_LOG=warn
    # brings them back.
    os.environ.setdefault("RUST_LOG", "error")
    parser = build_parser()
    args = parser.parse_args(argv)
    return run_cli(lambda: int(args.func(args) or 0))


if __name__ == "__main__":
    sys.exit(main())
