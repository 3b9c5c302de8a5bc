"""`lerobot-nb prepare SRC[:EMBODIMENT] ... --output OUT`: datasets -> one dataset in the shared action space."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lerobot_nb.config import add_config_arguments, config_from_args

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    """Add the `prepare` subcommand to `sub`."""
    from lerobot_nb.prepare import PrepareConfig

    parser: argparse.ArgumentParser = sub.add_parser(
        "prepare",
        help="prepare datasets for training: embodiment remap, shared keys, actions from state, per-embodiment stats",
        description="Map each LeRobot v3.0 dataset's features to its embodiment's shared keys (eef_pos, eef_rot, "
        "gripper, joints; absent ones zero with a mask), make action[t] the state at t+1 (or its change), "
        "optionally explicit action chunks, compute statistics per embodiment, and write one new dataset at "
        "--output that lerobot-train uses as is: videos copied (never re-encoded), tasks and the features all "
        "sources share carried over, validated, published atomically. SRC is a dataset folder, SRC:NAME names "
        "its embodiment (else --embodiment). The inputs are only read.",
    )
    parser.add_argument(
        "datasets",
        nargs="+",
        metavar="SRC[:EMBODIMENT]",
        help="LeRobot v3.0 dataset folder(s), merged in order",
    )
    add_config_arguments(parser, PrepareConfig, skip=("datasets",))
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Prepare the datasets into one training dataset at --output and print its summary; exit code 0."""
    from lerobot_nb.prepare import PrepareConfig, prepare_datasets

    summary = prepare_datasets((), config_from_args(PrepareConfig, args, datasets=tuple(args.datasets)))
    print(summary.render(), file=sys.stdout, flush=True)
    return 0
