"""The one pipeline: inputs found once, ticked formats read without a server, defaults under the user's
flags, enrichment steps, and the parameters that moved (deprecated aliases)."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import pytest
from fixture_files import fixture_glob

from lerobot_nb.align import AlignConfig
from lerobot_nb.config import add_config_arguments, config_from_args
from lerobot_nb.enrich.language import LanguageConfig
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.export.config import ExportConfig
from lerobot_nb.pipeline import FileSource, Inputs, ServedSource, iterate_pipeline, run_pipeline
from lerobot_nb.server import RecordingServer, ServerConfig


def _npz_folder(root: Path, lengths: tuple[int, ...] = (6, 4)) -> Path:
    """xgym-style HaMeR input: `ep*.npz` with two camera arrays whose pixels number the frame."""
    root.mkdir(parents=True, exist_ok=True)
    for n, length in enumerate(lengths):
        frames = np.zeros((length, 16, 16, 3), np.uint8)
        frames[..., 0] = (np.arange(length) * 20 + n)[:, None, None]
        np.savez(root / f"ep{n}.npz", left=frames, right=255 - frames)
    np.save(root / "task-stack_the_cups.npy", np.zeros(512, np.float32))
    return root


def test_ticked_inputs_are_read_straight_from_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _npz_folder(tmp_path / "npz")
    monkeypatch.setattr(RecordingServer, "__enter__", lambda self: pytest.fail("a server was started"))
    inputs = Inputs.discover(ServerConfig(recordings=(str(folder),)))
    align = inputs.align_config({})
    assert align.image == ("left:/left", "right:/right") and align.index == "frame"
    source = inputs.open(align)
    assert isinstance(source, FileSource) and source.episodes == ["ep0", "ep1"]
    episodes = list(iterate_pipeline(source))
    assert [(e.episode_id, e.length) for e in episodes] == [("ep0", 6), ("ep1", 4)]
    data = np.load(folder / "ep1.npz")
    np.testing.assert_array_equal(np.stack(list(episodes[1].images["right"])), data["right"])
    assert set(episodes[0].tasks) == {"stack the cups"}


def test_the_users_values_override_the_inputs_defaults(tmp_path: Path) -> None:
    inputs = Inputs.discover(ServerConfig(recordings=(str(_npz_folder(tmp_path / "npz")),)))
    align = inputs.align_config({"image": ["right:/right"], "fps": 5, "task": "wipe"})
    assert (align.image, align.fps, align.task, align.index) == (("right:/right",), 5, "wipe", "frame")
    ep = next(iter(iterate_pipeline(inputs.open(align))))
    assert list(ep.images) == ["right"] and ep.fps == 5 and set(ep.tasks) == {"wipe"}


def test_data_without_a_rate_asks_for_fps(tmp_path: Path) -> None:
    inputs = Inputs(ServerConfig(recordings=(str(tmp_path),)), defaults={"fps": None, "index": "step"})
    with pytest.raises(LerobotNbError) as err:
        inputs.align_config({})
    assert str(err.value) == (
        f"{tmp_path}: the recording does not say its frame rate: pass fps (CLI --fps N, one record = one frame)"
    )
    assert inputs.align_config({"fps": 5}).fps == 5


def test_served_and_ticked_inputs_together_are_all_served(tmp_path: Path) -> None:
    rrd = fixture_glob("rrd", "*.rrd")[0]
    inputs = Inputs.discover(ServerConfig(recordings=(str(rrd), str(_npz_folder(tmp_path / "npz")))))
    assert not inputs.readers and [r.format for r in inputs.recordings] == ["rrd", "npz", "npz"]
    assert isinstance(inputs.open(AlignConfig()), ServedSource)


def test_convert_of_an_npz_folder_with_min_frames(tmp_path: Path) -> None:
    folder = _npz_folder(tmp_path / "npz", lengths=(6, 4))
    inputs = Inputs.discover(ServerConfig(recordings=(str(folder),)))
    export = ExportConfig(output=str(tmp_path / "ds"), min_frames=5, progress=False, codec="h264")
    summary = run_pipeline(inputs.open(inputs.align_config({})), export, inputs=inputs.paths)
    rows = summary.table.select("episode", "status", "frames", "reason").rows()
    assert rows == [("ep0", "written", 6, ""), ("ep1", "skipped", 4, "4 frames, fewer than min_frames=5")]


def test_moved_parameters_warn_and_still_work() -> None:
    with pytest.warns(DeprecationWarning, match="on_error is deprecated: use skip_bad_episodes"):
        assert AlignConfig(on_error="skip").skip_bad_episodes
    with pytest.warns(DeprecationWarning, match="ExportConfig.skip_bad_episodes"):
        ExportConfig(output="x", skip_bad_episodes=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not AlignConfig().skip_bad_episodes


def test_language_embedding_flag_alone_means_minilm() -> None:
    parser = argparse.ArgumentParser()
    add_config_arguments(parser, LanguageConfig)
    for argv, want in (
        ([], "none"),
        (["--language-embedding"], "minilm"),
        (["--language-embedding", "npy"], "npy"),
    ):
        assert config_from_args(LanguageConfig, parser.parse_args(argv)).language_embedding == want
    assert LanguageConfig(language_embedding=True).language_embedding == "minilm"  # type: ignore[arg-type]
    assert LanguageConfig(language_embedding="npy").align_extra == (
        "observation.language_embedding=/language_embedding",
    )


@pytest.mark.slow
def test_served_ticked_data_ticks_at_the_fps_asked_and_inspect_uses_its_defaults() -> None:
    from fixture_files import fixture

    from lerobot_nb.inspect import suggest

    bridge = fixture("real/bridge_rlds_octo/bridge_dataset/1.0.0")
    inputs = Inputs.discover(ServerConfig(recordings=(str(bridge),)), direct=False)
    align = inputs.align_config({"fps": 5, "image": ["image_0:/steps/observation/image_0"]})
    assert align.sequence_rate == 5 and align.index == "step"
    source = inputs.open(align)
    assert isinstance(source, ServedSource)
    first = next(iter(iterate_pipeline(source, episodes=["train_00000"])))
    assert first.length == 10 and first.fps == 5
    with RecordingServer(ServerConfig(recordings=(str(bridge),))) as server:
        s = suggest(server)
    assert s.index == "step" and s.state_path == ("/steps/observation/state",)
    assert [i.split(":")[0] for i in s.image] == ["image_0", "image_1", "image_2"]


def test_what_a_reader_did_is_in_the_export_summary(tmp_path: Path) -> None:
    """A reader's notes (records trimmed, NaN held, ...) reach the summary table and its printout."""
    import dataclasses

    from export_support import synthetic_episode

    from lerobot_nb.export import export_dataset

    ep = dataclasses.replace(synthetic_episode("a", 4, 0), notes=("2 leading records trimmed", "NaN held"))
    summary = export_dataset([ep], ExportConfig(output=str(tmp_path / "ds"), progress=False, codec="h264"))
    assert summary.table["notes"].to_list() == ["2 leading records trimmed; NaN held"]
    assert "notes:\n  a: 2 leading records trimmed; NaN held" in summary.render()


def test_another_fps_than_the_recorders_regrids_on_its_clock(tmp_path: Path) -> None:
    """xgym: one record = one frame at the recorder's rate; `--fps 10` alone re-grids on `time`."""
    from lerobot_nb.sources.xgym_sample import SAMPLE_EPISODES, write_xgym_folder

    write_xgym_folder(tmp_path / "xgym", SAMPLE_EPISODES[:1])
    inputs = Inputs.discover(ServerConfig(recordings=(str(tmp_path / "xgym"),)))
    assert inputs.align_config({}).index == "record"
    assert inputs.align_config({"fps": 50}).index == "record"
    assert inputs.align_config({"fps": 10}).index == "time"
    assert inputs.align_config({"fps": 10, "index": "record"}).index == "record"
