"""`lerobot-nb align` end to end, and the coverage / staleness plots (Agg)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import polars as pl
import pytest
from fixture_files import fixture

from lerobot_nb.align import AlignConfig, align_episode, iter_aligned
from lerobot_nb.align.plots import plot_coverage, plot_staleness
from lerobot_nb.cli.main import main
from lerobot_nb.server import RecordingServer

matplotlib.use("Agg")


def test_cli_prints_the_report_and_writes_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "report" / "align.csv"
    code = main(
        [
            "align",
            str(fixture("rrd")),
            "--fps",
            "10",
            "--state-path",
            "/observation/joint_positions",
            "--image",
            "front:/camera/video:video",
            "--stream-policy",
            "action=nearest",
            "--report-csv",
            str(csv),
            "--plots",
            str(tmp_path / "plots"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "episode_0_coverage.png",
        "episode_0_staleness.png",
        "episode_1_coverage.png",
        "episode_1_staleness.png",
    ]
    assert "episode_0: 40 ticks at 10 fps (4.0 s) on real_time; front 64x48; task 'pick up cube 0'" in out
    assert "2 episode(s) aligned" in out
    table = pl.read_csv(csv)
    assert table.height == 6  # 2 episodes x (action, state, front)
    assert table.filter(stream="action")["policy"].to_list() == ["nearest", "nearest"]
    assert table["kept"].to_list() == [40] * 6


def test_cli_bad_column_is_one_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["align", str(fixture("rrd")), "--state-path", "/observation/joint"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith("error: ") and "episode episode_0, stream /observation/joint" in err
    assert "closest: /observation/joint_positions:Scalars:scalars" in err


def test_cli_skip_lists_the_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "r.csv"
    code = main(
        ["align", str(fixture("rrd")), "--on-error", "skip", "--report-csv", str(csv)]
    )  # default state path absent
    out = capsys.readouterr().out
    assert code == 1  # nothing aligned
    assert "episode_0: SKIPPED: " in out and "unknown column /observation/state:Scalars:scalars" in out
    assert pl.read_csv(csv)["episode"].to_list() == ["episode_0", "episode_1"]


def test_plots_from_an_episode_and_from_a_report(fixture_server: RecordingServer, tmp_path: Path) -> None:
    cfg = AlignConfig(
        fps=10,
        state_path="/observation/joint_positions",
        image=("front:/camera/video:video",),
        max_staleness_s=0.025,
        on_stale="flag",
    )
    ep = align_episode(fixture_server.dataset, "episode_0", cfg)
    assert ep.report.filter(stream="action")["flagged"][0] > 0
    fig = plot_coverage(ep)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["front", "observation.state", "action"]
    fig.savefig(tmp_path / "coverage.png")
    hist = plot_staleness(ep)
    assert [a.get_title() for a in hist.axes if a.get_visible()] == ["action", "observation.state", "front"]
    report = pl.concat([e.report for e in iter_aligned(fixture_server, cfg)])  # type: ignore[union-attr]
    bars = plot_coverage(report)
    assert len(bars.axes[0].patches) == 6  # 2 episodes x 3 streams
    plot_staleness(report).savefig(tmp_path / "staleness.png")
    assert (tmp_path / "coverage.png").stat().st_size > 1000
