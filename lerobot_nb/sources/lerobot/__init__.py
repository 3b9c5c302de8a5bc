"""Existing LeRobot datasets (v2.0, v2.1, v3.0 folders) as input: read directly, or served as `.rrd`.

`open_reader(path)` is the ticked reader the pipeline uses (`lerobot-nb convert DATASET`,
`lerobot-nb hands --lerobot DATASET`, notebook 04); `to_recordings` writes each episode as an
`.rrd` for the Rerun server (`lerobot-nb inspect DATASET`, notebook 01, the viewer).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from lerobot_nb.sources.lerobot.layout import SUPPORTED_VERSIONS, open_dataset
from lerobot_nb.sources.lerobot.reader import LeRobotReader, Timing, episode_list, episode_timing

if TYPE_CHECKING:
    from lerobot_nb.sources.discover import Recording

__all__ = [
    "SUPPORTED_VERSIONS",
    "LeRobotReader",
    "Timing",
    "episode_timing",
    "open_dataset",
    "open_reader",
    "to_recordings",
]


def open_reader(path: Path) -> LeRobotReader:
    """The ticked reader of a LeRobot dataset folder (one-line errors for what it cannot read)."""
    return LeRobotReader(path)


def to_recordings(path: Path, cache_dir: Path) -> list[Recording]:
    """Every episode whose data file is there as a cached `.rrd` (the others are named in a warning)."""
    from lerobot_nb.sources.discover import Recording

    reader = LeRobotReader(path)
    defaults = reader.defaults()
    present = [e for e in reader.episode_ids() if reader.dataset.data_path(reader.episode_index(e)).is_file()]
    absent = [e for e in reader.episode_ids() if e not in present]
    if absent:
        warnings.warn(
            f"{path}: {len(absent)} of the {len(absent) + len(present)} episodes listed in "
            f"{reader.dataset.listed_in} have no data file and are not served ({episode_list(absent)})",
            UserWarning,
            stacklevel=2,
        )
    return [
        Recording(
            source=Path(path).resolve(),
            rrd=reader.to_rrd(e, cache_dir).resolve(),
            episode_id=e,
            format="lerobot",
            defaults=defaults,
            timelines=reader.timelines(),
        )
        for e in present
    ]
