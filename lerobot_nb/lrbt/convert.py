"""`python -m lerobot_nb.lrbt.convert --embodiment single --task lift --version 1.0.0`: an xgym RLDS set -> dataset.

Reads the TFDS builder `xgym_<task>_<embodiment>` at `<version>` where `tfds.load` finds it
(`--data-dir`, else `$TFDS_DATA_DIR`, else `~/tensorflow_datasets`), or any TFDS/RLDS folder given
with `--dir`, without TensorFlow. One step = one frame at `--fps` (xgym records at 50 Hz, the default).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lerobot_nb.lrbt.command import LrbtCommand

__all__ = ["COMMAND", "main"]

EMBODIMENTS = ("single", "mano")


def _flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("xgym dataset")
    group.add_argument(
        "--embodiment", choices=EMBODIMENTS, default="single", help="xgym embodiment (default: single)"
    )
    group.add_argument(
        "--task", default="lift", help="xgym task: lift, stack, duck, pour, ... (default: lift)"
    )
    group.add_argument(
        "--version", default=None, help="TFDS version of the builder, e.g. 1.0.0 (default: the only one)"
    )
    group.add_argument(
        "--data-dir", type=Path, default=None, help="TFDS data folder (default: $TFDS_DATA_DIR)"
    )
    group.add_argument("--dir", type=Path, default=None, help="read this TFDS/RLDS folder instead")


def _inputs(args: argparse.Namespace) -> tuple[str, ...]:
    """The builder folder: `--dir`, or TFDS's place for `xgym_<task>_<embodiment>[/<version>]`."""
    from lerobot_nb.sources.rlds import builder_dir

    if args.dir is not None:
        return (str(args.dir),)
    name = f"xgym_{args.task}_{args.embodiment}"
    folder = builder_dir(name, args.version or "", args.data_dir)
    return (str(folder if args.version else folder.parent),)


COMMAND = LrbtCommand(
    prog="lrbt-convert",
    description=__doc__ or "",
    add_flags=_flags,
    inputs=_inputs,
    defaults={"fps": 50, "language_embedding": "npy", "robot_type": "xarm"},
    align_skip=("task",),
)
main = COMMAND.main

if __name__ == "__main__":
    COMMAND.run_module()
