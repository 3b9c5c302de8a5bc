"""What the notebooks share: parameters -> configs, recorded results, viewer, pickers, the runner.

A notebook stays thin: its `parameters` cell, calls into `lerobot_nb`, and these helpers.
`run_notebooks` runs all five with shared parameters (papermill), as `lerobot-nb notebooks run`.
"""

from lerobot_nb.notebooks.committed import notebook_problems, strip_outputs
from lerobot_nb.notebooks.params import (
    default_output,
    notebook_inputs,
    resolve_recordings,
    server_config,
    start_server,
    step_config,
)
from lerobot_nb.notebooks.results import RESULT_MIME, read_results, record_result
from lerobot_nb.notebooks.runner import (
    NOTEBOOKS,
    NotebookFailure,
    NotebookRun,
    RunResult,
    load_params,
    notebook_dir,
    notebook_parameters,
    run_notebooks,
)
from lerobot_nb.notebooks.viewer import show_episode, show_episode_with_hands
from lerobot_nb.notebooks.widgets import alignment_picker, preview_config, render_preview, stream_choices

__all__ = [
    "NOTEBOOKS",
    "RESULT_MIME",
    "NotebookFailure",
    "NotebookRun",
    "RunResult",
    "alignment_picker",
    "default_output",
    "load_params",
    "notebook_dir",
    "notebook_inputs",
    "notebook_parameters",
    "notebook_problems",
    "preview_config",
    "read_results",
    "record_result",
    "render_preview",
    "resolve_recordings",
    "run_notebooks",
    "server_config",
    "show_episode",
    "show_episode_with_hands",
    "start_server",
    "step_config",
    "stream_choices",
    "strip_outputs",
]
