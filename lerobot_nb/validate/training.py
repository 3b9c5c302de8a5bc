"""Training readiness: finite data, lerobot's LeRobotDataset opens it, a DataLoader reads action chunks."""

from __future__ import annotations

from typing import Any

import numpy as np

from lerobot_nb.offline import hub_offline
from lerobot_nb.validate.context import DatasetContext, check
from lerobot_nb.validate.report import Finding

__all__ = ["open_lerobot_dataset"]

_BASICS = (
    "structure.info",
    "structure.paths",
    "structure.feature_names",
    "structure.episodes",
    "structure.files",
    "structure.schema",
    "structure.episode_ranges",
    "structure.index",
    "structure.tasks",
    "time.timestamps",
)
_VIDEO = ("video.decode", "video.format", "video.frames", "video.sync")


def _fail(reason: str, **where: Any) -> Finding:
    return Finding(status="fail", reason=reason, **where)


@check("training.finite", requires=("structure.episode_ranges",))
def finite(ctx: DatasetContext) -> list[Finding]:
    """No NaN or inf in any numeric feature of any frame."""
    out = []
    for key in ctx.numeric_keys:
        values = ctx.numeric(ctx.data, key)
        if not np.issubdtype(values.dtype, np.floating):
            continue
        bad = ~np.isfinite(values.reshape(len(values), -1)).all(axis=1)
        if bad.any():
            rows = ctx.data.filter(bad)
            out.append(
                _fail(
                    f"`{key}` holds NaN/inf in {int(bad.sum())} frames; drop or repair them before training",
                    file=rows["_file"][0],
                    episode=int(rows["episode_index"][0]),
                    frame=int(rows["frame_index"][0]),
                )
            )
    return out


def _chunk_key(ctx: DatasetContext) -> str | None:
    return next((k for k in ("action", "observation.state") if k in ctx.features), None)


def open_lerobot_dataset(ctx: DatasetContext) -> Any:
    """lerobot's LeRobotDataset over this folder (pyav backend, action-chunk delta_timestamps), cached."""
    if "lerobot_dataset" not in ctx.cache:
        from lerobot.datasets import LeRobotDataset

        key = _chunk_key(ctx)
        delta = {key: [k / ctx.fps for k in range(ctx.config.action_chunk)]} if key else None
        with hub_offline():  # the folder is complete (checked before): never let lerobot reach for the hub
            ctx.cache["lerobot_dataset"] = LeRobotDataset(
                f"local/{ctx.root.name}", root=ctx.root, video_backend="pyav", delta_timestamps=delta
            )
    return ctx.cache["lerobot_dataset"]


def _not_ready(ctx: DatasetContext) -> list[Finding] | None:
    if not ctx.config.training:
        return [Finding(status="skip", reason="loader round trip disabled (training=False)")]
    blocked = [name for name in _BASICS if not ctx.passed(name)]
    if not blocked and ctx.video_keys:
        if not ctx.config.video:
            return [Finding(status="skip", reason="needs the video checks, disabled (video=False)")]
        blocked = [name for name in _VIDEO if not ctx.passed(name)]
    if blocked:
        return [Finding(status="skip", reason=f"skipped: needs {', '.join(blocked[:3])} to pass first")]
    return None


@check("training.load")
def load(ctx: DatasetContext) -> list[Finding]:
    """lerobot.datasets.LeRobotDataset(repo_id, root=..., video_backend='pyav') opens the dataset."""
    blocked = _not_ready(ctx)
    if blocked is not None:
        return blocked
    try:
        dataset = open_lerobot_dataset(ctx)
    except Exception as exc:
        return [_fail(f"LeRobotDataset does not open it: {type(exc).__name__}: {_first_line(exc)}")]
    out = []
    if len(dataset) != ctx.info["total_frames"] or dataset.num_episodes != ctx.info["total_episodes"]:
        out.append(
            _fail(
                f"LeRobotDataset sees {dataset.num_episodes} episodes / {len(dataset)} frames, info.json says "
                f"{ctx.info['total_episodes']} / {ctx.info['total_frames']}"
            )
        )
    return out or [
        Finding(
            status="pass",
            reason=f"LeRobotDataset opens: {dataset.num_episodes} episodes, {len(dataset)} frames",
        )
    ]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def _sample_indices(ctx: DatasetContext, count: int) -> list[int]:
    """First and last frames of every episode (where padding happens), then evenly spread frames."""
    picks: list[int] = []
    for row in ctx.episode_rows():
        picks += [row["dataset_from_index"], row["dataset_to_index"] - 1]
    spread = np.linspace(0, ctx.info["total_frames"] - 1, max(count, 1)).round().astype(int).tolist()
    ordered = list(dict.fromkeys(picks + spread))
    return ordered[:count]


@check("training.batches", requires=("training.load",))
def batches(ctx: DatasetContext) -> list[Finding]:
    """A torch DataLoader reads batches with an action chunk: finite values, right shapes, sensible padding."""
    import torch
    from torch.utils.data import DataLoader

    dataset = open_lerobot_dataset(ctx)
    cfg = ctx.config
    indices = _sample_indices(ctx, cfg.batches * cfg.batch_size)
    loader = DataLoader(torch.utils.data.Subset(dataset, indices), batch_size=cfg.batch_size, num_workers=0)
    lengths = {row["episode_index"]: row["length"] for row in ctx.episode_rows()}
    key = _chunk_key(ctx)
    out: list[Finding] = []
    read = 0
    try:
        for batch in loader:
            read += len(batch["index"])
            out += _check_batch(ctx, batch, key, lengths)
    except Exception as exc:
        return [
            _fail(f"the DataLoader failed after {read} samples: {type(exc).__name__}: {_first_line(exc)}")
        ]
    return out or [
        Finding(
            status="pass",
            reason=f"read {read} samples in batches of {cfg.batch_size}, `{key}` chunks of {cfg.action_chunk}",
        )
    ]


def _check_batch(
    ctx: DatasetContext, batch: dict[str, Any], key: str | None, lengths: dict[int, int]
) -> list[Finding]:
    import torch

    out = []
    episodes = batch["episode_index"].tolist()
    frames = batch["frame_index"].tolist()
    for name, value in batch.items():
        if isinstance(value, torch.Tensor) and value.is_floating_point() and not torch.isfinite(value).all():
            b = int(torch.nonzero(~torch.isfinite(value.reshape(len(value), -1)).all(dim=1))[0])
            out.append(_fail(f"batch value `{name}` holds NaN/inf", episode=episodes[b], frame=frames[b]))
    for cam in ctx.visual_keys:
        h, w, c = ctx.features[cam]["shape"]
        image = batch.get(cam)
        if image is None or tuple(image.shape[1:]) != (c, h, w) or image.min() < 0 or image.max() > 1:
            shape = None if image is None else tuple(image.shape)
            out.append(_fail(f"`{cam}` batch has shape {shape}, expected (B, {c}, {h}, {w}) in [0, 1]"))
    if key is None:
        return out
    chunk = ctx.config.action_chunk
    dim = ctx.features[key]["shape"][-1]
    values, pad = batch.get(key), batch.get(f"{key}_is_pad")
    if values is None or pad is None or tuple(values.shape[1:]) != (chunk, dim):
        shape = None if values is None else tuple(values.shape)
        return [
            *out,
            _fail(f"`{key}` chunk has shape {shape}, expected (B, {chunk}, {dim}) with `{key}_is_pad`"),
        ]
    for b, (ep, frame) in enumerate(zip(episodes, frames, strict=True)):
        expected = [frame + k >= lengths[ep] for k in range(chunk)]
        if pad[b].tolist() != expected:
            out.append(
                _fail(
                    f"`{key}_is_pad` is {pad[b].int().tolist()}, expected {[int(e) for e in expected]} "
                    f"(padding must start where the episode ends)",
                    episode=ep,
                    frame=frame,
                )
            )
        last = lengths[ep] - 1 - frame
        if last < chunk - 1 and not torch.equal(
            values[b, last + 1 :], values[b, last].expand_as(values[b, last + 1 :])
        ):
            out.append(
                _fail(f"padded `{key}` steps do not repeat the episode's last frame", episode=ep, frame=frame)
            )
    return out
