"""Training preparation: embodiment remap, shared keys + masks, actions from state targets, normalization.

`prepare_datasets(["robot_ds:xarm7", "hand_ds:mano"], PrepareConfig(output=...))` maps each dataset's
features to its embodiment's shared keys (`eef_pos`, `eef_rot`, `gripper`, `joints`; `embodiments.yaml`
plus user files), creates what an embodiment lacks as zeros with a mask, designs `action[t]` from the
state at `t + 1` (optionally explicit chunks), computes statistics per embodiment and writes one new
dataset through `lerobot_nb.dataset` (videos copied, never re-encoded; validated; atomic).
"""

from __future__ import annotations

from lerobot_nb.prepare.config import PrepareConfig
from lerobot_nb.prepare.embodiment import (
    SHARED_KEYS,
    Embodiment,
    HandMap,
    KeyMap,
    load_embodiments,
    parse_embodiments,
)
from lerobot_nb.prepare.meta import embodiment_stats, normalizer_stats, read_prepared
from lerobot_nb.prepare.normalize import normalize, unnormalize
from lerobot_nb.prepare.run import PrepareSummary, common_cameras, parse_source, prepare_datasets

__all__ = [
    "SHARED_KEYS",
    "Embodiment",
    "HandMap",
    "KeyMap",
    "PrepareConfig",
    "PrepareSummary",
    "common_cameras",
    "embodiment_stats",
    "load_embodiments",
    "normalize",
    "normalizer_stats",
    "parse_embodiments",
    "parse_source",
    "prepare_datasets",
    "read_prepared",
    "unnormalize",
]
