"""Read a prepared dataset's `meta/embodiments.json`: layout, embodiments, per-embodiment statistics.

`embodiment_stats` gives one embodiment's statistics of the raw values (lerobot's layout, exactly
what lerobot would write for a dataset of only that embodiment's episodes); `normalizer_stats`
the ones that (un)normalize it (`normalized_with`: an absolute action takes the state's), in the
form lerobot's `NormalizerProcessorStep(stats=...)` / `make_pre_post_processors(dataset_stats=...)`
take, to run a policy trained on per-embodiment normalized values on that embodiment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lerobot_nb.errors import LerobotNbError
from lerobot_nb.export.layout import read_json
from lerobot_nb.prepare.features import CHUNK
from lerobot_nb.prepare.normalize import tile_stats
from lerobot_nb.prepare.transform import EMBODIMENTS_PATH, normalized_with
from lerobot_nb.stats import FeatureStats, stats_from_json

__all__ = ["embodiment_stats", "normalizer_stats", "read_prepared"]


def read_prepared(dataset: str | Path) -> dict[str, Any]:
    """The dataset's `meta/embodiments.json` (one line if it is not a prepared dataset)."""
    path = Path(dataset) / EMBODIMENTS_PATH
    if not path.is_file():
        raise LerobotNbError(f"not a prepared dataset ({EMBODIMENTS_PATH} is missing)", file=dataset)
    data = read_json(path)
    if not isinstance(data, dict):
        raise LerobotNbError(f"{EMBODIMENTS_PATH} is not a mapping", file=dataset)
    return data


def embodiment_stats(dataset: str | Path, name: str) -> dict[str, FeatureStats]:
    """Feature -> statistics of embodiment `name`'s raw values (float64, counts int64)."""
    meta = read_prepared(dataset)
    if name not in meta["stats"]:
        raise LerobotNbError(
            f"no embodiment {name!r} in this dataset (it has {', '.join(meta['embodiments'])})", file=dataset
        )
    return stats_from_json(meta["stats"][name])


def normalizer_stats(dataset: str | Path, name: str) -> dict[str, FeatureStats]:
    """Feature -> the statistics that normalize embodiment `name`'s values of that feature."""
    meta = read_prepared(dataset)
    raw = embodiment_stats(dataset, name)
    out = {}
    for feature, source in normalized_with(meta["action_mode"]).items():
        if feature in raw:
            stats = raw[source]
            out[feature] = (
                tile_stats(stats, meta["horizon"]) if feature == CHUNK and source != CHUNK else stats
            )
    return out
