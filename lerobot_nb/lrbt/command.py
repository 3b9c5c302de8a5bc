"""What the three `lrbt` commands share: the spec's flags over the conversion flags, then a push."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lerobot_nb.cli.convert import StepsFactory, add_convert_arguments, convert_from_args
from lerobot_nb.cli.main import run_cli
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.hub.flags import add_push_arguments, push_request

__all__ = ["LrbtCommand", "default_output"]


def default_output(repo_id: str) -> Path:
    """lerobot's own folder for `repo_id` (`$HF_LEROBOT_HOME/<user>/<name>`), where it looks first."""
    from lerobot.utils.constants import HF_LEROBOT_HOME

    return Path(HF_LEROBOT_HOME) / repo_id


@dataclass(frozen=True)
class LrbtCommand:
    """One `lrbt` command: its name, its own flags, the inputs it reads and its defaults.

    `add_flags(parser)` adds the command's own flags; `inputs(args)` names the recordings;
    `defaults` are values for flags the user did not give (fps, language embedding, robot type);
    `steps` adds enrichment steps (the HaMeR hand step); `align_skip` leaves out alignment flags
    whose names the spec uses otherwise (`--task` of `lrbt.convert` names an xgym task).
    """

    prog: str
    description: str
    add_flags: Callable[[argparse.ArgumentParser], None]
    inputs: Callable[[argparse.Namespace], tuple[str, ...]]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    steps: StepsFactory | None = None
    align_skip: tuple[str, ...] = ()

    def parser(self) -> argparse.ArgumentParser:
        """The spec's flags first, then every conversion and Hub flag."""
        parser = argparse.ArgumentParser(prog=self.prog, description=self.description)
        self.add_flags(parser)
        add_convert_arguments(parser, server_skip=("server_url",), align_skip=self.align_skip)
        add_push_arguments(parser, push=True)
        return parser

    def main(self, argv: Sequence[str] | None = None) -> int:
        """Parse, write the dataset, push it when asked; `error: ...` and exit 2 on bad input."""
        args = self.parser().parse_args(argv)
        return run_cli(lambda: self.run(args))

    def run(self, args: argparse.Namespace) -> int:
        """Write the dataset (complete on disk first), then push it unless `--no-push`."""
        request = push_request(args)  # a missing --repo-id is said before any work
        output = Path(getattr(args, "output", None) or self._default_output(args))
        defaults = {**self.defaults, "output": str(output)}
        summary = convert_from_args(args, steps=self.steps, defaults=defaults, recordings=self.inputs(args))
        print(summary.render(), flush=True)
        if request is not None:
            from lerobot_nb.hub import push_dataset

            print(push_dataset(output, request), flush=True)
        return 0

    @staticmethod
    def _default_output(args: argparse.Namespace) -> Path:
        repo_id = getattr(args, "repo_id", "")
        if not repo_id:
            raise LerobotNbError(
                "pass --output DIR (or --repo-id user/name to write to lerobot's folder for it)"
            )
        return default_output(repo_id)

    def run_module(self) -> None:
        """`python -m lerobot_nb.lrbt.<name>`: exit with the command's code."""
        sys.exit(self.main())


def add_dir(parser: argparse.ArgumentParser, help: str) -> None:
    """The spec's `--dir` (the input folder, required)."""
    parser.add_argument("--dir", type=Path, required=True, metavar="DIR", help=help)
