"""Inputs and an independent comparison for the sharded-conversion tests.

`assert_same_dataset` reads both datasets with pyarrow, json and PyAV only (no lerobot_nb code):
the same files, the same parquet values (schema metadata aside), the same JSON (info, stats,
sidecar) and the same decoded video frames.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import av
import numpy as np
import pyarrow.parquet as pq

from lerobot_nb.sources.sample import SampleConfig, write_sample_recordings

#: Flags that align the PushT sample with both cameras (H.264 top camera, JPEG wrist camera).
SAMPLE_FLAGS = [
    "--fps",
    "10",
    "--index",
    "real_time",
    "--action-path",
    "/action",
    "--state-path",
    "/observation/state",
    "--task-path",
    "/language_instruction",
    "--image",
    "top:/camera/top:video",
    "--image",
    "wrist:/camera/wrist:compressed",
    "--no-progress",
]


def sample_rrd(root: Path, episodes: int = 5, duration_s: float = 2.0) -> Path:
    """`episodes` short PushT recordings in `root/rrd/` (no MCAP twin)."""
    write_sample_recordings(root, SampleConfig(episode_count=episodes, duration_s=duration_s, mcap=False))
    return root / "rrd"


def files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def assert_same_dataset(got: Path, want: Path, *, exact_frames: bool = True) -> None:
    """`got` holds the same dataset as `want`: files, parquet values, JSON and decoded frames
    (`exact_frames=False`: the same number of frames of the same size, for an encoder that does
    not repeat itself from run to run)."""
    assert files(got) == files(want)
    for rel in files(want):
        a, b = got / rel, want / rel
        if rel.endswith(".parquet"):
            ta, tb = pq.read_table(a), pq.read_table(b)
            assert ta.schema.remove_metadata() == tb.schema.remove_metadata(), rel
            assert ta.to_pylist() == tb.to_pylist(), rel
        elif rel.endswith(".json"):
            assert json.loads(a.read_text()) == json.loads(b.read_text()), rel
        elif rel.endswith(".mp4"):
            fa, fb = frames(a), frames(b)
            assert len(fa) == len(fb) > 0, rel
            assert [x.shape for x in fa] == [y.shape for y in fb], rel
            if exact_frames:
                assert all(np.array_equal(x, y) for x, y in zip(fa, fb, strict=True)), rel
        else:
            assert a.read_bytes() == b.read_bytes(), rel


def fake_sbatch(folder: Path) -> Path:
    """An `sbatch` that submits nothing: it keeps each script and its arguments and answers like
    Slurm (`Submitted batch job N`, N = 1001, 1002, ...)."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "sbatch"
    script.write_text(
        "#!/bin/sh\n"
        f'dir="{folder}"\n'
        'n=$(( $(ls "$dir" | grep -c "^job-.*sh$") + 1001 ))\n'
        "for last; do :; done\n"
        'cp "$last" "$dir/job-$n.sh"\n'
        'echo "$@" > "$dir/job-$n.args"\n'
        'echo "Submitted batch job $n"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return folder


def fake_scontrol(folder: Path) -> Path:
    """An `scontrol` for running the submitted scripts' commands here: `show hostnames` -> this host."""
    script = folder / "scontrol"
    script.write_text("#!/bin/sh\necho localhost\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return folder


def env_with_path(folder: Path) -> dict[str, str]:
    return {**os.environ, "PATH": f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"}
