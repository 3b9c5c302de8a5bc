"""ipywidgets pickers (episode, streams, fps) driving a live alignment preview in the notebooks.

The logic is in plain functions (`stream_choices`, `preview_config`, `render_preview`) so a test
reaches it without a browser; `alignment_picker` only wires widgets to them.
"""

from __future__ import annotations

import base64
import dataclasses
import io
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ipywidgets
    from matplotlib.figure import Figure

    from lerobot_nb.align import AlignConfig
    from lerobot_nb.server import RecordingServer

__all__ = ["FPS_CHOICES", "alignment_picker", "preview_config", "render_preview", "stream_choices"]

#: The fps values the picker offers (the configured fps is added when missing).
FPS_CHOICES = (5, 10, 15, 20, 30)

_PATH_FIELDS = {"action": "action_path", "observation.state": "state_path", "task": "task_path"}


def stream_choices(config: AlignConfig) -> dict[str, str]:
    """The streams a config aligns, `{label: stream key}`: action, state, task and each camera.

    Labels show the entity path (`action  <- /action`); keys are the feature names used by
    `preview_config` (`action`, `observation.state`, `task`, camera keys).
    """
    choices: dict[str, str] = {}
    for key, field in _PATH_FIELDS.items():
        path = getattr(config, field)
        if path:
            shown = ", ".join(path) if isinstance(path, tuple) else path
            choices[f"{key}  <- {shown}"] = key
    for spec in config.image:
        key, path = spec.split(":")[:2]
        choices[f"observation.images.{key}  <- {path}"] = key
    return choices


def preview_config(base: AlignConfig, *, fps: int, streams: Sequence[str]) -> AlignConfig:
    """`base` at `fps` keeping only `streams` (keys from `stream_choices`); the rest is switched off."""
    keep = set(streams)
    changes: dict[str, Any] = {"fps": int(fps)}
    for key, field in _PATH_FIELDS.items():
        if key not in keep:
            changes[field] = None
    changes["image"] = tuple(s for s in base.image if s.split(":")[0] in keep)
    return dataclasses.replace(base, **changes)


def render_preview(server: RecordingServer, episode: str, config: AlignConfig) -> Figure:
    """Align one episode with `config` and plot its coverage and staleness (one figure)."""
    from lerobot_nb.align import align_episode
    from lerobot_nb.align.plots import plot_coverage

    aligned = align_episode(server.dataset, episode, config, source=server.source_of(episode))
    return plot_coverage(aligned)


def _figure_output(fig: Figure) -> dict[str, Any]:
    """A figure as one notebook `display_data` output (PNG), as an `Output` widget stores it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    png = base64.b64encode(buf.getvalue()).decode("ascii")
    return {
        "output_type": "display_data",
        "data": {"image/png": png, "text/plain": repr(fig)},
        "metadata": {},
    }


def alignment_picker(
    server: RecordingServer,
    config: AlignConfig,
    *,
    on_change: Callable[[str, AlignConfig], None] | None = None,
) -> ipywidgets.VBox:
    """Episode dropdown, stream checkboxes and an fps picker above a preview that re-aligns on change.

    `on_change(episode, config)` is called after each re-render (e.g. to point a viewer at the
    chosen episode). Errors (a stream missing in one episode) are shown in the preview area.
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt

    from lerobot_nb.errors import LerobotNbError

    choices = stream_choices(config)
    episode = w.Dropdown(options=server.episodes, description="episode")
    streams = w.SelectMultiple(
        options=list(choices.items()),
        value=tuple(choices.values()),
        description="streams",
        rows=min(6, max(2, len(choices))),
        layout=w.Layout(width="560px"),
    )
    fps = w.Dropdown(options=sorted({*FPS_CHOICES, config.fps}), value=config.fps, description="fps")
    out = w.Output()

    def update(_: Any = None) -> None:
        cfg = preview_config(config, fps=fps.value, streams=streams.value)
        try:
            fig = render_preview(server, episode.value, cfg)
        except LerobotNbError as exc:
            out.outputs = ({"output_type": "stream", "name": "stderr", "text": f"error: {exc}\n"},)
            return
        except Exception as exc:  # a widget callback has nowhere else to report: show it in place
            out.outputs = (
                {"output_type": "stream", "name": "stderr", "text": f"error: {type(exc).__name__}: {exc}\n"},
            )
            return
        # Set the outputs directly (not `with out:` capture): the preview then also updates when
        # the callback runs outside a kernel's display hook, and never stacks old figures.
        out.outputs = (_figure_output(fig),)
        plt.close(fig)
        if on_change is not None:
            on_change(episode.value, cfg)

    for widget in (episode, streams, fps):
        widget.observe(update, names="value")
    update()
    return w.VBox([w.HBox([episode, fps]), streams, out])
