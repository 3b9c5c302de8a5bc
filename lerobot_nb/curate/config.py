"""`CurateApplyConfig`: `curate apply`'s parameters (API keywords = CLI flags = notebook parameters)."""

from __future__ import annotations

from dataclasses import dataclass

from lerobot_nb.config import help_field
from lerobot_nb.dataset.config import RewriteConfig

__all__ = ["CurateApplyConfig"]


@dataclass(frozen=True, kw_only=True)
class CurateApplyConfig(RewriteConfig):
    """Apply a curation file to one dataset (or to several, merged in order) into a new dataset.

    The output options are `RewriteConfig`'s: always a new dataset, validated, published atomically.
    """

    curation: str = help_field(
        "", "the curation file (curation.yaml); without it every episode is kept", metavar="FILE"
    )
