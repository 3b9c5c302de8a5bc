"""The notebook's curation controls without a browser: decisions <-> controls, the file they write."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_curate_score_units import episode

from lerobot_nb.curate import Curation, EpisodeDecision, read_curation, score_recordings
from lerobot_nb.curate.plots import plot_flagged
from lerobot_nb.notebooks.curation import CurationPanel, controls_of, decision_of, episode_options, moment_of


def test_decisions_and_controls_round_trip() -> None:
    duration = 6.0
    cases = [
        (None, ("keep", "", (0.0, 6.0))),
        (EpisodeDecision(drop="spike"), ("drop", "spike", (0.0, 6.0))),
        (EpisodeDecision(trim=(1.5, None)), ("trim", "", (1.5, 6.0))),
        (EpisodeDecision(trim=(0.5, 4.2)), ("trim", "", (0.5, 4.2))),
    ]
    for decision, controls in cases:
        assert controls_of(decision, duration) == controls
        action, reason, trim = controls
        assert decision_of(action, reason=reason, trim=trim, duration_s=duration) == decision  # type: ignore[arg-type]
    assert decision_of("trim", reason="", trim=(0.0, 6.0), duration_s=duration) is None  # the whole episode
    assert decision_of("drop", reason="  ", trim=(0.0, 6.0), duration_s=duration) == EpisodeDecision(
        drop="dropped in the notebook"
    )


def test_panel_writes_every_change(tmp_path: Path) -> None:
    black = [np.zeros((48, 64, 3), np.uint8)] * 60
    scores = score_recordings([episode(0), episode(1), episode(2, frames=black)])
    assert episode_options(scores)[0] == ("rec-2  (dead_camera)", "rec-2")
    assert moment_of(scores, "rec-2") == ("real_time", 0, 0.0)
    path = tmp_path / "curation.yaml"
    panel = CurationPanel(scores, Curation({"rec-1": EpisodeDecision(trim=(1.0, None))}), path)
    assert read_curation(path).episodes == {"rec-1": EpisodeDecision(trim=(1.0, None))}
    assert (
        panel.episode.value == "rec-2"
        and panel.action.value == "keep"
        and panel.reason.value == "dead_camera"
    )
    assert panel.trim.disabled and panel.reason.disabled
    panel.action.value = "drop"
    assert read_curation(path).episodes["rec-2"] == EpisodeDecision(drop="dead_camera")
    panel.episode.value = "rec-1"  # shows its decision, writes nothing new
    assert (panel.action.value, panel.trim.value) == ("trim", (1.0, 6.0)) and not panel.trim.disabled
    panel.trim.value = (1.0, 5.0)
    assert read_curation(path).episodes["rec-1"] == EpisodeDecision(trim=(1.0, 5.0))
    panel.action.value = "keep"
    assert read_curation(path).episodes == {"rec-2": EpisodeDecision(drop="dead_camera")}
    assert "1 decision(s), 1 dropped" in panel.status.value


@pytest.mark.parametrize("flagged", [True, False])
def test_small_multiples(flagged: bool) -> None:
    frames = [np.zeros((48, 64, 3), np.uint8)] * 60 if flagged else None
    scores = score_recordings([episode(0), episode(1, frames=frames)])
    fig = plot_flagged(scores)
    if flagged:
        assert [ax.get_title(loc="left") for ax in fig.axes] == ["rec-1: observation.state", "rec-1: action"]
        # the dead camera's stretch is shaded on both panels
        assert all(len(ax.patches) == 1 for ax in fig.axes)
    else:
        assert fig.axes[0].texts[0].get_text() == "no episode flagged"
