"""Find `.rrd` and `.mcap` recordings in files and folders and read their recording ids."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lerobot_nb.errors import LerobotNbError

__all__ = ["RECORDING_SUFFIXES", "Recording", "discover_recordings", "read_recording_id"]

RECORDING_SUFFIXES = (".rrd", ".mcap")


@dataclass(frozen=True)
class Recording:
    """One recording to serve: `rrd` is what the server registers (converted for MCAP input)."""

    source: Path
    rrd: Path
    episode_id: str

    @property
    def kind(self) -> str:
        return self.source.suffix.lstrip(".")


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


def _candidate_files(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if not path.exists():
            raise LerobotNbError("no such file or folder", file=path)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in RECORDING_SUFFIXES and p.is_file())
            if not found:
                raise LerobotNbError("folder holds no .rrd or .mcap recordings", file=path)
            files += found
        elif path.suffix in RECORDING_SUFFIXES:
            files.append(path)
        else:
            raise LerobotNbError("not a recording (expected .rrd or .mcap)", file=path)
    return files


def discover_recordings(
    paths: Path | str | Iterable[Path | str],
    *,
    cache_dir: Path | None = None,
    on_duplicate: Literal["error", "skip", "replace"] = "error",
) -> list[Recording]:
    """Every recording under `paths`, MCAP converted to cached `.rrd`, in sorted path order.

    Two files with the same recording id are an error naming both, unless `on_duplicate` is
    `skip` (keep the first in path order) or `replace` (keep the last).
    """
    from lerobot_nb.sources.mcap import mcap_to_rrd

    items = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    if not items:
        raise LerobotNbError("no input recordings given")
    by_id: dict[str, Recording] = {}
    for file in _candidate_files(items):
        if file.suffix == ".mcap":
            rrd, episode_id = mcap_to_rrd(file, cache_dir=cache_dir)
        else:
            rrd, episode_id = file, read_recording_id(file)
        rec = Recording(source=file.resolve(), rrd=rrd.resolve(), episode_id=episode_id)
        if episode_id in by_id:
            first = by_id[episode_id]
            if on_duplicate == "error":
                raise LerobotNbError(
                    f"recording id {episode_id!r} also in {first.source} "
                    "(pass on_duplicate='skip' or 'replace', CLI --on-duplicate)",
                    file=file,
                )
            if on_duplicate == "skip":
                continue
        by_id[episode_id] = rec
    return list(by_id.values())
