"""`PushConfig`: where a finished dataset goes on the Hugging Face Hub (API keywords = CLI flags)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lerobot_nb.config import help_field
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.lerobot_v3.layout import CODEBASE_VERSION

__all__ = ["PushConfig"]

# The Hub's repo name rule (huggingface_hub.utils.validate_repo_id), with the namespace required:
# lerobot keeps datasets under HF_LEROBOT_HOME/<user>/<name>.
_REPO_ID = re.compile(r"^[\w.\-]{1,96}/[\w.\-]{1,96}$")
# git ref rules that matter for a branch typed on a command line (git check-ref-format, in short).
_BAD_BRANCH = re.compile(r"(^[-/.]|[/.]$|\.\.|//|@\{|[\s~^:?*\[\\]|\.lock$)")


@dataclass(frozen=True, kw_only=True)
class PushConfig:
    """A Hub dataset repository and how to publish into it.

    Invariant: `repo_id` is `user/name`; `branch` is None (the default branch, `main`) or a valid
    branch name other than the version tag lerobot reads (`v3.0`).
    """

    repo_id: str = help_field("", "Hub dataset repository as user/name", metavar="USER/NAME")
    branch: str | None = help_field(
        None, "branch to publish on, created from main when missing (default: main)", metavar="BRANCH"
    )
    private: bool | None = help_field(
        None,
        "create the repository private (--private) or public (--no-private); default: the Hub's "
        "default for the namespace. An existing repository must already have this visibility",
    )
    tags: tuple[str, ...] = help_field((), "tags for the dataset card, besides LeRobot", metavar="TAG")
    license: str | None = help_field("apache-2.0", "license identifier written in the dataset card")

    def __post_init__(self) -> None:
        if not self.repo_id:
            raise LerobotNbError("no Hub repository given: pass --repo-id user/name")
        if not _REPO_ID.match(self.repo_id) or ".." in self.repo_id or "--" in self.repo_id:
            raise LerobotNbError(
                f"--repo-id {self.repo_id!r} is not a Hub repository id: expected user/name "
                "(letters, digits, '-', '_', '.')"
            )
        if self.branch is not None:
            if not self.branch or _BAD_BRANCH.search(self.branch):
                raise LerobotNbError(f"--branch {self.branch!r} is not a valid branch name")
            if self.branch == CODEBASE_VERSION:
                raise LerobotNbError(
                    f"--branch {CODEBASE_VERSION} would shadow the {CODEBASE_VERSION} version tag lerobot "
                    "loads; choose another branch name"
                )
