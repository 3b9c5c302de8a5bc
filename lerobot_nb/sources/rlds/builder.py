"""A TFDS builder folder: where its metadata and shards are, and which records each split holds.

A builder folder (`<data_dir>/<name>/<version>/`) holds `features.json`, `dataset_info.json`
and the shards `<name>-<split>.tfrecord-<i>-of-<n>`. Accepted paths: the version folder itself,
its parent when that holds version folders (exactly one; several are an error listing them), or
one shard file (only that shard is read: the way to pick a split or a shard from the CLI).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.sources.rlds.features import Features, parse_features
from lerobot_nb.sources.rlds.tfrecord import RecordSpan, scan_records

__all__ = ["RATE_KEYS", "Builder", "EpisodeSlot", "builder_dir", "open_builder"]

_VERSION = re.compile(r"\d+\.\d+\.\d+")
_SHARD = re.compile(r"^(?P<name>.+)-(?P<split>[^-.]+)\.(?P<fmt>[a-z_]+)-(?P<i>\d+)-of-(?P<n>\d+)$")
_TEMPLATE = "{DATASET}-{SPLIT}.{FILEFORMAT}-{SHARD_X_OF_Y}"
#: Keys of the builder's `metadata.json` read as its steps per second, in this order.
RATE_KEYS = ("fps", "rate_hz", "control_frequency", "control_freq", "frequency_hz", "hz")


@dataclass(frozen=True)
class EpisodeSlot:
    """Where episode `episode_id` is: record `index` of `shard`, and its span, or why it is unreadable."""

    episode_id: str
    split: str
    shard: Path
    index: int
    span: RecordSpan | None
    problem: str | None = None


@dataclass(frozen=True)
class Builder:
    """A builder folder opened: name, version, features, episodes in split then record order, rate."""

    root: Path
    name: str
    version: str
    features: Features
    episodes: tuple[EpisodeSlot, ...]
    #: Steps per second from `metadata.json` (None: the metadata does not say).
    rate_hz: float | None
    splits: tuple[str, ...]


def builder_dir(name: str, version: str, data_dir: str | Path | None = None) -> Path:
    """TFDS's folder of dataset `name` at `version`: `data_dir` (default `$TFDS_DATA_DIR`, else
    `~/tensorflow_datasets`) / name / version, as `tfds.load("name:version")` finds it."""
    import os

    root = Path(data_dir or os.environ.get("TFDS_DATA_DIR") or Path.home() / "tensorflow_datasets")
    return root.expanduser() / name / version


def _version_root(path: Path) -> tuple[Path, Path | None]:
    """The version folder for `path`, and the one shard to read when `path` is a shard file."""
    if path.is_file():
        return path.parent, path
    if (path / "features.json").exists() or (path / "dataset_info.json").exists():
        return path, None
    versions = sorted(p for p in path.iterdir() if p.is_dir() and _VERSION.fullmatch(p.name))
    if len(versions) > 1:
        names = ", ".join(v.name for v in versions)
        raise LerobotNbError(f"TFDS dataset has versions {names}: point at one version folder", file=path)
    return (versions[0], None) if versions else (path, None)


def _json(path: Path, what: str) -> Any:
    if not path.is_file():
        raise LerobotNbError(f"not a TFDS builder folder: no {path.name} ({what})", file=path.parent)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise LerobotNbError(f"cannot read {path.name}: {exc}", file=path) from None


def open_builder(path: Path, *, split: str | Sequence[str] | None = None) -> Builder:
    """Open the builder folder at `path` (see the module doc); `split` keeps only those splits."""
    root, shard = _version_root(path)
    features = parse_features(_json(root / "features.json", "TFDS's feature description"), file=str(root))
    info = _json(root / "dataset_info.json", "TFDS's split and shard list")
    fmt = str(info.get("fileFormat") or "tfrecord")
    if fmt != "tfrecord":
        raise LerobotNbError(
            f"fileFormat {fmt} is not supported (tfrecord is)", file=root / "dataset_info.json"
        )
    name = str(info.get("name") or root.parent.name)
    splits = _splits(root, name, info)
    wanted = [split] if isinstance(split, str) else list(split) if split is not None else None
    if wanted is not None:
        unknown = sorted(set(wanted) - set(splits))
        if unknown:
            raise LerobotNbError(f"no split {', '.join(unknown)}; splits: {', '.join(splits)}", file=root)
        splits = {k: v for k, v in splits.items() if k in wanted}
    if shard is not None:  # ids stay those of the whole split: the earlier shards are scanned too
        splits = {k: v for k, v in splits.items() if any(s[0].name == shard.name for s in v)}
        if not splits:
            raise LerobotNbError("not a shard of this dataset's splits", file=shard)
    episodes = tuple(
        slot
        for split_name, shards in splits.items()
        for slot in _slots(split_name, shards)
        if shard is None or slot.shard.name == shard.name
    )
    version = str(info.get("version") or root.name)
    return Builder(root, name, version, features, episodes, _rate(root), tuple(splits))


def _splits(root: Path, name: str, info: Mapping[str, Any]) -> dict[str, list[tuple[Path, int | None]]]:
    """Split -> its shard files in order, each with the record count dataset_info.json gives."""
    listed = info.get("splits") or []
    out: dict[str, list[tuple[Path, int | None]]] = {}
    for entry in listed:
        lengths = [int(n) for n in entry.get("shardLengths", [])]
        if not lengths:
            continue
        template = str(entry.get("filepathTemplate") or _TEMPLATE)
        out[str(entry["name"])] = [
            (root / _shard_name(template, name, str(entry["name"]), i, len(lengths)), n)
            for i, n in enumerate(lengths)
        ]
    if not out:  # older or hand-made metadata: the shards on disk
        for file in sorted(root.iterdir()):
            m = _SHARD.match(file.name)
            if m and m["fmt"] == "tfrecord":
                out.setdefault(m["split"], []).append((file, None))
    if not out:
        raise LerobotNbError("TFDS builder folder holds no *.tfrecord-* shards", file=root)
    return out


def _shard_name(template: str, name: str, split: str, i: int, n: int) -> str:
    return (
        template.replace("{DATASET}", name)
        .replace("{SPLIT}", split)
        .replace("{FILEFORMAT}", "tfrecord")
        .replace("{SHARD_X_OF_Y}", f"{i:05d}-of-{n:05d}")
        .replace("{SHARD_INDEX}", f"{i:05d}")
        .replace("{NUM_SHARDS}", f"{n:05d}")
    )


def _slots(split: str, shards: list[tuple[Path, int | None]]) -> list[EpisodeSlot]:
    """The split's episodes: every record found, plus those dataset_info.json lists but the shard
    lacks (unreadable, with the reason), so counts and ids follow the metadata."""
    found: list[tuple[Path, int, RecordSpan | None, str | None]] = []
    for shard, expected in shards:
        if not shard.is_file():
            found += [
                (shard, i, None, "shard file missing (dataset_info.json lists it)")
                for i in range(expected or 0)
            ]
            continue
        scan = scan_records(shard)
        found += [(shard, s.index, s, None) for s in scan.records]
        n = len(scan.records)
        if scan.problem is not None:
            found.append((shard, n, None, scan.problem))
            n += 1
        if expected is not None and expected > n:
            why = f"the file ends after {n} record(s), dataset_info.json lists {expected}"
            found += [(shard, i, None, f"record {i} missing: {why}") for i in range(n, expected)]
    return [EpisodeSlot(f"{split}_{k:05d}", split, *item) for k, item in enumerate(found)]


def _rate(root: Path) -> float | None:
    """Steps per second from the builder's optional `metadata.json` (TFDS `MetadataDict`)."""
    path = root / "metadata.json"
    if not path.is_file():
        return None
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    for key in RATE_KEYS:
        value = meta.get(key) if isinstance(meta, Mapping) else None
        if isinstance(value, int | float) and value > 0:
            return float(value)
    return None
