"""`prepare_datasets`: datasets of one or more embodiments -> one dataset in the shared action space.

Every check runs before anything is written (unknown embodiment, a mapping that names a missing
feature or an index out of range, datasets of different fps, a horizon longer than an episode,
NaN / inf in a mapped value: one line naming dataset, episode and feature). A first pass maps
every episode to compute the statistics per embodiment (and to find bad values); the engine
(`lerobot_nb.dataset.rewrite_dataset`) then writes the new dataset with this module's transform:
cameras copied packet by packet, tasks and the shared other features carried over, validated,
published atomically.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from lerobot_nb.dataset import EditPlan, EpisodeEdit, RewriteSummary, SourceDataset, rewrite_dataset
from lerobot_nb.dataset.plan import ENCODER_TUNING
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.export.layout import DEFAULT_FEATURES
from lerobot_nb.prepare.config import PrepareConfig
from lerobot_nb.prepare.embodiment import Embodiment, load_embodiments
from lerobot_nb.prepare.features import ACTION, CHUNK, STATE, STATE_MASK, new_features
from lerobot_nb.prepare.normalize import LEROBOT_MODES, tile_stats
from lerobot_nb.prepare.shared import BoundEmbodiment, SharedLayout, bind
from lerobot_nb.prepare.transform import PrepareTransform, normalized_with
from lerobot_nb.stats import FeatureStats, aggregate_stats, numeric_stats, stats_to_json

__all__ = ["PrepareSummary", "carried_features", "common_cameras", "parse_source", "prepare_datasets"]

#: Source features that the prepared ones replace.
REPLACED = (STATE, ACTION)
_CAMERA_PREFIX = "observation.images."


def _split(spec: str | Path) -> tuple[Path, str | None]:
    text = str(spec)
    if ":" in text and not Path(text).expanduser().exists():
        path, name = text.rsplit(":", 1)
        return Path(path), name
    return Path(text), None


def parse_source(spec: str | Path, default: str) -> tuple[Path, str]:
    """`SRC` or `SRC:NAME` -> (dataset folder, embodiment name). An existing folder is always
    a path, even with a colon in its name; otherwise the text after the last colon is the name."""
    path, name = _split(spec)
    if name is not None:
        return path, name
    text = str(spec)
    if not default:
        raise LerobotNbError(
            "no embodiment: name it as SRC:NAME or give --embodiment NAME (shipped: xarm7, mano, so100, "
            "so101, aloha, pusht)",
            file=text,
        )
    return Path(text), default


@dataclass
class PrepareSummary:
    """The engine's summary (one row per episode) plus per-embodiment coverage and statistics."""

    rewrite: RewriteSummary
    #: one row per embodiment: episodes, frames, and per shared key the share of known values
    coverage: pl.DataFrame
    #: embodiment -> feature -> lerobot-layout statistics of the raw (not normalized) values
    stats: dict[str, dict[str, FeatureStats]] = field(default_factory=dict)
    normalized: bool = False

    @property
    def output(self) -> Path:
        """The prepared dataset's folder."""
        return self.rewrite.output

    def render(self) -> str:
        """The rewrite's table and totals, then per embodiment its episodes, frames and known-value shares."""
        lines = [self.rewrite.render(), "embodiments (share of known values per shared key):"]
        for row in self.coverage.iter_rows(named=True):
            known = ", ".join(
                f"{k} {v:.0%}" for k, v in row.items() if k not in ("embodiment", "episodes", "frames")
            )
            lines.append(
                f"  {row['embodiment']}: {row['episodes']} episodes, {row['frames']} frames; {known}"
            )
        if self.normalized:
            lines.append(
                "observation.state / action are stored normalized per embodiment (meta/embodiments.json)"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


def prepare_datasets(datasets: Sequence[str | Path], config: PrepareConfig) -> PrepareSummary:
    """Write `datasets` (each `SRC` or `SRC:NAME`; empty: `config.datasets`) as one prepared
    dataset at `config.output`."""
    datasets = list(datasets) or list(config.datasets)
    if not datasets:
        raise LerobotNbError("no dataset given")
    if not config.output:
        raise LerobotNbError("--output is required (prepare always writes a new dataset)")
    specs = [parse_source(d, config.embodiment) for d in datasets]
    registry = load_embodiments(config.embodiment_file)
    sources = [SourceDataset(path) for path, _ in specs]
    _check_fps(sources)
    bound = [bind(_known(registry, name, src), src) for (_, name), src in zip(specs, sources, strict=True)]
    layout = SharedLayout(_joints(bound, config.joints))
    carried, notes = carried_features(sources, config.keep_cameras)
    names = tuple(dict.fromkeys(b.name for b in bound))
    new = new_features(layout, config.horizon)
    transform = PrepareTransform(
        bound, layout, new, carried, names, config.action_mode, config.horizon, None, config.normalization, {}
    )
    episode_stats, coverage = _first_pass(transform, config.horizon)
    stats = {name: aggregate_stats([s for e, s in episode_stats if e == name]) for name in names}
    normalize = (
        config.normalize_per_embodiment if config.normalize_per_embodiment is not None else len(names) > 1
    )
    if normalize:
        transform.normalize_with = {n: _normalizing_stats(stats[n], config) for n in names}
    transform.meta = _meta(transform, specs, stats, coverage, normalize, config)
    if len(names) > 1 and not normalize:
        notes.append(
            "several embodiments share stats.json without per-embodiment normalization: normalize with "
            "meta/embodiments.json's statistics or prepare with --normalize-per-embodiment"
        )
    plan = EditPlan.of(
        [s.root for s in sources],
        [EpisodeEdit(i, e) for i, s in enumerate(sources) for e in range(s.num_episodes)],
    )
    summary = rewrite_dataset(plan, config, sources=sources, transform=transform)
    summary.notes = notes
    return PrepareSummary(summary, _coverage_table(coverage), stats, normalize)


def _known(registry: dict[str, Embodiment], name: str, source: SourceDataset) -> Embodiment:
    if name not in registry:
        raise LerobotNbError(
            f"unknown embodiment {name!r} (known: {', '.join(sorted(registry))}; add one with --embodiment-file)",
            file=source.root,
        )
    return registry[name]


def _check_fps(sources: Sequence[SourceDataset]) -> None:
    first = sources[0]
    for other in sources[1:]:
        if other.fps != first.fps:
            raise LerobotNbError(
                f"fps {other.fps} differs from {first.fps} of {first.root}: merged datasets need one fps "
                "(re-export one of them at the other's rate)",
                file=other.root,
            )


def _joints(bound: Sequence[BoundEmbodiment], joints: int | None) -> int:
    most = max(b.embodiment.joints for b in bound)
    if joints is None:
        return most
    for b in bound:
        if b.embodiment.joints > joints:
            raise LerobotNbError(
                f"embodiment {b.name} has {b.embodiment.joints} joints, more than joints={joints}",
                file=b.source.root,
            )
    return joints


def _camera_keys(sources: Sequence[SourceDataset], cameras: Sequence[str]) -> list[str] | None:
    if not cameras:
        return None
    keys = [c if c.startswith(_CAMERA_PREFIX) else _CAMERA_PREFIX + c for c in cameras]
    for src in sources:
        missing = [k for k in keys if k not in src.video_keys + src.image_keys]
        if missing:
            known = ", ".join(src.video_keys + src.image_keys) or "none"
            raise LerobotNbError(f"no camera {missing[0]} (cameras: {known})", file=src.root)
    return keys


def _stream_info(feature: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in (feature.get("info") or {}).items() if k not in ENCODER_TUNING}


def common_cameras(datasets: Sequence[str | Path]) -> tuple[str, ...]:
    """The cameras every dataset (`SRC` or `SRC:NAME`) has alike, so they can be merged as they are."""
    sources = [SourceDataset(_split(d)[0]) for d in datasets]
    first = sources[0]
    return tuple(
        key
        for key in first.video_keys + first.image_keys
        if all(
            key in s.features
            and s.features[key]["shape"] == first.features[key]["shape"]
            and _stream_info(s.features[key]) == _stream_info(first.features[key])
            for s in sources[1:]
        )
    )


def carried_features(
    sources: Sequence[SourceDataset], cameras: Sequence[str] = ()
) -> tuple[tuple[str, ...], list[str]]:
    """Source features the prepared dataset keeps unchanged, and a note per feature it leaves out.

    Kept: every feature of the first source but the replaced state/action, the new features and
    lerobot's bookkeeping, that every source has alike (cameras: `cameras`, or all). A camera that
    all sources have but in another codec, size or pixel format is an error (packets are copied).
    """
    chosen = _camera_keys(sources, cameras)
    reserved = {*REPLACED, *new_features(SharedLayout(0), 1), *DEFAULT_FEATURES}
    kept, notes = [], []
    first = sources[0]
    for key, feature in first.features.items():
        if key in reserved:
            continue
        camera = feature["dtype"] in ("video", "image")
        if camera and chosen is not None and key not in chosen:
            continue
        missing = [s for s in sources[1:] if key not in s.features]
        if missing:
            notes.append(f"left out {key}: {missing[0].root} has no such feature")
            continue
        for other in sources[1:]:
            theirs = other.features[key]
            same = all(theirs.get(f) == feature.get(f) for f in ("dtype", "shape", "names"))
            if camera and (not same or _stream_info(theirs) != _stream_info(feature)):
                raise LerobotNbError(
                    f"camera {key} differs from {first.root}'s ({theirs['shape']} {_stream_info(theirs).get('video.codec')} "
                    f"vs {feature['shape']} {_stream_info(feature).get('video.codec')}): videos are copied, not "
                    "re-encoded, so merged cameras must match; keep the ones that do with --keep-cameras KEY",
                    file=other.root,
                    stream=key,
                )
            if not same:
                notes.append(f"left out {key}: its dtype, shape or names differ in {other.root}")
                break
        else:
            kept.append(key)
    for other in sources[1:]:
        only = [k for k in other.features if k not in first.features and k not in reserved]
        if only:
            notes.append(f"left out {len(only)} feature(s) only {other.root} has: {', '.join(only)}")
    return tuple(kept), notes


@dataclass
class _Coverage:
    """Known values per embodiment and shared key (counts), episodes and frames."""

    episodes: dict[str, int] = field(default_factory=dict)
    frames: dict[str, int] = field(default_factory=dict)
    known: dict[str, dict[str, int]] = field(default_factory=dict)
    values: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, name: str, mask: np.ndarray, layout: SharedLayout) -> None:
        self.episodes[name] = self.episodes.get(name, 0) + 1
        self.frames[name] = self.frames.get(name, 0) + len(mask)
        known, values = self.known.setdefault(name, {}), self.values.setdefault(name, {})
        for key, where in layout.slices.items():
            known[key] = known.get(key, 0) + int(mask[:, where].sum())
            values[key] = values.get(key, 0) + int(mask[:, where].size)

    def share(self, name: str) -> dict[str, float]:
        return {k: self.known[name][k] / self.values[name][k] for k in self.known[name]}


def _first_pass(
    transform: PrepareTransform, horizon: int | None
) -> tuple[list[tuple[str, dict[str, FeatureStats]]], _Coverage]:
    """Map every episode once: bad values and short episodes fail here, stats and coverage are counted."""
    per_episode = []
    coverage = _Coverage()
    for bound in transform.bound:
        src = bound.source
        for episode in range(src.num_episodes):
            length = src.length(episode)
            if horizon is not None and horizon > length:
                raise LerobotNbError(
                    f"horizon {horizon} is longer than the episode ({length} frames): action_chunk would be "
                    "all padding; choose a horizon <= the shortest episode",
                    file=src.root,
                    episode=str(episode),
                    stream=CHUNK,
                )
            columns = transform.columns(bound, src.rows(episode), episode)
            stats = {k: numeric_stats(columns[k]) for k in (STATE, ACTION, CHUNK) if k in columns}
            per_episode.append((bound.name, stats))
            coverage.add(bound.name, columns[STATE_MASK], transform.layout)
    return per_episode, coverage


def _normalizing_stats(stats: dict[str, FeatureStats], config: PrepareConfig) -> dict[str, FeatureStats]:
    """Per feature, the stats that normalize it (`normalized_with`), chunks tiled per step."""
    whose = normalized_with(config.action_mode)
    out = {STATE: stats[whose[STATE]], ACTION: stats[whose[ACTION]]}
    if config.horizon:
        out[CHUNK] = tile_stats(stats[whose[CHUNK]], config.horizon)
    return out


def _meta(
    transform: PrepareTransform,
    specs: Sequence[tuple[Path, str]],
    stats: dict[str, dict[str, FeatureStats]],
    coverage: _Coverage,
    normalize: bool,
    config: PrepareConfig,
) -> dict[str, Any]:
    """`meta/embodiments.json`: the shared layout, what was applied, per embodiment its episodes and stats."""
    layout = transform.layout
    first_episode = 0
    sources = []
    for bound, (_path, name) in zip(transform.bound, specs, strict=True):
        count = bound.source.num_episodes
        sources.append(
            {
                "dataset": str(bound.source.root),
                "embodiment": name,
                "episodes": [first_episode, first_episode + count],
            }
        )
        first_episode += count
    return {
        "shared": {
            "names": list(layout.names),
            "keys": {k: [s.start, s.stop] for k, s in layout.slices.items()},
        },
        "embodiments": list(transform.names),
        "action_mode": config.action_mode,
        "horizon": config.horizon,
        "normalization": config.normalization,
        "lerobot_mode": LEROBOT_MODES[config.normalization],
        "normalized": normalize,
        "normalized_with": normalized_with(config.action_mode) if normalize else None,
        "sources": sources,
        "declared": {b.name: asdict(b.embodiment) for b in transform.bound},
        "coverage": {
            n: {"episodes": coverage.episodes[n], "frames": coverage.frames[n], **coverage.share(n)}
            for n in transform.names
        },
        "stats": {n: stats_to_json(stats[n]) for n in transform.names},
    }


def _coverage_table(coverage: _Coverage) -> pl.DataFrame:
    rows = [
        {"embodiment": n, "episodes": coverage.episodes[n], "frames": coverage.frames[n], **coverage.share(n)}
        for n in coverage.episodes
    ]
    return pl.DataFrame(rows)
