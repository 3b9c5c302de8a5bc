"""The shared state: one embodiment's source columns -> `eef_pos | eef_rot | gripper | joints` + a mask.

`SharedLayout` fixes the order and names of the shared state vector (`joints` sized for the
embodiments being prepared, 0 = left out). `bind` checks an embodiment against one dataset
(features present, numeric, indices in range, names known); `BoundEmbodiment.state` turns one
episode's rows into the (T, D) float32 state and its (T, D) bool mask: False where the value is
not known (a key or dimension the embodiment lacks, a frame without a detected hand).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from lerobot_nb.dataset import SourceDataset
from lerobot_nb.enrich.hands.geometry import JOINT_NAMES
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.prepare.embodiment import FIXED_SIZES, SHARED_KEYS, Embodiment, HandMap, KeyMap
from lerobot_nb.prepare.hand import grip_aperture, hand_frame
from lerobot_nb.prepare.rotation import ROT6D_NAMES, rot6d, to_matrix

__all__ = ["BoundEmbodiment", "SharedLayout", "bind", "column"]

_NUMERIC = ("float32", "float64", "int64", "int32", "bool")


@dataclass(frozen=True)
class SharedLayout:
    """The shared state vector: key order `SHARED_KEYS`, `joints` values (0 = no joints key)."""

    joints: int

    @property
    def sizes(self) -> dict[str, int]:
        """Dimensions per shared key, in `SHARED_KEYS` order, keys of size 0 left out."""
        sizes = {**FIXED_SIZES, "joints": self.joints}
        return {k: sizes[k] for k in SHARED_KEYS if sizes[k] > 0}

    @property
    def slices(self) -> dict[str, slice]:
        """Each key's slice [start, stop) of the state vector, in `sizes` order."""
        out, at = {}, 0
        for key, size in self.sizes.items():
            out[key] = slice(at, at + size)
            at += size
        return out

    @property
    def size(self) -> int:
        """Dimensions D of the state vector, the sum of `sizes`."""
        return sum(self.sizes.values())

    @property
    def names(self) -> tuple[str, ...]:
        """Per-dimension names: `eef_pos.x`, `eef_rot.r00`, ..., `gripper`, `joints.0`, ..."""
        per_key = {
            "eef_pos": tuple(f"eef_pos.{a}" for a in "xyz"),
            "eef_rot": tuple(f"eef_rot.{n}" for n in ROT6D_NAMES),
            "gripper": ("gripper",),
            "joints": tuple(f"joints.{i}" for i in range(self.joints)),
        }
        return tuple(n for key in self.sizes for n in per_key[key])


def column(rows: pa.Table, feature: str) -> np.ndarray:
    """A numeric feature of the rows as (T, D) float64."""
    array = rows.column(feature).combine_chunks()
    if pa.types.is_fixed_size_list(array.type) or pa.types.is_list(array.type):
        values = np.asarray(array.flatten().to_numpy(zero_copy_only=False), np.float64)
        return values.reshape(len(array), -1)
    return np.asarray(array.to_numpy(zero_copy_only=False), np.float64).reshape(-1, 1)


@dataclass(frozen=True)
class _Key:
    """A `KeyMap` checked against a dataset: source dimension per entry (None = absent)."""

    spec: KeyMap
    dims: tuple[int | None, ...]


@dataclass(frozen=True)
class BoundEmbodiment:
    """An embodiment checked against one dataset (`source`), ready to map its episodes."""

    embodiment: Embodiment
    source: SourceDataset
    keys: tuple[_Key, ...] = ()
    hand_features: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The embodiment's name, e.g. `xarm7`."""
        return self.embodiment.name

    def state(self, rows: pa.Table, episode: int, layout: SharedLayout) -> tuple[np.ndarray, np.ndarray]:
        """(T, D) float32 shared state and (T, D) bool mask of one episode's rows."""
        n = rows.num_rows
        state = np.zeros((n, layout.size), np.float64)
        mask = np.zeros((n, layout.size), bool)
        slices = layout.slices
        for key in self.keys:
            values, known = self._key_values(key, rows, episode)
            where = slices[key.spec.key]
            width = values.shape[1]
            state[:, where.start : where.start + width] = values
            mask[:, where.start : where.start + width] = known
        if self.embodiment.hand is not None:
            self._hand_values(self.embodiment.hand, rows, episode, state, mask, slices)
        return state.astype(np.float32), mask

    def _where(self, episode: int, feature: str) -> dict[str, Any]:
        return {"file": self.source.root, "episode": str(episode), "stream": feature}

    def _finite(
        self, values: np.ndarray, dims: list[int], feature: str, episode: int, rows: np.ndarray | None = None
    ) -> None:
        """NaN / inf in the values used (of the frames `rows`, default all) is an error naming the first."""
        bad = ~np.isfinite(values)
        if rows is not None:
            bad &= rows[:, None]
        if bad.any():
            frame, j = (int(v[0]) for v in np.nonzero(bad))
            raise LerobotNbError(
                f"{feature}[{dims[j]}] is {values[frame, j]} at frame {frame} (embodiment {self.name}): "
                "a mapped value must be finite",
                **self._where(episode, feature),
            )

    def _key_values(self, key: _Key, rows: pa.Table, episode: int) -> tuple[np.ndarray, np.ndarray]:
        spec = key.spec
        raw = column(rows, spec.feature)
        used = [d for d in key.dims if d is not None]
        self._finite(raw[:, used], used, spec.feature, episode)
        values = np.zeros((rows.num_rows, len(key.dims)))
        present = np.array([d is not None for d in key.dims])
        values[:, present] = raw[:, used] * spec.scale + spec.offset
        if spec.key == "eef_rot":
            assert spec.rotation is not None
            values = rot6d(to_matrix(values, spec.rotation))
            present = np.ones(6, bool)
        if spec.key == "gripper" and spec.range is not None:
            closed, opened = spec.range
            values = np.clip((values - closed) / (opened - closed), 0.0, 1.0)
        return values, np.broadcast_to(present, values.shape)

    def _hand_values(
        self,
        hand: HandMap,
        rows: pa.Table,
        episode: int,
        state: np.ndarray,
        mask: np.ndarray,
        slices: dict[str, slice],
    ) -> None:
        points, left, found = self._chosen_hand(hand, rows, episode)
        position, rotation = hand_frame(points, left)
        closed, opened = hand.aperture
        grip = np.clip((grip_aperture(points) - closed) / (opened - closed), 0.0, 1.0)
        for key, values in (("eef_pos", position), ("eef_rot", rot6d(rotation)), ("gripper", grip[:, None])):
            where = slices[key]
            state[found, where] = values[found]
            mask[found, where] = True

    def _chosen_hand(
        self, hand: HandMap, rows: pa.Table, episode: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(T, 21, 3) points of the hand used per frame, (T,) is-left, (T,) found."""
        sides = ("left", "right") if hand.side == "any" else (hand.side,)
        n = rows.num_rows
        best = np.full(n, -np.inf)
        points = np.zeros((n, 21, 3))
        left = np.zeros(n, bool)
        for side in sides:
            kp = self.hand_features[f"{side}.points"]
            present = column(rows, self.hand_features[f"{side}.present"])[:, 0] > 0.5
            confidence = column(rows, self.hand_features[f"{side}.confidence"])[:, 0]
            values = column(rows, kp)
            self._finite(values, list(range(values.shape[1])), kp, episode, rows=present)
            # ties go to the side listed later (right), as a detector's default label
            better = present & (confidence >= best)
            points[better] = values[better].reshape(-1, 21, 3)
            left[better] = side == "left"
            best[better] = confidence[better]
        return points, left, np.isfinite(best)


def bind(embodiment: Embodiment, source: SourceDataset) -> BoundEmbodiment:
    """Check `embodiment` against `source`'s features; one line naming dataset and feature if not."""
    if embodiment.hand is not None:
        return BoundEmbodiment(embodiment, source, (), _hand_features(embodiment, source))
    keys = tuple(_Key(spec, _dims(embodiment, spec, source)) for spec in embodiment.keys.values())
    return BoundEmbodiment(embodiment, source, keys)


def _feature(embodiment: Embodiment, source: SourceDataset, feature: str, shape: int | None = None) -> int:
    """The size of numeric feature `feature` of `source` (checked: present, numeric, 1-D)."""
    info = source.features.get(feature)
    if info is None:
        known = ", ".join(k for k in source.numeric_keys) or "none"
        raise LerobotNbError(
            f"embodiment {embodiment.name} maps feature {feature}, which the dataset does not have "
            f"(numeric features: {known})",
            file=source.root,
            stream=feature,
        )
    if info["dtype"] not in _NUMERIC or len(info["shape"]) != 1:
        raise LerobotNbError(
            f"embodiment {embodiment.name} maps feature {feature} ({info['dtype']} {info['shape']}), "
            "which is not a numeric vector",
            file=source.root,
            stream=feature,
        )
    size = int(info["shape"][0])
    if shape is not None and size != shape:
        raise LerobotNbError(
            f"embodiment {embodiment.name} reads {shape} values from {feature}, which has {size}",
            file=source.root,
            stream=feature,
        )
    return size


def _dims(embodiment: Embodiment, spec: KeyMap, source: SourceDataset) -> tuple[int | None, ...]:
    size = _feature(embodiment, source, spec.feature)
    if spec.indices is not None:
        out_of_range = [i for i in spec.indices if i is not None and i >= size]
        if out_of_range:
            raise LerobotNbError(
                f"embodiment {embodiment.name}, key {spec.key}: index {out_of_range[0]} is out of range "
                f"(the feature has {size} dimensions, 0..{size - 1})",
                file=source.root,
                stream=spec.feature,
            )
        return spec.indices
    names = source.features[spec.feature].get("names")
    if not isinstance(names, list):
        raise LerobotNbError(
            f"embodiment {embodiment.name}, key {spec.key}: the feature has no dimension names; map it by indices",
            file=source.root,
            stream=spec.feature,
        )
    unknown = [n for n in spec.names or () if n is not None and n not in names]
    if unknown:
        raise LerobotNbError(
            f"embodiment {embodiment.name}, key {spec.key}: no dimension named {unknown[0]!r} "
            f"(names: {', '.join(map(str, names))})",
            file=source.root,
            stream=spec.feature,
        )
    return tuple(None if n is None else names.index(n) for n in spec.names or ())


def _hand_features(embodiment: Embodiment, source: SourceDataset) -> dict[str, str]:
    hand = embodiment.hand
    assert hand is not None
    sides = ("left", "right") if hand.side == "any" else (hand.side,)
    out = {}
    for side in sides:
        base = f"{hand.features}.{side}"
        out[f"{side}.points"] = f"{base}.{hand.points}"
        out[f"{side}.present"] = f"{base}.present"
        out[f"{side}.confidence"] = f"{base}.confidence"
        _feature(embodiment, source, out[f"{side}.points"], 3 * len(JOINT_NAMES))
        _feature(embodiment, source, out[f"{side}.present"], 1)
        _feature(embodiment, source, out[f"{side}.confidence"], 1)
    return out
