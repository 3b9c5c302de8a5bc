"""`lerobot-nb convert`: recordings (.rrd/.mcap files or folders, or a server URL) -> LeRobot v3.0 dataset."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lerobot_nb.align import AlignConfig
from lerobot_nb.config import add_config_arguments, config_from_args
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.export.config import ExportConfig
from lerobot_nb.server import ServerConfig

__all__ = ["add_convert_arguments", "register", "run", "run_convert"]


def add_convert_arguments(parser: argparse.ArgumentParser, *, server_skip: tuple[str, ...] = ()) -> None:
    """Flags of the three configs, one group each; flag names are the config field names."""
    add_config_arguments(
        parser.add_argument_group("recordings / server"), ServerConfig, skip=("recordings", *server_skip)
    )
    add_config_arguments(parser.add_argument_group("alignment"), AlignConfig)
    add_config_arguments(parser.add_argument_group("export"), ExportConfig)


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "convert",
        help="convert recordings into a LeRobot v3.0 dataset",
        description="Serve the recordings on a local Rerun server (or use --server-url), align every "
        "episode on the k/fps grid and write a LeRobot v3.0 dataset, published atomically at --output.",
    )
    parser.add_argument("recordings", nargs="*", metavar="PATH", help=".rrd/.mcap files or folders of them")
    add_convert_arguments(parser)
    parser.set_defaults(func=run)


def run_convert(args: argparse.Namespace, **server_overrides: Any) -> int:
    """Build the configs from parsed flags, convert, print the summary table; exit code 0."""
    from lerobot_nb.pipeline import convert

    server = config_from_args(ServerConfig, args, **server_overrides)
    if not server.recordings and not server.server_url:
        raise LerobotNbError("no recordings given (pass files or folders, or --server-url)")
    export = config_from_args(ExportConfig, args)
    if not export.output:
        raise LerobotNbError("--output is required")
    summary = convert(server, config_from_args(AlignConfig, args), export)
    print(summary.render(), file=sys.stdout, flush=True)
    return 0


def run(args: argparse.Namespace) -> int:
    return run_convert(args, recordings=tuple(args.recordings))
