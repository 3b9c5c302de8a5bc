"""The column transform `prepare` hands the dataset engine: new state/action columns per episode.

The engine copies cameras, tasks and carried features; this transform replaces `observation.state`
and `action` and adds the masks, the embodiment index and the chunks (`features.py`), normalized
per embodiment when asked, and writes `meta/embodiments.json` into the new dataset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from lerobot_nb.dataset import ResolvedEdit, SourceDataset
from lerobot_nb.export.layout import DEFAULT_FEATURES, write_json_atomic
from lerobot_nb.prepare.actions import ActionMode
from lerobot_nb.prepare.features import (
    ACTION,
    ACTION_MASK,
    CHUNK,
    CHUNK_MASK,
    STATE,
    STATE_MASK,
    episode_columns,
    to_arrow,
)
from lerobot_nb.prepare.normalize import normalize
from lerobot_nb.prepare.shared import BoundEmbodiment, SharedLayout
from lerobot_nb.stats import FeatureStats

__all__ = ["EMBODIMENTS_PATH", "PrepareTransform", "normalized_with"]

#: This package's sidecar of a prepared dataset (lerobot ignores it).
EMBODIMENTS_PATH = "meta/embodiments.json"
#: Which values each normalized feature's mask zeroes.
_MASKS = {STATE: STATE_MASK, ACTION: ACTION_MASK, CHUNK: CHUNK_MASK}


def normalized_with(mode: ActionMode) -> dict[str, str]:
    """Whose statistics normalize each feature: an absolute action is a state, so it takes the
    state's (and `action[t] == state[t+1]` still holds after normalization); a delta its own."""
    action = STATE if mode == "absolute" else ACTION
    return {STATE: STATE, ACTION: action, CHUNK: action}


@dataclass
class PrepareTransform:
    """`ColumnTransform` of one prepare run over `bound` (one bound embodiment per source, in order)."""

    bound: Sequence[BoundEmbodiment]
    layout: SharedLayout
    new: dict[str, dict[str, Any]]
    carried: tuple[str, ...]
    names: tuple[str, ...]
    mode: ActionMode
    horizon: int | None
    #: per embodiment name: stats to normalize with (None: values are stored as they are)
    normalize_with: Mapping[str, dict[str, FeatureStats]] | None
    normalization: str
    meta: dict[str, Any]
    changed: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self.changed = frozenset(self.new)  # every new feature gets its stats from the new values

    def features(self, source: SourceDataset) -> dict[str, dict[str, Any]]:
        """The new state/action features, the features carried over from `source`, then lerobot's defaults."""
        own = source.features
        return {
            **self.new,
            **{k: own[k] for k in self.carried},
            **{k: own.get(k, v) for k, v in DEFAULT_FEATURES.items()},
        }

    def _bound(self, source: SourceDataset) -> BoundEmbodiment:
        return next(b for b in self.bound if b.source is source)

    def columns(self, bound: BoundEmbodiment, rows: pa.Table, episode: int) -> dict[str, np.ndarray]:
        """The new columns of one source episode, raw (before any normalization)."""
        state, mask = bound.state(rows, episode, self.layout)
        return episode_columns(
            state, mask, mode=self.mode, horizon=self.horizon, embodiment=self.names.index(bound.name)
        )

    def apply(self, edit: ResolvedEdit, rows: pa.Table) -> pa.Table:
        """The rows with the episode's new state/action columns, normalized (masked values 0) if asked."""
        bound = self._bound(edit.source)
        columns = self.columns(bound, rows, edit.episode)
        if self.normalize_with is not None:
            columns = self._normalized(columns, self.normalize_with[bound.name])
        return to_arrow(rows, columns, self.new)

    def _normalized(
        self, columns: dict[str, np.ndarray], stats: dict[str, FeatureStats]
    ) -> dict[str, np.ndarray]:
        out = dict(columns)
        for key, mask in _MASKS.items():
            if key in columns:
                values = normalize(columns[key], stats[key], self.normalization)
                out[key] = np.where(columns[mask], values, np.float32(0))
        return out

    def write_meta(self, root: Path) -> None:
        """Write `meta/embodiments.json` (shared layout, embodiments, stats) into the new dataset `root`."""
        write_json_atomic(root / EMBODIMENTS_PATH, self.meta)
