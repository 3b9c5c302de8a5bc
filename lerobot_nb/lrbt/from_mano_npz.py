"""`python -m lerobot_nb.lrbt.from_mano_npz --dir DIR --repo-id user/name --hamer.host H --hamer.port P`.

xgym's human demonstrations: `ep*.npz` camera arrays (and the folder's `task-*.npy`), each frame
sent to a HaMeR server; the hands come back as `observation.hands.*` features (keypoints in the
camera and world frames, MANO parameters), at xgym's 50 fps, with the task embedding as
`observation.language_embedding`. The same hand step as `lerobot-nb hands --backend hamer`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from lerobot_nb.align import AlignConfig
from lerobot_nb.cli.hands import add_hand_arguments
from lerobot_nb.config import config_from_mapping, given_args
from lerobot_nb.enrich.hands.enrich import HandPoseConfig
from lerobot_nb.lrbt.command import LrbtCommand, add_dir
from lerobot_nb.pipeline import HandPoseStep

__all__ = ["COMMAND", "main"]


def _flags(parser: argparse.ArgumentParser) -> None:
    add_dir(parser, "folder of ep*.npz episodes (camera arrays) and their task-*.npy")
    add_hand_arguments(parser)


def _hand_step(args: argparse.Namespace, align: AlignConfig) -> Sequence[HandPoseStep]:
    """HaMeR unless `--backend` says otherwise; xgym looks at its `low` camera."""
    values = {"backend": "hamer", **given_args(HandPoseConfig, args)}
    return [HandPoseStep(config_from_mapping(HandPoseConfig, values))]


COMMAND = LrbtCommand(
    prog="lrbt-from-mano-npz",
    description=__doc__ or "",
    add_flags=_flags,
    inputs=lambda args: (str(args.dir),),
    defaults={"fps": 50, "language_embedding": "npy", "robot_type": "human"},
    steps=_hand_step,
)
main = COMMAND.main

if __name__ == "__main__":
    COMMAND.run_module()
