"""ROS bags (ROS 1 `.bag`, ROS 2 `.db3`, rosbag2 folders) to `.rrd`, cached by content.

A bag is rewritten as one ROS 2 CDR MCAP by `rosbags`' own converter (`rosbags.convert`: ROS 1
messages become their ROS 2 form, the header loses `seq`, `time` becomes
`builtin_interfaces/Time`; rosbag2 message compression is undone; splits are joined), and that
MCAP goes through the MCAP path (`mcap.convert_mcap`). So a bag gets exactly the message coverage
and naming of a ROS 2 MCAP: what Rerun's importer decodes, with the same entities and timelines
(`ros2_timestamp` from header stamps, `message_log_time` = the bag's receive time).

A rosbag2 folder with MCAP storage skips the rewrite: its split files go to the MCAP path as they
are (it undoes per-message compression itself), also when `metadata.yaml` lists splits that are not
there (a partial copy), with a note naming the missing ones.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.sources.mcap import Converted, cache_entry, cached, convert_into

if TYPE_CHECKING:
    from lerobot_nb.sources.discover import Recording

__all__ = ["bag_to_rrd", "is_rosbag2_folder", "to_recordings"]

_METADATA = "metadata.yaml"


def is_rosbag2_folder(path: Path) -> bool:
    """True for a folder holding a rosbag2 `metadata.yaml` (the folder is one recording)."""
    meta = path / _METADATA
    if not (path.is_dir() and meta.is_file()):
        return False
    with meta.open("rb") as fh:
        return b"rosbag2_bagfile_information" in fh.read(4096)


def _read_metadata(folder: Path) -> dict[str, Any]:
    import yaml

    try:
        info = yaml.safe_load((folder / _METADATA).read_text())["rosbag2_bagfile_information"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise LerobotNbError(f"unreadable rosbag2 {_METADATA} ({exc})", file=folder) from None
    if not isinstance(info, dict):
        raise LerobotNbError(f"unreadable rosbag2 {_METADATA}", file=folder)
    return info


def _storage_files(folder: Path, info: dict[str, Any]) -> tuple[list[Path], list[str]]:
    """(present, missing) storage files listed in the metadata, in their recorded order."""
    names = [Path(str(p)).name for p in info.get("relative_file_paths") or []]
    present = [folder / n for n in names if (folder / n).is_file()]
    return present, [n for n in names if not (folder / n).is_file()]


def _rosbags_to_mcap(source: Path, work: Path) -> list[Path]:
    """`source` (a `.bag`, a `.db3` or a rosbag2 folder) as ROS 2 MCAP storage files in `work`."""
    from rosbags.convert.converter import ConverterError, convert
    from rosbags.typesys import Stores, get_typestore

    dst = work / "bag"
    try:
        # The converter prints a line per migrated message type: not the user's business.
        with contextlib.redirect_stdout(io.StringIO()):
            convert(
                srcs=[source],
                dst=dst,
                dst_storage="mcap",
                dst_version=8,
                compress=None,
                compress_mode="file",
                # Bags without embedded definitions (older .db3) use the standard ROS 2 types.
                default_typestore=get_typestore(Stores.ROS2_HUMBLE),
                typestore=None,
                exclude_topics=[],
                include_topics=[],
                exclude_msgtypes=[],
                include_msgtypes=[],
            )
    except (ConverterError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise LerobotNbError(f"cannot read the bag ({reason})", file=source) from None
    files = sorted(dst.glob("*.mcap")) if dst.is_dir() else []
    if not files:
        raise LerobotNbError("the bag holds no messages", file=source)
    return files


def _key_files(source: Path) -> list[Path]:
    if source.is_dir():
        info = _read_metadata(source)
        return [source / _METADATA, *_storage_files(source, info)[0]]
    return [source]


def _mcap_folder(folder: Path, info: dict[str, Any], cache_dir: Path | None) -> Converted | None:
    """A rosbag2 folder of MCAP splits goes straight to the MCAP path (which undoes message
    compression itself), also when some splits are missing (with a note). None: not such a folder
    (sqlite3 storage, or whole-file compression), for `rosbags` to read."""
    if (
        str(info.get("storage_identifier")) != "mcap"
        or str(info.get("compression_mode", "")).lower() == "file"
    ):
        return None
    present, missing = _storage_files(folder, info)
    if not present:
        raise LerobotNbError(
            f"storage files listed in {_METADATA} are missing: {', '.join(missing)}", file=folder
        )
    notes: tuple[str, ...] = ()
    if missing:
        shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
        notes = (
            f"{_METADATA} lists {len(present) + len(missing)} storage files, {len(missing)} missing "
            f"({shown}): converted the {len(present)} present",
        )
    target = cache_entry(folder.name, [folder / _METADATA, *present], cache_dir)
    return cached(target, folder.name, notes) or convert_into(
        target, present, episode_id=folder.name, source=folder, notes=notes
    )


def bag_to_rrd(source: Path, *, cache_dir: Path | None = None) -> Converted:
    """`source` (`.bag`, `.db3` or a rosbag2 folder) as a cached `.rrd`; recording id = file stem
    or folder name. Converted once per content, like MCAP."""
    if source.is_dir():
        info = _read_metadata(source)
        direct = _mcap_folder(source, info, cache_dir)
        if direct is not None:
            return direct
        missing = _storage_files(source, info)[1]
        if missing:
            raise LerobotNbError(
                f"storage files listed in {_METADATA} are missing: {', '.join(missing)}", file=source
            )
    episode_id = source.name if source.is_dir() else source.stem
    target = cache_entry(episode_id, _key_files(source), cache_dir)
    hit = cached(target, episode_id)
    if hit is not None:  # before the (slow) rosbags rewrite
        return hit
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".bag-") as work:
        files = _rosbags_to_mcap(source, Path(work))
        return convert_into(target, files, episode_id=episode_id, source=source)


def to_recordings(path: Path, cache_dir: Path) -> list[Recording]:
    """The bag converted to a cached `.rrd`."""
    from lerobot_nb.sources.discover import Recording

    done = bag_to_rrd(path, cache_dir=cache_dir)
    fmt = "rosbag2" if path.is_dir() else path.suffix.lstrip(".").lower()
    return [
        Recording(
            source=path.resolve(),
            rrd=done.rrd.resolve(),
            episode_id=done.episode_id,
            format=fmt,
            notes=done.notes,
        )
    ]
