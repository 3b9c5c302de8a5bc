"""`PrepareConfig`: `prepare`'s parameters (API keywords = CLI flags = notebook parameters)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lerobot_nb.config import help_field
from lerobot_nb.dataset.config import RewriteConfig
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.prepare.normalize import Normalization

__all__ = ["PrepareConfig"]


@dataclass(frozen=True, kw_only=True)
class PrepareConfig(RewriteConfig):
    """Training preparation of one or more datasets into a new one (the output options are
    `RewriteConfig`'s: always a new dataset, validated, published atomically).

    A source names its embodiment as `SRC:NAME`; `embodiment` is the one of every source that does not.
    """

    datasets: tuple[str, ...] = help_field(
        (),
        "the LeRobot v3.0 dataset folders, each SRC or SRC:EMBODIMENT, merged in order (the CLI's positionals)",
    )
    embodiment: str = help_field(
        "",
        "embodiment of every dataset that does not name its own as SRC:NAME (shipped: xarm7, mano, so100, "
        "so101, aloha, pusht; more with --embodiment-file)",
        metavar="NAME",
    )
    embodiment_file: tuple[str, ...] = help_field(
        (), "YAML file of more embodiments, same format as the shipped one (repeatable)", metavar="FILE"
    )
    action_mode: Literal["absolute", "delta"] = help_field(
        "absolute", "action[t] = state[t+1] (absolute) or state[t+1] - state[t] (delta)"
    )
    horizon: int | None = help_field(
        None,
        "also write action_chunk (the next H actions, H x D flattened), action_chunk_is_pad and "
        "mask.action_chunk, for consumers that do not use lerobot's delta_timestamps",
        metavar="H",
    )
    normalization: Normalization = help_field(
        "mean_std",
        "the lerobot normalization mode the dataset is prepared for (MEAN_STD, MIN_MAX, QUANTILES, "
        "QUANTILE10): what --normalize-per-embodiment applies, recorded in meta/embodiments.json",
    )
    normalize_per_embodiment: bool | None = help_field(
        None,
        "store observation.state / action (/ action_chunk) normalized with each embodiment's own stats, so "
        "one embodiment's range does not squash another's (default: when several embodiments are merged)",
    )
    joints: int | None = help_field(
        None, "size of the shared joints key (default: the most joints of the embodiments prepared)"
    )
    keep_cameras: tuple[str, ...] = help_field(
        (),
        "camera to keep, by key (top or observation.images.top; repeatable; default: every camera)",
        metavar="KEY",
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.horizon is not None and self.horizon < 1:
            raise LerobotNbError(f"horizon={self.horizon} must be >= 1")
        if self.joints is not None and self.joints < 0:
            raise LerobotNbError(f"joints={self.joints} must be >= 0")
