"""Embodiments as declared data: the shipped `embodiments.yaml` plus user files, parsed and checked.

An `Embodiment` says where each shared key (`eef_pos`, `eef_rot`, `gripper`, `joints`) of one
robot comes from: a source feature, its dimensions (by index or name, `null` = absent), a unit
conversion, a rotation parametrisation or a gripper range; or, for a human hand, which hand-pose
features to read. `resolve_embodiment` then checks it against one dataset's features. Every
problem is one line naming the file (or dataset), the embodiment and the feature.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from lerobot_nb.config import read_yaml_mapping, yaml_mapping
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.prepare.rotation import ROTATION_SIZES

__all__ = [
    "SHARED_KEYS",
    "SHIPPED",
    "Embodiment",
    "HandMap",
    "KeyMap",
    "load_embodiments",
    "parse_embodiments",
]

#: The shared keys in the order they make `observation.state`; joints' size is per embodiment.
SHARED_KEYS = ("eef_pos", "eef_rot", "gripper", "joints")
FIXED_SIZES = {"eef_pos": 3, "eef_rot": 6, "gripper": 1}
#: The file shipped in this package.
SHIPPED = "embodiments.yaml"

_KEY_FIELDS = {"feature", "indices", "names", "scale", "offset", "unit", "rotation", "range"}
_HAND_FIELDS = {"features", "points", "side", "aperture"}


@dataclass(frozen=True)
class KeyMap:
    """One shared key from dimensions of a source feature: `raw * scale + offset`.

    `indices` / `names` list one entry per source dimension used, `None` for a dimension the
    embodiment lacks (zero, masked). For `eef_rot` they are the `rotation` parametrisation's
    values; for `gripper`, `range` = raw (closed, open) maps to 0 .. 1.
    """

    key: str
    feature: str
    indices: tuple[int | None, ...] | None = None
    names: tuple[str | None, ...] | None = None
    scale: float = 1.0
    offset: float = 0.0
    unit: str = ""
    rotation: str | None = None
    range: tuple[float, float] | None = None

    @property
    def width(self) -> int:
        """Source dimensions this key reads (absent ones included)."""
        entries = self.indices if self.indices is not None else self.names
        return len(entries or ())


@dataclass(frozen=True)
class HandMap:
    """A human hand from the hand-pose features `<features>.<side>.<points>` (21 x 3, metres)."""

    features: str = "observation.hands"
    points: str = "kp3d_world"
    side: str = "any"
    aperture: tuple[float, float] = (0.03, 0.15)


@dataclass(frozen=True)
class Embodiment:
    """A named embodiment: per shared key a `KeyMap`, or a `HandMap` (then no `keys`)."""

    name: str
    description: str
    keys: Mapping[str, KeyMap]
    hand: HandMap | None
    #: the file that declared it
    file: str

    @property
    def joints(self) -> int:
        """How many joint values it has (0: none)."""
        joints = self.keys.get("joints")
        return joints.width if joints is not None else 0


def load_embodiments(files: Sequence[str | Path] = ()) -> dict[str, Embodiment]:
    """The shipped embodiments, then those of `files` in order (a later name replaces an earlier)."""
    shipped = resources.files("lerobot_nb.prepare").joinpath(SHIPPED)
    out = parse_embodiments(shipped.read_text(encoding="utf-8"), f"lerobot_nb/prepare/{SHIPPED}")
    for path in files:
        data = read_yaml_mapping(path, what=_MAPS, kind="embodiment")
        out.update(_embodiments(data, str(path)))
    return out


def parse_embodiments(text: str, file: str) -> dict[str, Embodiment]:
    """Embodiments of one YAML text (`name: {description, keys | hand}`), checked."""
    return _embodiments(yaml_mapping(text, file=file, what=_MAPS), file)


_MAPS = "an embodiment file maps names to embodiments"


def _embodiments(data: Mapping[str, Any], file: str) -> dict[str, Embodiment]:
    return {str(name): _embodiment(str(name), spec, file) for name, spec in data.items()}


def _bad(file: str, name: str, what: str) -> LerobotNbError:
    return LerobotNbError(f"embodiment {name}: {what}", file=file)


def _embodiment(name: str, spec: Any, file: str) -> Embodiment:
    if not isinstance(spec, dict):
        raise _bad(file, name, "must be a mapping with `keys` or `hand`")
    unknown = sorted(set(spec) - {"description", "keys", "hand"})
    if unknown:
        raise _bad(file, name, f"unknown field(s) {', '.join(unknown)} (known: description, keys, hand)")
    if ("keys" in spec) == ("hand" in spec):
        raise _bad(file, name, "needs exactly one of `keys` (robot features) or `hand` (hand-pose features)")
    hand = _hand(name, spec["hand"], file) if "hand" in spec else None
    keys = spec.get("keys") or {}
    if not isinstance(keys, dict):
        raise _bad(file, name, "`keys` maps shared keys to their source")
    maps = {str(k): _key(name, str(k), v, file) for k, v in keys.items()}
    if hand is None and not maps:
        raise _bad(file, name, "declares no key")
    return Embodiment(name, str(spec.get("description", "")), maps, hand, file)


def _number(file: str, name: str, what: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _bad(file, name, f"{what} must be a finite number, not {value!r}")
    return float(value)


def _pair(file: str, name: str, what: str, value: Any) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise _bad(file, name, f"{what} takes two numbers [closed, open], not {value!r}")
    lo, hi = (_number(file, name, what, v) for v in value)
    if lo == hi:
        raise _bad(file, name, f"{what} [{lo:g}, {hi:g}] is empty")
    return lo, hi


def _entries(file: str, where: str, spec: dict[str, Any]) -> tuple[Any, Any]:
    if ("indices" in spec) == ("names" in spec):
        raise _bad(file, where, "give exactly one of `indices` or `names`")
    raw = spec.get("indices", spec.get("names"))
    if not isinstance(raw, list) or not raw:
        raise _bad(file, where, "`indices` / `names` must be a non-empty list")
    if "indices" in spec:
        if not all(i is None or (isinstance(i, int) and not isinstance(i, bool) and i >= 0) for i in raw):
            raise _bad(file, where, f"indices must be whole numbers >= 0 or null, not {raw}")
        return tuple(raw), None
    if not all(n is None or isinstance(n, str) for n in raw):
        raise _bad(file, where, f"names must be strings or null, not {raw}")
    return None, tuple(raw)


def _key(name: str, key: str, spec: Any, file: str) -> KeyMap:
    where = f"{name}, key {key}"
    if key not in SHARED_KEYS:
        raise _bad(file, name, f"unknown key {key!r} (shared keys: {', '.join(SHARED_KEYS)})")
    if not isinstance(spec, dict) or not isinstance(spec.get("feature"), str):
        raise _bad(file, where, "needs `feature: <dataset feature>`")
    unknown = sorted(set(spec) - _KEY_FIELDS)
    if unknown:
        raise _bad(
            file, where, f"unknown field(s) {', '.join(unknown)} (known: {', '.join(sorted(_KEY_FIELDS))})"
        )
    indices, names = _entries(file, where, spec)
    width = len(indices or names or ())
    rotation = spec.get("rotation")
    if key == "eef_rot":
        if rotation not in ROTATION_SIZES:
            raise _bad(
                file, where, f"`rotation` must be one of {', '.join(ROTATION_SIZES)}, not {rotation!r}"
            )
        if width != ROTATION_SIZES[rotation] or None in (indices or names or ()):
            raise _bad(
                file, where, f"rotation {rotation} takes {ROTATION_SIZES[rotation]} dimensions, all present"
            )
    elif rotation is not None:
        raise _bad(file, where, "`rotation` belongs to eef_rot only")
    elif key in FIXED_SIZES and width != FIXED_SIZES[key]:
        raise _bad(file, where, f"{key} has {FIXED_SIZES[key]} dimension(s), the mapping lists {width}")
    if "range" in spec and key != "gripper":
        raise _bad(file, where, "`range` belongs to gripper only")
    return KeyMap(
        key=key,
        feature=spec["feature"],
        indices=indices,
        names=names,
        scale=_number(file, where, "scale", spec.get("scale", 1.0)),
        offset=_number(file, where, "offset", spec.get("offset", 0.0)),
        unit=str(spec.get("unit", "")),
        rotation=rotation,
        range=_pair(file, where, "range", spec["range"]) if "range" in spec else None,
    )


def _hand(name: str, spec: Any, file: str) -> HandMap:
    where = f"{name}, hand"
    if not isinstance(spec, dict):
        raise _bad(file, where, "must be a mapping (features, points, side, aperture)")
    unknown = sorted(set(spec) - _HAND_FIELDS)
    if unknown:
        raise _bad(
            file, where, f"unknown field(s) {', '.join(unknown)} (known: {', '.join(sorted(_HAND_FIELDS))})"
        )
    hand = HandMap(
        features=str(spec.get("features", HandMap.features)),
        points=str(spec.get("points", HandMap.points)),
        side=str(spec.get("side", HandMap.side)),
        aperture=_pair(file, where, "aperture", spec["aperture"]) if "aperture" in spec else HandMap.aperture,
    )
    if hand.points not in ("kp3d", "kp3d_world"):
        raise _bad(file, where, f"points must be kp3d or kp3d_world, not {hand.points!r}")
    if hand.side not in ("any", "left", "right"):
        raise _bad(file, where, f"side must be any, left or right, not {hand.side!r}")
    if not 0 <= hand.aperture[0] < hand.aperture[1]:
        raise _bad(
            file, where, f"aperture [{hand.aperture[0]:g}, {hand.aperture[1]:g}] must be 0 <= closed < open"
        )
    return hand
