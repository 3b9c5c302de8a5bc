"""The features `prepare` writes, and one episode's values of them.

| feature | dtype, shape | content |
|---|---|---|
| `observation.state` | float32 (D) | the shared state at t: eef_pos, eef_rot, gripper, joints (`SharedLayout.names`) |
| `action` | float32 (D) | the shared state at t + 1 (absolute) or its change (delta), same names |
| `mask.state`, `mask.action` | bool (D) | True where the value is known |
| `embodiment` | int64 (1) | index of the episode's embodiment in `meta/embodiments.json` |
| `action_chunk` | float32 (H * D) | with a horizon: actions t .. t + H - 1, row-major (step, dimension) |
| `action_chunk_is_pad` | bool (H) | that step lies past the episode's end |
| `mask.action_chunk` | bool (H * D) | the chunk's action mask, False on padded steps |

Masks and the embodiment index live outside `observation.*` / `action`: lerobot 0.6.1 takes an
`observation.*` feature as a policy input and casts its normalizer's statistics to the feature's dtype
(a bool one fails on bool subtraction, an int64 one gets its statistics truncated).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from lerobot_nb.export.layout import data_schema
from lerobot_nb.export.parquet import arrow_column
from lerobot_nb.prepare.actions import ActionMode, action_chunks, actions_from_state
from lerobot_nb.prepare.shared import SharedLayout

__all__ = [
    "ACTION",
    "ACTION_MASK",
    "CHUNK",
    "CHUNK_MASK",
    "CHUNK_PAD",
    "EMBODIMENT",
    "STATE",
    "STATE_MASK",
    "episode_columns",
    "new_features",
    "to_arrow",
]

STATE, ACTION = "observation.state", "action"
STATE_MASK, ACTION_MASK = "mask.state", "mask.action"
CHUNK, CHUNK_PAD, CHUNK_MASK = "action_chunk", "action_chunk_is_pad", "mask.action_chunk"
EMBODIMENT = "embodiment"


def _vector(dtype: str, names: list[str]) -> dict[str, Any]:
    return {"dtype": dtype, "shape": [len(names)], "names": names}


def new_features(layout: SharedLayout, horizon: int | None) -> dict[str, dict[str, Any]]:
    """info.json entries of the new features, in the order they are written."""
    names = list(layout.names)
    out = {
        STATE: _vector("float32", names),
        ACTION: _vector("float32", names),
        STATE_MASK: _vector("bool", names),
        ACTION_MASK: _vector("bool", names),
        EMBODIMENT: {"dtype": "int64", "shape": [1], "names": None},
    }
    if horizon:
        steps = [f"t+{k}.{n}" for k in range(horizon) for n in names]
        out[CHUNK] = _vector("float32", steps)
        out[CHUNK_PAD] = _vector("bool", [f"t+{k}" for k in range(horizon)])
        out[CHUNK_MASK] = _vector("bool", steps)
    return out


def episode_columns(
    state: np.ndarray, mask: np.ndarray, *, mode: ActionMode, horizon: int | None, embodiment: int
) -> dict[str, np.ndarray]:
    """Every new feature of one episode from its shared state and mask (raw, not normalized)."""
    actions = actions_from_state(state, mask, mode)
    out = {
        STATE: state,
        ACTION: actions.action,
        STATE_MASK: mask,
        ACTION_MASK: actions.mask,
        EMBODIMENT: np.full(len(state), embodiment, np.int64),
    }
    if horizon:
        chunks = action_chunks(actions, horizon)
        out |= {CHUNK: chunks.chunk, CHUNK_PAD: chunks.is_pad, CHUNK_MASK: chunks.mask}
    return out


def to_arrow(rows: pa.Table, columns: dict[str, np.ndarray], features: dict[str, dict[str, Any]]) -> pa.Table:
    """`rows` with `columns` replacing or added to its columns, typed as `features` declares."""
    schema = data_schema({k: features[k] for k in columns})
    rows = rows.drop_columns([k for k in columns if k in rows.column_names])
    for key, values in columns.items():
        rows = rows.append_column(key, arrow_column(values, schema.field(key).type))
    return rows
