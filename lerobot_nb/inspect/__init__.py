"""What is in the recordings: episodes, columns, per-stream timing and a suggested alignment (-> polars).

Every function takes a `RecordingServer` (or a bare `rerun.catalog.DatasetEntry`) and asks the
server, so it works the same for local files and for an attached server URL:

- `list_episodes`: one row per episode: source file, size, [start, end] and duration per timeline;
- `list_columns`: one row per component column `entity:Archetype:field` with its kind and shape;
- `stream_stats`: one row per episode and stream: count, rates, first/last time, gaps, jitter
  (`stream_summary` folds it into one row per stream);
- `suggest`: which columns look like action, state, images and task, the index and an fps, as a
  `Suggestion` whose fields are `AlignConfig`'s names (so `AlignConfig(**asdict(s))` works);
- `inspect_recordings`: all of the above as `lerobot-nb inspect` shows it, driven by `InspectConfig`.

Modules: `listing` (episodes, columns), `shapes` (probing lengths and image sizes), `timing`
(index choice, stream_stats / stream_summary), `roles` + `suggest` (the suggestion), `plots`,
`overview` (the whole inspection), `config` (`InspectConfig`).
"""

from lerobot_nb.inspect.config import InspectConfig
from lerobot_nb.inspect.listing import list_columns, list_episodes
from lerobot_nb.inspect.overview import Inspection, inspect_recordings, stream_table
from lerobot_nb.inspect.plots import plot_stream_rates, plot_stream_timeline
from lerobot_nb.inspect.streams import STREAM_COMPONENTS, stream_columns
from lerobot_nb.inspect.suggest import Suggestion, suggest
from lerobot_nb.inspect.timing import default_index, stream_stats, stream_summary

__all__ = [
    "STREAM_COMPONENTS",
    "InspectConfig",
    "Inspection",
    "Suggestion",
    "default_index",
    "inspect_recordings",
    "list_columns",
    "list_episodes",
    "plot_stream_rates",
    "plot_stream_timeline",
    "stream_columns",
    "stream_stats",
    "stream_summary",
    "stream_table",
    "suggest",
]
