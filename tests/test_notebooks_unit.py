"""Unit tests of the notebooks' shared helpers: results, committed-notebook rules, params, pickers, plots."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import matplotlib
import nbformat
import numpy as np
import polars as pl
import pytest

matplotlib.use("Agg")

from lerobot_nb.align import AlignConfig, AlignedEpisode
from lerobot_nb.errors import LerobotNbError
from lerobot_nb.export.config import ExportConfig
from lerobot_nb.notebooks import (
    NOTEBOOKS,
    RESULT_MIME,
    load_params,
    notebook_dir,
    notebook_parameters,
    notebook_problems,
    preview_config,
    read_results,
    record_result,
    resolve_recordings,
    step_config,
    stream_choices,
    strip_outputs,
)
from lerobot_nb.notebooks.committed import REQUIRED_PARAMETERS
from lerobot_nb.notebooks.plots import as_matrix, plot_aligned_vs_raw, plot_validation
from lerobot_nb.notebooks.results import to_jsonable
from lerobot_nb.notebooks.runner import NotebookFailure, _per_notebook
from lerobot_nb.notebooks.summary import aligned_summary, dropped_ticks

NB_DIR = notebook_dir()


# -- the committed notebooks ------------------------------------------------------------------------
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_notebook_is_clean(name: str) -> None:
    """No outputs, kernel python3, first code cell tagged `parameters` declaring every input."""
    path = NB_DIR / f"{name}.ipynb"
    assert notebook_problems(path) == []
    nb = json.loads(path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code[0]["metadata"]["tags"] == ["parameters"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    declared = notebook_parameters(path)
    assert set(REQUIRED_PARAMETERS[name]) <= set(declared)
    if "recordings" in declared:  # Run All on a fresh install uses the sample recordings
        assert declared["recordings"] == "None"
    assert declared["interactive"] in ("True", "False")


def test_every_notebook_teaches() -> None:
    """Markdown explains the key ideas (not just headings)."""
    text = {
        n: "".join(
            "".join(c["source"])
            for c in json.loads((NB_DIR / f"{n}.ipynb").read_text())["cells"]
            if c["cell_type"] == "markdown"
        )
        for n in NOTEBOOKS
    }
    assert "fixed grid" in text["02_align"].lower() and "staleness" in text["02_align"].lower()
    assert "focal length" in text["03_hand_pose"].lower()
    assert "protects against" in text["05_validate"].lower()
    assert all(len(t) > 800 for t in text.values())


def _write_nb(path: Path, cells: list[nbformat.NotebookNode], kernel: str = "python3") -> Path:
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
    nbformat.write(nb, path)
    return path


def _params_cell(src: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(src)
    cell.metadata["tags"] = ["parameters"]
    return cell


def test_notebook_problems_finds_each_rule(tmp_path: Path) -> None:
    good = _write_nb(
        tmp_path / "good.ipynb", [_params_cell("interactive = False"), nbformat.v4.new_code_cell("1")]
    )
    assert notebook_problems(good) == []

    out = nbformat.v4.new_code_cell(
        "1", execution_count=3, outputs=[nbformat.v4.new_output("stream", text="x")]
    )
    bad = _write_nb(
        tmp_path / "bad.ipynb", [nbformat.v4.new_code_cell("interactive = False"), out], kernel="py"
    )
    problems = notebook_problems(bad)
    assert any("kernelspec is 'py'" in p for p in problems)
    assert any("cell 1 has outputs" in p for p in problems)
    assert any("execution count" in p for p in problems)
    assert any("not tagged 'parameters'" in p for p in problems)

    missing = _write_nb(tmp_path / "m.ipynb", [_params_cell("x = 1")])
    assert notebook_problems(missing, required=("interactive", "x")) == [
        "m.ipynb: the parameters cell does not declare interactive"
    ]
    # papermill silently skips a line whose comment holds `=`: caught here
    unparsed = _write_nb(
        tmp_path / "u.ipynb", [_params_cell("fps = 10  # ticks (= rows)\ninteractive = False")]
    )
    assert notebook_problems(unparsed) == ["u.ipynb: papermill cannot parse the parameter line(s) of fps"]


def test_strip_outputs(tmp_path: Path) -> None:
    out = nbformat.v4.new_code_cell(
        "1", execution_count=3, outputs=[nbformat.v4.new_output("stream", text="x")]
    )
    path = _write_nb(tmp_path / "s.ipynb", [_params_cell("interactive = False"), out])
    assert strip_outputs(path) is True
    assert notebook_problems(path) == []
    assert strip_outputs(path) is False


# -- results ----------------------------------------------------------------------------------------
def test_to_jsonable_and_record_outside_ipython(capsys: pytest.CaptureFixture[str]) -> None:
    value = {
        "n": np.int64(3),
        "x": np.float32(0.5),
        "a": np.arange(3),
        "nan": float("nan"),
        "p": Path("/a"),
        "t": (1, 2),
        "df": pl.DataFrame({"k": [1]}),
    }
    assert to_jsonable(value) == {
        "n": 3,
        "x": 0.5,
        "a": [0, 1, 2],
        "nan": None,
        "p": "/a",
        "t": [1, 2],
        "df": [{"k": 1}],
    }
    assert record_result("frames", {"ep": np.int64(80)}) == {"ep": 80}
    assert capsys.readouterr().out.strip() == 'frames = {"ep": 80}'
    with pytest.raises(TypeError, match="object is not JSON-able"):
        to_jsonable(object())


def test_read_results_later_wins(tmp_path: Path) -> None:
    def out(key: str, value: object) -> nbformat.NotebookNode:
        return nbformat.v4.new_output("display_data", data={RESULT_MIME: {key: value}, "text/plain": "x"})

    cells = [
        nbformat.v4.new_code_cell("a", outputs=[out("episode_count", 2), out("verdict", "fail")]),
        nbformat.v4.new_code_cell("b", outputs=[out("verdict", "pass")]),
    ]
    path = _write_nb(tmp_path / "r.ipynb", cells)
    assert read_results(path) == {"episode_count": 2, "verdict": "pass"}
    with pytest.raises(LerobotNbError, match="cannot read executed notebook"):
        read_results(tmp_path / "missing.ipynb")


# -- parameters -------------------------------------------------------------------------------------
def test_step_config_reads_only_its_fields() -> None:
    ns = {
        "fps": 15,
        "image": ["wrist:/camera/wrist:compressed"],
        "interactive": True,
        "episodes": None,
        "action_path": "",
        "state_path": None,
        "unrelated": object(),
    }
    cfg = step_config(AlignConfig, ns)
    assert cfg.fps == 15 and cfg.image == ("wrist:/camera/wrist:compressed",) and cfg.action_path == ()
    assert cfg.state_path == ("/observation/state",)  # None: the default, "" or []: no stream
    # None for a non-optional field means "the default", not an error
    export = step_config(ExportConfig, ns, output="/tmp/x")
    assert export.episodes == () and export.output == "/tmp/x"
    with pytest.raises(LerobotNbError, match="fps"):
        step_config(AlignConfig, {"fps": 0})


def test_resolve_recordings(tmp_path: Path) -> None:
    assert resolve_recordings("/data/a") == ("/data/a",)
    assert resolve_recordings([tmp_path, "b.rrd"]) == (str(tmp_path), "b.rrd")


def test_load_params_errors(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("fps: [1\n")
    with pytest.raises(LerobotNbError, match=r"bad.yaml: not valid YAML"):
        load_params(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n")
    with pytest.raises(LerobotNbError, match="must be a mapping"):
        load_params(tmp_path / "list.yaml")
    with pytest.raises(LerobotNbError, match="cannot read the parameters file"):
        load_params(tmp_path / "nope.yaml")
    assert load_params(Path(__file__).parents[1] / "notebooks/params/sample.yaml")["fps"] == 10


def test_per_notebook_split() -> None:
    params = {"fps": 5, "output": "/o", "notebooks": {"03_hand_pose": {"camera": "wrist"}}}
    per = _per_notebook(params, NOTEBOOKS, NB_DIR, source="p.yaml", defaults={"interactive": False})
    assert per["02_align"]["fps"] == 5 and "output" not in per["02_align"]
    assert per["05_validate"] == {"output": "/o", "interactive": False}
    assert per["03_hand_pose"]["camera"] == "wrist" and "camera" not in per["04_export"]
    with pytest.raises(LerobotNbError, match=r"p.yaml: unknown parameter\(s\) fsp"):
        _per_notebook({"fsp": 5}, NOTEBOOKS, NB_DIR, source="p.yaml")
    with pytest.raises(LerobotNbError, match="05_validate declares no parameter"):
        _per_notebook({"notebooks": {"05_validate": {"fps": 5}}}, NOTEBOOKS, NB_DIR, source="p.yaml")
    with pytest.raises(LerobotNbError, match="unknown notebook"):
        _per_notebook({"notebooks": {"06_train": {}}}, NOTEBOOKS, NB_DIR, source="p.yaml")


def test_failure_names_cell_and_line() -> None:
    f = NotebookFailure(
        "02_align",
        4,
        3,
        "%matplotlib inline\nx = 1\nboom()",
        "NameError",
        "name 'boom' is\nnot defined",
        line=3,
    )
    assert str(f) == "02_align.ipynb, cell 4 (In [3]) line 3 `boom()`: NameError: name 'boom' is not defined"
    assert NotebookFailure("x", 1, None, "# c\n%time\ny = 2", "E", "v").failing_line == "y = 2"
    long = NotebookFailure("x", 1, None, "z = " + "1 + " * 40 + "1", "E", "v", line=1)
    assert str(long) == f"x.ipynb, cell 1 line 1 `{('z = ' + '1 + ' * 40)[:97]}...`: E: v"


# -- pickers ----------------------------------------------------------------------------------------
def test_stream_choices_and_preview_config() -> None:
    cfg = AlignConfig(fps=10, image=("top:/camera/top:video", "wrist:/camera/wrist:compressed"))
    choices = stream_choices(cfg)
    assert list(choices.values()) == ["action", "observation.state", "task", "top", "wrist"]
    assert "observation.images.top  <- /camera/top" in choices
    pre = preview_config(cfg, fps=5, streams=["action", "wrist"])
    assert (pre.fps, pre.action_path, pre.state_path, pre.task_path) == (5, ("/action",), (), None)
    assert pre.image == ("wrist:/camera/wrist:compressed",)


# -- summaries and plots ----------------------------------------------------------------------------
def _episode(ticks: int, grid: int) -> AlignedEpisode:
    report = pl.DataFrame({"stream": ["action", "observation.state"], "grid_ticks": [grid, grid]})
    return AlignedEpisode(
        "ep", 10, "real_time", np.arange(ticks) * 100_000_000, {"action": np.zeros((ticks, 2))}, report=report
    )


def test_aligned_summary_and_dropped_ticks() -> None:
    eps = [_episode(78, 80), _episode(80, 80)]
    assert [dropped_ticks(e) for e in eps] == [2, 0]
    table = aligned_summary(eps)
    assert table["ticks"].to_list() == [78, 80] and table["seconds"].to_list() == [7.8, 8.0]
    assert table["dropped_ticks"].to_list() == [2, 0]
    assert aligned_summary([]).height == 0


def test_plot_aligned_vs_raw_draws_both_series() -> None:
    ticks = np.array([1_000, 1_100, 1_200]) * 1_000_000  # ns
    raw_t = np.array([990, 1_040, 1_090, 1_150, 1_190]) * 1_000_000
    raw = np.arange(10.0).reshape(5, 2)
    aligned = raw[[0, 2, 4]]
    fig = plot_aligned_vs_raw(raw_t, raw, ticks, aligned, names=["x", "y"])
    ax = fig.axes[0]
    raw_line, _step, dots = ax.lines
    np.testing.assert_allclose(raw_line.get_xdata(), [-0.01, 0.04, 0.09, 0.15, 0.19])
    np.testing.assert_allclose(dots.get_xdata(), [0.0, 0.1, 0.2])
    np.testing.assert_allclose(dots.get_ydata(), [0.0, 4.0, 8.0])
    assert [a.get_ylabel() for a in fig.axes] == ["x", "y"]
    with pytest.raises(ValueError, match="raw has 2 dims, aligned has 1"):
        plot_aligned_vs_raw(raw_t, raw, ticks, aligned[:, :1])


def test_as_matrix_and_validation_plot() -> None:
    import pyarrow as pa

    m = as_matrix(pa.array([[1.0, 2.0], [3.0, 4.0]]))
    assert m.shape == (2, 2) and m[1, 0] == 3.0
    checks = pl.DataFrame(
        {
            "check": ["a", "b", "c"],
            "family": ["f"] * 3,
            "status": ["pass", "fail", "warn"],
            "findings": [1, 2, 1],
            "reason": ["", "", ""],
        }
    )
    fig = plot_validation(checks)
    colours = [matplotlib.colors.to_hex(p.get_facecolor()) for p in fig.axes[0].patches]
    assert colours == ["#55a868", "#c44e52", "#dd8452"]
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        "pass 1",
        "warn 1",
        "fail 1",
        "skip 0",
    ]


# -- the kernel papermill uses ---------------------------------------------------------------------
def test_papermill_kernel_is_this_venv(tmp_path: Path) -> None:
    """`-k python3` must start this interpreter (the venv's kernelspec), or imports would differ."""
    import papermill

    src = _write_nb(
        tmp_path / "k.ipynb",
        [
            _params_cell("interactive = False"),
            nbformat.v4.new_code_cell(
                "import sys\nfrom lerobot_nb.notebooks import record_result\n"
                "record_result('prefix', sys.prefix)"
            ),
        ],
    )
    papermill.execute_notebook(
        str(src), str(tmp_path / "out.ipynb"), kernel_name="python3", progress_bar=False
    )
    assert read_results(tmp_path / "out.ipynb") == {"prefix": sys.prefix}
    assert shutil.which("python3") is not None


# -- the inline viewer (no browser: the widget queues what it would send) ------------------------
@pytest.fixture(scope="module")
def sample_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from lerobot_nb.notebooks import start_server
    from lerobot_nb.sources.sample import sample_recordings

    server = start_server(sample_recordings(tmp_path_factory.mktemp("s"), episodes=1))
    yield server
    server.close()


def _queued_bytes(viewer: Any) -> int:
    # rerun_notebook keeps messages until the browser says "ready": what the page will receive
    return sum(len(buf) for _, bufs in viewer._viewer._event_queue if bufs for buf in bufs)


def test_show_episode_streams_the_recording(sample_server: Any) -> None:
    import os

    from lerobot_nb.notebooks import show_episode

    viewer, rec = show_episode(sample_server, "pusht_000", display=False)
    rec.flush()
    rrd = sample_server.recordings["pusht_000"].rrd
    assert _queued_bytes(viewer) >= 0.5 * rrd.stat().st_size  # the whole episode, re-encoded
    assert rec.get_recording_id() == "pusht_000"
    assert os.environ["RERUN_NOTEBOOK_ASSET"] == "serve-local"  # offline: no app.rerun.io
    with pytest.raises(LerobotNbError, match="episode nope: no such episode; the dataset has pusht_000"):
        show_episode(sample_server, "nope", display=False)


def test_show_episode_with_hands_adds_overlays(sample_server: Any) -> None:
    from lerobot_nb.align import align_episode
    from lerobot_nb.enrich.hands.enrich import hand_feature_names
    from lerobot_nb.notebooks import show_episode, show_episode_with_hands

    config = AlignConfig(fps=10, image=("wrist:/camera/wrist:compressed",))
    ep = align_episode(sample_server.dataset, "pusht_000", config)
    n = ep.length
    hands = {
        k: np.ones((n, len(names)), np.float32)
        for k, names in hand_feature_names("observation.hands", mano=False).items()
    }
    enriched = AlignedEpisode(
        ep.episode_id,
        ep.fps,
        ep.index,
        ep.ticks,
        {**ep.numeric, **hands},
        images=ep.images,
        tasks=ep.tasks,
        report=ep.report,
        source=ep.source,
    )
    plain, rec0 = show_episode(sample_server, "pusht_000", display=False)
    viewer, rec = show_episode_with_hands(sample_server, enriched, config)
    rec0.flush()
    rec.flush()
    assert _queued_bytes(viewer) > _queued_bytes(plain)  # keypoints and skeletons on top of the file
    with pytest.raises(LerobotNbError, match="no camera 'top' in the alignment spec"):
        show_episode_with_hands(sample_server, enriched, config, camera="top")


def test_alignment_picker_realigns_on_change(sample_server: Any) -> None:
    """Changing the fps or the streams re-aligns the chosen episode and redraws the preview."""
    from lerobot_nb.align import align_episode
    from lerobot_nb.notebooks import alignment_picker, render_preview

    config = AlignConfig(fps=10, image=("wrist:/camera/wrist:compressed",))
    seen: list[tuple[str, AlignConfig]] = []
    box = alignment_picker(sample_server, config, on_change=lambda ep, cfg: seen.append((ep, cfg)))
    (episode, fps), streams, out = box.children[0].children, box.children[1], box.children[2]
    assert episode.options == ("pusht_000",) and fps.value == 10 and seen[-1][1] == config
    fps.value = 5
    assert seen[-1][1].fps == 5 and len(seen) == 2
    streams.value = ("action", "wrist")
    assert seen[-1][1].state_path == () and seen[-1][1].image == config.image
    assert len(out.outputs) == 1 and "image/png" in out.outputs[0]["data"]  # one figure, replaced each time
    fig = render_preview(sample_server, "pusht_000", seen[-1][1])
    n = align_episode(sample_server.dataset, "pusht_000", seen[-1][1]).length
    assert fig.axes and n > 0
