"""ipywidgets keep / drop / trim controls that write `curation.yaml`, and a viewer that follows them.

The logic is in plain functions (`episode_options`, `decision_of`, `controls_of`, `moment_of`) so
tests reach it without a browser; `CurationPanel` wires widgets to them and writes the file (with
`write_curation`) after every change, so what the file says is always what the controls show.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from lerobot_nb.curate.curation import Curation, EpisodeDecision, EpisodeKey, write_curation
from lerobot_nb.curate.score import Scores

if TYPE_CHECKING:
    import ipywidgets

    from lerobot_nb.notebooks.viewer import EpisodeViewer

__all__ = ["CurationPanel", "controls_of", "decision_of", "episode_options", "moment_of"]

Action = Literal["keep", "drop", "trim"]


def episode_options(scores: Scores) -> list[tuple[str, str]]:
    """(label, name) per episode, worst first; the label lists its flags."""
    out = []
    for row in scores.worst_first().iter_rows(named=True):
        name = row["recording"] if row["recording"] is not None else str(row["episode_index"])
        flags = ", ".join(row["flags"]) or "no flag"
        out.append((f"{name}  ({flags})", name))
    return out


def episode_key(scores: Scores, name: str) -> EpisodeKey:
    """The curation key of an episode: its recording id when every episode has one, else its index."""
    if scores.table.height and scores.table["recording"].null_count() == 0:
        return name
    return int(name)


def decision_of(
    action: Action, *, reason: str, trim: tuple[float, float], duration_s: float
) -> EpisodeDecision | None:
    """The decision the controls show (None: keep the episode as it is).

    A trim over the whole episode is no trim; a trim ending at the episode's end is written with
    END_S null (to the end).
    """
    if action == "drop":
        return EpisodeDecision(drop=reason.strip() or "dropped in the notebook")
    if action == "keep":
        return None
    start, end = float(trim[0]), float(trim[1])
    to_end = end >= duration_s - 1e-9
    if start <= 0 and to_end:
        return None
    return EpisodeDecision(trim=(max(start, 0.0), None if to_end else end))


def controls_of(
    decision: EpisodeDecision | None, duration_s: float
) -> tuple[Action, str, tuple[float, float]]:
    """(action, drop reason, trim range) that show `decision`."""
    if decision is None:
        return "keep", "", (0.0, duration_s)
    if decision.drop is not None:
        return "drop", decision.drop, (0.0, duration_s)
    if decision.trim is not None:
        start, end = decision.trim
        return "trim", "", (start, duration_s if end is None else end)
    return "keep", "", (0.0, duration_s)


def moment_of(scores: Scores, name: str) -> tuple[str | None, int | None, float | None]:
    """(index timeline, tick on it, seconds) of the episode's first flagged moment (its start when
    none); (None, None, None) for dataset episodes, which carry no recording ticks."""
    ep = scores.episode(name)
    found = scores.findings.filter((pl.col("episode") == name) & pl.col("at_s").is_not_null())
    at_s = float(found["at_s"].min()) if found.height else 0.0  # type: ignore[arg-type]
    if ep.ticks is None or not len(ep.ticks):
        return None, None, None
    k = min(max(round(at_s * ep.fps), 0), len(ep.ticks) - 1)
    return ep.index, int(ep.ticks[k]), at_s


class CurationPanel:
    """Episode picker (worst first), its reasons, keep / drop / trim controls and the file status.

    Every change writes `path`. With a viewer, choosing an episode shows its recording at the first
    flagged moment.
    """

    def __init__(
        self, scores: Scores, curation: Curation, path: str | Path, *, viewer: EpisodeViewer | None = None
    ) -> None:
        import ipywidgets as w

        self.scores, self.path, self.viewer = scores, Path(path), viewer
        self.curation = Curation(dict(curation.episodes))
        self._quiet = False
        options = episode_options(scores)
        self.episode = w.Dropdown(options=options, description="episode", layout=w.Layout(width="520px"))
        self.reasons = w.HTML()
        self.action = w.ToggleButtons(options=["keep", "drop", "trim"], description="decision")
        self.reason = w.Text(
            description="reason", placeholder="why it is dropped", layout=w.Layout(width="520px")
        )
        self.trim = w.FloatRangeSlider(
            description="keep [s]", readout_format=".2f", layout=w.Layout(width="520px")
        )
        self.status = w.HTML()
        self.episode.observe(self._on_episode, names="value")
        for control in (self.action, self.reason, self.trim):
            control.observe(self._on_change, names="value")
        if options:
            self._on_episode()
        self._write()

    @property
    def widget(self) -> ipywidgets.VBox:
        """The editor's controls, stacked: episode, its reasons, decision, reason, trim range, status."""
        import ipywidgets as w

        return w.VBox([self.episode, self.reasons, self.action, self.reason, self.trim, self.status])

    def _duration(self) -> float:
        return self.scores.episode(self.episode.value).length / self.scores.episode(self.episode.value).fps

    def _on_episode(self, _: Any = None) -> None:
        name = self.episode.value
        ep = self.scores.episode(name)
        duration = ep.length / ep.fps
        decision = self.curation.episodes.get(episode_key(self.scores, name))
        action, reason, trim = controls_of(decision, duration)
        self._quiet = True
        try:
            self.trim.min, self.trim.max = 0.0, duration
            self.trim.step = 1.0 / ep.fps
            self.trim.value = trim
            self.reason.value = reason or self._default_reason(name)
            self.action.value = action
        finally:
            self._quiet = False
        self._sync_enabled()
        self.reasons.value = self._reasons_html(name)
        self._show(name)

    def _default_reason(self, name: str) -> str:
        row = self.scores.table.filter(_name_is(name)).row(0, named=True)
        return ", ".join(row["flags"])

    def _reasons_html(self, name: str) -> str:
        import html

        found = self.scores.findings.filter(pl.col("episode") == name)
        if not found.height:
            return "<i>no flag</i>"
        items = "".join(
            f"<li><b>{html.escape(r['flag'])}</b>: {html.escape(r['reason'])}</li>"
            for r in found.iter_rows(named=True)
        )
        return f"<ul style='margin:0'>{items}</ul>"

    def _show(self, name: str) -> None:
        if self.viewer is None:
            return
        index, tick, _ = moment_of(self.scores, name)
        self.viewer.show(name, index=index, tick=tick)

    def _sync_enabled(self) -> None:
        self.trim.disabled = self.action.value != "trim"
        self.reason.disabled = self.action.value != "drop"

    def _on_change(self, _: Any = None) -> None:
        if self._quiet:
            return
        self._sync_enabled()
        decision = decision_of(
            self.action.value, reason=self.reason.value, trim=self.trim.value, duration_s=self._duration()
        )
        self.set_decision(self.episode.value, decision)

    def set_decision(self, name: str, decision: EpisodeDecision | None) -> None:
        """Record `decision` for episode `name` and write the file."""
        self.curation = self.curation.with_decision(episode_key(self.scores, name), decision)
        self._write()

    def _write(self) -> None:
        write_curation(self.path, self.curation)
        decisions: Mapping[EpisodeKey, EpisodeDecision] = self.curation.episodes
        dropped = sum(d.dropped for d in decisions.values())
        self.status.value = (
            f"<code>{self.path}</code>: {len(decisions)} decision(s), {dropped} dropped, "
            f"{len(decisions) - dropped} trimmed or retasked"
        )


def _name_is(name: str) -> pl.Expr:
    return (pl.col("recording") == name) | (pl.col("episode_index").cast(pl.String) == name)
