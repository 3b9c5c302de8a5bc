"""The Hub flags any command that writes a dataset can offer: `--push/--no-push`, `--repo-id`, `--branch`, ...

A command adds them with `add_push_arguments`, reads them with `push_request` before it writes
(bad flags fail before any work), and calls `push_dataset` once its dataset is complete on disk.
"""

from __future__ import annotations

import argparse
import dataclasses

from lerobot_nb.config import add_config_arguments, config_from_args
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.hub.config import PushConfig

__all__ = ["add_push_arguments", "push_request"]


def add_push_arguments(parser: argparse.ArgumentParser, *, push: bool | None = True) -> None:
    """Add the `PushConfig` flags in a "Hugging Face Hub" group.

    With `push` a bool, also `--push/--no-push` defaulting to it (the xgym commands push, as the
    spec does); `None` leaves it out (`lerobot-nb push` always pushes). `--tags` takes one or more
    values and may repeat (`--tags xgym lift --tags v0.1`).
    """
    group = parser.add_argument_group("Hugging Face Hub")
    if push is not None:
        group.add_argument(
            "--push",
            action=argparse.BooleanOptionalAction,
            default=push,
            help="publish the dataset to the Hub once it is written (needs --repo-id and a token)"
            + (" (default: push)" if push else ""),
        )
    add_config_arguments(group, PushConfig, skip=("tags",))
    tags = next(f for f in dataclasses.fields(PushConfig) if f.name == "tags")
    group.add_argument(
        "--tags",
        nargs="+",
        action="extend",
        default=argparse.SUPPRESS,
        metavar="TAG",
        help=tags.metadata["help"],
    )


def push_request(args: argparse.Namespace) -> PushConfig | None:
    """The push the flags ask for, or None with `--no-push`; raises `LerobotNbError` on bad flags.

    Call it before writing the dataset, so a missing `--repo-id` is said before any work.
    """
    if not getattr(args, "push", True):
        return None
    if hasattr(args, "push") and not getattr(args, "repo_id", ""):
        raise LerobotNbError("--push needs --repo-id user/name (or pass --no-push to only write the dataset)")
    return config_from_args(PushConfig, args)
