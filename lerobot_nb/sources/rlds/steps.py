"""One RLDS episode (one TFDS record) decoded into per-step values, and what is odd about it.

Each TFDS example is one episode: its steps are the record's, whatever `is_first` / `is_last`
say. The flags are checked against the record, and every disagreement (`is_last` never true,
an `is_first` past step 0, a constant-black camera, a `has_image_*` flag that contradicts the
pixels, a feature the record lacks) becomes a note for the report, never an error.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from lerobot_nb.episode import LANGUAGE_STREAM, NumericStream
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.sources.rlds.builder import Builder, EpisodeSlot
from lerobot_nb.sources.rlds.example import DecodeError, parse_record
from lerobot_nb.sources.rlds.features import FeatureSpec, FeatureValues, read_values
from lerobot_nb.sources.rlds.images import EncodedImages
from lerobot_nb.sources.rlds.tfrecord import read_record

__all__ = [
    "LANGUAGE_STREAM",
    "EpisodeSteps",
    "camera_key",
    "decode_steps",
    "episode_notes",
    "feature_names",
    "numeric_streams",
]


@dataclass(frozen=True)
class EpisodeSteps:
    """The decoded record of one episode: `length` steps; `values` by feature path (per-step
    features have `length` entries, per-episode ones one); `missing` features the record lacks."""

    slot: EpisodeSlot
    length: int
    values: Mapping[str, FeatureValues]
    missing: tuple[str, ...]

    def images(self) -> dict[str, EncodedImages]:
        """Every per-step camera of the episode, by stream key."""
        times = np.arange(self.length, dtype=np.int64)
        out = {}
        for v in self.values.values():
            if v.spec.kind == "image" and v.spec.in_steps:
                hw = v.spec.shape[:2]
                shape = (hw[0], hw[1]) if len(hw) == 2 and None not in hw else None
                out[v.spec.key] = EncodedImages(v.spec.key, times, v.blobs, shape)  # type: ignore[arg-type]
        return out


def decode_steps(builder: Builder, slot: EpisodeSlot) -> EpisodeSteps:
    """Read and decode episode `slot`; unreadable or inconsistent records raise naming file and episode."""
    try:
        if slot.span is None:
            raise LerobotNbError(slot.problem or "record cannot be read")
        try:
            record = parse_record(read_record(slot.span))
        except DecodeError as exc:
            raise LerobotNbError(f"record {slot.index}: not a tf.train.Example ({exc})") from None
        values, missing = {}, []
        for spec in builder.features.specs:
            got = read_values(record, spec)
            if got is None:
                missing.append(spec.path)
            else:
                values[spec.path] = got
        length = _length(values)
    except LerobotNbError as exc:
        raise exc.with_context(file=slot.shard, episode=slot.episode_id) from None
    return EpisodeSteps(slot, length, values, tuple(missing))


def _length(values: Mapping[str, FeatureValues]) -> int:
    """The number of steps every per-step feature agrees on."""
    counts = {v.spec.key: len(v) for v in values.values() if v.spec.in_steps}
    if not counts:
        raise LerobotNbError("the record holds none of the features' steps")
    common, _ = Counter(counts.values()).most_common(1)[0]
    odd = {k: n for k, n in counts.items() if n != common}
    if odd:
        key, n = next(iter(odd.items()))
        raise LerobotNbError(f"{n} steps, while the other step features have {common}", stream=key)
    return common


def camera_key(spec: FeatureSpec, specs: tuple[FeatureSpec, ...]) -> str:
    """The camera's short key: its last path component (`image_0`), or the last two joined with `_`
    when another camera ends the same way (`wrist_image`)."""
    parts = spec.path.split("/")
    clash = [
        s for s in specs if s.kind == "image" and s.path != spec.path and s.path.split("/")[-1] == parts[-1]
    ]
    return "_".join(parts[-2:]) if clash and len(parts) > 2 else parts[-1]


def episode_notes(steps: EpisodeSteps, black: set[str]) -> list[str]:
    """What is odd about the episode, one line each (`black`: keys of its constant-black cameras)."""
    notes = _flag_notes(steps)
    n = steps.length
    notes += [f"camera {key} is constant black in all {n} steps" for key in sorted(black)]
    notes += _has_flag_notes(steps, black)
    if steps.missing:
        notes.append(f"the record lacks feature(s) {', '.join(steps.missing)}")
    return notes


def _flag(steps: EpisodeSteps, name: str) -> np.ndarray | None:
    for v in steps.values.values():
        if (
            v.spec.in_steps
            and v.spec.path.split("/")[-1] == name
            and v.array is not None
            and v.array.shape[1] == 1
        ):
            return v.array[:, 0] != 0
    return None


def _steps_list(idx: np.ndarray) -> str:
    shown = ", ".join(str(i) for i in idx[:5])
    return shown + (f" (+{len(idx) - 5} more)" if len(idx) > 5 else "")


def _flag_notes(steps: EpisodeSteps) -> list[str]:
    n, notes = steps.length, []
    first, last = _flag(steps, "is_first"), _flag(steps, "is_last")
    whole = f"the record's {n} steps are the episode"
    if first is None:
        notes.append(f"no is_first flag: {whole}")
    elif not first[0] or first[1:].any():
        notes.append(
            f"is_first is true at steps [{_steps_list(np.flatnonzero(first))}], not only at 0: {whole}"
        )
    if last is None:
        notes.append(f"no is_last flag: {whole}")
    elif not last.any():
        notes.append(f"is_last is never true (the episode was cut short?): {whole}")
    elif not last[-1] or last[:-1].any():
        notes.append(
            f"is_last is true at steps [{_steps_list(np.flatnonzero(last))}], not only at {n - 1}: {whole}"
        )
    return notes


def _has_flag_notes(steps: EpisodeSteps, black: set[str]) -> list[str]:
    """`has_<camera>` episode flags that contradict the pixels (they are not used)."""
    notes = []
    cams = {v.spec.path.split("/")[-1]: v.spec.key for v in steps.values.values() if v.spec.kind == "image"}
    for v in steps.values.values():
        name = v.spec.path.split("/")[-1]
        if v.spec.in_steps or v.array is None or not name.startswith("has_") or name[4:] not in cams:
            continue
        says, key = bool(v.array[0, 0]), cams[name[4:]]
        real = key not in black
        if says != real:
            shows = "real frames" if real else "only black frames"
            notes.append(f"{v.spec.key} is {int(says)} but camera {key} has {shows} (the flag is not used)")
    return notes


def numeric_streams(steps: EpisodeSteps, *, language: str | None = None) -> dict[str, NumericStream]:
    """Every numeric feature as a stream; per-episode values repeated at every step. The stream
    `language` (the embedding, e.g. `/steps/language_embedding`) is also offered as `LANGUAGE_STREAM`."""
    times = np.arange(steps.length, dtype=np.int64)
    out = {}
    for v in steps.values.values():
        if v.array is None:
            continue
        values = v.array if v.spec.in_steps else np.repeat(v.array[:1], steps.length, axis=0)
        out[v.spec.key] = NumericStream(times, values, feature_names(v.spec, values.shape[1]))
    if language is not None and language in out:
        out[LANGUAGE_STREAM] = out[language]
    return out


# -- names ---------------------------------------------------------------------------------------
_LIST = re.compile(r"\[([^\[\]]+)\]")
_COUNTED = re.compile(r"^\s*(\d+)\s*x\s*(.+?)\s*$")


def feature_names(spec: FeatureSpec, width: int) -> tuple[str, ...] | None:
    """Dimension names from the metadata: a scalar is named by its key; a vector by a bracketed
    list in its description (`[x, y, z]` or `[7x joint angle, 1x gripper]`) whose count matches."""
    if width == 1 and len(spec.shape) == 0:
        return (spec.path.split("/")[-1],)
    m = _LIST.search(spec.description)
    if m is None:
        return None
    names: list[str] = []
    for item in m.group(1).split(","):
        counted = _COUNTED.match(item)
        count, label = (int(counted[1]), counted[2]) if counted else (1, item.strip())
        label = re.sub(r"\W+", "_", label.strip().lower()).strip("_")
        names += [label] if count == 1 else [f"{label}_{i}" for i in range(count)]
    return tuple(names) if len(names) == width and all(names) and len(set(names)) == width else None
