"""`RewriteConfig`: where and how an edit plan becomes a new dataset (API keywords = CLI flags)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lerobot_nb.config import help_field
from lerobot_nb.errors import LerobotNbError

__all__ = ["RewriteConfig"]


@dataclass(frozen=True, kw_only=True)
class RewriteConfig:
    """The output of a dataset rewrite; file limits default to the (first) input dataset's.

    The dataset is built in a hidden folder beside `output`, validated there and published by an
    atomic rename: `output` never holds a half-written or invalid dataset, and no input is touched.
    """

    output: str = help_field("", "folder of the new LeRobot dataset", metavar="DIR")
    overwrite: bool = help_field(False, "replace an existing dataset at --output (atomically, at the end)")
    validate: Literal["full", "quick", "off"] = help_field(
        "full",
        "validate the new dataset before publishing it: full = every lerobot_nb.validate check "
        "(decodes every video frame, opens it with lerobot); quick = without decoding video and "
        "without lerobot's loader; off",
    )
    chunks_size: int | None = help_field(None, "files per chunk folder (default: the input's)")
    data_files_size_in_mb: float | None = help_field(
        None, "roll data parquet files at this size in MB (default: the input's)"
    )
    video_files_size_in_mb: float | None = help_field(
        None, "roll video files at this size in MB (default: the input's)"
    )
    progress: bool = help_field(True, "show a progress bar")

    def __post_init__(self) -> None:
        if self.validate not in ("full", "quick", "off"):
            raise LerobotNbError(f"validate={self.validate!r} is not one of full, quick, off")
        for name in ("chunks_size", "data_files_size_in_mb", "video_files_size_in_mb"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise LerobotNbError(f"{name}={value} must be > 0")
