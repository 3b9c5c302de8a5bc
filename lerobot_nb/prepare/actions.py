"""Actions from state targets: `action[t]` is the shared state at `t + 1`, and optional explicit chunks.

Within one episode (never across its end):
- absolute: `action[t] = state[t + 1]`, `mask.action[t] = mask.state[t + 1]`;
- delta: `action[t] = state[t + 1] - state[t]` (float32 arithmetic), known where both are;
- the last frame has no `t + 1`: it holds (absolute: its own state, delta: zeros) and its action
  mask is False in every dimension, so a loss that honours the mask ignores it.
A chunk of horizon H at frame t is `action[t .. t + H - 1]` flattened (H x D, row-major); steps past
the episode's last frame repeat its action (as lerobot's `delta_timestamps` clamps to the
episode) and are flagged in `action_chunk_is_pad` and masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["ActionColumns", "ChunkColumns", "action_chunks", "actions_from_state"]

ActionMode = Literal["absolute", "delta"]


@dataclass(frozen=True)
class ActionColumns:
    """(T, D) float32 actions and their (T, D) bool mask."""

    action: np.ndarray
    mask: np.ndarray


@dataclass(frozen=True)
class ChunkColumns:
    """(T, H * D) float32 chunks, (T, H * D) bool mask, (T, H) bool padding flags."""

    chunk: np.ndarray
    mask: np.ndarray
    is_pad: np.ndarray


def actions_from_state(state: np.ndarray, mask: np.ndarray, mode: ActionMode) -> ActionColumns:
    """The actions of one episode from its (T, D) float32 state and bool mask."""
    action = np.empty_like(state)
    known = np.zeros_like(mask)
    if mode == "absolute":
        action[:-1] = state[1:]
        action[-1] = state[-1]
        known[:-1] = mask[1:]
    elif mode == "delta":
        action[:-1] = state[1:] - state[:-1]
        action[-1] = 0
        known[:-1] = mask[1:] & mask[:-1]
    else:
        raise ValueError(f"unknown action mode {mode!r}")
    return ActionColumns(action, known)


def action_chunks(actions: ActionColumns, horizon: int) -> ChunkColumns:
    """Chunks of `horizon` actions at every frame of one episode (padded at its end, flagged)."""
    n, d = actions.action.shape
    steps = np.arange(n)[:, None] + np.arange(horizon)[None, :]  # (T, H) frame of each chunk step
    is_pad = steps >= n
    at = np.minimum(steps, n - 1)
    chunk = actions.action[at].reshape(n, horizon * d)
    mask = (actions.mask[at] & ~is_pad[:, :, None]).reshape(n, horizon * d)
    return ChunkColumns(chunk, mask, is_pad)
