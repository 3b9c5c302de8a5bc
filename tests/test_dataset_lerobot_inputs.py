"""The rewriter on datasets lerobot itself wrote: AV1 and H.264 with B-frames, video and PNG images."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from dataset_support import (
    assert_loader_frames,
    assert_same_episode,
    copy_fixture,
    digest,
    episodes,
    export,
    frames,
    rows,
)
from export_support import synthetic_episode
from fixture_files import fixture
from PIL import Image

from lerobot_nb.dataset import EditPlan, EpisodeEdit, RewriteConfig, RewriteSummary, rewrite_dataset
from lerobot_nb.stats import image_stats, numeric_stats

#: (source episode, start, end): the fixtures hold 3 episodes of 12, 9 and 15 frames at 10 fps.
PLAN = ((0, 3, 11), (2, 0, 8), (2, 8, 15))


def _rewrite(
    src: Path, out: Path, plan: tuple[tuple[int, int, int], ...] = PLAN, **kw: object
) -> RewriteSummary:
    edits = [EpisodeEdit(0, ep, start, end) for ep, start, end in plan]
    return rewrite_dataset(EditPlan.of([src], edits), RewriteConfig(output=str(out), progress=False, **kw))  # type: ignore[arg-type]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["synthetic_v30_video_lerobot061", "synthetic_v30_video_lerobot044"])
def test_lerobot_video_fixture(tmp_path: Path, name: str) -> None:
    src = copy_fixture(fixture(f"lerobot/{name}"), tmp_path)
    before = digest(src)
    _rewrite(src, tmp_path / "out")  # full validation inside
    assert digest(src) == before
    out = tmp_path / "out"
    for out_ep, (ep, start, end) in enumerate(PLAN):
        assert_same_episode(src, ep, start, end, out, out_ep)
    # cut episodes: numeric stats of the kept rows, image stats of the kept frames as they decode
    out_rows = episodes(out)
    kept = rows(src, 0).slice(3, 8)
    state = np.stack(kept["observation.state"].to_numpy(zero_copy_only=False))
    assert out_rows[0]["stats/observation.state/q50"] == numeric_stats(state)["q50"].tolist()
    assert out_rows[0]["stats/observation.images.front/std"] == (
        image_stats(frames(out, 0, "observation.images.front"))["std"].tolist()
    )
    assert out_rows[0]["tasks"] == ["pick the cube"]
    assert_loader_frames(out, "pyav")


@pytest.mark.slow
def test_lerobot_image_fixture_keeps_png_bytes(tmp_path: Path) -> None:
    src = copy_fixture(fixture("lerobot/synthetic_v30_image_lerobot044"), tmp_path)
    plan = ((1, 2, 9), (2, 0, 15))
    summary = _rewrite(src, tmp_path / "out", plan)
    assert summary.table["stats"].to_list() == [
        "recomputed",
        "reused; recomputed observation.images.front, observation.images.wrist (uint8 overflow)",
    ]
    out = tmp_path / "out"
    for out_ep, (ep, start, end) in enumerate(plan):
        assert_same_episode(src, ep, start, end, out, out_ep)  # PNG cells compared byte for byte
    cells = rows(src, 1).slice(2, 7)["observation.images.wrist"].to_pylist()
    pixels = [np.asarray(Image.open(io.BytesIO(c["bytes"])).convert("RGB")) for c in cells]
    assert episodes(out)[0]["stats/observation.images.wrist/mean"] == image_stats(pixels)["mean"].tolist()
    # episode 2 is whole, but lerobot 0.4.4 stored std 0 for every image (its uint8 overflow):
    # recomputed from the PNG pixels instead of copied
    assert episodes(src)[2]["stats/observation.images.wrist/std"] == [[[0.0]], [[0.0]], [[0.0]]]
    cells = rows(src, 2)["observation.images.wrist"].to_pylist()
    pixels = [np.asarray(Image.open(io.BytesIO(c["bytes"])).convert("RGB")) for c in cells]
    assert episodes(out)[1]["stats/observation.images.wrist/std"] == image_stats(pixels)["std"].tolist()
    assert episodes(out)[1]["stats/observation.state/std"] == episodes(src)[2]["stats/observation.state/std"]


@pytest.mark.slow
def test_lerobot_h264_with_b_frames(tmp_path: Path) -> None:
    """lerobot's h264 encoder uses B-frames (decode order != display order): cuts mid-GOP still
    copy whole references, keep the file's frame rate gapless and every kept picture."""
    aligned = [synthetic_episode(f"r{i}", n, i) for i, n in enumerate([22, 19, 25])]
    src = export(tmp_path / "src", aligned, codec="h264", g=8, writer="lerobot")
    plan = ((0, 3, 13), (1, 0, 19), (2, 9, 22))
    _rewrite(src, tmp_path / "out", plan)
    out = tmp_path / "out"
    for out_ep, (ep, start, end) in enumerate(plan):
        assert_same_episode(src, ep, start, end, out, out_ep)
    for backend in ("pyav", "torchcodec"):
        assert_loader_frames(out, backend)
