"""Rerun `.rrd` recordings: served as they are; the recording id is the episode id.

An `.rrd` stream starts with a 12-byte header: the magic `RRF2`, the writer's version as
`[major, minor, patch, meta]` and the encoding options `[compression, serializer, 0, 0]`
(serializer 1 = MessagePack, used up to rerun 0.22; 2 = Protobuf, from 0.23). Rerun 0.41 reads
files written by rerun 0.23 and later only; `read_recording_id` says so (with the writer's
version and how to migrate) instead of Rerun's "truncated or corrupt"-looking decode error.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lerobot_nb.errors import LerobotNbError

if TYPE_CHECKING:
    from lerobot_nb.sources.discover import Recording

__all__ = ["OLDEST_READABLE", "RrdHeader", "read_header", "read_recording_id", "to_recordings"]

_MAGIC = b"RRF2"
#: The oldest writer version whose files rerun 0.41 reads (its protobuf encoding began in 0.23).
OLDEST_READABLE = (0, 23)

_MIGRATE_OLD = (
    "rerun 0.41 reads .rrd files written by rerun 0.23 or later, and its `rerun rrd migrate` refuses "
    "older ones; migrate with rerun 0.23 first: `pip install 'rerun-sdk==0.23.*'` in a separate "
    "environment, run `rerun rrd migrate FILE` there (it keeps FILE.backup.rrd), then use the new FILE"
)


@dataclass(frozen=True)
class RrdHeader:
    """The stream header: writer version (major, minor, patch) and the serializer id."""

    version: tuple[int, int, int]
    serializer: int

    @property
    def version_text(self) -> str:
        """The writer version as `major.minor.patch`, e.g. `0.23.1`."""
        return ".".join(str(v) for v in self.version)


def read_header(rrd: Path) -> RrdHeader | None:
    """The stream header of `rrd`, or None when the file does not start with one."""
    try:
        with rrd.open("rb") as fh:
            head = fh.read(12)
    except OSError:
        return None
    if len(head) < 12 or head[:4] != _MAGIC:
        return None
    return RrdHeader(version=(head[4], head[5], head[6]), serializer=head[9])


def _too_old(header: RrdHeader | None) -> bool:
    return header is not None and (header.version[:2] < OLDEST_READABLE or header.serializer == 1)


def read_recording_id(rrd: Path) -> str:
    """The id of the first recording store in an `.rrd` (the server's segment id)."""
    import rerun.chunk as rrc

    header = read_header(rrd)
    if _too_old(header):
        assert header is not None
        raise LerobotNbError(f"written by rerun {header.version_text}; {_MIGRATE_OLD}", file=rrd)
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


def _legacy_note(rrd: Path) -> tuple[str, ...]:
    """A note for a readable file without footer (written by rerun 0.23-0.2x): it loads, slowly."""
    import rerun.chunk as rrc

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rrc.RrdReader(rrd).store()
    except Exception:
        header = read_header(rrd)
        who = f"rerun {header.version_text}" if header else "an older rerun"
        return (
            f"written by {who} without a footer (legacy layout): it loads by reading the whole "
            "file; `rerun rrd migrate FILE` (rerun 0.41) rewrites it in the current layout",
        )
    return ()


def to_recordings(path: Path, cache_dir: Path) -> list[Recording]:
    """The `.rrd` itself, served as it is (`cache_dir` is not used)."""
    from lerobot_nb.sources.discover import Recording

    resolved = path.resolve()
    episode_id = read_recording_id(path)
    return [
        Recording(
            source=resolved, rrd=resolved, episode_id=episode_id, format="rrd", notes=_legacy_note(path)
        )
    ]
