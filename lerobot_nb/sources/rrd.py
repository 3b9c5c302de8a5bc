"""Rerun `.rrd` recordings: served as they are; the recording id is the episode id."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from lerobot_nb.errors import LerobotNbError

if TYPE_CHECKING:
    from lerobot_nb.sources.discover import Recording

__all__ = ["read_recording_id", "to_recordings"]


def read_recording_id(rrd: Path) -> str:
    """The id of the first recording store in an `.rrd` (the server's segment id)."""
    import rerun.chunk as rrc

    try:
        with warnings.catch_warnings():
            # A file without footer (old format, or cut off) warns before failing or scanning.
            warnings.simplefilter("ignore")
            stores = rrc.RrdReader(rrd).recordings()
    except Exception as exc:  # rerun raises plain ValueError/IOError with long messages
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        # "Failed to read RRD file at <path>: <why>": the path is already in front of the message.
        reason = reason.split(f"{rrd}: ", 1)[-1]
        raise LerobotNbError(
            f"not a readable Rerun recording, truncated or corrupt ({reason})", file=rrd
        ) from None
    if not stores:
        raise LerobotNbError("holds no recording (only blueprints or nothing)", file=rrd)
    return str(stores[0].recording_id)


def to_recordings(path: Path, cache_dir: Path) -> list[Recording]:
    """The `.rrd` itself, served as it is (`cache_dir` is not used)."""
    from lerobot_nb.sources.discover import Recording

    resolved = path.resolve()
    return [Recording(source=resolved, rrd=resolved, episode_id=read_recording_id(path), format="rrd")]
